"""Damage at rest: what the server does when files under its data directory are lost or damaged
while it is stopped, and the `sluice check` / `sluice repair` commands.

  - A deleted shard directory is reported at the next start with the exact range of records lost,
    and new records get sequence numbers above every one handed out before (after a clean stop and
    after a SIGKILL), so a client's checkpoint never points at a different record.
  - A clean restart continues exactly at the next sequence number; an unclean one may skip ahead
    (the sequence reservation), never back.

Real server processes on loopback, boto3 (through tests/conformance/run.sh, like server_crash).
"""
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from helpers import SluiceServer, client_for, create_stream_and_wait  # noqa: E402

SHARD0 = "shardId-000000000000"


def counter(seq):
    """The shard-local counter inside a public sequence number (src/kinesis/seqnum.h)."""
    return (int(seq) >> 80) & ((1 << 64) - 1)


def put_many(client, stream, n, tag):
    seqs = []
    for i in range(n):
        out = client.put_record(StreamName=stream, Data=b"%s-%d" % (tag, i), PartitionKey="pk")
        assert out["ShardId"] == SHARD0
        seqs.append(out["SequenceNumber"])
    return seqs


def read_all(client, stream):
    it = client.get_shard_iterator(StreamName=stream, ShardId=SHARD0,
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    got = []
    while True:
        out = client.get_records(ShardIterator=it, Limit=10000)
        got.extend((r["SequenceNumber"], r["Data"]) for r in out["Records"])
        it = out.get("NextShardIterator")
        if not out["Records"] and out.get("MillisBehindLatest", 0) == 0:
            return got


def shard_dir(server, stream):
    dirs = [d for d in (server.data_dir / "streams").iterdir() if d.name.endswith("-" + stream)]
    assert len(dirs) == 1, dirs
    return dirs[0] / SHARD0


def remove_tree(path):
    for p in sorted(path.rglob("*"), reverse=True):
        p.rmdir() if p.is_dir() else p.unlink()
    path.rmdir()


def start_server():
    return SluiceServer().start()


def test_deleted_shard_directory_is_logged_and_never_reuses_a_sequence_number():
    server = start_server()
    try:
        client = client_for(server)
        create_stream_and_wait(client, "damaged", 1)
        before = put_many(client, "damaged", 20, b"a")
        assert server.stop() == 0
        remove_tree(shard_dir(server, "damaged"))
        server.start()
        log = server.stderr_tail(20000)
        assert ("stream damaged shard %s: the catalog records writes up to seq 20 but the log ends at seq 0"
                % SHARD0) in log, log
        assert "records with seq 1..20 are lost" in log, log
        client = client_for(server)
        after = put_many(client, "damaged", 5, b"b")
        assert min(int(s) for s in after) > max(int(s) for s in before)
        assert [d for _, d in read_all(client, "damaged")] == [b"b-%d" % i for i in range(5)]
        # The next clean restart continues right after the last record: no skip, no loss report.
        server.restart()
        more = put_many(client_for(server), "damaged", 1, b"c")
        assert counter(more[0]) == counter(after[-1]) + 1
        assert "are lost" not in server.stderr_tail(200000).split("=== start")[-1]
    finally:
        server.stop()
        server.cleanup()


def test_deleted_shard_directory_after_sigkill_never_reuses_a_sequence_number():
    server = start_server()
    try:
        client = client_for(server)
        create_stream_and_wait(client, "killed", 1)
        before = put_many(client, "killed", 30, b"a")
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL
        remove_tree(shard_dir(server, "killed"))
        server.start()
        client = client_for(server)
        after = put_many(client, "killed", 3, b"b")
        assert min(int(s) for s in after) > max(int(s) for s in before)
        assert [d for _, d in read_all(client, "killed")] == [b"b-0", b"b-1", b"b-2"]
        # Unclean restarts skip ahead (at most one reservation block), never back.
        server.restart(kill=True)
        again = put_many(client_for(server), "killed", 1, b"c")
        assert counter(after[-1]) < counter(again[0]) <= counter(after[-1]) + 2 * (1 << 20)
        assert [d for _, d in read_all(client_for(server), "killed")] == [b"b-0", b"b-1", b"b-2", b"c-0"]
    finally:
        server.stop()
        server.cleanup()
