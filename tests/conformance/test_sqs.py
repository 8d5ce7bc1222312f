"""SQS (docs/sqs.md) through boto3 (AWS JSON 1.0 with x-amzn-query-error, what current SDKs
send): queues, attributes, send/receive with message attributes and the MD5s SDKs check,
visibility timeouts, long polls, batches, purge, FIFO order and deduplication, and SQS's error
codes. With SQS_REFERENCE_ENDPOINT set (e.g. http://127.0.0.1:5000 of `moto_server`) the same
file runs against that server instead, to show that the expectations are SQS's."""
import hashlib
import json
import os
import struct
import subprocess
import threading
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import ACCESS_KEY, REGION, SECRET_KEY

REFERENCE = os.environ.get("SQS_REFERENCE_ENDPOINT")


@pytest.fixture
def sqs(request):
    endpoint = REFERENCE or request.getfixturevalue("server").endpoint
    return boto3.client("sqs", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                      read_timeout=60))


def qname(tag="q"):
    return "%s-%s" % (tag, uuid.uuid4().hex[:12])


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


def wait_until(cond, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in %.1f s" % timeout)


def md5_of_attributes(attrs):
    """MD5OfMessageAttributes as SQS documents it: sorted names, each length-prefixed field."""
    buf = b""
    for name in sorted(attrs):
        a = attrs[name]
        t = a["DataType"]
        buf += struct.pack(">I", len(name)) + name.encode()
        buf += struct.pack(">I", len(t)) + t.encode()
        if t.startswith("Binary"):
            v = a["BinaryValue"]
            buf += b"\x02" + struct.pack(">I", len(v)) + v
        else:
            v = a["StringValue"].encode()
            buf += b"\x01" + struct.pack(">I", len(v)) + v
    return hashlib.md5(buf).hexdigest()


def test_queue_lifecycle(sqs):
    name = qname()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url.endswith("/" + name)
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    # CreateQueue is idempotent with the same attributes, refused with others
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "45"})
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "46"})
    assert code_of(e) == "QueueAlreadyExists"
    assert url in sqs.list_queues(QueueNamePrefix=name[:8])["QueueUrls"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "45"
    assert attrs["QueueArn"].startswith("arn:aws:sqs:%s:" % REGION)
    assert attrs["QueueArn"].endswith(":" + name)
    assert attrs["DelaySeconds"] == "0"
    assert attrs["MessageRetentionPeriod"] == "345600"
    assert attrs["ApproximateNumberOfMessages"] == "0"
    only = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    assert list(only) == ["QueueArn"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as e:
        sqs.get_queue_url(QueueName=name)
    assert code_of(e) == "AWS.SimpleQueueService.NonExistentQueue"


def test_attribute_errors(sqs):
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=qname(), Attributes={"VisibilityTimeout": "43201"})
    assert code_of(e) == "InvalidAttributeValue"
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName="bad name!")
    assert code_of(e) == "InvalidParameterValue"
    url = sqs.create_queue(QueueName=qname())["QueueUrl"]
    with pytest.raises(ClientError) as e:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["NoSuchAttribute"])
    assert code_of(e) == "InvalidAttributeName"
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "901"})
    assert code_of(e) == "InvalidAttributeValue"


