"""Conformance: account-level and per-stream settings.

DescribeLimits, Describe/UpdateAccountSettings, Enable/DisableEnhancedMonitoring,
Put/Get/DeleteResourcePolicy, UpdateMaxRecordSize, UpdateStreamWarmThroughput,
UpdateStreamMode and Start/StopStreamEncryption (spec 3.9–3.12 and 4).
"""

import datetime
import json

import pytest
from botocore.exceptions import ClientError

from helpers import (ACCOUNT, assert_error, assert_validation, client_for, create_stream_and_wait,
                     stream_arn, unique_name, wait_for_gone, wait_for_status)

ALL_METRICS = {"IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
               "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded",
               "IteratorAgeMilliseconds"}


# --- DescribeLimits ----------------------------------------------------------------------

def test_describe_limits_defaults(kinesis):
    limits = kinesis.describe_limits()
    assert limits["ShardLimit"] == 500
    assert limits["OnDemandStreamCountLimit"] == 50
    assert isinstance(limits["OpenShardCount"], int)
    assert isinstance(limits["OnDemandStreamCount"], int)


def test_describe_limits_counts(make_server):
    client = client_for(make_server(shard_limit=20, on_demand_stream_limit=3))
    limits = client.describe_limits()
    assert {k: v for k, v in limits.items() if k != "ResponseMetadata"} == {
        "ShardLimit": 20, "OpenShardCount": 0, "OnDemandStreamCount": 0, "OnDemandStreamCountLimit": 3}
    name = unique_name()
    create_stream_and_wait(client, name, 3)
    create_stream_and_wait(client, unique_name(), None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    limits = client.describe_limits()
    assert limits["OpenShardCount"] == 7
    assert limits["OnDemandStreamCount"] == 1
    # Closed shards do not count.
    client.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**125))
    wait_for_status(client, name, "ACTIVE")
    assert client.describe_limits()["OpenShardCount"] == 8
    client.delete_stream(StreamName=name)
    wait_for_gone(client, name)
    assert client.describe_limits()["OpenShardCount"] == 4


def test_on_demand_stream_limit(make_server):
    client = client_for(make_server(on_demand_stream_limit=1))
    create_stream_and_wait(client, unique_name(), None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    # Spec 3.9/3.11: the on-demand stream count is limited; AWS's text was not captured.
    assert_error(lambda: client.create_stream(StreamName=unique_name(),
                                              StreamModeDetails={"StreamMode": "ON_DEMAND"}),
                 "LimitExceededException")


# --- account settings ----------------------------------------------------------------------

def test_account_settings(make_server):
    client = client_for(make_server())
    resp = client.describe_account_settings()
    status = resp.get("MinimumThroughputBillingCommitment", {"Status": "DISABLED"})["Status"]
    assert status == "DISABLED"
    resp = client.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    commitment = resp["MinimumThroughputBillingCommitment"]
    assert commitment["Status"] == "ENABLED"
    assert isinstance(commitment["StartedAt"], datetime.datetime)
    assert client.describe_account_settings()["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED"
    # Disabling inside the commitment window keeps it until the earliest allowed end (spec 4).
    resp = client.update_account_settings(MinimumThroughputBillingCommitment={"Status": "DISABLED"})
    assert resp["MinimumThroughputBillingCommitment"]["Status"] in ("ENABLED_UNTIL_EARLIEST_ALLOWED_END", "DISABLED")


def test_account_settings_validation(kinesis_nv):
    assert_validation(lambda: kinesis_nv.update_account_settings(),
                      [(None, "minimumThroughputBillingCommitment", "Member must not be null")])
    e = assert_error(lambda: kinesis_nv.update_account_settings(
        MinimumThroughputBillingCommitment={"Status": "MAYBE"}), "ValidationException")
    assert "Member must satisfy enum value set" in e.response["Error"]["Message"]


# --- enhanced monitoring ---------------------------------------------------------------------

def test_enhanced_monitoring(kinesis, stream):
    resp = kinesis.enable_enhanced_monitoring(StreamName=stream, ShardLevelMetrics=["IncomingBytes"])
    assert resp["StreamName"] == stream
    assert resp["StreamARN"] == stream_arn(stream)
    assert resp.get("CurrentShardLevelMetrics", []) == []
    assert resp["DesiredShardLevelMetrics"] == ["IncomingBytes"]
    d = kinesis.describe_stream(StreamName=stream)["StreamDescription"]
    assert d["EnhancedMonitoring"] == [{"ShardLevelMetrics": ["IncomingBytes"]}]

    resp = kinesis.enable_enhanced_monitoring(StreamName=stream, ShardLevelMetrics=["ALL"])
    assert resp["CurrentShardLevelMetrics"] == ["IncomingBytes"]
    assert set(resp["DesiredShardLevelMetrics"]) == ALL_METRICS
    assert len(resp["DesiredShardLevelMetrics"]) == 7
    s = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert set(s["EnhancedMonitoring"][0]["ShardLevelMetrics"]) == ALL_METRICS

    resp = kinesis.disable_enhanced_monitoring(StreamName=stream, ShardLevelMetrics=["IncomingBytes", "OutgoingBytes"])
    assert set(resp["CurrentShardLevelMetrics"]) == ALL_METRICS
    assert set(resp["DesiredShardLevelMetrics"]) == ALL_METRICS - {"IncomingBytes", "OutgoingBytes"}

    resp = kinesis.disable_enhanced_monitoring(StreamName=stream, ShardLevelMetrics=["ALL"])
    assert resp.get("DesiredShardLevelMetrics", []) == []
    d = kinesis.describe_stream(StreamName=stream)["StreamDescription"]
    assert d["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]


def test_enhanced_monitoring_errors(kinesis_nv):
    name = unique_name()
    assert_error(lambda: kinesis_nv.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["ALL"]),
                 "ResourceNotFoundException", "Stream %s under account %s not found." % (name, ACCOUNT))
    assert_validation(lambda: kinesis_nv.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=[]),
                      [("[]", "shardLevelMetrics", "Member must have length greater than or equal to 1")])
    e = assert_error(lambda: kinesis_nv.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["Bogus"]),
                     "ValidationException")
    assert "Member must satisfy enum value set" in e.response["Error"]["Message"]


