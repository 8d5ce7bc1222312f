"""Conformance: shards — ListShards (pagination, every ShardFilter), hash ranges,
and resharding (SplitShard, MergeShards, UpdateShardCount) with its lineage.

Hash ranges are computed here independently (spec 3.2); messages are those of
spec 3.8 and kinesalite's tests (observed AWS).
"""

import datetime
import time

import pytest

from helpers import (ACCOUNT, MAX_HASH, assert_error, assert_validation, client_for,
                     create_stream_and_wait, expected_ranges, list_all_shards, unique_name,
                     wait_for_status)


def _ids(shards):
    return [s["ShardId"] for s in shards]


def _sleep_past(epoch_s):
    """Sleep until the wall clock is a little past `epoch_s`."""
    delay = epoch_s + 0.05 - time.time()
    if delay > 0:
        time.sleep(delay)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 16])
def test_hash_ranges_of_new_stream(kinesis, n):
    name = unique_name()
    create_stream_and_wait(kinesis, name, n)
    shards = list_all_shards(kinesis, name)
    assert _ids(shards) == ["shardId-%012d" % i for i in range(n)]
    got = [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"])) for s in shards]
    assert got == expected_ranges(n)
    # Hash keys are decimal strings without leading zeros.
    for s in shards:
        for key in s["HashKeyRange"].values():
            assert key == str(int(key))
    if n == 2:
        assert shards[1]["HashKeyRange"]["StartingHashKey"] == "170141183460469231731687303715884105728"
    assert shards[-1]["HashKeyRange"]["EndingHashKey"] == str(MAX_HASH)


def test_list_shards_pagination(kinesis):
    name = unique_name()
    create_stream_and_wait(kinesis, name, 5)
    p1 = kinesis.list_shards(StreamName=name, MaxResults=2)
    assert _ids(p1["Shards"]) == ["shardId-000000000000", "shardId-000000000001"]
    assert p1["NextToken"]
    p2 = kinesis.list_shards(NextToken=p1["NextToken"], MaxResults=2)
    assert _ids(p2["Shards"]) == ["shardId-000000000002", "shardId-000000000003"]
    p3 = kinesis.list_shards(NextToken=p2["NextToken"], MaxResults=2)
    assert _ids(p3["Shards"]) == ["shardId-000000000004"]
    assert "NextToken" not in p3
    everything = kinesis.list_shards(StreamName=name)
    assert len(everything["Shards"]) == 5
    assert "NextToken" not in everything
    # botocore's list_shards paginator repeats StreamName next to NextToken, which AWS
    # rejects ("NextToken and StreamName cannot be provided together."), so it is not used here.


def test_list_shards_exclusive_start_shard_id(kinesis):
    name = unique_name()
    create_stream_and_wait(kinesis, name, 4)
    resp = kinesis.list_shards(StreamName=name, ExclusiveStartShardId="shardId-000000000001")
    assert _ids(resp["Shards"]) == ["shardId-000000000002", "shardId-000000000003"]
    resp = kinesis.list_shards(StreamName=name, ExclusiveStartShardId="shardId-000000000003")
    assert resp["Shards"] == []


def test_list_shards_next_token_and_stream_name(kinesis):
    name = unique_name()
    create_stream_and_wait(kinesis, name, 3)
    token = kinesis.list_shards(StreamName=name, MaxResults=1)["NextToken"]
    assert_error(lambda: kinesis.list_shards(StreamName=name, NextToken=token),
                 "InvalidArgumentException", "NextToken and StreamName cannot be provided together.")
    # Spec 4 ListShards: ExclusiveStartShardId is also forbidden with NextToken (text not captured).
    assert_error(lambda: kinesis.list_shards(NextToken=token, ExclusiveStartShardId="shardId-000000000000"),
                 "InvalidArgumentException")


def test_list_shards_neither_token_nor_name(kinesis):
    assert_error(lambda: kinesis.list_shards(), "InvalidArgumentException",
                 "Either NextToken or StreamName should be provided.")


def test_list_shards_invalid_next_token(kinesis):
    assert_error(lambda: kinesis.list_shards(NextToken="not-a-real-token"), "InvalidArgumentException")


def test_list_shards_not_found(kinesis):
    name = unique_name()
    assert_error(lambda: kinesis.list_shards(StreamName=name), "ResourceNotFoundException",
                 "Stream %s under account %s not found." % (name, ACCOUNT))


def test_list_shards_validation(kinesis_nv):
    assert_validation(lambda: kinesis_nv.list_shards(StreamName="x", MaxResults=0),
                      [(0, "maxResults", "Member must have value greater than or equal to 1")])
    assert_validation(lambda: kinesis_nv.list_shards(StreamName="x", MaxResults=10001),
                      [(10001, "maxResults", "Member must have value less than or equal to 10000")])


def test_list_shards_max_results_capped_at_1000(make_server):
    client = client_for(make_server(shard_limit=1100))
    name = unique_name()
    create_stream_and_wait(client, name, 1001)
    resp = client.list_shards(StreamName=name, MaxResults=5000)
    assert len(resp["Shards"]) == 1000
    assert resp["NextToken"]
    rest = client.list_shards(NextToken=resp["NextToken"])
    assert _ids(rest["Shards"]) == ["shardId-000000001000"]


@pytest.fixture
def split_stream(kinesis):
    """A 2-shard stream whose shard 0 was split after the timestamp `t_before`.

    Yields (name, t_before, t_after): whole epoch seconds (boto3 sends integer
    seconds) with the split strictly between them.
    """
    name = unique_name()
    create_stream_and_wait(kinesis, name, 2)
    t_before = int(time.time()) + 1
    _sleep_past(t_before)
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=str(2**126))
    wait_for_status(kinesis, name, "ACTIVE")
    t_after = int(time.time()) + 1
    _sleep_past(t_after)
    return name, t_before, t_after


