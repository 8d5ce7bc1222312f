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
    """An input of JSON records whose top-level members are the columns [(name, type)]."""
    return {
        "NamePrefix": prefix,
        "KinesisStreamsInput": {"ResourceARN": arn} if v2 else {"ResourceARN": arn,
                                                                "RoleARN": ROLE},
        "InputSchema": {
            "RecordFormat": {"RecordFormatType": "JSON",
                             "MappingParameters": {"JSONMappingParameters": {"RecordRowPath": "$"}}},
            "RecordEncoding": "UTF-8",
            "RecordColumns": [{"Name": n, "SqlType": t, "Mapping": "$." + n} for n, t in columns],
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
