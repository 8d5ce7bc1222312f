"""Conformance: enhanced fan-out consumers and SubscribeToShard (spec 5).

RegisterStreamConsumer / DescribeStreamConsumer / ListStreamConsumers /
DeregisterStreamConsumer, their states and limits, DeleteStream with
consumers, and SubscribeToShard over boto3's HTTP/1.1 event stream.
"""

import datetime
import re
import time

import pytest

from helpers import (ACCOUNT, assert_error, client_for, create_stream_and_wait, stream_arn,
                     unique_name, wait_for_gone, wait_until)

SHARD0 = "shardId-000000000000"


def register(kinesis, stream, name=None, **kw):
    name = name or unique_name("c")
    return kinesis.register_stream_consumer(StreamARN=stream_arn(stream), ConsumerName=name, **kw)["Consumer"]


def consumer_status(kinesis, arn):
    try:
        return kinesis.describe_stream_consumer(ConsumerARN=arn)["ConsumerDescription"]["ConsumerStatus"]
    except Exception as e:  # noqa: BLE001 - only ResourceNotFound means "gone"
        if getattr(e, "response", {}).get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def wait_consumer(kinesis, arn, status="ACTIVE", timeout=20):
    wait_until(lambda: consumer_status(kinesis, arn) == status, timeout=timeout,
               what="consumer %s to be %s" % (arn, status))


# --- registration ----------------------------------------------------------------------------

def test_register_describe(kinesis, stream):
    name = unique_name("c")
    before = time.time()
    c = register(kinesis, stream, name)
    assert c["ConsumerName"] == name
    assert c["ConsumerStatus"] in ("CREATING", "ACTIVE")
    created = c["ConsumerCreationTimestamp"]
    assert isinstance(created, datetime.datetime)
    m = re.fullmatch(r"arn:aws:kinesis:us-east-1:%s:stream/%s/consumer/%s:(\d+)" % (ACCOUNT, re.escape(stream),
                                                                                      re.escape(name)),
                     c["ConsumerARN"])
    assert m, c["ConsumerARN"]
    assert before - 5 <= int(m.group(1)) <= time.time() + 5
    assert int(m.group(1)) == int(created.timestamp())
    wait_consumer(kinesis, c["ConsumerARN"])

    by_arn = kinesis.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]
    by_name = kinesis.describe_stream_consumer(StreamARN=stream_arn(stream), ConsumerName=name)["ConsumerDescription"]
    assert by_arn == by_name
    assert by_arn["ConsumerName"] == name
    assert by_arn["ConsumerARN"] == c["ConsumerARN"]
    assert by_arn["ConsumerStatus"] == "ACTIVE"
    assert by_arn["StreamARN"] == stream_arn(stream)
    assert by_arn["ConsumerCreationTimestamp"] == created
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert summary["ConsumerCount"] == 1


def test_register_duplicate_name(kinesis, stream):
    c = register(kinesis, stream)
    assert_error(lambda: register(kinesis, stream, c["ConsumerName"]), "ResourceInUseException")


def test_register_unknown_stream(kinesis):
    assert_error(lambda: register(kinesis, unique_name()), "ResourceNotFoundException")


def test_register_with_tags(kinesis, stream):
    c = register(kinesis, stream, Tags={"owner": "team-a"})
    wait_consumer(kinesis, c["ConsumerARN"])
    assert kinesis.list_tags_for_resource(ResourceARN=c["ConsumerARN"])["Tags"] == [{"Key": "owner", "Value": "team-a"}]
    kinesis.tag_resource(ResourceARN=c["ConsumerARN"], Tags={"x": "1"})
    kinesis.untag_resource(ResourceARN=c["ConsumerARN"], TagKeys=["owner"])
    assert kinesis.list_tags_for_resource(ResourceARN=c["ConsumerARN"])["Tags"] == [{"Key": "x", "Value": "1"}]
    # Consumer tags are not stream tags.
    assert kinesis.list_tags_for_stream(StreamName=stream)["Tags"] == []


