#!/usr/bin/env bash
# Batch network analysis benchmark (issue 12: `osecwatch network` on the 100 M-payment world
# of `scripts/bench-simulate.sh --large`: graph built and propagated in <= 60 s, <= 8 GB).
#
#   scripts/bench-network.sh [--keep]
#
# Generates the large world once (1,000,000 customers, ~100 M payments, ~14 GB of CSV) in
# $BENCH_DIR/large-world, then times `osecwatch network` on it on both cores (the CSV reader's
# workers check blocks beside the engine) and reports wall time, peak RSS and the sizes of
# the graph it wrote. Without --keep the world is removed afterwards (it is large).
source "$(dirname "$0")/bench/common.sh"
W="$DIR/large-world"
if [ ! -f "$W/transactions.csv" ]; then
  echo "== generating the large world (once)"
  "$BIN" simulate --scenario default --customers 1000000 --out "$W" --quiet >/dev/null
fi
echo "== input: $(du -h "$W/transactions.csv" | cut -f1) of CSV"
/usr/bin/time -f "%e %M" -o "$DIR/network-time.txt" \
  "$BIN" network --quiet --input "$W/transactions.csv" --out "$DIR/network-large" >/dev/null
read -r secs kib < "$DIR/network-time.txt"
python3 - "$DIR/network-large/scan_summary.json" "$secs" "$kib" "$DIR/network-large" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1])); secs = float(sys.argv[2]); kib = int(sys.argv[3]); out = sys.argv[4]
nets = sum(1 for _ in open(os.path.join(out, "networks.jsonl")))
graph = os.path.getsize(os.path.join(out, "graph.graphml"))
print(f"osecwatch network: {s['read']} payments in {secs:.1f} s wall ({s['read']/secs/1e6:.2f} M/s), "
      f"peak RSS {kib/1024/1024:.2f} GiB; {s['senders_tracked'] + s['recipients_tracked']} entities with state, "
      f"{s['alerts']} alerts, {nets} networks, graph.graphml {graph/1e6:.0f} MB (targets: <= 60 s, <= 8 GiB)")
PY
[ "${1:-}" = "--keep" ] || rm -rf "$W"
