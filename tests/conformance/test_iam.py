"""The IAM subset over the Query protocol (docs/security.md, "IAM"), with boto3 and the AWS CLI v2
against a server in --auth sigv4 mode: users, access keys and inline user policies as the admin of
the credentials file creates them; a new user's key signs requests (and stops when made Inactive
or deleted); everything survives a restart, and the secrets are stored wrapped, never in clear."""
import json
import os
import subprocess

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import REGION, SluiceServer, assert_error

ADMIN_KEY, ADMIN_SECRET = "AKIAADMIN0000EXAMPLE", "admin/secret+key"
INVALID_TOKEN = "The security token included in the request is invalid."
POLICY = {"Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Action": "kinesis:PutRecord",
                         "Resource": "arn:aws:kinesis:us-east-1:000000000000:stream/orders"}]}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("iam")
    creds = d / "credentials"
    creds.write_text(f"[admin]\naws_access_key_id={ADMIN_KEY}\naws_secret_access_key={ADMIN_SECRET}\n"
                     "admin=true\n")
    server = SluiceServer(options={"auth": "sigv4", "credentials": str(creds),
                                   "master_key_file": str(d / "master.key")})
    server.master_key = d / "master.key"
    server.start()
    yield server
    assert server.stop() == 0, server.stderr_tail()
    server.cleanup()


