"""Conformance: the CloudWatch API subset (docs/observability.md, "CloudWatch API").

boto3 speaks AWS JSON 1.0 to CloudWatch; the AWS CLI v2 of Debian (/usr/bin/aws 2.9) speaks
Query (form-encoded, XML answers, member.N lists). Both read AWS/Kinesis numbers that equal what
the test did and what /metrics shows; PutMetricData's data come back with exact statistics,
through GetMetricStatistics, GetMetricData and ListMetrics, and survive a kill -9.
"""

import datetime
import json
import os
import subprocess

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import ACCESS_KEY, REGION, SECRET_KEY, client_for, create_stream_and_wait
from helpers import list_all_shards, read_shard, unique_name
from test_metrics import scrape, value

AWS = "/usr/bin/aws"
UTC = datetime.timezone.utc


def cw_client(server):
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                    region_name=REGION)
    return session.client("cloudwatch", endpoint_url=server.endpoint,
                          config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def window():
    now = datetime.datetime.now(UTC)
    return now - datetime.timedelta(minutes=10), now + datetime.timedelta(minutes=10)


def sums(cw, ns, name, dims, stat="Sum"):
    start, end = window()
    resp = cw.get_metric_statistics(Namespace=ns, MetricName=name, Dimensions=dims,
                                    StartTime=start, EndTime=end, Period=600,
                                    Statistics=[stat])
    return sum(p[stat] for p in resp["Datapoints"])


@pytest.fixture
def cli(server, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON", "SLUICE_"))}
    env.update({"HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": REGION,
                "AWS_CONFIG_FILE": str(tmp_path / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_PAGER": ""})

    def run(*args, srv=None):
        cmd = [AWS, "--endpoint-url", (srv or server).endpoint, "--output", "json", *args]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (cmd, proc.stdout, proc.stderr)
        return json.loads(proc.stdout) if proc.stdout.strip() else None
    return run


def test_kinesis_numbers_equal_what_was_done_and_the_metrics_page(server, kinesis, cli):
    name = unique_name("cw")
    create_stream_and_wait(kinesis, name, 2)
    sizes = [3 + (i * 53) % 700 for i in range(40)]
    resp = kinesis.put_records(StreamName=name, Records=[
        {"Data": b"d" * size, "PartitionKey": "p%d" % i} for i, size in enumerate(sizes)])
    assert resp["FailedRecordCount"] == 0
    kinesis.put_record(StreamName=name, Data=b"q" * 9, PartitionKey="one")
    for shard in list_all_shards(kinesis, name):
        read_shard(kinesis, name, shard["ShardId"])
    total = sum(sizes) + 9
    dims = [{"Name": "StreamName", "Value": name}]
    cw = cw_client(server)
    page = scrape(server.port)
    lab = {"stream_name": name}
    expected = {
        "IncomingBytes": total,
        "IncomingRecords": 41,
        "PutRecords.Bytes": sum(sizes),
        "PutRecords.SuccessfulRecords": 40,
        "PutRecord.Bytes": 9,
        "GetRecords.Bytes": total,
        "GetRecords.Records": 41,
    }
    for metric, want in expected.items():
        assert sums(cw, "AWS/Kinesis", metric, dims) == want, metric
    assert value(page, "sluice_kinesis_incoming_bytes_total", **lab) == total
    assert value(page, "sluice_kinesis_get_records_records_total", **lab) == 41
    # SampleCount is the number of calls, so Average is per call, as on CloudWatch
    assert sums(cw, "AWS/Kinesis", "PutRecords.SuccessfulRecords", dims, "SampleCount") == 1
    assert sums(cw, "AWS/Kinesis", "PutRecord.Success", dims, "Average") == 1
    # the AWS CLI v2 (Query protocol) reads the same numbers
    start, end = window()
    out = cli("cloudwatch", "get-metric-statistics", "--namespace", "AWS/Kinesis",
              "--metric-name", "IncomingBytes", "--dimensions", "Name=StreamName,Value=" + name,
              "--start-time", start.isoformat(), "--end-time", end.isoformat(),
              "--period", "600", "--statistics", "Sum", "SampleCount")
    assert out["Label"] == "IncomingBytes"
    assert sum(p["Sum"] for p in out["Datapoints"]) == total
    assert sum(p["SampleCount"] for p in out["Datapoints"]) == 2
    assert all(p["Unit"] == "Bytes" for p in out["Datapoints"])
    listed = cw.list_metrics(Namespace="AWS/Kinesis",
                             Dimensions=[{"Name": "StreamName", "Value": name}])["Metrics"]
    assert {m["MetricName"] for m in listed} >= set(expected)


def test_put_metric_data_comes_back_exactly(server, cli):
    cw = cw_client(server)
    ns = "App/" + unique_name("ns")
    dims = [{"Name": "Host", "Value": "h1"}, {"Name": "Az", "Value": "a"}]
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Dimensions": dims, "Value": 12.5, "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": dims, "Unit": "Milliseconds",
         "StatisticValues": {"SampleCount": 4, "Sum": 20, "Minimum": 1, "Maximum": 9}},
        {"MetricName": "Latency", "Dimensions": dims, "Unit": "Milliseconds",
         "Values": [2, 30], "Counts": [3, 1]},
    ])
    start, end = window()
    resp = cw.get_metric_statistics(Namespace=ns, MetricName="Latency",
                                    Dimensions=list(reversed(dims)), StartTime=start,
                                    EndTime=end, Period=1200,
                                    Statistics=["SampleCount", "Sum", "Minimum", "Maximum",
                                                "Average"])
    [p] = resp["Datapoints"]
    assert (p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"]) == (9, 68.5, 1, 30)
    assert p["Average"] == pytest.approx(68.5 / 9)
    assert p["Unit"] == "Milliseconds"
    # a different dimension set is another metric
    assert cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=dims[:1],
                                    StartTime=start, EndTime=end, Period=60,
                                    Statistics=["Sum"])["Datapoints"] == []
    data = cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[
        {"Id": "a", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Latency",
                                              "Dimensions": dims},
                                   "Period": 1200, "Stat": "Maximum"}},
        {"Id": "b", "Label": "count", "MetricStat": {
            "Metric": {"Namespace": ns, "MetricName": "Latency", "Dimensions": dims},
            "Period": 1200, "Stat": "SampleCount"}},
    ])["MetricDataResults"]
    assert [(r["Id"], r["Label"], r["Values"], r["StatusCode"]) for r in data] == [
        ("a", "Latency", [30], "Complete"), ("b", "count", [9], "Complete")]
    listed = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host"}])["Metrics"]
    assert listed == [{"Namespace": ns, "MetricName": "Latency",
                       "Dimensions": [{"Name": "Az", "Value": "a"}, {"Name": "Host", "Value": "h1"}]}]
    # the CLI (Query: MetricData.member.N.Dimensions.member.N...) puts and reads too
    cli("cloudwatch", "put-metric-data", "--namespace", ns, "--metric-name", "Jobs",
        "--dimensions", "Queue=q1", "--value", "7", "--unit", "Count")
    out = cli("cloudwatch", "list-metrics", "--namespace", ns, "--metric-name", "Jobs")
    assert out["Metrics"] == [{"Namespace": ns, "MetricName": "Jobs",
                               "Dimensions": [{"Name": "Queue", "Value": "q1"}]}]
    out = cli("cloudwatch", "get-metric-data", "--start-time", start.isoformat(), "--end-time",
              end.isoformat(), "--metric-data-queries", json.dumps([
                  {"Id": "j", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Jobs",
                                                        "Dimensions": [{"Name": "Queue",
                                                                        "Value": "q1"}]},
                                             "Period": 60, "Stat": "Sum"}}]))
    assert out["MetricDataResults"][0]["Values"] == [7.0]


