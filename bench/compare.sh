#!/usr/bin/env bash
# Side-by-side benchmark of rnatsd and the reference nats-server.
#
# Starts both servers (rnatsd from a release build, nats-server from Debian's
# package) on free ports, runs the same workloads against each, alternating
# A/B for ROUNDS rounds, and prints per workload: delivered messages/s, server
# CPU time per delivered message (from /proc/PID/stat), peak RSS, and the
# rnatsd/nats-server ratio. Then the RSS of each server holding IDLE idle
# client connections.
#
#   bash bench/compare.sh            # ROUNDS=3 IDLE=5000 by default
#   ROUNDS=5 bash bench/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
ROUNDS=${ROUNDS:-3}
IDLE=${IDLE:-5000}

command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
}
GO_BIN=$(command -v nats-server || echo /usr/sbin/nats-server)
cargo build --release -q -p rnatsd -p rnats
RN_BIN=target/release/rnatsd
RNATS=target/release/rnats
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"



RN_PORT=$(free_port); GO_PORT=$(free_port)
CONF=$(mktemp -d)
printf 'max_payload: 4194304\nmax_pending: 256MB\n' > "$CONF/bench.conf"
"$RN_BIN" -a 127.0.0.1 -p "$RN_PORT" -c "$CONF/bench.conf" 2>"$CONF/rnatsd.log" &
RN_PID=$!
"$GO_BIN" -a 127.0.0.1 -p "$GO_PORT" -c "$CONF/bench.conf" 2>"$CONF/nats-server.log" &
GO_PID=$!
trap 'kill $RN_PID $GO_PID 2>/dev/null; rm -rf "$CONF"' EXIT
sleep 1

idle_rss() { # port pid
  local base after
  base=$(rss_kb "$2")
  python3 - "$1" "$IDLE" <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
    socks.append(s)
for s in socks:
    buf = b""
    while b"PONG" not in buf:
        buf += s.recv(4096)
open("/tmp/.rnatsd-idle-ready", "w").close()
time.sleep(30)
PY
  local py=$!
  for _ in $(seq 1 600); do [ -f /tmp/.rnatsd-idle-ready ] && break; sleep 0.1; done
  sleep 1
  after=$(rss_kb "$2")
  rm -f /tmp/.rnatsd-idle-ready
  kill $py 2>/dev/null; wait $py 2>/dev/null || true
  echo $(( (after - base) * 1024 / IDLE ))
}
rn_idle=$(idle_rss "$RN_PORT" "$RN_PID")
go_idle=$(idle_rss "$GO_PORT" "$GO_PID")
echo "memory per idle connection, fresh servers ($IDLE connections): rnatsd ${rn_idle} B, nats-server ${go_idle} B, ratio $(python3 -c "print(round($rn_idle/max(1,$go_idle),2))")"

# workload name, then rnats bench arguments
WORKLOADS=(
  "pub-sub-16B|--msgs 1000000 --size 16 --sub 1"
  "fanout4-16B|--msgs 500000 --size 16 --sub 4"
  "queue4-16B|--msgs 1000000 --size 16 --sub 4 --queue"
  "reqrep-16B|--msgs 20000 --size 16 --sub 1 --request"
  "pub-sub-1MB|--msgs 400 --size 1048576 --sub 1"
  "pub-sub-4MB|--msgs 100 --size 4194304 --sub 1"
)

declare -A CPU DELIV RATE P99
run_one() { # label pid port args...
  local label=$1 pid=$2 port=$3; shift 3
  local c0 c1 out
  c0=$(cpu_ticks "$pid")
  out=$("$RNATS" -s "nats://127.0.0.1:$port" bench --json --no-progress "$@")
  c1=$(cpu_ticks "$pid")
  local delivered rate p99
  delivered=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["delivered"])')
  rate=$(echo "$out" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["delivered_msgs_per_sec"]))')
  p99=$(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("latency_us",{}).get("p99",""))')
  CPU[$label]=$(( ${CPU[$label]:-0} + c1 - c0 ))
  DELIV[$label]=$(( ${DELIV[$label]:-0} + delivered ))
  RATE[$label]="${RATE[$label]:-} $rate"
  P99[$label]="${P99[$label]:-} $p99"
}


printf '%-14s %14s %14s %12s %12s %8s %10s %10s\n' workload rn_msgs/s go_msgs/s rn_ns/msg go_ns/msg cpu_ratio rn_p99us go_p99us
for w in "${WORKLOADS[@]}"; do
  name=${w%%|*}; args=${w#*|}
  for ((r = 0; r < ROUNDS; r++)); do
    # shellcheck disable=SC2086
    run_one "rn-$name" "$RN_PID" "$RN_PORT" $args
    # shellcheck disable=SC2086
    run_one "go-$name" "$GO_PID" "$GO_PORT" $args
  done
  rn_ns=$(python3 -c "print(round(${CPU[rn-$name]}*1e9/$TCK/max(1,${DELIV[rn-$name]})))")
  go_ns=$(python3 -c "print(round(${CPU[go-$name]}*1e9/$TCK/max(1,${DELIV[go-$name]})))")
  ratio=$(python3 -c "print(round(${rn_ns}/max(1,${go_ns}),2))")
  printf '%-14s %14s %14s %12s %12s %8s %10s %10s\n' "$name" \
    "$(echo "${RATE[rn-$name]}" | median)" "$(echo "${RATE[go-$name]}" | median)" \
    "$rn_ns" "$go_ns" "$ratio" "$(echo "${P99[rn-$name]}" | median)" "$(echo "${P99[go-$name]}" | median)"
done
echo
echo "peak RSS after the workloads: rnatsd $(hwm_kb $RN_PID) KiB, nats-server $(hwm_kb $GO_PID) KiB"

