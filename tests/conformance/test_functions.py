"""Conformance: Lambda functions (docs/functions.md) through real clients.

Functions are deployed as zips, as on AWS, and run by the server through the Lambda Runtime API:
a bash+curl `bootstrap` (the shape of AWS's custom-runtime tutorial) through the AWS CLI v2, Node
and Python handlers through boto3 (the JS SDK v3 runs tests/conformance/js/functions.test.mjs).
Each behaviour a user sees is checked: the answer, environment variables, a thrown error
(FunctionError and the error document), the timeout, a crash, warm reuse, the concurrency limit,
DryRun, Event invocations and their retries, the logs (Tail), the states SDK waiters poll, and
durability across a restart.
"""

import base64
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import zipfile

import pytest

from helpers import ServerCrashed, SluiceServer, unique_name, wait_until

ROLE = "arn:aws:iam::000000000000:role/lambda-role"

BOOTSTRAP = """#!/bin/bash
set -euo pipefail
source $LAMBDA_TASK_ROOT/"$(echo $_HANDLER | cut -d. -f1).sh"
while true
do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  RESPONSE=$($(echo "$_HANDLER" | cut -d. -f2) "$EVENT_DATA")
  curl -sS "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" -d "$RESPONSE"
done
"""

FUNCTION_SH = """function handler () {
  EVENT_DATA=$1
  echo "$EVENT_DATA" 1>&2;
  RESPONSE="Echoing request: '$EVENT_DATA'"
  echo $RESPONSE
}
"""

NODE_ASYNC = """
let count = 0;
export const handler = async (event, context) => {
  count += 1;
  if (event.fail) throw new TypeError('boom: ' + event.fail);
  if (event.sleep) await new Promise((r) => setTimeout(r, event.sleep));
  if (event.crash) process.exit(3);
  console.log('hello from node', event.n ?? 0);
  return {
    count, event, greeting: process.env.GREETING ?? null,
    requestId: context.awsRequestId, name: context.functionName,
    arn: context.invokedFunctionArn, memory: context.memoryLimitInMB,
    remaining: context.getRemainingTimeInMillis(), logGroup: context.logGroupName,
  };
};
"""

NODE_CALLBACK = """
exports.handler = function (event, context, callback) {
  if (event.fail) return callback(new Error('callback failure'));
  setTimeout(() => callback(null, { style: 'callback', got: event }), 5);
};
"""

PYTHON_HANDLER = """
import logging
import os
import time

logger = logging.getLogger()
logger.setLevel(logging.INFO)

COUNT = 0

class Boom(Exception):
    pass

def handler(event, context):
    global COUNT
    COUNT += 1
    if event.get("fail"):
        raise Boom("python failure")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    print("hello from python", COUNT)
    logger.info("logged %d", COUNT)
    return {"count": COUNT, "event": event, "greeting": os.environ.get("GREETING"),
            "requestId": context.aws_request_id, "name": context.function_name,
            "remaining": context.get_remaining_time_in_millis(),
            "memory": context.memory_limit_in_mb}
"""

# An Event target that fails its first two attempts and succeeds on the third; it counts its
# attempts in a file beside the code (the environment is killed between attempts by the crash).
NODE_FLAKY = """
import fs from 'node:fs';
export const handler = async (event) => {
  const file = process.env.MARKER;
  const n = (fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : 0) + 1;
  fs.writeFileSync(file, String(n));
  if (n < 3) throw new Error('attempt ' + n + ' fails');
  return 'ok';
};
"""

NODE_FAILING = """
import fs from 'node:fs';
export const handler = async (event) => {
  const file = process.env.MARKER;
  const n = (fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : 0) + 1;
  fs.writeFileSync(file, String(n));
  throw new Error('attempt ' + n + ' fails');
};
"""

NODE_RECORDER = """
import fs from 'node:fs';
export const handler = async (event) => {
  fs.appendFileSync(process.env.RECORD, event.id + '\\n');
  return 'ok';
};
"""

