"""Per-shard throughput limits (issue 19, item 1): `--throughput-limits aws` throttles writes above
1,000 records/s (or 1 MiB/s) and GetRecords above 5 calls/s per shard with AWS's
ProvisionedThroughputExceededException (per record in PutRecords); without it nothing is throttled.

The buckets hold one second of burst and refill continuously, so over a run of batches sent as fast
as the client can, the server admits 1,000 records for the first instant plus 1,000 per second
after it. The client cannot see the server's clock, so the bounds use its own: at least
1,000 + 1,000 x (last send - first reply) and at most 1,000 + 1,000 x (last reply - first send),
each with a tolerance of 2% + 5 records (timer and rounding slack; the math itself is exact).
A bucket that is full wastes what it would refill: when the client stalls (a loaded machine) for
more than the one second of burst between two batches, the lower bound drops by what such a stall
can waste at most (`stalled`).
"""
import shutil
import subprocess
import time

import boto3
from botocore.config import Config

from helpers import (ACCESS_KEY, ACCOUNT, REGION, SECRET_KEY, assert_error, client_for,
                     create_stream_and_wait, unique_name)
from test_js import JS_DIR, node_env

BATCH = 500
TOLERANCE = lambda n: 0.02 * n + 5  # noqa: E731


def batch(i):
    return [{"Data": b"x" * 10, "PartitionKey": "k%d" % j} for j in range(i, i + BATCH)]


def write_run(client, name, seconds):
    """PutRecords batches of 500 tiny records to one shard for `seconds`; returns per-batch
    results and the client-side times of the first send, first reply, last send and last reply."""
    results = []
    t_first_send = time.monotonic()
    t_first_reply = t_last_send = t_last_reply = None
    write_run.stalled = 0.0
    while True:
        t_send = time.monotonic()
        if t_send - t_first_send > seconds and len(results) >= 3:
            break
        out = client.put_records(StreamName=name, Records=batch(len(results) * BATCH))
        t_reply = time.monotonic()
        if t_first_reply is None:
            t_first_reply = t_reply
        else:
            # the server checked the previous batch after its send and this one before its reply
            write_run.stalled += max(0.0, t_reply - t_last_send - 1.0)
        t_last_send, t_last_reply = t_send, t_reply
        results.append(out)
    return results, t_first_send, t_first_reply, t_last_send, t_last_reply


def test_writes_above_the_shard_limit_are_throttled_per_record(make_server):
    srv = make_server(throughput_limits="aws")
    client = client_for(srv)
    name = unique_name("tl")
    create_stream_and_wait(client, name, 1)
    results, first_send, first_reply, last_send, last_reply = write_run(client, name, 2.0)
    accepted = refused = 0
    message = ("Rate exceeded for shard shardId-000000000000 in stream %s under account %s."
               % (name, ACCOUNT))
    for out in results:
        failed = 0
        for rec in out["Records"]:
            if "ErrorCode" in rec:
                failed += 1
                assert rec["ErrorCode"] == "ProvisionedThroughputExceededException"
                assert rec["ErrorMessage"] == message
                assert "SequenceNumber" not in rec
            else:
                assert rec["ShardId"] == "shardId-000000000000"
        assert out["FailedRecordCount"] == failed
        accepted += BATCH - failed
        refused += failed
    # nothing under the limit is refused: the first second's burst (two batches) passes whole
    assert results[0]["FailedRecordCount"] == 0 and results[1]["FailedRecordCount"] == 0
    # the writer ran well above the limit, and the excess was refused
    sent = len(results) * BATCH
    elapsed = last_reply - first_send
    assert sent / elapsed > 2000, "the writer was too slow to test the limit: %d in %.2f s" % (
        sent, elapsed)
    assert refused > 0 and results[-1]["FailedRecordCount"] > 0
    low = 1000 + 1000 * (last_send - first_reply - write_run.stalled)
    high = 1000 + 1000 * (last_reply - first_send)
    assert low - TOLERANCE(low) <= accepted <= high + TOLERANCE(high), (
        accepted, low, high, write_run.stalled)
    # what was accepted is what the shard holds
    it = client.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    got = client.get_records(ShardIterator=it, Limit=10000)["Records"]
    assert len(got) == accepted
    # PutRecord gets the exception itself: after 1 MiB of writes drained the byte bucket, a
    # 500 KiB record needs about half a second of refill
    big = [{"Data": b"z" * (100 * 1024), "PartitionKey": "b%d" % i} for i in range(11)]
    client.put_records(StreamName=name, Records=big)
    assert_error(lambda: client.put_record(StreamName=name, Data=b"x" * (500 * 1024),
                                           PartitionKey="k"),
                 "ProvisionedThroughputExceededException", message)


