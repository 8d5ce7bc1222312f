#!/usr/bin/env python3
"""Event-source mapping throughput and latency on Sluice (docs/event-source-mappings.md).

Starts `sluice serve` on a free loopback port with a fresh data directory and deploys a Node
function that does nothing but note, per invocation, how many records it got and how long each
took from the producer's clock (the record's data holds the time it was put) to the handler.
  throughput: --records records are put into a stream of --shards shards first, then a mapping
              (TRIM_HORIZON) is created with BatchSize 100 and then 1,000; records/s = records /
              the time from the mapping's creation to the last record's delivery.
  latency:    a mapping at BatchSize 100 on an empty stream, then --rate records/s put for
              --seconds (PutRecords of 10 every 10 ms); p50/p99 of put -> function.
The function's process is warmed by one record before the latency run; the throughput runs report
records/s in the steady state (first to last invocation, handler's clock) and from the mapping's
creation (cold start included).
Usage: bench/esm/bench_esm.py [--sluice build/src/server/sluice] [--records 200000] [--shards 2]
"""

import argparse
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HANDLER = r"""
import fs from 'node:fs';
export const handler = async (event) => {
  const now = Date.now();
  const recs = event.Records || [];
  let lat = '';
  if (process.env.LATENCY === '1')
    for (const r of recs) lat += ' ' + (now - Number(Buffer.from(r.kinesis.data, 'base64').toString()));
  fs.appendFileSync(process.env.OUT, recs.length + ' ' + now + lat + '\n');
  return {};
};
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zip_of(text):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.mjs", text)
    return buf.getvalue()


def clients(endpoint):
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
              aws_secret_access_key="secret",
              config=Config(retries={"max_attempts": 5, "mode": "standard"}, read_timeout=120))
    return boto3.client("lambda", **kw), boto3.client("kinesis", **kw)


def wait(pred, timeout, what):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise SystemExit("timed out: " + what)
        time.sleep(0.005)


def lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def delivered(path):
    return sum(int(l.split()[0]) for l in lines(path) if l)


def stream(kin, name, shards):
    kin.create_stream(StreamName=name, ShardCount=shards)
    wait(lambda: kin.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
        "StreamStatus"] == "ACTIVE", 30, "stream")
    return kin.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def function(lam, name, out, latency):
    lam.create_function(FunctionName=name, Runtime="nodejs20.x", Handler="index.handler",
                        Role="arn:aws:iam::000000000000:role/r", Code={"ZipFile": zip_of(HANDLER)},
                        Environment={"Variables": {"OUT": out, "LATENCY": "1" if latency else "0"}},
                        Timeout=60, MemorySize=512)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def throughput(lam, kin, tmp, batch, records, shards):
    name = "tp%d" % batch
    arn = stream(kin, name, shards)
    payload = b"x" * 100
    for i in range(0, records, 500):
        entries = [{"Data": payload, "PartitionKey": "k%d" % (i + j)} for j in range(500)]
        assert kin.put_records(StreamName=name, Records=entries)["FailedRecordCount"] == 0
    out = os.path.join(tmp, name + ".txt")
    function(lam, name, out, False)
    start = time.monotonic()
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                           StartingPosition="TRIM_HORIZON",
                                           BatchSize=batch)["UUID"]
    wait(lambda: delivered(out) >= records, 600, "delivery")
    elapsed = time.monotonic() - start
    calls = [l.split() for l in lines(out)]
    lam.delete_event_source_mapping(UUID=uuid)
    # steady state: from the first invocation's start to the last one's, without the first
    # batch (the function's cold start and the mapping's start are outside)
    first = min(int(c[1]) for c in calls)
    last = max(int(c[1]) for c in calls)
    steady = (records - int(min(calls, key=lambda c: int(c[1]))[0])) / max(last - first, 1) * 1000
    return records / elapsed, steady, len(calls)


def latency(lam, kin, tmp, rate, seconds):
    name = "lat"
    arn = stream(kin, name, 1)
    out = os.path.join(tmp, name + ".txt")
    function(lam, name, out, True)
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                           StartingPosition="LATEST", BatchSize=100)["UUID"]
    # warm: the function's environment started and the mapping's position resolved
    time.sleep(0.3)
    kin.put_record(StreamName=name, Data=str(int(time.time() * 1000)).encode(), PartitionKey="w")
    wait(lambda: delivered(out) >= 1, 30, "warm-up")
    with open(out, "w"):
        pass
    per = max(1, rate // 100)
    sent = 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        tick = time.monotonic()
        entries = [{"Data": str(int(time.time() * 1000)).encode(), "PartitionKey": "k%d" % j}
                   for j in range(per)]
        kin.put_records(StreamName=name, Records=entries)
        sent += per
        left = 0.01 - (time.monotonic() - tick)
        if left > 0:
            time.sleep(left)
    wait(lambda: delivered(out) >= sent, 60, "latency delivery")
    lat = sorted(int(x) for l in lines(out) for x in l.split()[2:])
    lam.delete_event_source_mapping(UUID=uuid)
    achieved = sent / (time.monotonic() - start)
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)], achieved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", default=os.path.join(ROOT, "build/src/server/sluice"))
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="sluice-esm-bench-")
    port = free_port()
    log = open(os.path.join(tmp, "server.log"), "wb")
    proc = subprocess.Popen([args.sluice, "serve", "--bind", "127.0.0.1", "--port", str(port),
                             "--data-dir", os.path.join(tmp, "data"), "--create-stream-ms", "0"],
                            stdout=log, stderr=log)
    try:
        wait(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 20, "server")
        lam, kin = clients("http://127.0.0.1:%d" % port)
        for batch in (100, 1000):
            rps, steady, inv = throughput(lam, kin, tmp, batch, args.records, args.shards)
            print("throughput BatchSize %5d: %7.0f records/s steady, %7.0f from the mapping's "
                  "creation (cold start included; %d records, %d shards, %d invocations)"
                  % (batch, steady, rps, args.records, args.shards, inv))
        p50, p99, achieved = latency(lam, kin, tmp, args.rate, args.seconds)
        print("latency put -> function at %.0f records/s: p50 %d ms, p99 %d ms"
              % (achieved, p50, p99))
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
