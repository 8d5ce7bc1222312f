"""Window state across a kill -9: a running application's open windows are saved with its input
positions (`analytics.db.<app>.state` beside `analytics.db.<app>.pos`) and restored when the
server starts it again, so a tumbling window open at the kill emits the rows of the records read
before and after it, each once.

The server runs with `--analytics-clock virtual` (tests/conformance/test_analytics_examples.py
explains the clock): records put at one instant are read at that instant by the next move of the
clock, and a move past the window's end closes it."""
import json

from helpers import client_for, unique_name, wait_until
from test_analytics_apps import ROLE, create, kda_for, read_all, stream, start
from test_analytics_examples import App, Clock, delivery_stream, fh_clients, json_input, ms, \
    start_v1, stream_output

CODE = """CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), n BIGINT, total DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "ticker", COUNT(*), SUM("price") FROM "SOURCE_SQL_STREAM_001"
  GROUP BY "ticker", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' MINUTE);
"""


def put_prices(kinesis, name, rows):
    kinesis.put_records(StreamName=name, Records=[
        {"PartitionKey": str(i), "Data": json.dumps({"ticker": t, "price": p}).encode()}
        for i, (t, p) in enumerate(rows)])


def test_open_window_survives_kill_9(make_server):
    srv = make_server(analytics_clock="virtual")
    clock, kinesis, kda = Clock(srv), client_for(srv), kda_for(srv)
    in_name, out_name = unique_name("win"), unique_name("wout")
    in_arn, out_arn = stream(kinesis, in_name), stream(kinesis, out_name)
    name = unique_name("state")
    create(kda, name, in_arn, out_arn, code=CODE)
    day0 = ms("2018-11-01 00:00")
    clock.set(day0)
    start(kda, name, "TRIM_HORIZON")
    put_prices(kinesis, in_name, [("AMZN", 1), ("AMZN", 2), ("AMZN", 3), ("MSFT", 10)])
    clock.set(day0 + 10_000)  # read at 00:00:00; the window [00:00, 00:01) stays open

    wait_until(lambda: list(srv.data_dir.rglob("analytics.db.%s.state" % name)), timeout=15,
               what="the window state saved with the positions")
    state = list(srv.data_dir.rglob("analytics.db.%s.state" % name))
    # the state is written first, then the positions: wait for both
    wait_until(lambda: len(state) == 1 and state[0].with_suffix(".pos").exists(), timeout=15,
               what="the positions saved after the state")
    assert read_all(kinesis, out_name) == []

    srv.restart(kill=True)
    clock, kinesis = Clock(srv), client_for(srv)
    clock.set(day0 + 20_000)  # the clock starts again at 0: back to where it was
    put_prices(kinesis, in_name, [("AMZN", 4), ("AMZN", 5), ("GOOG", 7)])
    clock.set(day0 + 30_000)  # read at 00:00:20, same window
    clock.set(day0 + 60_000)  # closes it
    rows = [json.loads(r) for r in read_all(kinesis, out_name)]
    # without the state the window would have started again empty: AMZN 2 rows, MSFT none
    assert sorted((r["TICKER"], r["N"], r["TOTAL"]) for r in rows) == [
        ("AMZN", 5, 15.0), ("GOOG", 1, 7.0), ("MSFT", 1, 10.0)]

    # a state that does not fit the positions (an older one) is not used: the windows start
    # empty rather than count records twice
    put_prices(kinesis, in_name, [("AMZN", 100)])
    clock.set(day0 + 65_000)  # read at 00:01:00: the window [00:01, 00:02) opens
    assert srv.stop() == 0  # a graceful stop saves the state and positions once more
    older = state[0].read_bytes()
    srv.start()
    clock, kinesis = Clock(srv), client_for(srv)
    clock.set(day0 + 66_000)
    put_prices(kinesis, in_name, [("AMZN", 200)])
    clock.set(day0 + 70_000)  # read at 00:01:06, with 100 in the restored window
    assert srv.stop() == 0
    state[0].write_bytes(older)  # its positions are before AMZN 200's
    srv.start()
    clock, kinesis = Clock(srv), client_for(srv)
    clock.set(day0 + 71_000)
    put_prices(kinesis, in_name, [("AMZN", 1000)])
    clock.set(day0 + 75_000)
    clock.set(day0 + 120_000)
    rows = [json.loads(r) for r in read_all(kinesis, out_name)][3:]
    assert [(r["TICKER"], r["N"], r["TOTAL"]) for r in rows] == [("AMZN", 1, 1000.0)]
    assert "does not fit its positions or code" in srv.stderr_tail()


HOLD_CODE = """CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), n INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker, n FROM "SOURCE_SQL_STREAM_001" WHERE price > 10;
"""


