"""pytest fixtures of the boto3 conformance suite.

One `sluice serve` process (fixture `server`) serves most tests for the whole
session; `make_server` starts extra servers with other options (state delays,
small limits). Every server runs on 127.0.0.1 with a free port and a fresh
temporary data directory. A server that dies on its own is never ignored: the
test during which it died fails (the server is then restarted so the rest of
the session can run), and the session fails at teardown as well.

Environment: SLUICE_BIN = path of the sluice binary (default
<repo>/build/src/server/sluice).
"""

import signal

import pytest

import helpers
from helpers import SluiceServer, client_for, create_stream_and_wait, unique_name

# Per-test watchdog: a hung server must not hang the suite.
TEST_TIMEOUT_S = 180


def pytest_configure(config):
    # The suite exercises all 39 operations of the current model; an older
    # botocore (Debian's 1.29, 29 operations) must fail loudly, never skip.
    ops = helpers.kinesis_operation_names()
    if len(ops) != helpers.EXPECTED_OPERATION_COUNT:
        raise pytest.UsageError(
            "botocore %s has a Kinesis model with %d operations, the conformance suite needs %d "
            "(botocore 1.43). Run with the image's default python3, not Debian's python3-botocore."
            % (helpers.botocore.__version__, len(ops), helpers.EXPECTED_OPERATION_COUNT))


class _SessionState:
    server = None
    crashes = []


@pytest.fixture(scope="session")
def server():
    """The shared server: .endpoint, .port, .data_dir, .proc, .stderr_path, .stop(), .restart()."""
    srv = SluiceServer()
    srv.start()
    _SessionState.server = srv
    yield srv
    _SessionState.server = None
    rc = srv.stop()
    problems = list(_SessionState.crashes)
    if rc not in (0, None):
        problems.append("session server exited with status %s on SIGTERM" % rc)
    if problems:
        pytest.fail("sluice crashed during the session: %s\nstderr (%s):\n%s"
                    % ("; ".join(problems), srv.stderr_path, srv.stderr_tail()))
    srv.cleanup()


@pytest.fixture(autouse=True)
def _watchdog_and_crash_check(request):
    """Fail a test that hangs, and fail the test during which the session server died."""
    def on_alarm(signum, frame):
        raise TimeoutError("test exceeded %d s" % TEST_TIMEOUT_S)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_TIMEOUT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    srv = _SessionState.server
    if srv is not None and srv.crashed():
        rc = srv.proc.returncode
        tail = srv.stderr_tail()
        _SessionState.crashes.append("status %s during %s" % (rc, request.node.nodeid))
        try:
            srv.start()  # Let the remaining tests run; the session still fails at teardown.
        except AssertionError as e:
            tail += "\n(restart failed: %s)" % e
        pytest.fail("sluice crashed (exit status %s) during this test; stderr:\n%s" % (rc, tail))


@pytest.fixture
def make_server():
    """Factory: make_server(create_stream_ms=500, shard_limit=10, extra_args=[...], env={...}).

    Keyword options become command-line options (underscores -> dashes). The
    servers are stopped with SIGTERM at teardown; a crash or a non-zero exit
    status fails the test.
    """
    started = []

    def factory(extra_args=None, env=None, data_dir=None, port=None, **options):
        srv = SluiceServer(options=options, extra_args=extra_args, env=env,
                           data_dir=data_dir, port=port)
        started.append(srv)
        srv.start()
        return srv

    yield factory
    problems = []
    for srv in started:
        crashed = srv.crashed()
        rc = srv.stop()
        if crashed or rc not in (0, None):
            problems.append("server on port %d exited with status %s%s; stderr:\n%s"
                            % (srv.port, rc, " (crashed)" if crashed else " on SIGTERM",
                               srv.stderr_tail()))
        else:
            srv.cleanup()
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def kinesis(server):
    """boto3 Kinesis client for the session server (dummy credentials, no retries)."""
    return client_for(server)


@pytest.fixture
def stream(kinesis):
    """A fresh ACTIVE one-shard stream on the session server; yields its name."""
    name = unique_name("s")
    create_stream_and_wait(kinesis, name, 1)
    return name


@pytest.fixture
def new_stream(kinesis):
    """Factory: new_stream(shards=1, **CreateStream kwargs) -> name of a fresh ACTIVE stream."""
    def factory(shards=1, tag="s", **kwargs):
        name = unique_name(tag)
        create_stream_and_wait(kinesis, name, shards, **kwargs)
        return name
    return factory


@pytest.fixture
def kinesis_nv(server):
    """boto3 client with botocore's client-side parameter validation off.

    botocore rejects missing required members, short strings and small numbers
    itself; this client lets such requests reach the server so that its
    ValidationException texts can be checked.
    """
    return client_for(server, parameter_validation=False)