PYTHON_WHOAMI = """
import os
count = 0
def handler(event, context):
    global count
    count += 1
    out = {"uid": os.getuid(), "gid": os.getgid(), "cwd": os.getcwd(), "count": count,
           "task_root": os.environ["LAMBDA_TASK_ROOT"], "version": open("version.txt").read()}
    path = os.path.join(os.environ["TMPDIR"], "scratch")
    with open(path, "w") as f:
        f.write("ok")
    out["tmp_ok"] = open(path).read() == "ok"
    try:
        os.listdir(event["data_dir"])
        out["data_dir"] = "readable"
    except PermissionError:
        out["data_dir"] = "denied"
    try:
        open(os.path.join(out["task_root"], "app.py"), "a").close()
        out["code"] = "writable"
    except PermissionError:
        out["code"] = "read-only"
    return out
"""


def fn_name(tag):
    """A function name unique in this test process: at most 64 of [A-Za-z0-9_-], ending in the
    tag and a counter."""
    return unique_name(tag).replace(".", "-")[-64:]


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, (text, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3  # unix: the mode bits are meaningful
            z.writestr(info, text)
    return buf.getvalue()


@pytest.fixture(scope="module")
def lam(server):
    return _lambda(server)


def _lambda(server, access_key="AKIDEXAMPLE"):
    import boto3
    from botocore.config import Config
    return boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=access_key, aws_secret_access_key="secret",
                        config=Config(retries={"max_attempts": 0}, read_timeout=60))


def create(lam, name, runtime, handler, files, **kwargs):
    resp = lam.create_function(FunctionName=name, Runtime=runtime, Handler=handler, Role=ROLE,
                               Code={"ZipFile": make_zip(files)}, **kwargs)
    lam.get_waiter("function_active_v2").wait(FunctionName=name,
                                              WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    return resp


def invoke(lam, name, event=None, **kwargs):
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **kwargs)
    payload = resp["Payload"].read()
    return resp, json.loads(payload) if payload else None


