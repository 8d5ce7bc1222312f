"""Conformance: CORS in open mode (docs/security.md), with raw HTTP (http.client).

Signatures are not verified yet, so any web page that can reach the server could drive it if the
server let browsers in. With `--cors-origins` empty (the default) CORS is off: a request carrying
an Origin header that is not the server's own loopback origin is refused with 403
AccessDeniedException before anything else happens, preflight or not, and no Access-Control-*
header is ever sent to it. Refusing the real request (not only the preflight) matters because
browsers send "simple" requests (a text/plain POST, a form) without asking first. Listed origins
get the AWS-style CORS answers (spec 1.4) naming the origin instead of `*`, which is refused at
start-up until signatures are verified.
"""

import http.client
import json
import re
import subprocess

import cbor2
import pytest

from helpers import (ACCESS_KEY, assert_error, client_for, create_stream_and_wait, raw_call,
                     raw_request, sigv4_headers, sluice_bin, stream_status, unique_name)

EVIL = "http://evil.example"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EXPOSE = "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date"


def refusal(origin):
    return ("Origin %s is not allowed to call this server from a browser: CORS is off except for "
            "the origins listed in --cors-origins." % origin)


def cors_headers(resp):
    return {k: v for k, v in resp.headers.items() if k.lower().startswith("access-control-")}


def preflight(server, origin, host=None):
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization,content-type,x-amz-date,x-amz-target"}
    if host:
        headers["Host"] = host
    return raw_request(server, method="OPTIONS", body=b"", sign=False, content_type=None,
                       target=None, headers=headers)


def assert_refused(resp, origin, content_type="application/x-amz-json-1.1"):
    assert resp.status == 403, resp
    assert cors_headers(resp) == {}, resp.headers
    assert resp.headers.get("Content-Type") == content_type
    assert UUID_RE.fullmatch(resp.headers.get("x-amzn-RequestId") or "")
    body = cbor2.loads(resp.body) if "cbor" in content_type else resp.json()
    assert body == {"__type": "AccessDeniedException", "message": refusal(origin)}


# --- CORS off (the default) -----------------------------------------------------------------------

def test_preflight_from_other_origin_is_refused(server):
    assert_refused(preflight(server, EVIL), EVIL)


def test_cross_origin_delete_stream_is_refused(server, kinesis):
    name = unique_name()
    create_stream_and_wait(kinesis, name, 1)
    resp = raw_call(server, "DeleteStream", {"StreamName": name}, headers={"Origin": EVIL})
    assert_refused(resp, EVIL)
    assert stream_status(kinesis, name) == "ACTIVE"


def test_simple_request_without_preflight_is_refused(server, kinesis):
    # What a page can send with no preflight at all: a text/plain POST (the target header would
    # need a preflight, but the server must not rely on the browser for that).
    name = unique_name()
    create_stream_and_wait(kinesis, name, 1)
    body = json.dumps({"StreamName": name}).encode()
    resp = raw_request(server, target="Kinesis_20131202.DeleteStream", body=body, sign=False,
                       content_type="text/plain", headers={"Origin": EVIL})
    assert_refused(resp, EVIL)
    assert stream_status(kinesis, name) == "ACTIVE"


def test_refusal_answers_cbor_to_cbor(server):
    body = cbor2.dumps({})
    resp = raw_request(server, target="Kinesis_20131202.ListStreams", body=body,
                       content_type="application/x-amz-cbor-1.1", headers={"Origin": EVIL})
    assert_refused(resp, EVIL, "application/x-amz-cbor-1.1")


@pytest.mark.parametrize("origin", ["null", "file://", "http://localhost:3000", "https://127.0.0.1"])
def test_other_origins_are_refused(server, origin):
    assert_refused(raw_call(server, "ListStreams", {}, headers={"Origin": origin}), origin)


def test_dns_rebinding_page_is_refused(server):
    # A page of evil.example whose name was rebound to 127.0.0.1 is same-origin to itself: the
    # browser sends no preflight, but Origin and Host both name evil.example.
    origin = "http://evil.example:%d" % server.port
    resp = raw_call(server, "ListStreams", {},
                    headers={"Origin": origin, "Host": "evil.example:%d" % server.port})
    assert_refused(resp, origin)


