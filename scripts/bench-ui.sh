#!/usr/bin/env bash
# The workbench's page times (issue 15): a case store with 10,000 open cases and one case of
# 500 payments (`osecwatch cases bench --keep`), served by `osecwatch serve`; one analyst
# signed in; wrk asks for the queue (first page, a filtered page, a deep page) and the
# 500-payment case page, and reports the latency distribution (p99 is the target: queue
# <= 100 ms, case page <= 150 ms). Loopback, so latency is server time plus a socket hop.
#   scripts/bench-ui.sh [SECONDS] [CONNECTIONS]      OSECWATCH_BIN=path runs another build
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-15}"
CONNS="${2:-2}"
bin="${OSECWATCH_BIN:-target/release/osecwatch}"
if [ -z "${OSECWATCH_BIN:-}" ]; then
  cargo build --release --locked -q
fi
command -v wrk >/dev/null || { apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }; }
DIR="$(mktemp -d)"
PORT="${OSECWATCH_BENCH_PORT:-18282}"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$DIR"' EXIT
"$bin" cases bench --alerts 10000 --big-payments 500 --queries 200 --drafts 2 --keep "$DIR"
TOKEN="$("$bin" users add bench-analyst --role analyst --data-dir "$DIR" | sed -n 2p | tr -d ' ')"
"$bin" serve --listen "127.0.0.1:$PORT" --data-dir "$DIR" --cases-feed-secs 3600 > "$DIR/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
JAR="$DIR/cookies"
CSRF="$(curl -s -c "$JAR" "http://127.0.0.1:$PORT/ui/login" | grep -o 'name="csrf" value="[^"]*"' | sed 's/.*value="//;s/"$//')"
curl -s -b "$JAR" -c "$JAR" -o /dev/null --data-urlencode "csrf=$CSRF" --data-urlencode "token=$TOKEN" "http://127.0.0.1:$PORT/ui/login"
SESSION="$(awk '$6 == "osw_session" {print $7}' "$JAR")"
[ -n "$SESSION" ] || { echo "bench-ui: sign-in failed" >&2; exit 1; }
BIG="$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/cases?entity=BIG-SENDER" | grep -o '"case_id":"[^"]*"' | head -1 | cut -d'"' -f4)"
# Each page must answer 200 with the page itself before it is timed.
for p in "/ui/queue" "/ui/cases/$BIG"; do
  code="$(curl -s -o "$DIR/page.html" -w '%{http_code}' -H "Cookie: osw_session=$SESSION" "http://127.0.0.1:$PORT$p")"
  [ "$code" = 200 ] || { echo "bench-ui: $p answered $code" >&2; exit 1; }
done
grep -q "Evidence payments (500)" "$DIR/page.html" || { echo "bench-ui: the big case does not show 500 payments" >&2; exit 1; }
echo "workbench pages, $SECS s each, $CONNS connection(s), one signed-in analyst, 10,000 open cases"
for p in "/ui/queue" "/ui/queue?typology=OSEC-BUYER&corridor=PH" "/ui/queue?page=150" "/ui/cases/$BIG"; do
  wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -H "Cookie: osw_session=$SESSION" "http://127.0.0.1:$PORT$p" > "$DIR/wrk.txt"
  reqs="$(awk '/Requests\/sec/ {print $2}' "$DIR/wrk.txt")"
  lat="$(awk '/^ +(50|90|99)%/ {printf "p%s %s  ", substr($1, 1, length($1)-1), $2}' "$DIR/wrk.txt")"
  non2xx="$(awk '/Non-2xx/ {print $5}' "$DIR/wrk.txt")"
  printf '  %-48s %8s req/s  %s%s\n' "$p" "$reqs" "$lat" "${non2xx:+ NON-2XX: $non2xx}"
done
