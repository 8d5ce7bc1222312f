"""The acceptance examples of Kinesis Data Analytics SQL (the spec's section 6, from AWS's
documentation) run end to end: applications made with boto3's `kinesisanalytics` and
`kinesisanalyticsv2` clients and with the AWS CLI v2 (`/usr/bin/aws kinesisanalytics`), records
put into real Sluice streams with boto3, and the rows read back from real output streams, exact.

The server runs with `--analytics-clock virtual`: a record's ROWTIME is the virtual clock's time
when the application reads it, and `POST /admin/analytics/clock` moves the clock only after every
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
from botocore.exceptions import ClientError

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
        self.url = server.endpoint + "/admin/analytics/clock"

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


def aws_cli(server, service, *args):
    """/usr/bin/aws (AWS CLI v2) `service` `args` against the server: the parsed JSON answer."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_DEFAULT_REGION=REGION, AWS_PAGER="")
    out = subprocess.run([AWS_CLI, service, *args, "--endpoint-url", server.endpoint, "--output",
                          "json"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else {}


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
CREATE OR REPLACE STREAM "SLIDING" (ROW_TIME TIMESTAMP, WMIN_TEMP INTEGER, WMAX_TEMP INTEGER);
CREATE OR REPLACE PUMP "SLIDING_PUMP" AS INSERT INTO "SLIDING"
  SELECT STREAM ROWTIME AS ROW_TIME, MIN(TEMP) OVER W1 AS WMIN_TEMP, MAX(TEMP) OVER W1 AS WMAX_TEMP
  FROM WEATHERSTREAM
  WINDOW W1 AS (RANGE INTERVAL '1' DAY PRECEDING);
"""


def feed(clock, kinesis, in_name, day0, timed_rows, to_row):
    """Puts the rows of each instant at that instant of the virtual clock (offsets from day0)."""
    for at in sorted({t for t, *_ in timed_rows}):
        clock.set(day0 + at)
        put_json(kinesis, in_name, [to_row(*rest) for t, *rest in timed_rows if t == at])


def weather_offsets(day0):
    first = ms("2018-11-01 00:00")
    return [(ms("2018-" + t) - first, city, temp) for t, city, temp in WEATHER]


def test_tumbling_and_sliding_t1_t2_t3(vserver):
    """T1, T2: daily MIN/MAX, and per city with the integer average; T3: MIN/MAX over a sliding
    day, one row per input row (the lower bound inclusive). Through the AWS CLI v2."""
    clock, kinesis = Clock(vserver), client_for(vserver)
    in_name, out_name, city_name = unique_name("wx"), unique_name("wxout"), unique_name("wxcity")
    slide_name = unique_name("wxslide")
    in_arn, out_arn, city_arn = stream(kinesis, in_name), stream(kinesis, out_name), \
        stream(kinesis, city_name)
    slide_arn = stream(kinesis, slide_name)
    day0 = clock.fresh_day("2018-11-01 00:00")
    name = unique_name("weather")

    def cli(*args):
        return aws_cli(vserver, "kinesisanalytics", *args)

    cli("create-application", "--application-name", name, "--application-code", WEATHER_CODE,
        "--inputs", json.dumps([json_input(in_arn, [("CITY", "VARCHAR(20)"),
                                                    ("TEMP", "INTEGER")])]),
        "--outputs", json.dumps([stream_output(out_arn), stream_output(city_arn, "CITY_STREAM"),
                                 stream_output(slide_arn, "SLIDING")]))
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
    # T3: the first nine rows as the documentation lists them, the rest with an inclusive bound
    sliding = [(29, 29), (2, 29), (2, 65), (2, 65), (2, 65), (2, 65), (2, 65), (2, 71), (2, 71),
               (2, 71), (2, 71), (4, 71), (3, 71), (3, 71), (2, 71), (2, 56), (2, 56), (1, 56)]
    assert rows_of(kinesis, slide_name) == [
        {"ROW_TIME": ts(day0 + t), "WMIN_TEMP": lo, "WMAX_TEMP": hi}
        for (t, _, _), (lo, hi) in zip(weather_offsets(day0), sliding)]
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


# ---- the other examples: one helper makes the streams and the application ----

class App:
    """An application over a fresh input stream with one output stream per in-application
    stream in `outputs` (JSON rows), made with boto3's v1 or v2 client (api "v1", "v2") or with
    the AWS CLI v2's `kinesisanalyticsv2` (api "cli-v2"), and started at NOW."""

    def __init__(self, server, code, columns, outputs=("DESTINATION_SQL_STREAM",), api="v1",
                 reference=None):
        self.kinesis = client_for(server)
        self.kda = kda_for(server) if api == "v1" else kda2_for(server)
        self.kda1 = kda_for(server)
        self.in_name = unique_name("in")
        in_arn = stream(self.kinesis, self.in_name)
        self.out = {}
        outs = []
        for o in outputs:
            self.out[o] = unique_name("out")
            outs.append(stream_output(stream(self.kinesis, self.out[o]), o, v2=api != "v1"))
        self.name = unique_name("app")
        inp = json_input(in_arn, columns, v2=api != "v1")
        if api == "cli-v2":
            self.create_with_cli(server, code, inp, outs)
        elif api == "v1":
            self.kda.create_application(ApplicationName=self.name, ApplicationCode=code,
                                        Inputs=[inp], Outputs=outs)
            if reference:
                self.kda.add_application_reference_data_source(
                    ApplicationName=self.name, CurrentApplicationVersionId=1,
                    ReferenceDataSource=reference)
            start_v1(self.kda, self.name)
        else:
            sql = {"Inputs": [inp], "Outputs": outs}
            if reference:
                sql["ReferenceDataSources"] = [reference]
            self.kda.create_application(
                ApplicationName=self.name, RuntimeEnvironment="SQL-1_0", ServiceExecutionRole=ROLE,
                ApplicationConfiguration={
                    "ApplicationCodeConfiguration": {"CodeContent": {"TextContent": code},
                                                     "CodeContentType": "PLAINTEXT"},
                    "SqlApplicationConfiguration": sql})
            input_id = self.kda.describe_application(ApplicationName=self.name)[
                "ApplicationDetail"]["ApplicationConfigurationDescription"][
                "SqlApplicationConfigurationDescription"]["InputDescriptions"][0]["InputId"]
            self.kda.start_application(ApplicationName=self.name, RunConfiguration={
                "SqlRunConfigurations": [{"InputId": input_id, "InputStartingPositionConfiguration": {
                    "InputStartingPosition": "NOW"}}]})

    def create_with_cli(self, server, code, inp, outs):
        def cli(*args):
            return aws_cli(server, "kinesisanalyticsv2", *args)

        cli("create-application", "--application-name", self.name, "--runtime-environment",
            "SQL-1_0", "--service-execution-role", ROLE, "--application-configuration",
            json.dumps({"ApplicationCodeConfiguration": {
                "CodeContent": {"TextContent": code}, "CodeContentType": "PLAINTEXT"},
                "SqlApplicationConfiguration": {"Inputs": [inp], "Outputs": outs}}))
        detail = cli("describe-application", "--application-name", self.name)["ApplicationDetail"]
        assert detail["RuntimeEnvironment"] == "SQL-1_0"
        input_id = detail["ApplicationConfigurationDescription"][
            "SqlApplicationConfigurationDescription"]["InputDescriptions"][0]["InputId"]
        cli("start-application", "--application-name", self.name, "--run-configuration",
            json.dumps({"SqlRunConfigurations": [{
                "InputId": input_id,
                "InputStartingPositionConfiguration": {"InputStartingPosition": "NOW"}}]}))

    def put(self, rows):
        put_json(self.kinesis, self.in_name, rows)

    def rows(self, output="DESTINATION_SQL_STREAM"):
        return rows_of(self.kinesis, self.out[output])

    def stop(self):
        self.kda1.stop_application(ApplicationName=self.name)


STAGGER_COLUMNS = [("EVENT_TIME", "TIMESTAMP"), ("TICKER_SYMBOL", "VARCHAR(4)")]
STAGGER_ROWS = [("11:00:20", "11:00:10"), ("11:00:30", "11:00:20"), ("11:01:05", "11:00:55"),
                ("11:01:15", "11:01:05")]

# ROWTIME is not a column of a stream: the TIMED pumps copy each result with its ROWTIME
STAGGER_CODE = """CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (EVENT_TIME TIMESTAMP,
  TICKER_SYMBOL VARCHAR(4), TICKER_COUNT INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM FLOOR(EVENT_TIME TO MINUTE), TICKER_SYMBOL, COUNT(TICKER_SYMBOL) AS ticker_count
  FROM "SOURCE_SQL_STREAM_001"
  WINDOWED BY STAGGER (PARTITION BY FLOOR(EVENT_TIME TO MINUTE), TICKER_SYMBOL
    RANGE INTERVAL '1' MINUTE);
CREATE OR REPLACE STREAM "TUMBLING" (TICKER_SYMBOL VARCHAR(4), EVENT_MINUTE TIMESTAMP,
  TICKER_COUNT INTEGER);
CREATE OR REPLACE PUMP "TUMBLING_PUMP" AS INSERT INTO "TUMBLING"
  SELECT STREAM TICKER_SYMBOL, FLOOR(EVENT_TIME TO MINUTE), COUNT(TICKER_SYMBOL)
  FROM "SOURCE_SQL_STREAM_001"
  GROUP BY TICKER_SYMBOL, FLOOR(EVENT_TIME TO MINUTE),
    STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' MINUTE);
CREATE OR REPLACE STREAM "TIMED" (ROW_TIME TIMESTAMP, EVENT_TIME TIMESTAMP, N INTEGER);
CREATE OR REPLACE PUMP "TIMED_PUMP" AS INSERT INTO "TIMED"
  SELECT STREAM "DESTINATION_SQL_STREAM".ROWTIME AS ROW_TIME, EVENT_TIME, TICKER_COUNT
  FROM "DESTINATION_SQL_STREAM";
CREATE OR REPLACE STREAM "TIMED_TUMBLING" (ROW_TIME TIMESTAMP, EVENT_MINUTE TIMESTAMP, N INTEGER);
CREATE OR REPLACE PUMP "TIMED_TUMBLING_PUMP" AS INSERT INTO "TIMED_TUMBLING"
  SELECT STREAM "TUMBLING".ROWTIME AS ROW_TIME, EVENT_MINUTE, TICKER_COUNT FROM "TUMBLING";
"""


def test_stagger_and_tumbling_by_event_time_t4_t5(vserver):
    """T4 (stagger window per event minute and ticker, opened by its first row) and T5 (the same
    rows, tumbling by ROWTIME with an event-time key), through boto3's kinesisanalyticsv2."""
    clock = Clock(vserver)
    day = clock.fresh_day()
    app = App(vserver, STAGGER_CODE, STAGGER_COLUMNS, api="v2",
              outputs=("DESTINATION_SQL_STREAM", "TIMED", "TIMED_TUMBLING"))
    at = lambda hms: day + ms("1970-01-01 " + hms)  # noqa: E731
    for rowtime, event in STAGGER_ROWS:
        clock.set(at(rowtime))
        app.put([{"EVENT_TIME": ts(at(event))[:19], "TICKER_SYMBOL": "AMZN"}])
    clock.set(at("11:01:19"))
    assert app.rows() == []  # the first stagger window closes at 11:01:20
    clock.set(at("11:01:20"))
    assert app.rows() == [{"EVENT_TIME": ts(at("11:00:00")), "TICKER_SYMBOL": "AMZN",
                           "TICKER_COUNT": 3}]
    assert app.rows("TIMED") == [{"ROW_TIME": ts(at("11:01:20")), "EVENT_TIME": ts(at("11:00:00")),
                                  "N": 3}]
    clock.set(at("11:02:15"))
    assert app.rows("TIMED")[1:] == [{"ROW_TIME": ts(at("11:02:15")),
                                      "EVENT_TIME": ts(at("11:01:00")), "N": 1}]
    # T5: the minute [11:00, 11:01) of ROWTIME saw two rows of event minute 11:00, the next minute
    # one of each
    assert app.rows("TIMED_TUMBLING") == [
        {"ROW_TIME": ts(at("11:01:00")), "EVENT_MINUTE": ts(at("11:00:00")), "N": 2},
        {"ROW_TIME": ts(at("11:02:00")), "EVENT_MINUTE": ts(at("11:00:00")), "N": 1},
        {"ROW_TIME": ts(at("11:02:00")), "EVENT_MINUTE": ts(at("11:01:00")), "N": 1}]
    app.stop()


ALERT_COLUMNS = [("TICKER_SYMBOL", "VARCHAR(4)"), ("SECTOR", "VARCHAR(16)"), ("CHANGE", "REAL"),
                 ("PRICE", "REAL")]

ALERT_CODE = """CREATE OR REPLACE STREAM "CHANGE_STREAM" (ticker_symbol VARCHAR(4),
  sector VARCHAR(16), change REAL, price REAL);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "CHANGE_STREAM"
  SELECT STREAM ticker_symbol, sector, change, price FROM "SOURCE_SQL_STREAM_001"
  WHERE (ABS(Change / (Price - Change)) * 100) > 1;
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker_symbol VARCHAR(4), change REAL,
  trigger_count INTEGER);
CREATE OR REPLACE PUMP trigger_count_pump AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker_symbol, change, trigger_count
  FROM (SELECT STREAM ticker_symbol, change, COUNT(*) OVER W1 as trigger_count
        FROM "CHANGE_STREAM"
        WINDOW W1 AS (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE PRECEDING))
  WHERE trigger_count >= 1;
"""


def test_simple_and_throttled_alerts_t7_t8(vserver):
    """T7: a continuous filter passes the rows whose change is over 1 % (at once, no window);
    T8: a sub-select over a 1-minute sliding window counts the alerts per ticker."""
    clock = Clock(vserver)
    day = clock.fresh_day()
    app = App(vserver, ALERT_CODE, ALERT_COLUMNS, outputs=("CHANGE_STREAM",
                                                            "DESTINATION_SQL_STREAM"))
    at = lambda hms: day + ms("1970-01-01 " + hms)  # noqa: E731
    for t, row in [("10:00:00", ("AAA", "TECH", 1.02, 101.02)),   # 1.02 %: an alert
                   ("10:00:10", ("BBB", "TECH", 0.99, 100.99)),   # 0.99 %: none
                   ("10:00:20", ("AAA", "TECH", -2, 98)),         # 2 %
                   ("10:01:30", ("AAA", "TECH", 5, 105))]:        # 5 %, the others a minute old
        clock.set(at(t))
        app.put([dict(zip(("TICKER_SYMBOL", "SECTOR", "CHANGE", "PRICE"), row))])
    clock.set(at("10:01:31"))
    assert app.rows("CHANGE_STREAM") == [
        {"TICKER_SYMBOL": "AAA", "SECTOR": "TECH", "CHANGE": 1.02, "PRICE": 101.02},
        {"TICKER_SYMBOL": "AAA", "SECTOR": "TECH", "CHANGE": -2.0, "PRICE": 98.0},
        {"TICKER_SYMBOL": "AAA", "SECTOR": "TECH", "CHANGE": 5.0, "PRICE": 105.0}]
    assert app.rows() == [{"TICKER_SYMBOL": "AAA", "CHANGE": 1.02, "TRIGGER_COUNT": 1},
                          {"TICKER_SYMBOL": "AAA", "CHANGE": -2.0, "TRIGGER_COUNT": 2},
                          {"TICKER_SYMBOL": "AAA", "CHANGE": 5.0, "TRIGGER_COUNT": 1}]
    app.stop()


TWO_TYPES_COLUMNS = [("RecordType", "VARCHAR(10)"), ("Oprice", "INTEGER"), ("Otype", "VARCHAR(4)"),
                     ("Oid", "INTEGER"), ("Oticker", "VARCHAR(4)"), ("Tid", "INTEGER"),
                     ("Toid", "INTEGER"), ("Tprice", "INTEGER"), ("Tticker", "VARCHAR(4)")]

TWO_TYPES_CODE = """CREATE OR REPLACE STREAM "Order_Stream" ("order_id" integer,
  "order_type" varchar(10), "ticker" varchar(4), "order_price" DOUBLE, "record_type" varchar(10));
CREATE OR REPLACE PUMP "Order_Pump" AS INSERT INTO "Order_Stream"
  SELECT STREAM "Oid", "Otype", "Oticker", "Oprice", "RecordType"
  FROM "SOURCE_SQL_STREAM_001" WHERE "RecordType" = 'Order';
CREATE OR REPLACE STREAM "Trade_Stream" ("trade_id" integer, "order_id" integer,
  "trade_price" DOUBLE, "ticker" varchar(4), "record_type" varchar(10));
CREATE OR REPLACE PUMP "Trade_Pump" AS INSERT INTO "Trade_Stream"
  SELECT STREAM "Tid", "Toid", "Tprice", "Tticker", "RecordType"
  FROM "SOURCE_SQL_STREAM_001" WHERE "RecordType" = 'Trade';
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("ticker" varchar(4), "trade_count" integer);
CREATE OR REPLACE PUMP "Output_Pump" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "ticker", count(*) as trade_count FROM "Trade_Stream"
  GROUP BY "ticker", FLOOR("Trade_Stream".ROWTIME TO MINUTE);
"""


def test_two_record_types_t9(vserver):
    """T9: one source schema holds both record types (missing members NULL); pumps split them by
    RecordType; trades are counted per ticker per minute."""
    clock = Clock(vserver)
    day = clock.fresh_day()
    app = App(vserver, TWO_TYPES_CODE, TWO_TYPES_COLUMNS,
              outputs=("Order_Stream", "DESTINATION_SQL_STREAM"))

    def order(oid, ticker, price):
        return {"RecordType": "Order", "Oprice": price, "Otype": "Sell", "Oid": oid,
                "Oticker": ticker}

    def trade(tid, oid, ticker, price):
        return {"RecordType": "Trade", "Tid": tid, "Toid": oid, "Tprice": price, "Tticker": ticker}

    clock.set(day + 10_000)
    app.put([order(3811, "AAAA", 9047), trade(1, 3812, "BBBB", 2089),
             trade(2, 3811, "AAAA", 9047), order(3812, "BBBB", 2089)])
    clock.set(day + 40_000)
    app.put([trade(3, 3813, "BBBB", 2090)])
    clock.set(day + 70_000)
    app.put([trade(4, 3814, "BBBB", 2091)])
    clock.set(day + 120_000)
    assert app.rows("Order_Stream") == [
        {"order_id": 3811, "order_type": "Sell", "ticker": "AAAA", "order_price": 9047.0,
         "record_type": "Order"},
        {"order_id": 3812, "order_type": "Sell", "ticker": "BBBB", "order_price": 2089.0,
         "record_type": "Order"}]
    assert app.rows() == [{"ticker": "AAAA", "trade_count": 1}, {"ticker": "BBBB", "trade_count": 2},
                          {"ticker": "BBBB", "trade_count": 1}]
    app.stop()


REFERENCE_CODE = """CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker_symbol VARCHAR(4),
  "Company" varchar(20), sector VARCHAR(12), change DOUBLE, price DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker_symbol, "c"."Company", sector, change, price
  FROM "SOURCE_SQL_STREAM_001" LEFT JOIN "CompanyName" as "c"
  ON "SOURCE_SQL_STREAM_001".ticker_symbol = "c"."Ticker";
"""


def test_reference_data_t10(vserver):
    """T10: the stream LEFT JOINs TickerReference.csv from the object store (unknown tickers get
    NULL); UpdateApplication with another object changes the rows from then on."""
    import boto3
    clock = Clock(vserver)
    day = clock.fresh_day()
    s3 = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                               region_name=REGION).client("s3", endpoint_url=vserver.endpoint)
    bucket = unique_name("tickers").lower().replace("_", "-")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="TickerReference.csv",
                  Body=b"AMZN,Amazon\nASD,SomeCompanyA\nMMB,SomeCompanyB\nWAS,SomeCompanyC\n")
    s3.put_object(Bucket=bucket, Key="TickerReference2.csv", Body=b"AMZN,Amazon.com\nQXL,Q\n")
    reference = {
        "TableName": "CompanyName",
        "S3ReferenceDataSource": {"BucketARN": "arn:aws:s3:::" + bucket,
                                  "FileKey": "TickerReference.csv"},
        "ReferenceSchema": {
            "RecordFormat": {"RecordFormatType": "CSV", "MappingParameters": {
                "CSVMappingParameters": {"RecordRowDelimiter": "\n",
                                         "RecordColumnDelimiter": ","}}},
            "RecordEncoding": "UTF-8",
            "RecordColumns": [{"Name": "Ticker", "SqlType": "VARCHAR(4)"},
                              {"Name": "Company", "SqlType": "VARCHAR(20)"}]}}
    app = App(vserver, REFERENCE_CODE, ALERT_COLUMNS, api="v2", reference=reference)
    quote = lambda t, c, p: {"TICKER_SYMBOL": t, "SECTOR": "TECH", "CHANGE": c,  # noqa: E731
                             "PRICE": p}
    clock.set(day + 1000)
    app.put([quote("AMZN", 1.5, 100.25), quote("QXL", -0.5, 9.5), quote("WAS", 0.0, 1.0)])
    clock.set(day + 2000)
    assert app.rows() == [
        {"TICKER_SYMBOL": "AMZN", "Company": "Amazon", "SECTOR": "TECH", "CHANGE": 1.5,
         "PRICE": 100.25},
        {"TICKER_SYMBOL": "QXL", "Company": None, "SECTOR": "TECH", "CHANGE": -0.5, "PRICE": 9.5},
        {"TICKER_SYMBOL": "WAS", "Company": "SomeCompanyC", "SECTOR": "TECH", "CHANGE": 0.0,
         "PRICE": 1.0}]
    detail = app.kda.describe_application(ApplicationName=app.name)["ApplicationDetail"]
    sql = detail["ApplicationConfigurationDescription"]["SqlApplicationConfigurationDescription"]
    ref_id = sql["ReferenceDataSourceDescriptions"][0]["ReferenceId"]
    app.kda.update_application(
        ApplicationName=app.name, CurrentApplicationVersionId=detail["ApplicationVersionId"],
        ApplicationConfigurationUpdate={"SqlApplicationConfigurationUpdate": {
            "ReferenceDataSourceUpdates": [{
                "ReferenceId": ref_id,
                "S3ReferenceDataSourceUpdate": {"FileKeyUpdate": "TickerReference2.csv"}}]}})
    clock.set(day + 3000)
    app.put([quote("AMZN", 1.0, 101.25), quote("QXL", 0.5, 10.0), quote("WAS", 0.0, 1.0)])
    clock.set(day + 4000)
    assert [(r["TICKER_SYMBOL"], r["Company"]) for r in app.rows()[3:]] == [
        ("AMZN", "Amazon.com"), ("QXL", "Q"), ("WAS", None)]
    app.stop()


