"""Object-store crash test: acknowledged objects survive kill -9.

Writers upload objects (PutObject, overwrites of the same keys, and multipart uploads) to a real
`sluice serve` while the test kills it with SIGKILL at a random moment, restarts it on the same
data directory, and repeats. Then every object whose upload was acknowledged must be there with
exactly the bytes and ETag of its last acknowledged upload (or of a later one whose answer was
lost in the crash: an upload in flight may or may not have happened, but never half), listings
must show it, and no temp file of an unfinished write may be left behind.

Runs through tests/conformance/run.sh and uses the conformance suite's server wrapper."""
import hashlib
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from helpers import REGION, SECRET_KEY, SluiceServer, release_server  # noqa: E402

ROUNDS = int(os.environ.get("SLUICE_S3_CRASH_ROUNDS", "5"))
WRITERS = 3
KEYS = 40
BUCKET = "crash"
MIB = 1024 * 1024


def client(srv):
    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE",
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    return session.client("s3", endpoint_url=srv.endpoint, config=Config(
        retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=10,
        s3={"addressing_style": "path"}))


class Ledger:
    """Per key: the payload digests whose upload was acknowledged (last one last) and those sent
    whose answer never came."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}
        self.maybe = {}
        self.acks = 0  # acknowledged uploads, overwrites included

    def sent(self, key, digest):
        with self.lock:
            self.maybe.setdefault(key, set()).add(digest)

    def ack(self, key, digest):
        with self.lock:
            self.acked[key] = digest
            self.acks += 1


def writer(srv, ledger, stop, seed):
    rnd = random.Random(seed)
    s3 = client(srv)
    while not stop.is_set():
        key = "k/%03d" % rnd.randrange(KEYS)
        try:
            if rnd.random() < 0.1:
                parts = [os.urandom(5 * MIB), os.urandom(rnd.randrange(1, 100_000))]
                digest = hashlib.md5(b"".join(parts)).hexdigest()
                ledger.sent(key, digest)
                uid = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
                etags = [s3.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=i + 1,
                                        Body=p)["ETag"] for i, p in enumerate(parts)]
                s3.complete_multipart_upload(
                    Bucket=BUCKET, Key=key, UploadId=uid,
                    MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e}
                                               for i, e in enumerate(etags)]})
            else:
                data = os.urandom(rnd.randrange(0, 300_000))
                digest = hashlib.md5(data).hexdigest()
                ledger.sent(key, digest)
                out = s3.put_object(Bucket=BUCKET, Key=key, Body=data)
                assert out["ETag"] == '"%s"' % digest
            ledger.ack(key, digest)
        except Exception:
            time.sleep(0.05)  # the server is down: try again once it is back
            s3 = client(srv)


def test_acknowledged_objects_survive_kill9():
    srv = SluiceServer()
    srv.start()
    ok = False
    try:
        client(srv).create_bucket(Bucket=BUCKET)
        ledger = Ledger()
        rnd = random.Random(1234)
        for round_no in range(ROUNDS):
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(srv, ledger, stop, round_no * 10 + i))
                       for i in range(WRITERS)]
            for t in threads:
                t.start()
            # kill at a random moment after this round's writers got a few answers (a fixed delay
            # left too few acknowledged uploads on a loaded machine)
            wanted = ledger.acks + 5 * WRITERS
            deadline = time.monotonic() + 120
            while ledger.acks < wanted and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rnd.uniform(0, 1.0))
            srv.stop(signal.SIGKILL)
            stop.set()
            for t in threads:
                t.join()
            srv.start()
        assert len(ledger.acked) >= KEYS // 2, "too few uploads were acknowledged"
        s3 = client(srv)
        listed = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for o in page.get("Contents", []):
                listed[o["Key"]] = o
        for key, digest in ledger.acked.items():
            got = s3.get_object(Bucket=BUCKET, Key=key)
            body = got["Body"].read()
            have = hashlib.md5(body).hexdigest()
            allowed = {digest} | ledger.maybe.get(key, set())
            assert have in allowed, "object %s was damaged or lost" % key
            assert key in listed and listed[key]["Size"] == len(body)
        tmp = srv.data_dir / "objects" / "buckets" / BUCKET / "tmp"
        assert list(tmp.iterdir()) == [], "temp files of unfinished writes were left behind"
        ok = True
    finally:
        release_server(srv, ok, "s3 crash test data kept in %s" % srv.tmp_dir)
