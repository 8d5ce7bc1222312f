"""Conformance: GET /metrics (Prometheus text; docs/observability.md).

The numbers equal what the test did (records of known sizes put with PutRecords and PutRecord, then
read back with GetRecords), `promtool check metrics` accepts the page, shard-level series exist
only for the metrics EnableEnhancedMonitoring names, --metrics-port serves the page on a port of
its own, and a real Prometheus (Debian's) scrapes Sluice and answers a query over its HTTP API.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from helpers import client_for, create_stream_and_wait, free_port, list_all_shards, read_shard
from helpers import unique_name, wait_until

LINE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
LABEL_RE = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return resp.read().decode()


def samples(text):
    """[(name, {label: value}, float)] of every sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE_RE.match(line)
        assert m, line
        out.append((m.group(1), dict(LABEL_RE.findall(m.group(2) or "")), float(m.group(3))))
    return out


def value(text, name, **labels):
    found = [v for n, ls, v in samples(text)
             if n == name and all(ls.get(k) == w for k, w in labels.items())]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


def test_values_equal_what_was_done(server, kinesis):
    name = unique_name("m")
    create_stream_and_wait(kinesis, name, 2)
    sizes = [1 + (i * 37) % 500 for i in range(25)]
    resp = kinesis.put_records(StreamName=name, Records=[
        {"Data": b"r" * size, "PartitionKey": "k%d" % i} for i, size in enumerate(sizes)])
    assert resp["FailedRecordCount"] == 0
    for _ in range(3):
        kinesis.put_record(StreamName=name, Data=b"p" * 11, PartitionKey="single")
    got = []
    for shard in list_all_shards(kinesis, name):
        got += read_shard(kinesis, name, shard["ShardId"])
    assert len(got) == 28
    text = scrape(server.port)
    lab = {"stream_name": name, "account_id": "000000000000"}
    total = sum(sizes) + 33
    assert value(text, "sluice_kinesis_incoming_bytes_total", **lab) == total
    assert value(text, "sluice_kinesis_incoming_records_total", **lab) == 28
    assert value(text, "sluice_kinesis_put_records_bytes_total", **lab) == sum(sizes)
    assert value(text, "sluice_kinesis_put_records_successful_records_total", **lab) == 25
    assert value(text, "sluice_kinesis_put_records_total_records_total", **lab) == 25
    assert value(text, "sluice_kinesis_put_records_failed_records_total", **lab) == 0
    assert value(text, "sluice_kinesis_put_records_success_total", **lab) == 1
    assert value(text, "sluice_kinesis_put_records_latency_seconds_count", **lab) == 1
    assert value(text, "sluice_kinesis_put_record_bytes_total", **lab) == 33
    assert value(text, "sluice_kinesis_put_record_success_total", **lab) == 3
    assert value(text, "sluice_kinesis_put_record_latency_seconds_count", **lab) == 3
    assert value(text, "sluice_kinesis_put_record_latency_seconds_bucket", le="+Inf", **lab) == 3
    assert value(text, "sluice_kinesis_get_records_bytes_total", **lab) == total
    assert value(text, "sluice_kinesis_get_records_records_total", **lab) == 28
    calls = value(text, "sluice_kinesis_get_records_latency_seconds_count", **lab)
    assert calls >= 2 and value(text, "sluice_kinesis_get_records_success_total", **lab) == calls
    # no shard-level series without enhanced monitoring (as on AWS)
    assert value(text, "sluice_kinesis_shard_incoming_bytes_total", **lab) is None
    # storage and network
    assert value(text, "sluice_storage_commit_rounds_total") >= 1
    assert value(text, "sluice_storage_committed_bytes_total") >= total
    assert value(text, "sluice_storage_commit_round_seconds_count") >= 1
    assert value(text, "sluice_storage_fsync_seconds_count") >= 1
    assert value(text, "sluice_storage_journal_capacity_bytes") > 0
    assert value(text, "sluice_net_connections_accepted_total") >= 1
    assert value(text, "sluice_net_connections_open") >= 1
    # process metrics
    assert value(text, "process_resident_memory_bytes") > 0
    assert value(text, "process_open_fds") > 0
    # a deleted stream's series leave the page
    kinesis.delete_stream(StreamName=name)
    assert value(scrape(server.port), "sluice_kinesis_incoming_bytes_total", **lab) is None


def test_promtool_check_metrics_passes(server, kinesis, stream):
    kinesis.put_record(StreamName=stream, Data=b"x", PartitionKey="a")
    text = scrape(server.port)
    proc = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert proc.stdout == b"" and proc.stderr == b"", proc


