"""Resource-based policies and cross-account access under --auth sigv4 (docs/security.md,
"Resource policies and cross-account access"), and the aws:SourceIp condition: a principal of
one account reaches another account's stream by its ARN only when that stream's resource policy
(PutResourcePolicy) allows it, as AWS evaluates it; within an account, a resource policy may
grant what no identity policy does; an explicit deny in either kind of policy wins. Real server,
boto3."""
import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import REGION, SluiceServer, create_stream_and_wait, unique_name

A, B = "000000000000", "111111111111"
A_KEY, A_SECRET = "AKIAACCOUNTAEXAMPLE0", "account/a+secret"
B_KEY, B_SECRET = "AKIAACCOUNTBEXAMPLE0", "account/b+secret"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("resource_policy")
    creds = d / "credentials"
    creds.write_text(f"[alice]\naws_access_key_id={A_KEY}\naws_secret_access_key={A_SECRET}\n"
                     f"account_id={A}\nadmin=true\n\n"
                     f"[bob]\naws_access_key_id={B_KEY}\naws_secret_access_key={B_SECRET}\n"
                     f"account_id={B}\nadmin=true\n")
    server = SluiceServer(options={"auth": "sigv4", "credentials": str(creds),
                                   "master_key_file": str(d / "master.key")})
    server.start()
    yield server
    assert server.stop() == 0, server.stderr_tail()
    server.cleanup()


def client(server, service, key, secret):
    return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def error(fn):
    with pytest.raises(ClientError) as e:
        fn()
    r = e.value.response
    return r["Error"]["Code"], r["Error"]["Message"]


def arn(account, name):
    return f"arn:aws:kinesis:{REGION}:{account}:stream/{name}"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_cross_account_needs_the_owners_resource_policy(srv):
    ka = client(srv, "kinesis", A_KEY, A_SECRET)
    kb = client(srv, "kinesis", B_KEY, B_SECRET)
    name = unique_name("shared")
    create_stream_and_wait(kb, name)
    stream = arn(B, name)
    # another account's stream is invisible by name and refused by ARN
    assert name not in ka.list_streams()["StreamNames"]
    assert error(lambda: ka.put_record(StreamARN=stream, Data=b"x", PartitionKey="p")) == (
        "AccessDeniedException",
        f"User: arn:aws:iam::{A}:user/alice is not authorized to perform: kinesis:PutRecord on "
        f"resource: {stream} because no resource-based policy allows the kinesis:PutRecord action")
    # the owner grants account A the producer's and the reader's actions
    kb.put_resource_policy(ResourceARN=stream, Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
         "Action": ["kinesis:PutRecord", "kinesis:GetShardIterator", "kinesis:GetRecords",
                    "kinesis:DescribeStreamSummary", "kinesis:PutRecords"],
         "Resource": stream},
        {"Effect": "Deny", "Principal": {"AWS": A},
         "Action": "kinesis:PutRecords", "Resource": stream}))
    seq = ka.put_record(StreamARN=stream, Data=b"from A", PartitionKey="p")["SequenceNumber"]
    assert ka.describe_stream_summary(StreamARN=stream)["StreamDescriptionSummary"][
        "StreamName"] == name
    it = ka.get_shard_iterator(StreamARN=stream, ShardId="shardId-000000000000",
                               ShardIteratorType="AT_SEQUENCE_NUMBER",
                               StartingSequenceNumber=seq)["ShardIterator"]
    assert [r["Data"] for r in ka.get_records(StreamARN=stream, ShardIterator=it)["Records"]] == \
        [b"from A"]
    # B sees A's record in its own stream
    it = kb.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                               ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in kb.get_records(ShardIterator=it)["Records"]] == [b"from A"]
    # an explicit deny in the resource policy wins; an action it does not grant stays refused
    assert error(lambda: ka.put_records(StreamARN=stream, Records=[
        {"Data": b"x", "PartitionKey": "p"}])) == (
        "AccessDeniedException",
        f"User: arn:aws:iam::{A}:user/alice is not authorized to perform: kinesis:PutRecords on "
        f"resource: {stream} with an explicit deny in a resource-based policy")
    assert error(lambda: ka.delete_stream(StreamARN=stream))[0] == "AccessDeniedException"
    # the owner removes the policy: access ends
    kb.delete_resource_policy(ResourceARN=stream)
    assert error(lambda: ka.put_record(StreamARN=stream, Data=b"x", PartitionKey="p"))[0] == \
        "AccessDeniedException"


