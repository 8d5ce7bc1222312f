"""`sluice consume` (libsluice's KCL-style consumer) end to end against a real server: the lease
table lives in Sluice's DynamoDB with KCL 2.x's schema; record processors are a command per batch
(--exec) or a processor written with the aws-kcl npm package's API under --multilang (the KCL
MultiLangDaemon protocol). Several workers share a stream: shards are balanced, a killed worker's
leases are taken within the failover time, records come at least once and never again after a
checkpoint, and parents are processed before their children across a split and a merge.
Failover timings are shortened (--failover-time-ms) so that the tests run in seconds."""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from helpers import ACCESS_KEY, REGION, SECRET_KEY, client_for, sluice_bin, unique_name

HERE = Path(__file__).resolve().parent
PROCESSOR = HERE / "kcl" / "processor.cjs"
FAILOVER_MS = 1000
# A dead worker's leases, KCL's way: a taker scan first sees their counters stop moving (up to one
# taker period, (failover + 25 ms) x 2, after the death), they expire a failover time later and
# are taken at the next scan: at most two taker periods, plus scheduling slack on a busy machine.
TAKEOVER_BOUND_S = 2 * 2 * (FAILOVER_MS + 25) / 1000 + 1.5


def dynamodb(server):
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY,
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    return session.client("dynamodb", endpoint_url=server.endpoint)


def leases(server, app):
    """The lease table's rows by lease key; none while the first worker has not created the table."""
    try:
        items = dynamodb(server).scan(TableName=app, ConsistentRead=True)["Items"]
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return {}
    out = {}
    for item in items:
        flat = {}
        for name, value in item.items():
            (kind, v), = value.items()
            flat[name] = sorted(v) if kind == "SS" else v
        out[flat["leaseKey"]] = flat
    return out


def owners(server, app):
    counts = {}
    for lease in leases(server, app).values():
        if lease.get("checkpoint") != "SHARD_END" and "leaseOwner" in lease:
            counts[lease["leaseOwner"]] = counts.get(lease["leaseOwner"], 0) + 1
    return counts


def wait_for(what, predicate, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s" % what)


class Worker:
    """One `sluice consume` process; its stderr goes to a file in the test's directory."""

    def __init__(self, server, tmp, stream, app, name, processor_args, extra=()):
        self.name = name
        self.err_path = Path(tmp) / ("%s.err" % name)
        env = dict(os.environ, KCL_LOG=str(Path(tmp) / "events.log"), KCL_WORKER=name,
                   AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        cmd = [str(sluice_bin()), "consume", "--endpoint-url", server.endpoint, "--stream-name",
               stream, "--application-name", app, "--worker-id", name, "--failover-time-ms",
               str(FAILOVER_MS), "--idle-time-between-reads-ms", "100",
               "--parent-shard-poll-interval-ms", "200", "--shard-sync-interval-ms", "1000"]
        cmd += list(processor_args) + list(extra)
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         env=env, cwd=tmp)

    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def terminate(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout)
        return rc

    def kill(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="sluice-consume-")
    workers = []
    yield Path(d), workers
    for w in workers:
        if w.proc.poll() is None:
            w.kill()
        # Shown by pytest when the test failed.
        print("--- %s stderr:\n%s" % (w.name, w.stderr()[-4000:]))
    shutil.rmtree(d, ignore_errors=True)


def multilang():
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/setup.sh"
    assert (HERE / "js" / "node_modules" / "aws-kcl").is_dir(), (
        "aws-kcl is missing from tests/conformance/js/node_modules: run scripts/setup.sh")
    return ["--multilang", "%s %s" % (node, PROCESSOR)]


def events(tmp):
    path = Path(tmp) / "events.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def put(kinesis, stream, first, count):
    entries = [{"Data": b"r%d" % i, "PartitionKey": "k%d" % i} for i in range(first, first + count)]
    for at in range(0, len(entries), 500):
        out = kinesis.put_records(StreamName=stream, Records=entries[at:at + 500])
        assert out["FailedRecordCount"] == 0


def processed(tmp):
    return {e["data"] for e in events(tmp) if e["event"] == "record"}


def check_no_reprocessing_after_checkpoint(evs):
    """No record is processed after a checkpoint at or beyond it was stored on its shard."""
    checkpointed = {}
    for e in evs:
        if e["event"] == "checkpoint":
            seq = int(e["seq"])
            checkpointed[e["shard"]] = max(checkpointed.get(e["shard"], 0), seq)
        elif e["event"] == "record":
            assert int(e["seq"]) > checkpointed.get(e["shard"], -1), (
                "%s processed again after its checkpoint: %s" % (e["data"], e))


def create(kinesis, stream, shards):
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream,
                                             WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})


