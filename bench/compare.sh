#!/usr/bin/env bash
# Side-by-side benchmark of rnatsd and the reference nats-server 2.12.4.
#
# Starts both servers (rnatsd from a release build, nats-server 2.12.4 from
# scripts/reference.sh) on free ports with the default configuration, as
# users run them, and runs the same workloads against each, alternating A/B
# for ROUNDS rounds. The load comes from `rnats bench`, which is built on
# async-nats (`--raw-pub` rows: a flat-out raw TCP publisher writing
# pre-encoded PUBs in 64 KiB writes, async-nats subscribers). Prints per
# workload: delivered messages/s, server CPU time per delivered message
# (from /proc/PID/stat), the rnatsd/nats-server ratio, and each server's
# peak RSS during that workload. The js-* rows run `rnats bench js` on a
# JetStream pair (-js, a store directory each, defaults otherwise); the pull
# rows fill the stream and then consume it, and count both. The 4 MB row runs on a second pair started
# with `max_payload: 4MB` (labelled), since 1 MB is the default limit. Then
# the RSS of each server holding IDLE idle client connections, and the
# slow consumers each server closed (0 expected: every subscriber reads).
#
#   bash bench/compare.sh            # ROUNDS=3 IDLE=5000 by default
#   ROUNDS=5 bash bench/compare.sh
#   ONLY=js bash bench/compare.sh    # only the workloads whose name starts with js
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
ROUNDS=${ROUNDS:-3}
IDLE=${IDLE:-5000}
ONLY=${ONLY:-}

GO_BIN=$(ref_bin)
cargo build --release -q -p rnatsd -p rnats
RN_BIN=target/release/rnatsd
RNATS=target/release/rnats
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

CONF=$(mktemp -d)
printf 'max_payload: 4MB\n' > "$CONF/big.conf"
RN_PORT=$(free_port); GO_PORT=$(free_port); RN4_PORT=$(free_port); GO4_PORT=$(free_port)
"$RN_BIN" -a 127.0.0.1 -p "$RN_PORT" 2>"$CONF/rnatsd.log" &
RN_PID=$!
"$GO_BIN" -a 127.0.0.1 -p "$GO_PORT" 2>"$CONF/nats-server.log" &
GO_PID=$!
"$RN_BIN" -a 127.0.0.1 -p "$RN4_PORT" -c "$CONF/big.conf" 2>"$CONF/rnatsd4.log" &
RN4_PID=$!
"$GO_BIN" -a 127.0.0.1 -p "$GO4_PORT" -c "$CONF/big.conf" 2>"$CONF/nats-server4.log" &
GO4_PID=$!
# JetStream pair: -js with a store each, otherwise defaults (rnatsd syncs every
# PubAck and AckAck; nats-server syncs every two minutes).
RNJ_PORT=$(free_port); GOJ_PORT=$(free_port)
"$RN_BIN" -a 127.0.0.1 -p "$RNJ_PORT" -js -sd "$CONF/rn-js" 2>"$CONF/rnatsd-js.log" &
RNJ_PID=$!
"$GO_BIN" -a 127.0.0.1 -p "$GOJ_PORT" -js -sd "$CONF/go-js" 2>"$CONF/nats-server-js.log" &
GOJ_PID=$!
trap 'kill $RN_PID $GO_PID $RN4_PID $GO4_PID $RNJ_PID $GOJ_PID 2>/dev/null; rm -rf "$CONF"' EXIT
sleep 1
echo "reference: $("$GO_BIN" -v)"

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
if [ -z "$ONLY" ]; then
  rn_idle=$(idle_rss "$RN_PORT" "$RN_PID")
  go_idle=$(idle_rss "$GO_PORT" "$GO_PID")
  echo "memory per idle connection, fresh servers ($IDLE connections): rnatsd ${rn_idle} B, nats-server ${go_idle} B, ratio $(python3 -c "print(round($rn_idle/max(1,$go_idle),2))")"
fi

# workload name|server pair (default or 4mb)|rnats bench arguments
WORKLOADS=(
  "pub-sub-16B-3M|default|--msgs 3000000 --size 16 --sub 1"
  "fanout4-16B-3M|default|--msgs 3000000 --size 16 --sub 4"
  "flat-out-16B-3M|default|--msgs 3000000 --size 16 --sub 1 --raw-pub"
  "flat-out-fanout4-16B-3M|default|--msgs 3000000 --size 16 --sub 4 --raw-pub"
  "queue4-16B|default|--msgs 1000000 --size 16 --sub 4 --queue"
  "reqrep-16B|default|--msgs 20000 --size 16 --sub 1 --request"
  "pub-sub-1MB|default|--msgs 400 --size 1048576 --sub 1"
  "pub-sub-4MB (max_payload 4MB)|4mb|--msgs 100 --size 4194304 --sub 1"
  "js-async-pub-16B|js|js --mode async --msgs 200000 --size 16"
  "js-async-pub-1KB|js|js --mode async --msgs 100000 --size 1024"
  "js-sync-pub-16B-1pub|js|js --mode sync --msgs 5000 --size 16"
  "js-sync-pub-16B-16pub|js|js --mode sync --msgs 50000 --size 16 --pub 16"
  "js-pull-ack-16B (fill+consume)|js|js --mode pull --msgs 100000 --size 16 --batch 100"
  "js-pull-ack-1KB (fill+consume)|js|js --mode pull --msgs 100000 --size 1024 --batch 100"
)

