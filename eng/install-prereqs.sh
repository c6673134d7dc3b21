#!/usr/bin/env bash
# Installs what GameSystem needs beyond the .NET SDK, only when it is missing:
# nats-server and redis-server (Debian packages) and buf (npm, into .tools/).
# Safe to run again; prints what it does.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
buf_version="1.75.0"

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
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing ${missing[*]} with apt-get"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--with-buf" ]; then
  buf="$root/.tools/buf/node_modules/.bin/buf"
  if [ ! -x "$buf" ] || [ "$("$buf" --version 2>/dev/null)" != "$buf_version" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "Installing npm with apt-get (buf ships through npm)"
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
    fi
    echo "Installing buf $buf_version from npm into .tools/buf"
    mkdir -p "$root/.tools/buf"
    npm install --silent --no-audit --no-fund --prefix "$root/.tools/buf" "@bufbuild/buf@$buf_version" >/dev/null
  fi
fi
