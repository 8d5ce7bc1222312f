"""The `sluice` stream commands end to end against a real server, as a person would use them:
put from stdin, tail (JSON lines, de-aggregated), `tail -f` in a pseudo-terminal across a shard
split, replay of a time range into another stream, and the exit statuses of the error paths."""
import json
import os
import pty
import select
import subprocess
import time

from helpers import client_for, create_stream_and_wait, free_port, sluice_bin, unique_name


def sluice(server, *args, stdin=None, endpoint=None, env=None):
    cmd = [str(sluice_bin()), args[0]]
    if endpoint != "":
        cmd += ["--endpoint-url", endpoint or server.endpoint]
    return subprocess.run(cmd + list(args[1:]), input=stdin, capture_output=True, text=True,
                          timeout=60, env=env)


def tail_json(server, name):
    out = sluice(server, "tail", "--stream-name", name, "--format", "json")
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_create_put_stdin_tail_describe_delete(server):
    name = unique_name("cli")
    assert sluice(server, "create", "--stream-name", name, "--shard-count", "3").returncode == 0
    lines = ["line %d" % i for i in range(200)]
    put = sluice(server, "put", "--stream-name", name, "--partition-key", "k{n}",
                 stdin="\n".join(lines) + "\n")
    assert put.returncode == 0, put.stderr
    assert "put 200 of 200 records" in put.stderr
    got = tail_json(server, name)
    assert sorted(r["data"] for r in got) == sorted(lines)
    assert {r["partitionKey"] for r in got} == {"k%d" % i for i in range(200)}
    # Aggregated: one Kinesis record per shard, the user records come back with sub-sequence
    # numbers and their own keys.
    agg = sluice(server, "put", "--stream-name", name, "--aggregate", "--partition-key", "same",
                 "a1", "a2", "a3")
    assert agg.returncode == 0, agg.stderr
    subs = [r for r in tail_json(server, name) if r["partitionKey"] == "same"]
    assert [(r["data"], r["subSequenceNumber"]) for r in subs] == [("a1", 0), ("a2", 1), ("a3", 2)]
    assert len({r["sequenceNumber"] for r in subs}) == 1
    desc = sluice(server, "describe", "--stream-name", name)
    assert desc.returncode == 0 and "shardId-000000000002" in desc.stdout
    assert name in sluice(server, "ls").stdout.split()
    assert sluice(server, "delete", "--stream-name", name).returncode == 0
    assert name not in sluice(server, "ls").stdout.split()


def test_exit_statuses(server):
    missing = sluice(server, "tail", "--stream-name", unique_name("none"))
    assert missing.returncode == 1
    assert "ResourceNotFoundException" in missing.stderr
    assert sluice(server, "put", "--stream-name", "x", "--bogus").returncode == 2
    assert sluice(server, "describe").returncode == 2
    helped = sluice(server, "tail", "--help")
    assert helped.returncode == 0 and "--format raw|json|hex" in helped.stdout
    down = sluice(server, "ls", endpoint="http://127.0.0.1:1")
    assert down.returncode == 3


def read_until(fd, proc, wanted, timeout=30):
    """Collects pty output until every line of `wanted` was seen."""
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = set(buf.decode(errors="replace").replace("\r", "").split("\n"))
        if wanted <= lines:
            return lines
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
        assert proc.poll() is None, "tail -f exited: %r" % buf
    raise AssertionError("missing lines: %s" % sorted(wanted - lines))


def test_tail_follow_across_a_split_in_a_terminal(server):
    kinesis = client_for(server)
    name = unique_name("follow")
    create_stream_and_wait(kinesis, name, shards=1)
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(sluice_bin()), "tail", "--endpoint-url", server.endpoint,
                             "--stream-name", name, "-f", "--from", "TRIM_HORIZON"],
                            stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    try:
        before = {"before %d" % i for i in range(5)}
        put = sluice(server, "put", "--stream-name", name, *sorted(before))
        assert put.returncode == 0
        read_until(master, proc, before)
        kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000",
                            NewStartingHashKey=str(2**127))
        after = {"after %d" % i for i in range(20)}
        put = sluice(server, "put", "--stream-name", name, *sorted(after))
        assert put.returncode == 0, put.stderr
        read_until(master, proc, after)
    finally:
        proc.kill()
        proc.wait()
        os.close(master)


def test_replay_copies_a_time_range(server):
    a, b = unique_name("from"), unique_name("to")
    for n in (a, b):
        assert sluice(server, "create", "--stream-name", n).returncode == 0
    records = ["r%d" % i for i in range(50)]
    assert sluice(server, "put", "--stream-name", a, stdin="\n".join(records)).returncode == 0
    rep = sluice(server, "replay", "--from-stream", a, "--to-stream", b, "--start-time",
                 "2000-01-01T00:00:00Z", "--end-time", "now")
    assert rep.returncode == 0, rep.stderr
    assert "replayed 50 of 50" in rep.stderr
    assert sorted(r["data"] for r in tail_json(server, b)) == sorted(records)


