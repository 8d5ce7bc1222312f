"""Conformance: accounts selected by the access key id (docs/security.md, "Accounts").

A request whose SigV4 Credential carries a 12-digit access key id works in that account: its
streams, ARNs, consumers, limits and account settings are invisible to every other account. Any
other access key works in the configured --account-id (000000000000 here). The tests use boto3
clients with two 12-digit keys and the suite's usual non-numeric key.
"""
import sqlite3
import subprocess
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from helpers import (ACCESS_KEY, ACCOUNT, REGION, SECRET_KEY, assert_error, create_stream_and_wait,
                     unique_name, wait_until)

ACCOUNT_A = "111122223333"
ACCOUNT_B = "444455556666"


def client_with_key(server, access_key, read_timeout=60):
    """A boto3 Kinesis client for `server` signing with `access_key` (retries disabled)."""
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=read_timeout,
                    connect_timeout=10)
    session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=SECRET_KEY,
                                    region_name=REGION)
    return session.client("kinesis", endpoint_url=server.endpoint, config=config)


@pytest.fixture
def clients(server):
    """(account A, account B, default account) clients of the shared server."""
    return client_with_key(server, ACCOUNT_A), client_with_key(server, ACCOUNT_B), client_with_key(server, ACCESS_KEY)


def arn_of(account, name):
    return "arn:aws:kinesis:%s:%s:stream/%s" % (REGION, account, name)


def all_stream_names(client):
    names, kwargs = [], {}
    while True:
        resp = client.list_streams(**kwargs)
        names += resp["StreamNames"]
        if not resp.get("HasMoreStreams"):
            return names
        kwargs = {"ExclusiveStartStreamName": names[-1]}