def client(server, service, key=ADMIN_KEY, secret=ADMIN_SECRET, region=REGION):
    return boto3.client(service, endpoint_url=server.endpoint, region_name=region,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def iam_error(fn):
    with pytest.raises(ClientError) as e:
        fn()
    r = e.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_users(srv):
    iam = client(srv, "iam")
    u = iam.create_user(UserName="alice")["User"]
    assert (u["UserName"], u["Path"], u["Arn"]) == ("alice", "/",
                                                   "arn:aws:iam::000000000000:user/alice")
    assert u["UserId"].startswith("AIDA") and len(u["UserId"]) == 21
    assert iam.get_user(UserName="alice")["User"]["UserId"] == u["UserId"]
    assert iam_error(lambda: iam.create_user(UserName="alice")) == (
        "EntityAlreadyExists", "User with name alice already exists.", 409)
    assert iam_error(lambda: iam.get_user(UserName="nobody")) == (
        "NoSuchEntity", "The user with name nobody cannot be found.", 404)
    iam.create_user(UserName="carol")
    names = [x["UserName"] for x in iam.list_users()["Users"]]
    assert names == sorted(names) and {"alice", "carol"} <= set(names)
    page = iam.list_users(MaxItems=1)
    assert page["IsTruncated"] and len(page["Users"]) == 1
    rest = iam.list_users(Marker=page["Marker"])["Users"]
    assert page["Users"][0]["UserName"] not in [x["UserName"] for x in rest]
    iam.delete_user(UserName="carol")
    assert iam_error(lambda: iam.delete_user(UserName="carol"))[0] == "NoSuchEntity"
    # The caller itself (a principal of the credentials file).
    assert iam.get_user()["User"]["Arn"] == "arn:aws:iam::000000000000:user/admin"
    # Validation by the model, with the Query protocol's code.
    code, message, status = iam_error(lambda: iam.create_user(UserName="bad name!"))
    assert (code, status) == ("ValidationError", 400) and "userName" in message


def test_access_keys_sign_requests(srv):
    iam = client(srv, "iam")
    iam.create_user(UserName="bob")
    k = iam.create_access_key(UserName="bob")["AccessKey"]
    assert k["AccessKeyId"].startswith("AKIA") and len(k["AccessKeyId"]) == 20
    assert len(k["SecretAccessKey"]) == 40 and k["Status"] == "Active"
    sts = client(srv, "sts", k["AccessKeyId"], k["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::000000000000:user/bob"
    kinesis = client(srv, "kinesis", k["AccessKeyId"], k["SecretAccessKey"])
    # The key is recognised; without a policy the user may do nothing (test_authz.py).
    denied = ("User: arn:aws:iam::000000000000:user/bob is not authorized to perform: "
              "kinesis:ListStreams on resource: arn:aws:kinesis:us-east-1:000000000000:* because "
              "no identity-based policy allows the kinesis:ListStreams action")
    assert_error(lambda: kinesis.list_streams(), "AccessDeniedException", denied, 400)
    # The key's secret is never listed again.
    meta = iam.list_access_keys(UserName="bob")["AccessKeyMetadata"]
    assert [(m["AccessKeyId"], m["Status"]) for m in meta] == [(k["AccessKeyId"], "Active")]
    assert "SecretAccessKey" not in meta[0]
    # AWS's quota: two keys per user.
    k2 = iam.create_access_key(UserName="bob")["AccessKey"]
    assert iam_error(lambda: iam.create_access_key(UserName="bob")) == (
        "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409)
    # Inactive: refused as an unknown key; Active again: accepted.
    iam.update_access_key(UserName="bob", AccessKeyId=k["AccessKeyId"], Status="Inactive")
    assert iam.list_access_keys(UserName="bob")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    assert_error(lambda: kinesis.list_streams(), "UnrecognizedClientException", INVALID_TOKEN, 400)
    assert iam_error(lambda: sts.get_caller_identity())[:2] == ("InvalidClientTokenId",
                                                                INVALID_TOKEN)
    iam.update_access_key(UserName="bob", AccessKeyId=k["AccessKeyId"], Status="Active")
    assert_error(lambda: kinesis.list_streams(), "AccessDeniedException", denied, 400)
    # A user with keys cannot be deleted.
    assert iam_error(lambda: iam.delete_user(UserName="bob"))[::2] == ("DeleteConflict", 409)
    iam.delete_access_key(UserName="bob", AccessKeyId=k2["AccessKeyId"])
    assert iam_error(lambda: iam.delete_access_key(UserName="bob",
                                                   AccessKeyId=k2["AccessKeyId"])) == (
        "NoSuchEntity", f"The Access Key with id {k2['AccessKeyId']} cannot be found.", 404)
    # A user creates a key for itself (no UserName): the caller's user. IAM calls are authorized
    # like any other (test_authz.py), so the user needs iam:CreateAccessKey.
    bob_iam = client(srv, "iam", k["AccessKeyId"], k["SecretAccessKey"])
    assert iam_error(lambda: bob_iam.create_access_key())[0] == "AccessDenied"
    iam.put_user_policy(UserName="bob", PolicyName="own-keys", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "*"}]}))
    own = bob_iam.create_access_key()
    assert own["AccessKey"]["UserName"] == "bob"