def test_requests_without_origin_are_served(server, kinesis):
    # SDKs and the CLI send no Origin header.
    assert raw_call(server, "ListStreams", {}).status == 200
    assert "StreamNames" in kinesis.list_streams()


def test_same_origin_loopback_page_is_allowed(server):
    # A page the server itself serves on a loopback address (a future console) is same-origin.
    for host in ("127.0.0.1:%d" % server.port, "localhost:%d" % server.port):
        origin = "http://" + host
        resp = raw_call(server, "ListStreams", {}, headers={"Origin": origin, "Host": host})
        assert resp.status == 200, resp
        assert resp.headers.get("Access-Control-Allow-Origin") == origin
        pre = preflight(server, origin, host=host)
        assert pre.status == 200, pre
        assert pre.headers.get("Access-Control-Allow-Origin") == origin


# --- configured origins -----------------------------------------------------------------------------

@pytest.fixture
def cors_server(make_server):
    return make_server(cors_origins="http://localhost:3000, https://Console.Example/")


def test_listed_origin_preflight(cors_server):
    resp = raw_request(cors_server, method="OPTIONS", body=b"", sign=False, content_type=None,
                       target=None, headers={"Origin": "http://localhost:3000",
                                             "Access-Control-Request-Headers": "a, b, c",
                                             "Access-Control-Request-Method": "POST"})
    assert resp.status == 200, resp
    assert resp.body == b""
    assert resp.headers.get("Access-Control-Allow-Origin") == "http://localhost:3000"
    assert resp.headers.get("Vary") == "Origin"
    assert resp.headers.get("Access-Control-Allow-Headers") == "a, b, c"
    assert resp.headers.get("Access-Control-Allow-Methods") == "POST"
    assert resp.headers.get("Access-Control-Max-Age") == "172800"
    assert resp.headers.get("Content-Length") == "0"
    assert resp.headers.get("x-amz-id-2") is None
    assert UUID_RE.fullmatch(resp.headers.get("x-amzn-RequestId") or "")


def test_listed_origin_request(cors_server):
    # Origins compare case-insensitively; a trailing slash in the list is ignored.
    for origin in ("http://localhost:3000", "https://console.example"):
        resp = raw_call(cors_server, "ListStreams", {}, headers={"Origin": origin})
        assert resp.status == 200, resp
        assert resp.headers.get("Access-Control-Allow-Origin") == origin
        assert resp.headers.get("Vary") == "Origin"
        assert resp.headers.get("Access-Control-Expose-Headers") == EXPOSE
    # errors carry the CORS headers too, so the page can read them
    resp = raw_call(cors_server, "DescribeStreamSummary", {"StreamName": unique_name()},
                    headers={"Origin": "http://localhost:3000"})
    assert resp.status == 400
    assert resp.headers.get("Access-Control-Allow-Origin") == "http://localhost:3000"


def test_unlisted_origin_is_refused_when_others_are_listed(cors_server):
    assert_refused(preflight(cors_server, EVIL), EVIL)
    assert_refused(raw_call(cors_server, "ListStreams", {}, headers={"Origin": EVIL}), EVIL)
    other_port = "http://localhost:3001"
    assert_refused(raw_call(cors_server, "ListStreams", {}, headers={"Origin": other_port}), other_port)


# --- start-up checks ----------------------------------------------------------------------------------

def run_serve(tmp_path, value):
    return subprocess.run([str(sluice_bin()), "serve", "--port", "0", "--data-dir", str(tmp_path / "d"),
                           "--cors-origins", value], capture_output=True, text=True, timeout=30)


def test_any_origin_needs_verified_signatures(tmp_path):
    res = run_serve(tmp_path, "*")
    assert res.returncode != 0
    assert "'*' (any web page) needs SigV4 signature verification" in res.stderr, res.stderr


@pytest.mark.parametrize("value", ["localhost:3000", "http://", "https://", "http:///", "http://x.example/path",
                                   "ftp://x", "http://a b"])
def test_malformed_origin_is_a_start_error(tmp_path, value):
    res = run_serve(tmp_path, value)
    assert res.returncode != 0
    assert "is not an origin" in res.stderr, res.stderr