def test_tls_and_http2(make_server):
    tls_port = free_port()
    srv = make_server(extra_args=["--tls-port", str(tls_port)])
    https = "https://127.0.0.1:%d" % tls_port
    name = unique_name("tls")
    assert sluice(srv, "create", "--stream-name", name, "--no-verify-ssl", endpoint=https,
                  ).returncode == 0
    for extra in ([], ["--http2"]):
        put = sluice(srv, "put", "--stream-name", name, "--no-verify-ssl", *extra, "via-tls",
                     endpoint=https)
        assert put.returncode == 0, put.stderr
    h2 = sluice(srv, "put", "--stream-name", name, "--http2", "via-h2c")
    assert h2.returncode == 0, h2.stderr
    out = sluice(srv, "tail", "--stream-name", name, "--http2", "--no-verify-ssl", endpoint=https)
    assert sorted(out.stdout.split()) == ["via-h2c", "via-tls", "via-tls"]
    # The server's certificate is self-signed: without --no-verify-ssl the handshake fails.
    refused = sluice(srv, "ls", endpoint=https)
    assert refused.returncode == 3 and "TLS" in refused.stderr


def test_endpoint_and_credentials_from_profile_files(server, tmp_path):
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text(
        "[default]\nregion = us-west-2\n\n[profile lab]\nregion = eu-west-1\n"
        "endpoint_url = %s\ns3 =\n  endpoint_url = http://127.0.0.1:1\n" % server.endpoint)
    (tmp_path / ".aws" / "credentials").write_text(
        "[lab]\naws_access_key_id = AKIDLAB\naws_secret_access_key = labsecret\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), AWS_PROFILE="lab")
    name = unique_name("prof")
    made = sluice(server, "create", "--stream-name", name, endpoint="", env=env)
    assert made.returncode == 0, made.stderr
    # The environment wins over the profile.
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:1"
    assert sluice(server, "ls", endpoint="", env=env).returncode == 3
    assert sluice(server, "describe", "--stream-name", name).returncode == 0


def test_cat_a_time_range_to_a_file(server, tmp_path):
    name = unique_name("cat")
    assert sluice(server, "create", "--stream-name", name, "--shard-count", "2").returncode == 0
    assert sluice(server, "put", "--stream-name", name, "early").returncode == 0
    kinesis = client_for(server)
    it = kinesis.get_shard_iterator  # the arrival time of "early", from the server
    start = None
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        recs = kinesis.get_records(ShardIterator=it(
            StreamName=name, ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON")["ShardIterator"])["Records"]
        for r in recs:
            start = r["ApproximateArrivalTimestamp"].timestamp() + 0.001
    assert start is not None
    # The next put is another process, started well after "early" arrived.
    assert sluice(server, "put", "--stream-name", name, "late1", "late2").returncode == 0
    out = tmp_path / "range.txt"
    cat = sluice(server, "cat", "--stream-name", name, "--start-time", "%.3f" % start,
                 "--end-time", "now", "--output", str(out))
    assert cat.returncode == 0, cat.stderr
    assert sorted(out.read_text().split()) == ["late1", "late2"]
    everything = sluice(server, "cat", "--stream-name", name)
    assert sorted(everything.stdout.split()) == ["early", "late1", "late2"]
    assert sluice(server, "cat", "--stream-name", name, "--start-time", "yesterday"
                  ).returncode == 2


def test_signatures_verified_by_a_server_with_auth_sigv4(make_server, tmp_path):
    """libsluice's SigV4 signing (what AWS itself checks) against a server that verifies every
    signature: the right secret works over HTTP/1.1 and HTTP/2, with a session token too; a wrong
    secret is refused with the service's error and exit status 1."""
    creds = tmp_path / "principals"
    creds.write_text(
        "[admin]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nadmin = true\n\n"
        "[temp]\naws_access_key_id = ASIAEXAMPLETEMP00001\n"
        "aws_secret_access_key = tempsecret/EXAMPLE\naws_session_token = tok-123\nadmin = true\n")
    srv = make_server(extra_args=["--auth", "sigv4", "--credentials", str(creds)])
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update(HOME=str(tmp_path), AWS_CONFIG_FILE=os.devnull,
                AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    good = dict(base, AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
                AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    name = unique_name("signed")
    made = sluice(srv, "create", "--stream-name", name, env=good)
    assert made.returncode == 0, made.stderr
    assert sluice(srv, "put", "--stream-name", name, "--aggregate", "a", "b", env=good
                  ).returncode == 0
    assert sluice(srv, "put", "--stream-name", name, "--http2", "c", env=good).returncode == 0
    temp = dict(base, AWS_ACCESS_KEY_ID="ASIAEXAMPLETEMP00001",
                AWS_SECRET_ACCESS_KEY="tempsecret/EXAMPLE", AWS_SESSION_TOKEN="tok-123")
    tail = sluice(srv, "tail", "--stream-name", name, env=temp)
    assert tail.returncode == 0, tail.stderr
    assert sorted(tail.stdout.split()) == ["a", "b", "c"]
    bad = dict(good, AWS_SECRET_ACCESS_KEY="not-the-secret")
    refused = sluice(srv, "ls", env=bad)
    assert refused.returncode == 1
    assert "SignatureDoesNotMatch" in refused.stderr or "InvalidSignature" in refused.stderr
