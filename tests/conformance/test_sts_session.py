"""STS temporary credentials (docs/security.md, "STS"): GetSessionToken issues an ASIA... key, a
secret and a session token that sign requests as the caller (same account, same policies), are
verified on every request (a changed token is UnrecognizedClientException), survive a restart
of the server (they are sealed, not stored), and end with ExpiredTokenException. AssumeRole
issues a role's credentials when its trust policy allows the caller. boto3 and the AWS CLI v2."""
import glob
import json
import os
import subprocess

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import REGION, SluiceServer, create_stream_and_wait, unique_name

ADMIN_KEY, ADMIN_SECRET = "AKIAADMINSTSEXAMPLE0", "admin/sts+secret"
OTHER_KEY, OTHER_SECRET = "AKIAOTHERSTSEXAMPLE0", "other/sts+secret"
ACCOUNT, OTHER = "000000000000", "222222222222"
FAKETIME_LIBS = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))


@pytest.fixture(scope="module")
def creds_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("sts")
    (d / "credentials").write_text(
        f"[admin]\naws_access_key_id={ADMIN_KEY}\naws_secret_access_key={ADMIN_SECRET}\n"
        f"admin=true\n\n[other]\naws_access_key_id={OTHER_KEY}\n"
        f"aws_secret_access_key={OTHER_SECRET}\naccount_id={OTHER}\nadmin=true\n")
    return d


def options(d):
    return {"auth": "sigv4", "credentials": str(d / "credentials"),
            "master_key_file": str(d / "master.key")}


@pytest.fixture(scope="module")
def srv(creds_dir):
    server = SluiceServer(options=options(creds_dir), data_dir=creds_dir / "data")
    server.start()
    yield server
    assert server.stop() == 0, server.stderr_tail()
    server.cleanup()


