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
from helpers import assert_error, list_all_shards, read_shard, unique_name
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


def minute_start(minutes_ago):
    now = datetime.datetime.now(UTC).replace(second=0, microsecond=0)
    return now - datetime.timedelta(minutes=minutes_ago)


def nearest_rank(values, p):
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil
    return ordered[int(rank) - 1]


def test_percentiles_within_one_percent(server, cli):
    cw = cw_client(server)
    ns = unique_name("Pct")
    t = minute_start(2) + datetime.timedelta(seconds=5)
    values = [1.5 ** (i % 37) + i for i in range(1000)]
    for k in range(0, 1000, 100):
        cw.put_metric_data(Namespace=ns, MetricData=[
            {"MetricName": "Lat", "Timestamp": t, "Values": values[k:k + 100]}])
    # a datum whose samples are unknown (StatisticValues, min != max): no percentiles
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Agg", "Timestamp": t,
         "StatisticValues": {"SampleCount": 3, "Sum": 6, "Minimum": 1, "Maximum": 3}}])
    start, end = window()
    stats = ["p0", "p10", "p50", "p90", "p99", "p99.9", "p100"]
    resp = cw.get_metric_statistics(Namespace=ns, MetricName="Lat", StartTime=start, EndTime=end,
                                     Period=600, Statistics=["SampleCount", "Maximum"],
                                     ExtendedStatistics=stats)
    [point] = resp["Datapoints"]
    assert point["SampleCount"] == 1000 and point["Maximum"] == max(values)
    got = point["ExtendedStatistics"]
    assert sorted(got) == sorted(stats)
    for name in stats:
        exact = nearest_rank(values, float(name[1:]))
        assert abs(got[name] - exact) <= 0.01 * exact, (name, got[name], exact)
    assert got["p0"] == min(values) and got["p100"] == max(values)
    # GetMetricData with a percentile statistic gives the same number
    data = cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[
        {"Id": "p", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Lat"},
                                   "Period": 600, "Stat": "p99"}}])
    assert data["MetricDataResults"][0]["Values"] == [got["p99"]]
    resp = cw.get_metric_statistics(Namespace=ns, MetricName="Agg", StartTime=start, EndTime=end,
                                    Period=600, Statistics=["Sum"], ExtendedStatistics=["p50"])
    assert resp["Datapoints"][0]["Sum"] == 6 and "ExtendedStatistics" not in resp["Datapoints"][0]
    # the AWS CLI v2 (Query: the map as entry/key/value) reads them too
    out = cli("cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "Lat",
              "--start-time", start.isoformat(), "--end-time", end.isoformat(), "--period", "600",
              "--extended-statistics", "p50", "p99")
    assert out["Datapoints"][0]["ExtendedStatistics"] == {"p50": got["p50"], "p99": got["p99"]}
    assert_error(lambda: cw.get_metric_statistics(
        Namespace=ns, MetricName="Lat", StartTime=start, EndTime=end, Period=60,
        ExtendedStatistics=["p101"]), "InvalidParameterValue",
        "The value p101 for parameter ExtendedStatistics is not supported.")


def test_metric_math(server):
    cw = cw_client(server)
    ns = unique_name("Math")
    t0 = minute_start(5)
    minutes = [t0 + datetime.timedelta(minutes=i) for i in range(4)]
    a = [10, 20, 30, 40]
    b = [1, 2, None, 4]  # b has no data in the third minute
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "A", "Timestamp": minutes[i], "Value": a[i]} for i in range(4)] + [
        {"MetricName": "B", "Timestamp": minutes[i], "Value": b[i]} for i in range(4)
        if b[i] is not None])
    start, end = t0, t0 + datetime.timedelta(minutes=4)

    def stat(id_, name, ret=True):
        return {"Id": id_, "ReturnData": ret, "MetricStat": {
            "Metric": {"Namespace": ns, "MetricName": name}, "Period": 60, "Stat": "Sum"}}

    def run(*exprs):
        queries = [stat("m1", "A", False), stat("m2", "B", False)] + [
            {"Id": "e%d" % i, "Expression": x} for i, x in enumerate(exprs)]
        resp = cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=queries,
                                  ScanBy="TimestampAscending")
        out = {}
        for r in resp["MetricDataResults"]:
            out.setdefault(r["Id"], []).append(
                [(ts.astimezone(UTC), v) for ts, v in zip(r["Timestamps"], r["Values"])])
        return [out.get("e%d" % i) for i in range(len(exprs))]

    def series(values):
        return [(m, v) for m, v in zip(minutes, values) if v is not None]

    res = run("m1 + m2", "m1 / m2 * 100", "SUM(METRICS())", "AVG([m1, m2])", "MAX(m1)",
              "RATE(m1)", "FILL(m2, 0)", "IF(m1 > 15, m1, 0)", "e0 * 2", "-m2 ^ 2",
              "METRICS() * 2", "FILL(m2, LINEAR)", "FILL(m2, REPEAT)", "m1 >= 20 AND m2 < 4",
              "DIFF(m1)", "RUNNING_SUM(m2)", "PERIOD(m1)", "ABS(m2 - 3)")
    assert res[0] == [series([11, 22, None, 44])]
    assert res[1] == [series([1000, 1000, None, 1000])]
    assert res[2] == [series([11, 22, 30, 44])]
    assert res[3] == [series([5.5, 11, 30, 22])]
    assert res[4] == [series([40, 40, 40, 40])]  # a scalar, at every timestamp of the metrics
    assert res[5] == [series([None, 10 / 60, 10 / 60, 10 / 60])]
    assert res[6] == [series([1, 2, 0, 4])]
    assert res[7] == [series([0, 20, 30, 40])]
    assert res[8] == [series([22, 44, None, 88])]
    assert res[9] == [series([-1, -4, None, -16])]
    assert res[10] == [series([20, 40, 60, 80]), series([2, 4, None, 8])]
    assert res[11] == [series([1, 2, 3, 4])]
    assert res[12] == [series([1, 2, 2, 4])]
    assert res[13] == [series([0, 1, None, 0])]
    assert res[14] == [series([None, 10, 10, 10])]
    assert res[15] == [series([1, 3, None, 7])]
    assert res[16] == [series([60, 60, 60, 60])]
    assert res[17] == [series([2, 1, None, 1])]