def test_list_shards_filters(kinesis, split_stream):
    name, t_before, t_after = split_stream
    all_ids = ["shardId-%012d" % i for i in range(4)]

    def filt(**f):
        return _ids(kinesis.list_shards(StreamName=name, ShardFilter=f)["Shards"])

    assert _ids(kinesis.list_shards(StreamName=name)["Shards"]) == all_ids
    assert filt(Type="FROM_TRIM_HORIZON") == all_ids
    assert filt(Type="AT_TRIM_HORIZON") == all_ids[:2]
    assert filt(Type="AT_LATEST") == all_ids[1:]
    assert filt(Type="AFTER_SHARD_ID", ShardId="shardId-000000000001") == all_ids[2:]
    ts_before = datetime.datetime.fromtimestamp(t_before, datetime.timezone.utc)
    ts_after = datetime.datetime.fromtimestamp(t_after, datetime.timezone.utc)
    assert filt(Type="AT_TIMESTAMP", Timestamp=ts_before) == all_ids[:2]
    assert filt(Type="AT_TIMESTAMP", Timestamp=ts_after) == all_ids[1:]
    assert filt(Type="FROM_TIMESTAMP", Timestamp=ts_before) == all_ids
    assert filt(Type="FROM_TIMESTAMP", Timestamp=ts_after) == all_ids[1:]


def test_list_shards_filter_missing_arguments(kinesis, stream):
    # AFTER_SHARD_ID needs ShardId, AT/FROM_TIMESTAMP need Timestamp (spec 4); texts not captured.
    assert_error(lambda: kinesis.list_shards(StreamName=stream, ShardFilter={"Type": "AFTER_SHARD_ID"}),
                 "InvalidArgumentException")
    assert_error(lambda: kinesis.list_shards(StreamName=stream, ShardFilter={"Type": "AT_TIMESTAMP"}),
                 "InvalidArgumentException")


def test_split_shard_lineage(kinesis, split_stream):
    name, _, _ = split_stream
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    parent, other, child_a, child_b = shards
    assert "EndingSequenceNumber" in parent["SequenceNumberRange"]
    assert int(parent["SequenceNumberRange"]["EndingSequenceNumber"]) > \
        int(parent["SequenceNumberRange"]["StartingSequenceNumber"])
    assert "EndingSequenceNumber" not in other["SequenceNumberRange"]
    assert child_a["ParentShardId"] == "shardId-000000000000"
    assert child_b["ParentShardId"] == "shardId-000000000000"
    assert "AdjacentParentShardId" not in child_a
    assert child_a["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(2**126 - 1)}
    assert child_b["HashKeyRange"] == {"StartingHashKey": str(2**126), "EndingHashKey": str(2**127 - 1)}
    for child in (child_a, child_b):
        assert int(child["SequenceNumberRange"]["StartingSequenceNumber"]) > \
            int(parent["SequenceNumberRange"]["EndingSequenceNumber"])
    d = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert _ids(d["Shards"]) == _ids(shards)
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 3


def test_closed_shard_end_gives_child_shards(kinesis):
    name = unique_name()
    create_stream_and_wait(kinesis, name, 1)
    put = kinesis.put_record(StreamName=name, Data=b"before-split", PartitionKey="k")
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    wait_for_status(kinesis, name, "ACTIVE")
    it = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records, children = [], None
    for _ in range(20):
        resp = kinesis.get_records(ShardIterator=it)
        records.extend(resp["Records"])
        if resp.get("NextShardIterator") is None:
            children = resp["ChildShards"]
            break
        it = resp["NextShardIterator"]
    assert [r["SequenceNumber"] for r in records] == [put["SequenceNumber"]]
    assert children is not None, "closed shard never signalled its end"
    assert sorted(c["ShardId"] for c in children) == ["shardId-000000000001", "shardId-000000000002"]
    for c in children:
        assert c["ParentShards"] == ["shardId-000000000000"]
    by_id = {c["ShardId"]: c["HashKeyRange"] for c in children}
    assert by_id["shardId-000000000001"] == {"StartingHashKey": "0", "EndingHashKey": str(2**127 - 1)}
    assert by_id["shardId-000000000002"] == {"StartingHashKey": str(2**127), "EndingHashKey": str(MAX_HASH)}
    # Writes go to the children only.
    assert kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")["ShardId"] != "shardId-000000000000"


def test_split_shard_invalid_key(kinesis):
    name = unique_name()
    create_stream_and_wait(kinesis, name, 2)
    end0 = 2**127 - 1
    for key in ("0", "1", str(end0)):
        assert_error(lambda: kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000",
                                                 NewStartingHashKey=key),
                     "InvalidArgumentException",
                     "NewStartingHashKey %s used in SplitShard() on shard shardId-000000000000 in stream %s "
                     "under account %s is not both greater than one plus the shard's StartingHashKey 0 and "
                     "less than the shard's EndingHashKey %d." % (key, name, ACCOUNT, end0))


