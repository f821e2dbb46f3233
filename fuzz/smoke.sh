#!/usr/bin/env bash
# CI smoke run: every fuzz target for SECS seconds (default 20) from its
# seed corpus. Fails on the first crash (the input is left in artifacts/),
# and on a target that does not build or run.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-20}
for t in client_parser route_parser leaf_parser conf_parse sublist_model ws_frames store_recover; do
  echo "-- fuzz $t ($secs s)"
  log=$(mktemp)
  bash run.sh "$t" "$secs" >"$log" 2>&1 || true
  grep -E "^(Done|==|SUMMARY)|panicked|ERROR" "$log" || true
  if ls artifacts/"$t"/crash-* >/dev/null 2>&1; then
    echo "FAIL: $t crashed: $(ls artifacts/"$t"/crash-*)"
    exit 1
  fi
  # A target that did not build or did not run to its time limit fails
  # too (libFuzzer ends a timed run with "Done N runs").
  if ! grep -q "^Done [0-9]* runs" "$log"; then
    echo "FAIL: $t did not run:"; tail -30 "$log"
    exit 1
  fi
  rm -f "$log"
done
