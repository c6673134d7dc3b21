#!/usr/bin/env bash
# Runs one benchmark against its raw baseline (the library beneath it), in one run, on
# servers it starts itself. Not part of CI: shared machines are noisy. The first argument
# names the benchmark (default mesh):
#   mesh       unary calls through the generated client and dispatcher vs NATS.Net request-reply (1/16/128 in flight)
#   store      state store get, set and 3-key transaction vs raw StackExchange.Redis (1/16/64; --bare-raw)
#   event-bus  event-bus Publish through the generated client vs raw JetStream publish (1/16/128)
#   gateway    HTTP/JSON -> gateway -> NATS -> time-manager vs a minimal-API endpoint and gRPC JSON
#              transcoding doing the same work in process (1/16/128; --breakdown 1,128 adds the
#              gateway's variants that show where its time goes)
# About 6 minutes with the defaults (store: 16; gateway: 9, 14 with --breakdown 1,128); options:
#   eng/benchmark.sh event-bus --warmup 10 --window 10 --rounds 5 --concurrency 1,16,128
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/eng/install-prereqs.sh"
if [[ "${1:-}" == gateway ]]; then
  # ASP.NET Core on both sides of the comparison: a project of its own, so the others stay without it.
  dotnet run -c Release --project tests/GameSystem.Gateway.Benchmarks -- "$@"
else
  dotnet run -c Release --project tests/GameSystem.Mesh.Benchmarks -- "$@"
fi
