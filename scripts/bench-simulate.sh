#!/usr/bin/env bash
# Simulator throughput benchmark (issue: >= 1 M transactions/s to CSV on one core, and
# 100 M transactions within 24 GB).
#
#   scripts/bench-simulate.sh           default world (100,000 customers, ~10 M payments), 3 runs
#   scripts/bench-simulate.sh --large   1,000,000 customers (~100 M payments, ~14 GB of CSV)
#
# Runs pinned to one core (taskset -c 0). Output goes to $BENCH_DIR (default target/bench).
source "$(dirname "$0")/bench/common.sh"
if [ "${1:-}" = "--large" ]; then
  echo "== 1,000,000 customers, 12 months, CSV, one core"
  pin /usr/bin/time -f "wall %e s, peak RSS %M KiB" "$BIN" simulate --scenario default --customers 1000000 --out "$DIR/large" --quiet
  du -sh "$DIR/large"
  rm -rf "$DIR/large"
else
  for i in 1 2 3; do
    echo "== run $i: default world, CSV, one core"
    pin /usr/bin/time -f "wall %e s, peak RSS %M KiB" "$BIN" simulate --scenario default --out "$DIR/default" --quiet | head -1
  done
fi
