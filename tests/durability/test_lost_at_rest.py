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
from helpers import SluiceServer, client_for, create_stream_and_wait, read_all_shards, read_shard, seqs_and_data  # noqa: E402

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
    return seqs_and_data(read_shard(client, stream, SHARD0))


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


def sluice(*args):
    """Runs `sluice <args>` to completion; returns (exit status, stdout + stderr)."""
    import subprocess
    from helpers import sluice_bin
    proc = subprocess.run([str(sluice_bin()), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=120)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def read_shards(client, stream):
    """{shard id: [(seq, data)]} over every shard of the stream."""
    return {sid: seqs_and_data(recs) for sid, recs in read_all_shards(client, stream).items()}


def corrupt_catalog(server):
    path = server.data_dir / "catalog.db"
    with open(path, "r+b") as f:
        f.write(b"\xde\xad" * 50)


def written_stream(server, name, shards, records):
    """Creates `name`, writes `records` records, waits for the catalog backup, stops cleanly."""
    client = client_for(server)
    create_stream_and_wait(client, name, shards)
    acked = {}
    for i in range(records):
        out = client.put_record(StreamName=name, Data=b"r-%d" % i, PartitionKey="pk-%d" % i)
        acked[b"r-%d" % i] = (out["ShardId"], out["SequenceNumber"])
    from helpers import wait_until
    wait_until(lambda: (server.data_dir / "catalog.db.bak").exists(), what="the catalog backup")
    assert server.stop() == 0
    return acked


def test_check_reports_a_clean_directory_and_a_corrupt_catalog_and_repair_restores_it():
    server = SluiceServer()
    server.start()
    try:
        acked = written_stream(server, "cat", 2, 40)
        status, text = sluice("check", "--data-dir", str(server.data_dir))
        assert status == 0, text
        assert "summary: clean" in text, text

        corrupt_catalog(server)
        try:
            server.start()
            started = True
        except AssertionError:
            started = False
        assert not started, "the server started on a corrupt catalog"
        assert "catalog" in server.stderr_tail().split("=== start")[-1]

        status, text = sluice("check", "--data-dir", str(server.data_dir))
        assert status == 1, text
        assert "PROBLEM catalog" in text and "is damaged" in text, text
        assert "summary:" in text and "problem(s)" in text, text

        status, text = sluice("repair", "--data-dir", str(server.data_dir))
        assert status == 0, text
        assert "restored catalog.db from its backup" in text, text
        aside = list((server.data_dir / "damaged").glob("*/catalog.db"))
        assert len(aside) == 1, text  # the damaged file is kept, not deleted

        server.start()
        client = client_for(server)
        got = read_shards(client, "cat")
        served = {data: (shard, seq) for shard, recs in got.items() for seq, data in recs}
        assert served == acked  # every record, on its shard, with the sequence number it was given
        out = client.put_record(StreamName="cat", Data=b"new", PartitionKey="pk-0")
        same_shard = [int(seq) for shard, seq in acked.values() if shard == out["ShardId"]]
        assert int(out["SequenceNumber"]) > max(same_shard)
    finally:
        server.stop()
        server.cleanup()


def test_check_and_repair_refuse_a_data_directory_a_running_server_holds():
    """The server holds its databases in SQLite's exclusive locking mode: `sluice check` run beside
    it must say so and change nothing, never call the locked catalog damaged (which `sluice repair`
    would then move aside under the running server)."""
    server = SluiceServer()
    server.start()
    try:
        client = client_for(server)
        create_stream_and_wait(client, "held", 1)
        client.put_record(StreamName="held", Data=b"kept", PartitionKey="k")
        for command in ("check", "repair"):
            status, text = sluice(command, "--data-dir", str(server.data_dir))
            assert status == 2, text
            assert "is in use by a running server" in text and "PROBLEM" not in text, text
            assert "summary: the data directory is in use" in text, text
        assert not (server.data_dir / "damaged").exists()
        assert read_all_shards(client, "held")["shardId-000000000000"][0]["Data"] == b"kept"
        assert server.stop() == 0
        status, text = sluice("check", "--data-dir", str(server.data_dir))
        assert status == 0 and "summary: clean" in text, text
    finally:
        server.stop()
        server.cleanup()


def test_repair_rebuilds_a_catalog_from_the_logs_alone():
    server = SluiceServer()
    server.start()
    try:
        acked = written_stream(server, "orphan", 2, 30)
        corrupt_catalog(server)
        (server.data_dir / "catalog.db.bak").unlink()
        status, text = sluice("repair", "--data-dir", str(server.data_dir))
        assert status == 0, text
        assert "no usable backup of catalog.db: rebuilding it from the logs alone" in text, text
        assert "added stream orphan" in text, text
        status, text = sluice("check", "--data-dir", str(server.data_dir))
        assert status == 0, text

        server.start()
        client = client_for(server)
        got = read_shards(client, "orphan")
        # The data and the order within each shard survive; hash ranges and shard creation times
        # are not in the logs, so the recovered shards are closed and a new one takes writes.
        data = sorted(d for recs in got.values() for _, d in recs)
        assert data == sorted(acked)
        for shard, recs in got.items():
            counters = [counter(s) for s, _ in recs]
            assert counters == sorted(counters)
        out = client.put_record(StreamName="orphan", Data=b"new", PartitionKey="x")
        assert out["ShardId"] == "shardId-000000000002"
    finally:
        server.stop()
        server.cleanup()


def test_check_reports_a_damaged_segment_and_repair_sets_it_aside():
    server = SluiceServer()
    server.start()
    try:
        written_stream(server, "seg", 1, 50)
        seg = sorted(shard_dir(server, "seg").glob("*.log"))[-1]
        size = seg.stat().st_size
        with open(seg, "r+b") as f:
            f.seek(size // 2)
            f.write(b"\0" * 64)
        status, text = sluice("check", "--data-dir", str(server.data_dir))
        assert status == 1, text
        assert "PROBLEM log" in text and seg.name in text and "invalid record" in text, text
        status, text = sluice("repair", "--data-dir", str(server.data_dir))
        assert status == 0, text
        kept = list((server.data_dir / "damaged").glob("*/streams/*/%s/%s" % (SHARD0, seg.name)))
        assert len(kept) == 1 and kept[0].stat().st_size == size, text
        server.start()
        client = client_for(server)
        assert len(read_all(client, "seg")) < 50
        client.put_record(StreamName="seg", Data=b"after", PartitionKey="pk")
    finally:
        server.stop()
        server.cleanup()


def test_check_and_repair_cover_every_account():
    """An account's catalog (accounts/<id>/catalog.db) is checked and repaired like the default one;
    its logs (storage keys "<account>.<id>-<name>") are not mistaken for the default account's."""
    import boto3
    from botocore.config import Config
    from helpers import REGION, SECRET_KEY
    account = "111122223333"
    server = SluiceServer()
    server.start()
    try:
        client = boto3.session.Session(aws_access_key_id=account, aws_secret_access_key=SECRET_KEY,
                                       region_name=REGION).client(
            "kinesis", endpoint_url=server.endpoint,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
        create_stream_and_wait(client, "acct", 1)
        create_stream_and_wait(client_for(server), "acct", 1)  # same name, default account
        before = [client.put_record(StreamName="acct", Data=b"a-%d" % i, PartitionKey="k")["SequenceNumber"]
                  for i in range(5)]
        client_for(server).put_record(StreamName="acct", Data=b"default", PartitionKey="k")
        assert server.stop() == 0
        status, text = sluice("check", "--data-dir", str(server.data_dir))
        assert status == 0, text
        assert "account catalog" in text and account in text, text

        with open(server.data_dir / "accounts" / account / "catalog.db", "r+b") as f:
            f.write(b"\xde\xad" * 50)
        status, text = sluice("check", "--data-dir", str(server.data_dir))
        assert status == 1, text
        assert "PROBLEM account catalog" in text, text
        status, text = sluice("repair", "--data-dir", str(server.data_dir))
        assert status == 0, text
        assert "restored accounts/%s/catalog.db from its backup" % account in text, text
        server.start()
        got = read_shards(client_for(server), "acct")
        assert [d for recs in got.values() for _, d in recs] == [b"default"]
        client = boto3.session.Session(aws_access_key_id=account, aws_secret_access_key=SECRET_KEY,
                                       region_name=REGION).client("kinesis", endpoint_url=server.endpoint)
        got = read_shards(client, "acct")
        assert [(s, d) for recs in got.values() for s, d in recs] == [
            (seq, b"a-%d" % i) for i, seq in enumerate(before)]
    finally:
        server.stop()
        server.cleanup()
