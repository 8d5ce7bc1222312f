#!/usr/bin/env bash
# The cost of the metrics registry: PutRecords 500 x 100 B against two servers in the same run, one
# built as usual and one built with -DSL_METRICS=OFF (every counting call compiled to nothing),
# alternating rounds so that load from elsewhere on the machine hits both alike. Prints
# records/s, p50/p99 and the server's CPU time per request of every round, and the on/off ratios
# of the medians. Both servers are scraped once at the end: the "on" one must have counted every
# record it stored, the "off" one nothing.
#   bench/metrics/run.sh BUILD_ON BUILD_OFF [ROUNDS] [SECONDS]
#   e.g. cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake -S . -B build-off \
#          -DCMAKE_BUILD_TYPE=Release -DSL_METRICS=OFF, both built, then
#        bench/metrics/run.sh build-rel build-off 5 8
set -euo pipefail
on_build="${1:?BUILD_ON}"
off_build="${2:?BUILD_OFF}"
rounds="${3:-3}"
secs="${4:-8}"
dir="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p_on="$(free_port)"
p_off="$(free_port)"
"$on_build/src/server/sluice" serve --bind 127.0.0.1 --port "$p_on" --data-dir "$dir/on" \
  >"$dir/on.log" 2>&1 &
pid_on=$!
"$off_build/src/server/sluice" serve --bind 127.0.0.1 --port "$p_off" --data-dir "$dir/off" \
  >"$dir/off.log" 2>&1 &
pid_off=$!
trap 'kill "$pid_on" "$pid_off" 2>/dev/null; wait "$pid_on" "$pid_off" 2>/dev/null; rm -rf "$dir"' EXIT
for port in "$p_on" "$p_off"; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # mode port round -> one JSON report and the server's CPU ticks during it
  local pid=$pid_on bin="$on_build/src/server/sluice"
  [ "$1" = off ] && pid=$pid_off && bin="$off_build/src/server/sluice"
  local before
  before="$(cpu_ticks "$pid")"
  "$bin" bench --endpoint "http://127.0.0.1:$2" --workload put-records --batch 500 \
    --record-size 100 --create --shards 4 --duration "${secs}s" --warmup 1s --json --quiet \
    >"$dir/$1.$3.json"
  echo $(($(cpu_ticks "$pid") - before)) >"$dir/$1.$3.cpu"
}
for r in $(seq "$rounds"); do
  run on "$p_on" "$r"
  run off "$p_off" "$r"
done
curl -s "http://127.0.0.1:$p_on/metrics" | grep -c '^sluice_kinesis_incoming_records_total' \
  >"$dir/on.series" || true
curl -s "http://127.0.0.1:$p_off/metrics" | grep -c '^sluice_kinesis_incoming_records_total' \
  >"$dir/off.series" || true
python3 - "$dir" "$rounds" "$(getconf CLK_TCK)" <<'PY'
import json, statistics, sys
d, rounds, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
res = {}
for mode in ("on", "off"):
    res[mode] = []
    for r in range(1, rounds + 1):
        j = json.load(open(f"{d}/{mode}.{r}.json"))
        ticks = int(open(f"{d}/{mode}.{r}.cpu").read())
        j["cpu_us_per_request"] = ticks / hz * 1e6 / max(1, j["requests"]) * j["seconds"] / (
            j["seconds"] + 1.0)
        res[mode].append(j)
        lat = j.get("latency_ms", {})
        print(f"{mode:3} round {r}: {j['records_per_s']:>10.0f} records/s  p50 {lat.get('p50')} ms"
              f"  p99 {lat.get('p99')} ms  server CPU {j['cpu_us_per_request']:.0f} us/request"
              f"  errors {j.get('errors_total', 0)}")
med = {m: statistics.median(x["records_per_s"] for x in res[m]) for m in res}
cpu = {m: statistics.median(x["cpu_us_per_request"] for x in res[m]) for m in res}
print(f"median records/s: on {med['on']:.0f}, off {med['off']:.0f}, on/off = {med['on'] / med['off']:.3f}")
print(f"median server CPU per request: on {cpu['on']:.0f} us, off {cpu['off']:.0f} us, "
      f"on/off = {cpu['on'] / cpu['off']:.3f}")
print("incoming_records series on /metrics: on %s, off %s" % (
    open(f"{d}/on.series").read().strip(), open(f"{d}/off.series").read().strip()))
PY
