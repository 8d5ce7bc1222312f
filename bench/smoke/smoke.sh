#!/usr/bin/env bash
# Smoke test of `sluice bench`: starts `sluice serve` on a free loopback port with a temporary data
# directory, runs short put-records (HTTP/1.1), put-record (HTTP/2), read and --target null runs, and
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
[ $fail = 0 ] && echo "4 passed, 0 failed" || { echo "bench smoke failed"; exit 1; }