LOG_LINE = ('203.0.113.24 - - [25/Mar/2018:15:25:37 -0700] "GET /index.php HTTP/1.1" 200 125 "-" '
            '"Mozilla/5.0 [en] Gecko/20100101 Firefox/52.0"')
W3C_LINE = ('192.168.254.30 - John [24/May/2004:22:01:02 -0700] "GET /icons/apache_pb.gif '
            'HTTP/1.1" 304 0')

STRING_COLUMNS = [("REFERRER", "VARCHAR(64)", "$.referrer"), ("LOGENTRY", "VARCHAR(256)", "$.log"),
                  ("W3C", "VARCHAR(256)", "$.w3c"), ("Col_A", "VARCHAR(16)"),
                  ("Col_B", "VARCHAR(16)"), ("Col_E_Unstructured", "VARCHAR(64)")]

STRING_CODE = r"""CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ingest_time TIMESTAMP,
  referrer VARCHAR(32), company VARCHAR(16), secure VARCHAR(32));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ROWTIME AS ingest_time, "REFERRER",
    SUBSTRING("REFERRER", 12, (POSITION('.com' IN "REFERRER") - POSITION('www.' IN "REFERRER") - 4)),
    REGEX_REPLACE("REFERRER", 'http://', 'https://', 1, 0)
  FROM "SOURCE_SQL_STREAM_001";
CREATE OR REPLACE STREAM "LOGS" (logentry VARCHAR(24), match1 VARCHAR(80), match2 VARCHAR(80),
  match3 VARCHAR(24), match4 VARCHAR(24), host VARCHAR(16), request VARCHAR(64), status INTEGER);
CREATE OR REPLACE PUMP "LOG_PUMP" AS INSERT INTO "LOGS"
  SELECT STREAM T.LOGENTRY, T.REC.COLUMN1, T.REC.COLUMN2, T.REC.COLUMN3, T.REC.COLUMN4,
    T.W.COLUMN1, T.W.COLUMN5, CAST(T.W.COLUMN6 AS INTEGER)
  FROM (SELECT STREAM LOGENTRY,
          REGEX_LOG_PARSE(LOGENTRY, '(\w.+) (\d.+) (\w.+) (\w.+)') AS REC,
          W3C_LOG_PARSE(W3C, 'COMMON') AS W
        FROM "SOURCE_SQL_STREAM_001") AS T;
CREATE OR REPLACE STREAM "SPLIT" ("column_A" VARCHAR(16), "column_B" VARCHAR(16),
  "COL_1" VARCHAR(16), "COL_2" VARCHAR(16), "COL_3" VARCHAR(16));
CREATE OR REPLACE PUMP "SECOND_STREAM_PUMP" AS INSERT INTO "SPLIT"
  SELECT STREAM t."Col_A", t."Col_B", t.r."COL_1", t.r."COL_2", t.r."COL_3"
  FROM (SELECT STREAM "Col_A", "Col_B",
          VARIABLE_COLUMN_LOG_PARSE("Col_E_Unstructured",
            'COL_1 TYPE VARCHAR(16), COL_2 TYPE VARCHAR(16), COL_3 TYPE VARCHAR(16)', ',') AS r
        FROM "SOURCE_SQL_STREAM_001") as t;
"""


