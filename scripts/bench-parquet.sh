#!/usr/bin/env bash
# Columnar scan benchmark (issue 16): the default world written as typed Parquet by DuckDB
# (TIMESTAMPTZ, DECIMAL(18,2), INTEGER merchant category: what data lakes write), then, side
# by side in one run, on one core and on all cores:
#   - osecwatch scan with the full OSEC pack (--sender-timezone Europe/Berlin, since a
#     TIMESTAMPTZ keeps no sender-local offset);
#   - DuckDB doing the same per-row work on the file (every column of every row decoded)
#     and DuckDB running only the plain rule (shared/reference/duckdb-yardstick.sql).
# Every figure is the best of RUNS runs (default 3).
#
#   scripts/bench-parquet.sh [RUNS]
source "$(dirname "$0")/bench/common.sh"
RUNS="${1:-3}"
world
if [ ! -x "$DIR/venv/bin/python" ]; then
  python3 -m venv "$DIR/venv"
  "$DIR/venv/bin/pip" install -q duckdb
fi
PQ="$DIR/world/duckdb-typed.parquet"
if [ ! -f "$PQ" ]; then
  "$DIR/venv/bin/python" - "$CSV" "$PQ" <<'PY'
import duckdb, sys
duckdb.sql(f"""copy (select txn_id, cast(timestamp as timestamptz) as timestamp, sender_id, sender_name,
  sender_country, recipient_id, recipient_name, recipient_country, cast(amount as decimal(18,2)) as amount,
  currency, channel, reference, cast(merchant_category as integer) as merchant_category
  from read_csv('{sys.argv[1]}', all_varchar=true) order by cast(timestamp as timestamptz))
  to '{sys.argv[2]}' (format parquet)""")
PY
fi
echo "== input: $PQ ($(du -h "$PQ" | cut -f1)), written by DuckDB; best of $RUNS runs"
best() { # NAME one|all CMD...: the lowest wall time of RUNS runs
  local name=$1 cores=$2; shift 2
  local b=""
  for _ in $(seq "$RUNS"); do
    if [ "$cores" = one ]; then pin /usr/bin/time -f "%e" -o "$DIR/t.txt" "$@" >/dev/null
    else /usr/bin/time -f "%e" -o "$DIR/t.txt" "$@" >/dev/null; fi
    s=$(cat "$DIR/t.txt")
    if [ -z "$b" ] || python3 -c "import sys; sys.exit(0 if $s < $b else 1)"; then b=$s; fi
  done
  echo "$b"
}
for cores in one all; do
  t=$(best "pq-$cores" "$cores" "$BIN" scan --quiet --sender-timezone Europe/Berlin --input "$PQ" --out "$DIR/scan-pq-$cores")
  read -r n a < <(python3 -c "import json; s=json.load(open('$DIR/scan-pq-$cores/scan_summary.json')); print(s['read'], s['alerts'])")
  echo "osecwatch scan (OSEC pack) on $([ "$cores" = one ] && echo "one core" || echo "all cores"): $n payments in $t s = $(python3 -c "print(f'{$n/$t/1e6:.2f}')") M/s, $a alerts"
done
"$DIR/venv/bin/python" - "$PQ" "$RUNS" <<'PY'
import duckdb, sys, time
path, runs = sys.argv[1], int(sys.argv[2])
rule = f"""with p as (select sender_id, timestamp as ts from read_parquet('{path}')
  where recipient_country in ('PH','TH','VN','KH','LA','ID','CO','DO','MX','RO','GH','UA','IN','ZA','JM')
    and channel <> 'card' and amount <= 250),
w as (select sender_id, count(*) over (partition by sender_id order by ts
  range between interval 30 days preceding and current row) as n from p)
select count(distinct sender_id) from w where n >= 3"""
every = f"""select count(*), sum(length(txn_id)), sum(length(sender_id)), sum(length(coalesce(sender_name, ''))),
  sum(length(recipient_id)), sum(length(coalesce(recipient_name, ''))), sum(length(coalesce(reference, ''))),
  count(distinct sender_country), count(distinct recipient_country), count(distinct currency),
  count(distinct channel), max(amount), max(timestamp), max(merchant_category) from read_parquet('{path}')"""
for threads in (1, 2):
    con = duckdb.connect()
    con.execute(f"set threads = {threads}")
    for name, q in (("the same per-row work", every), ("only the plain rule", rule)):
        best = min(((lambda t0: (con.execute(q).fetchall(), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(runs)))
        print(f"DuckDB {duckdb.__version__}, {threads} thread(s), {name}: {best:.2f} s")
PY