def test_errors_have_cloudwatch_codes(server):
    cw = cw_client(server)
    start, end = window()
    with pytest.raises(ClientError) as e:
        cw.put_metric_data(Namespace="AWS/Kinesis", MetricData=[{"MetricName": "m", "Value": 1}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert e.value.response["Error"]["Message"] == \
        "The value AWS/ for parameter Namespace is invalid."
    with pytest.raises(ClientError) as e:
        cw.get_metric_statistics(Namespace="A", MetricName="m", StartTime=start, EndTime=end,
                                 Period=61, Statistics=["Sum"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        cw.put_metric_data(Namespace="A", MetricData=[
            {"MetricName": "m", "Value": 1, "StatisticValues": {
                "SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterCombination"


def test_data_survive_kill_9(make_server):
    srv = make_server()
    cw = cw_client(srv)
    kinesis = client_for(srv)
    name = unique_name("cwk")
    create_stream_and_wait(kinesis, name, 1)
    kinesis.put_record(StreamName=name, Data=b"12345678", PartitionKey="a")
    cw.put_metric_data(Namespace="Durable", MetricData=[
        {"MetricName": "m", "Value": v, "Unit": "Count"} for v in (1, 2, 3)])
    srv.restart(kill=True)
    cw = cw_client(srv)
    assert sums(cw, "Durable", "m", []) == 6
    assert sums(cw, "Durable", "m", [], "SampleCount") == 3
    assert cw.list_metrics(Namespace="Durable")["Metrics"][0]["MetricName"] == "m"
