"""Fault injection (issue 19, item 4; docs/capacity.md, "Fault injection"): `--fault` fails a
chosen fraction of a stream's writes or reads with ProvisionedThroughputExceededException or
InternalFailure, or holds their answers back, with AWS's shapes: per record in PutRecords, per call
in PutRecord and GetRecords.

Tolerance: each record (or call) is hit independently with probability p, so over n draws the
count of hits is binomial; the tests accept n*p within 5 standard deviations, sqrt(n*p*(1-p)) each
(a false failure about once in 1.7 million runs).
"""
import math
import re
import shutil
import subprocess
import time

import boto3
from botocore.config import Config

from helpers import (ACCESS_KEY, ACCOUNT, REGION, SECRET_KEY, assert_error, client_for,
                     create_stream_and_wait, read_shard, sluice_bin, unique_name)
from test_js import JS_DIR, node_env

BATCH = 500


def within(hits, n, p):
    sigma = math.sqrt(n * p * (1 - p))
    return abs(hits - n * p) <= 5 * sigma


def put_batches(client, name, batches, tag="k"):
    """PutRecords `batches` batches of 500; returns (results, records sent)."""
    results, sent = [], []
    for b in range(batches):
        recs = [{"Data": ("%s-%d-%d" % (tag, b, i)).encode(), "PartitionKey": "%s%d" % (tag, i)}
                for i in range(BATCH)]
        sent.extend(recs)
        results.append(client.put_records(StreamName=name, Records=recs))
    return results, sent


def test_write_errors_hit_the_configured_fraction(make_server):
    srv = make_server(fault="stream=*-thr-*,op=write,error=throughput,rate=0.25;"
                            "stream=*-int-*,op=write,error=internal,rate=0.1")
    client = client_for(srv)
    thr, intl, clean = unique_name("thr"), unique_name("int"), unique_name("clean")
    for name in (thr, intl, clean):
        create_stream_and_wait(client, name, 2)

    results, sent = put_batches(client, thr, 8)
    n = len(sent)
    failed = 0
    accepted = set()
    for out in results:
        batch_failed = 0
        for rec in out["Records"]:
            if "ErrorCode" in rec:
                batch_failed += 1
                assert rec["ErrorCode"] == "ProvisionedThroughputExceededException"
                assert re.fullmatch(
                    r"Rate exceeded for shard shardId-00000000000[01] in stream %s under "
                    r"account %s\." % (re.escape(thr), ACCOUNT), rec["ErrorMessage"])
                assert "SequenceNumber" not in rec and "ShardId" not in rec
            else:
                accepted.add(rec["SequenceNumber"])
        assert out["FailedRecordCount"] == batch_failed
        failed += batch_failed
    assert within(failed, n, 0.25), (failed, n)
    # exactly the accepted records were stored, none of the refused ones
    stored = read_shard(client, thr, "shardId-000000000000") + \
        read_shard(client, thr, "shardId-000000000001")
    assert sorted(r["SequenceNumber"] for r in stored) == sorted(accepted)

    results, sent = put_batches(client, intl, 8)
    failed = 0
    for out in results:
        for rec in out["Records"]:
            if "ErrorCode" in rec:
                failed += 1
                assert rec["ErrorCode"] == "InternalFailure"
                assert rec["ErrorMessage"] == "Internal service failure."
    assert within(failed, len(sent), 0.1), (failed, len(sent))

    # a stream no rule names is untouched
    results, _ = put_batches(client, clean, 2)
    assert all(out["FailedRecordCount"] == 0 for out in results)