def test_string_transformation_and_log_parsing_t11(vserver):
    """T11: the documentation's string examples (SUBSTRING/POSITION, REGEX_REPLACE) and its log
    parsers (REGEX_LOG_PARSE, W3C_LOG_PARSE 'COMMON', VARIABLE_COLUMN_LOG_PARSE) on real records;
    text is truncated to its column's length."""
    clock = Clock(vserver)
    day = clock.fresh_day()
    app = App(vserver, STRING_CODE, STRING_COLUMNS, outputs=("DESTINATION_SQL_STREAM", "LOGS",
                                                             "SPLIT"))
    clock.set(day + 5000)
    app.put([{"referrer": "http://www.amazon.com", "log": LOG_LINE, "w3c": W3C_LINE,
              "Col_A": "a", "Col_B": "b", "Col_E_Unstructured": "x,y,z"}])
    clock.set(day + 6000)
    assert app.rows() == [{"INGEST_TIME": ts(day + 5000), "REFERRER": "http://www.amazon.com",
                           "COMPANY": "amazon", "SECURE": "https://www.amazon.com"}]
    assert app.rows("LOGS") == [{
        "LOGENTRY": LOG_LINE[:24],
        "MATCH1": '203.0.113.24 - - [25/Mar/2018:15:25:37 -0700] "GET /index.php HTTP/1.1" 200',
        "MATCH2": '125 "-" "Mozilla/5.0 [en]', "MATCH3": "Gecko/20100101",
        "MATCH4": 'Firefox/52.0"', "HOST": "192.168.254.30",
        "REQUEST": "GET /icons/apache_pb.gif HTTP/1.1", "STATUS": 304}]
    assert app.rows("SPLIT") == [{"column_A": "a", "column_B": "b", "COL_1": "x", "COL_2": "y",
                                  "COL_3": "z"}]
    app.stop()


