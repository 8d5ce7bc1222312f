"""Server-level crash test: acknowledged records survive kill -9.

Writers send PutRecords batches continuously to a real `sluice serve` (default durability: every
acknowledgement is durable). The test kills the server with SIGKILL at a random moment while
requests are in flight, restarts it on the same data directory, and repeats that many times.
Then it reads every shard from TRIM_HORIZON and checks that:
  - every record whose PutRecords entry returned a sequence number is there, on the same shard,
    with the same sequence number and exactly the same bytes;
  - each shard reads back in strictly increasing sequence-number order, and each writer's
    acknowledged records of a shard appear in the order the writer got them acknowledged;
  - no record appears twice, and no record is corrupted (records whose answer was lost in the
    crash may or may not be there, but if they are, they are intact and appear once).

Three configurations: 2 shards with the defaults; 32 shards with the smallest commit journal
(1 MiB), so that journal wrap-around, checkpoints under load and tails written out between
rounds all happen between the kills; and 512 shards written with batches of up to 500 records,
so that each PutRecords is one storage batch touching hundreds of shards and each commit round
journals the shares of hundreds of shards in one ROUND entry (docs/storage-format.md).

Runs through tests/conformance/run.sh (finds a Python with boto3, forbids skips) and uses the
conformance suite's server wrapper (tests/conformance/helpers.py), so servers start one way.
"""
import hashlib
import os
import pytest
import random
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from helpers import SluiceServer, client_for, create_stream_and_wait, read_all_shards, release_server, seqs_and_data  # noqa: E402

ROUNDS = int(os.environ.get("SLUICE_CRASH_ROUNDS", "10"))
WRITERS = 2
SHARDS = 2
STREAM = "crash-test"


def payload(record_id):
    """The exact bytes of record `record_id`: its id, then a deterministic filler of 0-600 bytes."""
    filler_len = int.from_bytes(hashlib.sha256(b"len%d" % record_id).digest()[:2], "big") % 601
    filler = (hashlib.sha256(b"fill%d" % record_id).digest() * 19)[:filler_len]
    return b"id=%d;" % record_id + filler


def record_id_of(data):
    """Parse the id back out of a record's data; None if the data is not one of ours."""
    if not data.startswith(b"id="):
        return None
    head, _, _ = data.partition(b";")
    try:
        return int(head[3:])
    except ValueError:
        return None


class IdSource:
    """Hands out ids that are never reused, across writers and rounds."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next = 1

    def take(self, n):
        with self._lock:
            first = self._next
            self._next += n
            return range(first, first + n)


class Writer(threading.Thread):
    """Sends PutRecords batches until stopped; remembers what was acknowledged, in order."""

    def __init__(self, index, endpoint, ids, acked, batch_max=60, keys=97):
        super().__init__(name="writer-%d" % index, daemon=True)
        self.index = index
        self.client = client_for(endpoint, read_timeout=15)
        self.ids = ids
        self.acked = acked  # list of (id, shard, seq, writer index), shared across rounds
        self.stop_event = threading.Event()
        self.first_ack = threading.Event()
        self.failures = 0
        self.last_error = None
        self.rng = random.Random(1000 + index)
        self.batch_max = batch_max
        self.keys = keys

    def run(self):
        while not self.stop_event.is_set():
            batch = self.ids.take(self.rng.randint(1, self.batch_max))
            records = [{"Data": payload(i), "PartitionKey": "pk-%d" % (i % self.keys)}
                       for i in batch]
            try:
                resp = self.client.put_records(StreamName=STREAM, Records=records)
            except Exception as e:  # the server is being killed: connection refused/reset, timeouts
                self.failures += 1
                self.last_error = repr(e)
                time.sleep(0.005)
                continue
            assert len(resp["Records"]) == len(records)
            for record_id, result in zip(batch, resp["Records"]):
                if "SequenceNumber" in result:
                    self.acked.append((record_id, result["ShardId"], result["SequenceNumber"],
                                       self.index))
                    self.first_ack.set()


def read_everything(client, shard_count):
    """All records of the stream: {shard id: [(seq, data)]} in the order GetRecords returns them."""
    shards = client.list_shards(StreamName=STREAM, MaxResults=1000)["Shards"]
    assert len(shards) == shard_count
    return {sid: seqs_and_data(recs) for sid, recs in read_all_shards(client, STREAM, shards).items()}


def verify(client, acked, shard_count):
    stored = read_everything(client, shard_count)
    found = {}  # id -> (shard, seq)
    for shard_id, records in stored.items():
        previous = -1
        for seq, data in records:
            assert int(seq) > previous, "%s: sequence number %s after %d" % (shard_id, seq, previous)
            previous = int(seq)
            record_id = record_id_of(data)
            assert record_id is not None, "%s: foreign or corrupted record %s: %r" % (
                shard_id, seq, data[:60])
            assert data == payload(record_id), "%s: record %d (seq %s) is corrupted" % (
                shard_id, record_id, seq)
            assert record_id not in found, "record %d stored twice: %s and %s" % (
                record_id, found[record_id], (shard_id, seq))
            found[record_id] = (shard_id, seq)

    lost = [(i, s, q) for i, s, q, _ in acked if i not in found]
    assert not lost, "%d acknowledged records lost, e.g. %s" % (len(lost), lost[:5])
    moved = [(i, s, q, found[i]) for i, s, q, _ in acked if found[i] != (s, q)]
    assert not moved, "%d acknowledged records changed shard/sequence number, e.g. %s" % (
        len(moved), moved[:5])

    # Each writer's acknowledgements on one shard came back in increasing sequence order.
    last = {}
    for record_id, shard_id, seq, writer in acked:
        key = (writer, shard_id)
        assert int(seq) > last.get(key, -1), (
            "writer %d got seq %s on %s after a larger one" % (writer, seq, shard_id))
        last[key] = int(seq)
    return sum(len(r) for r in stored.values())


def journal_capacity(data_dir):
    """The ring capacity recorded in the commit journal's file header (bytes 16..23)."""
    files = [f for f in (Path(data_dir) / "journal").iterdir() if f.is_file()]
    assert len(files) == 1, files
    with open(files[0], "rb") as f:
        head = f.read(32)
    assert head[:8] == b"SLUICEJN", head
    return int.from_bytes(head[16:24], "little")