# --- resource policies ---------------------------------------------------------------------

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": "kinesis:GetRecords", "Resource": "*"}]})


def test_resource_policy_lifecycle(kinesis, stream):
    arn = stream_arn(stream)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    assert set(kinesis.put_resource_policy(ResourceARN=arn, Policy=POLICY)) == {"ResponseMetadata"}
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == json.loads(POLICY)
    replacement = POLICY.replace("GetRecords", "DescribeStream")
    kinesis.put_resource_policy(ResourceARN=arn, Policy=replacement)
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == json.loads(replacement)
    assert set(kinesis.delete_resource_policy(ResourceARN=arn)) == {"ResponseMetadata"}
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    # Deleting a policy that does not exist is an error on AWS; LocalStack answers
    # ResourceNotFoundException [unverified exact code].
    assert_error(lambda: kinesis.delete_resource_policy(ResourceARN=arn), "ResourceNotFoundException")


def test_resource_policy_missing_stream(kinesis):
    arn = stream_arn(unique_name())
    assert_error(lambda: kinesis.put_resource_policy(ResourceARN=arn, Policy=POLICY), "ResourceNotFoundException")
    assert_error(lambda: kinesis.get_resource_policy(ResourceARN=arn), "ResourceNotFoundException")


# --- UpdateMaxRecordSize --------------------------------------------------------------------

def test_update_max_record_size(kinesis, stream):
    resp = kinesis.update_max_record_size(StreamARN=stream_arn(stream), MaxRecordSizeInKiB=4096)
    assert set(resp) == {"ResponseMetadata"}
    wait_for_status(kinesis, stream, "ACTIVE")
    s = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert s["MaxRecordSizeInKiB"] == 4096
    kinesis.put_record(StreamName=stream, Data=b"x" * (3 * 1024 * 1024), PartitionKey="k")


@pytest.mark.parametrize("size", [1023, 10241])
def test_update_max_record_size_out_of_range(kinesis_nv, stream, size):
    rule = ("Member must have value greater than or equal to 1024" if size < 1024
            else "Member must have value less than or equal to 10240")
    assert_validation(lambda: kinesis_nv.update_max_record_size(StreamARN=stream_arn(stream),
                                                                MaxRecordSizeInKiB=size),
                      [(size, "maxRecordSizeInKiB", rule)])


