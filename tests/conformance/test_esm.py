"""Conformance: event-source mappings (docs/event-source-mappings.md) through real clients.

A Node handler records every event it receives (one JSON line per invocation in a file named by
its environment); mappings are created with boto3 and the AWS CLI v2, records put with boto3, and
the test waits for the recorded events. Checked: the management API (states, validation, lists
and pages, updates, durability across a restart), the exact event, BatchSize and the starting
positions, per-key order with ParallelizationFactor, a poison record with bisect and retries
ending in an OnFailure record on S3, partial batch responses, maximum record age, and at-least-once
delivery across kill -9.
"""

import base64
import calendar
import json
import os
import subprocess
import tempfile
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import SluiceServer, client_for, create_stream_and_wait, unique_name, wait_until
from test_functions import ROLE, create as create_function, fn_name

# Records every event; fails as the records ask (data "poison..." throws; data "fail-once..." is
# reported in batchItemFailures the first time it is seen); sleeps when asked.
RECORDER = r"""
import fs from 'node:fs';
const seenFile = process.env.EVENTS_FILE + '.seen';
export const handler = async (event) => {
  fs.appendFileSync(process.env.EVENTS_FILE, JSON.stringify(event) + '\n');
  const recs = event.Records || [];
  const text = (r) => Buffer.from(r.kinesis.data, 'base64').toString();
  if (process.env.SLEEP_MS) await new Promise((r) => setTimeout(r, Number(process.env.SLEEP_MS)));
  if (recs.some((r) => text(r).startsWith('poison'))) throw new Error('poison record');
  const seen = fs.existsSync(seenFile) ? fs.readFileSync(seenFile, 'utf8').split('\n') : [];
  for (const r of recs) {
    if (text(r).startsWith('fail-always'))
      return { batchItemFailures: [{ itemIdentifier: r.kinesis.sequenceNumber }] };
    if (text(r).startsWith('fail-once') && !seen.includes(r.kinesis.sequenceNumber)) {
      fs.appendFileSync(seenFile, r.kinesis.sequenceNumber + '\n');
      return { batchItemFailures: [{ itemIdentifier: r.kinesis.sequenceNumber }] };
    }
  }
  if (event.window !== undefined) {
    const state = event.state || {};
    state.count = (state.count || 0) + recs.length;
    return { state };
  }
  return {};
};
"""


def lam_client(server):
    return boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                        config=Config(retries={"max_attempts": 0}, read_timeout=60))


@pytest.fixture(scope="module")
def lam(server):
    return lam_client(server)


@pytest.fixture(scope="module")
def kin(server):
    return client_for(server)


class Recorder:
    """A deployed recorder function and the events it wrote."""

    def __init__(self, lam, tag, env=None):
        self.dir = tempfile.mkdtemp(prefix="esm-events-")
        self.path = os.path.join(self.dir, "events.jsonl")
        self.name = fn_name(tag)
        variables = {"EVENTS_FILE": self.path}
        variables.update(env or {})
        create_function(lam, self.name, "nodejs20.x", "index.handler",
                        {"index.mjs": (RECORDER, 0o644)}, Environment={"Variables": variables},
                        Timeout=30)

    def events(self):
        try:
            with open(self.path) as f:
                # only whole lines: the function may be writing the last one as this reads
                return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]
        except FileNotFoundError:
            return []

    def records(self):
        return [r for e in self.events() for r in e.get("Records", [])]

    def datas(self):
        return [base64.b64decode(r["kinesis"]["data"]).decode() for r in self.records()]

    def wait_datas(self, expected, timeout=60):
        wait_until(lambda: set(expected) <= set(self.datas()), timeout=timeout,
                   what="records %s delivered" % sorted(expected)[:5])


def stream_with(kin, shards=1):
    name = unique_name("esm")
    create_stream_and_wait(kin, name, shards)
    arn = kin.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return name, arn


def put(kin, stream, datas, key="k"):
    out = []
    for d in datas:
        out.append(kin.put_record(StreamName=stream, Data=d.encode(), PartitionKey=key))
    return out


def wait_state(lam, uuid, state, timeout=20):
    wait_until(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == state,
               timeout=timeout, what="mapping %s %s" % (uuid, state))


# ---- the management API ----

