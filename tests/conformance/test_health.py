"""Conformance: GET /health, the first plain route of the front's router (not an AWS operation).

The composition root registers it next to the Kinesis service; the router sends a GET of exactly
/health (any query string) to it after the CORS checks. Every other request keeps its AWS answer:
other paths and methods get what they got before the route existed.
"""

import re

from helpers import raw_request

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
XML_DENIED = (b"<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be "
              b"authorized</Message>\n</AccessDeniedException>\n")


def get(server, path, headers=None):
    return raw_request(server, method="GET", path=path, body=b"", sign=False, content_type=None,
                       target=None, headers=headers)


def test_health_answers_200_with_json(server):
    resp = get(server, "/health")
    assert resp.status == 200, resp
    assert resp.headers.get("Content-Type") == "application/json"
    assert resp.json() == {"status": "ok"}
    assert UUID_RE.fullmatch(resp.headers.get("x-amzn-RequestId") or "")


def test_health_ignores_the_query_string(server):
    resp = get(server, "/health?probe=k8s")
    assert resp.status == 200, resp
    assert resp.json() == {"status": "ok"}


def test_other_paths_and_methods_keep_their_aws_answers(server):
    for path in ("/", "/healthz", "/health/", "/Health"):
        resp = get(server, path)
        assert resp.status == 403, (path, resp)
        assert resp.body == XML_DENIED, path
    resp = raw_request(server, method="PUT", path="/health", body=b"{}")
    assert resp.status == 403, resp
    assert resp.body == XML_DENIED
    # A signed Kinesis call posted to /health is still a Kinesis call (AWS ignores the path).
    resp = raw_request(server, path="/health", target="Kinesis_20131202.ListStreams", body=b"{}")
    assert resp.status == 200, resp
    assert "StreamNames" in resp.json()


def test_health_from_a_refused_origin_is_refused(server):
    resp = get(server, "/health", headers={"Origin": "http://evil.example"})
    assert resp.status == 403, resp
    assert resp.json()["__type"] == "AccessDeniedException"
    assert not any(k.lower().startswith("access-control-") for k in resp.headers)