SYSLOG_LINE = "Mar 25 15:25:37 web-1 sshd[42]: Accepted publickey for ec2-user"

# The SQL reference's form for a log parser's fields: a field of the bracketed call
FIELD_CODE = r"""CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (logged TIMESTAMP,
  message VARCHAR(64), status VARCHAR(4), digits VARCHAR(8), host VARCHAR(16), second_col VARCHAR(8),
  third_col VARCHAR(8), fixed_n INTEGER, unmatched VARCHAR(8));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM (SYS_LOG_PARSE("SYSLOG")).COLUMN1, (SYS_LOG_PARSE("SYSLOG")).COLUMN2,
    (REGEX_LOG_PARSE("LOGENTRY", '.*" (\d+) (\d+) .*')).COLUMN1,
    (FAST_REGEX_LOG_PARSER("COL_E", '(\d+),(.*)')).COLUMN1,
    (W3C_LOG_PARSE("W3C", 'COMMON')).COLUMN1,
    (VARIABLE_COLUMN_LOG_PARSE("COL_E", 3, ',')).COLUMN2,
    (VARIABLE_COLUMN_LOG_PARSE("COL_E", 3, ',')).COLUMN3,
    (FIXED_COLUMN_LOG_PARSE("COL_E", 'N TYPE INTEGER START 0 FOR 2')).N,
    (REGEX_LOG_PARSE("COL_E", '(x+)')).COLUMN1
  FROM "SOURCE_SQL_STREAM_001";
"""


