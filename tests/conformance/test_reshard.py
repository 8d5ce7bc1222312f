"""Resharding (SplitShard, MergeShards, UpdateShardCount) and the shard lineage readers rely on:
closed parents with EndingSequenceNumber, children with ParentShardId/AdjacentParentShardId,
GetRecords ending a closed shard with ChildShards and no NextShardIterator, SubscribeToShard
ending with ChildShards and no ContinuationSequenceNumber, and the encryption flags."""

import boto3
import pytest

from helpers import (MAX_HASH, ACCOUNT, assert_error, list_all_shards, partition_hash,
                     shard_for_hash, stream_arn, unique_name, wait_for_status)

SHARD0 = "shardId-000000000000"


def shard_by_id(shards, sid):
    return next(s for s in shards if s["ShardId"] == sid)


def drain(kinesis, name, shard_id):
    """Reads a shard from TRIM_HORIZON until GetRecords stops returning a NextShardIterator
    (closed shard) or returns an empty page at the tip (open shard)."""
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard_id,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records, last = [], None
    for _ in range(100):
        resp = kinesis.get_records(ShardIterator=it)
        records += resp["Records"]
        last = resp
        it = resp.get("NextShardIterator")
        if it is None or (not resp["Records"] and resp["MillisBehindLatest"] == 0):
            break
    return records, last


def test_split_shard_lineage_and_routing(kinesis, new_stream):
    name = new_stream(1)
    mid = 2**127
    before = kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"before")
    kinesis.split_shard(StreamName=name, ShardToSplit=SHARD0, NewStartingHashKey=str(mid))
    wait_for_status(kinesis, name, "ACTIVE")
    shards = list_all_shards(kinesis, name)
    assert [s["ShardId"] for s in shards] == [SHARD0, "shardId-000000000001", "shardId-000000000002"]
    parent, a, b = shards
    assert "EndingSequenceNumber" in parent["SequenceNumberRange"]
    assert a["ParentShardId"] == SHARD0 and b["ParentShardId"] == SHARD0
    assert "AdjacentParentShardId" not in a
    assert a["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(mid - 1)}
    assert b["HashKeyRange"] == {"StartingHashKey": str(mid), "EndingHashKey": str(MAX_HASH)}
    # children's numbers exceed every parent number
    assert int(a["SequenceNumberRange"]["StartingSequenceNumber"]) > \
        int(parent["SequenceNumberRange"]["EndingSequenceNumber"]) > int(before["SequenceNumber"])
    # writes go to the open children by hash
    for i in range(40):
        key = f"k{i}"
        r = kinesis.put_record(StreamName=name, PartitionKey=key, Data=b"x")
        assert r["ShardId"] == shard_for_hash([a, b], partition_hash(key))
        assert int(r["SequenceNumber"]) > int(parent["SequenceNumberRange"]["EndingSequenceNumber"])
    # the parent is read to its end, then GetRecords names the children and stops
    records, last = drain(kinesis, name, SHARD0)
    assert [r["Data"] for r in records] == [b"before"]
    assert "NextShardIterator" not in last
    children = sorted(last["ChildShards"], key=lambda c: c["ShardId"])
    assert [c["ShardId"] for c in children] == ["shardId-000000000001", "shardId-000000000002"]
    assert children[0]["ParentShards"] == [SHARD0]
    assert children[0]["HashKeyRange"] == a["HashKeyRange"]
    # ListShards filters see the lineage
    latest = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert [s["ShardId"] for s in latest] == ["shardId-000000000001", "shardId-000000000002"]
    horizon = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_TRIM_HORIZON"})["Shards"]
    assert [s["ShardId"] for s in horizon] == [SHARD0]
    assert kinesis.describe_limits()["OpenShardCount"] >= 2


def test_split_shard_errors(kinesis, new_stream):
    name = new_stream(1)
    for key in ("0", "1", str(MAX_HASH)):
        assert_error(lambda: kinesis.split_shard(StreamName=name, ShardToSplit=SHARD0, NewStartingHashKey=key),
                     "InvalidArgumentException",
                     f"NewStartingHashKey {key} used in SplitShard() on shard {SHARD0} in stream {name} under "
                     f"account {ACCOUNT} is not both greater than one plus the shard's StartingHashKey 0 and less "
                     f"than the shard's EndingHashKey {MAX_HASH}.")
    kinesis.split_shard(StreamName=name, ShardToSplit=SHARD0, NewStartingHashKey="1000")
    assert_error(lambda: kinesis.split_shard(StreamName=name, ShardToSplit=SHARD0, NewStartingHashKey="500"),
                 "InvalidArgumentException",
                 f"Shard {SHARD0} in stream {name} under account {ACCOUNT} has already been merged or split, and "
                 f"thus is not eligible for merging or splitting.")
    assert_error(lambda: kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000009",
                                             NewStartingHashKey="500"), "ResourceNotFoundException")


