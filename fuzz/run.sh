#!/usr/bin/env bash
# Runs one fuzz target: bash fuzz/run.sh TARGET [SECONDS]
# Targets: conf_parse, client_parser, route_parser, leaf_parser, sublist_model, ws_frames, store_recover.
# The seed corpus is fuzz/seeds/TARGET (committed) plus the project's test
# corpus (config fixtures, differential scenarios); cargo-fuzz is installed
# when missing. Nightly features are
# enabled on the stable toolchain with RUSTC_BOOTSTRAP.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?target: conf_parse | client_parser | route_parser | leaf_parser | sublist_model | ws_frames | store_recover}
secs=${2:-60}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
corpus=corpus/$target
mkdir -p "$corpus"
# Committed seeds, then inputs taken from the test corpus.
cp seeds/"$target"/* "$corpus"/ 2>/dev/null || true
case $target in
  conf_parse)
    for f in ../crates/conf/tests/fixtures/* ../crates/server/tests/configs/*.conf; do
      [ -f "$f" ] && cp "$f" "$corpus/$(basename "$f")"
    done ;;
  client_parser)
    for f in ../crates/server/tests/scenarios/*.scn; do
      grep '^send ' "$f" | cut -d' ' -f3- | sed 's/\\r/\r/g; s/\\n/\n/g' > "$corpus/$(basename "$f")"
    done ;;
  route_parser)
    printf 'RS+ $G foo\r\nRS+ $G bar q 2\r\nRS- $G bar q\r\n' > "$corpus/interest"
    printf 'RMSG $G foo + reply q1 q2 2\r\nhi\r\nHMSG $G foo | q 12 14\r\nNATS/1.0\r\n\r\nhi\r\n' > "$corpus/msgs"
    printf 'LS+ c1 A foo\r\nLMSG c1 A foo r 0 2\r\nhi\r\nPING\r\nINFO {}\r\n' > "$corpus/leaf" ;;
esac
export RUSTC_BOOTSTRAP=1
cargo fuzz run "$target" "$corpus" -- -max_total_time="$secs" -max_len=65536
