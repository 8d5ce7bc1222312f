"""Conformance: the SequenceNumber PutRecord/PutRecords return is the one GetRecords serves.

A sequence number carries the record's arrival second. Storage keeps arrival times
non-decreasing within a shard (a record never arrives before the one ahead of it), so a
request whose clock reading is older than the shard's last record is stored with that
record's time. The response must carry the time kept, not the request's clock: a client
that checkpoints the returned number (KCL-style) must find exactly that number served.

Two ways to get a request time below the previous record's: the clock stepped back across
a restart (libfaketime, package `faketime`, shifts the restarted server's clock an hour
back), and concurrent requests at full speed whose clock readings and append order differ
around a second boundary.
"""

import glob
import os
import threading
from pathlib import Path

import pytest

from helpers import client_for, create_stream_and_wait, read_shard, unique_name

SHARD0 = "shardId-000000000000"
FAKETIME_LIBS = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob("/usr/lib/faketime/libfaketime.so.1"))


def read_all(kinesis, name, shard=SHARD0):
    return read_shard(kinesis, name, shard)


def test_clock_stepped_back_across_restart(make_server):
    assert FAKETIME_LIBS, "libfaketime missing: run scripts/setup.sh (Debian package libfaketime)"
    srv = make_server()
    kinesis = client_for(srv)
    name = unique_name("back")
    create_stream_and_wait(kinesis, name, 1)
    before = [kinesis.put_record(StreamName=name, Data=b"before-%d" % i, PartitionKey="k")["SequenceNumber"]
              for i in range(3)]
    assert srv.stop() == 0

    # The same data directory, the clock an hour behind.
    env = {"LD_PRELOAD": FAKETIME_LIBS[0], "FAKETIME": "-1h", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
           # An AddressSanitizer build (CI's second stage) refuses to start when another library
           # is preloaded ahead of its runtime unless told that this is intended.
           "ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                 "verify_asan_link_order=0"]))}
    back = make_server(data_dir=srv.data_dir, env=env)
    kinesis = client_for(back)
    after = [kinesis.put_record(StreamName=name, Data=b"after-%d" % i, PartitionKey="k")["SequenceNumber"]
             for i in range(3)]
    resp = kinesis.put_records(StreamName=name, Records=[
        {"Data": b"batch-%d" % i, "PartitionKey": "k%d" % i} for i in range(5)])
    assert resp["FailedRecordCount"] == 0
    batch = [r["SequenceNumber"] for r in resp["Records"]]

    records = read_all(kinesis, name)
    served = [r["SequenceNumber"] for r in records]
    assert served == before + after + batch
    # Every record after the step got the last arrival time before it, never an earlier one.
    times = [r["ApproximateArrivalTimestamp"] for r in records]
    assert times == sorted(times)
    assert all(t == times[2] for t in times[3:])
    # The returned numbers are still increasing, and each one finds its own record.
    assert [int(s) for s in served] == sorted(int(s) for s in served)
    for seq, data in ((after[0], b"after-0"), (batch[4], b"batch-4")):
        it = kinesis.get_shard_iterator(StreamName=name, ShardId=SHARD0, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                        StartingSequenceNumber=seq)["ShardIterator"]
        got = kinesis.get_records(ShardIterator=it, Limit=1)["Records"]
        assert [(r["SequenceNumber"], r["Data"]) for r in got] == [(seq, data)]


def test_concurrent_puts_return_served_numbers(server, kinesis):
    """Many concurrent PutRecord/PutRecords to one shard at full speed: every returned number is served."""
    name = unique_name("stat")
    create_stream_and_wait(kinesis, name, 1)
    threads_n, rounds = 8, 150
    returned = [[] for _ in range(threads_n)]
    errors = []

    def producer(t):
        client = client_for(server)
        try:
            for i in range(rounds):
                if i % 3 == 0:
                    resp = client.put_records(StreamName=name, Records=[
                        {"Data": b"%d-%d-%d" % (t, i, j), "PartitionKey": "k"} for j in range(20)])
                    assert resp["FailedRecordCount"] == 0
                    returned[t].extend(r["SequenceNumber"] for r in resp["Records"])
                else:
                    returned[t].append(client.put_record(StreamName=name, Data=b"%d-%d" % (t, i),
                                                         PartitionKey="k")["SequenceNumber"])
        except Exception as e:  # reported below, in the test's thread
            errors.append(e)

    workers = [threading.Thread(target=producer, args=(t,)) for t in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    sent = [s for per in returned for s in per]
    served = [r["SequenceNumber"] for r in read_all(kinesis, name)]
    assert len(served) == len(sent)
    missing = sorted(set(sent) - set(served))
    assert not missing, "%d of %d returned sequence numbers are not served, e.g. %s" % (
        len(missing), len(sent), missing[:3])
