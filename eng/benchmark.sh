#!/usr/bin/env bash
# Runs one benchmark against its raw baseline (the library beneath it), in one run, on
# servers it starts itself. Not part of CI: shared machines are noisy. The first argument
# names the benchmark (default mesh):
#   mesh       unary calls through the generated client and dispatcher vs NATS.Net request-reply (1/16/128 in flight)
#   store      state store get, set and 3-key transaction vs raw StackExchange.Redis (1/16/64; --bare-raw)
#   event-bus  event-bus Publish through the generated client vs raw JetStream publish (1/16/128)
# About 6 minutes with the defaults (store: 16); options:
#   eng/benchmark.sh event-bus --warmup 10 --window 10 --rounds 5 --concurrency 1,16,128
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/eng/install-prereqs.sh"
dotnet run -c Release --project tests/GameSystem.Mesh.Benchmarks -- "$@"