def client(server, service, key=ADMIN_KEY, secret=ADMIN_SECRET, token=None):
    return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        aws_session_token=token,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def with_creds(server, service, c):
    return client(server, service, c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def error(fn):
    with pytest.raises(ClientError) as e:
        fn()
    r = e.value.response
    return r["Error"]["Code"], r["Error"]["Message"]


def test_session_token(srv):
    c = client(srv, "sts").get_session_token(DurationSeconds=900)["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and len(c["AccessKeyId"]) == 20
    assert len(c["SecretAccessKey"]) == 40 and c["SessionToken"]
    me = with_creds(srv, "sts", c).get_caller_identity()
    assert (me["Arn"], me["Account"]) == (f"arn:aws:iam::{ACCOUNT}:user/admin", ACCOUNT)
    k = with_creds(srv, "kinesis", c)
    name = unique_name("tmp")
    create_stream_and_wait(k, name)
    assert name in k.list_streams()["StreamNames"]
    # the token is verified: a changed one, or none, is refused
    bad = dict(c, SessionToken=c["SessionToken"][:-4] + "0000")
    assert error(lambda: with_creds(srv, "kinesis", bad).list_streams()) == (
        "UnrecognizedClientException", "The security token included in the request is invalid.")
    assert error(lambda: client(srv, "kinesis", c["AccessKeyId"],
                                c["SecretAccessKey"]).list_streams())[0] == \
        "UnrecognizedClientException"
    assert error(lambda: with_creds(srv, "sts", c).get_session_token()) == (
        "AccessDenied", "Cannot call GetSessionToken with session credentials")
    # sealed, not stored: a restart keeps them valid
    srv.restart()
    assert name in with_creds(srv, "kinesis", c).list_streams()["StreamNames"]


def test_expired_token(creds_dir):
    """Credentials issued by a server whose clock is 20 minutes behind expire after 15 minutes
    of its time: to a server with the right clock they are already expired."""
    assert FAKETIME_LIBS, "libfaketime missing: run scripts/setup.sh (Debian package libfaketime)"
    env = {"LD_PRELOAD": FAKETIME_LIBS[0], "FAKETIME": "-20m", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    # An AddressSanitizer build (CI's second stage) refuses to start when another library is
    # preloaded ahead of its runtime unless told that this is intended.
    server_env = dict(env, ASAN_OPTIONS=":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                              "verify_asan_link_order=0"])))
    behind = SluiceServer(options=options(creds_dir), env=server_env)
    behind.start()
    try:
        # the client's clock runs behind too (the AWS CLI under the same libfaketime), so that
        # its signature is current for that server
        cli_env = dict(os.environ, AWS_ACCESS_KEY_ID=ADMIN_KEY,
                       AWS_SECRET_ACCESS_KEY=ADMIN_SECRET, AWS_DEFAULT_REGION=REGION,
                       AWS_PAGER="", **env)
        p = subprocess.run(["/usr/bin/aws", "--endpoint-url", behind.endpoint, "--output", "json",
                            "sts", "get-session-token", "--duration-seconds", "900"],
                           env=cli_env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        c = json.loads(p.stdout)["Credentials"]
    finally:
        behind.stop()
        behind.cleanup()
    now = SluiceServer(options=options(creds_dir))
    now.start()
    try:
        assert error(lambda: with_creds(now, "kinesis", c).list_streams()) == (
            "ExpiredTokenException", "The security token included in the request is expired")
    finally:
        now.stop()
        now.cleanup()


def test_aws_cli_v2(srv):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ADMIN_KEY, AWS_SECRET_ACCESS_KEY=ADMIN_SECRET,
               AWS_DEFAULT_REGION=REGION, AWS_PAGER="")
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", srv.endpoint, "--output", "json", "sts",
                        "get-session-token"], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    c = json.loads(p.stdout)["Credentials"]
    env.update(AWS_ACCESS_KEY_ID=c["AccessKeyId"], AWS_SECRET_ACCESS_KEY=c["SecretAccessKey"],
               AWS_SESSION_TOKEN=c["SessionToken"])
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", srv.endpoint, "--output", "json", "sts",
                        "get-caller-identity"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/admin"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_assume_role(srv):
    iam = client(srv, "iam")
    keys = {}
    for user in ("carl", "dora"):
        iam.create_user(UserName=user)
        keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
    role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=policy(
        {"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:user/carl",
                                                  f"arn:aws:iam::{OTHER}:root"]},
         "Action": "sts:AssumeRole"}))["Role"]
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/reader"
    assert role["Arn"] == role_arn and role["RoleId"].startswith("AROA")
    doc = iam.get_role(RoleName="reader")["Role"]["AssumeRolePolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc  # boto3 decodes it
    assert doc["Statement"][0]["Action"] == "sts:AssumeRole"
    iam.put_role_policy(RoleName="reader", PolicyName="list", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "kinesis:ListStreams", "Resource": "*"}))
    assert "reader" in [r["RoleName"] for r in iam.list_roles()["Roles"]]

    def sts_of(user):
        return client(srv, "sts", keys[user]["AccessKeyId"], keys[user]["SecretAccessKey"])

    # carl is named by the trust policy: no identity policy of its own is needed
    got = sts_of("carl").assume_role(RoleArn=role_arn, RoleSessionName="s1")
    assert got["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1"
    c = got["Credentials"]
    me = with_creds(srv, "sts", c).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1"
    k = with_creds(srv, "kinesis", c)
    assert "StreamNames" in k.list_streams()  # the role's policy allows it
    code, msg = error(lambda: k.create_stream(StreamName="nope", ShardCount=1))
    assert code == "AccessDeniedException"
    assert msg.startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1 is not authorized "
                          "to perform: kinesis:CreateStream")
    # dora is not in the trust policy
    assert error(lambda: sts_of("dora").assume_role(RoleArn=role_arn, RoleSessionName="s2")) == (
        "AccessDenied", f"User: arn:aws:iam::{ACCOUNT}:user/dora is not authorized to perform: "
        f"sts:AssumeRole on resource: {role_arn}")
    assert error(lambda: sts_of("carl").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/missing", RoleSessionName="s3"))[0] == "AccessDenied"
    # another account trusted by its root: its admin may assume the role
    other = client(srv, "sts", OTHER_KEY, OTHER_SECRET)
    c2 = other.assume_role(RoleArn=role_arn, RoleSessionName="xa", DurationSeconds=900)[
        "Credentials"]
    assert with_creds(srv, "sts", c2).get_caller_identity()["Account"] == ACCOUNT
    assert error(lambda: other.assume_role(RoleArn=role_arn, RoleSessionName="xa",
                                           DurationSeconds=7200))[0] == "ValidationError"
    # a role with policies cannot be deleted
    assert error(lambda: iam.delete_role(RoleName="reader"))[0] == "DeleteConflict"
    iam.delete_role_policy(RoleName="reader", PolicyName="list")
    iam.delete_role(RoleName="reader")
    assert error(lambda: iam.get_role(RoleName="reader"))[0] == "NoSuchEntity"


JS_DIR = __import__("pathlib").Path(__file__).resolve().parent / "js"


def test_js_sdk_v3(srv):
    """The JavaScript SDK v3 with temporary credentials, on a stream encrypted at rest."""
    import shutil
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/setup.sh"
    assert (JS_DIR / "node_modules" / "@aws-sdk" / "client-kinesis").is_dir(), (
        "tests/conformance/js/node_modules is missing: run scripts/setup.sh (npm ci)")
    kid = client(srv, "kms").create_key()["KeyMetadata"]["KeyId"]
    k = client(srv, "kinesis")
    name = unique_name("jsenc")
    create_stream_and_wait(k, name)
    k.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=kid)
    c = client(srv, "sts").get_session_token()["Credentials"]
    env = {key: v for key, v in os.environ.items() if not key.startswith("AWS_")}
    env.update(SLUICE_ENDPOINT=srv.endpoint, SLUICE_KEY=c["AccessKeyId"],
               SLUICE_SECRET=c["SecretAccessKey"], SLUICE_TOKEN=c["SessionToken"],
               SLUICE_STREAM=name, AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    p = subprocess.run([node, "--test", "--test-reporter=spec", "security.sigv4.mjs"], cwd=JS_DIR,
                       env=env, capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-10000:]
    assert "pass 0" not in out and "fail 0" in out, out[-3000:]
