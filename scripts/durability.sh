#!/usr/bin/env bash
# The long versions of the durability and fault tests (CI runs short ones):
# - 20,000 power cuts at random points of random workloads on the simulated
#   disk, and 3,000 random byte flips and truncations of store files;
# - kill -9 of the real binary at 20 random moments under an async publish
#   load with acks;
# - 20 rounds of consuming with acks (AckAck), naks and unacked messages,
#   each ended by kill -9: no AckAck'ed message comes back, every other does;
# - 10 minutes of the store recovery fuzz target.
#
#   bash scripts/durability.sh
set -euo pipefail
cd "$(dirname "$0")/.."
STORE_POWER_CUTS=${STORE_POWER_CUTS:-20000} STORE_DAMAGE_TRIALS=${STORE_DAMAGE_TRIALS:-3000} \
  cargo test --release -p rnatsd-store --features os --test recovery
bash scripts/reference.sh >/dev/null
JS_KILLS=${JS_KILLS:-20} cargo test -p rnatsd --test jetstream kill_9_under_publish_load
CONSUMER_KILLS=${CONSUMER_KILLS:-20} cargo test -p rnatsd --test consumers acks_survive_kill_9
bash fuzz/run.sh store_recover "${FUZZ_SECS:-600}"
