"""A data directory written by an older release opens and reads back identically.

tests/fixtures/datadir-v1/ holds a data directory made by the binary of commit 5c257d5
(generate.py says how) and what that binary read back from it (expected.json: every stream's
description, shards, tags and consumers, every record with its SequenceNumber, the account's
limits and settings). This test extracts the directory into a temporary one, starts the current
binary on it and compares, then checks that the stream still takes writes above the old records.

The server runs under libfaketime with its wall clock set an hour after the fixture's newest
record, so that the 24-hour retention of one of its streams does not expire the records on later
days (CLOCK_MONOTONIC is left alone).
"""
import datetime
import glob
import json
import os
import sys
import tarfile
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "conformance"))
from helpers import SluiceServer, client_for  # noqa: E402
from datadir_snapshot import snapshot  # noqa: E402

FIXTURE = here.parent / "fixtures" / "datadir-v1"
OPTIONS = {"durability": "sync", "journal-bytes": "1048576", "segment-bytes": "1048576"}


def faketime_env(expected):
    libs = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    assert libs, "libfaketime is missing (scripts/setup.sh installs it)"
    newest = max(r["ApproximateArrivalTimestamp"]
                 for s in expected["streams"].values() for sh in s["shards"].values() for r in sh["records"])
    start = datetime.datetime.fromtimestamp(newest / 1000 + 3600, datetime.timezone.utc)
    return start, {"LD_PRELOAD": libs[0], "TZ": "UTC", "FAKETIME": start.strftime("@%Y-%m-%d %H:%M:%S"),
            "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_DONT_RESET": "1"}


def extract(tmp_path):
    with tarfile.open(FIXTURE / "data.tar.gz") as tar:
        tar.extractall(tmp_path)
    return tmp_path / "data"


def test_old_datadir_reads_back_identically(tmp_path):
    expected = json.loads((FIXTURE / "expected.json").read_text())
    data = extract(tmp_path)
    fake_start, env = faketime_env(expected)
    srv = SluiceServer(options=OPTIONS, data_dir=data, env=env)
    srv.start()
    try:
        client = client_for(srv)
        got = snapshot(client)
        for name in expected["streams"]:
            assert got["streams"].get(name) == expected["streams"][name], "stream %s differs" % name
        assert got == expected

        # The old shards take new writes, numbered after every old record of the shard.
        resp = client.put_record(StreamName="beta", PartitionKey="after-upgrade", Data=b"new")
        old = [int(r["SequenceNumber"]) for r in expected["streams"]["beta"]["shards"][resp["ShardId"]]["records"]]
        assert int(resp["SequenceNumber"]) > max(old, default=0)
        # The clock is the shifted one (else the fixture's retention would expire it some day).
        it = client.get_shard_iterator(StreamName="beta", ShardId=resp["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
                                       StartingSequenceNumber=resp["SequenceNumber"])["ShardIterator"]
        arrival = client.get_records(ShardIterator=it)["Records"][0]["ApproximateArrivalTimestamp"].timestamp()
        assert abs(arrival - fake_start.timestamp()) < 600, "libfaketime did not shift the server's clock"
    finally:
        assert srv.stop() == 0
    srv.cleanup()