def test_put_record_and_get_records_fail_per_call(make_server):
    srv = make_server(fault="stream=*-wall-*,op=write,error=internal;"
                            "stream=*-rd-*,op=read,error=throughput,rate=0.5;"
                            "stream=*-wthr-*,op=write,error=throughput")
    client = client_for(srv)
    wall, rd, wthr = unique_name("wall"), unique_name("rd"), unique_name("wthr")
    for name in (wall, rd, wthr):
        create_stream_and_wait(client, name, 1)
    assert_error(lambda: client.put_record(StreamName=wall, Data=b"x", PartitionKey="k"),
                 "InternalFailure", "Internal service failure.", 500)
    assert_error(lambda: client.put_record(StreamName=wthr, Data=b"x", PartitionKey="k"),
                 "ProvisionedThroughputExceededException",
                 "Rate exceeded for shard shardId-000000000000 in stream %s under account %s."
                 % (wthr, ACCOUNT), 400)

    # reads: writes pass (the rule is op=read), half of the GetRecords calls are throttled
    client.put_record(StreamName=rd, Data=b"r", PartitionKey="k")
    it = client.get_shard_iterator(StreamName=rd, ShardId="shardId-000000000000",
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    calls, throttled = 400, 0
    for _ in range(calls):
        try:
            out = client.get_records(ShardIterator=it)
            assert out["Records"][0]["Data"] == b"r"
        except client.exceptions.ProvisionedThroughputExceededException as e:
            throttled += 1
            assert_error(e, "ProvisionedThroughputExceededException",
                         "Rate exceeded for Shard - %s/%s/shardId-000000000000" % (ACCOUNT, rd),
                         400)
    assert within(throttled, calls, 0.5), (throttled, calls)


def test_latency_holds_the_answer_back(make_server):
    srv = make_server(fault="stream=*-slow-*,op=any,latency_ms=400")
    client = client_for(srv)
    slow, fast = unique_name("slow"), unique_name("fast")
    create_stream_and_wait(client, slow, 1)
    create_stream_and_wait(client, fast, 1)
    t0 = time.monotonic()
    out = client.put_record(StreamName=slow, Data=b"late", PartitionKey="k")
    t_slow = time.monotonic() - t0
    t0 = time.monotonic()
    client.put_record(StreamName=fast, Data=b"early", PartitionKey="k")
    t_fast = time.monotonic() - t0
    assert t_slow >= 0.4, t_slow
    assert t_fast < t_slow, (t_fast, t_slow)
    # the delayed write was stored (only its answer was late), and reads are held back too
    it = client.get_shard_iterator(StreamName=slow, ShardId="shardId-000000000000",
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    t0 = time.monotonic()
    got = client.get_records(ShardIterator=it)["Records"]
    assert time.monotonic() - t0 >= 0.4
    assert [r["SequenceNumber"] for r in got] == [out["SequenceNumber"]]


def test_sdk_retries_recover_from_injected_errors(make_server):
    """boto3's standard retry mode and the JS SDK v3's default one retry the injected errors; every
    record is stored once per successful answer. An attempt fails with probability 0.24, so a call
    fails all 12 of its attempts with probability 4e-8 (at 0.37, as this test once had, one of its
    100 calls did that in about one run of 2,500, and it did once in CI)."""
    srv = make_server(fault="op=write,error=throughput,rate=0.2;op=write,error=internal,rate=0.05")
    config = Config(retries={"total_max_attempts": 12, "mode": "standard"})
    retrying = boto3.session.Session(aws_access_key_id=ACCESS_KEY,
                                     aws_secret_access_key=SECRET_KEY,
                                     region_name=REGION).client(
        "kinesis", endpoint_url=srv.endpoint, config=config)
    name = unique_name("retry")
    create_stream_and_wait(retrying, name, 1)
    seqs = [retrying.put_record(StreamName=name, Data=b"%d" % i, PartitionKey="k")
            ["SequenceNumber"] for i in range(60)]
    stored = read_shard(retrying, name, "shardId-000000000000")
    assert [r["SequenceNumber"] for r in stored] == seqs
    assert [r["Data"] for r in stored] == [b"%d" % i for i in range(60)]

    node = shutil.which("node")
    assert node, "node is not installed: run scripts/setup.sh"
    proc = subprocess.run([node, "faults.mjs"], cwd=JS_DIR, env=node_env(srv),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_bad_fault_rule_stops_the_start(tmp_path):
    proc = subprocess.run(
        [str(sluice_bin()), "serve", "--port", "0", "--data-dir", str(tmp_path / "d"),
         "--fault", "stream=s,error=sometimes"],
        capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "--fault: error must be throughput or internal" in proc.stderr


def admin(srv, method, path="/admin/faults", body=None):
    """One call of the fault admin API: (status, JSON answer)."""
    import json
    import urllib.error
    import urllib.request
    req = urllib.request.Request(srv.endpoint + path, method=method,
                                 data=body.encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body)
        except ValueError:
            return e.code, body


def test_admin_api_adds_lists_and_removes_rules_at_runtime(make_server):
    srv = make_server(fault_admin="on", fault="stream=never-*,op=read,latency_ms=5")
    client = client_for(srv)
    name = unique_name("adm")
    create_stream_and_wait(client, name, 1)
    status, out = admin(srv, "GET")
    assert status == 200
    assert [(r["Id"], r["Stream"], r["Op"], r["LatencyMs"]) for r in out["Rules"]] == \
        [(1, "never-*", "read", 5)]
    # writes pass until a rule is added, then every one fails as the rule says
    assert client.put_records(StreamName=name, Records=[
        {"Data": b"x", "PartitionKey": "k"}])["FailedRecordCount"] == 0
    status, out = admin(srv, "POST", body="stream=%s,op=write,error=internal" % name)
    assert status == 200, out
    added = out["Rules"][-1]
    assert (added["Stream"], added["Op"], added["Error"], added["Rate"]) == \
        (name, "write", "internal", 1)
    assert added["Id"] == 2
    assert added["Rule"] == "stream=%s,op=write,error=internal,rate=1.000000000" % name
    out = client.put_records(StreamName=name, Records=[{"Data": b"y", "PartitionKey": "k"}] * 10)
    assert out["FailedRecordCount"] == 10
    assert {r["ErrorCode"] for r in out["Records"]} == {"InternalFailure"}
    assert_error(lambda: client.put_record(StreamName=name, Data=b"z", PartitionKey="k"),
                 "InternalFailure", None, 500)
    # an account opened after the change gets the rules too (a 12-digit access key selects it)
    other = boto3.client("kinesis", endpoint_url=srv.endpoint, region_name=REGION,
                         aws_access_key_id="111122223333", aws_secret_access_key=SECRET_KEY,
                         config=Config(retries={"total_max_attempts": 1}))
    create_stream_and_wait(other, name, 1)
    assert other.put_records(StreamName=name, Records=[
        {"Data": b"o", "PartitionKey": "k"}])["FailedRecordCount"] == 1
    # malformed rules are refused with the parser's reason and change nothing
    status, out = admin(srv, "POST", body="stream=%s,error=sometimes" % name)
    assert (status, out["message"]) == (400, "error must be throughput or internal")
    status, out = admin(srv, "POST", body="")
    assert status == 400
    assert len(admin(srv, "GET")[1]["Rules"]) == 2
    # removing the rule by its id lets writes through again, on every account
    assert admin(srv, "DELETE", "/admin/faults/%d" % added["Id"])[0] == 200
    assert admin(srv, "DELETE", "/admin/faults/%d" % added["Id"])[0] == 404
    assert admin(srv, "DELETE", "/admin/faults/abc")[0] == 404
    assert client.put_records(StreamName=name, Records=[
        {"Data": b"w", "PartitionKey": "k"}])["FailedRecordCount"] == 0
    assert other.put_records(StreamName=name, Records=[
        {"Data": b"o", "PartitionKey": "k"}])["FailedRecordCount"] == 0
    # at most 16 rules; DELETE /admin/faults removes them all
    status, out = admin(srv, "POST", body=";".join(["op=read,latency_ms=1"] * 15))
    assert status == 200 and len(out["Rules"]) == 16
    status, out = admin(srv, "POST", body="op=read,latency_ms=1")
    assert (status, out["message"]) == (400, "too many fault rules (at most 16)")
    status, out = admin(srv, "DELETE")
    assert (status, out["Rules"]) == (200, [])


def test_admin_api_is_off_by_default(make_server):
    srv = make_server(fault="op=read,latency_ms=1")
    for method in ("GET", "POST", "DELETE"):
        status, out = admin(srv, method, body="op=write,error=internal")
        assert status in (403, 404), (method, status, out)  # no such route: the front's answer
    client = client_for(srv)
    name = unique_name("off")
    create_stream_and_wait(client, name, 1)
    assert client.put_records(StreamName=name, Records=[
        {"Data": b"x", "PartitionKey": "k"}])["FailedRecordCount"] == 0


def test_admin_api_under_sigv4_needs_an_admin_signature(make_server, tmp_path):
    """With --auth sigv4 the admin API answers only requests SigV4-signed (service `sluice`) by an
    admin principal of the credentials file: unsigned ones get the missing-token error (400, as
    Kinesis answers it), a
    wrong secret the signature mismatch, a non-admin principal 403 AccessDeniedException; curl's
    --aws-sigv4 signs as docs/capacity.md shows."""
    import json
    import urllib.error
    import urllib.request
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    admin_key, admin_secret = "AKIAFAULTADMINEXAMPL", "admin/secret"
    user_key, user_secret = "AKIAFAULTUSER0EXAMPL", "user/secret"
    creds = tmp_path / "credentials"
    creds.write_text(f"[admin]\naws_access_key_id = {admin_key}\n"
                     f"aws_secret_access_key = {admin_secret}\nadmin = true\n\n"
                     f"[user]\naws_access_key_id = {user_key}\n"
                     f"aws_secret_access_key = {user_secret}\n")
    srv = make_server(fault_admin="on", auth="sigv4", credentials=str(creds))

    def call(method, body=None, key=None, secret=None, service="sluice"):
        headers = {}
        if key:
            req = AWSRequest(method=method, url=srv.endpoint + "/admin/faults", data=body or b"")
            SigV4Auth(Credentials(key, secret), service, REGION).add_auth(req)
            headers = dict(req.headers.items())
        r = urllib.request.Request(srv.endpoint + "/admin/faults", method=method,
                                   data=body, headers=headers)
        try:
            with urllib.request.urlopen(r, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    status, out = call("GET")
    assert (status, out["__type"]) == (400, "MissingAuthenticationTokenException"), out
    status, out = call("POST", b"op=write,error=internal")
    assert (status, out["__type"]) == (400, "MissingAuthenticationTokenException"), out
    status, out = call("GET", key=admin_key, secret="wrong")
    assert (status, out["__type"]) == (400, "InvalidSignatureException"), out
    status, out = call("POST", b"op=write,error=internal", key=user_key, secret=user_secret)
    assert (status, out["__type"]) == (403, "AccessDeniedException"), out
    assert out["message"].startswith("User: arn:aws:iam::"), out
    assert call("GET", key=admin_key, secret=admin_secret) == (200, {"Rules": []})
    status, out = call("POST", b"op=write,error=internal", key=admin_key, secret=admin_secret)
    assert status == 200 and [r["Error"] for r in out["Rules"]] == ["internal"], out

    curl = shutil.which("curl")
    assert curl, "curl is not installed: run scripts/setup.sh"
    proc = subprocess.run([curl, "-s", "-X", "DELETE", "--aws-sigv4", f"aws:amz:{REGION}:sluice",
                           "--user", f"{admin_key}:{admin_secret}", srv.endpoint + "/admin/faults"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and json.loads(proc.stdout) == {"Rules": []}, proc.stdout
