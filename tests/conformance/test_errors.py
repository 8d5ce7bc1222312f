"""Conformance: the wire protocol seen with raw HTTP (http.client, no SDK).

Request-processing order, error bodies and status codes (spec 1.5), the exact
SerializationException texts (spec 1.6, kinesalite's assertType table =
observed AWS), SigV4 presence checks (spec 1.7, kinesalite connection tests),
response headers (spec 1.4; CORS in test_cors.py), body size limit, compact JSON output.
"""

import base64
import http.client
import json
import re
import select
import socket
import subprocess
import time

import cbor2
import pytest

from helpers import (ACCOUNT, assert_raw_error, assert_validation, raw_call, raw_request,
                     sigv4_headers, unique_name)

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ACCESS_DENIED_XML = (b"<AccessDeniedException>\n"
                     b"  <Message>Unable to determine service/operation name to be authorized</Message>\n"
                     b"</AccessDeniedException>\n")
JSON_CT = "application/x-amz-json-1.1"


# --- operation resolution -------------------------------------------------------------------

@pytest.mark.parametrize("target", ["Kinesis_20131202.ListStream", "Kinesis_20131202.listStreams",
                                    "Kinesis_20131202.", "Kinesis_20131202", None])
def test_unknown_operation(server, target):
    resp = raw_request(server, target=target, body=b"{}")
    assert_raw_error(resp, "UnknownOperationException")
    assert resp.headers.get("Content-Type") == JSON_CT


def test_unknown_operation_without_auth(server):
    # Operation resolution comes before authentication (spec 1.5 order, kinesalite).
    resp = raw_request(server, target="Kinesis_20131202.Nope", body=b"{}", sign=False)
    assert_raw_error(resp, "UnknownOperationException")


def test_bad_json_body(server):
    assert_raw_error(raw_call(server, "ListStreams", b"hello"), "SerializationException")
    assert_raw_error(raw_call(server, "ListStreams", b"{\"Limit\": "), "SerializationException")


@pytest.mark.parametrize("body", [b"[]", b"23", b"\"x\"", b"null"])
def test_body_not_an_object(server, body):
    assert_raw_error(raw_call(server, "ListStreams", body), "SerializationException")


def test_empty_body(server):
    assert_raw_error(raw_call(server, "ListStreams", b""), "SerializationException")
    assert_raw_error(raw_request(server, target="Kinesis_20131202.Nope", body=b""), "UnknownOperationException")


def test_bad_json_without_auth_is_serialization_error(server):
    resp = raw_request(server, target="Kinesis_20131202.ListStreams", body=b"hello", sign=False)
    assert_raw_error(resp, "SerializationException")


# --- SerializationException texts ------------------------------------------------------------

