"""SQS crash test: an acknowledged SendMessage survives kill -9.

Senders send numbered messages (SendMessage and SendMessageBatch, boto3 over AWS JSON) to a real
`sluice serve` while the test kills it with SIGKILL at a random moment, restarts it on the same
data directory, and repeats. Then every message whose send was acknowledged must be received
(a send whose answer was lost in the crash may or may not be there, never damaged), with the body
and message id the acknowledgement gave, and a deleted message never comes back.

Runs through tests/conformance/run.sh and uses the conformance suite's server wrapper."""
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
from helpers import REGION, SECRET_KEY, SluiceServer, release_server  # noqa: E402

ROUNDS = int(os.environ.get("SLUICE_SQS_CRASH_ROUNDS", "5"))
SENDERS = 3


def client(srv):
    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE",
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    return session.client("sqs", endpoint_url=srv.endpoint, config=Config(
        retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=10))


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}  # body -> message id
        self.sent = set()

    def ack(self, body, mid):
        with self.lock:
            self.acked[body] = mid


def sender(srv, url, ledger, stop, seed):
    rnd = random.Random(seed)
    sqs = client(srv)
    n = 0
    while not stop.is_set():
        try:
            if rnd.random() < 0.3:
                bodies = ["s%d-%d-%s" % (seed, n + i, "x" * rnd.randrange(0, 2000))
                          for i in range(rnd.randrange(1, 11))]
                n += len(bodies)
                ledger.sent.update(bodies)
                out = sqs.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)])
                assert not out.get("Failed")
                for e in out["Successful"]:
                    ledger.ack(bodies[int(e["Id"])], e["MessageId"])
            else:
                body = "s%d-%d-%s" % (seed, n, "y" * rnd.randrange(0, 5000))
                n += 1
                ledger.sent.add(body)
                ledger.ack(body, sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"])
        except Exception:
            time.sleep(0.05)  # the server is down: try again once it is back
            sqs = client(srv)


def test_acknowledged_messages_survive_kill9():
    srv = SluiceServer()
    srv.start()
    ok = False
    try:
        sqs = client(srv)
        url = sqs.create_queue(QueueName="crash")["QueueUrl"]
        # a message deleted before the crashes must stay deleted
        sqs.send_message(QueueUrl=url, MessageBody="deleted")
        m = sqs.receive_message(QueueUrl=url)["Messages"][0]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        ledger = Ledger()
        rnd = random.Random(4321)
        for round_no in range(ROUNDS):
            stop = threading.Event()
            threads = [threading.Thread(target=sender, args=(srv, url, ledger, stop,
                                                             round_no * 10 + i))
                       for i in range(SENDERS)]
            for t in threads:
                t.start()
            time.sleep(rnd.uniform(0.5, 1.5))
            srv.stop(signal.SIGKILL)
            stop.set()
            for t in threads:
                t.join()
            srv.start()
        assert len(ledger.acked) >= 20, "too few sends were acknowledged"
        sqs = client(srv)
        got = {}
        while True:
            out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)
            if not out.get("Messages"):
                break
            for m in out["Messages"]:
                assert m["Body"] in ledger.sent, "a message nobody sent: %r" % m["Body"][:40]
                assert m["Body"] not in got, "a message received twice"
                got[m["Body"]] = m["MessageId"]
        for body, mid in ledger.acked.items():
            assert got.get(body) == mid, "acknowledged message %s was lost" % body[:20]
        assert "deleted" not in got
        ok = True
    finally:
        release_server(srv, ok, "sqs crash test data kept in %s" % srv.tmp_dir)
