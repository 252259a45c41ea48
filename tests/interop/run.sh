#!/usr/bin/env bash
# Interop check against real third-party SIP clients: starts `parley serve` on free local
# ports, asks it with sipsak (UDP and TCP) and with sipp (options.xml, UDP and TCP), checks
# that it is still alive and stops cleanly on SIGTERM. Prints one line per check and a
# closing "interop: N passed, M failed"; exits non-zero if any check failed.
#
# Usage: tests/interop/run.sh   (PARLEY_BIN=path/to/parley to test a given binary)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

for tool in sipsak sipp python3; do
  command -v "$tool" >/dev/null || { echo "interop: FAIL: $tool is not installed"; exit 1; }
done

bin=${PARLEY_BIN:-}
if [ -z "$bin" ]; then
  # The debug build shares its artifacts with `cargo test`, so this is quick after it.
  (cd "$root" && cargo build --quiet -p parley)
  bin="$root/target/debug/parley"
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# A port free for both UDP and TCP. Four digits: sipsak 0.9.8 cuts a five-digit port in the
# Request-URI it sends down to four.
free_port() {
  python3 - "$1" <<'PY'
import random, socket, sys
low, high = (5100, 9999) if sys.argv[1] == "sip" else (20000, 60000)
for _ in range(500):
    port = random.randint(low, high)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
             socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            u.bind(("127.0.0.1", port)); t.bind(("127.0.0.1", port))
        print(port); break
    except OSError:
        continue
else:
    sys.exit("no free port")
PY
}

sip_port=$(free_port sip)
http_port=$(free_port http)
"$bin" serve --sip "127.0.0.1:$sip_port" --http "127.0.0.1:$http_port" \
  --data "$work/data" --log-level info >"$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 100); do
  grep -q "listening http" "$work/server.log" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q "listening sip udp 127.0.0.1:$sip_port" "$work/server.log"; then
  echo "interop: FAIL: the server did not start"; cat "$work/server.log"; exit 1
fi

passed=0
failed=0
check() {
  local name=$1; shift
  if "$@" >"$work/check.log" 2>&1; then
    passed=$((passed + 1)); echo "interop: ok   $name"
  else
    failed=$((failed + 1)); echo "interop: FAIL $name"; sed 's/^/    /' "$work/check.log" | tail -40
  fi
}

sipp_options() {
  local transport=$1
  # -m: calls to place; -timeout_error makes the global timeout a failure.
  (cd "$work" && sipp "127.0.0.1:$sip_port" -sf "$here/options.xml" -t "$transport" \
    -i 127.0.0.1 -p 0 -m 5 -r 10 -timeout 30s -timeout_error -recv_timeout 5000 \
    -nostdin -trace_err -trace_screen >/dev/null)
  local status=$?
  cat "$work"/*_screen.log 2>/dev/null | grep -E "Successful call|Failed call" || true
  return $status
}

healthz() {
  python3 - "$http_port" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=5).read()
assert body == b"ok", body
PY
}

stops_on_sigterm() {
  kill -TERM "$server_pid"
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then echo "still running 10 s after SIGTERM"; return 1; fi
  wait "$server_pid"
  local status=$?
  server_pid=""
  grep -q "stopped" "$work/server.log"
  return $status
}

check "sipsak OPTIONS over UDP gets 200" sipsak -s "sip:127.0.0.1:$sip_port"
check "sipsak OPTIONS over TCP gets 200" sipsak --transport=tcp -s "sip:127.0.0.1:$sip_port"
check "sipp OPTIONS scenario over UDP" sipp_options u1
check "sipp OPTIONS scenario over TCP" sipp_options t1
check "sipsak still gets 200 afterwards" sipsak -s "sip:127.0.0.1:$sip_port"
check "GET /healthz says ok" healthz
check "the server stops cleanly on SIGTERM" stops_on_sigterm

echo "interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
