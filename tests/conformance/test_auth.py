"""SigV4 verification (--auth sigv4, docs/security.md) with real clients: boto3, the AWS CLI v2
(/usr/bin/aws), the AWS SDK for JavaScript v3 (js/auth.sigv4.mjs) and curl's own signer (HTTP/2
with prior knowledge), and raw requests signed by botocore's SigV4Auth / SigV4QueryAuth for the
cases a client would never send (a tampered body, a changed header, a skewed clock, a presigned
request). Each rejection is checked for AWS's exact error type, message and status. Also the
start-up rules of the modes (--auth open on a non-loopback address) and the credentials file
re-read without a restart."""
import datetime
import glob
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import http.client
from pathlib import Path

import boto3
import cbor2
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from helpers import (REGION, SluiceServer, assert_error, create_stream_and_wait, free_port,
                     unique_name, wait_until)

ADMIN_KEY, ADMIN_SECRET = "AKIAADMIN0000EXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
OTHER_KEY, OTHER_SECRET = "AKIAOTHER0000EXAMPLE", "other/secret+key"
OTHER_ACCOUNT = "111122223333"
TOKEN_KEY, TOKEN_SECRET, TOKEN = "ASIATOKEN000EXAMPLE", "token-secret", "FwoGZXIvYXdzEXAMPLE//token"
EXPIRED_KEY = "ASIAEXPIRED00EXAMPLE"

MISMATCH = ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.")
INVALID_TOKEN = "The security token included in the request is invalid."
JS_DIR = Path(__file__).resolve().parent / "js"


def credentials_text(extra=""):
    return (f"[admin]\naws_access_key_id = {ADMIN_KEY}\naws_secret_access_key = {ADMIN_SECRET}\n"
            "admin = true\n\n"
            f"# a principal of another account\n[other]\naws_access_key_id={OTHER_KEY}\n"
            f"aws_secret_access_key={OTHER_SECRET}\naccount_id={OTHER_ACCOUNT}\nadmin=true\n"
            "region = eu-west-1 ; ignored, as the AWS tools ignore keys they do not use\n\n"
            f"[temporary]\naws_access_key_id={TOKEN_KEY}\naws_secret_access_key={TOKEN_SECRET}\n"
            f"aws_session_token={TOKEN}\nexpiration=2999-01-01T00:00:00Z\nadmin=true\n\n"
            f"[expired]\naws_access_key_id={EXPIRED_KEY}\naws_secret_access_key={TOKEN_SECRET}\n"
            f"aws_session_token={TOKEN}\nexpiration=2001-01-01T00:00:00Z\n" + extra)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    creds = tmp_path_factory.mktemp("creds") / "credentials"
    creds.write_text(credentials_text())
    server = SluiceServer(options={"auth": "sigv4", "credentials": str(creds)})
    server.creds_path = creds
    server.start()
    yield server
    rc = server.stop()
    assert rc == 0, server.stderr_tail()
    log = server.stderr_tail(200000)
    for secret in (ADMIN_SECRET, OTHER_SECRET, TOKEN_SECRET):
        assert secret not in log, "a secret was logged"
    server.cleanup()


def kinesis(server, key=ADMIN_KEY, secret=ADMIN_SECRET, region=REGION, token=None):
    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                    aws_session_token=token, region_name=region)
    return session.client("kinesis", endpoint_url=server.endpoint,
                          config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def signed(server, target, body, key=ADMIN_KEY, secret=ADMIN_SECRET, region=REGION,
           service="kinesis", content_type="application/x-amz-json-1.1"):
    headers = {"Content-Type": content_type, "X-Amz-Target": "Kinesis_20131202." + target}
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(key, secret), service, region).add_auth(req)
    return dict(req.headers.items())


def send(server, headers, body, path="/"):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def expect(status_body, status, code, message):
    status_got, body = status_body
    doc = json.loads(body)
    assert (status_got, doc.get("__type"), doc.get("message")) == (status, code, message), body