def test_create_get_list_update_delete(lam, kin):
    fn = Recorder(lam, "api")
    stream, arn = stream_with(kin)
    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn.name,
                                              StartingPosition="TRIM_HORIZON", BatchSize=7)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    uuid = created["UUID"]
    assert len(uuid) == 36 and uuid[14] == "4"
    assert created["State"] == "Creating"
    assert created["BatchSize"] == 7
    assert created["EventSourceArn"] == arn
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:" + fn.name
    assert created["StartingPosition"] == "TRIM_HORIZON"
    assert created["MaximumBatchingWindowInSeconds"] == 0
    assert created["ParallelizationFactor"] == 1
    assert created["MaximumRetryAttempts"] == -1
    assert created["MaximumRecordAgeInSeconds"] == -1
    assert created["BisectBatchOnFunctionError"] is False
    assert created["DestinationConfig"] == {}
    assert created["FunctionResponseTypes"] == []
    assert created["EventSourceMappingArn"] == (
        "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:" + uuid)
    wait_state(lam, uuid, "Enabled")
    got = lam.get_event_source_mapping(UUID=uuid)
    assert got["LastProcessingResult"] in ("No records processed", "OK")

    # the same pair again: AWS's conflict text
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn.name,
                                        StartingPosition="LATEST")
    assert e.value.response["Error"]["Code"] == "ResourceConflictException"
    assert uuid in e.value.response["Error"]["Message"]

    # list by function (name or ARN) and by source, with pages
    second = Recorder(lam, "api2")
    other = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=second.name,
                                            StartingPosition="LATEST")["UUID"]
    by_fn = lam.list_event_source_mappings(FunctionName=fn.name)["EventSourceMappings"]
    assert [m["UUID"] for m in by_fn] == [uuid]
    by_arn = lam.list_event_source_mappings(
        FunctionName="arn:aws:lambda:us-east-1:000000000000:function:" + second.name)
    assert [m["UUID"] for m in by_arn["EventSourceMappings"]] == [other]
    by_src = lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
    assert sorted(m["UUID"] for m in by_src) == sorted([uuid, other])
    page = lam.list_event_source_mappings(EventSourceArn=arn, MaxItems=1)
    assert len(page["EventSourceMappings"]) == 1 and page["NextMarker"]
    rest = lam.list_event_source_mappings(EventSourceArn=arn, Marker=page["NextMarker"])
    assert len(rest["EventSourceMappings"]) == 1 and "NextMarker" not in rest
    assert {page["EventSourceMappings"][0]["UUID"], rest["EventSourceMappings"][0]["UUID"]} == {
        uuid, other}
    paginated = [m["UUID"] for p in lam.get_paginator("list_event_source_mappings").paginate(
        EventSourceArn=arn, PaginationConfig={"PageSize": 1}) for m in p["EventSourceMappings"]]
    assert sorted(paginated) == sorted([uuid, other])

    # update: 202, Updating, then the new values
    up = lam.update_event_source_mapping(UUID=uuid, BatchSize=3, MaximumRetryAttempts=2,
                                         BisectBatchOnFunctionError=True,
                                         FunctionResponseTypes=["ReportBatchItemFailures"],
                                         DestinationConfig={"OnFailure": {
                                             "Destination": "arn:aws:s3:::some-bucket"}})
    assert up["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert up["State"] == "Updating"
    assert up["BatchSize"] == 3 and up["MaximumRetryAttempts"] == 2
    assert up["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert up["DestinationConfig"] == {"OnFailure": {"Destination": "arn:aws:s3:::some-bucket"}}
    off = lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    assert off["State"] == "Disabling"
    wait_state(lam, uuid, "Disabled")
    on = lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    assert on["State"] == "Enabling"
    wait_state(lam, uuid, "Enabled")

    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert deleted["State"] == "Deleting"
    with pytest.raises(ClientError) as e:
        lam.get_event_source_mapping(UUID=uuid)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    lam.delete_event_source_mapping(UUID=other)


def test_validation(lam, kin):
    fn = Recorder(lam, "val")
    stream, arn = stream_with(kin)

    def err(**kwargs):
        with pytest.raises(ClientError) as e:
            lam.create_event_source_mapping(**kwargs)
        return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]

    code, _ = err(EventSourceArn=arn, FunctionName=fn.name, StartingPosition="LATEST",
                  BatchSize=10001)
    assert code in ("ValidationException", "InvalidParameterValueException")
    code, msg = err(EventSourceArn=arn, FunctionName="no-such-function", StartingPosition="LATEST")
    assert code == "ResourceNotFoundException"
    assert msg == "Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function"
    code, msg = err(EventSourceArn=arn + "-missing", FunctionName=fn.name,
                    StartingPosition="LATEST")
    assert code == "InvalidParameterValueException" and "Stream not found" in msg
    code, _ = err(EventSourceArn=arn, FunctionName=fn.name)
    assert code == "InvalidParameterValueException"
    code, _ = err(EventSourceArn=arn, FunctionName=fn.name, StartingPosition="AT_TIMESTAMP")
    assert code == "InvalidParameterValueException"
    code, _ = err(EventSourceArn=arn, FunctionName=fn.name, StartingPosition="LATEST",
                  MaximumRecordAgeInSeconds=30)
    assert code == "InvalidParameterValueException"
    code, msg = err(EventSourceArn=arn, FunctionName=fn.name, StartingPosition="LATEST",
                    FilterCriteria={"Filters": [{"Pattern": "not json"}]})
    assert code == "InvalidParameterValueException"
    for call in (lambda: lam.get_event_source_mapping(UUID="00000000-0000-4000-8000-000000000000"),
                 lambda: lam.delete_event_source_mapping(UUID="00000000-0000-4000-8000-000000000000"),
                 lambda: lam.update_event_source_mapping(
                     UUID="00000000-0000-4000-8000-000000000000", BatchSize=5)):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert e.value.response["Error"]["Message"] == "The resource you requested does not exist."


def test_cli_create_and_list(server, lam, kin):
    """The AWS CLI v2 configures a mapping as users do."""
    fn = Recorder(lam, "cli")
    stream, arn = stream_with(kin)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    cli = ["/usr/bin/aws", "--endpoint-url", server.endpoint, "--output", "json", "lambda"]
    out = subprocess.run(cli + ["create-event-source-mapping", "--function-name", fn.name,
                                "--event-source-arn", arn, "--batch-size", "2",
                                "--starting-position", "TRIM_HORIZON"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    uuid = json.loads(out.stdout)["UUID"]
    out = subprocess.run(cli + ["list-event-source-mappings", "--function-name", fn.name],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [m["UUID"] for m in json.loads(out.stdout)["EventSourceMappings"]] == [uuid]
    put(kin, stream, ["c1", "c2", "c3"])
    fn.wait_datas(["c1", "c2", "c3"])
    assert max(len(e["Records"]) for e in fn.events()) <= 2
    lam.delete_event_source_mapping(UUID=uuid)


# ---- delivery ----

def test_event_shape_batch_size_and_order(lam, kin):
    fn = Recorder(lam, "shape")
    stream, arn = stream_with(kin)
    puts = put(kin, stream, ["r%02d" % i for i in range(25)], key="pk-1")
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn.name,
                                           StartingPosition="TRIM_HORIZON", BatchSize=10)["UUID"]
    fn.wait_datas(["r%02d" % i for i in range(25)])
    events = fn.events()
    assert all(1 <= len(e["Records"]) <= 10 for e in events)
    assert set(events[0].keys()) == {"Records"}
    assert fn.datas()[:25] == ["r%02d" % i for i in range(25)]  # shard order
    rec = fn.records()[0]
    shard = puts[0]["ShardId"]
    seq = puts[0]["SequenceNumber"]
    assert rec == {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "pk-1",
            "sequenceNumber": seq,
            "data": base64.b64encode(b"r00").decode(),
            "approximateArrivalTimestamp": rec["kinesis"]["approximateArrivalTimestamp"],
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": "%s:%s" % (shard, seq),
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": ROLE,
        "awsRegion": "us-east-1",
        "eventSourceARN": arn,
    }
    ts = rec["kinesis"]["approximateArrivalTimestamp"]
    assert isinstance(ts, (int, float)) and abs(ts - time.time()) < 120
    got = kin.get_records(ShardIterator=kin.get_shard_iterator(
        StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
    assert abs(got["Records"][0]["ApproximateArrivalTimestamp"].timestamp() - ts) < 0.002
    # an update of BatchSize applies to the next batches
    lam.update_event_source_mapping(UUID=uuid, BatchSize=2)
    wait_state(lam, uuid, "Enabled")
    before = len(fn.events())
    put(kin, stream, ["s%02d" % i for i in range(6)], key="pk-1")
    fn.wait_datas(["s%02d" % i for i in range(6)])
    assert all(len(e["Records"]) <= 2 for e in fn.events()[before:])
    lam.delete_event_source_mapping(UUID=uuid)


def test_latest_and_at_timestamp(lam, kin):
    stream, arn = stream_with(kin)
    olds = put(kin, stream, ["old1", "old2"])
    it = kin.get_shard_iterator(StreamName=stream, ShardId=olds[0]["ShardId"],
                                ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    last_old = kin.get_records(ShardIterator=it)["Records"][-1]["ApproximateArrivalTimestamp"]
    # SDKs send StartingPositionTimestamp in whole seconds: the next second after the old ones
    boundary = int(last_old.timestamp()) + 1
    wait_until(lambda: time.time() > boundary + 0.005, timeout=5, interval=0.001,
               what="the clock past the boundary")
    put(kin, stream, ["mid1"])
    latest = Recorder(lam, "latest")
    at_ts = Recorder(lam, "atts")
    u1 = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=latest.name,
                                         StartingPosition="LATEST")["UUID"]
    u2 = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=at_ts.name,
                                         StartingPosition="AT_TIMESTAMP",
                                         StartingPositionTimestamp=boundary)["UUID"]
    # LATEST is resolved when the mapping is created: a record put after the answer is new
    put(kin, stream, ["new1"])
    latest.wait_datas(["new1"])
    at_ts.wait_datas(["mid1", "new1"])
    assert "old1" not in latest.datas() and "mid1" not in latest.datas()
    assert "old1" not in at_ts.datas()
    lam.delete_event_source_mapping(UUID=u1)
    lam.delete_event_source_mapping(UUID=u2)


def test_batching_window_gathers_records(lam, kin):
    fn = Recorder(lam, "window-batch")
    stream, arn = stream_with(kin)
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn.name,
                                           StartingPosition="LATEST", BatchSize=100,
                                           MaximumBatchingWindowInSeconds=1)["UUID"]
    start = time.monotonic()
    put(kin, stream, ["b1", "b2", "b3"])
    fn.wait_datas(["b1", "b2", "b3"])
    assert time.monotonic() - start >= 0.9  # the window was waited for
    assert [len(e["Records"]) for e in fn.events()] == [3]
    lam.delete_event_source_mapping(UUID=uuid)


def test_two_mappings_each_see_every_record_and_puts_never_wait(lam, kin):
    stream, arn = stream_with(kin, shards=2)
    slow = Recorder(lam, "slow", env={"SLEEP_MS": "1500"})
    fast = Recorder(lam, "fast")
    u1 = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=slow.name,
                                         StartingPosition="TRIM_HORIZON", BatchSize=1)["UUID"]
    u2 = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fast.name,
                                         StartingPosition="TRIM_HORIZON")["UUID"]
    datas = ["two-%d" % i for i in range(20)]
    start = time.monotonic()
    for i, d in enumerate(datas):
        kin.put_record(StreamName=stream, Data=d.encode(), PartitionKey="key-%d" % i)
    elapsed = time.monotonic() - start
    assert elapsed < 5, "20 puts took %.1f s while a slow function consumed the stream" % elapsed
    fast.wait_datas(datas)
    wait_until(lambda: len(slow.datas()) >= 2, timeout=30, what="slow function invoked")
    lam.delete_event_source_mapping(UUID=u1)
    lam.delete_event_source_mapping(UUID=u2)


def test_parallelization_keeps_order_per_key(lam, kin):
    fn = Recorder(lam, "par", env={"SLEEP_MS": "20"})
    stream, arn = stream_with(kin)
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn.name,
                                           StartingPosition="TRIM_HORIZON", BatchSize=5,
                                           ParallelizationFactor=10)["UUID"]
    expected = []
    entries = []
    for i in range(100):
        key = "key-%d" % (i % 7)
        d = "%s:%03d" % (key, i)
        expected.append(d)
        entries.append({"Data": d.encode(), "PartitionKey": key})
    kin.put_records(StreamName=stream, Records=entries)
    fn.wait_datas(expected)
    got = fn.datas()
    for k in range(7):
        key = "key-%d" % k
        seen = [d for d in got if d.startswith(key + ":")]
        assert seen == sorted(seen), "order of %s broken: %s" % (key, seen)
    # batches mix no keys across batchers beyond what hashing puts together, and run in parallel
    assert len(fn.events()) >= 7
    lam.delete_event_source_mapping(UUID=uuid)