def test_update_max_record_size_missing_stream(kinesis):
    assert_error(lambda: kinesis.update_max_record_size(StreamARN=stream_arn(unique_name()),
                                                        MaxRecordSizeInKiB=2048),
                 "ResourceNotFoundException")


# --- UpdateStreamMode -----------------------------------------------------------------------

def test_update_stream_mode(kinesis):
    name = unique_name()
    create_stream_and_wait(kinesis, name, 2)
    arn = stream_arn(name)
    assert set(kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})) == \
        {"ResponseMetadata"}
    wait_for_status(kinesis, name, "ACTIVE")
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    summaries = {x["StreamName"]: x for p in kinesis.get_paginator("list_streams").paginate()
                 for x in p.get("StreamSummaries", [])}
    assert summaries[name]["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "PROVISIONED"})
    wait_for_status(kinesis, name, "ACTIVE")
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}


def test_update_stream_mode_validation(kinesis_nv, stream):
    assert_validation(lambda: kinesis_nv.update_stream_mode(StreamModeDetails={"StreamMode": "ON_DEMAND"}),
                      [(None, "streamARN", "Member must not be null")])
    assert_validation(lambda: kinesis_nv.update_stream_mode(StreamARN=stream_arn(stream)),
                      [(None, "streamModeDetails", "Member must not be null")])
    assert_error(lambda: kinesis_nv.update_stream_mode(StreamARN=stream_arn(unique_name()),
                                                       StreamModeDetails={"StreamMode": "ON_DEMAND"}),
                 "ResourceNotFoundException")


# --- UpdateStreamWarmThroughput -------------------------------------------------------------

def test_update_stream_warm_throughput(make_server):
    client = client_for(make_server())
    client.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    name = unique_name()
    create_stream_and_wait(client, name, None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    resp = client.update_stream_warm_throughput(StreamName=name, WarmThroughputMiBps=100)
    assert resp["StreamName"] == name
    assert resp["StreamARN"] == stream_arn(name)
    assert resp["WarmThroughput"]["TargetMiBps"] == 100
    wait_for_status(client, name, "ACTIVE")
    s = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s["WarmThroughput"]["TargetMiBps"] == 100


def test_update_stream_warm_throughput_needs_on_demand(kinesis, stream):
    # Spec 4: ON_DEMAND (with account commitment) only; AWS's code is not captured.
    with pytest.raises(ClientError) as e:
        kinesis.update_stream_warm_throughput(StreamName=stream, WarmThroughputMiBps=100)
    assert e.value.response["Error"]["Code"] in ("ValidationException", "InvalidArgumentException")


# --- encryption ---------------------------------------------------------------------------

def test_stream_encryption(kinesis, stream):
    resp = kinesis.start_stream_encryption(StreamName=stream, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert set(resp) == {"ResponseMetadata"}
    wait_for_status(kinesis, stream, "ACTIVE")
    s = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert s["EncryptionType"] == "KMS"
    assert s["KeyId"] == "alias/aws/kinesis"
    d = kinesis.describe_stream(StreamName=stream)["StreamDescription"]
    assert d["EncryptionType"] == "KMS" and d["KeyId"] == "alias/aws/kinesis"
    put = kinesis.put_record(StreamName=stream, Data=b"secret", PartitionKey="k")
    assert put["EncryptionType"] == "KMS"
    batch = kinesis.put_records(StreamName=stream, Records=[{"Data": b"s2", "PartitionKey": "k"}])
    assert batch["EncryptionType"] == "KMS"
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    recs = kinesis.get_records(ShardIterator=it)["Records"]
    assert [r["Data"] for r in recs] == [b"secret", b"s2"]
    assert all(r["EncryptionType"] == "KMS" for r in recs)

    kinesis.stop_stream_encryption(StreamName=stream, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    wait_for_status(kinesis, stream, "ACTIVE")
    s = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert s["EncryptionType"] == "NONE"
    assert "KeyId" not in s
    put = kinesis.put_record(StreamName=stream, Data=b"plain", PartitionKey="k")
    assert put.get("EncryptionType", "NONE") == "NONE"


def test_stream_encryption_type_none_rejected(kinesis, stream):
    # Spec 3.10: EncryptionType other than KMS -> InvalidArgumentException (text not captured).
    assert_error(lambda: kinesis.start_stream_encryption(StreamName=stream, EncryptionType="NONE",
                                                         KeyId="alias/aws/kinesis"),
                 "InvalidArgumentException")