def test_enhanced_monitoring_decides_the_shard_series(server, kinesis, stream):
    lab = {"stream_name": stream}
    shard = list_all_shards(kinesis, stream)[0]["ShardId"]
    kinesis.put_record(StreamName=stream, Data=b"abc", PartitionKey="a")
    text = scrape(server.port)
    assert not [s for s in samples(text) if s[0].startswith("sluice_kinesis_shard_")
                and s[1].get("stream_name") == stream]
    kinesis.enable_enhanced_monitoring(StreamName=stream,
                                       ShardLevelMetrics=["IncomingBytes", "OutgoingRecords"])
    kinesis.put_record(StreamName=stream, Data=b"abcde", PartitionKey="a")
    read_shard(kinesis, stream, shard)
    text = scrape(server.port)
    assert value(text, "sluice_kinesis_shard_incoming_bytes_total", shard_id=shard, **lab) == 5
    assert value(text, "sluice_kinesis_shard_outgoing_records_total", shard_id=shard, **lab) == 2
    assert value(text, "sluice_kinesis_shard_incoming_records_total", **lab) is None
    assert value(text, "sluice_kinesis_shard_outgoing_bytes_total", **lab) is None
    kinesis.disable_enhanced_monitoring(StreamName=stream, ShardLevelMetrics=["ALL"])
    kinesis.put_record(StreamName=stream, Data=b"abcde", PartitionKey="a")
    text = scrape(server.port)
    assert not [s for s in samples(text) if s[0].startswith("sluice_kinesis_shard_")
                and s[1].get("stream_name") == stream]
    assert value(text, "sluice_kinesis_incoming_bytes_total", **lab) == 13


def test_metrics_port_serves_only_metrics(make_server):
    port = free_port()
    srv = make_server(metrics_port=port)
    client = client_for(srv)
    name = unique_name("mp")
    create_stream_and_wait(client, name, 1)
    client.put_record(StreamName=name, Data=b"12345", PartitionKey="a")
    text = scrape(port)
    assert value(text, "sluice_kinesis_incoming_bytes_total", stream_name=name) == 5
    assert scrape(srv.port) and value(scrape(srv.port), "sluice_kinesis_incoming_bytes_total",
                                      stream_name=name) == 5
    for path in ("/", "/health", "/metrics/x"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10)
        assert e.value.code == 404


