"""Robustness: bad input gets an AWS error, never a crash, a hang or lost data.

Deterministic (seeded) mutations of valid, SigV4-signed Kinesis requests are sent over raw
sockets to a real `sluice serve` process (TLS enabled, so the plain port also sniffs TLS):
truncated bodies, byte flips in JSON and CBOR bodies, wrong types for every member of several
operations, huge numbers, deep nesting, invalid UTF-8, unknown targets, bad content types, broken
HTTP/1.1 framing (bad chunk sizes, conflicting Content-Length, header floods), HTTP/2 garbage after
the connection preface and TLS garbage on the plain port.

After every case the response (if any) must be a well-formed HTTP/1.1 response; requests with
valid framing must get an AWS-shaped answer (a JSON or CBOR error body with `__type`, or AWS's XML
for unsupported content types), broken framing a 4xx or a closed connection. The server must then
still answer ListStreams promptly: every socket has a timeout, so a hang fails the test. Records
written before the fuzzing must all be readable after it, and again after a restart.

Mutated bodies are signed after mutation, so the cases reach the decoders rather than stopping at
authentication. Bases of operations that change state name a stream that does not exist or carry
an invalid member, so a mutation cannot delete or reshard anything.
"""
import base64
import json
import random
import re
import socket
import ssl
import struct
import time

import cbor2
import pytest

from helpers import (SluiceServer, client_for, create_stream_and_wait, free_port, list_all_shards,
                     sigv4_headers, unique_name)
from test_cbor import decode_strict  # keeps tag 1 (milliseconds) visible; cbor2 reads seconds

SEED = 0x5111CE
JSON_CT = "application/x-amz-json-1.1"
CBOR_CT = "application/x-amz-cbor-1.1"
PREFIX = "Kinesis_20131202."
IO_TIMEOUT_S = 10.0      # no answer and no close within this time is a hang
ALIVE_MAX_S = 2.0        # ListStreams after a case must answer within this time
ABSENT = "rb-absent-stream"

# Operations whose bases may legitimately succeed after a mutation (they only read or add data).
MAY_SUCCEED = {"ListStreams", "ListShards", "DescribeStream", "DescribeStreamSummary",
               "GetShardIterator", "GetRecords", "PutRecord", "PutRecords", "ListTagsForStream",
               "DescribeLimits"}
# Error types a request with valid framing may get (AWS's texts are checked by other tests).
AWS_ERROR_TYPES = {"SerializationException", "ValidationException", "UnknownOperationException",
                   "ResourceNotFoundException", "InvalidArgumentException", "ResourceInUseException",
                   "LimitExceededException", "ExpiredIteratorException",
                   "ProvisionedThroughputExceededException", "AccessDeniedException",
                   "MissingAuthenticationTokenException", "IncompleteSignatureException",
                   "InvalidSignatureException", "UnrecognizedClientException",
                   "ExpiredNextTokenException", "InternalFailure"}


# --- raw HTTP/1.1 --------------------------------------------------------------------------------

class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def __repr__(self):
        return "Resp(%d, %r, %r)" % (self.status, self.headers.get("content-type"), self.body[:200])


class Hang(AssertionError):
    pass


def _recv(sock):
    try:
        return sock.recv(65536)
    except socket.timeout:
        raise Hang("no answer and no close within %.0f s" % IO_TIMEOUT_S)
    except (ConnectionResetError, BrokenPipeError):
        return b""


def read_response(sock, buf=b""):
    """Read one HTTP/1.1 response; None when the server closed without answering.

    Returns (Resp or None, leftover bytes). Raises AssertionError on a malformed response and
    Hang when nothing happens within the socket timeout.
    """
    while b"\r\n\r\n" not in buf:
        chunk = _recv(sock)
        if not chunk:
            assert not buf, "connection closed inside a response head: %r" % buf[:300]
            return None, b""
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    m = re.fullmatch(rb"HTTP/1\.1 ([1-5]\d\d) [ -~]*", lines[0])
    assert m, "bad status line %r" % lines[0]
    status = int(m.group(1))
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        assert sep and re.fullmatch(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name), "bad header %r" % line
        headers[name.decode().lower()] = value.strip().decode("latin-1")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            while b"\r\n" not in rest:
                chunk = _recv(sock)
                assert chunk, "connection closed inside a chunked body"
                rest += chunk
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                chunk = _recv(sock)
                assert chunk, "connection closed inside a chunk"
                rest += chunk
            if size == 0:
                rest = rest[2:]
                break
            body += rest[:size]
            rest = rest[size + 2:]
    else:
        assert "content-length" in headers, "response without Content-Length: %r" % head
        n = int(headers["content-length"])
        while len(rest) < n:
            chunk = _recv(sock)
            assert chunk, "connection closed inside a body (%d of %d bytes)" % (len(rest), n)
            rest += chunk
        body, rest = rest[:n], rest[n:]
    return Resp(status, headers, body), rest


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT_S)
    sock.settimeout(IO_TIMEOUT_S)
    return sock


def send_and_half_close(sock, data, half_close=True):
    """Send and shut down our side; the server may already have rejected and closed."""
    try:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
    except socket.timeout:
        raise Hang("the server stopped reading for %.0f s" % IO_TIMEOUT_S)
    except OSError:
        pass  # EPIPE, ECONNRESET, ENOTCONN: it rejected the request before reading all of it


