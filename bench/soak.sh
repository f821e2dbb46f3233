#!/usr/bin/env bash
# Soak test: mixed pub/sub, queue and request/reply traffic with connection
# churn (every workload run opens and closes its own connections) against
# a release rnatsd for DURATION seconds (default 600). RSS is sampled every
# 10 s; the run fails if a workload loses a message (rnats bench exits
# non-zero when fewer messages arrive than were sent, or, with --seq, when a
# subscriber sees a publisher's sequence out of order or with a gap) or if RSS grows more
# than 10% above its level after the warm-up minute. The warm-up first
# opens and closes RING (10,000) connections with a subscription each, so
# the ring of closed connections kept for /connz?state=closed is full
# before the baseline is taken: what it holds is bounded, not a leak.
#
#   bash bench/soak.sh            # 10 minutes
#   DURATION=120 bash bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-600}
WARMUP=${WARMUP:-60}
RING=${RING:-10000}
cargo build --release -q -p rnatsd -p rnats
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/rnatsd -a 127.0.0.1 -p "$PORT" 2>/dev/null &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
sleep 0.5
URL="nats://127.0.0.1:$PORT"
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
python3 - "$PORT" "$RING" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b'CONNECT {"verbose":false,"name":"soak-warmup","lang":"python","version":"1.0"}\r\n'
              b'SUB soak.warmup 1\r\nPING\r\n')
    buf = b""
    while b"PONG" not in buf:
        buf += s.recv(4096)
    s.close()
PY
echo "closed-connection ring filled with $RING records: rss=$(rss)KiB"
end=$(( $(date +%s) + DURATION ))
warm=$(( $(date +%s) + WARMUP ))
baseline=0
peak=0
samples=0
runs=0
failures=0
next_sample=$(date +%s)
while [ "$(date +%s)" -lt "$end" ]; do
  target/release/rnats -s "$URL" bench soak.fan --msgs 200000 --size 64 --pub 2 --sub 2 --seq --no-progress --json >/dev/null &
  fan=$!
  target/release/rnats -s "$URL" bench soak.q --msgs 100000 --size 128 --sub 3 --queue --seq --no-progress --json >/dev/null &
  q=$!
  target/release/rnats -s "$URL" bench soak.rr --msgs 2000 --size 256 --sub 2 --request --no-progress --json >/dev/null || failures=$((failures + 1))
  wait "$fan" || failures=$((failures + 1))
  wait "$q" || failures=$((failures + 1))
  runs=$((runs + 3))
  now=$(date +%s)
  if [ "$now" -ge "$next_sample" ]; then
    r=$(rss)
    samples=$((samples + 1))
    echo "t=$((now - end + DURATION))s rss=${r}KiB runs=$runs"
    if [ "$now" -ge "$warm" ] && [ "$baseline" -eq 0 ]; then baseline=$r; fi
    if [ "$baseline" -gt 0 ] && [ "$r" -gt "$peak" ]; then peak=$r; fi
    next_sample=$((now + 10))
  fi
done
echo "workload runs: $runs, failed: $failures, RSS after warm-up: ${baseline} KiB, peak after: ${peak} KiB"
if [ "$failures" -ne 0 ]; then echo "FAIL: messages were lost"; exit 1; fi
if [ "$baseline" -gt 0 ] && [ "$peak" -gt $(( baseline * 110 / 100 )) ]; then
  echo "FAIL: RSS grew more than 10% after warm-up"; exit 1
fi
echo "PASS"
