"""Authorization under --auth sigv4 (docs/security.md, "Authorization"): a non-admin principal may
call a Kinesis operation only when one of its IAM user's inline policies allows the operation's
action on its resource, and no policy denies it; refused requests get AWS's AccessDeniedException.
Admins of the credentials file may do everything. Real server, boto3."""
import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import (REGION, SluiceServer, assert_error, create_stream_and_wait, free_port,
                     unique_name)

ADMIN_KEY, ADMIN_SECRET = "AKIAADMINAUTHZEXAMPL", "admin/authz+secret"
PLAIN_KEY, PLAIN_SECRET = "AKIAPLAINAUTHZEXAMP", "plain/authz+secret"
ACCOUNT = "000000000000"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/producer"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("authz")
    creds = d / "credentials"
    creds.write_text(f"[admin]\naws_access_key_id={ADMIN_KEY}\naws_secret_access_key={ADMIN_SECRET}\n"
                     f"admin=true\n\n[plain]\naws_access_key_id={PLAIN_KEY}\n"
                     f"aws_secret_access_key={PLAIN_SECRET}\n")
    server = SluiceServer(options={"auth": "sigv4", "credentials": str(creds),
                                   "master_key_file": str(d / "master.key"),
                                   "tls_port": free_port()})
    server.start()
    yield server
    assert server.stop() == 0, server.stderr_tail()
    server.cleanup()


def client(server, service, key=ADMIN_KEY, secret=ADMIN_SECRET):
    return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def stream_arn(name):
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"


def denied(action, resource, explicit=False):
    why = ("with an explicit deny in an identity-based policy" if explicit else
           f"because no identity-based policy allows the {action} action")
    return f"User: {USER_ARN} is not authorized to perform: {action} on resource: {resource} {why}"


@pytest.fixture(scope="module")
def producer(srv):
    """An IAM user allowed only kinesis:PutRecord on one stream, and its Kinesis client."""
    iam = client(srv, "iam")
    iam.create_user(UserName="producer")
    key = iam.create_access_key(UserName="producer")["AccessKey"]
    allowed, other = unique_name("allowed"), unique_name("other")
    admin = client(srv, "kinesis")
    create_stream_and_wait(admin, allowed)
    create_stream_and_wait(admin, other)
    iam.put_user_policy(UserName="producer", PolicyName="put-one", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kinesis:PutRecord",
                       "Resource": stream_arn(allowed)}]}))
    return client(srv, "kinesis", key["AccessKeyId"], key["SecretAccessKey"]), allowed, other


def test_allowed_action_on_its_stream_only(producer):
    k, allowed, other = producer
    assert k.put_record(StreamName=allowed, Data=b"x", PartitionKey="p")["SequenceNumber"]
    # by ARN too: the resource is the stream whichever way it is named
    assert k.put_record(StreamARN=stream_arn(allowed), Data=b"x", PartitionKey="p")
    assert_error(lambda: k.put_record(StreamName=other, Data=b"x", PartitionKey="p"),
                 "AccessDeniedException", denied("kinesis:PutRecord", stream_arn(other)), 400)
    assert_error(lambda: k.list_streams(), "AccessDeniedException",
                 denied("kinesis:ListStreams", f"arn:aws:kinesis:{REGION}:{ACCOUNT}:*"), 400)
    assert_error(lambda: k.get_shard_iterator(StreamName=allowed, ShardId="shardId-000000000000",
                                              ShardIteratorType="TRIM_HORIZON"),
                 "AccessDeniedException",
                 denied("kinesis:GetShardIterator", stream_arn(allowed)), 400)