# ---- errors ----

def s3_client(server):
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                        config=Config(s3={"addressing_style": "path"}))


def test_poison_record_bisect_retries_and_s3_on_failure(server, lam, kin):
    s3 = s3_client(server)
    bucket = "esm-failures-%d-%d" % (os.getpid(), int(time.time() * 1000) % 100000)
    s3.create_bucket(Bucket=bucket)
    fn = Recorder(lam, "poison")
    stream, arn = stream_with(kin)
    datas = ["ok-%d" % i for i in range(5)] + ["poison-5"] + ["ok-%d" % i for i in range(6, 8)]
    puts = put(kin, stream, datas)
    uuid = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fn.name, StartingPosition="TRIM_HORIZON", BatchSize=8,
        BisectBatchOnFunctionError=True, MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": "arn:aws:s3:::" + bucket}})["UUID"]
    # the shard moves on past the poison record: later records arrive too
    put(kin, stream, ["after"])
    fn.wait_datas([d for d in datas if not d.startswith("poison")] + ["after"])

    def failure_objects():
        return s3.list_objects_v2(Bucket=bucket).get("Contents", [])

    wait_until(lambda: failure_objects(), timeout=30, what="OnFailure record in S3")
    objs = failure_objects()
    assert len(objs) == 1
    key = objs[0]["Key"]
    prefix = "aws/lambda/%s/%s/" % (uuid, puts[5]["ShardId"])
    assert key.startswith(prefix), key
    day = time.strftime("%Y/%m/%d", time.gmtime())
    assert key[len(prefix):].startswith(day)
    doc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    info = doc["KinesisBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == puts[5]["SequenceNumber"]
    assert info["shardId"] == puts[5]["ShardId"] and info["streamArn"] == arn
    assert doc["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert doc["requestContext"]["functionArn"].endswith(":function:" + fn.name)
    assert doc["requestContext"]["approximateInvokeCount"] == 2
    assert doc["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                      "functionError": "Unhandled"}
    assert doc["version"] == "1.0" and doc["timestamp"].endswith("Z")
    payload = json.loads(doc["payload"])
    assert [base64.b64decode(r["kinesis"]["data"]) for r in payload["Records"]] == [b"poison-5"]
    # bisect: the poison record was narrowed down to a batch of its own, retried once
    poison_batches = [e for e in fn.events()
                      if any(base64.b64decode(r["kinesis"]["data"]) == b"poison-5"
                             for r in e["Records"])]
    assert [len(e["Records"]) for e in poison_batches][-2:] == [1, 1]
    assert len(poison_batches[0]["Records"]) == 8
    # records before the poison one were delivered before it was given up, in order
    ok = [d for d in fn.datas() if d.startswith("ok-")]
    assert sorted(set(ok)) == sorted(d for d in datas if d.startswith("ok-"))
    lam.delete_event_source_mapping(UUID=uuid)


def test_partial_batch_response(lam, kin):
    fn = Recorder(lam, "partial")
    stream, arn = stream_with(kin)
    datas = ["p-0", "p-1", "fail-once-2", "p-3", "p-4"]
    puts = put(kin, stream, datas)
    uuid = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fn.name, StartingPosition="TRIM_HORIZON", BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]
    wait_until(lambda: len(fn.events()) >= 2, timeout=30, what="the retry after a partial failure")
    events = fn.events()
    first = [base64.b64decode(r["kinesis"]["data"]).decode() for r in events[0]["Records"]]
    second = [base64.b64decode(r["kinesis"]["data"]).decode() for r in events[1]["Records"]]
    assert first == datas
    # checkpointed before the lowest failed record; retried from it on
    assert second == datas[2:]
    assert events[1]["Records"][0]["kinesis"]["sequenceNumber"] == puts[2]["SequenceNumber"]
    # the retry succeeded: the next batch holds only what was put next
    put(kin, stream, ["p-5"])
    fn.wait_datas(["p-5"])
    assert [len(e["Records"]) for e in fn.events()] == [5, 3, 1]
    lam.delete_event_source_mapping(UUID=uuid)


def test_partial_batch_failures_exhausted_go_to_on_failure(server, lam, kin):
    """OnFailure still works with ReportBatchItemFailures: the reported record and those after it
    in the batch are retried, then discarded with their record; the shard moves on."""
    s3 = s3_client(server)
    bucket = "esm-partial-%d-%d" % (os.getpid(), int(time.time() * 1000) % 100000)
    s3.create_bucket(Bucket=bucket)
    fn = Recorder(lam, "partial-fail")
    stream, arn = stream_with(kin)
    datas = ["q-0", "fail-always-1", "q-2"]
    puts = put(kin, stream, datas)
    uuid = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fn.name, StartingPosition="TRIM_HORIZON", BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": "arn:aws:s3:::" + bucket}})["UUID"]
    wait_until(lambda: s3.list_objects_v2(Bucket=bucket).get("Contents"), timeout=30,
               what="the OnFailure record")
    key = s3.list_objects_v2(Bucket=bucket)["Contents"][0]["Key"]
    info = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["KinesisBatchInfo"]
    assert info["startSequenceNumber"] == puts[1]["SequenceNumber"]
    assert info["endSequenceNumber"] == puts[2]["SequenceNumber"]
    assert info["batchSize"] == 2
    put(kin, stream, ["q-3"])
    fn.wait_datas(["q-3"])
    batches = [[base64.b64decode(r["kinesis"]["data"]).decode() for r in e["Records"]]
               for e in fn.events()]
    assert batches[:3] == [datas, datas[1:], ["q-3"]]
    lam.delete_event_source_mapping(UUID=uuid)


def test_maximum_record_age_discards_old_records(lam, kin):
    fn = Recorder(lam, "age")
    stream, arn = stream_with(kin)
    put(kin, stream, ["poison-old"])
    uuid = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fn.name, StartingPosition="TRIM_HORIZON",
        MaximumRecordAgeInSeconds=60, MaximumRetryAttempts=-1)["UUID"]
    wait_until(lambda: len(fn.events()) >= 2, timeout=30, what="retries of the poison record")
    got = lam.get_event_source_mapping(UUID=uuid)
    assert got["LastProcessingResult"] == "PROBLEM: Function call failed"
    lam.delete_event_source_mapping(UUID=uuid)


# ---- durability ----

def test_kill_9_mid_batch_delivers_every_record(tmp_path):
    srv = SluiceServer()
    srv.start()
    try:
        lam = lam_client(srv)
        kin = client_for(srv)
        fn = Recorder(lam, "kill", env={"SLEEP_MS": "200"})
        stream, arn = stream_with(kin)
        uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn.name,
                                               StartingPosition="TRIM_HORIZON",
                                               BatchSize=3)["UUID"]
        datas = ["k%03d" % i for i in range(30)]
        put(kin, stream, datas[:15])
        wait_until(lambda: len(fn.events()) >= 2, timeout=30, what="some batches")
        srv.stop(sig=9)
        srv.start()
        lam = lam_client(srv)
        kin = client_for(srv)
        got = lam.get_event_source_mapping(UUID=uuid)
        assert got["State"] == "Enabled" and got["BatchSize"] == 3
        put(kin, stream, datas[15:])
        fn.wait_datas(datas)
        delivered = fn.datas()
        # at least once, and never out of order within the shard after the restart point
        assert set(datas) <= set(delivered)
        lam.delete_event_source_mapping(UUID=uuid)
    finally:
        srv.stop()
        srv.cleanup()


