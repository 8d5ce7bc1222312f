"""A stream with more shards than the server has file descriptors for.

The server runs with RLIMIT_NOFILE = 256 (prlimit), so its storage budget is about 150 segment and
index descriptors while the stream has 600 shards (two descriptors each when active). Writers put
to every shard and readers read every shard at the same time. The storage engine must close the
descriptors of the least recently used shards and reopen them on demand: no PutRecords entry and
no GetRecords may fail with an internal error (a throttling error, which clients retry, is
acceptable when descriptors are truly exhausted), every acknowledged record must be readable, and
new connections must still be accepted.

Runs through tests/conformance/run.sh, like test_server_crash.py.
"""
import sys
import threading
from pathlib import Path

from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from helpers import SluiceServer, client_for, create_stream_and_wait, list_all_shards, release_server  # noqa: E402

STREAM = "wide"
SHARDS = 600
NOFILE = 256
ROUNDS = 8


class LimitedServer(SluiceServer):
    def command(self):
        return ["prlimit", "--nofile=%d:%d" % (NOFILE, NOFILE), "--"] + super().command()


def test_many_shards_few_descriptors():
    srv = LimitedServer(options={"shard_limit": 1000})
    ok = False
    try:
        srv.start()
        client = client_for(srv)
        create_stream_and_wait(client, STREAM, SHARDS)
        shards = list_all_shards(client, STREAM)
        starts = [(s["ShardId"], s["HashKeyRange"]["StartingHashKey"]) for s in shards]
        acked = {}  # shard -> set of data
        lock = threading.Lock()
        problems = []
        throttled = [0]

        def writer(w):
            c = client_for(srv)
            for r in range(ROUNDS):
                for base in range(0, SHARDS, 500):
                    batch = starts[base:base + 500]
                    recs = [{"Data": b"w%d-r%d-%s" % (w, r, sid.encode()), "PartitionKey": "k",
                             "ExplicitHashKey": h} for sid, h in batch]
                    try:
                        resp = c.put_records(StreamName=STREAM, Records=recs)
                    except ClientError as e:
                        problems.append("PutRecords: %s" % e)
                        continue
                    with lock:
                        for (sid, _), rec, res in zip(batch, recs, resp["Records"]):
                            if "SequenceNumber" in res:
                                assert res["ShardId"] == sid
                                acked.setdefault(sid, set()).add(rec["Data"])
                            elif res["ErrorCode"] == "ProvisionedThroughputExceededException":
                                throttled[0] += 1
                            else:
                                problems.append("PutRecords entry: %s %s" % (res["ErrorCode"], res["ErrorMessage"]))

        def reader(part):
            c = client_for(srv)
            for sid, _ in starts[part::2]:
                try:
                    it = c.get_shard_iterator(StreamName=STREAM, ShardId=sid,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                    c.get_records(ShardIterator=it, Limit=100)
                except ClientError as e:
                    if e.response["Error"]["Code"] != "ProvisionedThroughputExceededException":
                        problems.append("GetRecords %s: %s" % (sid, e))

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        threads += [threading.Thread(target=reader, args=(p,)) for p in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not problems, "%d failures, e.g. %s" % (len(problems), problems[:3])

        # Everything acknowledged is there, read shard by shard (reopening descriptors).
        c = client_for(srv)  # a new connection
        missing = 0
        for sid, _ in starts:
            it = c.get_shard_iterator(StreamName=STREAM, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            got = set()
            while it:
                resp = c.get_records(ShardIterator=it, Limit=10_000)
                got.update(r["Data"] for r in resp["Records"])
                if not resp["Records"]:
                    break
                it = resp.get("NextShardIterator")
            missing += len(acked.get(sid, set()) - got)
        total = sum(len(v) for v in acked.values())
        print("acknowledged %d, throttled %d, missing %d" % (total, throttled[0], missing))
        assert total > SHARDS * ROUNDS * 3 // 2
        assert missing == 0
        log = srv.stderr_tail(10**7)
        assert "Too many open files" not in log and "I/O error" not in log, log[-3000:]
        assert srv.stop() == 0
        ok = True
    finally:
        release_server(srv, ok, "server log kept in %s" % srv.stderr_path)
