#!/usr/bin/env bash
# The cost of SigV4 verification: PutRecords 500 x 100 B against two servers of the same build in
# the same run, one with --auth open and one with --auth sigv4 (credentials file holding the
# bench's key), alternating rounds so that load from elsewhere on the machine hits both alike.
# Prints records/s, p50/p99 and the server's CPU time per request (utime + stime from /proc, which
# load from elsewhere on the machine disturbs much less than throughput) of every round, and the
# sigv4/open ratios of the medians.
#   bench/auth/run.sh [BUILD_DIR] [ROUNDS] [SECONDS]
set -euo pipefail
build="${1:-build}"
rounds="${2:-3}"
secs="${3:-8}"
bin="$build/src/server/sluice"
dir="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
key=AKIABENCH00000EXAMPLE
secret=bench/secret+key0123456789abcdefghijklmn
printf '[bench]\naws_access_key_id = %s\naws_secret_access_key = %s\nadmin = true\n' \
  "$key" "$secret" >"$dir/credentials"
p_open="$(free_port)"
p_sig="$(free_port)"
"$bin" serve --bind 127.0.0.1 --port "$p_open" --data-dir "$dir/open" --auth open \
  >"$dir/open.log" 2>&1 &
pid_open=$!
"$bin" serve --bind 127.0.0.1 --port "$p_sig" --data-dir "$dir/sigv4" --auth sigv4 \
  --credentials "$dir/credentials" >"$dir/sigv4.log" 2>&1 &
pid_sig=$!
trap 'kill "$pid_open" "$pid_sig" 2>/dev/null; wait "$pid_open" "$pid_sig" 2>/dev/null; rm -rf "$dir"' EXIT
for port in "$p_open" "$p_sig"; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # mode port round -> one JSON report and the server's CPU ticks during it
  local pid=$pid_open
  [ "$1" = sigv4 ] && pid=$pid_sig
  local before
  before="$(cpu_ticks "$pid")"
  "$bin" bench --endpoint "http://127.0.0.1:$2" --workload put-records --batch 500 \
    --record-size 100 --create --shards 4 --duration "${secs}s" --warmup 1s --json --quiet \
    --access-key "$key" --secret-key "$secret" >"$dir/$1.$3.json"
  echo $(($(cpu_ticks "$pid") - before)) >"$dir/$1.$3.cpu"
}
for r in $(seq "$rounds"); do
  run open "$p_open" "$r"
  run sigv4 "$p_sig" "$r"
done
python3 - "$dir" "$rounds" "$(getconf CLK_TCK)" <<'PY'
import json, statistics, sys
d, rounds, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
res = {}
for mode in ("open", "sigv4"):
    res[mode] = []
    for r in range(1, rounds + 1):
        j = json.load(open(f"{d}/{mode}.{r}.json"))
        ticks = int(open(f"{d}/{mode}.{r}.cpu").read())
        # the warmup's requests are not in the report: scale by the measured share of the run
        j["cpu_us_per_request"] = ticks / hz * 1e6 / max(1, j["requests"]) * j["seconds"] / (
            j["seconds"] + 1.0)
        res[mode].append(j)
        lat = j.get("latency_ms", {})
        print(f"{mode:5} round {r}: {j['records_per_s']:>10.0f} records/s  p50 {lat.get('p50')} ms"
              f"  p99 {lat.get('p99')} ms  server CPU {j['cpu_us_per_request']:.0f} us/request"
              f"  errors {j.get('errors_total', 0)}")
med = {m: statistics.median(x["records_per_s"] for x in res[m]) for m in res}
cpu = {m: statistics.median(x["cpu_us_per_request"] for x in res[m]) for m in res}
print(f"median records/s: open {med['open']:.0f}, sigv4 {med['sigv4']:.0f}, "
      f"sigv4/open = {med['sigv4'] / med['open']:.3f}")
print(f"median server CPU per request: open {cpu['open']:.0f} us, sigv4 {cpu['sigv4']:.0f} us, "
      f"sigv4/open = {cpu['sigv4'] / cpu['open']:.3f}")
PY
