"""The acceptance examples of Kinesis Data Analytics SQL (the spec's section 6, from AWS's
documentation) run end to end: applications made with boto3's `kinesisanalytics` and
`kinesisanalyticsv2` clients and with the AWS CLI v2 (`/usr/bin/aws kinesisanalytics`), records
put into real Sluice streams with boto3, and the rows read back from real output streams, exact.

The server runs with `--analytics-clock virtual`: a record's ROWTIME is the virtual clock's time
when the application reads it, and `POST /_sluice/analytics/clock` moves the clock only after every
running application read what its input holds, then closes the windows that end by the new time and
delivers their rows before it answers. So each example puts the rows of one instant, moves the clock
to the next instant, and finds the rows of the windows that closed in the output stream at once: no
sleeps, no real minutes. The clock only goes forward, so every test starts on a day of its own
after the clock's time (`Clock.fresh_day`)."""
import calendar
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from helpers import ACCESS_KEY, REGION, SECRET_KEY, SluiceServer, client_for, unique_name, \
    wait_until
from test_analytics_apps import ROLE, kda2_for, kda_for, read_all, stream

AWS_CLI = "/usr/bin/aws"
DAY_MS = 86_400_000


def ms(text):
    """'2018-11-01 01:00:20' (UTC) -> ms since the epoch."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return calendar.timegm(time.strptime(text, fmt)) * 1000


def ts(ms_value):
    """ms since the epoch -> the text Sluice writes a TIMESTAMP as ('2018-11-01 00:00:00.000')."""
    t = time.gmtime(ms_value // 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", t) + ".%03d" % (ms_value % 1000)


class Clock:
    def __init__(self, server):
        self.url = server.endpoint + "/_sluice/analytics/clock"

    def call(self, body=None):
        req = urllib.request.Request(self.url, data=None if body is None else body,
                                     method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def now(self):
        status, body = self.call()
        assert status == 200, body
        return body["now_ms"]

    def set(self, now_ms):
        status, body = self.call(json.dumps({"now_ms": now_ms}).encode())
        assert status == 200, body
        assert body == {"virtual": True, "now_ms": now_ms}

    def fresh_day(self, wanted="2018-11-01 00:00"):
        """Midnight of `wanted`'s day, or of the first day after the clock's time."""
        day = max(ms(wanted), (self.now() // DAY_MS + 1) * DAY_MS)
        self.set(day)
        return day


@pytest.fixture(scope="module")
def vserver():
    srv = SluiceServer(options={"analytics_clock": "virtual"})
    srv.start()
    yield srv
    crashed = srv.crashed()
    rc = srv.stop()
    assert not crashed and rc in (0, None), "server exited with %s:\n%s" % (rc, srv.stderr_tail())
    srv.cleanup()


def json_input(arn, columns, prefix="SOURCE_SQL_STREAM", v2=False):
    """An input of JSON records: columns [(name, type)] are the records' top-level members of the
    same name, [(name, type, path)] those at the JSONPath `path`."""
    return {
        "NamePrefix": prefix,
        "KinesisStreamsInput": {"ResourceARN": arn} if v2 else {"ResourceARN": arn,
                                                                "RoleARN": ROLE},
        "InputSchema": {
            "RecordFormat": {"RecordFormatType": "JSON",
                             "MappingParameters": {"JSONMappingParameters": {"RecordRowPath": "$"}}},
            "RecordEncoding": "UTF-8",
            "RecordColumns": [{"Name": c[0], "SqlType": c[1],
                               "Mapping": c[2] if len(c) > 2 else "$." + c[0]} for c in columns],
        },
    }


def stream_output(arn, name="DESTINATION_SQL_STREAM", fmt="JSON", v2=False):
    return {"Name": name,
            "KinesisStreamsOutput": {"ResourceARN": arn} if v2 else {"ResourceARN": arn,
                                                                     "RoleARN": ROLE},
            "DestinationSchema": {"RecordFormatType": fmt}}


def put_json(kinesis, name, rows):
    if rows:
        kinesis.put_records(StreamName=name, Records=[
            {"PartitionKey": "k", "Data": json.dumps(r).encode()} for r in rows])


def rows_of(kinesis, name):
    return [json.loads(r) for r in read_all(kinesis, name)]


def start_v1(kda, name, position="NOW"):
    detail = kda.describe_application(ApplicationName=name)["ApplicationDetail"]
    kda.start_application(ApplicationName=name, InputConfigurations=[{
        "Id": detail["InputDescriptions"][0]["InputId"],
        "InputStartingPositionConfiguration": {"InputStartingPosition": position}}])


def test_clock_route(vserver, make_server):
    clock = Clock(vserver)
    now = clock.now()
    status, body = clock.call(json.dumps({"now_ms": now + 1000}).encode())
    assert (status, body) == (200, {"virtual": True, "now_ms": now + 1000})
    status, body = clock.call(json.dumps({"now_ms": now}).encode())
    assert status == 400 and body["__type"] == "InvalidArgumentException"
    status, body = clock.call(b"{\"now\": 1}")
    assert status == 400 and body["__type"] == "InvalidArgumentException"
    assert clock.now() == now + 1000
    # the wall clock cannot be moved
    wall = Clock(make_server())
    status, body = wall.call()
    assert status == 200 and body["virtual"] is False
    assert abs(body["now_ms"] - time.time() * 1000) < 60_000
    status, body = wall.call(json.dumps({"now_ms": 5}).encode())
    assert status == 400 and body["__type"] == "UnsupportedOperationException"


# T1 and T2 (SQL reference, "Aggregate Functions"): WEATHERSTREAM, 18 rows over three days
WEATHER = [
    ("11-01 01:00", "Denver", 29), ("11-01 01:00", "Anchorage", 2), ("11-01 06:00", "Miami", 65),
    ("11-01 07:00", "Denver", 32), ("11-01 09:00", "Anchorage", 9), ("11-01 13:00", "Denver", 50),
    ("11-01 17:00", "Anchorage", 10), ("11-01 18:00", "Miami", 71), ("11-01 19:00", "Denver", 43),
    ("11-02 01:00", "Anchorage", 4), ("11-02 01:00", "Denver", 39), ("11-02 07:00", "Denver", 46),
    ("11-02 09:00", "Anchorage", 3), ("11-02 13:00", "Denver", 56), ("11-02 17:00", "Anchorage", 2),
    ("11-02 19:00", "Denver", 50), ("11-03 01:00", "Denver", 36), ("11-03 01:00", "Anchorage", 1),
]

WEATHER_CODE = """CREATE OR REPLACE STREAM WEATHERSTREAM (CITY VARCHAR(20), TEMP INTEGER);
CREATE OR REPLACE PUMP "WEATHER_PUMP" AS INSERT INTO WEATHERSTREAM
  SELECT STREAM CITY, TEMP FROM "SOURCE_SQL_STREAM_001";
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (FLOOR_DAY TIMESTAMP, MIN_TEMP INTEGER,
  MAX_TEMP INTEGER);
CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM FLOOR(WEATHERSTREAM.ROWTIME TO DAY) AS FLOOR_DAY, MIN(TEMP) AS MIN_TEMP,
    MAX(TEMP) AS MAX_TEMP
  FROM WEATHERSTREAM
  GROUP BY FLOOR(WEATHERSTREAM.ROWTIME TO DAY);
CREATE OR REPLACE STREAM "CITY_STREAM" (FLOOR_DAY TIMESTAMP, CITY VARCHAR(20), MIN_TEMP INTEGER,
  MAX_TEMP INTEGER, AVG_TEMP INTEGER);
CREATE OR REPLACE PUMP "CITY_PUMP" AS INSERT INTO "CITY_STREAM"
  SELECT STREAM FLOOR(WEATHERSTREAM.ROWTIME TO DAY) AS FLOOR_DAY, CITY, MIN(TEMP) AS MIN_TEMP,
    MAX(TEMP) AS MAX_TEMP, SUM(TEMP)/COUNT(TEMP) AS AVG_TEMP
  FROM WEATHERSTREAM
  GROUP BY FLOOR(WEATHERSTREAM.ROWTIME TO DAY), CITY;
"""


def feed(clock, kinesis, in_name, day0, timed_rows, to_row):
    """Puts the rows of each instant at that instant of the virtual clock (offsets from day0)."""
    for at in sorted({t for t, *_ in timed_rows}):
        clock.set(day0 + at)
        put_json(kinesis, in_name, [to_row(*rest) for t, *rest in timed_rows if t == at])


def weather_offsets(day0):
    first = ms("2018-11-01 00:00")
    return [(ms("2018-" + t) - first, city, temp) for t, city, temp in WEATHER]


def test_tumbling_daily_min_max_t1_t2(vserver):
    """T1, T2: daily MIN/MAX, and per city with the integer average, through the AWS CLI v2."""
    clock, kinesis = Clock(vserver), client_for(vserver)
    in_name, out_name, city_name = unique_name("wx"), unique_name("wxout"), unique_name("wxcity")
    in_arn, out_arn, city_arn = stream(kinesis, in_name), stream(kinesis, out_name), \
        stream(kinesis, city_name)
    day0 = clock.fresh_day("2018-11-01 00:00")
    name = unique_name("weather")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_DEFAULT_REGION=REGION, AWS_PAGER="")

    def cli(*args):
        out = subprocess.run([AWS_CLI, "kinesisanalytics", *args, "--endpoint-url",
                              vserver.endpoint, "--output", "json"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else {}

    cli("create-application", "--application-name", name, "--application-code", WEATHER_CODE,
        "--inputs", json.dumps([json_input(in_arn, [("CITY", "VARCHAR(20)"),
                                                    ("TEMP", "INTEGER")])]),
        "--outputs", json.dumps([stream_output(out_arn), stream_output(city_arn, "CITY_STREAM")]))
    detail = cli("describe-application", "--application-name", name)["ApplicationDetail"]
    cli("start-application", "--application-name", name, "--input-configurations",
        json.dumps([{"Id": detail["InputDescriptions"][0]["InputId"],
                     "InputStartingPositionConfiguration": {"InputStartingPosition": "NOW"}}]))
    feed(clock, kinesis, in_name, day0, weather_offsets(day0),
         lambda city, temp: {"CITY": city, "TEMP": temp})
    clock.set(day0 + DAY_MS * 2 + ms("1970-01-01 12:00"))  # 11-03 12:00: the 11-03 rows are read
    d = [ts(day0 + i * DAY_MS) for i in range(3)]
    assert rows_of(kinesis, out_name) == [
        {"FLOOR_DAY": d[0], "MIN_TEMP": 2, "MAX_TEMP": 71},
        {"FLOOR_DAY": d[1], "MIN_TEMP": 2, "MAX_TEMP": 56}]
    assert rows_of(kinesis, city_name) == [
        {"FLOOR_DAY": d[0], "CITY": "Anchorage", "MIN_TEMP": 2, "MAX_TEMP": 10, "AVG_TEMP": 7},
        {"FLOOR_DAY": d[0], "CITY": "Denver", "MIN_TEMP": 29, "MAX_TEMP": 50, "AVG_TEMP": 38},
        {"FLOOR_DAY": d[0], "CITY": "Miami", "MIN_TEMP": 65, "MAX_TEMP": 71, "AVG_TEMP": 68},
        {"FLOOR_DAY": d[1], "CITY": "Anchorage", "MIN_TEMP": 2, "MAX_TEMP": 4, "AVG_TEMP": 3},
        {"FLOOR_DAY": d[1], "CITY": "Denver", "MIN_TEMP": 39, "MAX_TEMP": 56, "AVG_TEMP": 47}]
    # no row for 11-03 until the clock reaches 11-04 00:00
    clock.set(day0 + DAY_MS * 3)
    assert rows_of(kinesis, out_name)[2:] == [{"FLOOR_DAY": d[2], "MIN_TEMP": 1, "MAX_TEMP": 36}]
    assert rows_of(kinesis, city_name)[5:] == [
        {"FLOOR_DAY": d[2], "CITY": "Anchorage", "MIN_TEMP": 1, "MAX_TEMP": 1, "AVG_TEMP": 1},
        {"FLOOR_DAY": d[2], "CITY": "Denver", "MIN_TEMP": 36, "MAX_TEMP": 36, "AVG_TEMP": 36}]
    cli("stop-application", "--application-name", name)


# ---- Firehose inputs and outputs ----

def fh_clients(server):
    import boto3
    from botocore.config import Config
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY,
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60)
    return (session.client("firehose", endpoint_url=server.endpoint, config=cfg),
            session.client("s3", endpoint_url=server.endpoint, config=cfg))


def delivery_stream(fh, s3, tag):
    """A DirectPut delivery stream into a bucket of its own, delivering at once."""
    bucket = unique_name(tag).lower().replace("_", "-")[-60:].strip("-")
    s3.create_bucket(Bucket=bucket)
    name = unique_name(tag)
    arn = fh.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::" + bucket,
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}})["DeliveryStreamARN"]
    return name, arn, bucket


def bucket_bytes(s3, bucket):
    """The objects of a bucket, concatenated in key order."""
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return b"".join(s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in sorted(keys))


def json_documents(data):
    """Concatenated JSON objects ({...}{...}, as an application writes JSON rows) -> a list."""
    text, out, at = data.decode(), [], 0
    decoder = json.JSONDecoder()
    while at < len(text):
        obj, at = decoder.raw_decode(text, at)
        out.append(obj)
    return out


FH_CODE = """CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), price DOUBLE);
CREATE OR REPLACE PUMP "FILTER_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker, price FROM "SOURCE_SQL_STREAM_001" WHERE price > 10;
CREATE OR REPLACE STREAM "COUNTS" (ticker VARCHAR(4), n INTEGER, total DOUBLE);
CREATE OR REPLACE PUMP "COUNT_PUMP" AS INSERT INTO "COUNTS"
  SELECT STREAM ticker, COUNT(*) AS n, SUM(price) AS total FROM "SOURCE_SQL_STREAM_001"
  GROUP BY ticker, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' MINUTE);