def test_cli_bootstrap_bash_curl(server):
    """AWS's custom-runtime tutorial, through the AWS CLI v2: create-function with a zip holding a
    bash+curl bootstrap, then invoke returns the handler's output and the log tail."""
    name = fn_name("bash")
    tmp = tempfile.mkdtemp()
    try:
        zpath = os.path.join(tmp, "function.zip")
        with open(zpath, "wb") as f:
            f.write(make_zip({"bootstrap": (BOOTSTRAP, 0o755), "function.sh": (FUNCTION_SH, 0o755)}))
        env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                   AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        cli = ["/usr/bin/aws", "--endpoint-url", server.endpoint, "--output", "json", "lambda"]
        out = subprocess.run(cli + ["create-function", "--function-name", name, "--zip-file",
                                    "fileb://" + zpath, "--handler", "function.handler",
                                    "--runtime", "provided.al2023", "--role", ROLE],
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        created = json.loads(out.stdout)
        assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:" + name
        assert created["State"] == "Pending"
        result = os.path.join(tmp, "out.json")
        out = subprocess.run(cli + ["invoke", "--function-name", name, "--payload",
                                    '{"text":"Hello"}', "--cli-binary-format",
                                    "raw-in-base64-out", "--log-type", "Tail", result],
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        meta = json.loads(out.stdout)
        assert meta["StatusCode"] == 200
        with open(result) as f:
            assert f.read().strip() == "Echoing request: '{\"text\":\"Hello\"}'"
        log = base64.b64decode(meta["LogResult"]).decode()
        assert log.startswith("START RequestId: ")
        assert '{"text":"Hello"}' in log  # the handler's stderr
        assert "\nEND RequestId: " in log and "\nREPORT RequestId: " in log
        assert "Init Duration: " in log
    finally:
        shutil.rmtree(tmp)


def test_node_async_env_context_and_warm_reuse(server, lam):
    name = fn_name("node")
    create(lam, name, "nodejs20.x", "index.handler", {"index.mjs": (NODE_ASYNC, 0o644)},
           Environment={"Variables": {"GREETING": "hi there"}}, MemorySize=256)
    resp, out = invoke(lam, name, {"n": 1})
    assert resp["StatusCode"] == 200 and "FunctionError" not in resp
    assert out["count"] == 1 and out["event"] == {"n": 1}
    assert out["greeting"] == "hi there"
    assert out["name"] == name and out["memory"] == "256"
    assert out["arn"].endswith(":function:" + name)
    assert 0 < out["remaining"] <= 3000
    assert out["logGroup"] == "/aws/lambda/" + name
    # warm: the module-level counter goes on in the same environment
    _, out2 = invoke(lam, name, {"n": 2})
    assert out2["count"] == 2 and out2["requestId"] != out["requestId"]
    resp, _ = invoke(lam, name, {"n": 3}, LogType="Tail")
    log = base64.b64decode(resp["LogResult"]).decode()
    assert "\tINFO\thello from node 3" in log
    assert "Init Duration" not in log  # warm


def test_node_thrown_error_is_function_error(server, lam):
    name = fn_name("nodeerr")
    create(lam, name, "nodejs22.x", "index.handler", {"index.mjs": (NODE_ASYNC, 0o644)})
    resp, out = invoke(lam, name, {"fail": "x"})
    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "TypeError" and out["errorMessage"] == "boom: x"
    assert isinstance(out["trace"], list)


def test_node_callback_style(server, lam):
    name = fn_name("nodecb")
    create(lam, name, "nodejs18.x", "index.handler", {"index.js": (NODE_CALLBACK, 0o644)})
    _, out = invoke(lam, name, {"a": 1})
    assert out == {"style": "callback", "got": {"a": 1}}
    resp, out = invoke(lam, name, {"fail": True})
    assert resp["FunctionError"] == "Unhandled" and out["errorMessage"] == "callback failure"


def test_python_handler(server, lam):
    name = fn_name("py")
    create(lam, name, "python3.12", "app.handler", {"app.py": (PYTHON_HANDLER, 0o644)},
           Environment={"Variables": {"GREETING": "hallo"}})
    resp, out = invoke(lam, name, {"k": "v"}, LogType="Tail")
    assert out["count"] == 1 and out["event"] == {"k": "v"} and out["greeting"] == "hallo"
    assert out["memory"] == "128" and out["name"] == name
    log = base64.b64decode(resp["LogResult"]).decode()
    assert "hello from python 1" in log
    assert re.search(r"\n\[INFO\]\t\d{4}-\d\d-\d\dT[0-9:.]+Z\t%s\tlogged 1\n" % out["requestId"], log)
    _, out = invoke(lam, name, {})
    assert out["count"] == 2
    resp, out = invoke(lam, name, {"fail": True})
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Boom" and out["errorMessage"] == "python failure"
    assert isinstance(out["stackTrace"], list)


def test_timeout_kills_and_reports(server, lam):
    name = fn_name("slow")
    create(lam, name, "nodejs20.x", "index.handler", {"index.mjs": (NODE_ASYNC, 0o644)},
           Timeout=1)
    t0 = time.monotonic()
    resp, out = invoke(lam, name, {"sleep": 5000}, LogType="Tail")
    assert time.monotonic() - t0 < 4
    assert resp["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in out["errorMessage"]
    assert "Task timed out after 1.00 seconds" in base64.b64decode(resp["LogResult"]).decode()
    # a fresh environment answers the next call (the old one was killed)
    _, out = invoke(lam, name, {})
    assert out["count"] == 1


def test_crash_is_runtime_exit_error(server, lam):
    name = fn_name("crash")
    create(lam, name, "nodejs20.x", "index.handler", {"index.mjs": (NODE_ASYNC, 0o644)})
    resp, out = invoke(lam, name, {"crash": True})
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in out["errorMessage"]
    _, out = invoke(lam, name, {})
    assert out["count"] == 1


def test_concurrency_limit_throttles(server, lam):
    name = fn_name("conc")
    create(lam, name, "python3.11", "app.handler", {"app.py": (PYTHON_HANDLER, 0o644)})
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    assert lam.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 1}
    results = {}

    def slow():
        results["slow"] = invoke(_lambda(server), name, {"sleep": 2})

    t = threading.Thread(target=slow)
    t.start()
    # the slow invocation holds the only slot once its event is delivered (START in the log)
    log = os.path.join(server.data_dir, "functions", name, "logs", "function.log")
    wait_until(lambda: os.path.exists(log) and "START RequestId" in open(log).read(), timeout=30,
               what="the first invocation started")
    with pytest.raises(lam.exceptions.TooManyRequestsException) as e:
        invoke(lam, name, {})
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert e.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert e.value.response["Error"]["Message"] == "Rate Exceeded."
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
    assert e.value.response["retryAfterSeconds"] == "1"
    t.join()
    assert results["slow"][1]["count"] == 1
    lam.delete_function_concurrency(FunctionName=name)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(lam.exceptions.TooManyRequestsException):
        invoke(lam, name, {})


def test_dry_run_and_event(server, lam):
    name = fn_name("evt")
    create(lam, name, "python3.12", "app.handler", {"app.py": (PYTHON_HANDLER, 0o644)})
    resp = lam.invoke(FunctionName=name, InvocationType="DryRun", Payload=b"{}")
    assert resp["StatusCode"] == 204
    resp = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"e":1}')
    assert resp["StatusCode"] == 202
    log = os.path.join(server.data_dir, "functions", name, "logs", "function.log")
    wait_until(lambda: os.path.exists(log) and "REPORT RequestId" in open(log).read(),
               timeout=20, what="the Event invocation ran")


def test_event_retried_twice(make_server):
    srv = make_server(functions_retry_ms=200)
    lam = _lambda(srv)
    name = fn_name("flaky")
    marker = os.path.join(srv.data_dir, "marker-" + name)
    create(lam, name, "nodejs20.x", "index.handler", {"index.mjs": (NODE_FLAKY, 0o644)},
           Environment={"Variables": {"MARKER": marker}})
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    wait_until(lambda: os.path.exists(marker) and open(marker).read() == "3", timeout=30,
               what="three attempts")
    qdir = os.path.join(srv.data_dir, "functions", name, "queue")
    wait_until(lambda: not os.listdir(qdir), timeout=10, what="the queue entry removed")


def test_event_attempts_survive_kill(make_server):
    """A failed Event invocation's attempts are counted across a kill -9 of the server: after the
    restart it is tried only the remaining times (three attempts in all, as AWS)."""
    srv = make_server(functions_retry_ms=3600000)
    lam = _lambda(srv)
    name = fn_name("always")
    marker = os.path.join(srv.data_dir, "marker-" + name)
    create(lam, name, "nodejs20.x", "index.handler", {"index.mjs": (NODE_FAILING, 0o644)},
           Environment={"Variables": {"MARKER": marker}})
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    qdir = os.path.join(srv.data_dir, "functions", name, "queue")
    # the first attempt failed and is recorded; the next one is an hour away
    wait_until(lambda: os.path.exists(marker) and open(marker).read() == "1"
               and [f for f in os.listdir(qdir) if f.endswith("-1.evt")],
               timeout=30, what="the first failed attempt recorded")
    srv.options["functions_retry_ms"] = 100
    srv.restart(kill=True)
    wait_until(lambda: not os.listdir(qdir), timeout=30, what="the queue entry discarded")
    assert open(marker).read() == "3"
    log = os.path.join(srv.data_dir, "functions", name, "logs", "function.log")
    assert "Event invocation discarded after 3 attempts" in open(log).read()


def test_event_queue_survives_kill(make_server):
    """Event invocations acknowledged with 202 survive a kill -9 and all run after the restart."""
    srv = make_server()
    lam = _lambda(srv)
    name = fn_name("queued")
    record = os.path.join(srv.data_dir, "record-" + name)
    create(lam, name, "nodejs20.x", "index.handler", {"index.mjs": (NODE_RECORDER, 0o644)},
           Environment={"Variables": {"RECORD": record}})
    # no concurrency: every event waits in the queue
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    ids = ["e%02d" % i for i in range(20)]
    for i in ids:
        resp = lam.invoke(FunctionName=name, InvocationType="Event",
                          Payload=json.dumps({"id": i}).encode())
        assert resp["StatusCode"] == 202
    srv.restart(kill=True)
    assert not os.path.exists(record)
    lam = _lambda(srv)
    lam.delete_function_concurrency(FunctionName=name)
    wait_until(lambda: os.path.exists(record) and len(open(record).read().split()) == 20,
               timeout=60, what="every queued event ran")
    assert sorted(open(record).read().split()) == ids
    qdir = os.path.join(srv.data_dir, "functions", name, "queue")
    wait_until(lambda: not os.listdir(qdir), timeout=10, what="the queue emptied")


@pytest.mark.skipif(os.geteuid() != 0, reason="--functions-user needs the server to run as root")
def test_functions_user(make_server):
    """--functions-user: function processes run as that user, from a copy of their code it can
    read but not change, with their own TMPDIR, and cannot read the server's data directory."""
    import pwd
    nobody = pwd.getpwnam("nobody")
    srv = make_server(functions_user="nobody")
    lam = _lambda(srv)
    name = fn_name("user")
    create(lam, name, "python3.12", "app.handler",
           {"app.py": (PYTHON_WHOAMI, 0o600), "version.txt": ("1", 0o600)})
    _, out = invoke(lam, name, {"data_dir": str(srv.data_dir)})
    assert (out["uid"], out["gid"]) == (nobody.pw_uid, nobody.pw_gid)
    assert out["data_dir"] == "denied" and out["code"] == "read-only" and out["tmp_ok"]
    assert out["cwd"] == out["task_root"] and not out["cwd"].startswith(str(srv.data_dir))
    assert out["version"] == "1"
    _, out = invoke(lam, name, {"data_dir": str(srv.data_dir)})
    assert out["count"] == 2  # the warm environment is reused
    # new code: a new copy, the old one removed
    old_root = out["task_root"]
    lam.update_function_code(FunctionName=name, ZipFile=make_zip(
        {"app.py": (PYTHON_WHOAMI, 0o600), "version.txt": ("2", 0o600)}))
    wait_until(lambda: lam.get_function(FunctionName=name)["Configuration"]["LastUpdateStatus"]
               == "Successful", timeout=30, what="the update")
    _, out = invoke(lam, name, {"data_dir": str(srv.data_dir)})
    assert out["version"] == "2" and out["count"] == 1 and out["uid"] == nobody.pw_uid
    assert not os.path.exists(old_root)
    # Node's runtime client too
    node = fn_name("usernode")
    create(lam, node, "nodejs20.x", "index.handler", {"index.mjs": (NODE_ASYNC, 0o600)})
    _, out = invoke(lam, node, {})
    assert out["count"] == 1
    run_root = os.path.dirname(old_root)
    srv.stop()
    assert not os.path.exists(run_root)  # removed at shutdown


def test_functions_user_unknown():
    """An unknown --functions-user stops the start with a message, not at the first invocation."""
    srv = SluiceServer(options={"functions_user": "no-such-user-here"})
    try:
        with pytest.raises(ServerCrashed) as e:
            srv.start()
        assert "--functions-user no-such-user-here: no such user" in str(e.value)
    finally:
        srv.stop()
        srv.cleanup()


def test_delete_during_invocations(server, lam):
    """Deleting a function while its Event queue runs and a call is in progress ends the call
    with an error and leaves nothing running."""
    name = fn_name("del")
    create(lam, name, "python3.12", "app.handler", {"app.py": (PYTHON_HANDLER, 0o644)})
    for _ in range(5):
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"sleep": 0.5}')
    results = {}

    def slow():
        results["slow"] = invoke(_lambda(server), name, {"sleep": 3})

    t = threading.Thread(target=slow)
    t.start()
    log = os.path.join(server.data_dir, "functions", name, "logs", "function.log")
    # five events and the call: six starts (each event runs once: they succeed)
    wait_until(lambda: os.path.exists(log) and open(log).read().count("START RequestId") >= 6,
               timeout=30, what="every invocation started")
    lam.delete_function(FunctionName=name)
    t.join()
    resp, _ = results["slow"]
    assert resp["FunctionError"] == "Unhandled"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=name)
    assert not os.path.exists(os.path.join(server.data_dir, "functions", name))


