#!/usr/bin/env bash
# Producer throughput, plain PutRecords vs KPL aggregation, 100-byte records, under the per-shard
# limiter (RateLimit 150%): starts a sluice server on a free loopback port with a scratch data
# directory, creates a 4-shard stream per run, runs bench_producer (plain; aggregated with unique
# keys; aggregated with 256 keys), stops the server.
#   bench/producer/run.sh [BUILD_DIR] [RECORDS]
set -euo pipefail
build="${1:-build}"
records="${2:-200000}"
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$build/src/server/sluice" serve --bind 127.0.0.1 --port "$port" --data-dir "$dir/data" \
  --create-stream-ms 0 >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
ep="http://127.0.0.1:$port"
for _ in $(seq 100); do "$build/src/server/sluice" ls --endpoint-url "$ep" >/dev/null 2>&1 && break; sleep 0.1; done
"$build/src/server/sluice" create --endpoint-url "$ep" --stream-name plain --shard-count 4
"$build/src/server/sluice" create --endpoint-url "$ep" --stream-name agg --shard-count 4
"$build/src/server/sluice" create --endpoint-url "$ep" --stream-name agg256 --shard-count 4
"$build/bench/producer/bench_producer" "$ep" plain --records $((records / 10)) --plain
# every record its own partition key (the key table grows with each), then 256 keys in turn
"$build/bench/producer/bench_producer" "$ep" agg --records "$records"
"$build/bench/producer/bench_producer" "$ep" agg256 --records "$records" --keys 256