def read_all(client, name, shard_id="shardId-000000000000"):
    it = client.get_shard_iterator(StreamName=name, ShardId=shard_id,
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return client.get_records(ShardIterator=it)["Records"]


def test_streams_are_invisible_to_other_accounts(clients):
    a, b, default = clients
    name = unique_name("a-only")
    create_stream_and_wait(a, name)
    assert name in all_stream_names(a)
    assert name not in all_stream_names(b)
    assert name not in all_stream_names(default)
    assert_error(lambda: b.describe_stream(StreamName=name), "ResourceNotFoundException",
                 "Stream %s under account %s not found." % (name, ACCOUNT_B))
    assert_error(lambda: default.describe_stream_summary(StreamName=name), "ResourceNotFoundException",
                 "Stream %s under account %s not found." % (name, ACCOUNT))
    # Writes by name or by the other account's ARN do not reach it either.
    assert_error(lambda: b.put_record(StreamName=name, PartitionKey="k", Data=b"x"), "ResourceNotFoundException")
    assert_error(lambda: b.put_record(StreamARN=arn_of(ACCOUNT_A, name), PartitionKey="k", Data=b"x"),
                 "ResourceNotFoundException")
    assert_error(lambda: b.delete_stream(StreamName=name), "ResourceNotFoundException")
    assert a.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"


def test_arns_carry_the_account(clients):
    a, b, default = clients
    name = unique_name("arn")
    for client, account in ((a, ACCOUNT_A), (b, ACCOUNT_B), (default, ACCOUNT)):
        create_stream_and_wait(client, name)
        desc = client.describe_stream(StreamName=name)["StreamDescription"]
        assert desc["StreamARN"] == arn_of(account, name)
        summary = client.describe_stream_summary(StreamARN=arn_of(account, name))["StreamDescriptionSummary"]
        assert summary["StreamARN"] == arn_of(account, name)
        consumer = client.register_stream_consumer(StreamARN=desc["StreamARN"], ConsumerName="c1")["Consumer"]
        assert consumer["ConsumerARN"].startswith(arn_of(account, name) + "/consumer/c1:")
        listed = client.list_stream_consumers(StreamARN=desc["StreamARN"])["Consumers"]
        assert [c["ConsumerARN"] for c in listed] == [consumer["ConsumerARN"]]
    # A consumer ARN of account A means nothing in account B.
    a_consumer = a.list_stream_consumers(StreamARN=arn_of(ACCOUNT_A, name))["Consumers"][0]["ConsumerARN"]
    assert_error(lambda: b.describe_stream_consumer(ConsumerARN=a_consumer), "ResourceNotFoundException")


def test_same_stream_name_in_two_accounts_holds_different_data(server, clients):
    a, b, default = clients
    name = unique_name("same")
    create_stream_and_wait(a, name, shards=1)
    create_stream_and_wait(b, name, shards=2)
    seq_a = a.put_record(StreamName=name, PartitionKey="k", Data=b"from A")["SequenceNumber"]
    b.put_records(StreamName=name, Records=[{"PartitionKey": "k", "Data": b"from B", "ExplicitHashKey": "0"}])
    assert [r["Data"] for r in read_all(a, name)] == [b"from A"]
    assert read_all(a, name)[0]["SequenceNumber"] == seq_a
    assert [r["Data"] for r in read_all(b, name)] == [b"from B"]
    assert len(a.list_shards(StreamName=name)["Shards"]) == 1
    assert len(b.list_shards(StreamName=name)["Shards"]) == 2
    assert_error(lambda: default.list_shards(StreamName=name), "ResourceNotFoundException")
    # Tags are per account too.
    a.add_tags_to_stream(StreamName=name, Tags={"owner": "a"})
    assert b.list_tags_for_stream(StreamName=name)["Tags"] == []
    # A shard iterator of account A is not accepted by account B (same stream name and shard).
    it = a.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    with pytest.raises(Exception) as e:
        b.get_records(ShardIterator=it)
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"
    # Deleting A's stream removes A's logs only (stream keys carry the account: docs/storage-format.md).
    logs = Path(server.data_dir) / "streams"
    assert len(list(logs.glob(ACCOUNT_A + ".*-" + name))) == 1
    a.delete_stream(StreamName=name)
    wait_until(lambda: not list(logs.glob(ACCOUNT_A + ".*-" + name)), what="A's logs to be deleted")
    assert len(list(logs.glob(ACCOUNT_B + ".*-" + name))) == 1
    assert [r["Data"] for r in read_all(b, name)] == [b"from B"]


def test_subscribe_to_shard_in_an_account(server, clients):
    a, b, _ = clients
    name = unique_name("sub")
    create_stream_and_wait(a, name)
    create_stream_and_wait(b, name)
    consumer = a.register_stream_consumer(StreamARN=arn_of(ACCOUNT_A, name), ConsumerName="c")["Consumer"]
    wait_until(lambda: a.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
               ["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE", what="consumer ACTIVE")
    sub = client_with_key(server, ACCOUNT_A, read_timeout=20).subscribe_to_shard(
        ConsumerARN=consumer["ConsumerARN"], ShardId="shardId-000000000000", StartingPosition={"Type": "LATEST"})
    events = sub["EventStream"]
    try:
        b.put_record(StreamName=name, PartitionKey="k", Data=b"B's record")
        seq = a.put_record(StreamName=name, PartitionKey="k", Data=b"A's record")["SequenceNumber"]
        records = []
        deadline = time.monotonic() + 20
        for event in events:
            records += event["SubscribeToShardEvent"]["Records"]
            if records or time.monotonic() > deadline:
                break
        assert [(r["SequenceNumber"], r["Data"]) for r in records] == [(seq, b"A's record")]
    finally:
        events.close()


def test_limits_and_settings_are_per_account(make_server):
    srv = make_server(shard_limit=3)
    a, b, default = (client_with_key(srv, k) for k in (ACCOUNT_A, ACCOUNT_B, ACCESS_KEY))
    create_stream_and_wait(a, "s1", shards=3)
    assert_error(lambda: a.create_stream(StreamName="s2", ShardCount=1), "LimitExceededException")
    create_stream_and_wait(b, "s1", shards=3)  # B's own 3 shards
    assert a.describe_limits()["OpenShardCount"] == 3
    assert default.describe_limits()["OpenShardCount"] == 0
    a.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    assert a.describe_account_settings()["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED"
    for other in (b, default):
        status = other.describe_account_settings().get("MinimumThroughputBillingCommitment", {"Status": "DISABLED"})
        assert status["Status"] == "DISABLED"


def test_default_account_id_as_access_key_is_the_default_account(make_server):
    srv = make_server(account_id="123456789012")
    numeric = client_with_key(srv, "123456789012")
    other = client_with_key(srv, ACCESS_KEY)
    create_stream_and_wait(numeric, "both")
    assert other.describe_stream_summary(StreamName="both")["StreamDescriptionSummary"]["StreamARN"] == \
        "arn:aws:kinesis:%s:123456789012:stream/both" % REGION
    assert not (Path(srv.data_dir) / "accounts").exists()


def test_restart_keeps_every_account(make_server):
    srv = make_server()
    a, b, default = (client_with_key(srv, k) for k in (ACCOUNT_A, ACCOUNT_B, ACCESS_KEY))
    written = {}
    for client, tag in ((a, b"A"), (b, b"B"), (default, b"D")):
        create_stream_and_wait(client, "kept")
        written[tag] = [client.put_record(StreamName="kept", PartitionKey="k", Data=tag + b"%d" % i)["SequenceNumber"]
                        for i in range(3)]
    create_stream_and_wait(a, "a-only")
    # The default account stays where it always was; the others are under accounts/<id>/.
    data = Path(srv.data_dir)
    assert (data / "catalog.db").is_file()
    assert (data / "accounts" / ACCOUNT_A / "catalog.db").is_file()
    assert (data / "accounts" / ACCOUNT_B / "catalog.db").is_file()

    srv.restart()
    a, b, default = (client_with_key(srv, k) for k in (ACCOUNT_A, ACCOUNT_B, ACCESS_KEY))
    for client, tag in ((a, b"A"), (b, b"B"), (default, b"D")):
        records = read_all(client, "kept")
        assert [r["Data"] for r in records] == [tag + b"%d" % i for i in range(3)]
        assert [r["SequenceNumber"] for r in records] == written[tag]
    assert sorted(all_stream_names(a)) == ["a-only", "kept"]
    assert all_stream_names(b) == ["kept"]
    assert all_stream_names(default) == ["kept"]
    # No log of one account is mistaken for an orphan of another.
    assert "has no shard in the catalog" not in srv.stderr_tail(200000)


def test_account_bound(make_server):
    srv = make_server(accounts_max=3)
    # The default account and two more fit ...
    for key in (ACCOUNT_A, ACCOUNT_B, ACCESS_KEY):
        client_with_key(srv, key).list_streams()
    # ... a further access key is refused with AWS's error for an unknown key; known ones still work.
    assert_error(lambda: client_with_key(srv, "900000000099").list_streams(), "UnrecognizedClientException",
                 "The security token included in the request is invalid.")
    client_with_key(srv, ACCOUNT_B).list_streams()
    client_with_key(srv, "000000000000").list_streams()  # the default account's own id
    assert "account 900000000099 refused" in srv.stderr_tail()


def set_setting(path, sql, args=()):
    db = sqlite3.connect(path)
    try:
        with db:
            db.execute(sql, args)
    finally:
        db.close()


def start_failing(srv):
    """Runs the server's command once more and expects it to refuse to start: its stderr."""
    proc = subprocess.run(srv.command(), stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
                          env=srv.env, cwd=str(srv.tmp_dir))
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 1, "exit status %s; stderr:\n%s" % (proc.returncode, err[-8000:])
    assert "cannot start" in err
    assert "AddressSanitizer" not in err and "runtime error" not in err, err[-8000:]
    return err


def test_an_account_that_cannot_open_stops_the_start_cleanly(make_server):
    """An account whose IAM rows or event-source mappings cannot be loaded stops the start with
    an error naming it, and nothing of it stays behind: its engine is closed after everything
    that runs on it (a mapping service that kept the account would touch the closed engine on the
    way out), and a repaired account opens again."""
    srv = make_server()
    a = client_with_key(srv, ACCOUNT_A)
    create_stream_and_wait(a, "kept")
    a.put_record(StreamName="kept", PartitionKey="k", Data=b"x")
    assert srv.stop() == 0
    account = Path(srv.data_dir) / "accounts" / ACCOUNT_A

    # The account's IAM roles are damaged (loaded after its mappings opened, before this fix).
    set_setting(account / "catalog.db", "INSERT OR REPLACE INTO settings (key, value) VALUES ('iam_roles', ?)",
                (b"\xff" * 8,))
    err = start_failing(srv)
    assert "the roles of account %s in its catalog are damaged" % ACCOUNT_A in err
    assert "cannot load the IAM rows of account %s" % ACCOUNT_A in err
    set_setting(account / "catalog.db", "DELETE FROM settings WHERE key = 'iam_roles'")

    # Its event-source mappings' store is damaged (the last part to open).
    (account / "esm.db").write_bytes(b"not a database" * 100)
    err = start_failing(srv)
    assert "cannot open account %s" % ACCOUNT_A in err
    (account / "esm.db").unlink()

    srv.start()
    records = read_all(client_with_key(srv, ACCOUNT_A), "kept")
    assert [r["Data"] for r in records] == [b"x"]