def test_log_parser_fields_of_a_bracketed_call(vserver):
    """(SYS_LOG_PARSE(x)).COLUMN2, as the SQL reference's examples write a log parser's fields,
    for each of the row-returning parsers: a line with fewer fields than the parser's columns
    gives NULL for the missing ones, a line that does not match gives NULL; CreateApplication
    refuses a field the row does not have (CodeValidationException with the planner's message)."""
    clock = Clock(vserver)
    day = clock.fresh_day()
    app = App(vserver, FIELD_CODE, [("SYSLOG", "VARCHAR(128)", "$.syslog"),
                                    ("LOGENTRY", "VARCHAR(256)", "$.log"),
                                    ("W3C", "VARCHAR(256)", "$.w3c"),
                                    ("COL_E", "VARCHAR(64)", "$.e")], api="v2")
    clock.set(day + 1000)
    app.put([{"syslog": SYSLOG_LINE, "log": LOG_LINE, "w3c": W3C_LINE, "e": "12,y"}])
    clock.set(day + 2000)
    assert app.rows() == [{
        "LOGGED": "1970-03-25 15:25:37.000",
        "MESSAGE": "web-1 sshd[42]: Accepted publickey for ec2-user", "STATUS": "200",
        "DIGITS": "12", "HOST": "192.168.254.30", "SECOND_COL": "y", "THIRD_COL": None,
        "FIXED_N": 12, "UNMATCHED": None}]
    app.stop()
    bad = FIELD_CODE.replace("(SYS_LOG_PARSE(\"SYSLOG\")).COLUMN2",
                             "(SYS_LOG_PARSE(\"SYSLOG\")).COLUMN3")
    assert bad != FIELD_CODE
    with pytest.raises(ClientError) as err:
        App(vserver, bad, [("SYSLOG", "VARCHAR(128)", "$.syslog"),
                           ("LOGENTRY", "VARCHAR(256)", "$.log"), ("W3C", "VARCHAR(256)", "$.w3c"),
                           ("COL_E", "VARCHAR(64)", "$.e")])
    assert err.value.response["Error"]["Code"] == "CodeValidationException"
    assert err.value.response["Error"]["Message"] == (
        "From line 5, column 52 to line 5, column 84: Unknown field 'COLUMN3'")


ERROR_CODE = """CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (qty INTEGER, ratio INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM qty, price / change FROM "SOURCE_SQL_STREAM_001";
"""


def test_error_stream_t14(vserver):
    """T14: a record whose value does not convert to its column's type (a) and a row whose
    evaluation fails (division by zero, b) go to error_stream, an output like any other, with
    AWS's columns; the other rows go on."""
    clock = Clock(vserver)
    day = clock.fresh_day()
    app = App(vserver, ERROR_CODE, [("QTY", "INTEGER", "$.qty"), ("PRICE", "INTEGER", "$.price"),
                                    ("CHANGE", "INTEGER", "$.change")],
              outputs=("DESTINATION_SQL_STREAM", "error_stream"))
    bad = json.dumps({"qty": "many", "price": 10, "change": 2}).encode()
    clock.set(day + 1000)
    app.kinesis.put_record(StreamName=app.in_name, PartitionKey="k", Data=bad)
    clock.set(day + 2000)
    app.put([{"qty": 1, "price": 10, "change": 0}, {"qty": 2, "price": 10, "change": 2}])
    clock.set(day + 3000)
    assert app.rows() == [{"QTY": 2, "RATIO": 5}]
    conversion, division = app.rows("error_stream")
    assert conversion == {
        "ERROR_TIME": ts(day + 1000), "ERROR_LEVEL": "ERROR", "ERROR_NAME": "Data conversion error",
        "MESSAGE": "Cannot convert 'many' to INTEGER for column 'QTY'",
        "DATA_ROWTIME": ts(day + 1000),
        "DATA_ROW": bad.hex(), "PUMP_NAME": None}
    assert division["ERROR_NAME"] == "Evaluation error"
    assert division["MESSAGE"] == "Division by zero"
    assert division["PUMP_NAME"] == "STREAM_PUMP"
    assert division["DATA_ROWTIME"] == ts(day + 2000)
    row = json.loads(bytes.fromhex(division["DATA_ROW"]))
    assert (row["QTY"], row["PRICE"], row["CHANGE"]) == (1, 10, 0)
    app.stop()


PARTIAL_CODE = """CREATE OR REPLACE STREAM "CALC_COUNT_SQL_STREAM" (TICKER VARCHAR(4),
  TRADETIME TIMESTAMP, TICKERCOUNT DOUBLE);
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (TICKER VARCHAR(4), TRADETIME TIMESTAMP,
  TICKERCOUNT DOUBLE);
CREATE PUMP "CALC_COUNT_SQL_PUMP_001" AS INSERT INTO "CALC_COUNT_SQL_STREAM"
  ("TICKER", "TRADETIME", "TICKERCOUNT")
  SELECT STREAM "TICKER_SYMBOL", FLOOR("EVENT_TIME" TO MINUTE) AS "TradeTime",
    COUNT(*) AS "TickerCount"
  FROM "SOURCE_SQL_STREAM_001"
  GROUP BY STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' MINUTE),
    FLOOR("EVENT_TIME" TO MINUTE), TICKER_SYMBOL;
CREATE PUMP "AGGREGATED_SQL_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  ("TICKER", "TRADETIME", "TICKERCOUNT")
  SELECT STREAM "TICKER", "TRADETIME", SUM("TICKERCOUNT") OVER W1 AS "TICKERCOUNT"
  FROM "CALC_COUNT_SQL_STREAM"
  WINDOW W1 AS (PARTITION BY "TRADETIME" RANGE INTERVAL '10' MINUTE PRECEDING);
"""


def test_partial_results(vserver):
    """Aggregating partial results (the two-window pattern): a ROWTIME window decides when
    counts per event minute are emitted, a late record makes a second, partial count for an
    old minute, and a sliding SUM over the partials per minute gives the running total."""
    clock = Clock(vserver)
    day = clock.fresh_day()
    app = App(vserver, PARTIAL_CODE, STAGGER_COLUMNS,
              outputs=("CALC_COUNT_SQL_STREAM", "DESTINATION_SQL_STREAM"))
    at = lambda hms: day + ms("1970-01-01 " + hms)  # noqa: E731
    ev = lambda hms: {"EVENT_TIME": ts(at(hms))[:19], "TICKER_SYMBOL": "AMZN"}  # noqa: E731
    clock.set(at("10:00:10"))
    app.put([ev("10:00:01"), ev("10:00:05")])
    clock.set(at("10:00:50"))
    app.put([ev("10:00:45")])
    clock.set(at("10:01:20"))
    app.put([ev("10:00:59"), ev("10:01:10")])  # one late for minute 10:00
    clock.set(at("10:02:00"))
    assert app.rows("CALC_COUNT_SQL_STREAM") == [
        {"TICKER": "AMZN", "TRADETIME": ts(at("10:00:00")), "TICKERCOUNT": 3.0},
        {"TICKER": "AMZN", "TRADETIME": ts(at("10:00:00")), "TICKERCOUNT": 1.0},
        {"TICKER": "AMZN", "TRADETIME": ts(at("10:01:00")), "TICKERCOUNT": 1.0}]
    assert app.rows() == [
        {"TICKER": "AMZN", "TRADETIME": ts(at("10:00:00")), "TICKERCOUNT": 3.0},
        {"TICKER": "AMZN", "TRADETIME": ts(at("10:00:00")), "TICKERCOUNT": 4.0},
        {"TICKER": "AMZN", "TRADETIME": ts(at("10:01:00")), "TICKERCOUNT": 1.0}]
    app.stop()