def test_exec_batches_checkpoint_and_resume(server, workdir):
    tmp, workers = workdir
    kinesis = client_for(server)
    stream, app = unique_name("cexec"), unique_name("app")
    create(kinesis, stream, 2)
    put(kinesis, stream, 0, 60)
    out = tmp / "out.txt"
    # Each line: shard, then the record's data (one per line on stdin).
    cmd = ["--exec", 'while IFS= read -r l; do echo "$SLUICE_SHARD_ID $l"; done >> %s' % out]
    w = Worker(server, tmp, stream, app, "w1", cmd)
    workers.append(w)
    lines = lambda: out.read_text().splitlines() if out.exists() else []
    wait_for("60 records", lambda: len(lines()) >= 60)
    assert w.terminate() == 0, w.stderr()
    table = leases(server, app)
    assert set(table) == {"shardId-000000000000", "shardId-000000000001"}
    for lease in table.values():
        # KCL 2.x's schema; a graceful shutdown gives the lease up.
        assert "leaseOwner" not in lease
        assert int(lease["leaseCounter"]) > 0 and lease["checkpoint"].isdigit()
        assert lease["checkpointSubSequenceNumber"] == "0"
        assert lease["ownerSwitchesSinceCheckpoint"] == "0"
        assert int(lease["startingHashKey"]) <= int(lease["endingHashKey"])
    put(kinesis, stream, 60, 40)
    w2 = Worker(server, tmp, stream, app, "w2", cmd)
    workers.append(w2)
    wait_for("100 records", lambda: len(lines()) >= 100)
    assert w2.terminate() == 0, w2.stderr()
    got = [line.split(" ", 1)[1] for line in lines()]
    # Resumed from the checkpoints: every record exactly once.
    assert sorted(got) == sorted("r%d" % i for i in range(100))


def test_exec_failed_command_is_retried(server, workdir):
    tmp, workers = workdir
    kinesis = client_for(server)
    stream, app = unique_name("cfail"), unique_name("app")
    create(kinesis, stream, 1)
    put(kinesis, stream, 0, 5)
    flag, out = tmp / "failed-once", tmp / "out.txt"
    cmd = ["--exec", "if [ ! -e %s ]; then touch %s; exit 3; fi; cat >> %s" % (flag, flag, out)]
    w = Worker(server, tmp, stream, app, "w1", cmd)
    workers.append(w)
    wait_for("the batch after a retry",
             lambda: out.exists() and len(out.read_text().splitlines()) >= 5)
    assert w.terminate() == 0
    assert sorted(out.read_text().split()) == ["r%d" % i for i in range(5)]
    assert "exited with 3" in w.stderr()


def test_exec_sigterm_ends_the_retries_of_a_failing_command(server, workdir):
    tmp, workers = workdir
    kinesis = client_for(server)
    stream, app = unique_name("cstuck"), unique_name("app")
    create(kinesis, stream, 1)
    put(kinesis, stream, 0, 3)
    w = Worker(server, tmp, stream, app, "w1", ["--exec", "exit 1"])
    workers.append(w)
    wait_for("a failed batch", lambda: "exited with 1" in w.stderr())
    assert w.terminate(timeout=10) == 0, w.stderr()
    # Nothing was acknowledged: the batch comes again from the start.
    assert leases(server, app)["shardId-000000000000"]["checkpoint"] == "TRIM_HORIZON"


def test_aws_kcl_processor_checkpoints_and_second_worker_takes_over(server, workdir):
    tmp, workers = workdir
    kinesis = client_for(server)
    stream, app = unique_name("ckcl"), unique_name("app")
    create(kinesis, stream, 2)
    put(kinesis, stream, 0, 40)
    w1 = Worker(server, tmp, stream, app, "w1", multilang())
    workers.append(w1)
    wait_for("40 records", lambda: len(processed(tmp)) >= 40)
    # Checkpoints the processor asked for are stored in the lease table.
    def checkpointed():
        table = leases(server, app)
        done = [e for e in events(tmp) if e["event"] == "checkpoint"]
        last = {}
        for e in done:
            last[e["shard"]] = e["seq"]
        return len(last) == 2 and all(table[s]["checkpoint"] == q for s, q in last.items())
    wait_for("stored checkpoints", checkpointed)
    assert set(owners(server, app)) == {"w1"}
    w1.kill()  # SIGKILL: no shutdown, the leases stay owned by w1 until they expire
    killed_at = time.monotonic()
    put(kinesis, stream, 40, 40)
    w2 = Worker(server, tmp, stream, app, "w2", multilang())
    workers.append(w2)
    wait_for("w2 holding both leases", lambda: owners(server, app) == {"w2": 2}, timeout=30)
    # w2 must first see the counters stand still for the failover time.
    assert time.monotonic() - killed_at < TAKEOVER_BOUND_S
    wait_for("80 records", lambda: len(processed(tmp)) >= 80)
    assert w2.terminate() == 0, w2.stderr()
    evs = events(tmp)
    assert processed(tmp) == {"r%d" % i for i in range(80)}
    check_no_reprocessing_after_checkpoint(evs)
    w2_inits = [e for e in evs if e["worker"] == "w2" and e["event"] == "initialize"]
    assert {e["shard"] for e in w2_inits} == {"shardId-000000000000", "shardId-000000000001"}
    assert all(e["checkpoint"].isdigit() for e in w2_inits)  # resumed at w1's checkpoints
    assert sum(e["event"] == "shutdownRequested" for e in evs) == 2


