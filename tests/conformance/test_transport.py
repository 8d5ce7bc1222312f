"""Transports a Kinesis client may use, reaching real operations: HTTP/2 with prior knowledge on
the plain port (`curl --http2-prior-knowledge`, as the JavaScript SDK v3 and the Java SDK v2 async
client do), HTTP/2 and HTTP/1.1 over TLS with ALPN (`curl --http2` to the TLS port, as the KPL and
Java SDK use HTTPS), and boto3 over HTTPS with the server's self-signed certificate."""

import json
import subprocess

import pytest



from helpers import ACCESS_KEY, SECRET_KEY, REGION, free_port, unique_name, wait_for_status

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


def curl(url, target, body, *flags):
    """A signed Kinesis request made by curl itself (--aws-sigv4); returns (status, headers, body)."""
    cmd = ["curl", "-sS", "-k", "-o", "-", "-D", "/dev/stderr", *flags,
           "--aws-sigv4", f"aws:amz:{REGION}:kinesis", "--user", f"{ACCESS_KEY}:{SECRET_KEY}",
           "-H", f"X-Amz-Target: Kinesis_20131202.{target}",
           "-H", "Content-Type: application/x-amz-json-1.1",
           "--data-binary", json.dumps(body), url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    head = p.stderr.splitlines()
    status_line = next(line for line in head if line.startswith("HTTP/"))
    return status_line, head, p.stdout


@pytest.fixture
def tls_server(make_server):
    return make_server(tls_port=free_port())


def test_h2_prior_knowledge_unary(server):
    name = unique_name("h2")
    status, _, body = curl(server.endpoint + "/", "CreateStream", {"StreamName": name, "ShardCount": 1},
                           "--http2-prior-knowledge")
    assert status.startswith("HTTP/2 200"), status
    status, _, body = curl(server.endpoint + "/", "DescribeStreamSummary", {"StreamName": name},
                           "--http2-prior-knowledge")
    assert status.startswith("HTTP/2 200"), status
    assert json.loads(body)["StreamDescriptionSummary"]["StreamName"] == name
    status, _, body = curl(server.endpoint + "/", "DescribeStream", {"StreamName": "missing-" + name},
                           "--http2-prior-knowledge")
    assert status.startswith("HTTP/2 400"), status
    assert json.loads(body)["__type"] == "ResourceNotFoundException"


def test_tls_alpn_h2_and_http11(tls_server):
    url = f"https://127.0.0.1:{tls_server.options['tls_port']}/"
    status, _, body = curl(url, "ListStreams", {}, "--http2")
    assert status.startswith("HTTP/2 200"), status
    assert "StreamNames" in json.loads(body)
    status, _, body = curl(url, "ListStreams", {}, "--http1.1")
    assert status.startswith("HTTP/1.1 200"), status
    assert "StreamNames" in json.loads(body)


def test_boto3_over_https(tls_server):
    import boto3
    from botocore.config import Config
    client = boto3.client("kinesis", endpoint_url=f"https://127.0.0.1:{tls_server.options['tls_port']}",
                          region_name=REGION, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                          verify=False, config=Config(retries={"max_attempts": 1}))
    name = unique_name("tls")
    client.create_stream(StreamName=name, ShardCount=1)
    wait_for_status(client, name, "ACTIVE")
    put = client.put_record(StreamName=name, PartitionKey="k", Data=b"over tls")
    it = client.get_shard_iterator(StreamName=name, ShardId=put["ShardId"],
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in client.get_records(ShardIterator=it)["Records"]] == [b"over tls"]
