#!/usr/bin/env python3
"""Firehose end to end: PutRecordBatch -> delivered objects in Sluice's object store.

Starts a `sluice serve` on loopback (SLUICE_BIN, default build/src/server/sluice) with its data
directory under --dir, then:
  - throughput: C concurrent boto3 clients send N PutRecordBatch calls of 500 records of R bytes
    (every answer means the records are fsync'd in the delivery stream's buffer) to a delivery
    stream with BufferingHints 5 MiB / 0 s; the clock stops when the objects in the bucket hold
    every byte. Prints records/s and MB/s of the puts alone and end to end.
  - latency: one PutRecord, then the time until its object is listed, at IntervalInSeconds 0
    (median of --samples) and 60 (one sample; it takes a minute).
  - --encryption AWS_OWNED_CMK | CUSTOMER_MANAGED_CMK: the throughput delivery stream seals its
    buffered records at rest (a KMS key is created for CUSTOMER_MANAGED_CMK), to compare with a
    run without it.
Run by hand: python3 bench/firehose/fh_bench.py [--dir /path] [--batches 200] [--clients 4]
"""
import argparse
import statistics
import sys
import tempfile
import multiprocessing
import time
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "conformance"))
from helpers import REGION, SECRET_KEY, SluiceServer  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/bench"


def clients(srv):
    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE",
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    cfg = Config(retries={"total_max_attempts": 1}, read_timeout=300, max_pool_connections=32)
    return (session.client("firehose", endpoint_url=srv.endpoint, config=cfg),
            session.client("s3", endpoint_url=srv.endpoint, config=cfg))


def bucket_bytes(s3, bucket, prefix=""):
    total, keys = 0, 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            total += o["Size"]
            keys += 1
    return total, keys


def create(fh, name, bucket, interval, prefix, encryption=None):
    extra = {"DeliveryStreamEncryptionConfigurationInput": encryption} if encryption else {}
    fh.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::" + bucket, "Prefix": prefix,
        "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": interval}}, **extra)


def put_batches(endpoint, n, record_bytes):
    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE",
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    c = session.client("firehose", endpoint_url=endpoint,
                       config=Config(retries={"total_max_attempts": 1}, read_timeout=300))
    records = [{"Data": b"x" * (record_bytes - 1) + b"\n"}] * 500
    failed = 0
    for _ in range(n):
        failed += c.put_record_batch(DeliveryStreamName="tput", Records=records)["FailedPutCount"]
    return failed


def throughput(srv, batches, conc, record_bytes, key_type=None):
    fh, s3 = clients(srv)
    s3.create_bucket(Bucket="tput")
    encryption = None
    if key_type == "AWS_OWNED_CMK":
        encryption = {"KeyType": key_type}
    elif key_type:
        kms = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE",
                                    aws_secret_access_key=SECRET_KEY,
                                    region_name=REGION).client("kms", endpoint_url=srv.endpoint)
        encryption = {"KeyType": key_type, "KeyARN": kms.create_key()["KeyMetadata"]["Arn"]}
    create(fh, "tput", "tput", 0, "t/", encryption)
    per = [batches // conc + (1 if i < batches % conc else 0) for i in range(conc)]
    total = batches * 500 * record_bytes
    t0 = time.monotonic()
    # one process per client: boto3's base64 and JSON of 500 KB bodies would serialize on the GIL
    with multiprocessing.Pool(conc) as pool:
        errors = pool.starmap(put_batches, [(srv.endpoint, n, record_bytes) for n in per])
    t_put = time.monotonic() - t0
    while bucket_bytes(s3, "tput", "t/")[0] < total:
        time.sleep(0.02)
    t_all = time.monotonic() - t0
    n = batches * 500
    objects = bucket_bytes(s3, "tput", "t/")[1]
    print("throughput: %d records of %d B (%.1f MB) by %d clients, %d failed, encryption %s" %
          (n, record_bytes, total / 1e6, conc, sum(errors), key_type or "off"))
    print("  puts acknowledged:  %8.0f records/s  %7.1f MB/s  (%.2f s)" %
          (n / t_put, total / 1e6 / t_put, t_put))
    print("  delivered (all):    %8.0f records/s  %7.1f MB/s  (%.2f s, %d objects)" %
          (n / t_all, total / 1e6 / t_all, t_all, objects))


def latency(srv, interval, samples):
    fh, s3 = clients(srv)
    bucket = "lat%d" % interval
    s3.create_bucket(Bucket=bucket)
    name = "lat%d" % interval
    create(fh, name, bucket, interval, "l/")
    out = []
    for i in range(samples):
        before = bucket_bytes(s3, bucket)[1]
        t0 = time.monotonic()
        fh.put_record(DeliveryStreamName=name, Record={"Data": b"ping\n"})
        while bucket_bytes(s3, bucket)[1] == before:
            time.sleep(0.005)
        out.append((time.monotonic() - t0) * 1000)
    print("latency, IntervalInSeconds %d: median %.0f ms, min %.0f, max %.0f (%d samples)" %
          (interval, statistics.median(out), min(out), max(out), samples))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=None)
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--record-bytes", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--skip-60", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--encryption", choices=["AWS_OWNED_CMK", "CUSTOMER_MANAGED_CMK"])
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fh-bench-", dir=a.dir)
    srv = SluiceServer(data_dir=Path(tmp) / "data")
    srv.start()
    try:
        throughput(srv, a.batches, a.clients, a.record_bytes, a.encryption)
        if not a.skip_latency:
            latency(srv, 0, a.samples)
        if not a.skip_60 and not a.skip_latency:
            latency(srv, 60, 1)
    finally:
        srv.stop()
        srv.cleanup()


if __name__ == "__main__":
    main()