# ---- filters ----

def test_filter_criteria_on_data_fields(lam, kin):
    fn = Recorder(lam, "filter")
    stream, arn = stream_with(kin)
    patterns = [
        {"data": {"city": ["Los Angeles"], "temp": [{"numeric": [">", 30]}]}},
        {"partitionKey": [{"prefix": "vip-"}], "data": {"kind": [{"anything-but": ["test"]}]}},
        {"data": {"tag": [{"equals-ignore-case": "urgent"}], "note": [{"exists": False}]}},
    ]
    uuid = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fn.name, StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": json.dumps(p)} for p in patterns]})["UUID"]
    got = lam.get_event_source_mapping(UUID=uuid)
    assert [json.loads(f["Pattern"]) for f in got["FilterCriteria"]["Filters"]] == patterns
    records = [
        ("k", {"id": "a", "city": "Los Angeles", "temp": 35}),       # pattern 1
        ("k", {"id": "b", "city": "Los Angeles", "temp": 20}),       # too cold
        ("k", {"id": "c", "city": "Boston", "temp": 35}),            # wrong city
        ("vip-1", {"id": "d", "kind": "real"}),                      # pattern 2
        ("vip-2", {"id": "e", "kind": "test"}),                      # anything-but
        ("other", {"id": "f", "kind": "real"}),                      # no prefix
        ("k", {"id": "g", "tag": "URGENT"}),                         # pattern 3
        ("k", {"id": "h", "tag": "urgent", "note": "x"}),            # exists false
    ]
    for key, doc in records:
        kin.put_record(StreamName=stream, Data=json.dumps(doc).encode(), PartitionKey=key)
    kin.put_record(StreamName=stream, Data=b"not json at all", PartitionKey="vip-3")
    kin.put_record(StreamName=stream, Data=json.dumps({"id": "z", "city": "Los Angeles",
                                                       "temp": 99}).encode(), PartitionKey="k")
    wait_until(lambda: any('"z"' in d for d in fn.datas()), timeout=30, what="the last match")
    ids = [json.loads(d)["id"] for d in fn.datas()]
    assert ids == ["a", "d", "g", "z"]
    lam.delete_event_source_mapping(UUID=uuid)