def test_right_secret_is_accepted(srv):
    k = kinesis(srv)
    name = unique_name("auth")
    create_stream_and_wait(k, name)
    seq = k.put_record(StreamName=name, Data=b"signed", PartitionKey="p")["SequenceNumber"]
    it = k.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                              ShardIteratorType="AT_SEQUENCE_NUMBER",
                              StartingSequenceNumber=seq)["ShardIterator"]
    assert k.get_records(ShardIterator=it)["Records"][0]["Data"] == b"signed"


def test_wrong_secret(srv):
    assert_error(lambda: kinesis(srv, secret="not-the-secret").list_streams(),
                 "InvalidSignatureException", MISMATCH, 400)


def test_unknown_key(srv):
    assert_error(lambda: kinesis(srv, key="AKIANOBODY00EXAMPLE").list_streams(),
                 "UnrecognizedClientException", INVALID_TOKEN, 400)


def test_twelve_digit_key_is_no_account_in_sigv4_mode(srv):
    # In open mode a 12-digit key names an account; with verification it is just an unknown key.
    assert_error(lambda: kinesis(srv, key="123456789012").list_streams(),
                 "UnrecognizedClientException", INVALID_TOKEN, 400)


def test_wrong_region_in_scope(srv):
    assert_error(lambda: kinesis(srv, region="eu-west-1").list_streams(),
                 "InvalidSignatureException",
                 "Credential should be scoped to a valid region, not 'eu-west-1'. ", 400)


def test_wrong_service_in_scope(srv):
    body = b"{}"
    expect(send(srv, signed(srv, "ListStreams", body, service="firehose"), body), 400,
           "InvalidSignatureException", "Credential should be scoped to correct service: 'kinesis'. ")


def test_tampered_body(srv):
    name = unique_name("tamper")
    create_stream_and_wait(kinesis(srv), name)
    body = json.dumps({"StreamName": name, "Data": "aGVsbG8=", "PartitionKey": "a"}).encode()
    headers = signed(srv, "PutRecord", body)
    status, _ = send(srv, headers, body)
    assert status == 200
    tampered = body.replace(b"aGVsbG8=", b"ZXZpbCE=")
    expect(send(srv, headers, tampered), 400, "InvalidSignatureException", MISMATCH)


def test_replay_with_changed_header(srv):
    body = b"{}"
    headers = signed(srv, "ListStreams", body)
    assert send(srv, headers, body)[0] == 200
    # An unsigned header may change (proxies add them) ...
    assert send(srv, dict(headers, **{"User-Agent": "replayer/1.0"}), body)[0] == 200
    # ... a signed one may not: the operation, the content type, the date.
    expect(send(srv, dict(headers, **{"X-Amz-Target": "Kinesis_20131202.DescribeLimits"}), body),
           400, "InvalidSignatureException", MISMATCH)
    shifted = (datetime.datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
               + datetime.timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    expect(send(srv, dict(headers, **{"X-Amz-Date": shifted}), body), 400,
           "InvalidSignatureException", MISMATCH)


FAKETIME_LIBS = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))