TOP_K_CODE = """CREATE OR REPLACE STREAM DESTINATION_SQL_STREAM (
  "TICKER_SYMBOL" VARCHAR(4), "MOST_FREQUENT_VALUES" BIGINT);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM * FROM TABLE (TOP_K_ITEMS_TUMBLING(
    CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"),
    'TICKER_SYMBOL', -- name of column in single quotes
    5, -- number of the most frequently occurring values
    60 -- tumbling window size in seconds
  ));
CREATE OR REPLACE STREAM DISTINCT_STREAM (NUMBER_OF_DISTINCT_ITEMS BIGINT);
CREATE OR REPLACE PUMP "DISTINCT_PUMP" AS INSERT INTO "DISTINCT_STREAM"
  SELECT STREAM NUMBER_OF_DISTINCT_ITEMS FROM TABLE(COUNT_DISTINCT_ITEMS_TUMBLING(
    CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 'TICKER_SYMBOL', 60));
"""


def test_top_k_and_distinct_count_t15(vserver):
    """T15: TOP_K_ITEMS_TUMBLING over five tickers of known frequencies and a rarer sixth in one
    60 s window (the five, most frequent first, at the window's end), and
    COUNT_DISTINCT_ITEMS_TUMBLING over the same rows (boto3's v2 client; a record a second)."""
    clock = Clock(vserver)
    day = clock.fresh_day()
    app = App(vserver, TOP_K_CODE, [("TICKER_SYMBOL", "VARCHAR(4)")], api="v2",
              outputs=("DESTINATION_SQL_STREAM", "DISTINCT_STREAM"))
    freq = [("AMZN", 11), ("AAPL", 9), ("MSFT", 7), ("GOOG", 5), ("TSLA", 3), ("IBM", 1)]
    left = dict(freq)
    order = []
    while any(left.values()):
        for t, _ in freq:
            if left[t]:
                left[t] -= 1
                order.append(t)
    for k, ticker in enumerate(order):  # 36 rows, one a second of the minute
        clock.set(day + k * 1000)
        app.put([{"TICKER_SYMBOL": ticker}])
    clock.set(day + 59_999)
    assert app.rows() == [] and app.rows("DISTINCT_STREAM") == []
    clock.set(day + 60_000)
    assert app.rows() == [{"TICKER_SYMBOL": t, "MOST_FREQUENT_VALUES": n} for t, n in freq[:5]]
    assert app.rows("DISTINCT_STREAM") == [{"NUMBER_OF_DISTINCT_ITEMS": 6}]
    app.stop()


def test_firehose_input_window_survives_kill_9(make_server):
    """A restart in the middle of a window (kill -9 of the server with an application RUNNING on
    a Firehose input): the open window's state and the delivery stream reader's position are
    saved together, so the window closes with the records read before and after the kill, each
    counted once."""
    srv = make_server(analytics_clock="virtual")
    clock, (fh, s3), kda = Clock(srv), fh_clients(srv), kda_for(srv)
    in_name, in_arn, _ = delivery_stream(fh, s3, "fhk9")
    kinesis = client_for(srv)
    out_name = unique_name("k9out")
    out_arn = stream(kinesis, out_name)
    inp = json_input(in_arn, [("TICKER", "VARCHAR(4)", "$.ticker"), ("PRICE", "DOUBLE", "$.price")])
    del inp["KinesisStreamsInput"]
    inp["KinesisFirehoseInput"] = {"ResourceARN": in_arn, "RoleARN": ROLE}
    name = unique_name("k9app")
    kda.create_application(ApplicationName=name, ApplicationCode=FH_CODE, Inputs=[inp],
                           Outputs=[stream_output(out_arn, "COUNTS")])
    day = ms("2018-11-01 00:00")
    clock.set(day)
    start_v1(kda, name, "NOW")

    def put(rows):
        fh.put_record_batch(DeliveryStreamName=in_name, Records=[
            {"Data": json.dumps({"ticker": t, "price": p}).encode()} for t, p in rows])

    clock.set(day + 5_000)
    put([("AMZN", 1.0), ("AMZN", 2.0), ("MSFT", 10.0)])
    clock.set(day + 10_000)  # read at 00:00:05; the window [00:00, 00:01) stays open
    state = "analytics.db.%s.state" % name
    wait_until(lambda: list(srv.data_dir.rglob(state)), timeout=15,
               what="the window state saved with the reader's position")
    pos = list(srv.data_dir.rglob(state))[0].with_suffix(".pos")
    wait_until(lambda: pos.exists() and pos.read_text().startswith("firehose "), timeout=15,
               what="the delivery stream position saved")
    srv.restart(kill=True)
    clock, (fh, s3), kinesis = Clock(srv), fh_clients(srv), client_for(srv)
    clock.set(day + 20_000)  # the virtual clock starts again at 0: back to where it was
    put([("AMZN", 4.0), ("GOOG", 7.0)])
    clock.set(day + 30_000)
    assert rows_of(kinesis, out_name) == []
    clock.set(day + 60_000)  # closes the window
    assert sorted((r["TICKER"], r["N"], r["TOTAL"]) for r in rows_of(kinesis, out_name)) == [
        ("AMZN", 3, 7.0), ("GOOG", 1, 7.0), ("MSFT", 1, 10.0)]


JOIN_CODE = """CREATE OR REPLACE STREAM ORDERS_STREAM ("orderid" INTEGER);
CREATE OR REPLACE PUMP "ORDERS_PUMP" AS INSERT INTO ORDERS_STREAM
  SELECT STREAM "orderid" FROM "SOURCE_SQL_STREAM_001" WHERE "orders" = 1;
CREATE OR REPLACE STREAM SHIPMENTS_STREAM ("orderid" INTEGER);
CREATE OR REPLACE PUMP "SHIPMENTS_PUMP" AS INSERT INTO SHIPMENTS_STREAM
  SELECT STREAM "orderid" FROM "SOURCE_SQL_STREAM_001" WHERE "shipments" = 2;
"""

JOIN_PUMP = """CREATE OR REPLACE STREAM "{name}" ("jointime" TIMESTAMP, "orderid" INTEGER,
  "shipmentrowtime" TIMESTAMP, "orderrowtime" TIMESTAMP);
CREATE OR REPLACE PUMP "{name}_PUMP" AS INSERT INTO "{name}"
  SELECT STREAM ROWTIME AS "jointime", COALESCE(o."orderid", s."orderid") AS "orderid",
    s.ROWTIME AS "shipmentrowtime", o.ROWTIME AS "orderrowtime"
  FROM {join} ON o."orderid" = s."orderid";
"""

JOINS = {
    "JOIN_A": "ORDERS_STREAM OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS o "
              "JOIN SHIPMENTS_STREAM AS s",
    "JOIN_C": "ORDERS_STREAM OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS o "
              "RIGHT JOIN SHIPMENTS_STREAM AS s",
    "JOIN_E": "ORDERS_STREAM OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS o "
              "LEFT JOIN SHIPMENTS_STREAM AS s",
    "JOIN_B": "ORDERS_STREAM OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS o "
              "JOIN SHIPMENTS_STREAM OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS s",
    "JOIN_D": "ORDERS_STREAM OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS o "
              "RIGHT JOIN SHIPMENTS_STREAM OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS s",
    "JOIN_F": "ORDERS_STREAM OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS o "
              "LEFT JOIN SHIPMENTS_STREAM OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS s",
}


