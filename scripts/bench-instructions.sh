#!/usr/bin/env bash
# Instructions per row of `osecwatch scan` on one thread, counted by valgrind's callgrind:
# unlike seconds on this shared machine, the count does not drift, so it is the measure for
# comparing two builds of the CSV hot path.
#
#   scripts/bench-instructions.sh [ROWS]      (default: the first 1,000,000 rows)
#
# Uses the default world of scripts/bench-scan.sh (generated if missing) and both packs.
source "$(dirname "$0")/bench/common.sh"
ROWS="${1:-1000000}"
command -v valgrind >/dev/null || { apt-get install -y -q valgrind >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q valgrind >/dev/null; }; }
world
head -n "$((ROWS + 1))" "$CSV" > "$DIR/first-rows.csv"
for pack in baseline osec; do
  valgrind --tool=callgrind --callgrind-out-file="$DIR/callgrind-$pack.out" \
    "$BIN" scan --quiet --threads 1 --rules "rules/$pack.toml" --input "$DIR/first-rows.csv" --out "$DIR/cg-$pack" \
    2> "$DIR/callgrind-$pack.log" >/dev/null
  total=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$DIR/callgrind-$pack.log")
  echo "$pack pack: $total instructions for $ROWS rows = $((total / ROWS)) per row (profile: $DIR/callgrind-$pack.out)"
done