def skewed_server(creds_path, minutes):
    """A sigv4 server whose clock runs `minutes` ahead (libfaketime, package libfaketime)."""
    assert FAKETIME_LIBS, "libfaketime missing: run scripts/setup.sh (Debian package libfaketime)"
    env = {"LD_PRELOAD": FAKETIME_LIBS[0], "FAKETIME": "%+dm" % minutes,
           "FAKETIME_DONT_FAKE_MONOTONIC": "1",
           # An AddressSanitizer build (CI's second stage) refuses to start when another library
           # is preloaded ahead of its runtime unless told that this is intended.
           "ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                 "verify_asan_link_order=0"]))}
    server = SluiceServer(options={"auth": "sigv4", "credentials": str(creds_path)}, env=env)
    return server.start()


@pytest.mark.parametrize("minutes", [6, -6])
def test_clock_skew_six_minutes(srv, minutes):
    server = skewed_server(srv.creds_path, minutes)
    try:
        with pytest.raises(ClientError) as e:
            kinesis(server).list_streams()
        body = b"{}"
        headers = signed(server, "ListStreams", body)
        status, raw = send(server, headers, body)
    finally:
        assert server.stop() == 0, server.stderr_tail()
        server.cleanup()
    err = e.value.response["Error"]
    assert err["Code"] == "InvalidSignatureException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The message names the request's time, the bound and the server's time.
    doc = json.loads(raw)
    assert status == 400 and doc["__type"] == "InvalidSignatureException"
    t = headers["X-Amz-Date"]
    if minutes > 0:  # the server is ahead: the request looks old
        prefix, suffix = f"Signature expired: {t} is now earlier than ", " - 5 min.)"
    else:
        prefix, suffix = f"Signature not yet current: {t} is still later than ", " + 5 min.)"
    assert err["Message"].startswith(prefix[:30])
    assert doc["message"].startswith(prefix) and doc["message"].endswith(suffix), doc
    bound, now = doc["message"][len(prefix):-len(suffix)].split(" (")
    fmt = "%Y%m%dT%H%M%SZ"
    delta = datetime.datetime.strptime(now, fmt) - datetime.datetime.strptime(bound, fmt)
    assert delta == datetime.timedelta(minutes=5 if minutes > 0 else -5)
    server_ahead = datetime.datetime.strptime(now, fmt) - datetime.datetime.strptime(t, fmt)
    assert abs(server_ahead.total_seconds() - minutes * 60) < 10


def test_skew_within_five_minutes_is_accepted(srv):
    server = skewed_server(srv.creds_path, 4)
    try:
        kinesis(server).list_streams()
    finally:
        assert server.stop() == 0, server.stderr_tail()
        server.cleanup()


def test_session_token(srv):
    kinesis(srv, key=TOKEN_KEY, secret=TOKEN_SECRET, token=TOKEN).list_streams()
    assert_error(lambda: kinesis(srv, key=TOKEN_KEY, secret=TOKEN_SECRET).list_streams(),
                 "UnrecognizedClientException", INVALID_TOKEN, 400)
    assert_error(lambda: kinesis(srv, key=TOKEN_KEY, secret=TOKEN_SECRET,
                                 token="another").list_streams(),
                 "UnrecognizedClientException", INVALID_TOKEN, 400)
    assert_error(lambda: kinesis(srv, key=EXPIRED_KEY, secret=TOKEN_SECRET,
                                 token=TOKEN).list_streams(),
                 "ExpiredTokenException", "The security token included in the request is expired",
                 400)


def test_missing_and_incomplete_signatures_keep_their_errors(srv):
    body = b"{}"
    headers = {"Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": "Kinesis_20131202.ListStreams"}
    expect(send(srv, headers, body), 400, "MissingAuthenticationTokenException",
           "Missing Authentication Token")
    h = signed(srv, "ListStreams", body)
    h["Authorization"] = h["Authorization"].split(", Signature=")[0]
    status, raw = send(srv, h, body)
    assert status == 400 and json.loads(raw)["__type"] == "IncompleteSignatureException"


def test_presigned_request(srv):
    body = b"{}"
    headers = {"Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": "Kinesis_20131202.ListStreams"}
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=body, headers=headers)
    SigV4QueryAuth(Credentials(ADMIN_KEY, ADMIN_SECRET), "kinesis", REGION, expires=60).add_auth(req)
    url = urllib.parse.urlsplit(req.url)
    assert "X-Amz-Signature=" in url.query
    send_headers = dict(req.headers.items())
    assert "Authorization" not in send_headers
    status, raw = send(srv, send_headers, body, path="/?" + url.query)
    assert status == 200, raw
    assert "StreamNames" in json.loads(raw)
    # The signature covers the query: a changed parameter is refused.
    bad = url.query.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    expect(send(srv, send_headers, body, path="/?" + bad), 400, "InvalidSignatureException",
           MISMATCH)
    bad = url.query.replace(ADMIN_KEY, OTHER_KEY)
    expect(send(srv, send_headers, body, path="/?" + bad), 400, "InvalidSignatureException",
           MISMATCH)


def test_cbor_request_is_verified(srv):
    body = cbor2.dumps({})
    headers = signed(srv, "DescribeLimits", body, content_type="application/x-amz-cbor-1.1")
    status, raw = send(srv, headers, body)
    assert status == 200 and "ShardLimit" in cbor2.loads(raw)
    status, raw = send(srv, headers, cbor2.dumps({"Other": 1}))
    doc = cbor2.loads(raw)
    assert (status, doc["__type"], doc["message"]) == (400, "InvalidSignatureException", MISMATCH)


