#!/usr/bin/env bash
# Runs the GameSystem mesh on this machine: installs what is missing, starts a local
# nats-server with JetStream (unless GameSystem__Nats__Servers points at one), then runs
# the host with every service and the HTTP gateway in front of it (http://127.0.0.1:8080,
# GameSystem__Gateway__Urls to change it); the host's health is on http://127.0.0.1:8081/healthz/ready
# (GameSystem__Host__Http__Urls to change it). Arguments go to the host, e.g.
#   eng/run-mesh.sh --services time-manager,language-system
#   eng/run-mesh.sh --GameSystem:Mesh:MaxConcurrentCalls=64
# Ctrl+C stops the host gracefully (calls in flight finish), then the nats-server it started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/eng/install-prereqs.sh"

nats_pid=""
cleanup() {
  if [ -n "$nats_pid" ]; then
    kill "$nats_pid" 2>/dev/null || true
    wait "$nats_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [ -n "${GameSystem__Nats__Servers:-}" ]; then
  echo "Using the NATS servers in GameSystem__Nats__Servers: $GameSystem__Nats__Servers"
elif port_open 4222; then
  echo "A server already listens on 127.0.0.1:4222; using it as NATS."
else
  mkdir -p .run/jetstream
  nats_bin="$(command -v nats-server || echo /usr/sbin/nats-server)"
  "$nats_bin" -a 127.0.0.1 -p 4222 -js -sd "$root/.run/jetstream" >"$root/.run/nats-server.log" 2>&1 &
  nats_pid=$!
  for _ in $(seq 1 100); do
    port_open 4222 && break
    if ! kill -0 "$nats_pid" 2>/dev/null; then
      echo "nats-server failed to start; see .run/nats-server.log" >&2
      cat "$root/.run/nats-server.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "Started nats-server (JetStream on) at nats://127.0.0.1:4222, log in .run/nats-server.log"
fi

mkdir -p .run
# The mesh's secrets for this machine, made once and kept (git-ignored, readable by you only):
# the service secret hosts prove their services' accounts with, and the key auth encrypts
# its signing keys under. Production sets GameSystem__Identity__ServiceSecret and
# GameSystem__Auth__KeyEncryptionKey from its secret store instead.
secrets="$root/.run/secrets.env"
if [ ! -f "$secrets" ]; then
  (umask 077
   printf 'GameSystem__Identity__ServiceSecret=%s\nGameSystem__Auth__KeyEncryptionKey=%s\n' \
     "$(head -c 32 /dev/urandom | base64)" "$(head -c 32 /dev/urandom | base64)" >"$secrets")
  echo "Made this machine's mesh secrets in .run/secrets.env"
fi
while IFS= read -r line; do
  key="${line%%=*}"
  # base64 ends in '=', which read's field splitting would drop: split by hand.
  [ -n "$key" ] && [ -z "${!key:-}" ] && export "$key=${line#*=}"
done <"$secrets"

echo "Building the host and the gateway …"
for project in src/GameSystem.Host src/GameSystem.Gateway; do
  if ! dotnet build "$project" -c Release -nologo >"$root/.run/build.log" 2>&1; then
    grep -E "error|Error" "$root/.run/build.log" >&2 || cat "$root/.run/build.log" >&2
    exit 1
  fi
done
# The host's management listener (health probes); its banner names the address it bound.
host_http="${GameSystem__Host__Http__Urls:-http://127.0.0.1:8081}"
echo "Host health: ${host_http%%[;,]*}/healthz/live and ${host_http%%[;,]*}/healthz/ready"
# Not exec: the trap must stop the nats-server this script started once the host exits.
dotnet src/GameSystem.Host/bin/Release/net10.0/GameSystem.Host.dll "$@" &
host_pid=$!
# The gateway verifies tokens with the keys auth publishes, so it starts beside the host;
# until auth answers, token-carrying requests get 503 and public ones reach auth when it is up.
dotnet src/GameSystem.Gateway/bin/Release/net10.0/GameSystem.Gateway.dll &
gateway_pid=$!
stop_all() { kill -TERM "$gateway_pid" "$host_pid" 2>/dev/null || true; }
trap stop_all INT TERM
# Either one ending ends the mesh: a gateway without services (or the reverse) is no mesh.
wait -n "$host_pid" "$gateway_pid" || status=$?
stop_all
wait "$gateway_pid" 2>/dev/null || true
wait "$host_pid" 2>/dev/null || true
exit "${status:-0}"