def test_split_closed_shard(kinesis):
    name = unique_name()
    create_stream_and_wait(kinesis, name, 1)
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    wait_for_status(kinesis, name, "ACTIVE")
    assert_error(lambda: kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000",
                                             NewStartingHashKey=str(2**126)),
                 "InvalidArgumentException",
                 "Shard shardId-000000000000 in stream %s under account %s has already been merged or split, "
                 "and thus is not eligible for merging or splitting." % (name, ACCOUNT))


def test_split_unknown_shard(kinesis, stream):
    assert_error(lambda: kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000009",
                                             NewStartingHashKey=str(2**127)),
                 "ResourceNotFoundException")


def test_split_over_shard_limit(make_server):
    client = client_for(make_server(shard_limit=2))
    name = unique_name()
    create_stream_and_wait(client, name, 2)
    assert_error(lambda: client.split_shard(StreamName=name, ShardToSplit="shardId-000000000000",
                                            NewStartingHashKey=str(2**126)),
                 "LimitExceededException",
                 "This request would exceed the shard limit for the account %s in us-east-1. "
                 "Current shard count for the account: 2. Limit: 2. Number of additional shards "
                 "that would have resulted from this request: 1. Refer to the AWS Service Limits page "
                 "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current "
                 "limits and how to request higher limits." % ACCOUNT)


def test_merge_shards(kinesis):
    name = unique_name()
    create_stream_and_wait(kinesis, name, 3)
    kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000",
                         AdjacentShardToMerge="shardId-000000000001")
    wait_for_status(kinesis, name, "ACTIVE")
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    assert _ids(shards) == ["shardId-%012d" % i for i in range(4)]
    child = shards[3]
    assert child["ParentShardId"] == "shardId-000000000000"
    assert child["AdjacentParentShardId"] == "shardId-000000000001"
    r = expected_ranges(3)
    assert child["HashKeyRange"] == {"StartingHashKey": str(r[0][0]), "EndingHashKey": str(r[1][1])}
    for parent in shards[:2]:
        assert "EndingSequenceNumber" in parent["SequenceNumberRange"]
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 2


def test_merge_non_adjacent_shards(kinesis):
    name = unique_name()
    create_stream_and_wait(kinesis, name, 3)
    assert_error(lambda: kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000",
                                              AdjacentShardToMerge="shardId-000000000002"),
                 "InvalidArgumentException",
                 "Shards shardId-000000000000 and shardId-000000000002 in stream %s under account %s are not "
                 "an adjacent pair of shards eligible for merging" % (name, ACCOUNT))


def test_update_shard_count(kinesis):
    name = unique_name()
    create_stream_and_wait(kinesis, name, 2)
    resp = kinesis.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert resp["StreamName"] == name
    assert resp["CurrentShardCount"] == 2
    assert resp["TargetShardCount"] == 4
    wait_for_status(kinesis, name, "ACTIVE")
    shards = list_all_shards(kinesis, name)
    open_shards = [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    assert len(open_shards) == 4
    # Open shards tile the key space without gaps or overlaps.
    ranges = sorted((int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
                    for s in open_shards)
    assert ranges[0][0] == 0 and ranges[-1][1] == MAX_HASH
    for (a0, a1), (b0, b1) in zip(ranges, ranges[1:]):
        assert b0 == a1 + 1
    # Every new shard descends from a closed shard (lineage for KCL).
    closed = {s["ShardId"] for s in shards if "EndingSequenceNumber" in s["SequenceNumberRange"]}
    for s in open_shards:
        assert s.get("ParentShardId") in closed
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 4


def test_reshard_on_demand_stream_is_validation_error(kinesis):
    name = unique_name()
    create_stream_and_wait(kinesis, name, None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert_error(lambda: kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000",
                                             NewStartingHashKey=str(2**125)), "ValidationException")
    assert_error(lambda: kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000",
                                              AdjacentShardToMerge="shardId-000000000001"),
                 "ValidationException")
    assert_error(lambda: kinesis.update_shard_count(StreamName=name, TargetShardCount=8,
                                                    ScalingType="UNIFORM_SCALING"),
                 "ValidationException")
