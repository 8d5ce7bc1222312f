"""Window state across a kill -9: a running application's open windows are saved with its input
positions (`analytics.db.<app>.state` beside `analytics.db.<app>.pos`) and restored when the
server starts it again, so a tumbling window open at the kill emits the rows of the records read
before and after it, each once.

The server runs with `--analytics-clock virtual` (tests/conformance/test_analytics_examples.py
explains the clock): records put at one instant are read at that instant by the next move of the
clock, and a move past the window's end closes it."""
import json

from helpers import client_for, unique_name, wait_until
from test_analytics_apps import create, kda_for, read_all, stream, start
from test_analytics_examples import App, Clock, ms

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