def test_merge_shards(kinesis, new_stream):
    name = new_stream(3)
    assert_error(lambda: kinesis.merge_shards(StreamName=name, ShardToMerge=SHARD0,
                                              AdjacentShardToMerge="shardId-000000000002"),
                 "InvalidArgumentException",
                 f"Shards {SHARD0} and shardId-000000000002 in stream {name} under account {ACCOUNT} are not an "
                 f"adjacent pair of shards eligible for merging")
    kinesis.put_record(StreamName=name, ExplicitHashKey="0", PartitionKey="p", Data=b"left")
    kinesis.merge_shards(StreamName=name, ShardToMerge=SHARD0, AdjacentShardToMerge="shardId-000000000001")
    wait_for_status(kinesis, name, "ACTIVE")
    shards = list_all_shards(kinesis, name)
    child = shard_by_id(shards, "shardId-000000000003")
    assert child["ParentShardId"] == SHARD0
    assert child["AdjacentParentShardId"] == "shardId-000000000001"
    first = shard_by_id(shards, SHARD0)["HashKeyRange"]["StartingHashKey"]
    second_end = shard_by_id(shards, "shardId-000000000001")["HashKeyRange"]["EndingHashKey"]
    assert child["HashKeyRange"] == {"StartingHashKey": first, "EndingHashKey": second_end}
    r = kinesis.put_record(StreamName=name, ExplicitHashKey="0", PartitionKey="p", Data=b"merged")
    assert r["ShardId"] == "shardId-000000000003"
    records, last = drain(kinesis, name, SHARD0)
    assert [x["Data"] for x in records] == [b"left"]
    assert [c["ShardId"] for c in last["ChildShards"]] == ["shardId-000000000003"]
    assert last["ChildShards"][0]["ParentShards"] == [SHARD0, "shardId-000000000001"]