def exchange(port, data, half_close=True):
    """Send raw bytes, half-close, and read one response (None = closed without one)."""
    with connect(port) as sock:
        send_and_half_close(sock, data, half_close)
        resp, _ = read_response(sock)
        return resp


def wait_closed(sock):
    """After a fatal error the server must close the connection (not leave it hanging)."""
    while True:
        if not _recv(sock):
            return


def build_request(port, target, body, content_type=JSON_CT, extra=(), sign=True, drop=()):
    """Bytes of a POST / with a valid SigV4 signature over `body` (as boto3 would send it)."""
    endpoint = "http://127.0.0.1:%d" % port
    if sign:
        hdrs = sigv4_headers(endpoint, target, body, content_type)
    else:
        hdrs = {"Content-Type": content_type, "X-Amz-Target": target}
    hdrs = {k: v for k, v in hdrs.items() if v is not None and k.lower() not in drop}
    lines = ["POST / HTTP/1.1", "Host: 127.0.0.1:%d" % port]
    lines += ["%s: %s" % (k, v) for k, v in hdrs.items() if k.lower() != "host"]
    if "content-length" not in drop:
        lines.append("Content-Length: %d" % len(body))
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def decode_body(resp):
    ct = resp.headers.get("content-type", "")
    if ct.startswith(CBOR_CT):
        return decode_strict(resp.body)
    if ct.startswith(JSON_CT) or ct.startswith("application/json"):
        return json.loads(resp.body)
    return None


def check_aws_answer(resp, op=None, allow_success=False, what=""):
    """A request with valid framing gets 200 (if allowed) or an AWS-shaped error."""
    assert resp is not None, "%s: connection closed without an answer" % what
    assert "x-amzn-requestid" in resp.headers, "%s: no request id: %r" % (what, resp)
    if resp.status == 200:
        assert allow_success or (op in MAY_SUCCEED), "%s: unexpected success %r" % (what, resp)
        decode_body(resp)  # must parse in the request's content type
        return None
    assert 400 <= resp.status < 600, "%s: status %r" % (what, resp)
    ct = resp.headers.get("content-type")
    if ct is None:
        # AWS answers unsupported content types and targets with small XML documents.
        assert resp.status in (403, 404) and re.match(rb"<\w+Exception[/>]", resp.body), \
            "%s: %r" % (what, resp)
        return None
    doc = decode_body(resp)
    assert isinstance(doc, dict), "%s: error body %r" % (what, resp)
    if "Output" in doc:  # application/json (the legacy protocol) gets its own envelope
        etype = doc["Output"]["__type"].rsplit("#", 1)[-1]
    else:
        etype = doc.get("__type")
    assert etype in AWS_ERROR_TYPES, "%s: error type %r in %r" % (what, etype, resp)
    assert (resp.status >= 500) == (etype == "InternalFailure"), "%s: %r" % (what, resp)
    return etype


def check_framing_reject(resp, what=""):
    assert resp is None or 400 <= resp.status < 600, "%s: broken framing accepted: %r" % (what, resp)


# --- server, liveness and data --------------------------------------------------------------------

class Ctx:
    def __init__(self, srv):
        self.srv = srv
        self.port = srv.port
        self.client = client_for(srv)
        self.cases = 0
        self._alive_req = build_request(srv.port, PREFIX + "ListStreams", b"{}")

    def alive(self, what):
        """The server process runs and answers a ListStreams within ALIVE_MAX_S."""
        self.cases += 1
        assert self.srv.alive(), "server died after %s; stderr:\n%s" % (what, self.srv.stderr_tail())
        start = time.monotonic()
        with connect(self.port) as sock:
            sock.settimeout(ALIVE_MAX_S)
            sock.sendall(self._alive_req)
            try:
                resp, _ = read_response(sock)
            except Hang:
                raise Hang("ListStreams hung after %s" % what)
        took = time.monotonic() - start
        assert resp is not None and resp.status == 200, "ListStreams after %s: %r" % (what, resp)
        assert b"StreamNames" in resp.body
        assert took < ALIVE_MAX_S, "ListStreams took %.2f s after %s" % (took, what)

    def run(self, what, data, check, half_close=True):
        try:
            resp = exchange(self.port, data, half_close)
        except (AssertionError, ValueError) as e:
            raise AssertionError("%s: %s" % (what, e)) from e
        check(resp)
        self.alive(what)
        return resp


@pytest.fixture(scope="module")
def ctx():
    srv = SluiceServer(options={"tls_port": free_port()})
    srv.start()
    c = Ctx(srv)
    yield c
    crashed = srv.crashed()
    rc = srv.stop()
    if crashed or rc != 0:
        pytest.fail("server exited with status %s%s; stderr:\n%s"
                    % (rc, " (crashed)" if crashed else " on SIGTERM", srv.stderr_tail()))
    srv.cleanup()