def test_write_bytes_limit(make_server):
    """1 MiB/s counts data plus partition key: ten 100 KiB records fit, the rest of the burst
    does not."""
    srv = make_server(throughput_limits="aws")
    client = client_for(srv)
    name = unique_name("tb")
    create_stream_and_wait(client, name, 1)
    recs = [{"Data": b"y" * (100 * 1024 - 2), "PartitionKey": "p%d" % i} for i in range(10)]
    t0 = time.monotonic()
    assert client.put_records(StreamName=name, Records=recs)["FailedRecordCount"] == 0
    out = client.put_records(StreamName=name, Records=recs)
    elapsed = time.monotonic() - t0
    # at most what refilled since the first call (100 KiB takes ~98 ms at 1 MiB/s) was accepted
    assert 10 - out["FailedRecordCount"] <= int(elapsed / 0.0976) + 1, (out, elapsed)
    assert out["Records"][-1]["ErrorCode"] == "ProvisionedThroughputExceededException"


def test_get_records_above_5_calls_per_second_is_throttled(make_server):
    srv = make_server(throughput_limits="aws")
    client = client_for(srv)
    name = unique_name("tr")
    create_stream_and_wait(client, name, 1)
    client.put_record(StreamName=name, Data=b"r", PartitionKey="k")
    it = client.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    ok, errors = 0, []
    start = time.monotonic()
    for _ in range(10):
        try:
            client.get_records(ShardIterator=it)
            ok += 1
        except client.exceptions.ProvisionedThroughputExceededException as e:
            errors.append(e)
    elapsed = time.monotonic() - start
    # the burst of 5 passes whole; after it only what refilled (5 per second) passes
    assert 5 <= ok <= 5 + int(5 * elapsed) + 1, (ok, elapsed)
    assert errors
    assert_error(errors[0], "ProvisionedThroughputExceededException",
                 "Rate exceeded for Shard - %s/%s/shardId-000000000000" % (ACCOUNT, name), 400)
    # the limit is per shard and refills: a second later a call passes again
    time.sleep(1.0)  # the refill itself is what is tested: no condition to wait for
    assert client.get_records(ShardIterator=it)["Records"][0]["Data"] == b"r"


def test_get_shard_iterator_above_5_calls_per_second_per_shard_is_throttled(make_server):
    """AWS: GetShardIterator 5 calls per second per open shard, ProvisionedThroughputExceeded."""
    srv = make_server(throughput_limits="aws")
    client = client_for(srv)
    name = unique_name("tr")
    create_stream_and_wait(client, name, 2)
    ok, errors = 0, []
    start = time.monotonic()
    for _ in range(10):
        try:
            client.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                      ShardIteratorType="LATEST")
            ok += 1
        except client.exceptions.ProvisionedThroughputExceededException as e:
            errors.append(e)
    elapsed = time.monotonic() - start
    assert 5 <= ok <= 5 + int(5 * elapsed) + 1, (ok, elapsed)
    assert errors
    assert_error(errors[0], "ProvisionedThroughputExceededException",
                 "Rate exceeded for shard shardId-000000000000 in stream %s under account %s."
                 % (name, ACCOUNT), 400)
    # per shard: the other shard's bucket is full
    for _ in range(5):
        client.get_shard_iterator(StreamName=name, ShardId="shardId-000000000001",
                                  ShardIteratorType="TRIM_HORIZON")
    # without limits GetShardIterator is never throttled
    plain = client_for(make_server())
    create_stream_and_wait(plain, name, 1)
    for _ in range(20):
        plain.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                 ShardIteratorType="LATEST")


def test_nothing_is_throttled_when_limits_are_off(kinesis, stream):
    for i in range(8):  # 4,000 records as fast as the client can, well above 1,000/s
        out = kinesis.put_records(StreamName=stream, Records=batch(i * BATCH))
        assert out["FailedRecordCount"] == 0
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    for _ in range(12):
        kinesis.get_records(ShardIterator=it, Limit=1)


def test_boto3_retry_logic_recovers(make_server):
    """boto3's standard retry mode treats the exception as throttling and backs off until the
    bucket refilled: the calls succeed, after at least one retry."""
    srv = make_server(throughput_limits="aws")
    plain = client_for(srv)
    retrying = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                     region_name=REGION).client(
        "kinesis", endpoint_url=srv.endpoint,
        config=Config(retries={"total_max_attempts": 10, "mode": "standard"}))
    name = unique_name("tq")
    create_stream_and_wait(plain, name, 1)
    big = [{"Data": b"z" * (100 * 1024), "PartitionKey": "b%d" % i} for i in range(11)]
    plain.put_records(StreamName=name, Records=big)
    out = retrying.put_record(StreamName=name, Data=b"x" * (500 * 1024), PartitionKey="k")
    assert out["ShardId"] == "shardId-000000000000"
    assert out["ResponseMetadata"]["RetryAttempts"] >= 1
    it = plain.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    retries = 0
    for _ in range(8):  # above 5 calls/s: some are throttled and retried, none fails
        got = retrying.get_records(ShardIterator=it, Limit=1)
        retries += got["ResponseMetadata"]["RetryAttempts"]
    assert retries >= 1