def test_errors_as_botocore_parses_them(server, lam):
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as e:
        lam.get_function(FunctionName="no-such-function")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert e.value.response["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function")
    name = fn_name("dup")
    create(lam, name, "python3.12", "app.handler", {"app.py": (PYTHON_HANDLER, 0o644)})
    with pytest.raises(lam.exceptions.ResourceConflictException) as e:
        lam.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler",
                            Role=ROLE, Code={"ZipFile": make_zip({"app.py": ("", 0o644)})})
    assert e.value.response["Error"]["Message"] == "Function already exist: " + name
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_function(FunctionName=fn_name("badzip"), Runtime="python3.12",
                            Handler="app.handler", Role=ROLE, Code={"ZipFile": b"not a zip"})
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=name, Payload=b"{not json")
    # operations this server does not serve: a client error, not a retried 500
    with pytest.raises(lam.exceptions.ClientError) as e:
        lam.list_aliases(FunctionName=name)
    assert e.value.response["Error"]["Code"] == "NotImplementedException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_functions_are_per_account(server, lam):
    name = fn_name("acct")
    create(lam, name, "python3.12", "app.handler", {"app.py": (PYTHON_HANDLER, 0o644)})
    other = _lambda(server, access_key="111122223333")
    with pytest.raises(other.exceptions.ResourceNotFoundException) as e:
        other.get_function(FunctionName=name)
    assert e.value.response["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:111122223333:function:" + name)
    create(other, name, "python3.12", "app.handler", {"app.py": (PYTHON_HANDLER, 0o644)})
    arn = other.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert arn == "arn:aws:lambda:us-east-1:111122223333:function:" + name
    _, out = invoke(other, name, {})
    assert out["count"] == 1


