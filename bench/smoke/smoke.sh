#!/usr/bin/env bash
# Smoke test of `sluice bench`: starts `sluice serve` on a free loopback port with a temporary data
# directory, runs short put-records (HTTP/1.1), put-record (HTTP/2), read, read --fill-records
# (counts read back must equal those written) and --target null (put-records, read) runs, and
# checks each JSON report for 0 errors and > 0 records/s. Stops only the server it started (by PID).
set -euo pipefail
SLUICE=${1:?usage: smoke.sh path/to/sluice}
DIR=$(mktemp -d)
PID=
cleanup() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; rm -rf "$DIR"; }
trap cleanup EXIT
"$SLUICE" serve --port 0 --data-dir "$DIR/data" --threads 1 >"$DIR/server.log" 2>&1 &
PID=$!
PORT=
for _ in $(seq 100); do
  PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$DIR/server.log" | head -1 | cut -d: -f2 || true)
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { echo "server did not start"; cat "$DIR/server.log"; exit 1; }
E=http://127.0.0.1:$PORT
fail=0
check() { # name, json
  python3 - "$1" "$2" <<'PY' || fail=1
import json, sys
name, doc = sys.argv[1], json.loads(sys.argv[2])
rate = doc["records_per_s"]
ok = doc["errors_total"] == 0 and rate > 0
print(f"{'ok  ' if ok else 'FAIL'} {name}: {rate:.0f} records/s, {doc['errors_total']} errors {doc['errors']}")
sys.exit(0 if ok else 1)
PY
}
check "put-records http/1.1" "$("$SLUICE" bench --endpoint "$E" --stream smoke --create --shards 2 --workload put-records --batch 50 --connections 4 --duration 1s --json --quiet)"
check "put-record http/2" "$("$SLUICE" bench --endpoint "$E" --stream smoke --workload put-record --http 2 --connections 2 --depth 4 --duration 1s --json --quiet)"
check "read" "$("$SLUICE" bench --endpoint "$E" --stream smoke --workload read --connections 2 --duration 10s --json --quiet)"
check "null put-records" "$("$SLUICE" bench --target null --workload put-records --connections 2 --duration 0.5s --json --quiet)"
check "null read" "$("$SLUICE" bench --target null --workload read --record-size 1000 --connections 2 --duration 0.5s --json --quiet)"
# --fill: a fresh stream, 1000 x 10 KiB records written by the tool, read back and verified.
FILL=$("$SLUICE" bench --endpoint "$E" --stream smoke-fill --create --shards 2 --workload read --record-size 10240 \
       --fill-records 1000 --connections 4 --duration 20s --json --quiet) || fail=1
check "read --fill-records" "$FILL"
python3 - "$FILL" <<'PY' || fail=1
import json, sys
d = json.loads(sys.argv[1])
ok = d["verified"] is True and d["records"] == 1000 == d["fill_records"] and d["bytes"] == 1000 * 10240 == d["fill_bytes"]
print(f"{'ok  ' if ok else 'FAIL'} read --fill-records verified: {d['records']} records, {d['bytes']} bytes")
sys.exit(0 if ok else 1)
PY
[ $fail = 0 ] && echo "6 passed, 0 failed" || { echo "bench smoke failed"; exit 1; }