def test_metric_math_errors(server):
    cw = cw_client(server)
    start, end = window()
    m = {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"},
                                    "Period": 60, "Stat": "Sum"}}

    def call(*queries):
        return lambda: cw.get_metric_data(StartTime=start, EndTime=end,
                                          MetricDataQueries=list(queries))
    assert_error(call(m, {"Id": "e1", "Expression": "m1 +"}), "ValidationError",
                 "Error in expression e1: unexpected end of the expression", status=400)
    assert_error(call(m, {"Id": "e1", "Expression": "m1 * x9"}), "ValidationError",
                 "Error in expression e1: unknown id or keyword x9")
    assert_error(call(m, {"Id": "e1", "Expression": "NOPE(m1)"}), "ValidationError",
                 "Error in expression e1: unknown function NOPE")
    assert_error(call(m, {"Id": "e1", "Expression": "e2"}, {"Id": "e2", "Expression": "e1 + 1"}),
                 "ValidationError", "Error in expression e1: the expression e1 refers to itself")
    assert_error(call(m, {"Id": "e1", "Expression": "(" * 40 + "1" + ")" * 40}), "ValidationError",
                 "Error in expression e1: the expression is nested deeper than 32 levels")
    assert_error(call({"Id": "m1"}), "ValidationError",
                 "The parameter MetricDataQueries.member.1.MetricStat is required.\n")
    bad = dict(m, MetricStat=dict(m["MetricStat"], Stat="p1000"))
    assert_error(call(bad), "ValidationError",
                 "The value for parameter MetricDataQueries.member.1.MetricStat.Stat is not a "
                 "valid statistic.")
    assert_error(call(m, dict(m)), "ValidationError",
                 "The value m1 for parameter MetricDataQueries.member.2.Id is used by more than "
                 "one query.")


def test_list_metrics_pages_and_recently_active(server, cli):
    cw = cw_client(server)
    ns = unique_name("Many")
    names = ["m%04d" % i for i in range(1100)]
    for k in range(0, len(names), 100):
        cw.put_metric_data(Namespace=ns, MetricData=[
            {"MetricName": n, "Value": 1.0} for n in names[k:k + 100]])
    seen, token, pages = [], None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        resp = cw.list_metrics(Namespace=ns, **kw)
        pages += 1
        seen += [m["MetricName"] for m in resp["Metrics"]]
        token = resp.get("NextToken")
        if not token:
            break
        assert len(resp["Metrics"]) == 500
    assert pages == 3 and sorted(seen) == names and len(set(seen)) == len(seen)
    # the CLI pages through NextToken by itself (Query protocol)
    out = cli("cloudwatch", "list-metrics", "--namespace", ns)
    assert len(out["Metrics"]) == 1100
    assert_error(lambda: cw.list_metrics(Namespace=ns, NextToken="zz"), "InvalidParameterValue",
                 "Request parameter NextToken is invalid")
    old = datetime.datetime.now(UTC) - datetime.timedelta(hours=5)
    cw.put_metric_data(Namespace=ns + "R", MetricData=[
        {"MetricName": "Old", "Value": 1.0, "Timestamp": old},
        {"MetricName": "New", "Value": 1.0}])
    recent = cw.list_metrics(Namespace=ns + "R", RecentlyActive="PT3H")["Metrics"]
    assert [m["MetricName"] for m in recent] == ["New"]
    assert len(cw.list_metrics(Namespace=ns + "R")["Metrics"]) == 2