# ---- tumbling windows ----

def test_tumbling_window_carries_state_and_ends_with_a_final_invoke(lam, kin):
    fn = Recorder(lam, "window")
    stream, arn = stream_with(kin)
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn.name,
                                           StartingPosition="TRIM_HORIZON", BatchSize=2,
                                           TumblingWindowInSeconds=2)["UUID"]
    assert lam.get_event_source_mapping(UUID=uuid)["TumblingWindowInSeconds"] == 2
    put(kin, stream, ["w%d" % i for i in range(5)])

    def complete():
        evs = fn.events()
        windows = {e["window"]["start"] for e in evs if e["Records"]}
        finals = {e["window"]["start"] for e in evs if e["isFinalInvokeForWindow"]}
        return sum(len(e["Records"]) for e in evs) >= 5 and windows and windows <= finals

    wait_until(complete, timeout=30, what="the windows' final invocations")
    events = fn.events()
    for start in sorted({e["window"]["start"] for e in events}):
        in_window = [e for e in events if e["window"]["start"] == start]
        final = [e for e in in_window if e["isFinalInvokeForWindow"]]
        normal = [e for e in in_window if not e["isFinalInvokeForWindow"]]
        assert len(final) == 1 and final[0]["Records"] == []
        sizes = [len(e["Records"]) for e in normal]
        assert sizes and max(sizes) <= 2
        # each invocation gets the state the previous one returned; the final one the total
        assert [e["state"] for e in normal] == [{}] + [{"count": sum(sizes[:i + 1])}
                                                       for i in range(len(sizes) - 1)]
        assert final[0]["state"] == {"count": sum(sizes)}
        assert final[0]["isWindowTerminatedEarly"] is False
        assert final[0]["shardId"] == "shardId-000000000000"
        assert final[0]["eventSourceARN"] == arn
        assert all(e["window"] == final[0]["window"] for e in normal)
        assert start.endswith("Z") and len(start) == 20
        ws = calendar.timegm(time.strptime(start, "%Y-%m-%dT%H:%M:%SZ"))
        we = calendar.timegm(time.strptime(final[0]["window"]["end"], "%Y-%m-%dT%H:%M:%SZ"))
        assert we - ws == 2 and ws % 2 == 0
    # the next window starts with empty state
    put(kin, stream, ["next"])
    wait_until(lambda: "next" in fn.datas(), timeout=30, what="a record of the next window")
    nxt = [e for e in fn.events() if any(
        base64.b64decode(r["kinesis"]["data"]) == b"next" for r in e["Records"])][0]
    assert nxt["state"] == {}
    lam.delete_event_source_mapping(UUID=uuid)


