"""Conformance slips found by running kinesalite's own suite (its texts were recorded on AWS,
mhart/kinesalite test/*.js): MergeShards pair order, loose shard ids in MergeShards/SplitShard
messages, RemoveTagsFromStream's key check, the legacy `application/json` content type, and a
stream deleted while CREATING. Written so that it runs against kinesalite too (KINESALITE=1 skips
only what kinesalite does not implement; see docs/compatibility.md)."""

import os

import pytest

from helpers import (ACCOUNT, assert_error, client_for, list_all_shards, raw_request, unique_name,
                     wait_for_status)

# KINESALITE=1: the same expectations checked against kinesalite (proof they are AWS's, not ours).
KINESALITE = os.environ.get("KINESALITE") == "1"


def shard_ids(kinesis, name):
    return [s["ShardId"] for s in kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"]]


def open_shards(kinesis, name):
    return [s["ShardId"] for s in kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"]
            if "EndingSequenceNumber" not in s["SequenceNumberRange"]]


# --- MergeShards --------------------------------------------------------------------------------------

def test_merge_shards_in_reverse_order_is_refused(kinesis, new_stream):
    name = new_stream(3)
    assert_error(lambda: kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000001",
                                              AdjacentShardToMerge="shardId-000000000000"),
                 "InvalidArgumentException",
                 "Shards shardId-000000000001 and shardId-000000000000 in stream %s under account %s are not "
                 "an adjacent pair of shards eligible for merging" % (name, ACCOUNT))
    # nothing was closed or created
    wait_for_status(kinesis, name, "ACTIVE")
    assert open_shards(kinesis, name) == ["shardId-000000000000", "shardId-000000000001",
                                          "shardId-000000000002"]


def test_merge_shards_with_loose_ids(kinesis, new_stream):
    name = new_stream(3)
    kinesis.merge_shards(StreamName=name, ShardToMerge="shard-0", AdjacentShardToMerge="1")
    wait_for_status(kinesis, name, "ACTIVE")
    shards = kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"]
    child = shards[-1]
    assert child["ShardId"] == "shardId-000000000003"
    assert child["ParentShardId"] == "shardId-000000000000"
    assert child["AdjacentParentShardId"] == "shardId-000000000001"


@pytest.mark.parametrize("member", ["ShardToMerge", "AdjacentShardToMerge"])
def test_merge_shards_missing_loose_id_is_named_canonically(kinesis, new_stream, member):
    name = new_stream(3)
    args = {"StreamName": name, "ShardToMerge": "shardId-000000000000",
            "AdjacentShardToMerge": "shardId-000000000001"}
    args[member] = "shardId-5"
    assert_error(lambda: kinesis.merge_shards(**args), "ResourceNotFoundException",
                 "Could not find shard shardId-000000000005 in stream %s under account %s." % (name, ACCOUNT))


@pytest.mark.parametrize("shard", ["2147483648", "shardId-002147483648", "ABKLFD8", "2.14E4"])
@pytest.mark.parametrize("member", ["ShardToMerge", "AdjacentShardToMerge"])
def test_merge_shards_unparseable_id_comes_before_the_stream(kinesis, shard, member):
    name = unique_name()  # no such stream: the shard id is refused first, as given
    args = {"StreamName": name, "ShardToMerge": "x-0", "AdjacentShardToMerge": "x-0"}
    args[member] = shard
    assert_error(lambda: kinesis.merge_shards(**args), "ResourceNotFoundException",
                 "Could not find shard %s in stream %s under account %s." % (shard, name, ACCOUNT))


def test_merge_shards_parseable_id_of_unknown_stream(kinesis):
    name = unique_name()
    assert_error(lambda: kinesis.merge_shards(StreamName=name, ShardToMerge="2147483647",
                                              AdjacentShardToMerge="x-0"),
                 "ResourceNotFoundException", "Stream %s under account %s not found." % (name, ACCOUNT))


# --- SplitShard ---------------------------------------------------------------------------------------

def test_split_shard_missing_loose_id_is_named_canonically(kinesis, new_stream):
    name = new_stream(1)
    assert_error(lambda: kinesis.split_shard(StreamName=name, ShardToSplit="shardId-5", NewStartingHashKey="0"),
                 "ResourceNotFoundException",
                 "Could not find shard shardId-000000000005 in stream %s under account %s." % (name, ACCOUNT))


@pytest.mark.parametrize("shard", ["2147483648", "shardId-002147483648", "ABKLFD8", "2.14E4"])
def test_split_shard_unparseable_id_comes_before_the_stream(kinesis, shard):
    name = unique_name()
    assert_error(lambda: kinesis.split_shard(StreamName=name, ShardToSplit=shard, NewStartingHashKey="0"),
                 "ResourceNotFoundException",
                 "Could not find shard %s in stream %s under account %s." % (shard, name, ACCOUNT))


