"""The audit log (--audit-log FILE, docs/security.md "Audit log"): one JSON line per API request
with CloudTrail's field names (eventTime, eventSource, eventName, awsRegion, sourceIPAddress,
userIdentity, requestParameters for control-plane calls, errorCode, errorMessage), for every
service, refused requests included; never a secret, a session token or a record's data. Real
server, boto3."""
import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import REGION, SluiceServer, create_stream_and_wait, unique_name

ADMIN_KEY, ADMIN_SECRET = "AKIAADMINAUDITEXAMPL", "admin/audit+secret"
ACCOUNT = "000000000000"


def client(server, service, key=ADMIN_KEY, secret=ADMIN_SECRET, token=None):
    return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        aws_session_token=token,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def test_audit_log(tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(f"[admin]\naws_access_key_id={ADMIN_KEY}\naws_secret_access_key={ADMIN_SECRET}\n"
                     "admin=true\n")
    log = tmp_path / "audit.jsonl"
    srv = SluiceServer(options={"auth": "sigv4", "credentials": str(creds),
                                "master_key_file": str(tmp_path / "master.key"),
                                "audit_log": str(log)})
    srv.start()
    try:
        k = client(srv, "kinesis")
        name = unique_name("audit")
        create_stream_and_wait(k, name)
        k.put_record(StreamName=name, Data=b"RECORD-DATA-MARKER", PartitionKey="PK-MARKER")
        iam = client(srv, "iam")
        iam.create_user(UserName="eve")
        key = iam.create_access_key(UserName="eve")["AccessKey"]
        with pytest.raises(ClientError):  # no policy: AccessDeniedException
            client(srv, "kinesis", key["AccessKeyId"], key["SecretAccessKey"]).list_streams()
        with pytest.raises(ClientError):  # a wrong secret
            client(srv, "kinesis", ADMIN_KEY, "wrong").list_streams()
        kms = client(srv, "kms")
        kid = kms.create_key(Description="audited")["KeyMetadata"]["KeyId"]
        kms.encrypt(KeyId=kid, Plaintext=b"KMS-PLAINTEXT-MARKER")
        t = client(srv, "sts").get_session_token()["Credentials"]
        client(srv, "kinesis", t["AccessKeyId"], t["SecretAccessKey"],
               t["SessionToken"]).list_streams()
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
    text = log.read_text()
    srv.cleanup()
    for secret in (ADMIN_SECRET, key["SecretAccessKey"], t["SecretAccessKey"], t["SessionToken"],
                   "RECORD-DATA-MARKER", "PK-MARKER", "KMS-PLAINTEXT-MARKER"):
        assert secret not in text
    events = [json.loads(line) for line in text.splitlines()]
    by_name = {}
    for e in events:
        by_name.setdefault(e["eventName"], []).append(e)
        for field in ("eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
                      "userIdentity", "requestID", "eventType"):
            assert field in e, (field, e)

    create = by_name["CreateStream"][0]
    assert create["eventSource"] == "kinesis.amazonaws.com" and create["awsRegion"] == REGION
    assert create["sourceIPAddress"] == "127.0.0.1"
    assert create["userIdentity"] == {"type": "IAMUser",
                                      "arn": f"arn:aws:iam::{ACCOUNT}:user/admin",
                                      "accountId": ACCOUNT, "userName": "admin",
                                      "accessKeyId": ADMIN_KEY}
    assert create["requestParameters"]["streamName"] == name
    assert "errorCode" not in create
    put = by_name["PutRecord"][0]
    assert put["requestParameters"] == {"streamName": name}
    denied = [e for e in by_name["ListStreams"] if e.get("errorCode") == "AccessDeniedException"]
    assert denied and denied[0]["userIdentity"]["userName"] == "eve"
    assert denied[0]["errorMessage"].startswith(f"User: arn:aws:iam::{ACCOUNT}:user/eve is not")
    bad = [e for e in by_name["ListStreams"] if e.get("errorCode") == "InvalidSignatureException"]
    assert bad and bad[0]["userIdentity"]["accessKeyId"] == ADMIN_KEY
    session = [e for e in by_name["ListStreams"]
               if e["userIdentity"].get("accessKeyId") == t["AccessKeyId"]]
    assert session and "errorCode" not in session[0]
    assert by_name["CreateAccessKey"][0]["eventSource"] == "iam.amazonaws.com"
    assert by_name["Encrypt"][0]["requestParameters"] == {"keyId": kid}
    assert by_name["CreateKey"][0]["requestParameters"] == {"description": "audited"}
    assert by_name["GetSessionToken"][0]["eventSource"] == "sts.amazonaws.com"