# ---- resharding ----

def test_split_mid_stream_parents_before_children(lam, kin):
    fn = Recorder(lam, "split", env={"SLEEP_MS": "30"})
    stream, arn = stream_with(kin)
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn.name,
                                           StartingPosition="TRIM_HORIZON", BatchSize=3)["UUID"]
    before = ["before-%02d" % i for i in range(12)]
    for i, d in enumerate(before):
        kin.put_record(StreamName=stream, Data=d.encode(), PartitionKey="key-%d" % (i % 4))
    kin.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000",
                    NewStartingHashKey=str(2 ** 127))
    wait_until(lambda: kin.describe_stream_summary(StreamName=stream)[
        "StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE", timeout=30, what="split done")
    after = ["after-%02d" % i for i in range(12)]
    for i, d in enumerate(after):
        kin.put_record(StreamName=stream, Data=d.encode(), PartitionKey="key-%d" % (i % 4))
    fn.wait_datas(before + after)
    got = fn.datas()
    last_parent = max(got.index(d) for d in before)
    first_child = min(got.index(d) for d in after)
    assert last_parent < first_child, got
    shards = {r["eventID"].split(":")[0] for r in fn.records()}
    assert shards == {"shardId-000000000000", "shardId-000000000001", "shardId-000000000002"}
    for k in range(4):  # per-key order across the split
        seen = [d for d in got if int(d[-2:]) % 4 == k]
        assert seen == [d for d in before + after if int(d[-2:]) % 4 == k], seen
    lam.delete_event_source_mapping(UUID=uuid)


def test_consumer_arn_source_delivers_with_the_stream_arn(lam, kin):
    fn = Recorder(lam, "efo")
    stream, arn = stream_with(kin)
    consumer = kin.register_stream_consumer(StreamARN=arn, ConsumerName="esm-efo")["Consumer"]
    wait_until(lambda: kin.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])[
        "ConsumerDescription"]["ConsumerStatus"] == "ACTIVE", timeout=30, what="consumer")
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(EventSourceArn=arn + "/consumer/nope:1", FunctionName=fn.name,
                                        StartingPosition="LATEST")
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    uuid = lam.create_event_source_mapping(EventSourceArn=consumer["ConsumerARN"],
                                           FunctionName=fn.name,
                                           StartingPosition="TRIM_HORIZON")["UUID"]
    assert lam.get_event_source_mapping(UUID=uuid)["EventSourceArn"] == consumer["ConsumerARN"]
    put(kin, stream, ["e1", "e2"])
    fn.wait_datas(["e1", "e2"])
    assert {r["eventSourceARN"] for r in fn.records()} == {arn}
    lam.delete_event_source_mapping(UUID=uuid)


