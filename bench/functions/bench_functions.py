#!/usr/bin/env python3
"""Invocation throughput and latency of a no-op Lambda function on Sluice (docs/functions.md).

Starts `sluice serve` on a free loopback port with a fresh data directory, deploys a no-op function
for each runtime measured (provided.al2023 twice: AWS's bash+curl tutorial bootstrap, and a
python3 bootstrap that keeps one connection), and reports, per runtime:
  warm: invocations/s and p50/p99 latency of back-to-back RequestResponse invocations over one
        keep-alive connection per client thread (--clients), after a warm-up;
  cold: p50/p99 latency of the first invocation after UpdateFunctionConfiguration (which retires
        the warm environment, so each measured call starts a new process).
Requests are SigV4-signed with botocore's signer on a plain http.client connection, so the client
costs little next to the server. Usage:
  bench/functions/bench_functions.py [--sluice build/src/server/sluice] [--seconds 5] [--clients 1]
"""

import argparse
import http.client
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CREDS = Credentials("AKIDEXAMPLE", "secret")

BOOTSTRAP = """#!/bin/bash
set -euo pipefail
while true
do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  rm -f "$HEADERS"
  curl -sS "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" -d '{}' >/dev/null
done
"""

# A custom runtime whose loop costs little (one keep-alive connection, no process per call), so
# that the numbers show the server rather than curl's start-up.
BOOTSTRAP_PY = """#!/usr/bin/python3
import http.client, os
host_port, _, token = os.environ["AWS_LAMBDA_RUNTIME_API"].partition("/")
host, _, port = host_port.rpartition(":")
base = "/" + token + "/2018-06-01/runtime/invocation/"
conn = http.client.HTTPConnection(host, int(port))
while True:
    conn.request("GET", base + "next")
    res = conn.getresponse()
    res.read()
    rid = res.getheader("Lambda-Runtime-Aws-Request-Id")
    conn.request("POST", base + rid + "/response", body=b"{}")
    conn.getresponse().read()
"""

RUNTIMES = {
    "provided.al2023": ("function.handler", {"bootstrap": (BOOTSTRAP, 0o755)}),
    "provided.al2023+py": ("function.handler", {"bootstrap": (BOOTSTRAP_PY, 0o755)}),
    "nodejs20.x": ("index.handler", {"index.mjs": ("export const handler = async () => ({});\n",
                                                   0o644)}),
    "python3.12": ("app.handler", {"app.py": ("def handler(event, context):\n    return {}\n",
                                              0o644)}),
}


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, (text, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3
            z.writestr(info, text)
    return buf.getvalue()


class Api:
    """One keep-alive connection, SigV4-signed requests."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port)

    def call(self, method, path, body=b"", headers=None):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
        SigV4Auth(CREDS, "lambda", "us-east-1").add_auth(req)
        self.conn.request(method, path, body=body, headers=dict(req.headers.items()))
        res = self.conn.getresponse()
        data = res.read()
        return res.status, data


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))] if s else float("nan")


def wait_active(api, name):
    for _ in range(200):
        status, data = api.call("GET", "/2015-03-31/functions/%s/configuration" % name)
        if status == 200 and json.loads(data)["State"] == "Active":
            return
        time.sleep(0.01)
    raise RuntimeError("function %s never became Active" % name)


def bench_runtime(port, runtime, seconds, clients, cold_rounds):
    handler, files = RUNTIMES[runtime]
    name = "bench-" + runtime.replace(".", "-").replace("+", "-")
    api = Api(port)
    body = json.dumps({"FunctionName": name, "Runtime": runtime.split("+")[0], "Handler": handler,
                       "Role": "arn:aws:iam::000000000000:role/bench", "Timeout": 30,
                       "Code": {"ZipFile": __import__("base64").b64encode(make_zip(files))
                                .decode()}}).encode()
    status, data = api.call("POST", "/2015-03-31/functions", body,
                            {"Content-Type": "application/json"})
    assert status == 201, data
    wait_active(api, name)
    path = "/2015-03-31/functions/%s/invocations" % name

    # cold: each configuration change retires the environment
    cold = []
    for i in range(cold_rounds):
        cfg = json.dumps({"Environment": {"Variables": {"ROUND": str(i)}}}).encode()
        status, data = api.call("PUT", "/2015-03-31/functions/%s/configuration" % name, cfg,
                                {"Content-Type": "application/json"})
        assert status == 200, data
        t0 = time.perf_counter()
        status, data = api.call("POST", path, b"{}")
        cold.append((time.perf_counter() - t0) * 1000)
        assert status == 200 and data == b"{}", (status, data)

    # warm
    latencies = [[] for _ in range(clients)]
    stop = time.monotonic() + seconds

    def worker(k):
        a = Api(port)
        for _ in range(20):  # warm-up (and one environment per client)
            a.call("POST", path, b"{}")
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            status, _ = a.call("POST", path, b"{}")
            latencies[k].append((time.perf_counter() - t0) * 1000)
            assert status == 200

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    warm = [x for lst in latencies for x in lst]
    return {
        "runtime": runtime, "clients": clients,
        "warm_invocations_per_s": len(warm) / max(elapsed - 0.0, 1e-9),
        "warm_p50_ms": percentile(warm, 0.50), "warm_p99_ms": percentile(warm, 0.99),
        "cold_p50_ms": percentile(cold, 0.50), "cold_p99_ms": percentile(cold, 0.99),
        "cold_rounds": len(cold), "warm_invocations": len(warm),
    }


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sluice", default=os.path.join(ROOT, "build/src/server/sluice"))
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--cold-rounds", type=int, default=20)
    ap.add_argument("--runtimes",
                    default="provided.al2023,provided.al2023+py,nodejs20.x,python3.12")
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="sluice-bench-fn-")
    port = free_port()
    proc = subprocess.Popen([args.sluice, "serve", "--port", str(port), "--data-dir", data,
                             "--durability", "none", "--functions-concurrency", "64"],
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.01)
        print("| runtime | clients | warm inv/s | warm p50 ms | warm p99 ms | cold p50 ms | "
              "cold p99 ms |")
        print("|---|---|---|---|---|---|---|")
        for rt in args.runtimes.split(","):
            r = bench_runtime(port, rt, args.seconds, args.clients, args.cold_rounds)
            print("| %s | %d | %.0f | %.2f | %.2f | %.1f | %.1f |" % (
                rt, r["clients"], r["warm_invocations_per_s"], r["warm_p50_ms"],
                r["warm_p99_ms"], r["cold_p50_ms"], r["cold_p99_ms"]))
            sys.stdout.flush()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
