"""STS temporary credentials (docs/security.md, "STS"): GetSessionToken issues an ASIA... key, a
secret and a session token that sign requests as the caller (same account, same policies), are
verified on every request (a changed token is UnrecognizedClientException), survive a restart
of the server (they are sealed, not stored), and end with ExpiredTokenException. AssumeRole
issues a role's credentials when its trust policy allows the caller. boto3 and the AWS CLI v2."""
import datetime
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


def user_keys(iam, name):
    iam.create_user(UserName=name)
    return iam.create_access_key(UserName=name)["AccessKey"]


def no_validation(server, service, key, secret, token=None):
    """A client that sends what it is given (botocore checks some bounds itself)."""
    return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        aws_session_token=token,
                        config=Config(parameter_validation=False,
                                      retries={"total_max_attempts": 1, "mode": "standard"}))


def test_assume_role_session_policy(srv):
    """AssumeRole's Policy: the session may do only what both the role's policies and the
    session policy allow; the refusal names the session policy as AWS does."""
    iam = client(srv, "iam")
    erin = user_keys(iam, "erin")
    erin_arn = f"arn:aws:iam::{ACCOUNT}:user/erin"
    iam.create_role(RoleName="limited", AssumeRolePolicyDocument=policy(
        {"Effect": "Allow", "Principal": {"AWS": erin_arn}, "Action": "sts:AssumeRole"}))
    iam.put_role_policy(RoleName="limited", PolicyName="p", PolicyDocument=policy(
        {"Effect": "Allow", "Resource": "*", "Action": [
            "kinesis:ListStreams", "kinesis:DescribeStreamSummary", "kinesis:CreateStream"]}))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/limited"
    sts = client(srv, "sts", erin["AccessKeyId"], erin["SecretAccessKey"])
    name = unique_name("sp")
    create_stream_and_wait(client(srv, "kinesis"), name)
    stream = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"

    def session(session_name, session_policy=None):
        kw = {"Policy": session_policy} if session_policy else {}
        got = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name, **kw)
        return with_creds(srv, "kinesis", got["Credentials"])

    def refused(fn, who, action, resource, why):
        assert error(fn) == ("AccessDeniedException",
                             f"User: arn:aws:sts::{ACCOUNT}:assumed-role/limited/{who} is not "
                             f"authorized to perform: kinesis:{action} on resource: {resource} "
                             f"{why}")

    # no session policy: the role's policies
    k = session("full")
    assert k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"] \
        == stream
    # the intersection: ListStreams in both; CreateStream only in the role's; PutRecord only in
    # the session's
    k = session("narrow", policy({"Effect": "Allow", "Resource": "*",
                                  "Action": ["kinesis:ListStreams", "kinesis:PutRecord"]}))
    assert name in k.list_streams()["StreamNames"]
    refused(lambda: k.describe_stream_summary(StreamName=name), "narrow",
            "DescribeStreamSummary", stream,
            "because no session policy allows the kinesis:DescribeStreamSummary action")
    refused(lambda: k.put_record(StreamName=name, Data=b"x", PartitionKey="p"), "narrow",
            "PutRecord", stream,
            "because no identity-based policy allows the kinesis:PutRecord action")
    # an explicit deny in the session policy wins over the role's allow
    k = session("deny", policy({"Effect": "Allow", "Resource": "*", "Action": "kinesis:*"},
                               {"Effect": "Deny", "Resource": "*",
                                "Action": "kinesis:ListStreams"}))
    assert k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    refused(lambda: k.list_streams(), "deny", "ListStreams",
            f"arn:aws:kinesis:{REGION}:{ACCOUNT}:*",
            "with an explicit deny in a session policy")
    # the policy survives a restart: it travels sealed in the session token
    srv.restart()
    refused(lambda: k.list_streams(), "deny", "ListStreams",
            f"arn:aws:kinesis:{REGION}:{ACCOUNT}:*",
            "with an explicit deny in a session policy")
    # bad session policies
    code, _ = error(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="bad",
                                            Policy="{not json"))
    assert code == "MalformedPolicyDocument"
    big = policy({"Effect": "Allow", "Resource": "*",
                  "Action": [f"kinesis:Action{i:04d}" for i in range(120)]})
    assert len(big) > 2048
    code, msg = error(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="big",
                                              Policy=big))
    assert code == "PackedPolicyTooLarge"
    assert msg.startswith("Packed policy consumes ") and msg.endswith(
        "% of allotted space, please use smaller policy for session.")
    code, _ = error(lambda: sts.assume_role(
        RoleArn=role_arn, RoleSessionName="arns",
        PolicyArns=[{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]))
    assert code == "ValidationError"


def test_assume_role_duration_bounds(srv):
    """DurationSeconds: the model's 900..43200 first, then the role's MaxSessionDuration, and
    one hour for a role assumed with a role's credentials (role chaining), with AWS's texts."""
    iam = client(srv, "iam")
    iam.create_role(RoleName="longer", MaxSessionDuration=7200,
                    AssumeRolePolicyDocument=policy(
                        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                         "Action": "sts:AssumeRole"}))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/longer"
    sts = no_validation(srv, "sts", ADMIN_KEY, ADMIN_SECRET)
    for seconds, bound in ((899, "greater than or equal to 900"),
                           (43201, "less than or equal to 43200")):
        assert error(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="d1",
                                             DurationSeconds=seconds)) == (
            "ValidationError", f"1 validation error detected: Value '{seconds}' at "
            f"'durationSeconds' failed to satisfy constraint: Member must have value {bound}")
    assert error(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="d2",
                                         DurationSeconds=7201)) == (
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    got = sts.assume_role(RoleArn=role_arn, RoleSessionName="d3", DurationSeconds=7200)
    c = got["Credentials"]
    left = (c["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 7100 < left <= 7200
    # role chaining: the role's own session assumes it again (its trust names the account root,
    # and the admin role session's identity is the role: allow sts:AssumeRole on itself)
    iam.put_role_policy(RoleName="longer", PolicyName="chain", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}))
    chained = no_validation(srv, "sts", c["AccessKeyId"], c["SecretAccessKey"],
                            c["SessionToken"])
    assert error(lambda: chained.assume_role(RoleArn=role_arn, RoleSessionName="d4",
                                             DurationSeconds=3601)) == (
        "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit "
        "for roles assumed by role chaining.")
    again = chained.assume_role(RoleArn=role_arn, RoleSessionName="d4", DurationSeconds=3600)
    assert again["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/longer/d4"


def test_assume_role_external_id(srv):
    """A trust policy's sts:ExternalId condition: the role is assumed only with that ExternalId
    (StringEquals), or one matching the pattern (StringLike)."""
    iam = client(srv, "iam")
    for role, op, value in (("vendor", "StringEquals", "ext-123"),
                            ("vendors", "StringLike", "ext-*")):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=policy(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
             "Action": "sts:AssumeRole", "Condition": {op: {"sts:ExternalId": value}}}))
    other = client(srv, "sts", OTHER_KEY, OTHER_SECRET)
    for role, good, bad in (("vendor", "ext-123", "ext-124"), ("vendors", "ext-9", "other-9")):
        role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
        denied = ("AccessDenied", f"User: arn:aws:iam::{OTHER}:user/other is not authorized to "
                  f"perform: sts:AssumeRole on resource: {role_arn}")
        assert error(lambda: other.assume_role(RoleArn=role_arn, RoleSessionName="x1")) == denied
        assert error(lambda: other.assume_role(RoleArn=role_arn, RoleSessionName="x1",
                                               ExternalId=bad)) == denied
        c = other.assume_role(RoleArn=role_arn, RoleSessionName="x1", ExternalId=good)[
            "Credentials"]
        assert with_creds(srv, "sts", c).get_caller_identity()["Arn"] == \
            f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/x1"
    # the ExternalId's own bounds are the model's (2..1224 characters of [\w+=,.@:/-])
    assert error(lambda: no_validation(srv, "sts", OTHER_KEY, OTHER_SECRET).assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/vendor", RoleSessionName="x2",
        ExternalId="a"))[0] == "ValidationError"


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