def test_throughput_limits_standard_and_fan_out_mappings(make_server):
    """With AWS's per-shard limits on, a standard mapping shares the shard's 5 GetRecords/s with
    other readers and still delivers everything (throttled reads are retried); a consumer-ARN
    mapping reads with the consumer's dedicated throughput."""
    srv = make_server(throughput_limits="aws")
    lam, kin = lam_client(srv), client_for(srv)
    stream, arn = stream_with(kin)
    consumer = kin.register_stream_consumer(StreamARN=arn, ConsumerName="lim")["Consumer"]
    wait_until(lambda: kin.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])[
        "ConsumerDescription"]["ConsumerStatus"] == "ACTIVE", timeout=30, what="consumer")
    std, efo = Recorder(lam, "lim-std"), Recorder(lam, "lim-efo")
    u1 = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=std.name,
                                         StartingPosition="TRIM_HORIZON", BatchSize=1)["UUID"]
    u2 = lam.create_event_source_mapping(EventSourceArn=consumer["ConsumerARN"],
                                         FunctionName=efo.name, StartingPosition="TRIM_HORIZON",
                                         BatchSize=1)["UUID"]
    datas = ["lim-%02d" % i for i in range(15)]
    for d in datas:
        kin.put_record(StreamName=stream, Data=d.encode(), PartitionKey="k")
    std.wait_datas(datas)
    efo.wait_datas(datas)
    assert std.datas()[:15] == datas and efo.datas()[:15] == datas
    lam.delete_event_source_mapping(UUID=u1)
    lam.delete_event_source_mapping(UUID=u2)