def test_naming_an_unknown_account_creates_nothing(srv):
    """A verified principal naming a stream of an account that does not exist (no credentials,
    no IAM, never created) gets the answer of any other account's resource that grants it
    nothing, and the account is not created (before, it was: any 12-digit id in an ARN made a
    new account on disk)."""
    ka = client(srv, "kinesis", A_KEY, A_SECRET)
    for unknown in ("222222222222", "987654321098"):
        stream = arn(unknown, "nothing")
        for call, action in ((lambda: ka.describe_stream(StreamARN=stream), "DescribeStream"),
                             (lambda: ka.put_record(StreamARN=stream, Data=b"x",
                                                    PartitionKey="p"), "PutRecord"),
                             (lambda: ka.get_resource_policy(ResourceARN=stream),
                              "GetResourcePolicy")):
            assert error(call) == (
                "AccessDeniedException",
                f"User: arn:aws:iam::{A}:user/alice is not authorized to perform: "
                f"kinesis:{action} on resource: {stream} because no resource-based policy "
                f"allows the kinesis:{action} action")
        assert not (srv.data_dir / "accounts" / unknown).exists()
        assert f"account {unknown} created" not in srv.stderr_tail(1 << 22)
    # an account that exists answers the same for a stream it does not have
    stream = arn(B, unique_name("absent"))
    assert error(lambda: ka.describe_stream(StreamARN=stream))[0] == "AccessDeniedException"


def test_same_account_resource_policy_grants_a_user(srv):
    ka = client(srv, "kinesis", A_KEY, A_SECRET)
    iam = client(srv, "iam", A_KEY, A_SECRET)
    iam.create_user(UserName="carol")
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    carol = client(srv, "kinesis", key["AccessKeyId"], key["SecretAccessKey"])
    name = unique_name("own")
    create_stream_and_wait(ka, name)
    assert error(lambda: carol.put_record(StreamName=name, Data=b"x", PartitionKey="p"))[0] == \
        "AccessDeniedException"
    ka.put_resource_policy(ResourceARN=arn(A, name), Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:user/carol"},
         "Action": "kinesis:PutRecord", "Resource": arn(A, name)}))
    assert carol.put_record(StreamName=name, Data=b"x", PartitionKey="p")["SequenceNumber"]


def test_source_ip_condition(srv):
    ka = client(srv, "kinesis", A_KEY, A_SECRET)
    iam = client(srv, "iam", A_KEY, A_SECRET)
    iam.create_user(UserName="dave")
    key = iam.create_access_key(UserName="dave")["AccessKey"]
    dave = client(srv, "kinesis", key["AccessKeyId"], key["SecretAccessKey"])
    name = unique_name("ip")
    create_stream_and_wait(ka, name)

    def allow_from(cidr):
        iam.put_user_policy(UserName="dave", PolicyName="from", PolicyDocument=policy(
            {"Effect": "Allow", "Action": "kinesis:PutRecord", "Resource": arn(A, name),
             "Condition": {"IpAddress": {"aws:SourceIp": cidr}}}))

    allow_from("127.0.0.0/8")  # the test client connects from 127.0.0.1
    assert dave.put_record(StreamName=name, Data=b"x", PartitionKey="p")["SequenceNumber"]
    allow_from("10.0.0.0/8")
    assert error(lambda: dave.put_record(StreamName=name, Data=b"x", PartitionKey="p"))[0] == \
        "AccessDeniedException"
    # a deny from outside a network, as operators write it
    iam.put_user_policy(UserName="dave", PolicyName="from", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "kinesis:PutRecord", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["127.0.0.1/32"]}}}))
    assert dave.put_record(StreamName=name, Data=b"x", PartitionKey="p")["SequenceNumber"]
