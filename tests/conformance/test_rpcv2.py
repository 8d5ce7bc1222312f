"""Conformance: the Smithy RPC v2 CBOR binding (docs/observability.md, "CloudWatch API"), on the
wire. The SDK-level test is tests/conformance/js/cloudwatch.test.mjs (the JS SDK v3 speaking it);
these check what an SDK does not show: the route, the required header and content type, and that
timestamps are tag 1 + *seconds* both ways (integer seconds and float seconds in requests; the
Kinesis CBOR protocol's integer milliseconds would put these points in 1970's future).
"""
import datetime

import cbor2
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from helpers import ACCESS_KEY, REGION, SECRET_KEY, raw_request, unique_name
from test_cbor import Tag, decode_strict

PREFIX = "/service/GraniteServiceVersion20100801/operation/"


def rpc(server, op, body, headers=None, path=None, content_type="application/cbor"):
    data = b"" if body is None else cbor2.dumps(body)
    hdrs = {"smithy-protocol": "rpc-v2-cbor", "Accept": "application/cbor"}
    if content_type:
        hdrs["Content-Type"] = content_type
    hdrs.update(headers or {})
    hdrs = {k: v for k, v in hdrs.items() if v is not None}
    url = server.endpoint + (path or PREFIX + op)
    req = AWSRequest(method="POST", url=url, data=data, headers=hdrs)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "monitoring", REGION).add_auth(req)
    return raw_request(server, target=None, body=data, headers=dict(req.headers.items()),
                       sign=False, content_type=None, path=path or PREFIX + op)


def seconds_tag(s):
    """tag 1 + an integer (cbor2 would write a datetime as a string or a float)."""
    return cbor2.CBORTag(1, s)


def test_timestamps_are_seconds_both_ways(server):
    ns = unique_name("Rpc")
    minute = int(datetime.datetime.now(datetime.timezone.utc).timestamp()) // 60 * 60 - 60
    resp = rpc(server, "PutMetricData", {"Namespace": ns, "MetricData": [
        {"MetricName": "M", "Value": 2.0, "Timestamp": seconds_tag(minute + 1)},
        {"MetricName": "M", "Value": 4.0, "Timestamp": seconds_tag(minute + 2.5)}]})
    assert resp.status == 200, resp
    assert resp.headers.get("smithy-protocol") == "rpc-v2-cbor"
    assert resp.headers.get("Content-Type") == "application/cbor"
    resp = rpc(server, "GetMetricStatistics", {
        "Namespace": ns, "MetricName": "M", "Period": 60, "Statistics": ["Sum", "SampleCount"],
        "StartTime": seconds_tag(minute - 600), "EndTime": seconds_tag(minute + 600)})
    assert resp.status == 200, resp
    doc = decode_strict(resp.body)
    [point] = doc["Datapoints"]
    assert isinstance(point["Timestamp"], Tag) and point["Timestamp"].tag == 1
    assert point["Timestamp"].value == minute  # whole seconds: an integer
    assert (point["Sum"], point["SampleCount"]) == (6.0, 2.0)


def test_empty_body_is_empty_input(server):
    resp = rpc(server, "ListMetrics", None, content_type=None)
    assert resp.status == 200, resp
    assert "Metrics" in decode_strict(resp.body)


def test_protocol_errors(server):
    # an operation the model does not have
    resp = rpc(server, "NoSuchOperation", {})
    assert resp.status == 404
    assert decode_strict(resp.body)["__type"] == "UnknownOperationException"
    assert resp.headers.get("smithy-protocol") == "rpc-v2-cbor"
    # the smithy-protocol header is required
    resp = rpc(server, "ListMetrics", {}, headers={"smithy-protocol": None})
    assert resp.status == 400
    assert decode_strict(resp.body)["__type"] == "SerializationException"
    # the body must be CBOR
    resp = rpc(server, "ListMetrics", {}, content_type="application/json")
    assert resp.status == 415
    assert decode_strict(resp.body)["__type"] == "UnsupportedMediaTypeException"
    # not a map / not CBOR at all
    for body in (cbor2.dumps([1, 2]), b"\xff\x00"):
        req = AWSRequest(method="POST", url=server.endpoint + PREFIX + "ListMetrics", data=body,
                         headers={"smithy-protocol": "rpc-v2-cbor",
                                  "Content-Type": "application/cbor"})
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "monitoring", REGION).add_auth(req)
        resp = raw_request(server, target=None, body=body, headers=dict(req.headers.items()),
                           sign=False, content_type=None, path=PREFIX + "ListMetrics")
        assert resp.status == 400
        assert decode_strict(resp.body)["__type"] == "SerializationException"
    # model validation answers as for JSON, in CBOR
    resp = rpc(server, "GetMetricStatistics", {"Namespace": "N"})
    assert resp.status == 400
    err = decode_strict(resp.body)
    assert err["__type"] == "ValidationException", err


def test_signatures_verified(make_server, tmp_path):
    """--auth sigv4: requests signed for CloudWatch's signing name (monitoring) pass in every
    protocol, and a wrong secret is refused in CBOR."""
    import boto3
    from botocore.config import Config
    creds = tmp_path / "credentials"
    creds.write_text("[admin]\naws_access_key_id = %s\naws_secret_access_key = %s\nadmin = true\n"
                     % (ACCESS_KEY, SECRET_KEY))
    srv = make_server(auth="sigv4", credentials=str(creds))
    resp = rpc(srv, "ListMetrics", {})
    assert resp.status == 200, resp
    cw = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                               region_name=REGION).client(
        "cloudwatch", endpoint_url=srv.endpoint, config=Config(retries={"total_max_attempts": 1}))
    cw.put_metric_data(Namespace="Signed", MetricData=[{"MetricName": "M", "Value": 1.0}])
    assert [m["MetricName"] for m in cw.list_metrics(Namespace="Signed")["Metrics"]] == ["M"]
    data = b"\xa0"
    req = AWSRequest(method="POST", url=srv.endpoint + PREFIX + "ListMetrics", data=data,
                     headers={"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"})
    SigV4Auth(Credentials(ACCESS_KEY, "not-the-secret"), "monitoring", REGION).add_auth(req)
    resp = raw_request(srv, target=None, body=data, headers=dict(req.headers.items()), sign=False,
                       content_type=None, path=PREFIX + "ListMetrics")
    assert resp.status == 400
    assert decode_strict(resp.body)["__type"] == "InvalidSignatureException"


def test_s3_bucket_named_service_is_not_rpcv2(server):
    """An S3 request whose path has the RPC v2 shape (bucket "service", a key starting with the
    CloudWatch service's name) is S3's: it is signed for s3."""
    import boto3
    from botocore.config import Config
    s3 = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                               region_name=REGION).client(
        "s3", endpoint_url=server.endpoint, config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="service")
    key = "GraniteServiceVersion20100801/operation/ListMetrics"
    s3.put_object(Bucket="service", Key=key, Body=b"an object, not a metric call")
    assert s3.get_object(Bucket="service", Key=key)["Body"].read() == \
        b"an object, not a metric call"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="service")["Contents"]] == [key]
    s3.delete_object(Bucket="service", Key=key)
    s3.delete_bucket(Bucket="service")