def test_stream_to_stream_joins_t6(vserver):
    """T6 (SQL reference, JOIN clause): orders and shipments split from one source by pumps, an
    orders window of one minute joined with shipments (6a), RIGHT JOIN (6c) and LEFT JOIN (6e,
    unmatched orders emitted when they leave their window; Sluice lists only orders that never
    matched, docs/analytics.md); and the same three with both sides windowed (6b, 6d, 6f: an
    unmatched shipment is emitted when it leaves its own window)."""
    clock = Clock(vserver)
    order = lambda oid: {"orders": 1, "orderid": oid}  # noqa: E731
    shipment = lambda oid: {"shipments": 2, "orderid": oid}  # noqa: E731
    # an application has at most 3 outputs: one application per three joins, one after the other
    for names in (("JOIN_A", "JOIN_C", "JOIN_E"), ("JOIN_B", "JOIN_D", "JOIN_F")):
        day = clock.fresh_day()
        at = lambda hms, day=day: day + ms("1970-01-01 " + hms)  # noqa: E731
        code = JOIN_CODE + "".join(JOIN_PUMP.format(name=n, join=JOINS[n]) for n in names)
        app = App(vserver, code, [("orders", "INTEGER"), ("shipments", "INTEGER"),
                                  ("orderid", "INTEGER")], outputs=names)
        for t, rows in [("10:00:00", [order(101), shipment(100)]), ("10:00:20", [order(102)]),
                        ("10:00:30", [order(103)]), ("10:00:40", [order(104)]),
                        ("10:00:45", [shipment(104), order(100)]), ("10:00:50", [shipment(105)])]:
            clock.set(at(t))
            app.put(rows)
        clock.set(at("10:03:00"))

        def row(joined, oid, shipped, ordered, at=at):
            return {"jointime": ts(at(joined)), "orderid": oid,
                    "shipmentrowtime": shipped and ts(at(shipped)),
                    "orderrowtime": ordered and ts(at(ordered))}

        if names[0] == "JOIN_A":
            assert app.rows("JOIN_A") == [row("10:00:45", 104, "10:00:45", "10:00:40")]
            assert app.rows("JOIN_C") == [row("10:00:00", 100, "10:00:00", None),
                                          row("10:00:45", 104, "10:00:45", "10:00:40"),
                                          row("10:00:50", 105, "10:00:50", None)]
            assert app.rows("JOIN_E") == [row("10:00:45", 104, "10:00:45", "10:00:40"),
                                          row("10:01:00", 101, None, "10:00:00"),
                                          row("10:01:20", 102, None, "10:00:20"),
                                          row("10:01:30", 103, None, "10:00:30"),
                                          row("10:01:45", 100, None, "10:00:45")]
        else:
            both = [row("10:00:45", 104, "10:00:45", "10:00:40"),
                    row("10:00:45", 100, "10:00:00", "10:00:45")]
            assert app.rows("JOIN_B") == both
            assert app.rows("JOIN_D") == both + [row("10:01:50", 105, "10:00:50", None)]
            assert app.rows("JOIN_F") == both + [row("10:01:00", 101, None, "10:00:00"),
                                                 row("10:01:20", 102, None, "10:00:20"),
                                                 row("10:01:30", 103, None, "10:00:30")]
        app.stop()


DATETIME_CODE = """CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (EVENT_TIME TIMESTAMP,
  FIVE_MINUTES_BEFORE TIMESTAMP, EVENT_UNIX_TIMESTAMP BIGINT, EVENT_TIMESTAMP_AS_CHAR VARCHAR(50),
  EVENT_SECOND INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM EVENT_TIME, EVENT_TIME - INTERVAL '5' MINUTE, UNIX_TIMESTAMP(EVENT_TIME),
    TIMESTAMP_TO_CHAR('yyyy-MM-dd hh:mm:ss', EVENT_TIME), EXTRACT(SECOND FROM EVENT_TIME)
  FROM "SOURCE_SQL_STREAM_001";
"""


def test_datetime_transformations_t12(vserver):
    """T12 (Examples: transforming DateTime values): ISO event times with microseconds (kept to
    the millisecond), interval arithmetic, UNIX_TIMESTAMP in milliseconds, TIMESTAMP_TO_CHAR with
    the 12-hour `hh`, EXTRACT. The application is made with the AWS CLI v2's kinesisanalyticsv2."""
    clock = Clock(vserver)
    day = clock.fresh_day()
    app = App(vserver, DATETIME_CODE, [("EVENT_TIME", "TIMESTAMP"), ("TICKER", "VARCHAR(4)")],
              api="cli-v2")
    clock.set(day + 1000)
    app.put([{"EVENT_TIME": "2018-05-09T13:50:41.337510", "TICKER": "AMZN"}])
    clock.set(day + 2000)
    assert app.rows() == [{"EVENT_TIME": "2018-05-09 13:50:41.337",
                           "FIVE_MINUTES_BEFORE": "2018-05-09 13:45:41.337",
                           "EVENT_UNIX_TIMESTAMP": 1525873841337,
                           "EVENT_TIMESTAMP_AS_CHAR": "2018-05-09 01:50:41",
                           "EVENT_SECOND": 41}]
    app.stop()


def test_discover_input_schema_on_a_delivery_stream(vserver):
    """DiscoverInputSchema samples the records a delivery stream receives (NOW; a delivery
    stream has no TRIM_HORIZON), for an application's KinesisFirehoseInput."""
    import threading
    fh, s3 = fh_clients(vserver)
    kda = kda_for(vserver)
    name, arn, _ = delivery_stream(fh, s3, "fhdisc")
    stop = threading.Event()

    def feed():  # records keep coming while the discovery listens
        client = fh_clients(vserver)[0]
        while not stop.is_set():
            client.put_record(DeliveryStreamName=name, Record={"Data": json.dumps(
                {"TICKER_SYMBOL": "AMZN", "PRICE": 84.51, "user": "x"}).encode()})
            stop.wait(0.05)

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        out = kda.discover_input_schema(ResourceARN=arn, RoleARN=ROLE,
                                        InputStartingPositionConfiguration={
                                            "InputStartingPosition": "NOW"})
    finally:
        stop.set()
        feeder.join()
    schema = out["InputSchema"]
    assert schema["RecordFormat"]["RecordFormatType"] == "JSON"
    assert [(c["Name"], c["SqlType"], c["Mapping"]) for c in schema["RecordColumns"]] == [
        ("TICKER_SYMBOL", "VARCHAR(4)", "$.TICKER_SYMBOL"), ("PRICE", "REAL", "$.PRICE"),
        ("COL_user", "VARCHAR(4)", "$.user")]
    assert out["ParsedInputRecords"][0] == ["AMZN", "84.51", "x"]
    with pytest.raises(kda.exceptions.InvalidArgumentException):
        kda.discover_input_schema(ResourceARN=arn, RoleARN=ROLE,
                                  InputStartingPositionConfiguration={
                                      "InputStartingPosition": "TRIM_HORIZON"})
    with pytest.raises(kda.exceptions.ResourceNotFoundException):
        kda.discover_input_schema(ResourceARN=arn + "-none", RoleARN=ROLE,
                                  InputStartingPositionConfiguration={
                                      "InputStartingPosition": "NOW"})


def test_json_path_flattening_t13(vserver):
    """T13: a JSONPath mapping `$.orders[0:].orderId` flattens one record into a row per array
    element (the other columns repeated); an empty array gives one row of NULLs for it."""
    clock = Clock(vserver)
    day = clock.fresh_day()
    code = """CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (customer VARCHAR(16),
  order_id VARCHAR(8));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "customerName", "orderId" FROM "SOURCE_SQL_STREAM_001";
"""
    app = App(vserver, code, [("customerName", "VARCHAR(16)", "$.customerName"),
                              ("orderId", "VARCHAR(8)", "$.orders[0:].orderId")], api="cli-v2")
    clock.set(day + 1000)
    app.put([{"customerName": "John Doe", "orders": [
        {"orderId": "23284", "itemName": "Widget"}, {"orderId": "63122"},
        {"orderId": "77284", "itemName": "Sprocket"}]},
        {"customerName": "Jane Roe", "orders": []}])
    clock.set(day + 2000)
    assert app.rows() == [{"CUSTOMER": "John Doe", "ORDER_ID": "23284"},
                          {"CUSTOMER": "John Doe", "ORDER_ID": "63122"},
                          {"CUSTOMER": "John Doe", "ORDER_ID": "77284"},
                          {"CUSTOMER": "Jane Roe", "ORDER_ID": None}]
    app.stop()