@pytest.fixture(scope="module")
def data(ctx):
    """A 2-shard stream holding 60 records written before any fuzzing, and a valid iterator."""
    name = unique_name("rb")
    create_stream_and_wait(ctx.client, name, 2)
    rng = random.Random(SEED)
    written = {}
    for i in range(60):
        payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        r = ctx.client.put_record(StreamName=name, PartitionKey="pk-%d" % i, Data=payload)
        written[r["SequenceNumber"]] = (r["ShardId"], payload)
    shard = list_all_shards(ctx.client, name)[0]["ShardId"]
    it = ctx.client.get_shard_iterator(StreamName=name, ShardId=shard,
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return {"name": name, "written": written, "shard": shard, "iterator": it}


def read_everything(client, name):
    got = {}
    for shard in list_all_shards(client, name):
        it = client.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for _ in range(1000):
            r = client.get_records(ShardIterator=it, Limit=10000)
            for rec in r["Records"]:
                got[rec["SequenceNumber"]] = (shard["ShardId"], rec["Data"])
            if not r["Records"] and r.get("MillisBehindLatest", 0) == 0:
                break
            it = r.get("NextShardIterator")
            if not it:
                break
    return got


def assert_no_loss(ctx, data):
    got = read_everything(ctx.client, data["name"])
    missing = [s for s in data["written"] if s not in got]
    assert not missing, "%d records lost, e.g. %s" % (len(missing), missing[:3])
    for seq, value in data["written"].items():
        assert got[seq] == value, "record %s changed" % seq


# --- request bases --------------------------------------------------------------------------------

def bases(data):
    """(operation, document) pairs: realistic requests; blobs are bytes, timestamps datetimes."""
    import datetime
    ts = datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)
    name = data["name"]
    return [
        ("PutRecord", {"StreamName": name, "Data": b"robust", "PartitionKey": "pk",
                       "ExplicitHashKey": "12345"}),
        ("PutRecords", {"StreamName": name, "Records": [
            {"Data": b"a" * 20, "PartitionKey": "k1"},
            {"Data": b"\x00\xff", "PartitionKey": "k2", "ExplicitHashKey": "99"}]}),
        ("GetShardIterator", {"StreamName": name, "ShardId": data["shard"],
                              "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": ts}),
        ("GetRecords", {"ShardIterator": data["iterator"], "Limit": 5}),
        ("ListShards", {"StreamName": name, "MaxResults": 10,
                        "ShardFilter": {"Type": "FROM_TIMESTAMP", "Timestamp": ts}}),
        ("DescribeStream", {"StreamName": name, "Limit": 3}),
        ("ListStreams", {"Limit": 5, "ExclusiveStartStreamName": "a"}),
        # State-changing operations: an absent stream or an invalid member keeps them harmless.
        ("AddTagsToStream", {"StreamName": ABSENT, "Tags": {"team": "data", "env": "x"}}),
        ("CreateStream", {"StreamName": "bad name!", "ShardCount": 0,
                          "StreamModeDetails": {"StreamMode": "PROVISIONED"}, "Tags": {"a": "b"}}),
        ("IncreaseStreamRetentionPeriod", {"StreamName": ABSENT, "RetentionPeriodHours": 48}),
        ("SplitShard", {"StreamName": ABSENT, "ShardToSplit": "shardId-000000000000",
                        "NewStartingHashKey": "170141183460469231731687303715884105728"}),
        ("MergeShards", {"StreamName": ABSENT, "ShardToMerge": "shardId-000000000000",
                         "AdjacentShardToMerge": "shardId-000000000001"}),
        ("UpdateShardCount", {"StreamName": ABSENT, "TargetShardCount": 2,
                              "ScalingType": "UNIFORM_SCALING"}),
        ("DeleteStream", {"StreamName": ABSENT, "EnforceConsumerDeletion": True}),
    ]


