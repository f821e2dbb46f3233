#!/usr/bin/env bash
# A subscriber that never reads must not slow a fast one down: the fast
# subscriber's delivered rate with a stuck subscriber on the same subject is
# compared with its rate alone (release rnatsd, max_pending 8MB, ROUNDS
# rounds each, medians). Fails if it loses a message or falls below 90%.
#
#   bash bench/slow_consumer.sh        # ROUNDS=3
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
ROUNDS=${ROUNDS:-3}
cargo build --release -q -p rnatsd -p rnats
DIR=$(mktemp -d)
printf 'max_pending: 8MB\n' > "$DIR/s.conf"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/rnatsd -a 127.0.0.1 -p "$PORT" -c "$DIR/s.conf" 2>"$DIR/log" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DIR"' EXIT
sleep 0.5
URL="nats://127.0.0.1:$PORT"
run() {
  target/release/rnats -s "$URL" bench slow.test --msgs 1000000 --size 64 --sub 1 --seq --json --no-progress |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(int(d["delivered_msgs_per_sec"]))'
}
stuck() { # a subscriber that never reads, for the length of one run
  python3 - "$PORT" >/dev/null <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b'CONNECT {"verbose":false}\r\nSUB slow.test 1\r\nPING\r\n')
time.sleep(60)
PY
  echo $!
}
alone=(); with=()
for ((r = 0; r < ROUNDS; r++)); do
  alone+=("$(run)")
  sp=$(stuck); sleep 0.5
  with+=("$(run)")
  kill "$sp" 2>/dev/null || true; wait "$sp" 2>/dev/null || true
done
a=$(printf '%s\n' "${alone[@]}" | median)
w=$(printf '%s\n' "${with[@]}" | median)
ratio=$(python3 -c "print(round($w/$a, 2))")
echo "fast subscriber msgs/s alone: $a (${alone[*]}), with a stuck subscriber: $w (${with[*]}), ratio $ratio"
echo "slow consumers closed: $(grep -c 'Slow Consumer' "$DIR/log" || true)"
python3 -c "import sys; sys.exit(0 if $w >= 0.9 * $a else 1)" || { echo "FAIL: below 90%"; exit 1; }
echo PASS
