#!/usr/bin/env python3
"""PutObject / GetObject throughput of Sluice's object store against the disk's own limits.

Starts a `sluice serve` on loopback (SLUICE_BIN, default build/src/server/sluice) with its data
directory under --dir (the disk measured), then:
  - disk:  sequential write of 256 MiB in 8 MiB blocks with an fdatasync per block (what a
           durable PutObject of 8 MiB costs at best), and a read of the same file;
  - put:   PutObject of N objects of each size by C concurrent boto3 clients (every answer means
           the object is fsync'd);
  - get:   GetObject of the same objects (whole-object reads with the CRC32C check).
Prints MB/s per row. Run by hand: python3 bench/objstore/s3_bench.py [--dir /path] [--total-mib 256]
"""
import argparse
import hashlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "conformance"))
from helpers import REGION, SECRET_KEY, SluiceServer  # noqa: E402

MIB = 1024 * 1024


def client(srv):
    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE",
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    return session.client("s3", endpoint_url=srv.endpoint, config=Config(
        retries={"total_max_attempts": 1}, read_timeout=300, max_pool_connections=16,
        s3={"addressing_style": "path", "payload_signing_enabled": False}))


def disk_row(directory, total):
    path = Path(directory) / "disk-bench.bin"
    block = os.urandom(8 * MIB)
    t0 = time.monotonic()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for _ in range(total // len(block)):
        os.write(fd, block)
        os.fdatasync(fd)
    os.close(fd)
    write = total / MIB / (time.monotonic() - t0)
    t0 = time.monotonic()
    with open(path, "rb") as f:
        while f.read(8 * MIB):
            pass
    read = total / MIB / (time.monotonic() - t0)
    path.unlink()
    return write, read


def run_parallel(fn, items, concurrency):
    items = list(items)
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                if not items:
                    return
                item = items.pop()
            fn(item)

    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=None, help="directory on the disk to measure")
    ap.add_argument("--total-mib", type=int, default=256)
    args = ap.parse_args()
    base = Path(args.dir or tempfile.mkdtemp(prefix="s3bench-"))
    base.mkdir(parents=True, exist_ok=True)
    total = args.total_mib * MIB
    dw, dr = disk_row(base, total)
    print("%-34s %10s" % ("row", "MB/s"))
    print("%-34s %10.0f" % ("disk write (8 MiB + fdatasync)", dw))
    print("%-34s %10.0f" % ("disk read (page cache)", dr))
    srv = SluiceServer(data_dir=base / "data")
    srv.start()
    try:
        clients = [client(srv) for _ in range(8)]
        clients[0].create_bucket(Bucket="bench")
        for size_mib, conc in [(1, 1), (1, 4), (8, 1), (8, 4)]:
            size = size_mib * MIB
            count = max(4, total // size)
            data = os.urandom(size)
            keys = ["o/%d/%d/%d" % (size_mib, conc, i) for i in range(count)]
            local = threading.local()
            ids = iter(range(1000))

            def c():
                if not hasattr(local, "c"):
                    local.c = clients[next(ids) % len(clients)]
                return local.c

            secs = run_parallel(lambda k: c().put_object(Bucket="bench", Key=k, Body=data),
                                keys, conc)
            print("%-34s %10.0f" % ("PutObject %d MiB x%d" % (size_mib, conc),
                                    count * size / MIB / secs))
            want = hashlib.md5(data).hexdigest()

            def get(k):
                body = c().get_object(Bucket="bench", Key=k)["Body"].read()
                assert len(body) == size and hashlib.md5(body).hexdigest() == want

            secs = run_parallel(get, keys, conc)
            print("%-34s %10.0f" % ("GetObject %d MiB x%d" % (size_mib, conc),
                                    count * size / MIB / secs))
    finally:
        srv.stop()
        srv.cleanup()


if __name__ == "__main__":
    main()
