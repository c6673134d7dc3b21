#!/usr/bin/env bash
# Runs every test of GameSystem against real nats-server and redis-server processes that
# the test fixtures start on free loopback ports. Installs what is missing first (with the
# npm OpenAPI validator the gateway tests run on the generated document, and Debian's
# chromium for the gateway's browser test, and promtool for the alert rules).
# Ends with the totals read from the TRX results: `N passed, N failed, N skipped`.
# Extra arguments go to `dotnet test` (e.g. --filter "FullyQualifiedName~Streaming").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/eng/install-prereqs.sh" --with-openapi-validator --with-chromium --with-promtool

# ---- telemetry: the Prometheus alert rules must load (syntax, PromQL, templates)
echo "Checking deploy/prometheus with promtool"
promtool check rules "$root"/deploy/prometheus/*.yml
# ----

configuration="${CONFIGURATION:-Release}"
results="$root/TestResults/$(date -u +%Y%m%dT%H%M%S)"
mkdir -p "$results"

dotnet build GameSystem.sln -c "$configuration" -warnaserror -nologo -clp:ErrorsOnly
status=0
dotnet test GameSystem.sln -c "$configuration" --no-build -nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@" || status=$?

# The totals come from the TRX files the run wrote, never from memory.
shopt -s nullglob
trx_files=("$results"/*.trx)
if [ "${#trx_files[@]}" -eq 0 ]; then
  echo "error: the test run wrote no TRX results under $results" >&2
  exit 1
fi
sum() { grep -ho "<Counters [^>]*" "${trx_files[@]}" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' | awk '{s+=$1} END {print s+0}'; }
passed=$(sum passed)
failed=$(( $(sum failed) + $(sum error) + $(sum timeout) + $(sum aborted) ))
# xunit reports a skipped test as not executed without counting it in notExecuted.
skipped=$(( $(sum total) - $(sum executed) + $(sum notExecuted) ))
# The CI log keeps only its tail, so the failures are named here, next to the totals.
if [ "$failed" -gt 0 ]; then
  echo "Failed tests:"
  awk '
    function text(s) { gsub(/&quot;/, "\"", s); gsub(/&apos;/, "\047", s); gsub(/&lt;/, "<", s); gsub(/&gt;/, ">", s); gsub(/&amp;/, "\\&", s); return s }
    /<UnitTestResult / && /outcome="(Failed|Error|Timeout|Aborted)"/ {
      name = $0; sub(/.*testName="/, "", name); sub(/".*/, "", name)
      print "  FAILED " text(name); inresult = 1; lines = 0; next
    }
    inresult && /<\/UnitTestResult>/ { inresult = 0; inmessage = 0 }
    inresult && /<Message>/ { inmessage = 1 }
    inresult && inmessage && lines < 6 { line = $0; gsub(/<\/?Message>/, "", line); gsub(/^ +/, "", line); print "      " text(line); lines++ }
    inresult && /<\/Message>/ { inmessage = 0 }
  ' "${trx_files[@]}"
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
exit "$status"
