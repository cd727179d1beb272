"""The baseline rule (>= 3 transfers <= EUR 250 to high-risk corridors within 30 days, per
sender) in DuckDB SQL, on a canonical transactions CSV: as a plain query, and after checking
every row the way osecwatch's quarantine does. Prints the flagged senders and the best wall
time of `runs` runs (default 3) for each, for scripts/bench-scan.sh."""
import sys
import time

import duckdb

path = sys.argv[1]
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
con = duckdb.connect()
con.execute(f"SET threads = {threads}")

# The rule over `rows`, given how to read the time and the amount from them.
RULE = """
    t AS (
        SELECT sender_id, {ts} AS ts
        FROM {rows}
        WHERE recipient_country IN ('PH','TH','VN','KH','ID','LA','CO','DO','MX','RO','GH','UA','IN','ZA','JM')
          AND recipient_country <> sender_country
          AND channel NOT IN ('card', 'cash')
          AND coalesce(merchant_category, '') = ''
          AND currency = 'EUR'
          AND {amount} <= 250
    ),
    w AS (
        SELECT sender_id,
               count(*) OVER (PARTITION BY sender_id ORDER BY ts
                              RANGE BETWEEN INTERVAL 30 DAYS PRECEDING AND CURRENT ROW) AS n30
        FROM t
    )
    SELECT count(DISTINCT sender_id) FROM w WHERE n30 >= 3
    """
CSV = "read_csv(?, header = true, all_varchar = true)"
PLAIN = "WITH " + RULE.format(rows=CSV, ts="CAST(timestamp AS TIMESTAMPTZ)", amount="CAST(amount AS DECIMAL(18, 2))")
# Every row checked first (timestamp, amount, codes, channel, required ids): like for like.
CHECKED = f"""
    WITH v AS (
        SELECT *, TRY_CAST(timestamp AS TIMESTAMPTZ) AS ts_ok, TRY_CAST(amount AS DECIMAL(18, 2)) AS amt
        FROM {CSV}
    ),
    ok AS (
        SELECT * FROM v
        WHERE ts_ok IS NOT NULL AND amt > 0
          AND coalesce(txn_id, '') <> '' AND coalesce(sender_id, '') <> '' AND coalesce(recipient_id, '') <> ''
          AND regexp_full_match(sender_country, '[A-Z]{{2}}') AND regexp_full_match(recipient_country, '[A-Z]{{2}}')
          AND regexp_full_match(currency, '[A-Z]{{3}}')
          AND channel IN ('bank_transfer', 'mto', 'wallet', 'card', 'crypto', 'cash', 'other')
          AND (merchant_category IS NULL OR regexp_full_match(merchant_category, '[0-9]{{4}}'))
    ),""" + RULE.format(rows="ok", ts="ts_ok", amount="amt")


def best(query):
    """(flagged senders, best seconds, every run's seconds)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        flagged = con.execute(query, [path]).fetchone()[0]
        times.append(time.perf_counter() - t0)
    return flagged, min(times), times


flagged, secs, times = best(PLAIN)
checked_flagged, checked_secs, _ = best(CHECKED)
print(f"duckdb {duckdb.__version__} threads={threads}: {flagged} senders flagged in {secs:.2f} s "
      f"(best of {runs}: {', '.join(f'{t:.2f}' for t in times)})")
print(f"  with every row checked as osecwatch does: {checked_flagged} senders flagged, "
      f"{checked_secs:.2f} s (best of {runs})")
print(f"DUCKDB_SECONDS={secs:.4f}")
print(f"DUCKDB_CHECKED_SECONDS={checked_secs:.4f}")
print(f"DUCKDB_FLAGGED={flagged}")