def test_describe_unknown_consumer(kinesis, stream):
    assert_error(lambda: kinesis.describe_stream_consumer(StreamARN=stream_arn(stream), ConsumerName="nobody"),
                 "ResourceNotFoundException")
    arn = "%s/consumer/nobody:1700000000" % stream_arn(stream)
    assert_error(lambda: kinesis.describe_stream_consumer(ConsumerARN=arn), "ResourceNotFoundException")


def test_describe_consumer_without_identity(kinesis):
    # Neither ConsumerARN nor StreamARN+ConsumerName (spec 4): InvalidArgument, text not captured.
    assert_error(lambda: kinesis.describe_stream_consumer(), "InvalidArgumentException")


def test_list_consumers_pagination(kinesis, stream):
    names = sorted(unique_name("c") for _ in range(5))
    arns = {n: register(kinesis, stream, n)["ConsumerARN"] for n in names}
    page = kinesis.list_stream_consumers(StreamARN=stream_arn(stream), MaxResults=2)
    assert len(page["Consumers"]) == 2 and page["NextToken"]
    seen = list(page["Consumers"])
    while page.get("NextToken"):
        page = kinesis.list_stream_consumers(StreamARN=stream_arn(stream), NextToken=page["NextToken"], MaxResults=2)
        seen.extend(page["Consumers"])
    assert sorted(c["ConsumerName"] for c in seen) == names
    for c in seen:
        assert c["ConsumerARN"] == arns[c["ConsumerName"]]
        assert c["ConsumerStatus"] in ("CREATING", "ACTIVE")
        assert isinstance(c["ConsumerCreationTimestamp"], datetime.datetime)
        assert set(c) == {"ConsumerName", "ConsumerARN", "ConsumerStatus", "ConsumerCreationTimestamp"}
    pages = kinesis.get_paginator("list_stream_consumers").paginate(StreamARN=stream_arn(stream),
                                                                   PaginationConfig={"PageSize": 3})
    assert sorted(c["ConsumerName"] for p in pages for c in p["Consumers"]) == names
    assert kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["ConsumerCount"] == 5


def test_list_consumers_empty_and_unknown_stream(kinesis, stream):
    assert kinesis.list_stream_consumers(StreamARN=stream_arn(stream)).get("Consumers", []) == []
    assert_error(lambda: kinesis.list_stream_consumers(StreamARN=stream_arn(unique_name())),
                 "ResourceNotFoundException")


def test_deregister(kinesis, stream):
    c = register(kinesis, stream)
    wait_consumer(kinesis, c["ConsumerARN"])
    resp = kinesis.deregister_stream_consumer(ConsumerARN=c["ConsumerARN"])
    assert set(resp) == {"ResponseMetadata"}
    wait_consumer(kinesis, c["ConsumerARN"], None)
    assert_error(lambda: kinesis.describe_stream_consumer(ConsumerARN=c["ConsumerARN"]), "ResourceNotFoundException")
    # By stream ARN + name.
    c2 = register(kinesis, stream)
    wait_consumer(kinesis, c2["ConsumerARN"])
    kinesis.deregister_stream_consumer(StreamARN=stream_arn(stream), ConsumerName=c2["ConsumerName"])
    wait_consumer(kinesis, c2["ConsumerARN"], None)
    assert_error(lambda: kinesis.deregister_stream_consumer(ConsumerARN=c2["ConsumerARN"]),
                 "ResourceNotFoundException")


def test_reregister_gets_new_arn(kinesis, stream):
    name = unique_name("c")
    first = register(kinesis, stream, name)["ConsumerARN"]
    wait_consumer(kinesis, first)
    kinesis.deregister_stream_consumer(ConsumerARN=first)
    wait_consumer(kinesis, first, None)
    time.sleep(1.1)  # The ARN embeds the creation second.
    second = register(kinesis, stream, name)["ConsumerARN"]
    assert second != first
    assert second.rsplit(":", 1)[0] == first.rsplit(":", 1)[0]


def test_twenty_consumers_per_stream(kinesis, stream):
    for _ in range(20):
        register(kinesis, stream)
    assert_error(lambda: register(kinesis, stream), "LimitExceededException")


