#!/usr/bin/env bash
# The cross-process part of `make demo`: a Python service and a Go service,
# each on a bus of its own, exchange capability-checked messages and signed
# replies through a nats-server on a free loopback port, in both
# directions; a forged message injected by a plain NATS client is refused
# and audited; then the charter CLI verifies both services' audit logs.
#
# Usage: run.sh BUILD_DIR CHARTER_CLI DIR   (DIR is emptied first)
# Builds the Python binding into BUILD_DIR/bridge-demo-venv (or uses
# $DEMO_PYTHON, an interpreter that already has it) and the Go service
# against the C library installed in BUILD_DIR/bridge-demo-go.
set -euo pipefail
build=$1 cli=$2 dir=$3
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build=$(cd "$build" && pwd)
cli=$(cd "$(dirname "$cli")" && pwd)/$(basename "$cli")

nats=$(command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null || true)
[ -n "$nats" ] || { echo "nats-server is not installed (make deps installs it)" >&2; exit 1; }

rm -rf "$dir"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

python=${DEMO_PYTHON:-}
if [ -z "$python" ]; then
  venv=$build/bridge-demo-venv
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  python=$venv/bin/python
  echo "Building the Python binding into $venv"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$python" -m pip install --quiet --force-reinstall --no-deps "$root/bindings-python"
fi
echo "Building the Go service"
# shellcheck source=../../bindings-go/scripts/prefix.sh
source "$root/bindings-go/scripts/prefix.sh"
charter_install_prefix "$root" "$build/bridge-demo-go"
(cd "$root/examples/bridge/go_service" && CGO_ENABLED=1 go build -o "$dir/go_service" .)

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$nats" -a 127.0.0.1 -p "$port" 2>"$dir/nats.log" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "Server is ready" "$dir/nats.log" && break
  sleep 0.05
done
grep -q "Server is ready" "$dir/nats.log" || { echo "nats-server did not start" >&2; exit 1; }

echo
echo "8. Two processes, one NATS server (nats://127.0.0.1:$port): Python \"orders\" and Go \"billing\""
"$python" "$root/examples/bridge/python_service.py" "nats://127.0.0.1:$port" "$dir" "$dir/go_service"

echo
echo "9. The charter CLI verifies both services' audit logs"
for service in py go; do
  log=$dir/$service-audit.log
  echo "   \$ charter audit verify $log --vkey \"\$(cat $dir/$service-audit.vkey)\""
  "$cli" audit verify "$log" --vkey "$(cat "$dir/$service-audit.vkey")" | sed 's/^/   /'
done
echo "   \$ charter audit tail $dir/py-audit.log -n 3"
"$cli" audit tail "$dir/py-audit.log" -n 3 | sed 's/^/   /'