TO_STRING = [
    (True, "class java.lang.Boolean can not be converted to an String"),
    (23, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"),
    (-2147483648, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"),
    (2147483648, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"),
    (34.56, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"),
    ([], "Start of list found where not expected"),
    ({}, "Start of structure or map found where not expected."),
]
TO_INTEGER = [
    ("23", "class java.lang.String can not be converted to an Integer"),
    (True, "class java.lang.Boolean can not be converted to an Integer"),
    ([], "Start of list found where not expected"),
    ({}, "Start of structure or map found where not expected."),
]
TO_BOOLEAN = [
    ("23", "'23' can not be converted to an Boolean"),
    (23, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean"),
    ([], "Start of list found where not expected"),
    ({}, "Start of structure or map found where not expected."),
]
TO_BLOB = [
    (True, "class java.lang.Boolean can not be converted to a Blob"),
    (23, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob"),
    (34.56, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob"),
    ([], "Start of list found where not expected"),
    ({}, "Start of structure or map found where not expected."),
    ("23456", "'23456' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes "
              "but found: 5"),
    ("=+/=", "'=+/=' can not be converted to a Blob: Invalid Base64 character: '='"),
    ("+/+=", "'+/+=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"),
]
TO_LIST = [
    ("23", "Expected list or null"), (True, "Expected list or null"), (23, "Expected list or null"),
    (34.56, "Expected list or null"), ({}, "Start of structure or map found where not expected."),
]
TO_MAP = [
    ("23", "Expected map or null"), (True, "Expected map or null"), (23, "Expected map or null"),
    ([], "Start of list found where not expected"),
]
TO_STRUCTURE = [
    ("23", "Expected null"), (True, "Expected null"), (23, "Expected null"),
    ([], "Start of list found where not expected"),
]

CASES = (
    [("CreateStream", {"ShardCount": 1}, "StreamName", v, m) for v, m in TO_STRING]
    + [("CreateStream", {"StreamName": "s"}, "ShardCount", v, m) for v, m in TO_INTEGER]
    + [("DeleteStream", {"StreamName": "s"}, "EnforceConsumerDeletion", v, m) for v, m in TO_BOOLEAN]
    + [("PutRecord", {"StreamName": "s", "PartitionKey": "a"}, "Data", v, m) for v, m in TO_BLOB]
    + [("PutRecords", {"StreamName": "s"}, "Records", v, m) for v, m in TO_LIST]
    + [("AddTagsToStream", {"StreamName": "s"}, "Tags", v, m) for v, m in TO_MAP]
    + [("CreateStream", {"StreamName": "s"}, "StreamModeDetails", v, m) for v, m in TO_STRUCTURE]
    + [("GetRecords", {}, "Limit", v, m) for v, m in TO_INTEGER]
)


@pytest.mark.parametrize("op,base,member,value,message", CASES,
                         ids=["%s.%s=%r" % (c[0], c[2], c[3]) for c in CASES])
def test_serialization_messages(server, op, base, member, value, message):
    body = dict(base)
    body[member] = value
    resp = raw_call(server, op, json.dumps(body).encode())
    # SerializationException carries a capitalised "Message" (observed AWS).
    assert_raw_error(resp, "SerializationException", message, message_key="Message")


def test_serialization_nested_members(server):
    resp = raw_call(server, "PutRecords", {"StreamName": "s", "Records": ["23"]})
    assert_raw_error(resp, "SerializationException", "Expected null", message_key="Message")
    resp = raw_call(server, "PutRecords", {"StreamName": "s", "Records": [{"PartitionKey": "a", "Data": True}]})
    assert_raw_error(resp, "SerializationException", "class java.lang.Boolean can not be converted to a Blob",
                     message_key="Message")
    resp = raw_call(server, "AddTagsToStream", {"StreamName": "s", "Tags": {"a": 23}})
    assert_raw_error(resp, "SerializationException",
                     "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String",
                     message_key="Message")


def test_serialization_timestamp_string(server):
    resp = raw_call(server, "GetShardIterator", {"StreamName": "s", "ShardId": "shardId-000000000000",
                                                 "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": "abc"})
    assert_raw_error(resp, "SerializationException",
                     "class java.lang.String can not be converted to milliseconds since epoch",
                     message_key="Message")


def test_fractional_integer_is_truncated(server, kinesis):
    for _ in range(2):
        kinesis.create_stream(StreamName=unique_name(), ShardCount=1)
    resp = raw_call(server, "ListStreams", {"Limit": 1.9})
    assert resp.status == 200, resp
    assert len(resp.json()["StreamNames"]) == 1


def test_unknown_members_ignored(server, stream):
    resp = raw_call(server, "DescribeStreamSummary", {"StreamName": stream, "Bogus": 1, "Other": {"x": [1]}})
    assert resp.status == 200, resp
    assert resp.json()["StreamDescriptionSummary"]["StreamName"] == stream


def test_stream_id_accepted_and_ignored(server, stream):
    # boto3 would route a StreamId request to AWS (spec 1.8), so send it raw.
    resp = raw_call(server, "DescribeStreamSummary", {"StreamName": stream, "StreamId": "abcdefghij0123456789-abc"})
    assert resp.status == 200, resp


def test_null_member_is_absent(server, stream):
    resp = raw_call(server, "DescribeStream", {"StreamName": stream, "Limit": None, "ExclusiveStartShardId": None})
    assert resp.status == 200, resp


def test_content_type_with_parameters(server, stream):
    resp = raw_call(server, "DescribeStreamSummary", {"StreamName": stream},
                    content_type="application/x-amz-json-1.1; charset=utf-8")
    assert resp.status == 200, resp
    assert resp.json()["StreamDescriptionSummary"]["StreamName"] == stream


# --- validation error count -------------------------------------------------------------------

def test_validation_lists_at_most_ten(kinesis_nv):
    # Eleven violations: AWS lists ten and the prefix counts the listed ones
    # ("10 validation errors detected"), as kinesalite's 501-record PutRecords
    # test recorded against AWS (502 violations, prefix 10).
    entries = [{"Data": b"", "PartitionKey": ""} for _ in range(11)]
    assert_validation(lambda: kinesis_nv.put_records(StreamName="s", Records=entries), [
        ("", "records.%d.member.partitionKey" % i, "Member must have length greater than or equal to 1")
        for i in range(1, 11)])


def test_validation_error_raw_body(server):
    resp = raw_call(server, "DescribeStream", {"StreamName": ""})
    assert resp.status == 400
    body = resp.json()
    assert set(body) == {"__type", "message"}
    assert body["__type"] == "ValidationException"
    assert body["message"].startswith("2 validation errors detected: ")


# --- authentication ------------------------------------------------------------------------------

def test_missing_authentication_token(server):
    resp = raw_call(server, "ListStreams", b"{}", sign=False)
    assert_raw_error(resp, "MissingAuthenticationTokenException", "Missing Authentication Token")


def test_incomplete_signature_all_missing(server):
    resp = raw_call(server, "ListStreams", b"{}", sign=False, headers={"Authorization": "X"})
    assert_raw_error(resp, "IncompleteSignatureException",
                     "Authorization header requires 'Credential' parameter. "
                     "Authorization header requires 'Signature' parameter. "
                     "Authorization header requires 'SignedHeaders' parameter. "
                     "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
                     "Authorization=X")


@pytest.mark.parametrize("header", ["AWS4- Signature=b Credential=a", "AWS4- Signature=b,Credential=a",
                                    "AWS4- Signature=b, Credential=a"])
def test_incomplete_signature_missing_signed_headers(server, header):
    resp = raw_call(server, "ListStreams", b"{}", sign=False, headers={"Authorization": header, "Date": "a"})
    assert_raw_error(resp, "IncompleteSignatureException",
                     "Authorization header requires 'SignedHeaders' parameter. Authorization=" + header)


def test_header_and_query_auth(server):
    resp = raw_call(server, "ListStreams", b"{}", sign=False, path="/?X-Amz-Algorithm",
                    headers={"Authorization": "X"})
    assert_raw_error(resp, "InvalidSignatureException",
                     "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")


def test_query_auth_all_missing(server):
    resp = raw_call(server, "ListStreams", b"{}", sign=False, path="/?X-Amz-Algorithm")
    assert_raw_error(resp, "IncompleteSignatureException",
                     "AWS query-string parameters must include 'X-Amz-Algorithm'. "
                     "AWS query-string parameters must include 'X-Amz-Credential'. "
                     "AWS query-string parameters must include 'X-Amz-Signature'. "
                     "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
                     "AWS query-string parameters must include 'X-Amz-Date'. "
                     "Re-examine the query-string parameters.")


def test_query_auth_missing_signed_headers(server):
    resp = raw_call(server, "ListStreams", b"{}", sign=False,
                    path="/?X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d")
    assert_raw_error(resp, "IncompleteSignatureException",
                     "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
                     "Re-examine the query-string parameters.")


def test_query_params_without_algorithm_is_missing_token(server):
    resp = raw_call(server, "ListStreams", b"{}", sign=False,
                    path="/?X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-SignedHeaders=c&X-Amz-Date=d")
    assert_raw_error(resp, "MissingAuthenticationTokenException", "Missing Authentication Token")


def test_signature_not_verified_yet(server):
    # Contract: the format is checked, the signature is not (any credentials work).
    resp = raw_call(server, "ListStreams", b"{}", sign=False, headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDOTHER/20240101/us-east-1/kinesis/aws4_request, "
                         "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64,
        "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())})
    assert resp.status == 200, resp


# --- non-POST and content types ------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_non_post_is_access_denied_xml(server, method):
    resp = raw_request(server, method=method, body=b"")
    assert resp.status == 403, resp
    assert resp.body == ACCESS_DENIED_XML
    assert resp.headers.get("Content-Type") is None


def test_unsupported_content_type_without_target(server):
    resp = raw_request(server, target=None, body=b"{}", content_type="application/x-amz-json-1.0")
    assert resp.status == 403, resp
    assert resp.body == ACCESS_DENIED_XML


def test_unsupported_content_type_with_target(server):
    resp = raw_call(server, "ListStreams", b"{}", content_type="application/x-amz-json-1.0")
    assert resp.status == 404, resp
    assert resp.body == b"<UnknownOperationException/>\n"


def test_no_content_type(server):
    resp = raw_call(server, "ListStreams", b"{}", content_type=None)
    assert resp.status == 404, resp
    assert resp.body == b"<UnknownOperationException/>\n"


# --- response format ---------------------------------------------------------------------------------

def test_response_headers(server):
    resp = raw_call(server, "ListStreams", b"{}")
    assert resp.status == 200
    assert resp.headers.get("Content-Type") == JSON_CT
    assert int(resp.headers.get("Content-Length")) == len(resp.body)
    assert UUID_RE.fullmatch(resp.headers.get("x-amzn-RequestId") or ""), resp.headers
    id2 = base64.b64decode(resp.headers.get("x-amz-id-2"), validate=True)
    assert 64 <= len(id2) <= 80
    assert resp.headers.get("Date")
    other = raw_call(server, "ListStreams", b"{}")
    assert other.headers.get("x-amzn-RequestId") != resp.headers.get("x-amzn-RequestId")


def test_error_response_headers(server):
    resp = raw_call(server, "DescribeStream", {"StreamName": unique_name()})
    assert resp.status == 400
    assert resp.headers.get("Content-Type") == JSON_CT
    assert UUID_RE.fullmatch(resp.headers.get("x-amzn-RequestId") or "")
    assert resp.json()["__type"] == "ResourceNotFoundException"


def test_empty_output_operation(server):
    name = unique_name()
    resp = raw_call(server, "CreateStream", {"StreamName": name, "ShardCount": 1})
    assert resp.status == 200, resp
    assert resp.body in (b"", b"{}")
    assert resp.headers.get("Content-Type") == JSON_CT


def test_compact_json_output(server, stream):
    resp = raw_call(server, "PutRecords", {"StreamName": stream, "Records": [
        {"Data": base64.b64encode(b"x").decode(), "PartitionKey": "a"}]})
    assert resp.status == 200, resp
    assert b'"FailedRecordCount":0' in resp.body
    assert b'": ' not in resp.body and b', "' not in resp.body and b"\n" not in resp.body


def test_timestamps_plain_decimal(server, stream):
    resp = raw_call(server, "DescribeStreamSummary", {"StreamName": stream})
    m = re.search(rb'"StreamCreationTimestamp":([^,}]+)[,}]', resp.body)
    assert m, resp.body
    assert re.fullmatch(rb"\d{10}(\.\d{1,3})?", m.group(1)), m.group(1)
    assert abs(float(m.group(1)) - time.time()) < 600


def test_keep_alive(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        for _ in range(3):
            conn.request("POST", "/", body=b"{}",
                         headers=sigv4_headers(server.endpoint, "Kinesis_20131202.ListStreams", b"{}"))
            resp = conn.getresponse()
            assert resp.status == 200
            resp.read()
    finally:
        conn.close()


# --- CORS: tests/conformance/test_cors.py -----------------------------------------------------------

# --- body size --------------------------------------------------------------------------------------------

def _read_status_line(s):
    data = b""
    try:
        while b"\r\n" not in data:
            got = s.recv(4096)
            if not got:
                break
            data += got
    except ConnectionResetError:
        pass
    return data.split(b"\r\n", 1)[0]


def _send_raw(port, head, body, chunk=1 << 20):
    """Send head+body on a raw socket and return the response's status line.

    A server may answer an oversized Content-Length right after the headers
    and close; that answer is read before any body byte is sent.
    """
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        s.sendall(head)
        readable, _, _ = select.select([s], [], [], 0.5)
        if readable:
            return _read_status_line(s)
        try:
            for i in range(0, len(body), chunk):
                s.sendall(body[i:i + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _read_status_line(s)
    finally:
        s.close()


def _head(server, length):
    hdrs = sigv4_headers(server.endpoint, "Kinesis_20131202.ListStreams", b"{}")
    lines = ["POST / HTTP/1.1", "Host: 127.0.0.1:%d" % server.port, "Content-Length: %d" % length]
    lines += ["%s: %s" % (k, v) for k, v in hdrs.items() if k.lower() not in ("content-length", "host")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_body_over_16_mib_is_413(server):
    body = b"{" + b" " * (16 * 1024 * 1024 - 1) + b"}"  # 16 MiB + 1 byte
    assert len(body) == 16 * 1024 * 1024 + 1
    status = _send_raw(server.port, _head(server, len(body)), body)
    assert status.startswith(b"HTTP/1.1 413"), status


TOO_LARGE = {"message": "The request body is larger than this server accepts (--body-max-bytes)."}


def _read_response(s):
    """Reads one HTTP/1.1 response with a Content-Length from a raw socket: (head, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = s.recv(65536)
        assert got, data
        data += got
    head, rest = data.split(b"\r\n\r\n", 1)
    m = re.search(rb"(?im)^content-length: *(\d+)", head)
    while len(rest) < int(m.group(1)):
        got = s.recv(65536)
        assert got, rest
        rest += got
    return head.decode("latin-1"), rest


def test_413_is_an_aws_error_body(server):
    # AWS's error shape without a __type: SDKs report the status as the code, as for AWS's 413.
    s = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    try:
        s.sendall(_head(server, 17 * 1024 * 1024))  # refused from the Content-Length alone
        head, body = _read_response(s)
    finally:
        s.close()
    assert head.startswith("HTTP/1.1 413"), head
    assert re.search(r"(?im)^content-type: application/x-amz-json-1\.1\r?$", head), head
    assert json.loads(body) == TOO_LARGE


def test_413_is_an_aws_error_body_over_http2(server, tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b"{" + b" " * (16 * 1024 * 1024) + b"}")
    hdrs = sigv4_headers(server.endpoint, "Kinesis_20131202.ListStreams", b"{}")
    cmd = ["curl", "-sS", "--http2-prior-knowledge", "-o", "-", "-D", str(tmp_path / "head"),
           "--data-binary", "@" + str(big)]
    for k, v in hdrs.items():
        if k.lower() not in ("content-length", "host"):
            cmd += ["-H", "%s: %s" % (k, v)]
    out = subprocess.run(cmd + [server.endpoint + "/"], capture_output=True, timeout=60)
    head = (tmp_path / "head").read_text()
    assert head.startswith("HTTP/2 413"), (head, out.stderr)
    assert re.search(r"(?im)^content-type: application/x-amz-json-1\.1\r?$", head), head
    assert json.loads(out.stdout) == TOO_LARGE


def test_413_answers_cbor_to_cbor(server):
    hdrs = sigv4_headers(server.endpoint, "Kinesis_20131202.ListStreams", b"{}",
                         content_type="application/x-amz-cbor-1.1")
    lines = ["POST / HTTP/1.1", "Host: 127.0.0.1:%d" % server.port, "Content-Length: %d" % (17 << 20)]
    lines += ["%s: %s" % (k, v) for k, v in hdrs.items() if k.lower() not in ("content-length", "host")]
    s = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    try:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head, body = _read_response(s)
    finally:
        s.close()
    assert head.startswith("HTTP/1.1 413"), head
    assert re.search(r"(?im)^content-type: application/x-amz-cbor-1\.1\r?$", head), head
    assert cbor2.loads(body) == TOO_LARGE


def test_body_of_16_mib_is_accepted(server):
    body = b"{" + b" " * (16 * 1024 * 1024 - 2) + b"}"  # exactly 16 MiB of valid JSON
    status = _send_raw(server.port, _head(server, len(body)), body)
    assert status.startswith(b"HTTP/1.1 200"), status


def test_not_found_messages_use_account(server):
    name = unique_name()
    resp = raw_call(server, "DescribeStreamSummary", {"StreamName": name})
    assert_raw_error(resp, "ResourceNotFoundException", "Stream %s under account %s not found." % (name, ACCOUNT))
