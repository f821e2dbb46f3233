#!/usr/bin/env bash
# Route benchmark: publishers on node A, subscribers on node B of a two-node
# cluster, for an rnatsd pair and a nats-server 2.12.4 pair (from
# scripts/reference.sh), both on the default configuration, alternating A/B
# for ROUNDS rounds. Prints per workload the delivered
# messages/s, the CPU time of both servers per delivered message (from
# /proc/PID/stat) and the rnatsd/nats-server ratio.
#
#   bash bench/route.sh            # ROUNDS=3 by default
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
ROUNDS=${ROUNDS:-3}

GO_BIN=$(ref_bin)
cargo build --release -q -p rnatsd -p rnats
RN_BIN=target/release/rnatsd
RNATS=target/release/rnats

DIR=$(mktemp -d)

PIDS=()
# start BIN NAME -> sets PORT_<NAME>, PID_<NAME>; ROUTE_TO is a cluster port
start() {
  local bin=$1 name=$2 cport=$3 route=${4:-}
  local port; port=$(free_port)
  local args=(-a 127.0.0.1 -p "$port" --cluster "nats://127.0.0.1:$cport" --cluster_name bench -n "$name")
  [ -n "$route" ] && args+=(--routes "nats://127.0.0.1:$route")
  "$bin" "${args[@]}" 2>"$DIR/$name.log" &
  PIDS+=($!)
  printf -v "PORT_$name" '%s' "$port"
  printf -v "PID_$name" '%s' "$!"
}
RN_A_C=$(free_port); RN_B_C=$(free_port); GO_A_C=$(free_port); GO_B_C=$(free_port)
start "$RN_BIN" rnA "$RN_A_C"
start "$RN_BIN" rnB "$RN_B_C" "$RN_A_C"
start "$GO_BIN" goA "$GO_A_C"
start "$GO_BIN" goB "$GO_B_C" "$GO_A_C"
trap 'kill "${PIDS[@]}" 2>/dev/null; rm -rf "$DIR"' EXIT
sleep 2

WORKLOADS=(
  "route-pub-sub-16B|--msgs 1000000 --size 16 --sub 1"
  "route-pub-sub-1KB|--msgs 300000 --size 1024 --sub 1"
  "route-queue4-16B|--msgs 1000000 --size 16 --sub 4 --queue"
  "route-reqrep-16B|--msgs 20000 --size 16 --sub 1 --request"
)

declare -A CPU DELIV RATE P99
run_one() { # label pidA pidB portA portB args...
  local label=$1 pa=$2 pb=$3 porta=$4 portb=$5; shift 5
  local c0 c1 out
  c0=$(( $(cpu_ticks "$pa") + $(cpu_ticks "$pb") ))
  out=$("$RNATS" -s "nats://127.0.0.1:$porta" bench --sub-server "nats://127.0.0.1:$portb" --json --no-progress "$@")
  c1=$(( $(cpu_ticks "$pa") + $(cpu_ticks "$pb") ))
  local delivered rate p99
  delivered=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["delivered"])')
  rate=$(echo "$out" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["delivered_msgs_per_sec"]))')
  p99=$(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("latency_us",{}).get("p99",""))')
  CPU[$label]=$(( ${CPU[$label]:-0} + c1 - c0 ))
  DELIV[$label]=$(( ${DELIV[$label]:-0} + delivered ))
  RATE[$label]="${RATE[$label]:-} $rate"
  P99[$label]="${P99[$label]:-} $p99"
}


printf '%-18s %14s %14s %12s %12s %8s %10s %10s\n' workload rn_msgs/s go_msgs/s rn_ns/msg go_ns/msg cpu_ratio rn_p99us go_p99us
for w in "${WORKLOADS[@]}"; do
  name=${w%%|*}; args=${w#*|}
  for ((r = 0; r < ROUNDS; r++)); do
    # shellcheck disable=SC2086
    run_one "rn-$name" "$PID_rnA" "$PID_rnB" "$PORT_rnA" "$PORT_rnB" $args
    # shellcheck disable=SC2086
    run_one "go-$name" "$PID_goA" "$PID_goB" "$PORT_goA" "$PORT_goB" $args
  done
  rn_ns=$(python3 -c "print(round(${CPU[rn-$name]}*1e9/$TCK/max(1,${DELIV[rn-$name]})))")
  go_ns=$(python3 -c "print(round(${CPU[go-$name]}*1e9/$TCK/max(1,${DELIV[go-$name]})))")
  ratio=$(python3 -c "print(round(${rn_ns}/max(1,${go_ns}),2))")
  printf '%-18s %14s %14s %12s %12s %8s %10s %10s\n' "$name" \
    "$(echo "${RATE[rn-$name]}" | median)" "$(echo "${RATE[go-$name]}" | median)" \
    "$rn_ns" "$go_ns" "$ratio" "$(echo "${P99[rn-$name]}" | median)" "$(echo "${P99[go-$name]}" | median)"
done
