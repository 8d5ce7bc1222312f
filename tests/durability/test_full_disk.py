"""Full disk: no acknowledged record is lost, and a server on a full disk starts and serves reads.

The data directory lives on a small ext4 file system (a loop-mounted 64 MiB image; the test
needs root, as in CI). Writers send PutRecords while the test fills the file system with a
filler file until not one more byte fits; records acknowledged through the commit journal then
cannot reach their segments. The server is killed with SIGKILL while the disk is still full and
restarted on it:
  - it must start, and serve every acknowledged record (reads need no space);
  - writes must be refused with the error a running server gives on a full disk (500
    InternalFailure naming the full disk, wire/awserror.c), not accepted and lost;
  - a stop and another start on the full disk must change nothing (a start that cannot write
    must not move the journal's checkpoint over records it could not restore).
Then the filler is removed, the server restarted once more, and every acknowledged record must
be there, and new writes accepted.

Runs through tests/conformance/run.sh, like test_server_crash.py.
"""
import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from botocore.exceptions import ClientError  # noqa: E402
from helpers import SluiceServer, assert_error, client_for, create_stream_and_wait, read_all_shards, wait_until  # noqa: E402
from test_server_crash import payload, record_id_of  # noqa: E402

STREAM = "full-disk"
OTHER = "full-disk-other"
SHARDS = 4
FS_BYTES = 64 * 1024 * 1024
OPTIONS = {"durability": "sync", "journal_bytes": "1048576", "segment_bytes": "4194304"}

# The message of an InternalFailure caused by SL_ENOSPC (sl_aws_failure_message).
DISK_FULL = ("Internal service failure: the server's disk is full; writes are refused until space is "
             "freed.")


class LoopFs:
    """A fresh ext4 file system of `size` bytes mounted on a temporary directory (root only)."""

    def __init__(self, size):
        self.dir = Path(tempfile.mkdtemp(prefix="sluice-fullfs-"))
        self.image = self.dir / "fs.img"
        self.mnt = self.dir / "mnt"
        self.mnt.mkdir()
        with open(self.image, "wb") as f:
            f.truncate(size)
        subprocess.run(["mkfs.ext4", "-q", "-m", "0", str(self.image)], check=True)
        subprocess.run(["mount", "-o", "loop", str(self.image), str(self.mnt)], check=True)

    def close(self):
        subprocess.run(["umount", str(self.mnt)], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def fill(path):
    """Writes `path` until the file system refuses one more byte; returns the bytes written."""
    total = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 64 << 10, 4 << 10, 512, 1):
            block = b"\xaa" * chunk
            while True:
                try:
                    n = f.write(block)
                except OSError as e:
                    assert e.errno in (errno.ENOSPC, errno.EDQUOT), e
                    break
                total += n
                if n < chunk:
                    break
        try:
            os.fsync(f.fileno())
        except OSError:
            pass
    return total


class Writer(threading.Thread):
    def __init__(self, index, endpoint, acked, ids):
        super().__init__(name="writer-%d" % index, daemon=True)
        self.client = client_for(endpoint, read_timeout=15)
        self.acked, self.ids, self.index = acked, ids, index
        self.stop_event = threading.Event()
        self.failed = 0
        self.failed_after_fill = 0
        self.filled = None

    def run(self):
        n = 0
        while not self.stop_event.is_set():
            batch = range(self.index * 10_000_000 + n, self.index * 10_000_000 + n + 40)
            n += 40
            try:
                resp = self.client.put_records(StreamName=STREAM, Records=[
                    {"Data": payload(i), "PartitionKey": "pk-%d" % i} for i in batch])
            except Exception:
                self.failed += 1
                time.sleep(0.005)
                continue
            for i, r in zip(batch, resp["Records"]):
                if "SequenceNumber" in r:
                    self.acked.append((i, r["ShardId"], r["SequenceNumber"]))
                else:
                    self.failed += 1
                    if self.filled is not None and self.filled.is_set():
                        self.failed_after_fill += 1


def read_all(client):
    return read_all_shards(client, STREAM)


def check_acked(client, acked):
    """Every acknowledged record is served, intact, with its sequence number. Returns (lost, stored)."""
    found = {}
    stored = 0
    for shard_id, recs in read_all(client).items():
        for r in recs:
            rid = record_id_of(r["Data"])
            assert rid is not None and r["Data"] == payload(rid), "corrupted record %s" % r["SequenceNumber"]
            assert rid not in found, "record %d stored twice" % rid
            found[rid] = (shard_id, r["SequenceNumber"])
            stored += 1
    lost = [a for a in acked if found.get(a[0]) != (a[1], a[2])]
    return lost, stored


