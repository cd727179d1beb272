#!/usr/bin/env bash
# A hub with a million payers (issue 12, bad input: handled within the caps, in bounded time
# and memory, and reported).
#
#   scripts/bench-hub.sh [PAYERS]      (default 1,000,000)
#
# Writes two files of PAYERS small evening transfers over a year, one per sender: in the first
# every payment goes to one pickup agent (a hub), in the second each to a recipient of its own.
# `osecwatch network` runs on both side by side: the hub keeps at most 256 payer edges and 1,024
# inbound payments, so its file costs no more time or memory than the one without a hub, and
# hubs.csv reports it (payers at the cap, flagged as a hub, no alert).
source "$(dirname "$0")/bench/common.sh"
N="${1:-1000000}"
python3 - "$N" "$DIR/hub.csv" "$DIR/nohub.csv" <<'PY'
import sys
n = int(sys.argv[1]); start = 1735732800  # 2025-01-01T12:00:00Z
head = "txn_id,timestamp,sender_id,sender_name,sender_country,recipient_id,recipient_name,recipient_country,amount,currency,channel,reference,merchant_category\n"
import datetime
with open(sys.argv[2], "w") as hub, open(sys.argv[3], "w") as nohub:
    hub.write(head); nohub.write(head)
    for k in range(n):
        t = datetime.datetime.fromtimestamp(start + k * 31_000_000 // n, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        amount = f"{10 + k % 90}.00"
        hub.write(f"H{k},{t},S{k},Kunde Nummer{k},DE,AGENT,Cebu Padala Center,PH,{amount},EUR,mto,,\n")
        nohub.write(f"N{k},{t},S{k},Kunde Nummer{k},DE,R{k},Maria Santos,PH,{amount},EUR,mto,,\n")
PY
for f in hub nohub; do
  /usr/bin/time -f "%e %M" -o "$DIR/$f-time.txt" "$BIN" network --quiet --input "$DIR/$f.csv" --out "$DIR/$f-out" >/dev/null
  read -r secs kib < "$DIR/$f-time.txt"
  alerts=$(wc -l < "$DIR/$f-out/alerts.jsonl")
  echo "$f: $N payments in $secs s, peak RSS $((kib / 1024)) MiB, $alerts alerts"
done
echo "hubs.csv, first line: $(sed -n 2p "$DIR/hub-out/hubs.csv")"