def test_workers_balance_and_take_over_a_killed_worker(server, workdir):
    tmp, workers = workdir
    kinesis = client_for(server)
    stream, app = unique_name("cbal"), unique_name("app")
    create(kinesis, stream, 4)
    stop = threading.Event()
    sent = [0]

    def producer():
        while not stop.is_set():
            put(kinesis, stream, sent[0], 20)
            sent[0] += 20
            time.sleep(0.05)

    t = threading.Thread(target=producer)
    t.start()
    try:
        for name in ("w1", "w2"):
            workers.append(Worker(server, tmp, stream, app, name, multilang()))
        wait_for("2 workers sharing 4 shards", lambda: sorted(owners(server, app).values()) == [2, 2],
                 timeout=40)
        workers.append(Worker(server, tmp, stream, app, "w3", multilang()))
        wait_for("3 workers sharing 4 shards",
                 lambda: sorted(owners(server, app).values()) == [1, 1, 2], timeout=40)
        victim = max(owners(server, app).items(), key=lambda kv: kv[1])[0]
        by_name = {w.name: w for w in workers}
        by_name[victim].kill()
        killed_at = time.monotonic()
        wait_for("the killed worker's leases taken",
                 lambda: victim not in owners(server, app)
                 and sum(owners(server, app).values()) == 4, timeout=30, interval=0.05)
        took = time.monotonic() - killed_at
        assert took < TAKEOVER_BOUND_S, "took %.1f s" % took
        wait_for("the survivors balanced", lambda: sorted(owners(server, app).values()) == [2, 2],
                 timeout=40)
    finally:
        stop.set()
        t.join()
    total = sent[0]
    wait_for("%d records" % total, lambda: len(processed(tmp)) >= total, timeout=60)
    for w in workers:
        if w.proc.poll() is None:
            assert w.terminate() == 0, w.stderr()
    evs = events(tmp)
    assert processed(tmp) == {"r%d" % i for i in range(total)}  # every record at least once
    check_no_reprocessing_after_checkpoint(evs)
    assert any(e["event"] == "leaseLost" for e in evs)  # stealing for balance


