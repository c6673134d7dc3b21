#!/usr/bin/env bash
# Benchmarks unary calls through the generated client and dispatcher against raw NATS.Net
# request-reply, on one local nats-server, at 1, 16 and 128 calls in flight. Not part of
# CI: shared machines are noisy. Takes about 6 minutes with the defaults; options:
#   eng/benchmark.sh --warmup 10 --window 10 --rounds 5 --concurrency 1,16,128
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/eng/install-prereqs.sh"
dotnet run -c Release --project tests/GameSystem.Mesh.Benchmarks -- "$@"