def test_prometheus_scrapes_sluice(server, kinesis, stream):
    kinesis.put_records(StreamName=stream, Records=[
        {"Data": b"z" * 10, "PartitionKey": str(i)} for i in range(7)])
    prometheus = shutil.which("prometheus")
    assert prometheus, "prometheus (Debian package) is not installed: run scripts/setup.sh"
    work = tempfile.mkdtemp(prefix="sluice-prom-")
    port = free_port()
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                "  - job_name: sluice\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % server.port)
    log = open(os.path.join(work, "log"), "wb")
    proc = subprocess.Popen([prometheus, "--config.file", os.path.join(work, "prometheus.yml"),
                             "--storage.tsdb.path", os.path.join(work, "data"),
                             "--web.listen-address", "127.0.0.1:%d" % port],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        query = 'sluice_kinesis_incoming_records_total{stream_name="%s"}' % stream
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": query}))
        result = {}

        def answered():
            assert proc.poll() is None, open(os.path.join(work, "log")).read()
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    body = json.load(resp)
            except OSError:
                return False
            result["data"] = body["data"]["result"]
            return bool(result["data"])

        wait_until(answered, timeout=60, interval=0.2, what="prometheus to scrape sluice")
        series = result["data"][0]
        assert series["metric"]["job"] == "sluice"
        assert series["metric"]["stream_name"] == stream
        assert float(series["value"][1]) == 7
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def test_subscribe_to_shard_metrics(server, kinesis, stream):
    from helpers import stream_arn, wait_until as wait
    arn = kinesis.register_stream_consumer(StreamARN=stream_arn(stream),
                                           ConsumerName="metrics")["Consumer"]["ConsumerARN"]
    wait(lambda: kinesis.describe_stream_consumer(ConsumerARN=arn)["ConsumerDescription"]
         ["ConsumerStatus"] == "ACTIVE", what="consumer ACTIVE")
    for i in range(4):
        kinesis.put_record(StreamName=stream, Data=b"e" * (10 + i), PartitionKey="a")
    shard = list_all_shards(kinesis, stream)[0]["ShardId"]
    resp = client_for(server, read_timeout=20).subscribe_to_shard(
        ConsumerARN=arn, ShardId=shard, StartingPosition={"Type": "TRIM_HORIZON"})
    events = resp["EventStream"]
    got = 0
    try:
        for event in events:
            got += len(event["SubscribeToShardEvent"]["Records"])
            if got >= 4:
                break
    finally:
        events.close()
    lab = {"stream_name": stream}

    def counted():
        text = scrape(server.port)
        return value(text, "sluice_kinesis_subscribe_to_shard_event_records_total", **lab) == 4
    wait(counted, what="SubscribeToShardEvent.Records on /metrics")
    text = scrape(server.port)
    assert value(text, "sluice_kinesis_subscribe_to_shard_success_total", **lab) == 1
    assert value(text, "sluice_kinesis_subscribe_to_shard_event_bytes_total", **lab) == 46
    assert value(text, "sluice_kinesis_subscribe_to_shard_event_success_total", **lab) >= 1
    # per consumer (ConsumerName, as AWS splits SubscribeToShardEvent.*)
    clab = dict(lab, consumer_name="metrics")
    assert value(text, "sluice_kinesis_consumer_event_records_total", **clab) == 4
    assert value(text, "sluice_kinesis_consumer_event_bytes_total", **clab) == 46
    assert value(text, "sluice_kinesis_consumer_behind_seconds", **clab) is not None
    # the stream was closed by the client: no subscription stays open
    wait(lambda: value(scrape(server.port), "sluice_kinesis_consumer_subscriptions", **clab) == 0,
         what="the closed subscription to leave the gauge")
    # a deregistered consumer's series leave /metrics (they stayed at 0 until a restart)
    kinesis.deregister_stream_consumer(ConsumerARN=arn)
    text = scrape(server.port)
    for name in ("sluice_kinesis_consumer_event_records_total",
                 "sluice_kinesis_consumer_event_bytes_total",
                 "sluice_kinesis_consumer_behind_seconds", "sluice_kinesis_consumer_subscriptions"):
        assert value(text, name, **clab) is None, name
    assert value(text, "sluice_kinesis_subscribe_to_shard_event_records_total", **lab) == 4


def test_read_throttling_is_counted_per_stream_and_shard(make_server):
    from botocore.exceptions import ClientError
    srv = make_server(throughput_limits="aws")
    client = client_for(srv)
    name = unique_name("rt")
    create_stream_and_wait(client, name, 1)
    shard = list_all_shards(client, name)[0]["ShardId"]
    client.enable_enhanced_monitoring(StreamName=name,
                                      ShardLevelMetrics=["ReadProvisionedThroughputExceeded"])
    it = client.get_shard_iterator(StreamName=name, ShardId=shard,
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    refused = 0
    for _ in range(12):  # 5 GetRecords calls per second per shard
        try:
            client.get_records(ShardIterator=it)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
            refused += 1
    assert refused >= 1
    text = scrape(srv.port)
    lab = {"stream_name": name}
    assert value(text, "sluice_kinesis_read_provisioned_throughput_exceeded_total", **lab) == refused
    assert value(text, "sluice_kinesis_shard_read_provisioned_throughput_exceeded_total",
                 shard_id=shard, **lab) == refused


def disk_usage(data_dir, name):
    """(segments, bytes) of a stream's logs, counted on the disk the way the metric documents."""
    segs = size = 0
    for stream_dir in (data_dir / "streams").iterdir():
        if not stream_dir.name.endswith("-" + name):
            continue
        for f in stream_dir.glob("*/*"):
            if f.suffix in (".log", ".idx"):
                segs += f.suffix == ".log"
                size += f.stat().st_size
    return segs, size


def test_segments_and_bytes_on_disk(make_server):
    srv = make_server(segment_bytes=1048576)
    client = client_for(srv)
    name, other = unique_name("seg"), unique_name("seg")
    create_stream_and_wait(client, name, 1)
    create_stream_and_wait(client, other, 1)
    # 1.8 MiB in rounds of 300 KiB: the first segment rolls beyond 1 MiB
    for i in range(6):
        client.put_records(StreamName=name, Records=[
            {"Data": bytes([i]) * (150 * 1024), "PartitionKey": "k%d" % j} for j in range(2)])
    client.put_record(StreamName=other, Data=b"x" * 100, PartitionKey="k")
    lab = {"stream_name": name, "account_id": "000000000000"}
    # the page and the disk agree once the last records' tail is written to its segment
    def agree():
        text = scrape(srv.port)
        on_disk = disk_usage(srv.data_dir, name)
        shown = (value(text, "sluice_storage_stream_segments", **lab),
                 value(text, "sluice_storage_stream_bytes", **lab))
        return text if shown == on_disk and on_disk == disk_usage(srv.data_dir, name) else None
    text = wait_until(agree, what="the page to show the stream's files")
    segs, size = disk_usage(srv.data_dir, name)
    assert segs >= 2 and size > 6 * 300 * 1024
    other_segs, other_size = disk_usage(srv.data_dir, other)
    assert value(text, "sluice_storage_stream_segments", stream_name=other) == other_segs == 1
    assert value(text, "sluice_storage_stream_bytes", stream_name=other) == other_size
    assert value(text, "sluice_storage_segments") >= segs + other_segs
    assert value(text, "sluice_storage_bytes") >= size + other_size
    # a deleted stream's series go away with its files
    client.delete_stream(StreamName=name)
    wait_until(lambda: value(scrape(srv.port), "sluice_storage_stream_segments", **lab) is None,
               what="the deleted stream's series to go")
    assert value(scrape(srv.port), "sluice_storage_stream_segments", stream_name=other) == 1
