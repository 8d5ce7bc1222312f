"""Conformance with the AWS CLI v2 (Debian's /usr/bin/aws, version 2.9, its own 29-operation
model) against the session's Sluice server: the commands a user types in the README's quick start
and a few more, each checked on its output, plus the error path (exit status and the exact AWS
message on stderr). The pyenv `aws` on PATH is the CLI v1 and is deliberately not used."""
import base64
import json
import subprocess

import pytest

import helpers

from helpers import ACCOUNT, unique_name

AWS = "/usr/bin/aws"


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    return helpers.cli_env(tmp_path_factory.mktemp("cli-home"))


@pytest.fixture
def aws(server, cli_env):
    """aws(*args, check=True) -> (exit status, parsed JSON stdout or None, stderr)."""
    def run(*args, check=True, timeout=120):
        cmd = [AWS, "--endpoint-url", server.endpoint, "--output", "json", *args]
        proc = subprocess.run(cmd, env=cli_env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, (
                "%s exited %d\nstdout: %s\nstderr: %s"
                % (" ".join(cmd), proc.returncode, proc.stdout, proc.stderr))
        out = json.loads(proc.stdout) if proc.stdout.strip() else None
        return proc.returncode, out, proc.stderr
    return run


def test_cli_is_version_2(cli_env):
    proc = subprocess.run([AWS, "--version"], env=cli_env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("aws-cli/2."), proc.stdout


def test_stream_lifecycle_and_data(aws, tmp_path):
    name = unique_name("cli")

    # create-stream and the stream-exists waiter (DescribeStream until ACTIVE).
    _, out, _ = aws("kinesis", "create-stream", "--stream-name", name, "--shard-count", "2")
    assert out is None  # CreateStream has an empty output
    aws("kinesis", "wait", "stream-exists", "--stream-name", name, timeout=200)

    _, out, _ = aws("kinesis", "list-streams")
    assert name in out["StreamNames"]
    assert out["StreamNames"] == sorted(out["StreamNames"])

    _, out, _ = aws("kinesis", "describe-stream-summary", "--stream-name", name)
    summary = out["StreamDescriptionSummary"]
    assert summary["StreamName"] == name
    assert summary["StreamARN"] == "arn:aws:kinesis:us-east-1:%s:stream/%s" % (ACCOUNT, name)
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["OpenShardCount"] == 2
    assert summary["RetentionPeriodHours"] == 24

    # put-record: with raw-in-base64-out the CLI base64-encodes the text we give it.
    _, put, _ = aws("kinesis", "put-record", "--stream-name", name, "--partition-key", "pk-1",
                    "--data", "hello from the cli", "--cli-binary-format", "raw-in-base64-out")
    assert put["ShardId"].startswith("shardId-")
    assert put["SequenceNumber"].isdigit()

    # put-records: 500 records from a JSON file.
    records = [{"Data": "record-%03d" % i, "PartitionKey": "pk-%d" % (i % 13)} for i in range(500)]
    path = tmp_path / "records.json"
    path.write_text(json.dumps(records))
    _, out, _ = aws("kinesis", "put-records", "--stream-name", name, "--records",
                    "file://%s" % path, "--cli-binary-format", "raw-in-base64-out")
    assert out["FailedRecordCount"] == 0
    assert len(out["Records"]) == 500
    expected = {}  # shard -> [(sequence number, data)] in write order
    expected.setdefault(put["ShardId"], []).append((put["SequenceNumber"], b"hello from the cli"))
    for rec, sent in zip(out["Records"], records):
        assert "ErrorCode" not in rec, rec
        expected.setdefault(rec["ShardId"], []).append((rec["SequenceNumber"],
                                                        sent["Data"].encode()))

    # get-shard-iterator + get-records on every shard; Data comes back base64-encoded.
    _, shards, _ = aws("kinesis", "list-shards", "--stream-name", name)
    shard_ids = [s["ShardId"] for s in shards["Shards"]]
    assert sorted(shard_ids) == ["shardId-000000000000", "shardId-000000000001"]
    for shard_id in shard_ids:
        _, it, _ = aws("kinesis", "get-shard-iterator", "--stream-name", name, "--shard-id",
                       shard_id, "--shard-iterator-type", "TRIM_HORIZON")
        iterator = it["ShardIterator"]
        got = []
        for _ in range(50):
            _, out, _ = aws("kinesis", "get-records", "--shard-iterator", iterator)
            got.extend(out["Records"])
            iterator = out["NextShardIterator"]
            if not out["Records"] and out["MillisBehindLatest"] == 0:
                break
        want = expected.get(shard_id, [])
        assert [(r["SequenceNumber"], base64.b64decode(r["Data"])) for r in got] == want
        for r in got:
            assert r["PartitionKey"].startswith("pk-")
            assert "ApproximateArrivalTimestamp" in r

    # Tags.
    aws("kinesis", "add-tags-to-stream", "--stream-name", name, "--tags", "team=data,env=test")
    _, out, _ = aws("kinesis", "list-tags-for-stream", "--stream-name", name)
    assert out["Tags"] == [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "data"}]
    assert out["HasMoreTags"] is False

    # Retention up and down.
    aws("kinesis", "increase-stream-retention-period", "--stream-name", name,
        "--retention-period-hours", "48")
    _, out, _ = aws("kinesis", "describe-stream-summary", "--stream-name", name)
    assert out["StreamDescriptionSummary"]["RetentionPeriodHours"] == 48
    aws("kinesis", "decrease-stream-retention-period", "--stream-name", name,
        "--retention-period-hours", "24")
    _, out, _ = aws("kinesis", "describe-stream-summary", "--stream-name", name)
    assert out["StreamDescriptionSummary"]["RetentionPeriodHours"] == 24

    # delete-stream and the stream-not-exists waiter.
    aws("kinesis", "delete-stream", "--stream-name", name)
    aws("kinesis", "wait", "stream-not-exists", "--stream-name", name, timeout=200)
    _, out, _ = aws("kinesis", "list-streams")
    assert name not in out["StreamNames"]


def test_missing_stream_error(aws):
    name = unique_name("cli-missing")
    rc, out, err = aws("kinesis", "describe-stream-summary", "--stream-name", name, check=False)
    # CLI v2: 254 = the service answered with an error (255 = other failures).
    assert rc in (254, 255), (rc, err)
    assert out is None
    assert err.strip() == (
        "An error occurred (ResourceNotFoundException) when calling the DescribeStreamSummary "
        "operation: Stream %s under account %s not found." % (name, ACCOUNT))


def test_retention_error_message(aws):
    name = unique_name("cli-ret")
    aws("kinesis", "create-stream", "--stream-name", name, "--shard-count", "1")
    aws("kinesis", "wait", "stream-exists", "--stream-name", name, timeout=200)
    rc, _, err = aws("kinesis", "decrease-stream-retention-period", "--stream-name", name,
                     "--retention-period-hours", "12", check=False)
    assert rc == 254, err
    assert err.strip() == (
        "An error occurred (InvalidArgumentException) when calling the "
        "DecreaseStreamRetentionPeriod operation: Minimum allowed retention period is 24 hours. "
        "Requested retention period (12 hours) is too short.")
    aws("kinesis", "delete-stream", "--stream-name", name)