def to_json_doc(v):
    import datetime
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, datetime.datetime):
        return v.timestamp()
    if isinstance(v, dict):
        return {k: to_json_doc(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_json_doc(x) for x in v]
    return v


def encode(doc, fmt):
    if fmt == "json":
        return json.dumps(to_json_doc(doc), separators=(",", ":")).encode()
    return cbor2.dumps(doc, datetime_as_timestamp=True)


def ct_of(fmt):
    return JSON_CT if fmt == "json" else CBOR_CT


def paths(doc, prefix=()):
    """Every member path (dict keys and list indexes) of a document."""
    out = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    for k, v in items:
        out.append(prefix + (k,))
        out += paths(v, prefix + (k,))
    return out


def replaced(doc, path, value):
    import copy
    d = copy.deepcopy(doc)
    cur = d
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return d


# --- the cases --------------------------------------------------------------------------------------

def test_valid_bases_answer(ctx, data):
    """The bases themselves are well-formed: each gets 200 or the expected AWS error."""
    for fmt in ("json", "cbor"):
        for op, doc in bases(data):
            req = build_request(ctx.port, PREFIX + op, encode(doc, fmt), ct_of(fmt))
            resp = ctx.run("base %s/%s" % (op, fmt), req, lambda r: None)
            etype = check_aws_answer(resp, op, what="base %s/%s" % (op, fmt))
            if op in ("PutRecord", "PutRecords", "ListStreams", "DescribeStream", "ListShards",
                      "GetShardIterator", "GetRecords"):
                assert resp.status == 200, "base %s/%s: %r" % (op, fmt, resp)
            elif op == "CreateStream":
                assert etype == "ValidationException"
            else:
                assert etype == "ResourceNotFoundException", "base %s/%s: %r" % (op, fmt, resp)


def test_truncated_bodies(ctx, data):
    """Every strict prefix of a JSON or CBOR body is a SerializationException (400)."""
    rng = random.Random(SEED + 1)
    for fmt in ("json", "cbor"):
        for op, doc in bases(data):
            body = encode(doc, fmt)
            cuts = sorted(set([0, 1, len(body) - 1] + [rng.randrange(len(body)) for _ in range(12)]))
            for cut in cuts:
                what = "%s/%s cut at %d of %d" % (op, fmt, cut, len(body))
                req = build_request(ctx.port, PREFIX + op, body[:cut], ct_of(fmt))
                resp = ctx.run(what, req, lambda r: None)
                etype = check_aws_answer(resp, op, what=what)
                assert resp.status == 400 and etype == "SerializationException", "%s: %r" % (what, resp)


def mutate(rng, body):
    b = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(5)
        pos = rng.randrange(len(b)) if b else 0
        if kind == 0 and b:
            b[pos] ^= 1 << rng.randrange(8)
        elif kind == 1 and b:
            b[pos] = rng.randrange(256)
        elif kind == 2:
            b[pos:pos] = bytes([rng.choice(b'{}[]",:0\\\xff\x9f\xbf\xa1\x00' + bytes([rng.randrange(256)]))])
        elif kind == 3 and b:
            del b[pos:pos + rng.randint(1, 3)]
        else:
            b[pos:pos] = b[pos:pos + rng.randint(1, 8)]  # duplicate a slice
    return bytes(b)


def test_byte_flips(ctx, data):
    rng = random.Random(SEED + 2)
    counts = {}
    for fmt in ("json", "cbor"):
        for op, doc in bases(data):
            body = encode(doc, fmt)
            for i in range(45):
                mutated = mutate(rng, body)
                what = "%s/%s flip #%d %r" % (op, fmt, i, mutated[:120])
                req = build_request(ctx.port, PREFIX + op, mutated, ct_of(fmt))
                resp = ctx.run(what, req, lambda r: None)
                etype = check_aws_answer(resp, op, what=what)
                assert etype != "InternalFailure", "%s: %r" % (what, resp)
                counts[etype] = counts.get(etype, 0) + 1
    # The mutations reach the decoders and the validator, not only the first check.
    assert counts.get("SerializationException", 0) > 100
    assert counts.get(None, 0) + counts.get("ValidationException", 0) + \
        counts.get("ResourceNotFoundException", 0) > 50, counts


WRONG_JSON = [True, False, 0, -1, 1.5, "x", "", [], [1, "a"], {}, {"a": {"b": []}}, None]
WRONG_CBOR = WRONG_JSON + [b"\x00bytes", cbor2.CBORTag(1, 1700000000000), 2 ** 64 - 1, -2 ** 64,
                           float("nan"), float("inf"), cbor2.CBORTag(2, b"\x01" * 20),
                           cbor2.undefined]


def test_wrong_types_for_every_member(ctx, data):
    """Each member (nested ones too) replaced by values of every other type."""
    for fmt, values in (("json", WRONG_JSON), ("cbor", WRONG_CBOR)):
        for op, doc in bases(data):
            for path in paths(doc):
                for value in values:
                    mutated = replaced(doc, path, value)
                    what = "%s/%s %s=%r" % (op, fmt, "/".join(map(str, path)), value)
                    req = build_request(ctx.port, PREFIX + op, encode(mutated, fmt), ct_of(fmt))
                    resp = ctx.run(what, req, lambda r: None)
                    etype = check_aws_answer(resp, op, what=what)
                    assert etype != "InternalFailure", "%s: %r" % (what, resp)


HUGE_JSON = [b"1e400", b"-1e400", b"99999999999999999999999999999", b"-9223372036854775809",
             b"9223372036854775808", b"18446744073709551616", b"1.7976931348623157e309", b"1e-400",
             b"123456789012345678901234567890.5", b"-0", b"0e99999999999", b"1" * 5000,
             b"-" + b"9" * 400 + b".9e-99999999999999999999", b"2147483648", b"-2147483649"]
HUGE_CBOR = [2 ** 64 - 1, -2 ** 64, 2 ** 63, -2 ** 63 - 1, 2 ** 31, float("inf"), float("-inf"),
             float("nan"), 1e308, -1e308, 5e-324, cbor2.CBORTag(1, 2 ** 64 - 1),
             cbor2.CBORTag(1, -2 ** 64), cbor2.CBORTag(1, float("inf")), cbor2.CBORTag(1, float("nan")),
             cbor2.CBORTag(1, 1e300), cbor2.CBORTag(2, b"\xff" * 64), cbor2.CBORTag(3, b"\xff" * 64)]

NUMERIC_MEMBERS = [("ListStreams", "Limit"), ("DescribeStream", "Limit"), ("ListShards", "MaxResults"),
                   ("GetRecords", "Limit"), ("CreateStream", "ShardCount"),
                   ("IncreaseStreamRetentionPeriod", "RetentionPeriodHours"),
                   ("UpdateShardCount", "TargetShardCount"), ("GetShardIterator", "Timestamp")]


def test_huge_numbers(ctx, data):
    docs = dict(bases(data))
    for op, member in NUMERIC_MEMBERS:
        for lit in HUGE_JSON:
            text = json.dumps(to_json_doc(replaced(docs[op], (member,), "@@N@@")), separators=(",", ":"))
            body = text.encode().replace(b'"@@N@@"', lit)
            what = "%s json %s=%r" % (op, member, lit[:40])
            resp = ctx.run(what, build_request(ctx.port, PREFIX + op, body), lambda r: None)
            etype = check_aws_answer(resp, op, what=what)
            assert etype != "InternalFailure", "%s: %r" % (what, resp)
        for value in HUGE_CBOR:
            body = cbor2.dumps(replaced(docs[op], (member,), value), datetime_as_timestamp=True)
            what = "%s cbor %s=%r" % (op, member, value)
            resp = ctx.run(what, build_request(ctx.port, PREFIX + op, body, CBOR_CT), lambda r: None)
            etype = check_aws_answer(resp, op, what=what)
            assert etype != "InternalFailure", "%s: %r" % (what, resp)


def test_deep_nesting(ctx, data):
    """Nesting far beyond the decoders' depth limit is a SerializationException, at the top level
    and inside a member."""
    cases = []
    for depth in (64, 65, 200, 5000, 200000):
        cases.append((depth, "json", b"[" * depth + b"]" * depth))
        cases.append((depth, "json", b'{"Limit":' + b"[" * depth + b"]" * depth + b"}"))
        cases.append((depth, "json", b'{"a":' * depth + b"1" + b"}" * depth))
        cases.append((depth, "json", b'{"StreamName":"x","Records":' + b"[" * depth))  # unterminated
        cases.append((depth, "cbor", b"\x81" * depth + b"\x01"))
        cases.append((depth, "cbor", b"\xa1\x61a" * depth + b"\x01"))
        cases.append((depth, "cbor", b"\xa1\x65Limit" + b"\x9f" * depth + b"\xff" * depth))
        cases.append((depth, "cbor", b"\xa1\x65Limit" + b"\xc1" * depth + b"\x01"))  # nested tags
    for depth, fmt, body in cases:
        for op in ("ListStreams", "PutRecords"):
            what = "%s %s nesting %d deep" % (op, fmt, depth)
            resp = ctx.run(what, build_request(ctx.port, PREFIX + op, body, ct_of(fmt)), lambda r: None)
            etype = check_aws_answer(resp, op, what=what)
            if depth > 100:
                assert etype == "SerializationException", "%s: %r" % (what, resp)


BAD_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80",
            b"abc\xf0\x9f\x98", b"\xfe\xfe\xff\xff", b"\xc3\x28", b"\xf8\x88\x80\x80\x80"]