def test_list_update_delete_and_restart(make_server):
    srv = make_server()
    lam = _lambda(srv)
    names = sorted(fn_name("l%d" % i) for i in range(3))
    for n in names:
        create(lam, n, "python3.12", "app.handler", {"app.py": (PYTHON_HANDLER, 0o644)})
    page = lam.list_functions(MaxItems=2)
    assert [f["FunctionName"] for f in page["Functions"]] == names[:2]
    page2 = lam.list_functions(MaxItems=2, Marker=page["NextMarker"])
    assert [f["FunctionName"] for f in page2["Functions"]] == names[2:]
    assert "NextMarker" not in page2
    # configuration and code updates take effect in new environments
    lam.update_function_configuration(FunctionName=names[0], Timeout=10,
                                      Environment={"Variables": {"GREETING": "updated"}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=names[0],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    _, out = invoke(lam, names[0], {})
    assert out["greeting"] == "updated" and out["remaining"] > 3000
    lam.update_function_code(FunctionName=names[0], ZipFile=make_zip(
        {"app.py": ("def handler(event, context):\n    return 'v2'\n", 0o644)}))
    _, out = invoke(lam, names[0], {})
    assert out == "v2"
    lam.delete_function(FunctionName=names[1])
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=names[1])
    # durable: the functions and their code survive a restart
    srv.restart()
    lam = _lambda(srv)
    got = lam.get_function_configuration(FunctionName=names[0])
    assert got["Timeout"] == 10 and got["State"] == "Active"
    assert got["Environment"] == {"Variables": {"GREETING": "updated"}}
    _, out = invoke(lam, names[0], {})
    assert out == "v2"
    assert sorted(f["FunctionName"] for f in lam.list_functions()["Functions"]) == [names[0],
                                                                                     names[2]]


def test_reduced_environment_and_memory_limit(make_server):
    """The server's own environment does not reach a function; MemorySize bounds its data."""
    srv = make_server(env={"SLUICE_TEST_SECRET": "do-not-leak"})
    lam = _lambda(srv)
    name = fn_name("env")
    code = ("import os\n"
            "def handler(event, context):\n"
            "    if event.get('alloc_mb'):\n"
            "        bytearray(event['alloc_mb'] << 20)\n"
            "    return {'secret': os.environ.get('SLUICE_TEST_SECRET'), 'cwd': os.getcwd(),\n"
            "            'root': os.environ['LAMBDA_TASK_ROOT'], 'path': os.environ['PATH'],\n"
            "            'region': os.environ['AWS_REGION'],\n"
            "            'api': os.environ['AWS_LAMBDA_RUNTIME_API']}\n")
    create(lam, name, "python3.12", "app.handler", {"app.py": (code, 0o644)})
    _, out = invoke(lam, name, {})
    assert out["secret"] is None
    assert out["cwd"] == out["root"] and out["root"].startswith(str(srv.data_dir))
    assert out["path"] == "/usr/local/bin:/usr/bin:/bin" and out["region"] == "us-east-1"
    assert out["api"].startswith("127.0.0.1:")
    resp, out = invoke(lam, name, {"alloc_mb": 1024})
    assert resp["FunctionError"] == "Unhandled" and out["errorType"] == "MemoryError"


def test_only_admins_create_functions_when_signatures_are_verified(make_server, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text("[boss]\naws_access_key_id = AKIDADMIN\naws_secret_access_key = s1\n"
                     "admin = true\n\n[app]\naws_access_key_id = AKIDAPP\n"
                     "aws_secret_access_key = s2\n")
    srv = make_server(auth="sigv4", credentials=str(creds))

    def client(key, secret):
        import boto3
        from botocore.config import Config
        return boto3.client("lambda", endpoint_url=srv.endpoint, region_name="us-east-1",
                            aws_access_key_id=key, aws_secret_access_key=secret,
                            config=Config(retries={"max_attempts": 0}))

    boss, app = client("AKIDADMIN", "s1"), client("AKIDAPP", "s2")
    import json
    import boto3
    iam = boto3.client("iam", endpoint_url=srv.endpoint, region_name="us-east-1",
                       aws_access_key_id="AKIDADMIN", aws_secret_access_key="s1")
    # the execution role must exist and trust Lambda when signatures are verified
    iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}))
    name = fn_name("auth")
    with pytest.raises(app.exceptions.ClientError) as e:
        create(app, name, "python3.12", "app.handler", {"app.py": (PYTHON_HANDLER, 0o644)})
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "arn:aws:iam::000000000000:user/app" in e.value.response["Error"]["Message"]
    create(boss, name, "python3.12", "app.handler", {"app.py": (PYTHON_HANDLER, 0o644)})
    # a principal whose policies allow lambda:InvokeFunction may invoke (docs/security.md,
    # "Authorization"); one without (app, a non-admin of the credentials file) may not
    with pytest.raises(app.exceptions.ClientError) as e:
        invoke(app, name, {})
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    iam.create_user(UserName="invoker")
    key = iam.create_access_key(UserName="invoker")["AccessKey"]
    iam.put_user_policy(UserName="invoker", PolicyName="invoke", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                       "Resource": "arn:aws:lambda:us-east-1:000000000000:function:*"}]}))
    app = client(key["AccessKeyId"], key["SecretAccessKey"])
    _, out = invoke(app, name, {"k": 1})
    assert out["event"] == {"k": 1}
    arn = boss.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    _, out = invoke(app, arn, {"k": 2})  # the ARN in the path, signed as botocore encodes it
    assert out["event"] == {"k": 2}
    with pytest.raises(app.exceptions.ClientError) as e:
        invoke(client("AKIDAPP", "wrong"), name, {})
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_functions_off(make_server):
    srv = make_server(functions="off")
    lam = _lambda(srv)
    with pytest.raises(lam.exceptions.ServiceException) as e:
        lam.list_functions()
    assert "--functions off" in e.value.response["Error"]["Message"]


