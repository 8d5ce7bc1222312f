"""Conformance of the CBOR protocol (Content-Type application/x-amz-cbor-1.1), the default of the
AWS SDK for Java v1/v2 and therefore of KCL, KPL-Java and the Flink/Spark connectors.

Requests are encoded with cbor2 (Debian's python3-cbor2) or by hand (indefinite-length maps and
arrays, as Jackson writes them), signed with SigV4 by botocore, and sent over HTTP/1.1. Responses
are decoded by the small strict decoder below rather than by cbor2, because cbor2 silently turns
tag 1 into a datetime (reading the value as seconds): the tests must see the raw encoding, since
AWS sends timestamps as tag 1 + integer *milliseconds* and blobs as byte strings.
"""
import struct
import time

import cbor2

from helpers import ACCOUNT, raw_request, unique_name, wait_until

CBOR = "application/x-amz-cbor-1.1"


# --- a strict CBOR decoder that keeps the wire types visible --------------------------------------

class Tag:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value

    def __repr__(self):
        return "Tag(%d, %r)" % (self.tag, self.value)


class Simple:
    """undefined and unassigned simple values."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return "Simple(%d)" % self.value


class CborError(AssertionError):
    pass


def _decode(data, pos):
    if pos >= len(data):
        raise CborError("truncated CBOR at %d" % pos)
    initial = data[pos]
    pos += 1
    major, info = initial >> 5, initial & 0x1F

    def argument(pos):
        if info < 24:
            return info, pos
        sizes = {24: 1, 25: 2, 26: 4, 27: 8}
        if info not in sizes:
            raise CborError("bad additional info %d" % info)
        n = sizes[info]
        if pos + n > len(data):
            raise CborError("truncated argument")
        return int.from_bytes(data[pos:pos + n], "big"), pos + n

    if major in (0, 1, 6) or (major in (2, 3, 4, 5) and info != 31):
        value, pos = argument(pos)
    if major == 0:
        return value, pos
    if major == 1:
        return -1 - value, pos
    if major in (2, 3):
        if info == 31:  # indefinite-length string: chunks of the same major type until 0xFF
            chunks = []
            while data[pos] != 0xFF:
                if data[pos] >> 5 != major:
                    raise CborError("bad chunk in indefinite string")
                chunk, pos = _decode(data, pos)
                chunks.append(chunk)
            pos += 1
            return (b"" if major == 2 else "").join(chunks), pos
        raw = data[pos:pos + value]
        if len(raw) != value:
            raise CborError("truncated string")
        return (bytes(raw) if major == 2 else raw.decode("utf-8")), pos + value
    if major == 4:
        items = []
        if info == 31:
            while data[pos] != 0xFF:
                item, pos = _decode(data, pos)
                items.append(item)
            return items, pos + 1
        for _ in range(value):
            item, pos = _decode(data, pos)
            items.append(item)
        return items, pos
    if major == 5:
        result = {}
        count = None if info == 31 else value
        while (count is None and data[pos] != 0xFF) or (count is not None and len(result) < count):
            key, pos = _decode(data, pos)
            if not isinstance(key, str):
                raise CborError("map key %r is not a text string" % (key,))
            if key in result:
                raise CborError("duplicate map key %r" % key)
            result[key], pos = _decode(data, pos)
        return result, (pos + 1 if count is None else pos)
    if major == 6:
        inner, pos = _decode(data, pos)
        return Tag(value, inner), pos
    # major 7: simple values and floats
    if info == 20:
        return False, pos
    if info == 21:
        return True, pos
    if info == 22:
        return None, pos
    if info == 25:
        return struct.unpack(">e", data[pos:pos + 2])[0], pos + 2
    if info == 26:
        return struct.unpack(">f", data[pos:pos + 4])[0], pos + 4
    if info == 27:
        return struct.unpack(">d", data[pos:pos + 8])[0], pos + 8
    if info < 24:
        return Simple(info), pos
    if info == 24:
        return Simple(data[pos]), pos + 1
    raise CborError("bad simple value %d" % info)


def decode_strict(data):
    value, pos = _decode(data, 0)
    if pos != len(data):
        raise CborError("%d trailing bytes after the CBOR item" % (len(data) - pos))
    return value


def test_strict_decoder_sees_wire_types():
    # The decoder itself: tag 1 stays a Tag with its integer, blobs stay bytes, indefinite maps work.
    enc = cbor2.dumps({"a": cbor2.CBORTag(1, 1716000000123), "b": b"\x00\xff", "c": "x"})
    got = decode_strict(enc)
    assert isinstance(got["a"], Tag) and got["a"].tag == 1 and got["a"].value == 1716000000123
    assert got["b"] == b"\x00\xff" and got["c"] == "x"
    assert decode_strict(b"\xbf\x61a\x9f\x01\x02\xff\xff") == {"a": [1, 2]}


# --- requests ----------------------------------------------------------------------------------------

def cbor_call(server, operation, body):
    """POST a SigV4-signed CBOR request; `body` is a dict (cbor2-encoded) or raw bytes."""
    payload = body if isinstance(body, bytes) else cbor2.dumps(body)
    return raw_request(server, target="Kinesis_20131202." + operation, body=payload,
                       content_type=CBOR)


def ok(resp):
    """Assert a 200 CBOR answer and return its decoded body ({} for an empty body)."""
    assert resp.status == 200, "HTTP %d: %r" % (resp.status, resp.body[:500])
    assert resp.headers.get("Content-Type", "").split(";")[0].strip() == CBOR, resp.headers
    return decode_strict(resp.body) if resp.body else {}


def now_ms():
    return int(time.time() * 1000)


def assert_millis_timestamp(value, around_ms, tolerance_ms=120_000):
    """A CBOR timestamp as AWS sends it: tag 1 around an unsigned integer of epoch milliseconds."""
    assert isinstance(value, Tag) and value.tag == 1, "expected tag 1, got %r" % (value,)
    assert isinstance(value.value, int) and not isinstance(value.value, bool), (
        "tag 1 must wrap an integer (milliseconds), got %r" % (value.value,))
    assert abs(value.value - around_ms) < tolerance_ms, (
        "timestamp %d ms is not close to now (%d ms): seconds instead of milliseconds?"
        % (value.value, around_ms))


def create_stream_cbor(server, name, shards=1):
    assert ok(cbor_call(server, "CreateStream", {"StreamName": name, "ShardCount": shards})) == {}
    return wait_for_active(server, name)


def wait_for_active(server, name):
    def active():
        out = ok(cbor_call(server, "DescribeStreamSummary", {"StreamName": name}))
        summary = out["StreamDescriptionSummary"]
        return summary if summary["StreamStatus"] == "ACTIVE" else None
    return wait_until(active, timeout=30, what="stream %s ACTIVE" % name)


def read_all(server, name, shard_id, iterator_args):
    out = ok(cbor_call(server, "GetShardIterator",
                       dict({"StreamName": name, "ShardId": shard_id}, **iterator_args)))
    iterator = out["ShardIterator"]
    assert isinstance(iterator, str)
    out = ok(cbor_call(server, "GetRecords", {"ShardIterator": iterator}))
    assert isinstance(out["NextShardIterator"], str)
    assert isinstance(out["MillisBehindLatest"], int)
    return out["Records"]


# --- tests ---------------------------------------------------------------------------------------------

def test_cbor_put_and_get(server):
    name = unique_name("cbor")
    t_create = now_ms()
    summary = create_stream_cbor(server, name, 1)
    assert summary["StreamName"] == name
    assert summary["StreamARN"] == "arn:aws:kinesis:us-east-1:%s:stream/%s" % (ACCOUNT, name)
    assert summary["OpenShardCount"] == 1
    assert_millis_timestamp(summary["StreamCreationTimestamp"], t_create)

    every_byte = bytes(range(256))
    put = ok(cbor_call(server, "PutRecord",
                       {"StreamName": name, "PartitionKey": "first", "Data": every_byte}))
    assert put["ShardId"] == "shardId-000000000000"
    assert isinstance(put["SequenceNumber"], str) and put["SequenceNumber"].isdigit()

    # A point in time strictly between the first record and the batch, in milliseconds.
    time.sleep(0.2)
    middle_ms = now_ms()
    time.sleep(0.2)

    blobs = [b"", b"\x00", b"cbor-%d" % 2, bytes(1000)]
    batch = ok(cbor_call(server, "PutRecords", {
        "StreamName": name,
        "Records": [{"PartitionKey": "pk-%d" % i, "Data": b} for i, b in enumerate(blobs)],
    }))
    assert batch["FailedRecordCount"] == 0
    assert [r["ShardId"] for r in batch["Records"]] == ["shardId-000000000000"] * len(blobs)
    seqs = [put["SequenceNumber"]] + [r["SequenceNumber"] for r in batch["Records"]]
    assert [int(s) for s in seqs] == sorted(int(s) for s in seqs)

    # TRIM_HORIZON: everything, blobs as byte strings, arrival times as tag 1 + integer ms.
    t_read = now_ms()
    records = read_all(server, name, "shardId-000000000000", {"ShardIteratorType": "TRIM_HORIZON"})
    assert [r["SequenceNumber"] for r in records] == seqs
    assert [r["Data"] for r in records] == [every_byte] + blobs
    for r in records:
        assert isinstance(r["Data"], bytes), "Data must be a CBOR byte string, got %r" % (r["Data"],)
        assert_millis_timestamp(r["ApproximateArrivalTimestamp"], t_read)
    assert records[0]["ApproximateArrivalTimestamp"].value < middle_ms
    assert records[1]["ApproximateArrivalTimestamp"].value >= middle_ms

    # AT_TIMESTAMP with tag 1 + milliseconds: only the batch is at or after `middle_ms`.
    after_middle = read_all(server, name, "shardId-000000000000", {
        "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": cbor2.CBORTag(1, middle_ms)})
    assert [r["SequenceNumber"] for r in after_middle] == seqs[1:]

    # A bare integer is read as milliseconds too (Java SDK behaviour).
    bare = read_all(server, name, "shardId-000000000000", {
        "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": middle_ms})
    assert [r["SequenceNumber"] for r in bare] == seqs[1:]

    # A timestamp before the stream existed starts at the trim horizon.
    early = read_all(server, name, "shardId-000000000000", {
        "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": cbor2.CBORTag(1, t_create - 3_600_000)})
    assert [r["SequenceNumber"] for r in early] == seqs

    assert ok(cbor_call(server, "DeleteStream", {"StreamName": name})) == {}


def test_cbor_future_timestamp_is_read_as_milliseconds(server):
    name = unique_name("cbor-future")
    create_stream_cbor(server, name, 1)
    future_ms = now_ms() + 3_600_000
    resp = cbor_call(server, "GetShardIterator", {
        "StreamName": name, "ShardId": "shardId-000000000000",
        "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": cbor2.CBORTag(1, future_ms)})
    assert resp.status == 400, resp
    body = decode_strict(resp.body)
    assert body["__type"] == "InvalidArgumentException"
    prefix = ("The timestampInMillis parameter cannot be greater than the "
              "currentTimestampInMillis. timestampInMillis: %d, currentTimestampInMillis: " % future_ms)
    assert body["message"].startswith(prefix), body
    current = int(body["message"][len(prefix):])
    assert abs(current - now_ms()) < 60_000
    ok(cbor_call(server, "DeleteStream", {"StreamName": name}))


def test_cbor_error_body(server):
    name = unique_name("cbor-missing")
    resp = cbor_call(server, "DescribeStreamSummary", {"StreamName": name})
    assert resp.status == 400, resp
    assert resp.headers.get("Content-Type", "").split(";")[0].strip() == CBOR, resp.headers
    body = decode_strict(resp.body)
    assert body == {
        "__type": "ResourceNotFoundException",
        "message": "Stream %s under account %s not found." % (name, ACCOUNT),
    }


def test_cbor_indefinite_length_containers(server):
    """Jackson (Java SDK) writes indefinite-length maps (0xBF ... 0xFF) and arrays (0x9F ... 0xFF)."""
    name = unique_name("cbor-indef")

    def indefinite_map(*pairs):
        return b"\xbf" + b"".join(cbor2.dumps(k) + v for k, v in pairs) + b"\xff"

    def indefinite_array(*items):
        return b"\x9f" + b"".join(items) + b"\xff"

    create = indefinite_map(("StreamName", cbor2.dumps(name)), ("ShardCount", cbor2.dumps(1)))
    assert create[0] == 0xBF and create[-1] == 0xFF
    assert ok(cbor_call(server, "CreateStream", create)) == {}
    wait_for_active(server, name)

    records = indefinite_array(*[
        indefinite_map(("Data", cbor2.dumps(b"indef-%d" % i)),
                       ("PartitionKey", cbor2.dumps("pk-%d" % i)))
        for i in range(3)])
    batch = ok(cbor_call(server, "PutRecords", indefinite_map(
        ("StreamName", cbor2.dumps(name)), ("Records", records))))
    assert batch["FailedRecordCount"] == 0
    assert len(batch["Records"]) == 3

    got = read_all(server, name, "shardId-000000000000", {"ShardIteratorType": "TRIM_HORIZON"})
    assert [r["Data"] for r in got] == [b"indef-0", b"indef-1", b"indef-2"]
    assert [r["PartitionKey"] for r in got] == ["pk-0", "pk-1", "pk-2"]
    assert [r["SequenceNumber"] for r in got] == [r["SequenceNumber"] for r in batch["Records"]]
    ok(cbor_call(server, "DeleteStream", {"StreamName": name}))
