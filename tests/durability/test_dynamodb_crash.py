"""DynamoDB durability: acknowledged writes survive kill -9.

Writer threads put, update (conditionally, with ADD on a counter) and delete items in two tables
(one with a range key, in a second account too) while the server is killed with SIGKILL at a
random moment, restarted on the same data directory, and killed again, several rounds. Then every
item must be exactly as the acknowledged writes left it: each acknowledged put is there with its
bytes, each acknowledged counter update is counted (a write whose answer was lost in the crash may
or may not have happened, but never half), and each acknowledged delete stays deleted. Tables and
their indexes survive too.
"""
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from helpers import SluiceServer, release_server  # noqa: E402

ROUNDS = int(os.environ.get("SLUICE_CRASH_ROUNDS", "5"))
WRITERS = 3


def client(endpoint, access_key="AKIDEXAMPLE"):
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=10,
                    connect_timeout=5)
    return boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key="secret",
                                 region_name="us-east-1").client("dynamodb", endpoint_url=endpoint,
                                                                 config=config)


def create_tables(ddb):
    ddb.create_table(TableName="leases", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"},
                                           {"AttributeName": "owner", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     GlobalSecondaryIndexes=[{
                         "IndexName": "by-owner",
                         "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                         "Projection": {"ProjectionType": "ALL"}}])
    ddb.create_table(TableName="events", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                                           {"AttributeName": "n", "AttributeType": "N"}],
                     KeySchema=[{"AttributeName": "p", "KeyType": "HASH"},
                                {"AttributeName": "n", "KeyType": "RANGE"}])
    ddb.get_waiter("table_exists").wait(TableName="events", WaiterConfig={"Delay": 1})


class Writer(threading.Thread):
    """Writes until stopped, remembering what was acknowledged."""

    def __init__(self, index, ddb, state, first_seq):
        super().__init__(name="ddb-writer-%d" % index, daemon=True)
        self.index = index
        self.ddb = ddb
        self.state = state
        self.stop = threading.Event()
        self.seq = first_seq  # keys are never reused across rounds

    def run(self):
        rnd = random.Random(self.index * 1000003 + self.seq)
        while not self.stop.is_set():
            self.seq += 1
            try:
                op = rnd.random()
                if op < 0.5:
                    key = "w%d-%d" % (self.index, self.seq)
                    body = "%x" % rnd.getrandbits(256)
                    self.ddb.put_item(TableName="events",
                                      Item={"p": {"S": "w%d" % self.index},
                                            "n": {"N": str(self.seq)}, "body": {"S": body}})
                    with self.state["lock"]:
                        self.state["events"][("w%d" % self.index, self.seq)] = body
                elif op < 0.9:
                    key = "lease-%d" % self.index
                    self.ddb.update_item(
                        TableName="leases", Key={"k": {"S": key}},
                        UpdateExpression="SET #o = :o ADD leaseCounter :one",
                        ConditionExpression="attribute_not_exists(k) OR #o = :o",
                        ExpressionAttributeNames={"#o": "owner"},
                        ExpressionAttributeValues={":o": {"S": "w%d" % self.index},
                                                   ":one": {"N": "1"}})
                    with self.state["lock"]:
                        self.state["counters"][key] = self.state["counters"].get(key, 0) + 1
                else:
                    with self.state["lock"]:
                        mine = [k for k in self.state["events"] if k[0] == "w%d" % self.index]
                    if not mine:
                        continue
                    victim = rnd.choice(mine)
                    # Until the delete is acknowledged the item may or may not be there.
                    with self.state["lock"]:
                        self.state["events"].pop(victim, None)
                    self.ddb.delete_item(TableName="events",
                                         Key={"p": {"S": victim[0]}, "n": {"N": str(victim[1])}})
                    with self.state["lock"]:
                        self.state["deleted"].add(victim)
            except Exception:  # noqa: BLE001 - the server is being killed: unacknowledged
                with self.state["lock"]:
                    self.state["unsure"] += 1
                time.sleep(0.01)


def test_acknowledged_items_survive_kill9():
    srv = SluiceServer()
    srv.start()
    ok = False
    try:
        ddb = client(srv.endpoint)
        create_tables(ddb)
        other = client(srv.endpoint, access_key="123456789012")
        other.create_table(TableName="leases", BillingMode="PAY_PER_REQUEST",
                           AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                           KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
        other.put_item(TableName="leases", Item={"k": {"S": "only-here"}})
        state = {"lock": threading.Lock(), "events": {}, "counters": {}, "deleted": set(),
                 "unsure": 0}
        rnd = random.Random(42)
        for r in range(ROUNDS):
            writers = [Writer(i, client(srv.endpoint), state, r * 1000000)
                       for i in range(WRITERS)]
            for w in writers:
                w.start()
            time.sleep(0.3 + rnd.random() * 0.7)
            srv.stop(signal.SIGKILL)
            for w in writers:
                w.stop.set()
            for w in writers:
                w.join(timeout=30)
            srv.start()
        ddb = client(srv.endpoint)
        names = ddb.list_tables()["TableNames"]
        assert names == ["events", "leases"]
        table = ddb.describe_table(TableName="leases")["Table"]
        assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by-owner"
        items = {}
        kwargs = {}
        while True:
            page = ddb.scan(TableName="events", **kwargs)
            for it in page["Items"]:
                items[(it["p"]["S"], int(it["n"]["N"]))] = it["body"]["S"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        for key, body in state["events"].items():
            assert items.get(key) == body, "acknowledged put %s lost or changed" % (key,)
        for key in state["deleted"]:
            assert key not in items, "acknowledged delete %s came back" % (key,)
        unsure = state["unsure"]
        for key, count in state["counters"].items():
            got = int(ddb.get_item(TableName="leases", Key={"k": {"S": key}})["Item"]
                      ["leaseCounter"]["N"])
            assert count <= got <= count + unsure, "counter %s: %d acknowledged, %d stored" % (
                key, count, got)
        owners = ddb.query(TableName="leases", IndexName="by-owner",
                           KeyConditionExpression="#o = :o",
                           ExpressionAttributeNames={"#o": "owner"},
                           ExpressionAttributeValues={":o": {"S": "w0"}})["Items"]
        assert [i["k"]["S"] for i in owners] == ["lease-0"]
        assert client(srv.endpoint, "123456789012").get_item(
            TableName="leases", Key={"k": {"S": "only-here"}})["Item"] == {"k": {"S": "only-here"}}
        assert len(state["events"]) > 0 and sum(state["counters"].values()) > 0
        ok = True
    finally:
        release_server(srv, ok, "DynamoDB crash test")
