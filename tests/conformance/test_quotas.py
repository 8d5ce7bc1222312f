"""Control-plane quotas (issue 19, item 3; docs/capacity.md, "Quotas"): with `--quotas aws`,
UpdateShardCount is refused after 10 calls per stream in a rolling 24 hours, Start- and
StopStreamEncryption after 25 each, and SplitShard/MergeShards above 5 calls per second per
account, each with LimitExceededException; without it none of them is counted. (The other rules -
double/half, the shard limit, 5 streams CREATING, DescribeLimits' live counts - are always on and
tested in test_reshard.py, test_streams.py and test_account.py.)

The texts of these refusals were not captured from AWS; they follow the style of AWS's
UpdateShardCount messages and are listed in docs/capacity.md as Sluice's."""
import time

import boto3

from helpers import (ACCESS_KEY, ACCOUNT, REGION, SECRET_KEY, assert_error, client_for,
                     create_stream_and_wait, unique_name, wait_until)



def scale_ten_times(client, name):
    for i in range(10):
        client.update_shard_count(StreamName=name, TargetShardCount=2 if i % 2 == 0 else 1,
                                  ScalingType="UNIFORM_SCALING")


def test_update_shard_count_ten_per_day_per_stream(make_server):
    client = client_for(make_server(quotas="aws"))
    name, other = unique_name("a"), unique_name("b")
    create_stream_and_wait(client, name, 1)
    create_stream_and_wait(client, other, 1)
    scale_ten_times(client, name)
    assert_error(lambda: client.update_shard_count(StreamName=name, TargetShardCount=2,
                                                   ScalingType="UNIFORM_SCALING"),
                 "LimitExceededException",
                 "UpdateShardCount cannot be called more than 10 times in a rolling 24-hour "
                 "period for stream %s under account %s." % (name, ACCOUNT), 400)
    # the refused call changed nothing; the quota is per stream
    assert len(client.list_shards(StreamName=name,
                                  ShardFilter={"Type": "AT_LATEST"})["Shards"]) == 1
    client.update_shard_count(StreamName=other, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    # the double/half rule still comes first
    assert_error(lambda: client.update_shard_count(StreamName=name, TargetShardCount=4,
                                                   ScalingType="UNIFORM_SCALING"),
                 "LimitExceededException",
                 "UpdateShardCount cannot scale up over double your current open shard count. "
                 "Current open shard count: 1 Target shard count: 4")


def test_update_shard_count_is_not_counted_without_quotas(kinesis, new_stream):
    name = new_stream(1)
    scale_ten_times(kinesis, name)
    kinesis.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")


def test_encryption_key_changes_25_per_day(make_server):
    client = client_for(make_server(quotas="aws"))
    # a key of Sluice's own KMS: StartStreamEncryption refuses keys that do not exist
    kms = boto3.client("kms", endpoint_url=client.meta.endpoint_url, region_name=REGION,
                       aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    name = unique_name()
    create_stream_and_wait(client, name, 1)
    for _ in range(25):
        client.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)
        client.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)
    for op, call in (("StartStreamEncryption", client.start_stream_encryption),
                     ("StopStreamEncryption", client.stop_stream_encryption)):
        assert_error(lambda: call(StreamName=name, EncryptionType="KMS", KeyId=key),
                     "LimitExceededException",
                     "%s cannot be called more than 25 times in a rolling 24-hour period for "
                     "stream %s under account %s." % (op, name, ACCOUNT), 400)
    assert client.describe_stream_summary(StreamName=name)[
        "StreamDescriptionSummary"]["EncryptionType"] == "NONE"


def test_split_and_merge_five_per_second_per_account(make_server):
    client = client_for(make_server(quotas="aws"))
    name = unique_name()
    create_stream_and_wait(client, name, 12)
    shards = client.list_shards(StreamName=name)["Shards"]
    ok, refused = 0, []
    start = time.monotonic()
    for sh in shards:
        lo, hi = int(sh["HashKeyRange"]["StartingHashKey"]), int(sh["HashKeyRange"]["EndingHashKey"])
        try:
            client.split_shard(StreamName=name, ShardToSplit=sh["ShardId"],
                               NewStartingHashKey=str((lo + hi) // 2))
            ok += 1
        except client.exceptions.LimitExceededException as e:
            refused.append(e)
    elapsed = time.monotonic() - start
    # the burst of 5 passes whole; after it only what refilled (5 per second)
    assert 5 <= ok <= 5 + int(5 * elapsed) + 1, (ok, elapsed)
    assert refused, "12 splits in %.2f s were all accepted" % elapsed
    assert_error(refused[0], "LimitExceededException",
                 "Rate exceeded for SplitShard under account %s." % ACCOUNT, 400)
    # MergeShards shares the account's rate: right after the burst it is refused too
    open_shards = client.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    a, b = open_shards[0]["ShardId"], open_shards[1]["ShardId"]
    for _ in range(10):
        try:
            client.merge_shards(StreamName=name, ShardToMerge=a, AdjacentShardToMerge=b)
        except client.exceptions.LimitExceededException as e:
            assert_error(e, "LimitExceededException",
                         "Rate exceeded for MergeShards under account %s." % ACCOUNT, 400)
            break
        a = client.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
        a, b = a[0]["ShardId"], a[1]["ShardId"]
    else:
        raise AssertionError("10 merges in a row were never refused")


def test_quota_counts_survive_a_restart(make_server):
    """The per-stream counts are kept in the catalog: a restart does not reset the 24-hour window."""
    srv = make_server(quotas="aws")
    client = client_for(srv)
    kms = boto3.client("kms", endpoint_url=client.meta.endpoint_url, region_name=REGION,
                       aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    name = unique_name()
    create_stream_and_wait(client, name, 1)
    scale_ten_times(client, name)
    for _ in range(25):
        client.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)
    srv.restart()
    client = client_for(srv)
    assert_error(lambda: client.update_shard_count(StreamName=name, TargetShardCount=2,
                                                   ScalingType="UNIFORM_SCALING"),
                 "LimitExceededException",
                 "UpdateShardCount cannot be called more than 10 times in a rolling 24-hour "
                 "period for stream %s under account %s." % (name, ACCOUNT), 400)
    assert_error(lambda: client.start_stream_encryption(StreamName=name, EncryptionType="KMS",
                                                        KeyId=key),
                 "LimitExceededException",
                 "StartStreamEncryption cannot be called more than 25 times in a rolling 24-hour "
                 "period for stream %s under account %s." % (name, ACCOUNT), 400)
    # StopStreamEncryption has its own count, which was not used; a kill -9 keeps the counts too
    client.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)
    srv.restart(kill=True)
    client = client_for(srv)
    assert_error(lambda: client.update_shard_count(StreamName=name, TargetShardCount=2,
                                                   ScalingType="UNIFORM_SCALING"),
                 "LimitExceededException")
    # a stream deleted and created again under the same name starts afresh
    client.delete_stream(StreamName=name)
    wait_until(lambda: name not in client.list_streams()["StreamNames"])
    create_stream_and_wait(client, name, 1)
    client.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