"""


def test_firehose_input_and_outputs(vserver):
    """An application (v2 API) reads what a delivery stream receives and writes its rows to two
    other delivery streams, whose S3 objects hold exactly the rows (CSV lines, JSON documents);
    the input's own delivery to S3 goes on; LAST_STOPPED_POINT reads what came while stopped."""
    clock, (fh, s3) = Clock(vserver), fh_clients(vserver)
    kda, kda1 = kda2_for(vserver), kda_for(vserver)
    in_name, in_arn, in_bucket = delivery_stream(fh, s3, "fhin")
    _, rows_arn, rows_bucket = delivery_stream(fh, s3, "fhrows")
    _, counts_arn, counts_bucket = delivery_stream(fh, s3, "fhcounts")
    day0 = clock.fresh_day()
    name = unique_name("fhapp")
    inp = json_input(in_arn, [("TICKER", "VARCHAR(4)", "$.ticker"),
                              ("PRICE", "DOUBLE", "$.price")], v2=True)
    del inp["KinesisStreamsInput"]
    inp["KinesisFirehoseInput"] = {"ResourceARN": in_arn}
    kda.create_application(
        ApplicationName=name, RuntimeEnvironment="SQL-1_0", ServiceExecutionRole=ROLE,
        ApplicationConfiguration={
            "ApplicationCodeConfiguration": {"CodeContent": {"TextContent": FH_CODE},
                                             "CodeContentType": "PLAINTEXT"},
            "SqlApplicationConfiguration": {
                "Inputs": [inp],
                "Outputs": [
                    {"Name": "DESTINATION_SQL_STREAM",
                     "KinesisFirehoseOutput": {"ResourceARN": rows_arn},
                     "DestinationSchema": {"RecordFormatType": "CSV"}},
                    {"Name": "COUNTS", "KinesisFirehoseOutput": {"ResourceARN": counts_arn},
                     "DestinationSchema": {"RecordFormatType": "JSON"}}]}})
    detail = kda1.describe_application(ApplicationName=name)["ApplicationDetail"]
    (desc,) = detail["InputDescriptions"]
    assert desc["KinesisFirehoseInputDescription"]["ResourceARN"] == in_arn
    assert [o["KinesisFirehoseOutputDescription"]["ResourceARN"]
            for o in detail["OutputDescriptions"]] == [rows_arn, counts_arn]
    # a delivery stream keeps no history to start from
    with pytest.raises(kda1.exceptions.InvalidArgumentException):
        start_v1(kda1, name, "TRIM_HORIZON")
    start_v1(kda1, name, "NOW")

    def put(rows):
        fh.put_record_batch(DeliveryStreamName=in_name, Records=[
            {"Data": json.dumps(r).encode()} for r in rows])

    clock.set(day0 + 10_000)
    put([{"ticker": "AMZN", "price": 12.5}, {"ticker": "MSFT", "price": 3.0},
         {"ticker": "AMZN", "price": 40.0}])
    clock.set(day0 + 30_000)
    put([{"ticker": "MSFT", "price": 11.0}])
    clock.set(day0 + 60_000)  # the minute [0, 60 s) closes
    wait_until(lambda: bucket_bytes(s3, counts_bucket).count(b"}") >= 2, timeout=30,
               what="the counts delivered to S3")
    assert sorted(json_documents(bucket_bytes(s3, counts_bucket)), key=lambda d: d["TICKER"]) == [
        {"TICKER": "AMZN", "N": 2, "TOTAL": 52.5}, {"TICKER": "MSFT", "N": 2, "TOTAL": 14.0}]
    wait_until(lambda: bucket_bytes(s3, rows_bucket).count(b"\n") >= 3, timeout=30,
               what="the filtered rows delivered to S3")
    assert sorted(bucket_bytes(s3, rows_bucket).decode().splitlines()) == \
        ["AMZN,12.5", "AMZN,40.0", "MSFT,11.0"]
    # the input delivery stream still delivers its records to its own bucket
    wait_until(lambda: bucket_bytes(s3, in_bucket).count(b"}") == 4, timeout=30,
               what="the input's own delivery")
    # stopped: records keep coming; LAST_STOPPED_POINT reads them, nothing twice
    kda1.stop_application(ApplicationName=name)
    put([{"ticker": "AMZN", "price": 99.0}])
    start_v1(kda1, name, "LAST_STOPPED_POINT")
    clock.set(day0 + 70_000)
    wait_until(lambda: bucket_bytes(s3, rows_bucket).count(b"\n") >= 4, timeout=30,
               what="the row put while stopped")
    assert sorted(bucket_bytes(s3, rows_bucket).decode().splitlines()) == \
        ["AMZN,12.5", "AMZN,40.0", "AMZN,99.0", "MSFT,11.0"]
    kda1.stop_application(ApplicationName=name)
