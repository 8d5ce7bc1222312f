"""On-demand scaling (issue 19, item 2; docs/capacity.md, "On-demand streams"): an ON_DEMAND
stream splits a shard whose writes stay above --on-demand-scale-up-share of a shard's capacity for
--on-demand-window-s and merges adjacent shards that stay below --on-demand-scale-down-share, within
--on-demand-shards-min/-max, through the ordinary reshard path; UpdateStreamWarmThroughput
pre-scales. The thresholds are lowered here (5% of 1,000 records/s = 50 records/s, a 1 s window) so
that the test runs in seconds; the policy is the same with the defaults.

Readers lose nothing: every record written while the stream scaled is read back exactly once,
in order per partition key, by libsluice's resharding-aware reader (parents before children)."""
import hashlib
import threading

import pytest

from helpers import client_for, create_stream_and_wait, unique_name, wait_until
from test_libsluice import read_back

SCALING = dict(on_demand_scale_up_share="0.05", on_demand_scale_down_share="0.01",
               on_demand_window_s=1, on_demand_shards_min=2, on_demand_shards_max=6)


def hot_keys(count):
    """Partition keys whose MD5 falls in the first quarter of the key space (shard 0 of 4)."""
    keys, i = [], 0
    while len(keys) < count:
        k = "hot-%d" % i
        if int(hashlib.md5(k.encode()).hexdigest(), 16) < 2 ** 126:
            keys.append(k)
        i += 1
    return keys


def shards(client, name):
    return client.list_shards(StreamName=name)["Shards"]


def open_shards(shards_):
    return [s for s in shards_ if "EndingSequenceNumber" not in s["SequenceNumberRange"]]


class Writer(threading.Thread):
    """Writes batches of 100 records to the hot keys until stopped; data is "<key>|<n>" with n
    counting per key, so order per key can be checked on the way back."""

    def __init__(self, client, name, keys):
        super().__init__(daemon=True)
        self.client, self.name, self.keys = client, name, keys
        self.stop = threading.Event()
        self.next = {k: 0 for k in keys}
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                recs = []
                for j in range(100):
                    k = self.keys[j % len(self.keys)]
                    recs.append({"Data": ("%s|%d" % (k, self.next[k])).encode(), "PartitionKey": k})
                    self.next[k] += 1
                out = self.client.put_records(StreamName=self.name, Records=recs)
                assert out["FailedRecordCount"] == 0, out
                self.stop.wait(0.05)
        except Exception as e:  # reported by the test
            self.error = e


def test_hot_range_splits_cold_shards_merge_and_nothing_is_lost(make_server):
    srv = make_server(**SCALING)
    client = client_for(srv)
    name = unique_name("od")
    create_stream_and_wait(client, name, None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert len(open_shards(shards(client, name))) == 4
    writer = Writer(client, name, hot_keys(40))
    writer.start()
    try:
        # the hot shard (0) splits, its children split again up to the maximum of 6 open shards,
        # and the idle shards merge meanwhile
        wait_until(lambda: any(s.get("ParentShardId") == "shardId-000000000000"
                               for s in shards(client, name)), timeout=60, what="a split of shard 0")
        wait_until(lambda: any("AdjacentParentShardId" in s for s in shards(client, name)),
                   timeout=60, what="a merge of cold shards")
        assert len(open_shards(shards(client, name))) <= 6
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None, writer.error
    # without traffic every shard is cold: the stream merges back to the minimum of 2
    wait_until(lambda: len(open_shards(shards(client, name))) == 2, timeout=90,
               what="merging back to 2 open shards")
    all_shards = shards(client, name)
    assert len(all_shards) > 6  # parents stay readable next to their children
    open_ranges = sorted((int(s["HashKeyRange"]["StartingHashKey"]),
                          int(s["HashKeyRange"]["EndingHashKey"])) for s in open_shards(all_shards))
    assert open_ranges[0][0] == 0 and open_ranges[-1][1] == 2 ** 128 - 1
    assert open_ranges[0][1] + 1 == open_ranges[1][0]

    # every record exactly once, in order per key, across parents and children
    got = read_back(srv.endpoint, name)
    per_key = {}
    for pk, _, _, data in got:
        key, n = data.rsplit("|", 1)
        assert key == pk
        per_key.setdefault(key, []).append(int(n))
    assert per_key.keys() == {k for k, n in writer.next.items() if n}
    for key, ns in per_key.items():
        assert ns == list(range(writer.next[key])), "key %s: %s..." % (key, ns[:20])


def test_warm_throughput_pre_scales(make_server):
    srv = make_server(**SCALING)
    client = client_for(srv)
    client.update_account_settings(
        MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    name = unique_name("warm")
    create_stream_and_wait(client, name, None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    client.update_stream_warm_throughput(StreamName=name, WarmThroughputMiBps=6)
    # one shard per MiB/s, here 6 (the maximum); cold as they are, none is merged below it
    wait_until(lambda: len(open_shards(shards(client, name))) == 6, timeout=30,
               what="6 open shards")
    client.put_record(StreamName=name, Data=b"x", PartitionKey="k")
    assert len(open_shards(shards(client, name))) == 6


def test_provisioned_streams_and_scaling_off_keep_their_shards(make_server):
    srv = make_server(on_demand_scaling="off", **{k: v for k, v in SCALING.items()})
    client = client_for(srv)
    name = unique_name("off")
    create_stream_and_wait(client, name, None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    writer = Writer(client, name, hot_keys(10))
    writer.start()
    try:
        writer.stop.wait(2.5)  # more than two windows of a hot shard and cold ones
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None, writer.error
    assert len(shards(client, name)) == 4
    # on-demand streams refuse manual resharding, scaling or not
    with pytest.raises(client.exceptions.ValidationException):
        client.split_shard(StreamName=name, ShardToSplit="shardId-000000000000",
                           NewStartingHashKey=str(2 ** 125))


def burst(client, name, calls=2):
    """calls x 500 records of 10 KiB (about 5 MiB each) as fast as possible; records refused."""
    recs = [{"Data": b"p" * 10240, "PartitionKey": "k%d" % i} for i in range(500)]
    return sum(client.put_records(StreamName=name, Records=recs)["FailedRecordCount"]
               for _ in range(calls))


def test_on_demand_peak_survives_a_restart(make_server):
    """An ON_DEMAND stream's capacity follows twice its observed write peak; the peak is kept in
    the catalog, so after a restart a burst the minimum capacity (4 MiB/s, its bucket holding one
    second) would throttle still passes, while a new stream's is throttled."""
    options = dict(throughput_limits="aws", shard_write_records_per_s=10 ** 9,
                   shard_write_bytes_per_s=2 ** 40, on_demand_window_s=1)
    srv = make_server(**options)
    client = client_for(srv)
    name = unique_name("peak")
    create_stream_and_wait(client, name, None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    # write until the capacity (twice the sampled peak) admits a 10 MiB burst whole
    wait_until(lambda: burst(client, name) == 0, timeout=60, interval=0.3,
               what="the stream's capacity to grow past 10 MiB/s")
    srv.restart()
    client = client_for(srv)
    assert burst(client, name) == 0
    fresh = unique_name("fresh")
    create_stream_and_wait(client, fresh, None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert burst(client, fresh) > 0
