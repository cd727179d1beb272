#!/usr/bin/env bash
# Detection-engine benchmark (issue: >= 1 M transactions/s per core for the full OSEC pack
# from CSV; the baseline rule in DuckDB on the same file, osecwatch >= 3x faster; peak
# memory and bytes per active entity).
#
#   scripts/bench-scan.sh
#
# Generates the default world once (target/bench/world), then, pinned to one core:
# osecwatch scan with rules/osec.toml and with rules/baseline.toml; then the baseline rule
# as SQL in DuckDB (Python package installed into target/bench/venv) with 1 and 2 threads.
source "$(dirname "$0")/bench/common.sh"
if [ ! -f "$DIR/world/transactions.csv" ]; then
  "$BIN" simulate --scenario default --out "$DIR/world" --quiet >/dev/null
fi
CSV="$DIR/world/transactions.csv"
echo "== input: $(wc -l < "$CSV") lines, $(du -h "$CSV" | cut -f1)"
run_scan() { # pack
  pin /usr/bin/time -f "%e %M" -o "$DIR/time.txt" "$BIN" scan --quiet --rules "rules/$1.toml" --input "$CSV" --out "$DIR/scan-$1" >/dev/null
  read -r secs kib < "$DIR/time.txt"
  python3 - "$DIR/scan-$1/scan_summary.json" "$secs" "$kib" "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); secs = float(sys.argv[2]); kib = int(sys.argv[3])
ents = s["senders_tracked"] + s["recipients_tracked"]
print(f"osecwatch scan {sys.argv[4]:8}: {s['read']} payments in {secs:.2f} s wall = {s['read']/secs/1e6:.2f} M/s on one core "
      f"(engine loop {s['payments_per_second']/1e6:.2f} M/s); alerts {s['alerts']}; peak RSS {kib/1024:.0f} MiB; "
      f"{ents} entities with state")
PY
  echo "$secs" > "$DIR/secs-$1.txt"
}
run_scan osec
run_scan baseline
# Both cores: CSV tokenising runs on the second one.
/usr/bin/time -f "%e" -o "$DIR/time2.txt" "$BIN" scan --quiet --rules rules/osec.toml --input "$CSV" --out "$DIR/scan-osec2" >/dev/null
echo "osecwatch scan osec on both cores: $(cat "$DIR/time2.txt") s wall"
cp "$DIR/time2.txt" "$DIR/secs-osec2.txt"
/usr/bin/time -f "%e" -o "$DIR/time2.txt" "$BIN" scan --quiet --rules rules/baseline.toml --input "$CSV" --out "$DIR/scan-baseline2" >/dev/null
echo "osecwatch scan baseline on both cores: $(cat "$DIR/time2.txt") s wall"
cp "$DIR/time2.txt" "$DIR/secs-baseline2.txt"
# A scan of a tiny file gives the fixed memory (binary, pack, buffers) to subtract.
head -1000 "$CSV" > "$DIR/tiny.csv"
/usr/bin/time -f "%M" -o "$DIR/tiny.txt" "$BIN" scan --quiet --input "$DIR/tiny.csv" --out "$DIR/scan-tiny" >/dev/null
OSEC_KIB=$(pin /usr/bin/time -f "%M" "$BIN" scan --quiet --input "$CSV" --out "$DIR/scan-osec" 2>&1 >/dev/null | tail -1)
python3 - "$DIR/scan-osec/scan_summary.json" "$OSEC_KIB" "$(cat "$DIR/tiny.txt")" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); peak = int(sys.argv[2]); base = int(sys.argv[3])
ents = s["senders_tracked"] + s["recipients_tracked"]
print(f"memory: peak {peak/1024:.0f} MiB, fixed {base/1024:.0f} MiB -> {(peak-base)*1024/max(ents,1):.0f} bytes per entity with state ({ents} entities)")
PY
if [ ! -x "$DIR/venv/bin/python" ]; then
  python3 -m venv "$DIR/venv"
  "$DIR/venv/bin/pip" install -q duckdb
fi
for threads in 1 2; do
  out=$("$DIR/venv/bin/python" scripts/baseline_duckdb.py "$CSV" "$threads")
  echo "$out" | head -1
  secs=$(echo "$out" | sed -n 's/^DUCKDB_SECONDS=//p')
  cores=$([ "$threads" = 1 ] && echo "" || echo 2)
  python3 -c "d=float('$secs'); o=float(open('$DIR/secs-baseline$cores.txt').read()); f=float(open('$DIR/secs-osec$cores.txt').read()); print(f'  ratio DuckDB ({$threads} thread(s)) / osecwatch ({$threads} core(s)): baseline rule {d/o:.2f}x, full OSEC pack {d/f:.2f}x')"
done