def test_get_records_needs_its_own_permission(srv, producer):
    k, allowed, _ = producer
    it = client(srv, "kinesis").get_shard_iterator(
        StreamName=allowed, ShardId="shardId-000000000000",
        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    # GetRecords names its stream only through the iterator: the resource is that stream
    assert_error(lambda: k.get_records(ShardIterator=it), "AccessDeniedException",
                 denied("kinesis:GetRecords", stream_arn(allowed)), 400)
    iam = client(srv, "iam")
    iam.put_user_policy(UserName="producer", PolicyName="read-one", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kinesis:GetRecords",
                       "Resource": stream_arn(allowed)}]}))
    try:
        assert "Records" in k.get_records(ShardIterator=it)
    finally:
        iam.delete_user_policy(UserName="producer", PolicyName="read-one")


def test_explicit_deny_beats_allow(srv, producer):
    k, allowed, _ = producer
    iam = client(srv, "iam")
    iam.put_user_policy(UserName="producer", PolicyName="deny-put", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "kinesis:Put*", "Resource": "*"}]}))
    try:
        assert_error(lambda: k.put_record(StreamName=allowed, Data=b"x", PartitionKey="p"),
                     "AccessDeniedException",
                     denied("kinesis:PutRecord", stream_arn(allowed), explicit=True), 400)
    finally:
        iam.delete_user_policy(UserName="producer", PolicyName="deny-put")
    assert k.put_record(StreamName=allowed, Data=b"x", PartitionKey="p")["SequenceNumber"]


def test_admin_may_do_everything(srv, producer):
    _, allowed, other = producer
    admin = client(srv, "kinesis")
    assert {allowed, other} <= set(admin.list_streams()["StreamNames"])
    admin.put_record(StreamName=other, Data=b"x", PartitionKey="p")
    admin.describe_limits()


def test_principal_without_policies_is_denied(srv):
    k = client(srv, "kinesis", PLAIN_KEY, PLAIN_SECRET)
    assert_error(lambda: k.describe_limits(), "AccessDeniedException",
                 f"User: arn:aws:iam::{ACCOUNT}:user/plain is not authorized to perform: "
                 f"kinesis:DescribeLimits on resource: arn:aws:kinesis:{REGION}:{ACCOUNT}:* "
                 "because no identity-based policy allows the kinesis:DescribeLimits action", 400)


def test_secure_transport_condition(srv, producer):
    # aws:SecureTransport is false over the plain port: an Allow that needs TLS does not apply
    # there, and does over the TLS port.
    k, allowed, _ = producer
    creds = k._get_credentials()
    over_tls = boto3.client("kinesis", endpoint_url=f"https://127.0.0.1:{srv.options['tls_port']}",
                            region_name=REGION, verify=False,
                            aws_access_key_id=creds.access_key,
                            aws_secret_access_key=creds.secret_key,
                            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    iam = client(srv, "iam")
    for name, tls in (("tls-only", "true"), ("plain-ok", "false")):
        iam.put_user_policy(UserName="producer", PolicyName=name, PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "kinesis:DescribeStreamSummary",
                           "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": tls}}}]}))
        try:
            if tls == "true":
                assert_error(lambda: k.describe_stream_summary(StreamName=allowed),
                             "AccessDeniedException",
                             denied("kinesis:DescribeStreamSummary", stream_arn(allowed)), 400)
                assert over_tls.describe_stream_summary(StreamName=allowed)["StreamDescriptionSummary"]
            else:
                assert k.describe_stream_summary(StreamName=allowed)["StreamDescriptionSummary"]
        finally:
            iam.delete_user_policy(UserName="producer", PolicyName=name)


def test_iam_user_cannot_grant_itself_permissions(srv):
    """IAM calls are authorized too: a user without IAM permissions cannot give itself a policy."""
    iam = client(srv, "iam")
    iam.create_user(UserName="selfgrant")
    key = iam.create_access_key(UserName="selfgrant")["AccessKey"]
    own = client(srv, "iam", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        own.put_user_policy(UserName="selfgrant", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    err = e.value.response["Error"]
    assert "is not authorized to perform: iam:PutUserPolicy on resource: " \
        f"arn:aws:iam::{ACCOUNT}:user/selfgrant" in err["Message"], err
    assert iam.list_user_policies(UserName="selfgrant")["PolicyNames"] == []
