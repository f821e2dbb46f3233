#!/usr/bin/env bash
# CI smoke run: every fuzz target for SECS seconds (default 20) from its
# seed corpus. Fails on the first crash (the input is left in artifacts/).
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-20}
for t in client_parser route_parser conf_parse sublist_model ws_frames; do
  echo "-- fuzz $t ($secs s)"
  bash run.sh "$t" "$secs" 2>&1 | grep -E "^(Done|==|SUMMARY)|panicked|ERROR" || true
  if ls artifacts/"$t"/crash-* >/dev/null 2>&1; then
    echo "FAIL: $t crashed: $(ls artifacts/"$t"/crash-*)"
    exit 1
  fi
done