@pytest.mark.parametrize("shard_count,options,rounds,batch_max,journal_sizes", [
    (SHARDS, {"durability": "sync"}, ROUNDS, 60, None),
    (32, {"durability": "sync", "journal_bytes": "1048576"}, max(1, ROUNDS // 2), 60, None),
    (512, {"durability": "sync", "shard_limit": "100000"}, max(1, ROUNDS // 2), 500, None),
    # --journal-bytes changed at every restart: each start replays the journal written with the
    # other size, then writes it anew with its own.
    (32, {"durability": "sync"}, max(2, ROUNDS // 2), 60, [1048576, 3145728]),
], ids=["2-shards", "32-shards-1MiB-journal", "512-shards-wide-batches",
        "32-shards-journal-resized"])
def test_acknowledged_records_survive_sigkill(shard_count, options, rounds, batch_max,
                                              journal_sizes):
    rng = random.Random(int(os.environ.get("SLUICE_CRASH_SEED", str(int(time.time())))))
    srv = SluiceServer(options=options)
    acked = []
    ids = IdSource()
    ok = False
    def set_journal_size(round_no):
        if journal_sizes:
            srv.options["journal_bytes"] = str(journal_sizes[round_no % len(journal_sizes)])

    def check_journal_size():
        if journal_sizes:
            assert journal_capacity(srv.data_dir) == int(srv.options["journal_bytes"]), (
                srv.stderr_tail())

    try:
        set_journal_size(0)
        srv.start()
        check_journal_size()
        create_stream_and_wait(client_for(srv), STREAM, shard_count)
        rounds_done = 0
        for round_no in range(rounds):
            keys = 97 if batch_max <= 60 else 100003  # wide batches: keys spread over shards
            writers = [Writer(w, srv.endpoint, ids, acked, batch_max, keys)
                       for w in range(WRITERS)]
            for w in writers:
                w.start()
            # Kill only while writes are really flowing: after the first acknowledgement.
            got_ack = writers[0].first_ack.wait(timeout=30)
            if got_ack:
                time.sleep(rng.uniform(0.05, 1.5))
            srv.stop(signal.SIGKILL)
            for w in writers:
                w.stop_event.set()
            for w in writers:
                w.join(timeout=60)
                assert not w.is_alive(), "writer thread hung"
            assert got_ack, ("round %d: no PutRecords was acknowledged within 30 s after the "
                             "(re)start; last client error: %s; stderr:\n%s"
                             % (round_no, writers[0].last_error, srv.stderr_tail()))
            rounds_done += 1
            set_journal_size(round_no + 1)
            srv.start()  # same port, same data directory: recovery must succeed
            check_journal_size()
        assert rounds_done == rounds

        client = client_for(srv)
        summary = client.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]
        assert summary["StreamStatus"] == "ACTIVE"
        assert len(acked) > 0
        total = verify(client, acked, shard_count)
        assert total >= len(acked)
        print("%d rounds, %d records acknowledged, %d stored" % (rounds, len(acked), total))

        # Records written after all the crashes are accepted and readable as well.
        after = ids.take(10)
        resp = client.put_records(StreamName=STREAM, Records=[
            {"Data": payload(i), "PartitionKey": "after"} for i in after])
        assert resp["FailedRecordCount"] == 0
        acked.extend((i, r["ShardId"], r["SequenceNumber"], WRITERS)
                     for i, r in zip(after, resp["Records"]))
        verify(client, acked, shard_count)

        rc = srv.stop(signal.SIGTERM)
        assert rc == 0, "sluice exited with status %s on SIGTERM; stderr:\n%s" % (
            rc, srv.stderr_tail())
        ok = True
    finally:
        release_server(srv, ok, "data directory and server log kept in %s" % srv.tmp_dir)
