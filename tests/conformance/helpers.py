"""Shared helpers of the boto3 conformance suite.

The conformance tests drive a real `sluice serve` process with real boto3 and
compare what they see with AWS's documented and observed behaviour
(/work/shared/specs/kinesis-data-streams.md). This module holds what many test
files need: the server process wrapper, boto3 client construction, unique
stream names, the exact-error assertion, hash-range arithmetic computed
independently of the server, and a raw HTTP client for wire-level checks.
It knows nothing of pytest fixtures; conftest.py wires these into fixtures.
"""

import base64
import hashlib
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / "build" / "src" / "server" / "sluice"

REGION = "us-east-1"
ACCOUNT = "000000000000"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "secret"

MAX_HASH = 2**128 - 1
EXPECTED_OPERATION_COUNT = 39

# State-transition delays are zero for the session server so that every
# create/delete/update is complete before the next request.
ZERO_DELAYS = {
    "create_stream_ms": 0,
    "delete_stream_ms": 0,
    "update_stream_ms": 0,
    "consumer_ms": 0,
}


def sluice_bin():
    """Path of the sluice binary under test (environment SLUICE_BIN wins)."""
    return Path(os.environ.get("SLUICE_BIN", str(DEFAULT_BIN)))


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def option_args(options):
    """Turn {'shard_limit': 10} into ['--shard-limit', '10']."""
    args = []
    for name, value in options.items():
        args.append("--" + name.replace("_", "-"))
        args.append(str(value))
    return args


class ServerCrashed(AssertionError):
    """Raised when a server process exited although nobody asked it to."""


class SluiceServer:
    """One `sluice serve` process on 127.0.0.1 with its own data directory.

    The object owns the process, a temporary directory holding the data
    directory and the stderr log, and the port. `stop()` returns the exit
    status; `restart()` keeps the port and the data directory.
    """

    READY_TIMEOUT_S = 20.0

    def __init__(self, options=None, extra_args=None, env=None, data_dir=None, port=None):
        self.binary = sluice_bin()
        self.options = dict(ZERO_DELAYS)
        # Two network threads whatever the machine (a 2-core machine's default is one), so that
        # the suite's connections cross threads.
        self.options["threads"] = 2
        self.options.update(options or {})
        self.extra_args = list(extra_args or [])
        self.tmp_dir = Path(tempfile.mkdtemp(prefix="sluice-conf-"))
        self.data_dir = Path(data_dir) if data_dir else self.tmp_dir / "data"
        self.stderr_path = self.tmp_dir / "stderr.log"
        self.port = port or free_port()
        self.proc = None
        self.env = self._child_env(env)
        # Set when we stop the process on purpose, so that a non-zero status
        # of a SIGKILL we sent ourselves is not reported as a crash.
        self._expected_exit = False

    @staticmethod
    def _child_env(extra):
        # SLUICE_* variables of the caller's environment would silently change
        # the server's configuration, so the child gets none of them.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
        env.update(extra or {})
        return env

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def command(self):
        return (
            [str(self.binary), "serve", "--bind", "127.0.0.1", "--port", str(self.port),
             "--data-dir", str(self.data_dir)]
            + option_args(self.options)
            + self.extra_args
        )

    def start(self):
        if not self.binary.exists():
            raise AssertionError("sluice binary not found at %s (set SLUICE_BIN)" % self.binary)
        self._expected_exit = False
        with open(self.stderr_path, "ab") as err:
            err.write(("=== start: %s\n" % " ".join(self.command())).encode())
            err.flush()
            self.proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                env=self.env, cwd=str(self.tmp_dir))
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + self.READY_TIMEOUT_S
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise ServerCrashed("sluice exited with status %s before accepting connections; "
                                    "stderr:\n%s" % (rc, self.stderr_tail()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        raise AssertionError("sluice did not accept connections on port %d within %.0f s; "
                             "stderr:\n%s" % (self.port, self.READY_TIMEOUT_S, self.stderr_tail()))

    def stderr_tail(self, max_bytes=8000):
        try:
            data = self.stderr_path.read_bytes()
        except OSError:
            return "<no stderr log>"
        return data[-max_bytes:].decode("utf-8", "replace")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def crashed(self):
        """True if the process ended without being told to."""
        return self.proc is not None and self.proc.poll() is not None and not self._expected_exit

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Send `sig`, wait for the exit and return the exit status (None if never started).

        Negative statuses are signals (subprocess convention). A process that
        does not exit within `timeout` is killed and an AssertionError raised.
        """
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self._expected_exit = True
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("sluice did not exit within %.0f s after signal %s; stderr:\n%s"
                                 % (timeout, sig, self.stderr_tail()))

    def restart(self, kill=False):
        """Stop (SIGKILL if kill else SIGTERM) and start again on the same port and data dir.

        A graceful stop must exit with status 0; anything else is a crash.
        """
        rc = self.stop(signal.SIGKILL if kill else signal.SIGTERM)
        if not kill and rc != 0:
            raise ServerCrashed("sluice exited with status %s on SIGTERM; stderr:\n%s"
                                % (rc, self.stderr_tail()))
        return self.start()

    def cleanup(self):
        shutil.rmtree(self.tmp_dir, ignore_errors=True)


def cli_env(home, **extra):
    """An environment in which the AWS CLI (/usr/bin/aws) sees only dummy credentials and no user
    configuration (HOME and its config files under `home`), plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "PYTHON", "SLUICE_"))}
    env.update({
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(Path(home) / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(Path(home) / "credentials"),
        "AWS_PAGER": "",
    })
    env.update(extra)
    return env


def client_for(server_or_endpoint, region=REGION, read_timeout=120, **config_kwargs):
    """A boto3 Kinesis client for a server (or endpoint URL) with retries disabled."""
    endpoint = getattr(server_or_endpoint, "endpoint", server_or_endpoint)
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                    read_timeout=read_timeout, connect_timeout=10, **config_kwargs)
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY,
                                    aws_secret_access_key=SECRET_KEY,
                                    region_name=region)
    return session.client("kinesis", endpoint_url=endpoint, config=config)


