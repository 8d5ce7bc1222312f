"""SNS (docs/sns.md) over the Query protocol, through boto3 and the AWS CLI v2: topics,
subscriptions of SQS queues (SNS's JSON envelope, or the raw message with RawMessageDelivery) and
of an HTTP endpoint on loopback (the SubscriptionConfirmation handshake through its SubscribeURL,
then notifications, retried when the endpoint fails), and SNS's error codes."""
import http.server
import json
import os
import queue
import subprocess
import threading
import time
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import ACCESS_KEY, REGION, SECRET_KEY


def client(server, name):
    return boto3.client(name, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


@pytest.fixture
def sns(server):
    return client(server, "sns")


@pytest.fixture
def sqs(server):
    return client(server, "sqs")


def uniq(tag):
    return "%s-%s" % (tag, uuid.uuid4().hex[:10])


def queue_with_arn(sqs):
    url = sqs.create_queue(QueueName=uniq("q"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def receive_one(sqs, url):
    end = time.time() + 10
    while time.time() < end:
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MessageAttributeNames=["All"])
        if got.get("Messages"):
            m = got["Messages"][0]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return m
    raise AssertionError("no message arrived")


def test_topics(sns):
    name = uniq("t")
    arn = sns.create_topic(Name=name, Attributes={"DisplayName": "First"})["TopicArn"]
    assert arn.startswith("arn:aws:sns:%s:" % REGION) and arn.endswith(":" + name)
    assert sns.create_topic(Name=name)["TopicArn"] == arn  # idempotent
    assert arn in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["TopicArn"] == arn
    assert attrs["SubscriptionsConfirmed"] == "0"
    assert attrs["DisplayName"] == "First"
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Mine")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Mine"
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(sns.exceptions.NotFoundException) as e:
        sns.get_topic_attributes(TopicArn=arn)
    assert e.value.response["Error"]["Code"] == "NotFound"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    sns.delete_topic(TopicArn=arn)  # deleting a topic that does not exist is no error
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name="bad name")
    assert e.value.response["Error"]["Code"] == "InvalidParameter"


def test_publish_to_sqs(sns, sqs):
    topic = sns.create_topic(Name=uniq("t"))["TopicArn"]
    url, qarn = queue_with_arn(sqs)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["SubscriptionArn"], s["Protocol"], s["Endpoint"]) for s in subs] == [
        (sub, "sqs", qarn)]
    assert sub in [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]]
    mid = sns.publish(TopicArn=topic, Message="hello", Subject="greeting", MessageAttributes={
        "k": {"DataType": "String", "StringValue": "v"}})["MessageId"]
    env = json.loads(receive_one(sqs, url)["Body"])
    assert env["Type"] == "Notification"
    assert (env["MessageId"], env["TopicArn"], env["Message"], env["Subject"]) == (
        mid, topic, "hello", "greeting")
    assert env["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    assert env["Timestamp"].endswith("Z") and "UnsubscribeURL" in env
    # raw delivery: the message itself, its attributes as SQS message attributes
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery",
                                    AttributeValue="true")
    attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attrs["RawMessageDelivery"] == "true" and attrs["Endpoint"] == qarn
    sns.publish(TopicArn=topic, Message="raw body", MessageAttributes={
        "k": {"DataType": "String", "StringValue": "v"}})
    m = receive_one(sqs, url)
    assert m["Body"] == "raw body"
    assert m["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}
    sns.unsubscribe(SubscriptionArn=sub)
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=topic + "-gone", Message="x")
    assert e.value.response["Error"]["Code"] == "NotFound"


class Endpoint:
    """An HTTP subscriber on loopback: records every POST; answers 500 to the first `fail`."""

    def __init__(self, fail=0):
        self.posts = queue.Queue()
        self.fail = fail
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.posts.put((dict(self.headers), body))
                status = 200
                if outer.fail > 0:
                    outer.fail -= 1
                    status = 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def next(self, timeout=15):
        return self.posts.get(timeout=timeout)

    def close(self):
        self.httpd.shutdown()


def test_http_subscription_handshake_and_retries(sns):
    topic = sns.create_topic(Name=uniq("t"))["TopicArn"]
    ep = Endpoint()
    try:
        out = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url)
        assert out["SubscriptionArn"] == "pending confirmation"
        headers, body = ep.next()
        assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
        msg = json.loads(body)
        assert msg["Type"] == "SubscriptionConfirmation" and msg["TopicArn"] == topic
        subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        assert subs[0]["SubscriptionArn"] == "PendingConfirmation"
        # publishing before confirmation delivers nothing
        sns.publish(TopicArn=topic, Message="too early")
        # the endpoint confirms by visiting SubscribeURL (unsigned GET, as on SNS)
        with urllib.request.urlopen(msg["SubscribeURL"], timeout=10) as resp:
            assert resp.status == 200
            assert b"<SubscriptionArn>" + topic.encode() in resp.read()
        subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        assert subs[0]["SubscriptionArn"].startswith(topic + ":")
        # a notification; the endpoint fails the first attempt and SNS retries
        ep.fail = 1
        mid = sns.publish(TopicArn=topic, Message="hello http")["MessageId"]
        first_headers, first = ep.next()
        assert first_headers["x-amz-sns-message-type"] == "Notification"
        retried_headers, retried = ep.next()
        assert first == retried
        note = json.loads(retried)
        assert (note["Type"], note["MessageId"], note["Message"]) == ("Notification", mid,
                                                                     "hello http")
        assert retried_headers["x-amz-sns-message-id"] == mid
        assert retried_headers["x-amz-sns-subscription-arn"] == subs[0]["SubscriptionArn"]
        assert ep.posts.empty()  # "too early" was never delivered
    finally:
        ep.close()
    # a token that is not the topic's is refused
    with pytest.raises(ClientError) as e:
        sns.confirm_subscription(TopicArn=topic, Token="0" * 64)
    assert e.value.response["Error"]["Code"] == "InvalidParameter"


def test_aws_cli_v2(server, sqs):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)

    def aws(*args):
        p = subprocess.run(["/usr/bin/aws", "--endpoint-url", server.endpoint, "--output", "json",
                            "sns"] + list(args), capture_output=True, text=True, env=env,
                           timeout=60)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout) if p.stdout.strip() else None

    topic = aws("create-topic", "--name", uniq("cli"))["TopicArn"]
    url, qarn = queue_with_arn(sqs)
    aws("subscribe", "--topic-arn", topic, "--protocol", "sqs", "--notification-endpoint", qarn)
    mid = aws("publish", "--topic-arn", topic, "--message", "from the cli")["MessageId"]
    env_msg = json.loads(receive_one(sqs, url)["Body"])
    assert (env_msg["MessageId"], env_msg["Message"]) == (mid, "from the cli")
    assert topic in [t["TopicArn"] for t in aws("list-topics")["Topics"]]
    aws("delete-topic", "--topic-arn", topic)
