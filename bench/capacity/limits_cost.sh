#!/usr/bin/env bash
# bench/capacity/limits_cost.sh [BUILD_DIR]: the cost of throughput-limit accounting (issue 19).
# Starts `sluice serve` twice per round on loopback - limits off, then limits on with rates so
# high that nothing is throttled (every record still takes from its shard's buckets) - and drives
# each with `sluice bench` (16 shards, 16 connections, 5 s), alternating 3 rounds per workload.
# Reports records/s and the server's CPU time per record, read from /proc: CPU per record moves
# less than throughput when other work shares the machine. Stops what it started, by PID.
set -euo pipefail
build=${1:-build}
bin="$build/src/server/sluice"
[ -x "$bin" ] || { echo "no $bin: build first" >&2; exit 2; }
high=(--throughput-limits aws --shard-write-records-per-s 1000000000
      --shard-write-bytes-per-s 1099511627776)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # label workload server-args...
  local label=$1 wl=$2; shift 2
  local dir port pid
  dir=$(mktemp -d /tmp/sluice-limits-cost.XXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin" serve --port "$port" --data-dir "$dir/data" "$@" >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.05; done
  "$bin" bench --endpoint "http://127.0.0.1:$port" --create --shards 16 --workload "$wl" \
    --connections 16 --duration 1s >/dev/null 2>&1
  local c0 c1 js
  c0=$(cpu_ticks "$pid")
  js=$("$bin" bench --endpoint "http://127.0.0.1:$port" --workload "$wl" --connections 16 \
    --duration 5s --json 2>/dev/null)
  c1=$(cpu_ticks "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  python3 - "$label" "$wl" "$js" "$c0" "$c1" <<'PY'
import json, os, sys
label, wl, js, c0, c1 = sys.argv[1:]
d = json.loads(js)
cpu_s = (int(c1) - int(c0)) / os.sysconf("SC_CLK_TCK")
print("%-4s %-12s %10.0f records/s  server CPU %5.2f s  %7.3f us/record"
      % (label, wl, d["records_per_s"], cpu_s, cpu_s * 1e6 / max(d["records"], 1)))
PY
}
for wl in put-records put-record; do
  for _ in 1 2 3; do
    run off "$wl"
    run on "$wl" "${high[@]}"
  done
done