# --- calling AWS services from a function (docs/functions.md) -----------------------------------

PYTHON_PUTTER = """
import boto3
def handler(event, context):
    # no endpoint and no credentials in the code: the environment gives both, as on Lambda
    k = boto3.client("kinesis")
    try:
        r = k.put_record(StreamName=event["stream"], Data=b"from-fn", PartitionKey="p")
        return {"seq": r["SequenceNumber"]}
    except k.exceptions.ClientError as e:
        return {"error": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
"""


def sdk_env():
    """The functions run the system python3; their package brings a boto3 that reads
    AWS_ENDPOINT_URL (as a Lambda deployment package bundles a newer SDK): the one of the tests."""
    import botocore
    return {"Variables": {"PYTHONPATH": os.path.dirname(os.path.dirname(botocore.__file__))}}


def read_all(kinesis, stream):
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return kinesis.get_records(ShardIterator=it)["Records"]


def test_function_calls_kinesis_with_its_environment(make_server):
    from helpers import client_for, create_stream_and_wait
    srv = make_server()
    lam, kinesis = _lambda(srv), client_for(srv)
    stream = unique_name("fnput")
    create_stream_and_wait(kinesis, stream, 1)
    name = fn_name("put")
    create(lam, name, "python3.12", "app.handler", {"app.py": (PYTHON_PUTTER, 0o644)},
           Environment=sdk_env())
    _, out = invoke(lam, name, {"stream": stream})
    assert "seq" in out, out
    recs = read_all(kinesis, stream)
    assert [(r["Data"], r["SequenceNumber"]) for r in recs] == [(b"from-fn", out["seq"])]