def test_invalid_utf8(ctx, data):
    """Invalid UTF-8 in strings and map keys, raw or as escapes, is a SerializationException."""
    name = data["name"]
    for bad in BAD_UTF8:
        json_cases = [
            b'{"StreamName":"' + bad + b'"}',
            b'{"StreamName":"' + name.encode() + b'","PartitionKey":"k' + bad + b'","Data":"AA=="}',
            b'{"StreamName":"' + name.encode() + b'","Tags":{"' + bad + b'":"v"}}',
            b'{"' + bad + b'":1}',
        ]
        for body in json_cases:
            for op in ("DescribeStreamSummary", "PutRecord", "AddTagsToStream"):
                what = "%s json utf8 %r" % (op, body[:80])
                resp = ctx.run(what, build_request(ctx.port, PREFIX + op, body), lambda r: None)
                etype = check_aws_answer(resp, op, what=what)
                assert etype == "SerializationException", "%s: %r" % (what, resp)
        text = bytes([0x60 + len(bad)]) + bad  # CBOR text string header (short lengths)
        cbor_cases = [
            b"\xa1\x6aStreamName" + text,
            b"\xa1" + text + b"\x01",
            b"\xa2\x6aStreamName\x61x\x64Tags\xa1" + text + b"\x61v",
            b"\xa1\x6aStreamName\x7f" + text + b"\x61a\xff",  # indefinite text, bad chunk
        ]
        for body in cbor_cases:
            for op in ("DescribeStreamSummary", "AddTagsToStream"):
                what = "%s cbor utf8 %r" % (op, body[:80])
                resp = ctx.run(what, build_request(ctx.port, PREFIX + op, body, CBOR_CT), lambda r: None)
                etype = check_aws_answer(resp, op, what=what)
                assert etype == "SerializationException", "%s: %r" % (what, resp)
    for esc in (rb"\ud800", rb"\udc00x", rb"\ud800\u0041", rb"\uZZZZ", rb"\u12", rb"\x41"):
        body = b'{"StreamName":"a' + esc + b'"}'
        what = "json escape %r" % esc
        resp = ctx.run(what, build_request(ctx.port, PREFIX + "DescribeStreamSummary", body),
                       lambda r: None)
        assert check_aws_answer(resp, what=what) == "SerializationException", "%s: %r" % (what, resp)


def test_unknown_targets(ctx):
    rng = random.Random(SEED + 3)
    targets = ["Kinesis_20131202.Nope", "Kinesis_20131202.", "Kinesis_20131202", ".ListStreams",
               "Kinesis_20131203.ListStreams", "Firehose_20150805.ListDeliveryStreams",
               "Kinesis_20131202.ListStreams.x", "Kinesis_20131202.List Streams",
               "Kinesis_20131202." + "A" * 8000, "Kinesis_20131202.\u00e9t\u00e9".encode().decode("latin-1"),
               "Kinesis_20131202.ListStreamz", ""]
    targets += ["".join(rng.choice("abcXYZ_.019") for _ in range(rng.randint(1, 40))) for _ in range(40)]
    for target in targets:
        for fmt in ("json", "cbor"):
            body = encode({"Limit": 1}, fmt)
            what = "target %r %s" % (target[:60], fmt)
            resp = ctx.run(what, build_request(ctx.port, target, body, ct_of(fmt)), lambda r: None)
            etype = check_aws_answer(resp, what=what)
            assert etype == "UnknownOperationException", "%s: %r" % (what, resp)
    # No target at all.
    req = build_request(ctx.port, None, b"{}", drop=("x-amz-target",))
    resp = ctx.run("no target", req, lambda r: None)
    assert check_aws_answer(resp, what="no target") == "UnknownOperationException"


