#!/usr/bin/env bash
# The hostile review's archive-mid-send case, as a reproduction (decision record 18): `serve` on a
# fresh data dir with the sandbox answering in 300 ms, 40 emails launched, the campaign archived as
# soon as its first step is attempted; then what went out, the campaign's credits and `audit
# credits`. Every email that went out must be consumed and the audit clean.
#   scripts/archive_mid_send.sh [PORT]
set -u
cd "$(dirname "$0")/.."; port=${1:-8765}; data=$(mktemp -d /tmp/archive-mid-send.XXXX)
SANDBOX_DELAY_MS=300 .venv/bin/campaign-service serve --data-dir "$data" --port $port > "$data/serve.log" 2>&1 &
pid=$!
for i in $(seq 1 120); do curl -sf localhost:$port/readyz >/dev/null && break; sleep 1; done
OUT=$(.venv/bin/campaign-service brand create Acme --plan basic --data-dir "$data")
KEY=$(echo "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
BRAND_ID=$(echo "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["brand_id"])')
H="Authorization: Bearer $KEY"; J='content-type: application/json'
GROUP=$(curl -s -H "$H" -H "$J" -X POST localhost:$port/v1/lead-groups -d '{"name":"Leads"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
CONTACTS=$(python3 -c 'import json; print(json.dumps({"contacts":[{"email":f"p{i}@example.com"} for i in range(40)]}))')
curl -s -H "$H" -H "$J" -X POST localhost:$port/v1/lead-groups/$GROUP/contacts -d "$CONTACTS" >/dev/null
curl -s -H "$H" -H "$J" -X POST localhost:$port/v1/sender-accounts -d '{"channel":"email","provider":"sandbox","address":"sales@acme.example","daily_limit":1000}' >/dev/null
C=$(curl -s -H "$H" -H "$J" -X POST localhost:$port/v1/campaign/ -d '{"name":"Q4","lead_group_ids":["'$GROUP'"],"steps":[{"type":"EMAIL","group":0,"subject":"Hi","body":"Hello"}]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -s -H "$H" -X POST localhost:$port/v1/campaign/$C/launch; echo
for i in $(seq 1 400); do
  n=$(curl -s -H "$H" "localhost:$port/v1/campaign/$C/events?limit=500" | python3 -c 'import json,sys
try: print(sum(e["type"] == "StepAttempted" for e in json.load(sys.stdin)["items"]))
except (ValueError, KeyError): print(0)  # a 429 while polling, or an answer cut short')
  [ "$n" -gt 0 ] && break; sleep 0.1
done
curl -s -H "$H" -X POST localhost:$port/v1/campaign/$C/archive; echo
sleep 20
echo "outbox: $(curl -s -H "$H" "localhost:$port/v1/sandbox/outbox?campaign_id=$C&limit=500" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')"
curl -s -H "$H" localhost:$port/v1/campaign/$C | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["credits"], d["metrics"]["sent"])'
curl -s -H "$H" localhost:$port/v1/credits; echo
.venv/bin/campaign-service audit credits --brand "$BRAND_ID" --data-dir "$data" --format json > "$data/audit.json"; echo "audit exit: $?"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print({k: d[k] for k in d if k in ("violations","notes")})' "$data/audit.json"
kill $pid; wait $pid 2>/dev/null
rm -rf "$data"
