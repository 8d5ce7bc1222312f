#!/usr/bin/env bash
# The cost of encryption at rest: PutRecords against two streams of one server in the same run,
# one plain and one encrypted with StartStreamEncryption (a KMS key of the server's own KMS),
# alternating rounds so that load from elsewhere on the machine hits both alike; 500 x 100 B and
# 100 x 10 KiB records. Prints records/s and the server's CPU time per request (utime + stime
# from /proc) of every round, and the encrypted/plain ratios of the medians.
#   bench/encryption/run.sh [BUILD_DIR] [ROUNDS] [SECONDS]
set -euo pipefail
build="${1:-build}"
rounds="${2:-3}"
secs="${3:-6}"
bin="$build/src/server/sluice"
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin" serve --bind 127.0.0.1 --port "$port" --data-dir "$dir/data" >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
endpoint="http://127.0.0.1:$port"
for s in plain enc; do
  "$bin" bench --endpoint "$endpoint" --stream "$s" --create --shards 4 --workload put-record \
    --duration 100ms --json --quiet >/dev/null
done
python3 - "$endpoint" <<'PY'
import sys, boto3
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="bench",
          aws_secret_access_key="bench")
key = boto3.client("kms", **kw).create_key(Description="bench")["KeyMetadata"]["KeyId"]
boto3.client("kinesis", **kw).start_stream_encryption(StreamName="enc", EncryptionType="KMS",
                                                      KeyId=key)
PY
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
run() { # stream workload round
  local before
  before="$(cpu_ticks)"
  "$bin" bench --endpoint "$endpoint" --stream "$1" --workload "$2" --duration "${secs}s" \
    --warmup 1s --json --quiet >"$dir/$1.$2.$3.json"
  echo $(($(cpu_ticks) - before)) >"$dir/$1.$2.$3.cpu"
}
for r in $(seq "$rounds"); do
  for w in put-records put-records-10k; do
    run plain "$w" "$r"
    run enc "$w" "$r"
  done
done
python3 - "$dir" "$rounds" "$(getconf CLK_TCK)" <<'PY'
import json, statistics, sys
d, rounds, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for w in ("put-records", "put-records-10k"):
    res = {}
    for s in ("plain", "enc"):
        res[s] = []
        for r in range(1, rounds + 1):
            j = json.load(open(f"{d}/{s}.{w}.{r}.json"))
            ticks = int(open(f"{d}/{s}.{w}.{r}.cpu").read())
            j["cpu_us"] = ticks / hz * 1e6 / max(1, j["requests"]) * j["seconds"] / (j["seconds"] + 1.0)
            res[s].append(j)
            print(f"{w:15} {s:5} round {r}: {j['records_per_s']:>10.0f} records/s  "
                  f"server CPU {j['cpu_us']:.0f} us/request  errors {j.get('errors_total', 0)}")
    med = {s: statistics.median(x["records_per_s"] for x in res[s]) for s in res}
    cpu = {s: statistics.median(x["cpu_us"] for x in res[s]) for s in res}
    print(f"{w}: median records/s plain {med['plain']:.0f}, encrypted {med['enc']:.0f} "
          f"(x{med['enc'] / med['plain']:.3f}); CPU/request plain {cpu['plain']:.0f} us, "
          f"encrypted {cpu['enc']:.0f} us (x{cpu['enc'] / cpu['plain']:.3f})")
PY