def curl_h2(server, key, secret, target="ListStreams", body="{}"):
    cmd = ["curl", "-sS", "--http2-prior-knowledge", "-o", "-", "-w", "\n%{http_code} %{http_version}",
           "--aws-sigv4", f"aws:amz:{REGION}:kinesis", "--user", f"{key}:{secret}",
           "-H", f"X-Amz-Target: Kinesis_20131202.{target}",
           "-H", "Content-Type: application/x-amz-json-1.1", "--data-binary", body,
           server.endpoint + "/"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    out, status = p.stdout.rsplit("\n", 1)
    return status, json.loads(out)


def test_http2_requests_are_verified(srv):
    status, doc = curl_h2(srv, ADMIN_KEY, ADMIN_SECRET)
    assert status == "200 2" and "StreamNames" in doc
    status, doc = curl_h2(srv, ADMIN_KEY, "wrong")
    assert status == "400 2" and doc == {"__type": "InvalidSignatureException", "message": MISMATCH}


def aws_cli(server, key, secret, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION=REGION,
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_MAX_ATTEMPTS="1")
    return subprocess.run(["/usr/bin/aws", "--endpoint-url", server.endpoint, "--output", "json",
                           *args], capture_output=True, text=True, env=env, timeout=60)


def test_aws_cli_v2(srv):
    assert Path("/usr/bin/aws").exists(), "AWS CLI v2 missing: run scripts/setup.sh"
    p = aws_cli(srv, ADMIN_KEY, ADMIN_SECRET, "kinesis", "list-streams")
    assert p.returncode == 0, p.stderr
    assert "StreamNames" in json.loads(p.stdout)
    p = aws_cli(srv, ADMIN_KEY, "wrong", "kinesis", "list-streams")
    assert p.returncode != 0
    assert "InvalidSignatureException" in p.stderr and MISMATCH in p.stderr
    p = aws_cli(srv, "AKIANOBODY00EXAMPLE", "x", "kinesis", "list-streams")
    assert "UnrecognizedClientException" in p.stderr and INVALID_TOKEN in p.stderr


def test_js_sdk_v3(srv):
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/setup.sh"
    assert (JS_DIR / "node_modules" / "@aws-sdk" / "client-kinesis").is_dir(), (
        "tests/conformance/js/node_modules is missing: run scripts/setup.sh (npm ci)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(SLUICE_ENDPOINT=srv.endpoint, SLUICE_KEY=ADMIN_KEY, SLUICE_SECRET=ADMIN_SECRET,
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    p = subprocess.run([node, "--test", "--test-reporter=spec", "auth.sigv4.mjs"], cwd=JS_DIR,
                       env=env, capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-10000:]
    assert "pass 0" not in out and "fail 0" in out, out[-3000:]


def test_accounts_come_from_the_principal(srv):
    # The other principal's account is its own: the admin's stream is not there.
    name = unique_name("acct")
    create_stream_and_wait(kinesis(srv), name)
    other = kinesis(srv, key=OTHER_KEY, secret=OTHER_SECRET)
    assert name not in other.list_streams()["StreamNames"]
    s = other.describe_limits()
    assert s["OpenShardCount"] == 0
    arn = kinesis(srv).describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    assert ":000000000000:" in arn


def test_credentials_file_is_reread(srv):
    new_key, new_secret = "AKIANEWUSER0EXAMPLE", "fresh-secret"
    assert_error(lambda: kinesis(srv, key=new_key, secret=new_secret).list_streams(),
                 "UnrecognizedClientException", INVALID_TOKEN, 400)
    original = srv.creds_path.read_text()
    try:
        srv.creds_path.write_text(original + f"\n[new]\naws_access_key_id={new_key}\n"
                                  f"aws_secret_access_key={new_secret}\nadmin=true\n")

        def accepted():
            try:
                kinesis(srv, key=new_key, secret=new_secret).list_streams()
                return True
            except ClientError:
                return False
        wait_until(accepted, timeout=10, what="the new principal is accepted")
        # A file that no longer parses keeps the last good principals.
        srv.creds_path.write_text("[broken\n")
        time.sleep(1.2)  # the file is checked at most once a second; nothing to wait for instead
        kinesis(srv, key=new_key, secret=new_secret).list_streams()
        assert "line 1" in srv.stderr_tail()
    finally:
        srv.creds_path.write_text(original)

    def removed():
        try:
            kinesis(srv, key=new_key, secret=new_secret).list_streams()
            return False
        except ClientError as e:
            return e.response["Error"]["Code"] == "UnrecognizedClientException"
    wait_until(removed, timeout=10, what="the removed principal is refused")


# ---- modes at start-up ----

def run_serve(*args, timeout=20):
    srv = SluiceServer()
    cmd = [str(srv.binary), "serve", "--port", str(free_port()), "--data-dir",
           str(srv.tmp_dir / "data"), *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    finally:
        srv.cleanup()


def test_open_mode_refused_on_a_network_address():
    # 0.0.0.0 is never bound: the check refuses before any socket is opened.
    p = run_serve("--bind", "0.0.0.0")
    assert p.returncode != 0
    assert "--auth sigv4" in p.stderr and "--insecure-open-network" in p.stderr


def test_sigv4_needs_a_credentials_file():
    p = run_serve("--auth", "sigv4")
    assert p.returncode != 0 and "--credentials" in p.stderr


def test_bad_credentials_file_refuses_to_start(tmp_path):
    f = tmp_path / "creds"
    f.write_text("[a]\naws_access_key_id = K\n")
    p = run_serve("--auth", "sigv4", "--credentials", str(f))
    assert p.returncode != 0
    assert "line 1: a section has no aws_secret_access_key" in p.stderr
    f.write_text("[a]\naws_access_key_id=K\naws_secret_access_key=S\naccount_id=12\n")
    p = run_serve("--auth", "sigv4", "--credentials", str(f))
    assert p.returncode != 0 and "line 4: account_id must be 12 digits" in p.stderr


def test_cors_any_origin_needs_sigv4(srv, tmp_path):
    p = run_serve("--cors-origins", "*")
    assert p.returncode != 0
    server = SluiceServer(options={"auth": "sigv4", "credentials": str(srv.creds_path),
                                   "cors_origins": "*"})
    server.start()
    try:
        body = b"{}"
        headers = signed(server, "ListStreams", body)
        headers["Origin"] = "https://app.example"
        assert send(server, headers, body)[0] == 200
    finally:
        assert server.stop() == 0
        server.cleanup()


# ---- STS over the Query protocol, verified ----

def sts_client(server, key=ADMIN_KEY, secret=ADMIN_SECRET):
    return boto3.client("sts", endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def test_sts_get_caller_identity(srv):
    out = sts_client(srv).get_caller_identity()
    assert out["Account"] == "000000000000"
    assert out["Arn"] == "arn:aws:iam::000000000000:user/admin"
    assert out["UserId"].startswith("AIDA") and len(out["UserId"]) == 21
    assert out["UserId"] == sts_client(srv).get_caller_identity()["UserId"]  # stable
    other = sts_client(srv, OTHER_KEY, OTHER_SECRET).get_caller_identity()
    assert (other["Account"], other["Arn"]) == (OTHER_ACCOUNT,
                                                f"arn:aws:iam::{OTHER_ACCOUNT}:user/other")
    p = aws_cli(srv, OTHER_KEY, OTHER_SECRET, "sts", "get-caller-identity")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["Arn"] == f"arn:aws:iam::{OTHER_ACCOUNT}:user/other"


def test_sts_errors_have_query_codes(srv):
    with pytest.raises(ClientError) as e:
        sts_client(srv, secret="wrong").get_caller_identity()
    assert e.value.response["Error"] == {"Type": "Sender", "Code": "SignatureDoesNotMatch",
                                         "Message": MISMATCH}
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as e:
        sts_client(srv, key="AKIANOBODY00EXAMPLE").get_caller_identity()
    assert e.value.response["Error"] == {"Type": "Sender", "Code": "InvalidClientTokenId",
                                         "Message": INVALID_TOKEN}
    p = aws_cli(srv, ADMIN_KEY, "wrong", "sts", "get-caller-identity")
    assert p.returncode != 0 and "SignatureDoesNotMatch" in p.stderr