def test_consumer_states_and_creating_limit(make_server):
    client = client_for(make_server(consumer_ms=3000))
    name = unique_name()
    create_stream_and_wait(client, name, 1)
    consumers = [register(client, name) for _ in range(5)]
    assert all(c["ConsumerStatus"] == "CREATING" for c in consumers)
    assert consumer_status(client, consumers[0]["ConsumerARN"]) == "CREATING"
    # At most five consumers CREATING at once (spec 5.1).
    assert_error(lambda: register(client, name), "LimitExceededException")
    # A consumer cannot read while CREATING.
    assert_error(lambda: client.subscribe_to_shard(ConsumerARN=consumers[0]["ConsumerARN"], ShardId=SHARD0,
                                                   StartingPosition={"Type": "LATEST"}),
                 "ResourceInUseException")
    wait_consumer(client, consumers[0]["ConsumerARN"], "ACTIVE", timeout=15)
    client.deregister_stream_consumer(ConsumerARN=consumers[0]["ConsumerARN"])
    assert consumer_status(client, consumers[0]["ConsumerARN"]) == "DELETING"
    wait_consumer(client, consumers[0]["ConsumerARN"], None, timeout=15)


def test_delete_stream_with_consumers(kinesis, stream):
    c = register(kinesis, stream)
    wait_consumer(kinesis, c["ConsumerARN"])
    assert_error(lambda: kinesis.delete_stream(StreamName=stream), "ResourceInUseException")
    kinesis.delete_stream(StreamName=stream, EnforceConsumerDeletion=True)
    wait_for_gone(kinesis, stream)
    assert consumer_status(kinesis, c["ConsumerARN"]) is None


# --- SubscribeToShard -----------------------------------------------------------------------

def collect(event_stream, want, deadline_s=20):
    """Read SubscribeToShardEvents until `want` records arrived; returns (records, events)."""
    records, events = [], []
    deadline = time.monotonic() + deadline_s
    for event in event_stream:
        assert "SubscribeToShardEvent" in event, event
        ev = event["SubscribeToShardEvent"]
        events.append(ev)
        records.extend(ev["Records"])
        if len(records) >= want or time.monotonic() > deadline:
            break
    return records, events


@pytest.fixture
def sub_client(server):
    # Short read timeout: an idle subscription must still send an event every few seconds.
    return client_for(server, read_timeout=20)


def test_subscribe_to_shard_delivers_in_order(kinesis, sub_client, stream):
    c = register(kinesis, stream)
    wait_consumer(kinesis, c["ConsumerARN"])
    before = [kinesis.put_record(StreamName=stream, Data=b"pre-%d" % i, PartitionKey="a")["SequenceNumber"]
              for i in range(5)]
    resp = sub_client.subscribe_to_shard(ConsumerARN=c["ConsumerARN"], ShardId=SHARD0,
                                         StartingPosition={"Type": "TRIM_HORIZON"})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    stream_events = resp["EventStream"]
    try:
        records, events = collect(stream_events, 5)
        assert [r["SequenceNumber"] for r in records[:5]] == before
        assert [r["Data"] for r in records[:5]] == [b"pre-%d" % i for i in range(5)]
        for r in records:
            assert r["PartitionKey"] == "a"
            assert isinstance(r["ApproximateArrivalTimestamp"], datetime.datetime)
        last = events[-1]
        assert last["ContinuationSequenceNumber"] == records[-1]["SequenceNumber"]
        assert last["MillisBehindLatest"] >= 0
        # Records written while subscribed arrive too, in order.
        after = [kinesis.put_record(StreamName=stream, Data=b"live-%d" % i, PartitionKey="a")["SequenceNumber"]
                 for i in range(3)]
        live, _ = collect(stream_events, 3)
        assert [r["SequenceNumber"] for r in live[:3]] == after
    finally:
        stream_events.close()


