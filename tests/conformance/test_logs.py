"""Conformance: structured logs and GET /ready (docs/observability.md, "Logs").

With --log-format json every stderr line is one JSON object; logfmt lines are key=value pairs.
The lines logged while a request is handled carry the x-amzn-RequestId its client saw, and no
line carries record data. (Lines the test harness writes, "=== start ...", are left out.) GET /ready answers 200 once the server accepts
writes.
"""

import base64
import json
import re

from helpers import client_for, create_stream_and_wait, raw_request, unique_name, wait_until


def put_and_find(srv):
    client = client_for(srv)
    name = unique_name("log")
    create_stream_and_wait(client, name, 1)
    data = b"RECORD-PAYLOAD-" + name.encode()
    resp = client.put_record(StreamName=name, Data=data, PartitionKey="pk")
    rid = resp["ResponseMetadata"]["RequestId"]
    with open(srv.stderr_path, "rb") as f:
        text = f.read().decode()
    assert data.decode() not in text and base64.b64encode(data).decode() not in text
    return rid, "\n".join(line for line in text.splitlines() if not line.startswith("=== "))


def test_json_lines_carry_the_request_id(make_server):
    srv = make_server(log_format="json", log_level="debug")
    rid, text = put_and_find(srv)
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all(set(line) >= {"time", "level", "msg"} for line in lines), lines[:3]
    mine = [line for line in lines if line.get("request_id") == rid]
    assert mine and mine[0]["level"] == "debug"
    assert mine[0]["msg"] == "request POST /"
    assert any(line["level"] == "info" and "listening" in line["msg"] for line in lines)


def test_logfmt_lines_carry_the_request_id(make_server):
    srv = make_server(log_format="logfmt", log_level="debug")
    rid, text = put_and_find(srv)
    pattern = re.compile(r'^time=\S+ level=(debug|info|warn|error) msg="(?:[^"\\]|\\.)*"'
                         r'( request_id=\S+)?$')
    for line in text.splitlines():
        assert pattern.match(line), line
    assert any(line.endswith(" request_id=" + rid) for line in text.splitlines())


def test_ready_answers_once_writes_are_accepted(server):
    # The port opens before the last start-up steps: a probe polls until the server says ready
    # (a 503 "not ready" answer meanwhile), as a load balancer's readiness check does.
    def probe():
        r = raw_request(server, method="GET", path="/ready", body=b"", sign=False,
                        content_type=None, target=None)
        assert r.status in (200, 503), r
        return r if r.status == 200 else None
    resp = wait_until(probe, timeout=30, what="/ready to answer 200")
    assert resp.status == 200, resp
    assert resp.json() == {"status": "ready"}
    assert resp.headers.get("x-amzn-RequestId")