def kinesis_operation_names():
    return botocore.session.get_session().get_service_model("kinesis").operation_names


# --- names -------------------------------------------------------------------

_name_counter = itertools.count(1)


def unique_name(tag=""):
    """A stream/consumer name unique within this test process.

    It carries the running test's name (from PYTEST_CURRENT_TEST) so that a
    stream left behind points at the test that made it.
    """
    current = os.environ.get("PYTEST_CURRENT_TEST", "x").split(" ")[0]
    test = current.split("::")[-1]
    test = re.sub(r"[^a-zA-Z0-9_.-]", "-", test)[:80]
    parts = [test, tag, str(next(_name_counter))]
    return "-".join(p for p in parts if p)


def stream_arn(name, region=REGION, account=ACCOUNT):
    return "arn:aws:kinesis:%s:%s:stream/%s" % (region, account, name)


# --- waiting -------------------------------------------------------------------

def wait_until(predicate, timeout=30.0, interval=0.02, what="condition"):
    """Poll `predicate` until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def stream_status(client, name):
    """StreamStatus of `name`, or None once the stream does not exist."""
    try:
        return client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def wait_for_status(client, name, status="ACTIVE", timeout=30.0):
    wait_until(lambda: stream_status(client, name) == status, timeout=timeout,
               what="stream %s to become %s" % (name, status))


def wait_for_gone(client, name, timeout=30.0):
    wait_until(lambda: stream_status(client, name) is None, timeout=timeout,
               what="stream %s to disappear" % name)


def create_stream_and_wait(client, name, shards=1, **kwargs):
    """CreateStream (PROVISIONED with `shards` unless kwargs say otherwise), wait for ACTIVE.

    Pass shards=None to leave ShardCount out (e.g. for ON_DEMAND). Returns
    the DescribeStreamSummary description.
    """
    args = dict(StreamName=name)
    if shards is not None:
        args["ShardCount"] = shards
    args.update(kwargs)
    client.create_stream(**args)
    wait_for_status(client, name, "ACTIVE")
    return client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]


def list_all_shards(client, name):
    shards, token = [], None
    while True:
        resp = client.list_shards(NextToken=token) if token else client.list_shards(StreamName=name)
        shards.extend(resp["Shards"])
        token = resp.get("NextToken")
        if not token:
            return shards



def read_shard(client, stream, shard_id, rounds_max=100_000):
    """Every record of one shard from TRIM_HORIZON to the tip, in the order GetRecords returns them.

    Stops at the first empty page at the tip (MillisBehindLatest 0) or when the shard is closed and
    read to its end; fails after rounds_max pages so a server that never reaches the tip cannot
    hang a test."""
    it = client.get_shard_iterator(StreamName=stream, ShardId=shard_id,
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    for _ in range(rounds_max):
        resp = client.get_records(ShardIterator=it, Limit=10_000)
        records.extend(resp["Records"])
        it = resp.get("NextShardIterator")
        if it is None or (not resp["Records"] and resp.get("MillisBehindLatest", 0) == 0):
            return records
    raise AssertionError("GetRecords never reached the tip of %s" % shard_id)


def read_all_shards(client, stream, shards=None):
    """{shard id: [record]} over `shards` (default: the first page of ListShards), each read by
    read_shard."""
    if shards is None:
        shards = client.list_shards(StreamName=stream)["Shards"]
    return {s["ShardId"]: read_shard(client, stream, s["ShardId"]) for s in shards}


def seqs_and_data(records):
    """[(SequenceNumber, Data)] of GetRecords records."""
    return [(r["SequenceNumber"], r["Data"]) for r in records]


def release_server(srv, ok, kept_message):
    """The finally block of a test that runs its own server: kills it if still running, then
    removes its files when the test passed (ok), or else prints kept_message (where they are)."""
    if srv.alive():
        srv.stop(signal.SIGKILL)
    if ok:
        srv.cleanup()
    else:
        print(kept_message)

# --- errors --------------------------------------------------------------------

def assert_error(exc_info_or_callable, code, message=None, status=None):
    """Assert an AWS error with exact `code` and (if given) exact `message`.

    Accepts a pytest ExceptionInfo, a ClientError, or a zero-argument callable
    that must raise ClientError. `message` is compared exactly when it is a
    string, or must fullmatch when it is a compiled regular expression.
    Returns the ClientError.
    """
    if callable(exc_info_or_callable) and not isinstance(exc_info_or_callable, BaseException):
        try:
            result = exc_info_or_callable()
        except ClientError as e:
            err = e
        else:
            raise AssertionError("expected %s but the call succeeded: %r" % (code, result))
    elif isinstance(exc_info_or_callable, ClientError):
        err = exc_info_or_callable
    else:
        err = exc_info_or_callable.value
    got_code = err.response.get("Error", {}).get("Code")
    got_msg = err.response.get("Error", {}).get("Message")
    assert got_code == code, "expected error code %r, got %r (message %r)" % (code, got_code, got_msg)
    if message is not None:
        if isinstance(message, re.Pattern):
            assert got_msg is not None and message.fullmatch(got_msg), \
                "message %r does not match %r" % (got_msg, message.pattern)
        else:
            assert got_msg == message, "expected message\n  %r\ngot\n  %r" % (message, got_msg)
    if status is not None:
        got_status = err.response["ResponseMetadata"]["HTTPStatusCode"]
        assert got_status == status, "expected HTTP %s, got %s" % (status, got_status)
    return err


def validation_message(*errors):
    """The exact ValidationException text for (value, path, rule) triples, as AWS prints it."""
    parts = []
    for value, path, rule in errors:
        shown = "null" if value is None else "'%s'" % value
        parts.append("Value %s at '%s' failed to satisfy constraint: %s" % (shown, path, rule))
    n = len(parts)
    prefix = "1 validation error detected: " if n == 1 else "%d validation errors detected: " % n
    return prefix + "; ".join(parts)


# --- hash ranges ---------------------------------------------------------------

def partition_hash(key):
    """MD5 of the UTF-8 partition key as an unsigned big-endian 128-bit integer."""
    return int.from_bytes(hashlib.md5(key.encode("utf-8")).digest(), "big")


def expected_ranges(n):
    """Hash ranges CreateStream(n) must produce, computed independently of the server."""
    step = 2**128 // n
    ranges = []
    for i in range(n):
        start = i * step
        end = MAX_HASH if i == n - 1 else (i + 1) * step - 1
        ranges.append((start, end))
    return ranges


def shard_for_hash(shards, h):
    """The open shard (from a ListShards/DescribeStream list) whose range contains h."""
    found = [s for s in shards
             if "EndingSequenceNumber" not in s["SequenceNumberRange"]
             and int(s["HashKeyRange"]["StartingHashKey"]) <= h <= int(s["HashKeyRange"]["EndingHashKey"])]
    assert len(found) == 1, "hash %d is covered by %d open shards" % (h, len(found))
    return found[0]["ShardId"]


# --- raw HTTP --------------------------------------------------------------------

def sigv4_headers(endpoint, target, body, content_type="application/x-amz-json-1.1",
                  region=REGION, access_key=ACCESS_KEY):
    """Headers of a correctly SigV4-signed Kinesis POST, as boto3 would send them."""
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if target is not None:
        headers["X-Amz-Target"] = target
    req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(access_key, SECRET_KEY), "kinesis", region).add_auth(req)
    return dict(req.headers.items())


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage (case-insensitive get)
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "RawResponse(%d, %r)" % (self.status, self.body[:300])


def raw_request(server, target="Kinesis_20131202.ListStreams", body=b"{}", headers=None,
                method="POST", sign=True, content_type="application/x-amz-json-1.1",
                path="/", timeout=60):
    """Send one HTTP/1.1 request with http.client and return a RawResponse.

    `body` may be bytes, str or a dict (JSON-encoded). With sign=True the
    request carries a valid SigV4 Authorization header; `headers` are applied
    last (a value of None removes a header).
    """
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    if sign:
        hdrs = sigv4_headers(server.endpoint, target, body, content_type)
    else:
        hdrs = {}
        if content_type is not None:
            hdrs["Content-Type"] = content_type
        if target is not None:
            hdrs["X-Amz-Target"] = target
    if content_type is None:
        hdrs.pop("Content-Type", None)
    for k, v in (headers or {}).items():
        for existing in [h for h in hdrs if h.lower() == k.lower()]:
            del hdrs[existing]
        if v is not None:
            hdrs[k] = v
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, path, body=body if body or method == "POST" else None, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return RawResponse(resp.status, resp.headers, data)
    finally:
        conn.close()


def b64(data):
    return base64.b64encode(data).decode()


def assert_validation(exc_info_or_callable, errors, count=None):
    """Assert a ValidationException listing exactly `errors`, in any order.

    `errors` are (value, path, rule) triples (value None prints as null; a
    compiled regex as value matches the printed value). AWS lists at most ten
    errors and the "N validation errors detected" prefix counts the listed
    ones (observed AWS via kinesalite's 501-record PutRecords test); pass
    `count` to check a prefix that differs from len(errors).
    """
    err = assert_error(exc_info_or_callable, "ValidationException")
    msg = err.response["Error"]["Message"]
    n = len(errors) if count is None else count
    prefix = "1 validation error detected: " if n == 1 else "%d validation errors detected: " % n
    assert msg.startswith(prefix), "expected prefix %r in %r" % (prefix, msg)
    got = msg[len(prefix):].split("; Value ")
    got = [got[0]] + ["Value " + g for g in got[1:]]
    want = []
    for value, path, rule in errors:
        if isinstance(value, re.Pattern):
            shown = "'" + value.pattern + "'"
        elif value is None:
            shown = "null"
        else:
            shown = "'" + re.escape(str(value)) + "'"
        want.append(re.compile("Value %s at '%s' failed to satisfy constraint: %s"
                               % (shown, re.escape(path), re.escape(rule))))
    assert len(got) == len(want), "expected %d listed errors, got %d: %r" % (len(want), len(got), msg)
    remaining = list(got)
    for pattern in want:
        match = [g for g in remaining if pattern.fullmatch(g)]
        assert match, "no listed error matches %r in %r" % (pattern.pattern, msg)
        remaining.remove(match[0])
    return err


def raw_call(server, operation, body, **kwargs):
    """POST a signed JSON request for Kinesis_20131202.<operation>; returns RawResponse."""
    return raw_request(server, target="Kinesis_20131202." + operation, body=body, **kwargs)


def assert_raw_error(resp, error_type, message=None, status=400, message_key="message"):
    """Check a raw JSON error response: status, exact __type and (if given) exact message.

    message=None means the body must carry no message at all.
    """
    assert resp.status == status, "expected HTTP %d, got %r" % (status, resp)
    body = resp.json()
    expected = {"__type": error_type}
    if message is not None:
        expected[message_key] = message
    assert body == expected, "expected body %r, got %r" % (expected, body)


def seq_hex(seq):
    return "%x" % int(seq)