def test_function_role_session_when_signatures_are_verified(make_server, tmp_path):
    """--auth sigv4: the function's processes get a session of its Role (which must trust
    lambda.amazonaws.com), and its calls are allowed by that role's policies only."""
    import boto3
    from helpers import create_stream_and_wait
    creds = tmp_path / "credentials"
    creds.write_text("[boss]\naws_access_key_id = AKIDADMIN\naws_secret_access_key = s1\n"
                     "admin = true\n")
    srv = make_server(auth="sigv4", credentials=str(creds))
    kw = dict(endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id="AKIDADMIN",
              aws_secret_access_key="s1")
    lam = boto3.client("lambda", **kw)
    iam, kinesis = boto3.client("iam", **kw), boto3.client("kinesis", **kw)
    stream = unique_name("fnrole")
    create_stream_and_wait(kinesis, stream, 1)
    lambda_trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    user_trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
        "Action": "sts:AssumeRole"}]})
    writer = iam.create_role(RoleName="fn-writer", AssumeRolePolicyDocument=lambda_trust)
    iam.put_role_policy(RoleName="fn-writer", PolicyName="put", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kinesis:PutRecord",
                                                "Resource": "*"}]}))
    reader = iam.create_role(RoleName="fn-reader", AssumeRolePolicyDocument=lambda_trust)
    not_lambda = iam.create_role(RoleName="not-for-lambda", AssumeRolePolicyDocument=user_trust)
    files = {"app.py": (PYTHON_PUTTER, 0o644)}

    # a role Lambda may not assume, or one that does not exist: refused, as AWS does
    for role in (not_lambda["Role"]["Arn"], "arn:aws:iam::000000000000:role/nobody"):
        with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
            lam.create_function(FunctionName=fn_name("bad"), Runtime="python3.12",
                                Handler="app.handler", Role=role,
                                Code={"ZipFile": make_zip(files)})
        assert e.value.response["Error"]["Message"] == \
            "The role defined for the function cannot be assumed by Lambda."

    name = fn_name("w")
    lam.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler",
                        Role=writer["Role"]["Arn"], Code={"ZipFile": make_zip(files)},
                        Environment=sdk_env())
    lam.get_waiter("function_active_v2").wait(FunctionName=name,
                                              WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    _, out = invoke(lam, name, {"stream": stream})
    assert "seq" in out, out
    assert [r["Data"] for r in read_all(kinesis, stream)] == [b"from-fn"]

    # the role without a policy: the call inside the function is denied, naming the session
    lam.update_function_configuration(FunctionName=name, Role=reader["Role"]["Arn"])
    _, out = invoke(lam, name, {"stream": stream})
    assert out["error"] == "AccessDeniedException", out
    assert ("arn:aws:sts::000000000000:assumed-role/fn-reader/" + name) in out["message"]
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_configuration(FunctionName=name, Role=not_lambda["Role"]["Arn"])


NODE_PUTTER = """
const { KinesisClient, PutRecordCommand } = require('@aws-sdk/client-kinesis');
exports.handler = async (event) => {
  // no endpoint, region or credentials in the code: the environment gives them
  const k = new KinesisClient({});
  const r = await k.send(new PutRecordCommand({
    StreamName: event.stream, Data: Buffer.from('from-node'), PartitionKey: 'p' }));
  return { seq: r.SequenceNumber };
};
"""


def test_node_function_calls_kinesis_with_its_environment(make_server):
    """The JS SDK v3 (the tests' own, bundled as a deployment package would) finds this server
    through AWS_ENDPOINT_URL and signs with the function's credentials."""
    from helpers import client_for, create_stream_and_wait
    modules = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js", "node_modules")
    assert os.path.isdir(os.path.join(modules, "@aws-sdk", "client-kinesis")), \
        "@aws-sdk/client-kinesis is missing: run scripts/setup.sh"
    srv = make_server()
    lam, kinesis = _lambda(srv), client_for(srv)
    stream = unique_name("fnnode")
    create_stream_and_wait(kinesis, stream, 1)
    name = fn_name("nput")
    create(lam, name, "nodejs20.x", "index.handler", {"index.js": (NODE_PUTTER, 0o644)},
           Environment={"Variables": {"NODE_PATH": modules}}, Timeout=30, MemorySize=512)
    resp, out = invoke(lam, name, {"stream": stream})
    assert "FunctionError" not in resp, out
    recs = read_all(kinesis, stream)
    assert [(r["Data"], r["SequenceNumber"]) for r in recs] == [(b"from-node", out["seq"])]