def test_delivery_stream_hold_survives_kill_9(make_server):
    """An application behind on a delivery stream input keeps its records through a kill -9.
    Its output stream is deleted, so it reads on but cannot save a position past the rows it
    could not write; meanwhile the delivery stream delivers 4 MB to S3 and trims its buffer
    (segments of 1 MiB). The hold on what the saved position has not read is kept in
    firehose.db, so neither the trims before the kill nor the delivery that runs at start
    (before the application is back) drop those records: once its output stream exists again,
    the application writes a row for every record after its saved position."""
    srv = make_server(segment_bytes=1048576)
    (fh, s3), kinesis, kda = fh_clients(srv), client_for(srv), kda_for(srv)
    in_name, in_arn, bucket = delivery_stream(fh, s3, "hold")
    out_name = unique_name("holdout")
    out_arn = stream(kinesis, out_name)
    inp = json_input(in_arn, [("TICKER", "VARCHAR(4)", "$.ticker"), ("PRICE", "DOUBLE", "$.price"),
                              ("N", "INTEGER", "$.n")])
    del inp["KinesisStreamsInput"]
    inp["KinesisFirehoseInput"] = {"ResourceARN": in_arn, "RoleARN": ROLE}
    name = unique_name("holdapp")
    kda.create_application(ApplicationName=name, ApplicationCode=HOLD_CODE, Inputs=[inp],
                           Outputs=[stream_output(out_arn)])
    start_v1(kda, name, "NOW")

    def put(numbers):
        fh.put_record_batch(DeliveryStreamName=in_name, Records=[
            {"Data": json.dumps({"ticker": "AMZN", "price": 20, "n": n,
                                 "pad": "x" * 2000}).encode()} for n in numbers])

    def delivered():
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                for o in page.get("Contents", [])]
        return sum(s3.get_object(Bucket=bucket, Key=k)["Body"].read().count(b'"n":')
                   for k in keys)

    put([0])
    wait_until(lambda: len(read_all(kinesis, out_name)) == 1, timeout=30, what="the first row")
    wait_until(lambda: list(srv.data_dir.rglob("analytics.db.%s.pos" % name)), timeout=15,
               what="the position saved")
    pos = list(srv.data_dir.rglob("analytics.db.%s.pos" % name))[0]
    wait_until(lambda: pos.read_text().startswith("firehose ") and
               int(pos.read_text().split()[2]) >= 1, timeout=15,
               what="the position after the first record saved")
    saved = pos.read_text()
    kinesis.delete_stream(StreamName=out_name)
    wait_until(lambda: out_name not in kinesis.list_streams()["StreamNames"], timeout=30,
               what="the output stream deleted")
    for first in range(1, 2001, 500):  # 2,000 records of 2 KB: four segments' worth
        put(range(first, first + 500))
    wait_until(lambda: delivered() == 2001, timeout=60, what="the records delivered to S3")
    put([2001])  # one more delivery, and trim
    wait_until(lambda: delivered() == 2002, timeout=60, what="the last record delivered")
    assert pos.read_text() == saved  # the application is behind: its rows could not be written
    srv.restart(kill=True)
    kinesis = client_for(srv)
    stream(kinesis, out_name)
    rows = []

    def caught_up():
        rows[:] = [json.loads(r) for r in read_all(kinesis, out_name)]
        return any(r["N"] == 2001 for r in rows)

    wait_until(caught_up, timeout=60, what="the last record's row after the restart")
    # rows go out in the order of their records: every record after the saved position is there
    assert sorted({r["N"] for r in rows}) == list(range(1, 2002))


LIMIT_CODE = """CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (qty INTEGER, n BIGINT);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM qty, COUNT(*) OVER (ROWS 5 PRECEDING) FROM "SOURCE_SQL_STREAM_001";
"""


def test_window_limit_option(make_server):
    """--analytics-window-rows-max bounds the rows a window holds: the row beyond it goes to
    error_stream with AWS's columns, and the window goes on with the rows it has."""
    srv = make_server(analytics_clock="virtual", analytics_window_rows_max=2)
    clock = Clock(srv)
    day = ms("2018-11-01 00:00")
    clock.set(day)
    app = App(srv, LIMIT_CODE, [("QTY", "INTEGER", "$.qty")],
              outputs=("DESTINATION_SQL_STREAM", "error_stream"))
    app.put([{"qty": q} for q in (1, 2, 3)])
    clock.set(day + 1000)
    assert app.rows() == [{"QTY": 1, "N": 1}, {"QTY": 2, "N": 2}]
    [limit] = app.rows("error_stream")
    assert limit["ERROR_LEVEL"] == "ERROR" and limit["ERROR_NAME"] == "Window limit"
    assert limit["MESSAGE"] == "Window memory limit reached: 2 rows"
    assert limit["PUMP_NAME"] == "STREAM_PUMP" and limit["DATA_ROWTIME"] == "2018-11-01 00:00:00.000"
    assert json.loads(bytes.fromhex(limit["DATA_ROW"]))["QTY"] == 3
    app.stop()