def test_subscribe_live_record_arrives_promptly(kinesis, sub_client, stream):
    # A caught-up subscription is woken by the commit of a new record (AWS: typically within 70 ms),
    # not by the next idle event 5 s later; 2 s leaves room for a slow machine.
    c = register(kinesis, stream)
    wait_consumer(kinesis, c["ConsumerARN"])
    first = kinesis.put_record(StreamName=stream, Data=b"first", PartitionKey="a")["SequenceNumber"]
    resp = sub_client.subscribe_to_shard(ConsumerARN=c["ConsumerARN"], ShardId=SHARD0,
                                         StartingPosition={"Type": "TRIM_HORIZON"})
    try:
        records, _ = collect(resp["EventStream"], 1)
        assert [r["SequenceNumber"] for r in records] == [first]
        for i in range(3):
            t0 = time.monotonic()
            seq = kinesis.put_record(StreamName=stream, Data=b"live-%d" % i, PartitionKey="a")["SequenceNumber"]
            live, _ = collect(resp["EventStream"], 1)
            assert [r["SequenceNumber"] for r in live] == [seq]
            assert time.monotonic() - t0 < 2.0
    finally:
        resp["EventStream"].close()


def test_subscribe_after_sequence_number(kinesis, sub_client, stream):
    c = register(kinesis, stream)
    wait_consumer(kinesis, c["ConsumerARN"])
    seqs = [kinesis.put_record(StreamName=stream, Data=b"%d" % i, PartitionKey="a")["SequenceNumber"]
            for i in range(4)]
    resp = sub_client.subscribe_to_shard(ConsumerARN=c["ConsumerARN"], ShardId=SHARD0,
                                         StartingPosition={"Type": "AFTER_SEQUENCE_NUMBER",
                                                           "SequenceNumber": seqs[1]})
    try:
        records, _ = collect(resp["EventStream"], 2)
        assert [r["SequenceNumber"] for r in records] == seqs[2:]
    finally:
        resp["EventStream"].close()


def test_subscribe_idle_sends_events(kinesis, sub_client, stream):
    c = register(kinesis, stream)
    wait_consumer(kinesis, c["ConsumerARN"])
    resp = sub_client.subscribe_to_shard(ConsumerARN=c["ConsumerARN"], ShardId=SHARD0,
                                         StartingPosition={"Type": "LATEST"})
    try:
        t0 = time.monotonic()
        event = next(iter(resp["EventStream"]))
        assert time.monotonic() - t0 < 10
        ev = event["SubscribeToShardEvent"]
        assert ev["Records"] == []
        assert ev["ContinuationSequenceNumber"]
        assert ev["MillisBehindLatest"] == 0
    finally:
        resp["EventStream"].close()


def test_second_subscription_within_5s(kinesis, sub_client, stream):
    c = register(kinesis, stream)
    wait_consumer(kinesis, c["ConsumerARN"])
    first = sub_client.subscribe_to_shard(ConsumerARN=c["ConsumerARN"], ShardId=SHARD0,
                                          StartingPosition={"Type": "LATEST"})
    try:
        assert_error(lambda: sub_client.subscribe_to_shard(ConsumerARN=c["ConsumerARN"], ShardId=SHARD0,
                                                           StartingPosition={"Type": "LATEST"}),
                     "ResourceInUseException")
    finally:
        first["EventStream"].close()


def test_subscribe_errors(kinesis, stream):
    c = register(kinesis, stream)
    wait_consumer(kinesis, c["ConsumerARN"])
    assert_error(lambda: kinesis.subscribe_to_shard(ConsumerARN=c["ConsumerARN"], ShardId="shardId-000000000009",
                                                    StartingPosition={"Type": "LATEST"}),
                 "ResourceNotFoundException")
    unknown = "%s/consumer/nobody:1700000000" % stream_arn(stream)
    assert_error(lambda: kinesis.subscribe_to_shard(ConsumerARN=unknown, ShardId=SHARD0,
                                                    StartingPosition={"Type": "LATEST"}),
                 "ResourceNotFoundException")
    assert_error(lambda: kinesis.subscribe_to_shard(ConsumerARN=c["ConsumerARN"], ShardId=SHARD0,
                                                    StartingPosition={"Type": "AT_SEQUENCE_NUMBER"}),
                 "InvalidArgumentException")