def test_full_disk_restart_keeps_acknowledged_records():
    fs = LoopFs(FS_BYTES)
    srv = SluiceServer(options=OPTIONS, data_dir=fs.mnt / "data")
    acked = []
    ok = False
    try:
        srv.start()
        client = client_for(srv)
        create_stream_and_wait(client, STREAM, SHARDS)
        create_stream_and_wait(client, OTHER, 1)
        client.put_record(StreamName=OTHER, Data=b"keep me", PartitionKey="k")
        # cloudwatch.log holds frames, which a start compacts (it must start even when it cannot)
        import boto3
        from helpers import ACCESS_KEY, REGION, SECRET_KEY
        boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                              region_name=REGION).client(
            "cloudwatch", endpoint_url=srv.endpoint).put_metric_data(
            Namespace="FullDisk", MetricData=[{"MetricName": "M", "Value": 1.0}])
        filled = threading.Event()
        writers = [Writer(w, srv.endpoint, acked, None) for w in range(2)]
        for w in writers:
            w.filled = filled
            w.start()
        wait_until(lambda: len(acked) > 2000, timeout=60, what="2000 acknowledged records")
        filler = fs.mnt / "filler"
        fill(filler)
        filled.set()
        # Writes go on until the disk is full for the server as well: appends fail.
        wait_until(lambda: sum(w.failed_after_fill for w in writers) > 200, timeout=60,
                   what="PutRecords failures on the full disk")
        fill(fs.mnt / "filler2")  # whatever the server freed by truncating failed appends
        time.sleep(0.3)
        srv.stop(signal.SIGKILL)
        for w in writers:
            w.stop_event.set()
        for w in writers:
            w.join(timeout=30)
        acked_n = len(acked)
        print("acknowledged before the kill: %d" % acked_n)

        # Restart on the full disk: it starts, serves every acknowledged record, refuses writes.
        fill(fs.mnt / "filler3")
        srv.start()
        client = client_for(srv)
        lost, stored = check_acked(client, acked)
        print("full disk restart: %d stored, %d of %d acknowledged missing" % (stored, len(lost), acked_n))
        assert not lost, "%d of %d acknowledged records not served after a restart on the full disk, e.g. %s" % (
            len(lost), acked_n, lost[:3])
        assert_error(lambda: client.put_record(StreamName=STREAM, Data=b"x", PartitionKey="x"),
                     "InternalFailure", DISK_FULL, status=500)
        # The client sees AWS's text; the server's log names the cause and the request.
        try:
            client.put_record(StreamName=STREAM, Data=b"y", PartitionKey="y")
            raise AssertionError("PutRecord succeeded on the full disk")
        except ClientError as e:
            rid = e.response["ResponseMetadata"]["RequestId"]
        wait_until(lambda: ("PutRecord answered InternalFailure: no space left on device (code -4, request %s)"
                            % rid) in srv.stderr_tail(20000), timeout=10, what="the failure's log line")
        # An operation that answers a failure has not happened: DeleteStream either works or
        # leaves the stream as it was.
        try:
            client.delete_stream(StreamName=OTHER)
            other_deleted = True
        except ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 500, e
            other_deleted = False
            assert client.describe_stream_summary(StreamName=OTHER)["StreamDescriptionSummary"][
                "StreamStatus"] == "ACTIVE"
        print("DeleteStream on the full disk: %s" % ("done" if other_deleted else "refused"))

        # A second start on the still full disk changes nothing.
        assert srv.stop() == 0, srv.stderr_tail()
        srv.start()
        lost, stored = check_acked(client_for(srv), acked)
        assert not lost, "%d acknowledged records lost by a second start on the full disk" % len(lost)
        srv.stop(signal.SIGKILL)

        # Space returns: everything is there and writes are accepted again.
        for name in ("filler", "filler2", "filler3"):
            (fs.mnt / name).unlink()
        srv.start()
        client = client_for(srv)
        lost, stored = check_acked(client, acked)
        print("after freeing space: %d stored, %d of %d acknowledged missing" % (stored, len(lost), acked_n))
        assert not lost, "%d of %d acknowledged records lost after space returned, e.g. %s" % (
            len(lost), acked_n, lost[:3])
        resp = client.put_record(StreamName=STREAM, Data=payload(99_000_000), PartitionKey="after")
        acked.append((99_000_000, resp["ShardId"], resp["SequenceNumber"]))
        lost, _ = check_acked(client, acked)
        assert not lost
        if other_deleted:
            wait_until(lambda: OTHER not in client.list_streams()["StreamNames"], what="the deleted stream gone")
        else:
            it = client.get_shard_iterator(StreamName=OTHER, ShardId="shardId-000000000000",
                                           ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            assert [r["Data"] for r in client.get_records(ShardIterator=it)["Records"]] == [b"keep me"]
        assert srv.stop() == 0, srv.stderr_tail()

        # Data files are private to the server's user.
        data = fs.mnt / "data"
        for path in [data, data / "streams", data / "journal"] + list((data / "streams").rglob("*")) + \
                list((data / "journal").rglob("*")) + list(data.glob("catalog.db*")):
            mode = path.stat().st_mode & 0o777
            assert mode == (0o700 if path.is_dir() else 0o600), "%s has mode %o" % (path, mode)

        # A read-only file system is named as such, not as an I/O error.
        subprocess.run(["mount", "-o", "remount,ro", str(fs.mnt)], check=True)
        with pytest.raises(AssertionError):
            srv.start()
        log = srv.stderr_tail(4000).split("=== start:")[-1]
        assert "read-only file system" in log and "I/O error" not in log, log
        if os.environ.get("SLUICE_TEST_VERBOSE"):
            print("\n".join(l for l in srv.stderr_tail(10**7).splitlines()
                            if "journal" in l or "start" in l or "disk" in l or "cut" in l)[-6000:])
        ok = True
    finally:
        if srv.alive():
            srv.stop(signal.SIGKILL)
        fs.close()
        if ok:
            srv.cleanup()
        else:
            print("server log kept in %s" % srv.stderr_path)
