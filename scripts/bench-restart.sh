#!/usr/bin/env bash
# Restart benchmark (issue 13: after a SIGKILL, ready in <= 10 s from the latest snapshot with
# up to 5 M payments in the log's tail, with every check of the logs on).
#
#   scripts/bench-restart.sh [TAIL]      (default: 5000000 payments after the snapshot)
#   RESTART_ONLY=1 scripts/bench-restart.sh   time the restart again on the last run's data
#
# Starts `osecwatch serve` on a fresh data directory (no automatic snapshot), loads 100,000
# payments through the batch endpoint, takes a snapshot, loads TAIL more, kills the server
# with SIGKILL and starts it again, timing from the start of the process to the first answer
# of /readyz. Then times `osecwatch audit verify` on the same directory (the cost of checking
# the whole audit chain against the payments log). Loopback only.
TAIL="${1:-5000000}"
source "$(dirname "$0")/bench/common.sh"
DIR="$DIR/restart"
# RESTART_ONLY=1 times the restart again on the data directory of the last run.
if [ "${RESTART_ONLY:-0}" != 1 ]; then rm -rf "$DIR"; fi
mkdir -p "$DIR"
TOKEN="load-$(date +%s)-0123456789abcdef"
ADMIN="admin-$(date +%s)-0123456789abcdef"
export OSECWATCH_TOKENS="load:ingest+read:$TOKEN;ops:admin:$ADMIN"
PORT=18182
echo "snapshot_every = 1000000000" > "$DIR/serve.toml"
start() { RUST_LOG=info "$BIN" serve --config "$DIR/serve.toml" --listen 127.0.0.1:$PORT --data-dir "$DIR/data" >> "$DIR/serve.log" 2>&1 & PID=$!; }
ready() { for _ in $(seq 1 6000); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null 2>&1 && return 0; sleep 0.01; done; return 1; }
trap 'kill -9 $PID 2>/dev/null || true' EXIT
if [ "${RESTART_ONLY:-0}" != 1 ]; then
start
ready
python3 - "$PORT" "$TOKEN" "$ADMIN" "$TAIL" <<'PY'
import http.client, json, sys, time
port, token, admin, tail = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
# Event time: from 60 days before the wall clock, 0.5 s apart, never in the future.
t0 = int(time.time()) - 60 * 86400
corr = ["PH", "PH", "TH", "CO"]
def batch(first, n):
    out = []
    for k in range(first, first + n):
        t = t0 + k // 2
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        if k % 3 == 0:
            rc, ch, amt = corr[k % 4], "mto", "%d.00" % (20 + k % 150)
        else:
            rc, ch, amt = "DE", "card", "%d.%02d" % (5 + k % 80, k % 100)
        out.append('{"txn_id":"B%d","timestamp":"%s","sender_id":"S%d","sender_country":"DE","recipient_id":"R%d-%s","recipient_country":"%s","amount":"%s","currency":"EUR","channel":"%s"}'
                   % (k, ts, k % 200000, k % 60000, rc, rc, amt, ch))
    return ("\n".join(out) + "\n").encode()
def post(path, body, tok):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request("POST", path, body, {"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    r = c.getresponse(); data = r.read(); c.close()
    if r.status != 200:
        sys.exit(f"{path}: {r.status} {data[:300]!r}")
    return json.loads(data)
def load(first, n, label):
    start = time.time(); k = first
    while k < first + n:
        m = min(10000, first + n - k)
        r = post("/v1/transactions", batch(k, m), token)
        if r["accepted"] != m:
            sys.exit(f"batch at {k}: {r['accepted']} of {m} accepted: {r['results'][:3]}")
        k += m
    print(f"{label}: {n} payments in {time.time() - start:.1f} s ({n / (time.time() - start):,.0f}/s)", flush=True)
load(0, 100000, "before the snapshot")
print("snapshot at log position", post("/v1/admin/snapshot", b"", admin)["snapshot_at_log_position"], flush=True)
load(100000, tail, "the tail")
PY
kill -9 $PID; wait $PID 2>/dev/null || true
fi
ls -l "$DIR/data" | awk 'NR > 1 {printf "  %s %s bytes\n", $9, $5}'
T0=$(date +%s.%N)
start
ready
T1=$(date +%s.%N)
echo "restart after SIGKILL with $TAIL payments in the tail: ready in $(echo "$T1 - $T0" | bc) s"
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
echo "server RSS after the restart: $RSS KiB"
# The server's own account of the start: how long the checks and the replay took.
sed 's/\x1b\[[0-9;]*m//g' "$DIR/serve.log" | grep -E "log checked|chain checked|tail replayed|recovered" | tail -4 | sed 's/^/  /'
# Killed again, so the data directory keeps its tail for another look (RESTART_ONLY=1).
kill -9 $PID; wait $PID 2>/dev/null || true
T0=$(date +%s.%N)
"$BIN" audit verify "$DIR/data/audit.jsonl"
T1=$(date +%s.%N)
echo "audit verify (whole chain and every logged payment against its decision): $(echo "$T1 - $T0" | bc) s"
