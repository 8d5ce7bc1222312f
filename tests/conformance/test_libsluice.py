"""libsluice against a real server: the producer (KPL aggregation, per-shard rate limits,
exactly one completion per accepted record, nothing lost when the server is killed and restarted
mid-run or when the producer shuts down, and with idempotency keys no record stored twice across
that kill) and the reader (de-aggregation, sub-sequence numbers).

The C side is tests/client/producer_check.c, linked against libsluice.so; it checks that each
record's callback ran exactly once and prints what each record got."""
import signal
import subprocess
import time
import pytest

from helpers import client_for, create_stream_and_wait, sluice_bin, unique_name


def driver():
    # build/src/server/sluice -> build/tests/client/producer_check
    path = sluice_bin().resolve().parents[2] / "tests" / "client" / "producer_check"
    assert path.exists(), "producer_check not built at %s" % path
    return str(path)


def run_put(endpoint, stream, count, *args, timeout=120):
    proc = subprocess.run([driver(), "put", endpoint, stream, str(count)] + list(args),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    acked, failed = {}, {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts[0] == "ok":
            acked[int(parts[1])] = (parts[2], parts[3], int(parts[4]))
        elif parts[0] == "fail":
            failed[int(parts[1])] = parts[2]
    assert len(acked) + len(failed) == count
    return acked, failed


def read_back(endpoint, stream):
    proc = subprocess.run([driver(), "read", endpoint, stream], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = []
    for line in proc.stdout.splitlines():
        pk, seq, sub, data = line.split(" ", 3)
        out.append((pk, seq, int(sub), data))
    return out


def index_of(data):
    return int(data.split("|", 1)[0][1:])


def test_aggregated_records_round_trip(server):
    kinesis = client_for(server)
    name = unique_name("agg")
    create_stream_and_wait(kinesis, name, shards=4)
    acked, failed = run_put(server.endpoint, name, 5000)
    assert not failed
    # Aggregation: far fewer Kinesis records than user records, and they carry the KPL magic.
    raw = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        raw += kinesis.get_records(ShardIterator=it, Limit=10000)["Records"]
    assert 4 <= len(raw) < 100
    assert all(r["Data"][:4] == b"\xf3\x89\x9a\xc2" for r in raw if r["PartitionKey"] == "a")
    got = read_back(server.endpoint, name)
    assert len(got) == 5000
    by_index = {index_of(d): (pk, seq, sub) for pk, seq, sub, d in got}
    for i, (shard, seq, sub) in acked.items():
        assert by_index[i] == ("k%d" % (i % 97), seq, sub)


def test_plain_records_when_aggregation_is_off(server):
    kinesis = client_for(server)
    name = unique_name("plain")
    create_stream_and_wait(kinesis, name, shards=2)
    acked, failed = run_put(server.endpoint, name, 300, "--plain")
    assert not failed and len(acked) == 300
    got = read_back(server.endpoint, name)
    assert sorted(index_of(d) for _, _, _, d in got) == list(range(300))
    assert all(sub == 0 for _, _, sub, _ in got)


def test_unknown_stream_fails_every_record_once(server):
    acked, failed = run_put(server.endpoint, unique_name("none"), 50)
    assert not acked
    assert set(failed.values()) == {"ResourceNotFoundException"}


def test_producer_survives_server_kill_and_restart(make_server):
    srv = make_server()
    kinesis = client_for(srv)
    name = unique_name("kill")
    create_stream_and_wait(kinesis, name, shards=2)
    count = 30000
    proc = subprocess.Popen([driver(), "put", srv.endpoint, name, str(count), "--pace-every",
                             "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Kill -9 while records are being put, keep the server down long enough for requests to
    # fail (connection refused), then start it again on the same port and data directory.
    time.sleep(0.4)
    assert proc.poll() is None, "the producer finished before the fault"
    srv.stop(signal.SIGKILL)
    time.sleep(0.3)
    srv.start()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err  # every record completed exactly once
    acked = {}
    retries = None
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "stats":
            retries = int(parts[2])
        elif parts[0] == "ok":
            acked[int(parts[1])] = (parts[3], int(parts[4]))
        elif parts[0] == "fail":
            pytest.fail("record %s failed: %s" % (parts[1], parts[2]))
    assert len(acked) == count
    assert retries, "the fault did not hit the producer"
    # Every acknowledged record is readable, at the sequence number it was acknowledged with.
    got = read_back(srv.endpoint, name)
    seen = {(seq, sub): index_of(d) for _, seq, sub, d in got}
    for i, pos in acked.items():
        assert seen.get(pos) == i, "record %d acknowledged at %s is not there" % (i, pos)
    # Requests cut by the kill were sent again with their idempotency keys, which the server
    # rebuilt from its log at restart: no record is stored twice.
    indexes = sorted(index_of(d) for _, _, _, d in got)
    assert indexes == list(range(count)), "duplicates: %d records for %d" % (len(indexes), count)