def test_split_shard_loose_id_message_is_canonical(kinesis, new_stream):
    name = new_stream(1)
    assert_error(lambda: kinesis.split_shard(StreamName=name, ShardToSplit="shard-0", NewStartingHashKey="1"),
                 "InvalidArgumentException",
                 "NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000000 in stream %s under "
                 "account %s is not both greater than one plus the shard's StartingHashKey 0 and less than the "
                 "shard's EndingHashKey %d." % (name, ACCOUNT, 2**128 - 1))


# --- RemoveTagsFromStream -----------------------------------------------------------------------------

INVALID_CHARS = ("Some tags contain invalid characters. Valid characters: Unicode letters, digits, white "
                 "space, _ . / = + - % @.")


@pytest.mark.parametrize("key", ["abc;def", "abc\tdef", "abc\ndef", "abc,def"])
def test_remove_tags_checks_key_characters(kinesis, stream, key):
    assert_error(lambda: kinesis.remove_tags_from_stream(StreamName=stream, TagKeys=[key]),
                 "InvalidArgumentException", INVALID_CHARS)


def test_remove_tags_refuses_percent(kinesis, stream):
    assert_error(lambda: kinesis.remove_tags_from_stream(StreamName=stream, TagKeys=["abc%def"]),
                 "InvalidArgumentException",
                 "Failed to remove tags from stream %s under account %s because some tags contained illegal "
                 "characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+',"
                 "'-','@'." % (stream, ACCOUNT))


def test_remove_tags_invalid_characters_win_over_percent(kinesis, stream):
    # every key is checked for invalid characters before any key is checked for '%'
    assert_error(lambda: kinesis.remove_tags_from_stream(StreamName=stream, TagKeys=["a%b", "c;d"]),
                 "InvalidArgumentException", INVALID_CHARS)


def test_remove_tags_with_valid_characters(kinesis, stream):
    kinesis.add_tags_to_stream(StreamName=stream, Tags={"a": "a", "ü0 _.": "a", "/=+-@": "a"})
    kinesis.remove_tags_from_stream(StreamName=stream, TagKeys=["ü0 _.", "/=+-@"])
    tags = kinesis.list_tags_for_stream(StreamName=stream)["Tags"]
    assert tags == [{"Key": "a", "Value": "a"}]


# --- legacy application/json --------------------------------------------------------------------------

def test_legacy_json_is_answered_in_its_own_content_type(server):
    resp = raw_request(server, target="Kinesis_20131202.ListStreams", body=b"{}",
                       content_type="application/json")
    assert resp.status == 404, resp
    assert resp.headers.get("Content-Type") == "application/json"
    assert resp.json() == {"Output": {"__type": "com.amazon.coral.service#UnknownOperationException"},
                           "Version": "1.0"}
    resp = raw_request(server, target="Kinesis_20131202.ListStreams", body=b"{", content_type="application/json")
    assert resp.status == 400, resp
    assert resp.headers.get("Content-Type") == "application/json"
    assert resp.json() == {"Output": {"__type": "com.amazon.coral.service#SerializationException"},
                           "Version": "1.0"}


# --- a stream deleted while CREATING ---------------------------------------------------------------------

@pytest.mark.skipif(KINESALITE, reason="uses sluice's --create-stream-ms / --delete-stream-ms")
def test_stream_deleted_while_creating_has_no_shards(make_server):
    srv = make_server(create_stream_ms=60000, delete_stream_ms=60000)
    kinesis = client_for(srv)
    name = unique_name()
    kinesis.create_stream(StreamName=name, ShardCount=1)
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"] == "CREATING"
    kinesis.delete_stream(StreamName=name)
    desc = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert desc["StreamStatus"] == "DELETING"
    assert desc["Shards"] == []
    assert desc["HasMoreShards"] is False
    assert kinesis.list_shards(StreamName=name)["Shards"] == []
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 0


@pytest.mark.skipif(KINESALITE, reason="uses sluice's --delete-stream-ms")
def test_stream_deleted_while_active_keeps_its_shards(make_server):
    srv = make_server(delete_stream_ms=60000)
    kinesis = client_for(srv)
    name = unique_name()
    kinesis.create_stream(StreamName=name, ShardCount=2)
    wait_for_status(kinesis, name, "ACTIVE")
    kinesis.delete_stream(StreamName=name)
    desc = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert desc["StreamStatus"] == "DELETING"
    assert [s["ShardId"] for s in desc["Shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    assert len(list_all_shards(kinesis, name)) == 2