PARALLEL_CODE = """CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (SOURCE VARCHAR(4), N BIGINT,
  TOTAL DOUBLE);
CREATE OR REPLACE PUMP "PUMP_1" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM 'one', COUNT(*), SUM(PRICE) FROM "SOURCE_SQL_STREAM_001"
  GROUP BY STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' MINUTE);
CREATE OR REPLACE PUMP "PUMP_2" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM 'two', COUNT(*), SUM(PRICE) FROM "SOURCE_SQL_STREAM_002"
  GROUP BY STEP("SOURCE_SQL_STREAM_002".ROWTIME BY INTERVAL '1' MINUTE);
"""


def test_input_parallelism(vserver):
    """InputParallelism 2 over a 2-shard stream: each shard feeds its own in-application stream
    (SOURCE_SQL_STREAM_001 and _002), which the code reads with two pumps into one stream."""
    clock = Clock(vserver)
    day = clock.fresh_day()
    kinesis, kda = client_for(vserver), kda_for(vserver)
    in_name, out_name = unique_name("par"), unique_name("parout")
    in_arn, out_arn = stream(kinesis, in_name, 2), stream(kinesis, out_name)
    inp = json_input(in_arn, [("PRICE", "DOUBLE", "$.price")])
    inp["InputParallelism"] = {"Count": 2}
    name = unique_name("parallel")
    kda.create_application(ApplicationName=name, ApplicationCode=PARALLEL_CODE, Inputs=[inp],
                           Outputs=[stream_output(out_arn)])
    detail = kda.describe_application(ApplicationName=name)["ApplicationDetail"]
    assert detail["InputDescriptions"][0]["InAppStreamNames"] == ["SOURCE_SQL_STREAM_001",
                                                                  "SOURCE_SQL_STREAM_002"]
    start_v1(kda, name)
    clock.set(day + 1000)
    low, high = "0", str(2 ** 127 + 1)  # hash keys of the first and the second shard
    kinesis.put_records(StreamName=in_name, Records=[
        {"PartitionKey": "k", "ExplicitHashKey": h, "Data": json.dumps({"price": p}).encode()}
        for h, p in [(low, 1.0), (high, 10.0), (low, 2.0), (high, 20.0), (high, 30.0)]])
    clock.set(day + 60_000)
    assert sorted((r["SOURCE"], r["N"], r["TOTAL"]) for r in rows_of(kinesis, out_name)) == [
        ("one", 2, 3.0), ("two", 3, 60.0)]
    kda.stop_application(ApplicationName=name)


ANOMALY_CODE = """CREATE OR REPLACE STREAM "TEMP_STREAM" ("heartRate" INTEGER,
  "rateType" varchar(20), "ANOMALY_SCORE" DOUBLE);
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("heartRate" INTEGER, "rateType" varchar(20),
  "ANOMALY_SCORE" DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "TEMP_STREAM"
  SELECT STREAM "heartRate", "rateType", ANOMALY_SCORE
  FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001")));
CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM * FROM "TEMP_STREAM"
  ORDER BY FLOOR("TEMP_STREAM".ROWTIME TO SECOND), ANOMALY_SCORE DESC;
"""


def test_anomaly_detection_and_sorting_t16(vserver):
    """T16 (statistical) through the API: the documentation's heart-rate data (99 % in 60..100,
    1 % in 150..200) through RANDOM_CUT_FOREST with its defaults and the anomaly-sorting pump
    (ORDER BY FLOOR(ROWTIME TO SECOND), ANOMALY_SCORE DESC): the first 256 rows score 0, and the
    injected anomalies lead the sorted output."""
    import random
    clock = Clock(vserver)
    day = clock.fresh_day()
    app = App(vserver, ANOMALY_CODE, [("heartRate", "INTEGER"), ("rateType", "VARCHAR(20)")])
    rng = random.Random(7)
    rows = []
    for i in range(1500):
        high = i >= 300 and rng.random() < 0.01
        rows.append({"heartRate": rng.randint(150, 200) if high else rng.randint(60, 100),
                     "rateType": "HIGH" if high else "NORMAL"})
    clock.set(day + 1000)
    for at in range(0, len(rows), 500):
        app.put(rows[at:at + 500])
    clock.set(day + 2000)  # read in the second [1 s, 2 s): sorted when the next second begins
    out = app.rows()
    assert len(out) == len(rows)
    anomalies = sum(r["rateType"] == "HIGH" for r in rows)
    assert anomalies >= 8
    leaders = out[:anomalies]
    assert sum(r["rateType"] == "HIGH" for r in leaders) >= 0.8 * anomalies, leaders
    assert [r["ANOMALY_SCORE"] for r in out] == sorted((r["ANOMALY_SCORE"] for r in out),
                                                       reverse=True)
    assert sum(r["ANOMALY_SCORE"] == 0 for r in out) == 256
    app.stop()


def test_firehose_input_from_a_kinesis_source(vserver):
    """A delivery stream whose source is a Kinesis stream (KinesisStreamAsSource) feeds an
    application too: it reads the records the delivery stream takes from its source, KPL-free."""
    from helpers import stream_arn
    clock, (fh, s3), kinesis = Clock(vserver), fh_clients(vserver), client_for(vserver)
    kda = kda_for(vserver)
    day = clock.fresh_day()
    src, out_name = unique_name("ksrc"), unique_name("ksrcout")
    stream(kinesis, src)
    out_arn = stream(kinesis, out_name)
    bucket = unique_name("ksrc").lower().replace("_", "-")[-50:].strip("-")
    s3.create_bucket(Bucket=bucket)
    ds = unique_name("ksrcds")
    ds_arn = fh.create_delivery_stream(
        DeliveryStreamName=ds, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn(src), "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::" + bucket,
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}})["DeliveryStreamARN"]
    inp = json_input(ds_arn, [("TICKER", "VARCHAR(4)", "$.ticker"), ("PRICE", "DOUBLE", "$.price")])
    del inp["KinesisStreamsInput"]
    inp["KinesisFirehoseInput"] = {"ResourceARN": ds_arn, "RoleARN": ROLE}
    name = unique_name("ksrcapp")
    kda.create_application(ApplicationName=name, ApplicationCode=FH_CODE, Inputs=[inp],
                           Outputs=[stream_output(out_arn)])
    start_v1(kda, name)
    clock.set(day + 1000)
    put_json(kinesis, src, [{"ticker": "AMZN", "price": 12.0}, {"ticker": "MSFT", "price": 5.0},
                            {"ticker": "GOOG", "price": 30.0}])
    # the delivery stream has taken them from its source once its bucket holds them
    wait_until(lambda: bucket_bytes(s3, bucket).count(b"}") == 3, timeout=30,
               what="the source's records in the delivery stream")
    clock.set(day + 2000)
    assert rows_of(kinesis, out_name) == [{"TICKER": "AMZN", "PRICE": 12.0},
                                          {"TICKER": "GOOG", "PRICE": 30.0}]
    kda.stop_application(ApplicationName=name)
