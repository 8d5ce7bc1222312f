"""Damage at rest inside a shard's active segment: the intact records stay readable, writes go on.

A stopped server's active segment gets 4 KiB of zeros in its middle (media damage, not a crash:
the records there had been acknowledged and synced long before). After a restart:
  - GetRecords from TRIM_HORIZON serves every record outside the damaged range, in order, and the
    records inside it are the only ones missing (a few: 4 KiB of ~200-byte records);
  - the server logs the exact seq range it skipped;
  - PutRecord to that shard is accepted (also when a read came first), and the new records follow
    the old ones; all of that holds after another restart.

Runs through tests/conformance/run.sh, like test_server_crash.py.
"""
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from helpers import SluiceServer, client_for, create_stream_and_wait, read_shard, release_server  # noqa: E402

STREAM = "damaged"
RECORDS = 1200
ZEROS = 4096


def put_all(client, first, count):
    seqs = []
    for start in range(first, first + count, 100):
        resp = client.put_records(StreamName=STREAM, Records=[
            {"Data": b"record-%06d-" % i + b"x" * 150, "PartitionKey": "k"}
            for i in range(start, min(start + 100, first + count))])
        assert resp["FailedRecordCount"] == 0
        seqs.extend(r["SequenceNumber"] for r in resp["Records"])
    return seqs


def read_all(client):
    return read_shard(client, STREAM, "shardId-000000000000")


def index_of(record):
    return int(record["Data"][7:13])


@pytest.mark.parametrize("read_first", [True, False], ids=["read-first", "write-first"])
def test_zeros_in_the_active_segment(read_first):
    srv = SluiceServer(options={"durability": "sync"})
    ok = False
    try:
        srv.start()
        client = client_for(srv)
        create_stream_and_wait(client, STREAM, 1)
        put_all(client, 0, RECORDS)
        assert srv.stop() == 0
        segs = sorted((srv.data_dir / "streams").glob("*/shardId-000000000000/*.log"))
        assert len(segs) == 1, segs  # everything is in the active segment
        size = segs[0].stat().st_size
        with open(segs[0], "r+b") as f:
            f.seek(size // 2)
            f.write(b"\0" * ZEROS)

        srv.start()
        client = client_for(srv)
        if not read_first:
            put_all(client, RECORDS, 10)
        got = [index_of(r) for r in read_all(client)]
        missing = sorted(set(range(RECORDS)) - set(got))
        print("damaged: %d records missing of %d" % (len(missing), RECORDS))
        assert got == sorted(got)
        assert missing, "4 KiB of zeros hid no record?"
        assert missing == list(range(missing[0], missing[-1] + 1)), "more than one range is missing"
        assert len(missing) <= ZEROS // 150 + 2, "%d records hidden by %d bytes of zeros" % (len(missing), ZEROS)
        log = srv.stderr_tail(10**6)
        assert re.search(r"records with seq %d\.\.%d are unreadable and skipped" % (missing[0] + 1, missing[-1] + 1),
                         log), log[-3000:]
        # Writes are accepted, after a read as well as before one.
        seqs = put_all(client, RECORDS + 10, 10)
        assert len(seqs) == 10
        after = [index_of(r) for r in read_all(client)]
        assert after[-10:] == list(range(RECORDS + 10, RECORDS + 20))
        srv.restart()
        client = client_for(srv)
        assert [index_of(r) for r in read_all(client)] == after
        put_all(client, RECORDS + 20, 5)
        assert srv.stop() == 0
        ok = True
    finally:
        release_server(srv, ok, "server data and log kept in %s" % srv.tmp_dir)