def test_custom_limit_numbers(make_server):
    """--shard-write-records-per-s and friends replace AWS's numbers (the texts stay AWS's)."""
    srv = make_server(throughput_limits="aws", shard_write_records_per_s=100,
                      shard_read_calls_per_s=2)
    client = client_for(srv)
    name = unique_name("tc")
    create_stream_and_wait(client, name, 1)
    start = time.monotonic()
    out = client.put_records(StreamName=name, Records=batch(0))
    elapsed = time.monotonic() - start
    accepted = BATCH - out["FailedRecordCount"]
    assert 100 <= accepted <= 100 + 100 * elapsed + 2, (accepted, elapsed)
    it = client.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    client.get_records(ShardIterator=it)
    client.get_records(ShardIterator=it)
    assert_error(lambda: client.get_records(ShardIterator=it),
                 "ProvisionedThroughputExceededException")


def test_on_demand_stream_level_limit(make_server):
    """An ON_DEMAND stream accepts at most its own capacity, 4 MiB/s and 4,000 records/s to
    start, whatever its shards would take (their limit is raised here to show the stream's)."""
    srv = make_server(throughput_limits="aws", shard_write_records_per_s=100000,
                      on_demand_scaling="off")
    client = client_for(srv)
    name = unique_name("od")
    create_stream_and_wait(client, name, None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    results, first_send, first_reply, last_send, last_reply = write_run(client, name, 2.0)
    accepted = sum(BATCH - out["FailedRecordCount"] for out in results)
    low = 4000 + 4000 * (last_send - first_reply - write_run.stalled)
    high = 4000 + 4000 * (last_reply - first_send)
    sent = len(results) * BATCH
    assert sent > high, "the writer was too slow to test the limit: %d" % sent
    assert low - TOLERANCE(low) <= accepted <= high + TOLERANCE(high), (
        accepted, low, high, write_run.stalled)
    refused = [r for out in results for r in out["Records"] if "ErrorCode" in r]
    assert refused[0]["ErrorCode"] == "ProvisionedThroughputExceededException"
    assert refused[0]["ErrorMessage"].startswith("Rate exceeded for shard shardId-")


def first_event_records(event_stream):
    for event in event_stream:
        ev = event["SubscribeToShardEvent"]
        if ev["Records"]:
            return ev["Records"]
    raise AssertionError("the subscription ended without records")


def test_enhanced_fan_out_is_paced_per_consumer_and_shard(make_server):
    """With limits on, SubscribeToShard delivers at most 2 MiB/s per consumer and shard (here
    --efo-bytes-per-s 200000): after an event of 600 KB the next one waits about 2 s (one second of
    burst, then the debt), nothing is refused, and another consumer of the same shard has its own
    budget."""
    srv = make_server(throughput_limits="aws", efo_bytes_per_s=200000)
    client = client_for(srv, read_timeout=20)
    name = unique_name("efo")
    create_stream_and_wait(client, name, 1)
    arn = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    consumers = [client.register_stream_consumer(StreamARN=arn, ConsumerName=n)["Consumer"]
                 for n in ("a", "b")]
    big = [{"Data": b"e" * 100000, "PartitionKey": "k%d" % i} for i in range(6)]
    assert client.put_records(StreamName=name, Records=big)["FailedRecordCount"] == 0
    sub = client.subscribe_to_shard(ConsumerARN=consumers[0]["ConsumerARN"],
                                    ShardId="shardId-000000000000",
                                    StartingPosition={"Type": "TRIM_HORIZON"})["EventStream"]
    try:
        assert len(first_event_records(sub)) == 6
        t0 = time.monotonic()
        client.put_record(StreamName=name, Data=b"late", PartitionKey="k")
        assert [r["Data"] for r in first_event_records(sub)] == [b"late"]
        waited = time.monotonic() - t0
        assert 1.5 <= waited <= 6, waited
        # the other consumer is not slowed by the first one's debt
        other = client.subscribe_to_shard(ConsumerARN=consumers[1]["ConsumerARN"],
                                          ShardId="shardId-000000000000",
                                          StartingPosition={"Type": "TRIM_HORIZON"})["EventStream"]
        try:
            t1 = time.monotonic()
            assert len(first_event_records(other)) == 7
            assert time.monotonic() - t1 < 1.5
        finally:
            other.close()
    finally:
        sub.close()


def test_js_sdk_sees_limits_and_quotas(make_server):
    """The AWS SDK for JavaScript v3 against limits and quotas: js/capacity.mjs."""
    srv = make_server(throughput_limits="aws", quotas="aws")
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/setup.sh"
    proc = subprocess.run([node, "capacity.mjs"], cwd=JS_DIR, env=node_env(srv),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
