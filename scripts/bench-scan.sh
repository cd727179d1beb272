#!/usr/bin/env bash
# Detection-engine benchmark (issue: >= 1 M transactions/s per core for the full OSEC pack
# from CSV; the baseline rule in DuckDB on the same file, osecwatch >= 3x faster; peak
# memory and bytes per active entity).
#
#   scripts/bench-scan.sh [RUNS]
#
# Generates the default world once (target/bench/world), then times osecwatch scan with
# rules/osec.toml and rules/baseline.toml on one core (taskset -c 0) and on all cores, and
# the baseline rule as SQL in DuckDB (Python package installed into target/bench/venv) with
# 1 and 2 threads (as the plain query, and checking every row as osecwatch's quarantine
# does). Every figure is the best of RUNS runs (default 3): on a shared machine
# the best run is the one least disturbed by others.
source "$(dirname "$0")/bench/common.sh"
RUNS="${1:-3}"
world
echo "== input: $(wc -l < "$CSV") lines, $(du -h "$CSV" | cut -f1); best of $RUNS runs"
# best_of NAME one|all CMD...: runs CMD RUNS times (pinned to one core, or on all), keeps the
# lowest wall time (s) and its peak RSS (KiB).
best_of() {
  local name=$1 cores=$2; shift 2
  local best="" best_kib=""
  for _ in $(seq "$RUNS"); do
    if [ "$cores" = one ]; then
      pin /usr/bin/time -f "%e %M" -o "$DIR/time.txt" "$@" >/dev/null
    else
      /usr/bin/time -f "%e %M" -o "$DIR/time.txt" "$@" >/dev/null
    fi
    read -r secs kib < "$DIR/time.txt"
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $secs < $best else 1)"; then
      best=$secs; best_kib=$kib
    fi
  done
  echo "$best" > "$DIR/secs-$name.txt"
  echo "$best_kib" > "$DIR/kib-$name.txt"
}
report() { # pack name cores
  python3 - "$DIR/scan-$2/scan_summary.json" "$(cat "$DIR/secs-$2.txt")" "$(cat "$DIR/kib-$2.txt")" "$1" "$3" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); secs = float(sys.argv[2]); kib = int(sys.argv[3])
ents = s["senders_tracked"] + s["recipients_tracked"]
print(f"osecwatch scan {sys.argv[4]:8} on {sys.argv[5]}: {s['read']} payments in {secs:.2f} s wall = "
      f"{s['read']/secs/1e6:.2f} M/s; alerts {s['alerts']}; peak RSS {kib/1024:.0f} MiB; {ents} entities with state")
PY
}
for pack in osec baseline; do
  best_of "$pack" one "$BIN" scan --quiet --rules "rules/$pack.toml" --input "$CSV" --out "$DIR/scan-$pack"
  report "$pack" "$pack" "one core"
  # All cores: blocks of the file are validated in parallel, the engine runs beside them.
  best_of "${pack}2" all "$BIN" scan --quiet --rules "rules/$pack.toml" --input "$CSV" --out "$DIR/scan-${pack}2"
  report "$pack" "${pack}2" "$(nproc) cores"
done
cmp -s "$DIR/scan-osec/alerts.jsonl" "$DIR/scan-osec2/alerts.jsonl" && echo "  (one core and all cores wrote identical alerts)"
# A scan of a tiny file gives the fixed memory (binary, pack, buffers) to subtract.
head -1000 "$CSV" > "$DIR/tiny.csv"
/usr/bin/time -f "%M" -o "$DIR/tiny.txt" "$BIN" scan --quiet --input "$DIR/tiny.csv" --out "$DIR/scan-tiny" >/dev/null
python3 - "$DIR/scan-osec/scan_summary.json" "$(cat "$DIR/kib-osec.txt")" "$(cat "$DIR/tiny.txt")" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); peak = int(sys.argv[2]); base = int(sys.argv[3])
ents = s["senders_tracked"] + s["recipients_tracked"]
print(f"memory (OSEC pack, one core): peak {peak/1024:.0f} MiB, fixed {base/1024:.0f} MiB -> "
      f"{(peak-base)*1024/max(ents,1):.0f} bytes per entity with state ({ents} entities)")
PY
if [ ! -x "$DIR/venv/bin/python" ]; then
  python3 -m venv "$DIR/venv"
  "$DIR/venv/bin/pip" install -q duckdb
fi
for threads in 1 2; do
  out=$("$DIR/venv/bin/python" scripts/baseline_duckdb.py "$CSV" "$threads" "$RUNS")
  echo "$out" | head -2
  secs=$(echo "$out" | sed -n 's/^DUCKDB_SECONDS=//p')
  checked=$(echo "$out" | sed -n 's/^DUCKDB_CHECKED_SECONDS=//p')
  suffix=$([ "$threads" = 1 ] && echo "" || echo 2)
  python3 -c "d=float('$secs'); o=float(open('$DIR/secs-baseline$suffix.txt').read()); f=float(open('$DIR/secs-osec$suffix.txt').read()); print(f'  ratio DuckDB ({$threads} thread(s)) / osecwatch ({\"one core\" if $threads == 1 else \"all cores\"}): baseline rule {d/o:.2f}x, full OSEC pack {d/f:.2f}x (target >= 3x)'); print(f'  ratio with DuckDB checking every row too: baseline rule {float(\"$checked\")/o:.2f}x')"
done