def test_send_receive_delete_with_attributes(sqs):
    url = sqs.create_queue(QueueName=qname())["QueueUrl"]
    attrs = {"s": {"DataType": "String", "StringValue": "héllo"},
             "n": {"DataType": "Number", "StringValue": "12.5"},
             "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
             "c": {"DataType": "String.custom", "StringValue": "x"}}
    body = "body with <xml> & \"quotes\" and ünïcode ✓"
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    before = int(time.time() * 1000)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                              MessageAttributeNames=["All"])["Messages"]
    assert len(got) == 1
    m = got[0]
    assert m["MessageId"] == sent["MessageId"]
    assert m["Body"] == body
    assert m["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert m["MessageAttributes"] == attrs
    assert m["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert abs(int(m["Attributes"]["SentTimestamp"]) - before) < 60000
    # only the attributes asked for
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                  VisibilityTimeout=0)
    m2 = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["s"])["Messages"][0]
    assert m2["MessageAttributes"] == {"s": attrs["s"]}
    assert "Attributes" not in m2
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m2["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_visibility_timeout(sqs):
    url = sqs.create_queue(QueueName=qname(), Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="again")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"
    again = wait_until(lambda: sqs.receive_message(
        QueueUrl=url, AttributeNames=["ApproximateReceiveCount"]).get("Messages"))[0]
    assert again["MessageId"] == first["MessageId"]
    assert again["ReceiptHandle"] != first["ReceiptHandle"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    # a message that is not in flight cannot have its visibility changed
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"],
                                  VisibilityTimeout=0)
    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"],
                                      VisibilityTimeout=10)
    assert code_of(e) == "AWS.SimpleQueueService.MessageNotInflight"


def test_long_poll_returns_when_a_message_arrives(sqs):
    url = sqs.create_queue(QueueName=qname())["QueueUrl"]
    result = {}

    def poll():
        t0 = time.time()
        result["out"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
        result["took"] = time.time() - t0

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)
    sqs.send_message(QueueUrl=url, MessageBody="wake up")
    t.join(30)
    assert result["out"]["Messages"][0]["Body"] == "wake up"
    assert result["took"] < 5
    # an empty long poll lasts its wait time (the queue's default when the request has none)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"ReceiveMessageWaitTimeSeconds": "1"})
    t0 = time.time()
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert 0.9 <= time.time() - t0 < 5


def test_delay_seconds(sqs):
    url = sqs.create_queue(QueueName=qname())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert got[0]["Body"] == "later"


def test_receive_errors(sqs):
    url = sqs.create_queue(QueueName=qname())["QueueUrl"]
    with pytest.raises(ClientError) as e:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert code_of(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert code_of(e) == "ReceiptHandleIsInvalid"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url + "-gone", MessageBody="x")
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="bad \x00 char")
    assert code_of(e) == "InvalidMessageContents"
    small = sqs.create_queue(QueueName=qname(),
                             Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=small, MessageBody="x" * 1025)
    assert code_of(e) == "InvalidParameterValue"


def test_batches(sqs):
    url = sqs.create_queue(QueueName=qname())["QueueUrl"]
    out = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "one"},
        {"Id": "b", "MessageBody": "two",
         "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
        {"Id": "c", "MessageBody": "bad \x01"}])
    assert sorted(e["Id"] for e in out["Successful"]) == ["a", "b"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in out["Failed"]] == [
        ("c", "InvalidMessageContents", True)]
    got = []
    while len(got) < 2:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=1).get("Messages", [])
    assert sorted(m["Body"] for m in got) == ["one", "two"]
    out = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
    assert len(out["Successful"]) == 2 and not out.get("Failed")
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=url, Entries=[])
    assert code_of(e) == "AWS.SimpleQueueService.EmptyBatchRequest"
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "x", "MessageBody": "1"},
                                                      {"Id": "x", "MessageBody": "2"}])
    assert code_of(e) == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": "m"} for i in range(11)])
    assert code_of(e) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"


def test_purge(sqs):
    url = sqs.create_queue(QueueName=qname())["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    sqs.purge_queue(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    with pytest.raises(ClientError) as e:
        sqs.purge_queue(QueueUrl=url)
    assert code_of(e) == "AWS.SimpleQueueService.PurgeQueueInProgress"


def test_fifo_order_and_deduplication(sqs):
    name = qname() + ".fifo"
    url = sqs.create_queue(QueueName=name, Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true"
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="no group")
    assert code_of(e) == "MissingParameter"
    # the second m0 has m0's content-based deduplication id: accepted, never delivered
    sqs.send_message(QueueUrl=url, MessageBody="m0", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="m0", MessageGroupId="g")
    for i in range(1, 4):
        sqs.send_message(QueueUrl=url, MessageBody="m%d" % i, MessageGroupId="g")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2,
                              AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m1"]
    assert got[0]["Attributes"]["MessageGroupId"] == "g"
    # the group is blocked while its messages are in flight
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    for m in got:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["m2", "m3"]
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=qname(), Attributes={"FifoQueue": "true"})
    assert code_of(e) == "InvalidParameterValue"


