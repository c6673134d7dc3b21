#!/usr/bin/env bash
# Installs what GameSystem needs beyond the .NET SDK, only when it is missing:
# nats-server and redis-server (Debian packages); with --with-buf, buf (npm, into .tools/buf);
# with --with-openapi-validator, an OpenAPI 3.1 validator (npm, into .tools/openapi) that the
# gateway tests run on the generated document; with --with-chromium, Debian's chromium, the
# headless browser the gateway's browser test drives; with --with-promtool, Debian's prometheus
# (for `promtool check rules` on deploy/prometheus). Flags combine. Safe to run again; prints what it does.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
buf_version="1.75.0"
# Validates against the official OpenAPI 3.1 JSON schema: an independent check of the gateway's document.
openapi_validator_version="2.11.0"

with_buf=false
with_openapi_validator=false
with_chromium=false
with_promtool=false
for arg in "$@"; do
  case "$arg" in
    --with-buf) with_buf=true ;;
    --with-openapi-validator) with_openapi_validator=true ;;
    --with-chromium) with_chromium=true ;;
    --with-promtool) with_promtool=true ;;
    *) echo "error: unknown option '$arg' (known: --with-buf, --with-openapi-validator, --with-chromium, --with-promtool)" >&2; exit 2 ;;
  esac
done

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET SDK (dotnet) is not on PATH; install .NET SDK 10 first: https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
  exit 1
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
if [ "$with_chromium" = true ]; then
  command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
# ---- promtool (telemetry: the alert rules in deploy/prometheus are checked with it)
if [ "$with_promtool" = true ]; then
  command -v promtool >/dev/null 2>&1 || [ -x /usr/bin/promtool ] || missing+=(prometheus)
fi
# ----
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing ${missing[*]} with apt-get"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

ensure_npm() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "Installing npm with apt-get ($1 ships through npm)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
}

if [ "$with_buf" = true ]; then
  buf="$root/.tools/buf/node_modules/.bin/buf"
  if [ ! -x "$buf" ] || [ "$("$buf" --version 2>/dev/null)" != "$buf_version" ]; then
    ensure_npm buf
    echo "Installing buf $buf_version from npm into .tools/buf"
    mkdir -p "$root/.tools/buf"
    npm install --silent --no-audit --no-fund --prefix "$root/.tools/buf" "@bufbuild/buf@$buf_version" >/dev/null
  fi
fi

if [ "$with_openapi_validator" = true ]; then
  validator_dir="$root/.tools/openapi"
  installed="$(node -p "require('$validator_dir/node_modules/@seriousme/openapi-schema-validator/package.json').version" 2>/dev/null || true)"
  if [ ! -x "$validator_dir/node_modules/.bin/validate-api" ] || [ "$installed" != "$openapi_validator_version" ]; then
    ensure_npm "the OpenAPI validator"
    echo "Installing @seriousme/openapi-schema-validator $openapi_validator_version from npm into .tools/openapi"
    mkdir -p "$validator_dir"
    npm install --silent --no-audit --no-fund --prefix "$validator_dir" "@seriousme/openapi-schema-validator@$openapi_validator_version" >/dev/null
  fi
fi