def test_parents_before_children_across_split_and_merge(server, workdir):
    tmp, workers = workdir
    kinesis = client_for(server)
    stream, app = unique_name("cres"), unique_name("app")
    create(kinesis, stream, 1)
    put(kinesis, stream, 0, 30)
    # Two workers, so that children may be taken by a worker other than the parent's.
    for name in ("w1", "w2"):
        workers.append(Worker(server, tmp, stream, app, name, multilang()))
    wait_for("30 records", lambda: len(processed(tmp)) >= 30)
    mid = str(2**127)
    kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=mid)
    wait_for("split done", lambda: kinesis.describe_stream_summary(StreamName=stream)[
        "StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE")
    put(kinesis, stream, 30, 30)
    kinesis.merge_shards(StreamName=stream, ShardToMerge="shardId-000000000001",
                         AdjacentShardToMerge="shardId-000000000002")
    wait_for("merge done", lambda: kinesis.describe_stream_summary(StreamName=stream)[
        "StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE")
    put(kinesis, stream, 60, 30)
    wait_for("90 records", lambda: len(processed(tmp)) >= 90, timeout=60)
    for w in workers:
        assert w.terminate() == 0, w.stderr()
    evs = events(tmp)
    assert processed(tmp) == {"r%d" % i for i in range(90)}
    check_no_reprocessing_after_checkpoint(evs)
    order = [e["shard"] for e in evs if e["event"] == "record"]
    last = {s: max(i for i, x in enumerate(order) if x == s) for s in set(order)}
    first = {s: min(i for i, x in enumerate(order) if x == s) for s in set(order)}
    # 0 -> (1, 2) -> 3: every record of a parent before the first record of a child.
    assert last["shardId-000000000000"] < first["shardId-000000000001"]
    assert last["shardId-000000000000"] < first["shardId-000000000002"]
    assert max(last["shardId-000000000001"], last["shardId-000000000002"]) < first[
        "shardId-000000000003"]
    table = leases(server, app)
    assert table["shardId-000000000000"]["checkpoint"] == "SHARD_END"
    assert table["shardId-000000000000"]["childShardIds"] == [
        "shardId-000000000001", "shardId-000000000002"]
    assert table["shardId-000000000003"]["parentShardId"] == [
        "shardId-000000000001", "shardId-000000000002"]
    assert table["shardId-000000000001"]["checkpoint"] == "SHARD_END"
    ended = [e for e in evs if e["event"] == "shardEnded"]
    assert {e["shard"] for e in ended} == {"shardId-000000000000", "shardId-000000000001",
                                            "shardId-000000000002"}
    assert all(e["error"] is None for e in ended)


def test_fan_out_worker_reads_across_a_split_and_resumes(server, workdir):
    tmp, workers = workdir
    kinesis = client_for(server)
    stream, app = unique_name("cefo"), unique_name("app")
    create(kinesis, stream, 2)
    put(kinesis, stream, 0, 30)
    fan_out = multilang() + ["--enhanced-fan-out"]
    w1 = Worker(server, tmp, stream, app, "w1", fan_out)
    workers.append(w1)
    wait_for("30 records", lambda: len(processed(tmp)) >= 30)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamARN"]
    consumers = kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]
    assert [c["ConsumerName"] for c in consumers] == [app]  # named after the application
    kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=str(2**126))
    wait_for("split done", lambda: kinesis.describe_stream_summary(StreamName=stream)[
        "StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE")
    put(kinesis, stream, 30, 30)
    wait_for("60 records", lambda: len(processed(tmp)) >= 60)
    assert w1.terminate() == 0, w1.stderr()
    # A second worker resumes every shard from its checkpoint over its own subscriptions.
    put(kinesis, stream, 60, 20)
    w2 = Worker(server, tmp, stream, app, "w2", fan_out)
    workers.append(w2)
    wait_for("80 records", lambda: len(processed(tmp)) >= 80)
    assert w2.terminate() == 0, w2.stderr()
    evs = events(tmp)
    got = [e["data"] for e in evs if e["event"] == "record"]
    assert sorted(got) == sorted("r%d" % i for i in range(80))  # graceful: exactly once
    order = [e["shard"] for e in evs if e["event"] == "record"]
    parent_last = max(i for i, s in enumerate(order) if s == "shardId-000000000000")
    for child in ("shardId-000000000002", "shardId-000000000003"):
        assert parent_last < min(i for i, s in enumerate(order) if s == child)
    assert leases(server, app)["shardId-000000000000"]["checkpoint"] == "SHARD_END"


def kpl_aggregate(records):
    """A KPL aggregate (magic, protobuf AggregatedRecord, MD5) of (partition key, data) pairs,
    encoded here by hand from the format in docs/libsluice.md."""
    def varint(n):
        out = b""
        while True:
            byte, n = n & 0x7F, n >> 7
            out += bytes([byte | (0x80 if n else 0)])
            if not n:
                return out

    def field(number, payload):
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    keys = sorted({k for k, _ in records})
    body = b"".join(field(1, k.encode()) for k in keys)
    for key, data in records:
        body += field(3, varint(1 << 3) + varint(keys.index(key)) + field(3, data))
    return b"\xf3\x89\x9a\xc2" + body + hashlib.md5(body).digest()


def keys_in(lo, hi, count, prefix):
    """Partition keys whose MD5 falls in [lo, hi]."""
    out, i = [], 0
    while len(out) < count:
        key = "%s%d" % (prefix, i)
        if lo <= int.from_bytes(hashlib.md5(key.encode()).digest(), "big") <= hi:
            out.append(key)
        i += 1
    return out


def consumer_check(server, stream, app, out):
    path = sluice_bin().resolve().parents[2] / "tests" / "client" / "consumer_check"
    assert path.exists(), "consumer_check not built at %s" % path
    return subprocess.Popen([str(path), server.endpoint, stream, app, str(FAILOVER_MS)],
                            stdout=open(out, "ab"), stderr=subprocess.PIPE)


def test_c_api_consumer_checkpoints_and_drops_aggregates_outside_the_shard(server, workdir):
    tmp, _ = workdir
    kinesis = client_for(server)
    stream, app = unique_name("capi"), unique_name("app")
    create(kinesis, stream, 1)
    half = 2**127
    kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=str(half))
    wait_for("split done", lambda: kinesis.describe_stream_summary(StreamName=stream)[
        "StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE")
    low, high = keys_in(0, half - 1, 6, "lo"), keys_in(half, 2**128 - 1, 6, "hi")
    good_low = kpl_aggregate([(k, b"A%d" % i) for i, k in enumerate(low[:3])])
    # Routed to the low shard by its explicit hash key, but with sub-records of the high range:
    # what a producer that predicted the old shard map writes after a split. Dropped whole.
    mixed = kpl_aggregate([(low[3], b"B0"), (high[0], b"B1"), (low[4], b"B2")])
    good_high = kpl_aggregate([(k, b"C%d" % i) for i, k in enumerate(high[1:4])])
    out = kinesis.put_records(StreamName=stream, Records=[
        {"Data": good_low, "PartitionKey": "a", "ExplicitHashKey": "0"},
        {"Data": mixed, "PartitionKey": "a", "ExplicitHashKey": "1"},
        {"Data": good_high, "PartitionKey": "a", "ExplicitHashKey": str(half)},
        {"Data": b"P0", "PartitionKey": low[5]},
        {"Data": b"P1", "PartitionKey": high[5]},
    ])
    assert out["FailedRecordCount"] == 0
    log = tmp / "capi.out"
    lines = lambda: log.read_text().splitlines() if log.exists() else []
    proc = consumer_check(server, stream, app, log)
    try:
        wait_for("8 records", lambda: sum(l.startswith("rec ") for l in lines()) >= 8)
        wait_for("checkpoints", lambda: sum(l.startswith("cp ") for l in lines()) >= 2)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, proc.stderr.read().decode()
    got = [l.split() for l in lines()]
    recs = {(l[1], l[5]): (l[2], int(l[3])) for l in got if l[0] == "rec"}
    assert sorted(d for _, d in recs) == ["A0", "A1", "A2", "C0", "C1", "C2", "P0", "P1"]
    assert {s for s, d in recs if d.startswith("A")} == {"shardId-000000000001"}
    assert [recs[("shardId-000000000001", "A%d" % i)][1] for i in range(3)] == [0, 1, 2]
    assert "dropped the aggregate" in proc.stderr.read().decode()
    assert all(l[-1] == "0" for l in got if l[0] == "cp")
    assert all(l[-1] == "-2" for l in got if l[0] in ("bad-after", "bad-before"))
    assert any(l[0] == "bad-before" for l in got)  # the aggregate's batch had several positions
    assert ["ended", "shardId-000000000000", "0"] in got  # the empty parent, SHARD_END stored
    table = leases(server, app)
    assert table["shardId-000000000000"]["checkpoint"] == "SHARD_END"
    last_low = max(v for (s, _), v in recs.items() if s == "shardId-000000000001")
    assert (table["shardId-000000000001"]["checkpoint"],
            int(table["shardId-000000000001"]["checkpointSubSequenceNumber"])) == last_low
    # Restarted, the worker resumes after its checkpoints: nothing again.
    log.write_text("")
    put(kinesis, stream, 0, 4)
    proc = consumer_check(server, stream, app, log)
    try:
        wait_for("4 new records", lambda: sum(l.startswith("rec ") for l in lines()) >= 4)
        time.sleep(0.5)  # room for a wrong redelivery to show up
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    again = sorted(l.split()[5] for l in lines() if l.startswith("rec "))
    assert again == ["r0", "r1", "r2", "r3"]
    inits = [l.split() for l in lines() if l.startswith("init ")]
    assert {i[1] for i in inits} == {"shardId-000000000001", "shardId-000000000002"}


def test_usage_errors(server):
    run = lambda *a: subprocess.run([str(sluice_bin()), "consume", "--endpoint-url",
                                     server.endpoint] + list(a), capture_output=True, text=True,
                                    timeout=30)
    assert run("--stream-name", "x").returncode == 2
    assert run("--stream-name", "x", "--application-name", "a").returncode == 2
    assert run("--stream-name", "x", "--application-name", "a", "--exec", "cat", "--multilang",
               "cat").returncode == 2
    assert run("--stream-name", "x", "--application-name", "a", "--exec", "cat",
               "--failover-time-ms", "-1").returncode == 2
    missing = run("--stream-name", unique_name("none"), "--application-name", unique_name("a"),
                  "--exec", "cat")
    assert missing.returncode == 1 and "ResourceNotFoundException" in missing.stderr