def test_bad_content_types(ctx):
    types = ["text/plain", "", "application/x-amz-json-1.0", "application/xml", "application/cbor",
             "application/x-amz-json-1.1x", "application/x-amz-json-1.1 garbage", "x" * 4000,
             "application/json", "multipart/form-data; boundary=x", ";;;", "application/x-amz-json",
             "APPLICATION/X-AMZ-JSON-1.1", "application/x-amz-cbor-1.1; charset=utf-8",
             " application/x-amz-json-1.1 ", "application/x-amz-json-1.1\t;q=1"]
    for ct in types:
        for body in (b'{"Limit":1}', cbor2.dumps({"Limit": 1}), b"", b"\x00\xff"):
            for target in (PREFIX + "ListStreams", PREFIX + "Nope"):
                what = "content type %r body %r target %s" % (ct[:40], body[:10], target)
                req = build_request(ctx.port, target, body, ct)
                resp = ctx.run(what, req, lambda r: None)
                check_aws_answer(resp, "ListStreams" if target.endswith("ListStreams") else None,
                                 what=what)


def framing_cases(port):
    ok = build_request(port, PREFIX + "ListStreams", b"{}")
    head, body = ok.split(b"\r\n\r\n", 1)
    head_nocl = b"\r\n".join(l for l in head.split(b"\r\n") if not l.lower().startswith(b"content-length"))
    chunked = head_nocl + b"\r\nTransfer-Encoding: chunked"
    cases = [
        ("CL not a number", head_nocl + b"\r\nContent-Length: abc\r\n\r\n{}"),
        ("CL negative", head_nocl + b"\r\nContent-Length: -1\r\n\r\n{}"),
        ("CL overflow", head_nocl + b"\r\nContent-Length: 99999999999999999999999\r\n\r\n{}"),
        ("CL list", head_nocl + b"\r\nContent-Length: 2, 3\r\n\r\n{}"),
        ("CL conflicting", head_nocl + b"\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{} "),
        ("CL and TE", head + b"\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
        ("CL plus sign", head_nocl + b"\r\nContent-Length: +2\r\n\r\n{}"),
        ("CL hex", head_nocl + b"\r\nContent-Length: 0x2\r\n\r\n{}"),
        ("CL over body max", head_nocl + b"\r\nContent-Length: 17000000\r\n\r\n{}"),
        ("TE unknown", head_nocl + b"\r\nTransfer-Encoding: gzip\r\n\r\n{}"),
        ("TE gzip chunked", head_nocl + b"\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
        ("chunk size garbage", chunked + b"\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
        ("chunk size negative", chunked + b"\r\n\r\n-2\r\n{}\r\n0\r\n\r\n"),
        ("chunk size overflow", chunked + b"\r\n\r\nffffffffffffffffffff\r\n{}\r\n0\r\n\r\n"),
        ("chunk size huge", chunked + b"\r\n\r\n7fffffffffffffff\r\n{}\r\n0\r\n\r\n"),
        ("chunk over body max", chunked + b"\r\n\r\n1100000\r\n{}"),
        ("chunk missing CRLF", chunked + b"\r\n\r\n2\r\n{}XX0\r\n\r\n"),
        ("chunk too long", chunked + b"\r\n\r\n1\r\n{}\r\n0\r\n\r\n"),
        ("chunk ext garbage", chunked + b"\r\n\r\n2;\x01\x02\r\n{}\r\n0\r\n\r\n"),
        ("chunk no end", chunked + b"\r\n\r\n2\r\n{}\r\n"),
        ("chunk size spaces", chunked + b"\r\n\r\n 2 \r\n{}\r\n0\r\n\r\n"),
        ("chunk trailer flood", chunked + b"\r\n\r\n2\r\n{}\r\n0\r\n" + b"X-T: y\r\n" * 20000 + b"\r\n"),
        ("header without colon", head + b"\r\nNoColonHere\r\n\r\n" + body),
        ("space before colon", head + b"\r\nX-Foo : bar\r\n\r\n" + body),
        ("obs-fold", head + b"\r\nX-Foo: a\r\n  folded\r\n\r\n" + body),
        ("NUL in header", head + b"\r\nX-Foo: a\x00b\r\n\r\n" + body),
        ("CR in header", head + b"\r\nX-Foo: a\rb\r\n\r\n" + body),
        ("header flood", head + b"\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(300)) + b"\r\n" + body),
        ("huge header", head + b"\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n" + body),
        ("huge request line", b"POST /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n"),
        ("endless headers", head + b"\r\n" + b"X-A: b\r\n" * 20000),
        ("bad version", b"POST / HTTP/9.9\r\nContent-Length: 0\r\n\r\n"),
        ("no version", b"POST /\r\n\r\n"),
        ("bad method", b"P\x00ST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
        ("garbage line", b"\x03\x01GARBAGE\r\n\r\n"),
        ("empty lines only", b"\r\n" * 5000),
        ("lone LF flood", b"\n" * 100000),
        ("binary", bytes(range(256))[1:] * 4),
        ("pipelined garbage", ok + b"GARBAGE GARBAGE\r\n\r\n"),
        ("pipelined bad CL", ok + head_nocl + b"\r\nContent-Length: x\r\n\r\n"),
    ]
    return ok, cases


def test_broken_framing(ctx):
    ok, cases = framing_cases(ctx.port)
    for what, data in cases:
        with connect(ctx.port) as sock:
            send_and_half_close(sock, data)
            try:
                resp, rest = read_response(sock)
                if what.startswith("pipelined"):
                    assert resp is not None and resp.status == 200, "%s: first request %r" % (what, resp)
                    resp, rest = read_response(sock, rest)
                check_framing_reject(resp, what)
                if resp is not None:
                    assert resp.status in (400, 411, 413, 414, 431, 501, 505), "%s: %r" % (what, resp)
                    wait_closed(sock)  # no resynchronisation after a framing error
            except (AssertionError, ValueError) as e:
                raise AssertionError("%s: %s" % (what, e)) from e
        ctx.alive(what)


def test_mutated_request_heads(ctx):
    """Random byte changes in the head of a valid request: any well-formed answer, no hang."""
    rng = random.Random(SEED + 4)
    ok = build_request(ctx.port, PREFIX + "ListStreams", b'{"Limit":2}')
    head_len = ok.index(b"\r\n\r\n") + 4
    for i in range(300):
        data = mutate(rng, ok[:head_len]) + ok[head_len:]
        what = "head mutation #%d %r" % (i, data[:80])
        with connect(ctx.port) as sock:
            send_and_half_close(sock, data)
            try:
                resp, _ = read_response(sock)
                if resp is not None and resp.status < 400:
                    assert resp.status == 200 and b"StreamNames" in resp.body, "%s: %r" % (what, resp)
                while resp is not None:  # more responses may follow (a mutated length)
                    resp, _ = read_response(sock)
            except (AssertionError, ValueError) as e:
                raise AssertionError("%s: %s" % (what, e)) from e
        ctx.alive(what)


def test_byte_by_byte_and_stalled_clients(ctx, data):
    """Requests dripped one byte per write parse like whole ones; many stalled half-sent requests
    do not keep other clients waiting."""
    rng = random.Random(SEED + 8)
    docs = bases(data)
    for i in range(8):
        op, doc = docs[i % len(docs)]
        fmt = "json" if i % 2 == 0 else "cbor"
        body = encode(doc, fmt) if i < 4 else mutate(rng, encode(doc, fmt))
        req = build_request(ctx.port, PREFIX + op, body, ct_of(fmt))
        what = "drip %s/%s #%d" % (op, fmt, i)
        with connect(ctx.port) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for k in range(len(req)):
                sock.send(req[k:k + 1])
            resp, _ = read_response(sock)
        check_aws_answer(resp, op, what=what)
        ctx.alive(what)
    stalled = []
    try:
        for i in range(300):
            sock = connect(ctx.port)
            req = build_request(ctx.port, PREFIX + "PutRecord", b'{"StreamName":"x"}')
            sock.sendall(req[:rng.randrange(1, len(req))])  # never completed
            stalled.append(sock)
        ctx.alive("300 stalled connections")
        # A stalled request that finally completes is answered normally.
        sock = connect(ctx.port)
        req = build_request(ctx.port, PREFIX + "ListStreams", b"{}")
        sock.sendall(req[:40])
        ctx.alive("one more stalled connection")
        sock.sendall(req[40:])
        resp, _ = read_response(sock)
        assert resp is not None and resp.status == 200, resp
        sock.close()
    finally:
        for sock in stalled:
            sock.close()
    ctx.alive("closing stalled connections")


def random_garbage(rng):
    return bytes(rng.randrange(256) for _ in range(rng.randint(1, 3000)))


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def test_http2_garbage_after_preface(ctx):
    """After the HTTP/2 preface the server speaks HTTP/2 frames; garbage ends the connection."""
    rng = random.Random(SEED + 5)
    settings = h2_frame(4, 0, 0, b"")
    cases = [
        h2_frame(0, 0, 1, b"data on an idle stream"),
        h2_frame(1, 4, 1, b"\xff" * 50),                    # HEADERS with garbage HPACK
        h2_frame(1, 4, 2, b"\x82\x84\x86"),                  # even stream id from a client
        h2_frame(8, 0, 0, b"\x00\x00\x00\x00"),              # WINDOW_UPDATE of 0
        h2_frame(8, 0, 0, b"\x7f\xff\xff\xff") * 3,         # window overflow
        h2_frame(4, 0, 0, b"\x00\x04\xff\xff\xff\xff"),      # INITIAL_WINDOW_SIZE too big
        h2_frame(4, 0, 0, b"\x00\x05\x00\x00\x00\x01"),      # MAX_FRAME_SIZE too small
        h2_frame(4, 0, 0, b"\x00"),                          # bad SETTINGS length
        h2_frame(4, 1, 0, b"\x00\x00\x00\x00\x00\x00"),      # ACK with payload
        h2_frame(6, 0, 0, b"1234567"),                        # short PING
        h2_frame(3, 0, 0, b"\x00\x00\x00\x08"),               # RST_STREAM on stream 0
        b"\xff\xff\xff\x00\x00\x00\x00\x00\x01",             # 16 MiB frame header
        h2_frame(9, 0, 1, b"x" * 10),                         # CONTINUATION without HEADERS
        h2_frame(1, 0, 1, b"\x82\x84") + h2_frame(0, 0, 3, b"x"),  # interleaved
        b"GET / HTTP/1.1\r\n\r\n",
    ]
    cases += [random_garbage(rng) for _ in range(60)]
    for i, garbage in enumerate(cases):
        for with_settings in (False, True):
            what = "h2 case #%d (settings %s) %r" % (i, with_settings, garbage[:40])
            with connect(ctx.port) as sock:
                send_and_half_close(sock, H2_PREFACE + (settings if with_settings else b"") + garbage)
                got = b""
                while True:
                    chunk = _recv(sock)
                    if not chunk:
                        break
                    got += chunk
                # Whatever came back is HTTP/2 frames, starting with the server's SETTINGS.
                if got:
                    assert len(got) >= 9 and got[3] == 4, "%s: %r" % (what, got[:40])
            ctx.alive(what)


def hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_literal(name, value):
    """Literal header field without indexing, new name, no Huffman coding (RFC 7541 6.2.2)."""
    name, value = name.encode("latin-1"), value.encode("latin-1")
    return b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


def h2_request(port, target, body, content_type):
    hdrs = sigv4_headers("http://127.0.0.1:%d" % port, target, body, content_type)
    block = b"".join([hpack_literal(":method", "POST"), hpack_literal(":scheme", "http"),
                      hpack_literal(":path", "/"), hpack_literal(":authority", "127.0.0.1:%d" % port)])
    for k, v in hdrs.items():
        if k.lower() != "host":
            block += hpack_literal(k.lower(), v)
    block += hpack_literal("content-length", str(len(body)))
    data = H2_PREFACE + h2_frame(4, 0, 0, b"") + h2_frame(1, 4, 1, block)  # END_HEADERS
    for off in range(0, max(len(body), 1), 16384):
        last = off + 16384 >= len(body)
        data += h2_frame(0, 1 if last else 0, 1, body[off:off + 16384])
    return data


def h2_answer(sock):
    """Frames until stream 1 ends; returns its DATA payload. Fails on RST_STREAM or GOAWAY."""
    buf, body = b"", b""
    while True:
        while len(buf) < 9 or len(buf) < 9 + int.from_bytes(buf[:3], "big"):
            chunk = _recv(sock)
            assert chunk, "connection closed before stream 1 ended (got %r)" % buf[:60]
            buf += chunk
        n = int.from_bytes(buf[:3], "big")
        ftype, flags, sid = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
        payload, buf = buf[9:9 + n], buf[9 + n:]
        assert ftype not in (3, 7), "stream reset or GOAWAY: type %d payload %r" % (ftype, payload)
        if sid == 1 and ftype == 0:
            body += payload
        if sid == 1 and ftype in (0, 1) and flags & 1:
            return body


def test_http2_mutated_bodies(ctx, data):
    """The same decoders behind HTTP/2 (prior knowledge): every mutated request gets an answer
    on its stream whose body is AWS-shaped."""
    rng = random.Random(SEED + 7)
    count = 0
    for fmt in ("json", "cbor"):
        for op, doc in bases(data):
            body = encode(doc, fmt)
            for i in range(12):
                mutated = body[:rng.randrange(len(body))] if i % 4 == 0 else mutate(rng, body)
                what = "h2 %s/%s #%d %r" % (op, fmt, i, mutated[:80])
                with connect(ctx.port) as sock:
                    sock.sendall(h2_request(ctx.port, PREFIX + op, mutated, ct_of(fmt)))
                    try:
                        answer = h2_answer(sock)
                        doc_out = json.loads(answer) if fmt == "json" else decode_strict(answer)
                    except (AssertionError, ValueError) as e:
                        raise AssertionError("%s: %s" % (what, e)) from e
                    assert isinstance(doc_out, dict), "%s: %r" % (what, answer)
                    etype = doc_out.get("__type")
                    assert etype is None or etype in AWS_ERROR_TYPES, "%s: %r" % (what, answer)
                    assert etype != "InternalFailure", "%s: %r" % (what, answer)
                    assert etype is not None or op in MAY_SUCCEED, "%s: %r" % (what, answer)
                    count += 1
                ctx.alive(what)
    assert count == 2 * len(bases(data)) * 12


def client_hello():
    """A real TLS ClientHello (what an HTTPS client sends first)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def test_tls_garbage_on_plain_port(ctx):
    rng = random.Random(SEED + 6)
    hello = client_hello()
    assert hello[0] == 0x16
    cases = [b"\x16", b"\x16\x03\x01", b"\x16\x03\x01\xff\xff", b"\x16\x03\x03\x00\x05hello",
             b"\x16\x03\x01\x00\x00", hello[:len(hello) // 2], hello + b"\x17\x03\x03\x00\x10" + b"x" * 16,
             b"\x16" + random_garbage(rng)]
    cases += [mutate(rng, hello) for _ in range(80)]
    cases += [b"\x16\x03\x01" + struct.pack(">H", rng.randint(0, 20000)) + random_garbage(rng)
              for _ in range(40)]
    for i, data in enumerate(cases):
        what = "tls case #%d %r" % (i, data[:20])
        with connect(ctx.port) as sock:
            send_and_half_close(sock, data)
            got = b""
            while True:
                chunk = _recv(sock)
                if not chunk:
                    break
                got += chunk
            # A TLS server answers with TLS records only (alerts or handshake), never plain text.
            if got:
                assert got[0] in (0x15, 0x16), "%s: %r" % (what, got[:40])
        ctx.alive(what)


def test_no_data_lost_and_restart(ctx, data):
    """Everything written before the fuzzing is still there, also after a restart."""
    print("robustness: %d cases, each followed by a ListStreams liveness check" % ctx.cases)
    assert ctx.cases > 2000, "only %d cases ran" % ctx.cases
    assert_no_loss(ctx, data)
    ctx.srv.restart()
    ctx.client = client_for(ctx.srv)
    assert_no_loss(ctx, data)
    ctx.alive("restart")
