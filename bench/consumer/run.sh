#!/usr/bin/env bash
# Consumer throughput end to end, checkpoints at most once a second per shard: starts a sluice
# server on a free loopback port with a scratch data directory, loads a 4-shard stream with
# RECORDS 100-byte records (plain) and another with the same records KPL-aggregated, then runs a
# new application over each from TRIM_HORIZON until every record was processed:
#   - bench_consumer (libsluice, C processor): polling on plain and aggregated records, fan-out;
#   - `sluice consume --multilang` with an aws-kcl (node) processor, polling, plain records.
#   bench/consumer/run.sh [BUILD_DIR] [RECORDS]
set -euo pipefail
build="${1:-build}"
records="${2:-200000}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
sluice="$build/src/server/sluice"
"$sluice" serve --bind 127.0.0.1 --port "$port" --data-dir "$dir/data" --create-stream-ms 0 \
  --consumer-ms 0 >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
ep="http://127.0.0.1:$port"
for _ in $(seq 100); do "$sluice" ls --endpoint-url "$ep" >/dev/null 2>&1 && break; sleep 0.1; done
"$sluice" create --endpoint-url "$ep" --stream-name plain --shard-count 4
"$sluice" create --endpoint-url "$ep" --stream-name agg --shard-count 4
"$build/bench/producer/bench_producer" "$ep" plain --records "$records" --plain --rate-limit 100000 >/dev/null
"$build/bench/producer/bench_producer" "$ep" agg --records "$records" --rate-limit 100000 >/dev/null
echo "== $records records of 100 B, 4 shards, checkpoints every second per shard"
echo -n "plain       "; "$build/bench/consumer/bench_consumer" "$ep" plain app-poll --records "$records"
echo -n "aggregated  "; "$build/bench/consumer/bench_consumer" "$ep" agg app-agg --records "$records"
echo -n "plain       "; "$build/bench/consumer/bench_consumer" "$ep" plain app-efo --records "$records" --fan-out
# The multilang leg: time until the processors counted every record.
log="$dir/multilang.log"
: >"$log"
start=$(date +%s.%N)
BENCH_LOG="$log" AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret "$sluice" consume \
  --endpoint-url "$ep" --stream-name plain --application-name app-ml \
  --multilang "node $here/processor.cjs" 2>"$dir/consume.log" &
cpid=$!
while :; do
  n=$(awk '{s += $1} END {print s + 0}' "$log")
  [ "$n" -ge "$records" ] && break
  kill -0 "$cpid" 2>/dev/null || { cat "$dir/consume.log"; exit 1; }
  sleep 0.05
done
end=$(date +%s.%N)
kill -TERM "$cpid"; wait "$cpid" || true
python3 -c "import sys; n, s = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print('multilang   node/aws-kcl records %d  seconds %.2f  records/s %.0f' % (n, s, n / s))" \
  "$n" "$start" "$end"
