#!/usr/bin/env bash
# gs: lists, describes and calls the services of a running mesh (start it with eng/run-mesh.sh).
#   eng/gs.sh list
#   eng/gs.sh describe time-manager CreateClock
#   eng/gs.sh call time-manager GetClock '{"worldId":"hub"}'
#   eng/gs.sh login alice            (password on stdin; later calls carry alice's token)
# Builds the CLI on first use and again whenever a source changed; the build log is kept
# in .run/gs-build.log and shown only when the build fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dll="$root/src/GameSystem.Cli/bin/Release/net10.0/GameSystem.Cli.dll"

stale() {
  [ ! -f "$dll" ] && return 0
  [ -n "$(cd "$root" && find src generators protos Directory.Build.props Directory.Packages.props \
    \( -name bin -o -name obj \) -prune -o -type f -newer "$dll" -print -quit)" ]
}

if stale; then
  mkdir -p "$root/.run"
  echo "Building the gs CLI …" >&2
  if ! dotnet build "$root/src/GameSystem.Cli" -c Release -nologo >"$root/.run/gs-build.log" 2>&1; then
    grep -E "error" "$root/.run/gs-build.log" >&2 || cat "$root/.run/gs-build.log" >&2
    echo "The build failed; the full log is in .run/gs-build.log." >&2
    exit 1
  fi
  # An up-to-date build leaves the dll untouched; mark it so the next run does not rebuild.
  touch "$dll"
fi

# `gs login` keeps its session here (owner-only), and `gs call` sends its access token.
mkdir -p "$root/.run"
GS_TOKEN_FILE="${GS_TOKEN_FILE:-$root/.run/gs-token.json}" GS_PROGRAM="${GS_PROGRAM:-$0}" exec dotnet "$dll" "$@"