def test_query_protocol_with_aws_cli_v2(request, sqs):
    """The AWS CLI v2 of Debian (2.9) speaks SQS's Query protocol: flattened attribute maps,
    message attributes, lists and batch entries; it checks the MD5s too."""
    endpoint = REFERENCE or request.getfixturevalue("server").endpoint
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)

    def aws(*args, ok=True):
        p = subprocess.run(["/usr/bin/aws", "--endpoint-url", endpoint, "--output", "json",
                            "sqs"] + list(args), capture_output=True, text=True, env=env,
                           timeout=60)
        if not ok:
            assert p.returncode != 0
            return p.stderr
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout) if p.stdout.strip() else None

    name = qname("cli")
    url = aws("create-queue", "--queue-name", name, "--attributes",
              "VisibilityTimeout=7,DelaySeconds=0")["QueueUrl"]
    attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names",
                "VisibilityTimeout", "QueueArn")["Attributes"]
    assert attrs["VisibilityTimeout"] == "7" and attrs["QueueArn"].endswith(":" + name)
    sent = aws("send-message", "--queue-url", url, "--message-body", "via query",
               "--message-attributes",
               '{"s":{"DataType":"String","StringValue":"v"},'
               '"b":{"DataType":"Binary","BinaryValue":"AAE="}}')
    got = aws("receive-message", "--queue-url", url, "--attribute-names", "All",
              "--message-attribute-names", "All")["Messages"][0]
    assert got["MessageId"] == sent["MessageId"] and got["Body"] == "via query"
    assert got["MessageAttributes"]["s"] == {"StringValue": "v", "DataType": "String"}
    assert got["Attributes"]["ApproximateReceiveCount"] == "1"
    aws("delete-message", "--queue-url", url, "--receipt-handle", got["ReceiptHandle"])
    out = aws("send-message-batch", "--queue-url", url, "--entries",
              "Id=a,MessageBody=one", "Id=b,MessageBody=two")
    assert sorted(e["Id"] for e in out["Successful"]) == ["a", "b"]
    msgs = []
    while len(msgs) < 2:
        msgs += aws("receive-message", "--queue-url", url, "--max-number-of-messages", "10",
                    "--wait-time-seconds", "1").get("Messages", [])
    out = aws("delete-message-batch", "--queue-url", url, "--entries", json.dumps(
        [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]))
    assert len(out["Successful"]) == 2
    assert url in aws("list-queues", "--queue-name-prefix", name)["QueueUrls"]
    err = aws("get-queue-url", "--queue-name", name + "-none", ok=False)
    assert "AWS.SimpleQueueService.NonExistentQueue" in err
    aws("delete-queue", "--queue-url", url)


def test_dead_letter_queue(sqs):
    dlq = sqs.create_queue(QueueName=qname("dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq,
                                       AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    url = sqs.create_queue(QueueName=qname("src"), Attributes={"RedrivePolicy": policy})["QueueUrl"]
    got = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])[
        "Attributes"]["RedrivePolicy"])
    assert (got["deadLetterTargetArn"], int(got["maxReceiveCount"])) == (dlq_arn, 2)
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):  # received maxReceiveCount times, never deleted
        assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0][
            "Body"] == "poison"
    # the next receive moves it to the dead-letter queue instead of delivering it
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    moved = wait_until(lambda: sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"]).get(
        "Messages"))
    assert moved[0]["Body"] == "poison"
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": "{}"})
    assert code_of(e) == "InvalidParameterValue"
