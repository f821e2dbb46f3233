#!/usr/bin/env bash
# A/B of two rnatsd builds on the same workloads: for a change that must
# not cost CPU (a refactoring), run the binary from before and the one from
# after side by side, alternating for ROUNDS rounds, on the default
# configuration. Prints per workload the server CPU time per delivered
# message of each and their ratio (B/A).
#
#   bash bench/ab.sh OLD_RNATSD NEW_RNATSD      # ROUNDS=3 by default
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
ROUNDS=${ROUNDS:-3}
A_BIN=${1:?old rnatsd binary}; B_BIN=${2:?new rnatsd binary}
cargo build --release -q -p rnats
RNATS=target/release/rnats
DIR=$(mktemp -d)
A_PORT=$(free_port); B_PORT=$(free_port)
"$A_BIN" -a 127.0.0.1 -p "$A_PORT" 2>"$DIR/a.log" & A_PID=$!
"$B_BIN" -a 127.0.0.1 -p "$B_PORT" 2>"$DIR/b.log" & B_PID=$!
trap 'kill $A_PID $B_PID 2>/dev/null; rm -rf "$DIR"' EXIT
sleep 1
WORKLOADS=(
  "pub-sub-16B-3M|--msgs 3000000 --size 16 --sub 1"
  "fanout4-16B-3M|--msgs 3000000 --size 16 --sub 4"
  "flat-out-16B-3M|--msgs 3000000 --size 16 --sub 1 --raw-pub"
  "queue4-16B|--msgs 1000000 --size 16 --sub 4 --queue"
  "reqrep-16B|--msgs 20000 --size 16 --sub 1 --request"
)
declare -A CPU DELIV
run_one() { # label pid port args...
  local label=$1 pid=$2 port=$3; shift 3
  local c0 c1 out
  c0=$(cpu_ticks "$pid")
  out=$("$RNATS" -s "nats://127.0.0.1:$port" bench --json --no-progress "$@")
  c1=$(cpu_ticks "$pid")
  CPU[$label]=$(( ${CPU[$label]:-0} + c1 - c0 ))
  DELIV[$label]=$(( ${DELIV[$label]:-0} + $(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["delivered"])') ))
}
printf '%-18s %10s %10s %8s\n' workload a_ns/msg b_ns/msg b/a
for w in "${WORKLOADS[@]}"; do
  name=${w%%|*}; args=${w#*|}
  for ((r = 0; r < ROUNDS; r++)); do
    # shellcheck disable=SC2086
    run_one "a-$name" "$A_PID" "$A_PORT" $args
    # shellcheck disable=SC2086
    run_one "b-$name" "$B_PID" "$B_PORT" $args
  done
  a=$(python3 -c "print(round(${CPU[a-$name]}*1e9/$TCK/max(1,${DELIV[a-$name]})))")
  b=$(python3 -c "print(round(${CPU[b-$name]}*1e9/$TCK/max(1,${DELIV[b-$name]})))")
  printf '%-18s %10s %10s %8s\n' "$name" "$a" "$b" "$(python3 -c "print(round($b/max(1,$a),2))")"
done
