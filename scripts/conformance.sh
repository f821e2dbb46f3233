#!/usr/bin/env bash
# The async-nats client's own test suite (repo nats-io/nats.rs,
# async-nats/tests) against nats-server 2.12.4 and against rnatsd. The
# suite starts `nats-server` from PATH; this script puts each server there
# under that name in turn, runs the core (non-JetStream) test files, and
# writes each test's outcome per server to target/conformance/.
#
#   NATS_RS=/path/to/nats.rs bash scripts/conformance.sh [TEST_FILE ...]
#
# NATS_RS is a checkout of nats-io/nats.rs (the suite is not on crates.io:
# the published async-nats package lacks the nats-server test helper).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
: "${NATS_RS:?set NATS_RS to a checkout of nats-io/nats.rs}"
FILES=("$@")
[ ${#FILES[@]} -gt 0 ] || FILES=(client_tests nkey_tests jwt_tests tls_tests websocket_test
  server_pool_tests server_pool_parity_tests subject_validation_test service_tests)
REF=$(bash scripts/reference.sh)
cargo build --release -q -p rnatsd
OUT=$ROOT/target/conformance
mkdir -p "$OUT/bin-ref" "$OUT/bin-rnatsd"
ln -sf "$REF" "$OUT/bin-ref/nats-server"
ln -sf "$ROOT/target/release/rnatsd" "$OUT/bin-rnatsd/nats-server"
args=()
for f in "${FILES[@]}"; do args+=(--test "$f"); done
(cd "$NATS_RS" && cargo test -q -p async-nats "${args[@]}" --no-run)
for who in ref rnatsd; do
  : > "$OUT/$who.txt"
  for f in "${FILES[@]}"; do
    echo "== $who: $f" >&2
    (cd "$NATS_RS" && PATH="$OUT/bin-$who:$PATH" timeout 1200 \
      cargo test -p async-nats --test "$f" -- --test-threads=2 2>&1) |
      sed -n "s/^test \(.*\) \.\.\. \(ok\|FAILED\|ignored\)$/$f::\1 \2/p" >> "$OUT/$who.txt" || true
  done
  sort -o "$OUT/$who.txt" "$OUT/$who.txt"
done
echo "per test: $OUT/ref.txt (nats-server 2.12.4), $OUT/rnatsd.txt"
for who in ref rnatsd; do
  printf '%-7s ok %4d  failed %4d  ignored %4d\n' "$who" \
    "$(grep -c ' ok$' "$OUT/$who.txt" || true)" "$(grep -c ' FAILED$' "$OUT/$who.txt" || true)" \
    "$(grep -c ' ignored$' "$OUT/$who.txt" || true)"
done
echo "passing on nats-server 2.12.4 but not on rnatsd:"
comm -23 <(grep ' ok$' "$OUT/ref.txt" | sed 's/ ok$//') <(grep ' ok$' "$OUT/rnatsd.txt" | sed 's/ ok$//') | sed 's/^/  /'