declare -A CPU DELIV RATE P99 HWM
INCOMPLETE=()
run_one() { # label pid port args...
  local label=$1 pid=$2 port=$3; shift 3
  local c0 c1 out
  reset_hwm "$pid"
  c0=$(cpu_ticks "$pid")
  # A run that loses messages still prints its report; it is counted and
  # named at the end instead of stopping the comparison.
  out=$("$RNATS" -s "nats://127.0.0.1:$port" bench "$@" --json --no-progress 2>"$CONF/last.err") || true
  c1=$(cpu_ticks "$pid")
  local delivered expected rate p99 hwm
  delivered=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["delivered"])')
  expected=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["expected"])')
  if (( delivered < expected )); then
    INCOMPLETE+=("$label: $delivered of $expected delivered ($(cat "$CONF/last.err"))")
  fi
  rate=$(echo "$out" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["delivered_msgs_per_sec"]))')
  p99=$(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("latency_us",{}).get("p99",""))')
  hwm=$(hwm_kb "$pid")
  CPU[$label]=$(( ${CPU[$label]:-0} + c1 - c0 ))
  DELIV[$label]=$(( ${DELIV[$label]:-0} + delivered ))
  RATE[$label]="${RATE[$label]:-} $rate"
  P99[$label]="${P99[$label]:-} $p99"
  (( hwm > ${HWM[$label]:-0} )) && HWM[$label]=$hwm
  return 0
}

printf '%-30s %12s %12s %10s %10s %9s %9s %9s %9s %9s\n' workload rn_msgs/s go_msgs/s rn_ns/msg go_ns/msg cpu_ratio rn_p99us go_p99us rn_MiB go_MiB
for w in "${WORKLOADS[@]}"; do
  IFS='|' read -r name pair args <<<"$w"
  [ -n "$ONLY" ] && [[ "$name" != "$ONLY"* ]] && continue
  if [ "$pair" = 4mb ]; then rp=$RN4_PID; rport=$RN4_PORT; gp=$GO4_PID; gport=$GO4_PORT
  elif [ "$pair" = js ]; then rp=$RNJ_PID; rport=$RNJ_PORT; gp=$GOJ_PID; gport=$GOJ_PORT
  else rp=$RN_PID; rport=$RN_PORT; gp=$GO_PID; gport=$GO_PORT; fi
  for ((r = 0; r < ROUNDS; r++)); do
    # shellcheck disable=SC2086
    run_one "rn-$name" "$rp" "$rport" $args
    # shellcheck disable=SC2086
    run_one "go-$name" "$gp" "$gport" $args
  done
  rn_ns=$(python3 -c "print(round(${CPU[rn-$name]}*1e9/$TCK/max(1,${DELIV[rn-$name]})))")
  go_ns=$(python3 -c "print(round(${CPU[go-$name]}*1e9/$TCK/max(1,${DELIV[go-$name]})))")
  ratio=$(python3 -c "print(round(${rn_ns}/max(1,${go_ns}),2))")
  printf '%-30s %12s %12s %10s %10s %9s %9s %9s %9s %9s\n' "$name" \
    "$(echo "${RATE[rn-$name]}" | median)" "$(echo "${RATE[go-$name]}" | median)" \
    "$rn_ns" "$go_ns" "$ratio" "$(echo "${P99[rn-$name]}" | median)" "$(echo "${P99[go-$name]}" | median)" \
    "$(( ${HWM[rn-$name]} / 1024 ))" "$(( ${HWM[go-$name]} / 1024 ))"
done
echo
slow() { grep -c 'Slow Consumer' "$1" || true; }
if ((${#INCOMPLETE[@]})); then
  echo "incomplete runs:"; printf '  %s\n' "${INCOMPLETE[@]}"
else
  echo "every run delivered every message"
fi
echo "slow consumers closed: rnatsd $(slow "$CONF/rnatsd.log") + $(slow "$CONF/rnatsd4.log"), nats-server $(slow "$CONF/nats-server.log") + $(slow "$CONF/nats-server4.log")"
grep -h 'Slow Consumer' "$CONF"/*.log | head -5 || true