def test_on_failure_to_sqs_queue_read_with_the_cli(server, lam, kin):
    """A poison record's OnFailure record reaches an SQS queue of Sluice's SQS, read with
    `aws sqs receive-message` (the AWS CLI v2, Query protocol); the shard moves on."""
    sqs = boto3.client("sqs", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
    queue = "esm-dlq-%d-%d" % (os.getpid(), int(time.time() * 1000) % 100000)
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    fn = Recorder(lam, "sqs-dlq")
    stream, arn = stream_with(kin)
    puts = put(kin, stream, ["fine-0", "poison-1", "fine-2"])
    uuid = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fn.name, StartingPosition="TRIM_HORIZON", BatchSize=10,
        BisectBatchOnFunctionError=True, MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": qarn}})["UUID"]
    fn.wait_datas(["fine-0", "fine-2"])
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    body = None
    deadline = time.monotonic() + 30
    while body is None and time.monotonic() < deadline:
        out = subprocess.run(["/usr/bin/aws", "--endpoint-url", server.endpoint, "--output",
                              "json", "sqs", "receive-message", "--queue-url", url,
                              "--wait-time-seconds", "5"],
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        msgs = json.loads(out.stdout or "{}").get("Messages", [])
        if msgs:
            body = json.loads(msgs[0]["Body"])
    assert body is not None, "no OnFailure record on the queue"
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["KinesisBatchInfo"]["startSequenceNumber"] == puts[1]["SequenceNumber"]
    assert body["KinesisBatchInfo"]["batchSize"] == 1
    assert body["KinesisBatchInfo"]["streamArn"] == arn
    assert "payload" not in body  # SQS and SNS get the range only
    lam.delete_event_source_mapping(UUID=uuid)
