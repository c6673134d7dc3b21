#!/usr/bin/env bash
# Runs buf on the contracts: `eng/buf.sh lint`, `eng/buf.sh breaking`,
# `eng/buf.sh update-baseline` (after a deliberate breaking change), or any buf command.
# The google/api and google/rpc protos come from the Google.Api.CommonProtos NuGet
# package (the Buf Schema Registry is not reachable), copied into .buf-deps/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/eng/install-prereqs.sh" --with-buf
buf="$root/.tools/buf/node_modules/.bin/buf"
baseline="$root/eng/contracts-baseline.binpb"

version=$(sed -n 's/.*"Google.Api.CommonProtos" Version="\([^"]*\)".*/\1/p' Directory.Packages.props)
packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
common="$packages/google.api.commonprotos/$version/content/protos"
if [ ! -d "$common" ]; then
  dotnet restore src/GameSystem.Mesh/GameSystem.Mesh.csproj >/dev/null
fi
rm -rf .buf-deps && mkdir -p .buf-deps && cp -r "$common" .buf-deps/protos

case "${1:-lint}" in
  lint)
    "$buf" lint
    echo "buf lint: OK"
    ;;
  breaking)
    "$buf" breaking protos --against "$baseline"
    echo "buf breaking: OK (no incompatible change against eng/contracts-baseline.binpb)"
    ;;
  update-baseline)
    "$buf" build protos --exclude-source-info -o "$baseline"
    echo "Wrote $baseline: commit it with a message that says why the break is deliberate."
    ;;
  *)
    "$buf" "$@"
    ;;
esac
