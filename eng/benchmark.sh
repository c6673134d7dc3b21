#!/usr/bin/env bash
# Runs one benchmark against its raw NATS.Net baseline, on one local nats-server, at 1, 16
# and 128 calls in flight. Not part of CI: shared machines are noisy. The first argument
# names the benchmark (default mesh):
#   mesh       unary calls through the generated client and dispatcher vs request-reply
#   event-bus  event-bus Publish through the generated client vs raw JetStream publish
# About 6 minutes with the defaults; options:
#   eng/benchmark.sh event-bus --warmup 10 --window 10 --rounds 5 --concurrency 1,16,128
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/eng/install-prereqs.sh"
dotnet run -c Release --project tests/GameSystem.Mesh.Benchmarks -- "$@"