@pytest.mark.parametrize("start,target", [(2, 4), (4, 2), (3, 5), (4, 3), (1, 2)])
def test_update_shard_count_uniform(kinesis, new_stream, start, target):
    name = new_stream(start)
    resp = kinesis.update_shard_count(StreamName=name, TargetShardCount=target, ScalingType="UNIFORM_SCALING")
    assert resp["CurrentShardCount"] == start and resp["TargetShardCount"] == target
    assert resp["StreamName"] == name and resp["StreamARN"] == stream_arn(name)
    wait_for_status(kinesis, name, "ACTIVE")
    shards = list_all_shards(kinesis, name)
    open_shards = [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    assert len(open_shards) == target
    step = 2**128 // target
    ranges = sorted((int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
                    for s in open_shards)
    assert ranges == [(i * step, (i + 1) * step - 1 if i < target - 1 else MAX_HASH) for i in range(target)]
    ids = {s["ShardId"] for s in shards}
    for s in shards:   # every new shard names parents that exist
        for key in ("ParentShardId", "AdjacentParentShardId"):
            if key in s:
                assert s[key] in ids
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == target


def test_update_shard_count_limits(kinesis, new_stream):
    name = new_stream(2)
    assert_error(lambda: kinesis.update_shard_count(StreamName=name, TargetShardCount=5,
                                                    ScalingType="UNIFORM_SCALING"), "LimitExceededException")
    four = new_stream(4)
    assert_error(lambda: kinesis.update_shard_count(StreamName=four, TargetShardCount=1,
                                                    ScalingType="UNIFORM_SCALING"), "LimitExceededException",
                 "UpdateShardCount cannot scale down below half your current open shard count. Current open shard "
                 "count: 4 Target shard count: 1")


def test_reshard_on_demand_is_validation_error(kinesis):
    name = unique_name("od")
    kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    wait_for_status(kinesis, name, "ACTIVE")
    assert_error(lambda: kinesis.split_shard(StreamName=name, ShardToSplit=SHARD0, NewStartingHashKey="1000"),
                 "ValidationException")
    assert_error(lambda: kinesis.update_shard_count(StreamName=name, TargetShardCount=8,
                                                    ScalingType="UNIFORM_SCALING"), "ValidationException")
    kinesis.delete_stream(StreamName=name)


def test_reshard_persists_across_restart(make_server):
    from helpers import client_for
    srv = make_server()
    client = client_for(srv)
    name = unique_name("rs")
    client.create_stream(StreamName=name, ShardCount=1)
    wait_for_status(client, name, "ACTIVE")
    client.split_shard(StreamName=name, ShardToSplit=SHARD0, NewStartingHashKey=str(2**100))
    wait_for_status(client, name, "ACTIVE")
    before = list_all_shards(client, name)
    srv.restart()
    assert list_all_shards(client, name) == before


def test_subscribe_ends_at_closed_shard(kinesis, new_stream, server):
    from helpers import client_for
    name = new_stream(1)
    kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"one")
    kinesis.split_shard(StreamName=name, ShardToSplit=SHARD0, NewStartingHashKey=str(2**127))
    wait_for_status(kinesis, name, "ACTIVE")
    c = kinesis.register_stream_consumer(StreamARN=stream_arn(name), ConsumerName="c")["Consumer"]
    sub = client_for(server).subscribe_to_shard(ConsumerARN=c["ConsumerARN"], ShardId=SHARD0,
                                                StartingPosition={"Type": "TRIM_HORIZON"})
    events = []
    for ev in sub["EventStream"]:
        events.append(ev["SubscribeToShardEvent"])
        if len(events) > 10:
            break
    got = [r["Data"] for e in events for r in e["Records"]]
    assert got == [b"one"]
    final = events[-1]
    assert "ContinuationSequenceNumber" not in final
    assert sorted(ch["ShardId"] for ch in final["ChildShards"]) == ["shardId-000000000001",
                                                                    "shardId-000000000002"]


def test_encryption_flags(kinesis, new_stream):
    name = new_stream(1)
    kms = boto3.client("kms", endpoint_url=kinesis.meta.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)
    wait_for_status(kinesis, name, "ACTIVE")
    d = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert d["EncryptionType"] == "KMS" and d["KeyId"] == key
    r = kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"x")
    assert r["EncryptionType"] == "KMS"
    assert_error(lambda: kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="nope!"),
                 "InvalidArgumentException", "Received KeyId is not a properly formatted Alias or GUID")
    kinesis.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)
    wait_for_status(kinesis, name, "ACTIVE")
    d = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert d["EncryptionType"] == "NONE" and "KeyId" not in d


def test_subscription_gets_exception_event_when_stream_deleted(kinesis, new_stream, server):
    """An error after the stream started is an exception event (here ResourceNotFoundException when
    the stream is deleted under the subscription); boto3 raises it as EventStreamError."""
    from botocore.exceptions import EventStreamError
    from helpers import client_for
    name = new_stream(1)
    c = kinesis.register_stream_consumer(StreamARN=stream_arn(name), ConsumerName="c")["Consumer"]
    sub = client_for(server).subscribe_to_shard(ConsumerARN=c["ConsumerARN"], ShardId=SHARD0,
                                                StartingPosition={"Type": "LATEST"})
    events = iter(sub["EventStream"])
    first = next(events)["SubscribeToShardEvent"]
    assert first["Records"] == [] and first["MillisBehindLatest"] == 0
    import time as _time
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    started = _time.monotonic()
    with pytest.raises(EventStreamError) as err:
        for _ in range(5):
            next(events)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # the deletion wakes the subscription: it does not wait for the 5-second idle event
    assert _time.monotonic() - started < 2.0