def test_user_policies(srv):
    iam = client(srv, "iam")
    iam.create_user(UserName="dave")
    iam.put_user_policy(UserName="dave", PolicyName="put-orders",
                        PolicyDocument=json.dumps(POLICY))
    iam.put_user_policy(UserName="dave", PolicyName="a-first", PolicyDocument=json.dumps(POLICY))
    assert iam.list_user_policies(UserName="dave")["PolicyNames"] == ["a-first", "put-orders"]
    got = iam.get_user_policy(UserName="dave", PolicyName="put-orders")
    assert got["PolicyDocument"] == POLICY  # boto3 decodes IAM's URL-encoded document
    assert iam_error(lambda: iam.put_user_policy(UserName="dave", PolicyName="x",
                                                 PolicyDocument="{not json")) == (
        "MalformedPolicyDocument", "Syntax errors in policy.", 400)
    # a policy the server could not enforce whole is refused, never stored half-applied
    code, msg, status = iam_error(lambda: iam.put_user_policy(
        UserName="dave", PolicyName="x", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Action": "kinesis:*", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}]})))
    assert (code, status) == ("MalformedPolicyDocument", 400)
    assert "not supported" in msg
    assert iam_error(lambda: iam.get_user_policy(UserName="dave", PolicyName="nope")) == (
        "NoSuchEntity", "The user policy with name nope cannot be found.", 404)
    assert iam_error(lambda: iam.delete_user(UserName="dave"))[0] == "DeleteConflict"
    iam.delete_user_policy(UserName="dave", PolicyName="a-first")
    iam.delete_user_policy(UserName="dave", PolicyName="put-orders")
    assert iam.list_user_policies(UserName="dave")["PolicyNames"] == []
    iam.delete_user(UserName="dave")


def aws_cli(server, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ADMIN_KEY, AWS_SECRET_ACCESS_KEY=ADMIN_SECRET,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", server.endpoint, "--output", "json",
                        *args], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout) if p.stdout.strip() else None


def test_aws_cli_v2(srv):
    assert aws_cli(srv, "iam", "create-user", "--user-name", "erin")["User"]["UserName"] == "erin"
    key = aws_cli(srv, "iam", "create-access-key", "--user-name", "erin")["AccessKey"]
    aws_cli(srv, "iam", "put-user-policy", "--user-name", "erin", "--policy-name", "p",
            "--policy-document", json.dumps(POLICY))
    assert aws_cli(srv, "iam", "get-user-policy", "--user-name", "erin", "--policy-name",
                   "p")["PolicyDocument"] == POLICY
    assert [k["AccessKeyId"] for k in aws_cli(srv, "iam", "list-access-keys", "--user-name",
                                              "erin")["AccessKeyMetadata"]] == [key["AccessKeyId"]]
    # IAM is global: a client configured for another region signs for it, and is accepted.
    out = client(srv, "iam", region="eu-west-1").get_user(UserName="erin")
    assert out["User"]["UserName"] == "erin"


def test_restart_keeps_users_keys_and_wraps_secrets(srv):
    iam = client(srv, "iam")
    iam.create_user(UserName="frank")
    k = iam.create_access_key(UserName="frank")["AccessKey"]
    iam.put_user_policy(UserName="frank", PolicyName="p", PolicyDocument=json.dumps(POLICY))
    srv.restart()
    assert client(srv, "sts", k["AccessKeyId"], k["SecretAccessKey"]).get_caller_identity()[
        "Arn"].endswith(":user/frank")
    assert client(srv, "iam").get_user_policy(UserName="frank", PolicyName="p")[
        "PolicyDocument"] == POLICY
    # The secret is nowhere in clear under the data directory; the master key file is 0600.
    for root, _, files in os.walk(srv.data_dir):
        for f in files:
            assert k["SecretAccessKey"].encode() not in open(os.path.join(root, f), "rb").read()
    assert oct(srv.master_key.stat().st_mode & 0o777) == "0o600"
    assert k["SecretAccessKey"] not in srv.stderr_tail(1000000)


def test_other_account_has_its_own_users(srv, tmp_path):
    # An admin of another account sees none of this account's users.
    creds = tmp_path / "credentials"
    creds.write_text(f"[admin]\naws_access_key_id={ADMIN_KEY}\naws_secret_access_key={ADMIN_SECRET}\n"
                     "admin=true\n"
                     "[other]\naws_access_key_id=AKIAOTHER000EXAMPLE\naws_secret_access_key=o\n"
                     "account_id=111122223333\nadmin=true\n")
    server = SluiceServer(options={"auth": "sigv4", "credentials": str(creds)})
    server.start()
    try:
        client(server, "iam").create_user(UserName="shared-name")
        other = client(server, "iam", "AKIAOTHER000EXAMPLE", "o")
        assert other.list_users()["Users"] == []
        u = other.create_user(UserName="shared-name")["User"]
        assert u["Arn"] == "arn:aws:iam::111122223333:user/shared-name"
    finally:
        assert server.stop() == 0, server.stderr_tail()
        server.cleanup()
