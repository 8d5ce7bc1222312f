"""STS over the Query protocol (form-encoded requests, XML answers, routed by the SigV4 signing
name "sts"): GetCallerIdentity as boto3 and the AWS CLI v2 call it, and the Query protocol's error
shape for the requests a client would not send. Open mode here (the session server); the same
call with verified signatures is in test_auth.py."""
import http.client
import json
import os
import subprocess
import xml.etree.ElementTree as ET

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from helpers import ACCESS_KEY, ACCOUNT, REGION, SECRET_KEY

NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


def sts(server, key=ACCESS_KEY):
    return boto3.client("sts", endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def query(server, body, sign=True, method="POST", path="/"):
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if sign:
        req = AWSRequest(method=method, url=server.endpoint + path, data=body, headers=headers)
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "sts", REGION).add_auth(req)
        headers = dict(req.headers.items())
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()


def test_get_caller_identity_boto3(server):
    out = sts(server).get_caller_identity()
    assert (out["Account"], out["Arn"], out["UserId"]) == (
        ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT)
    # A 12-digit key names its account, as for Kinesis.
    out = sts(server, key="111122223333").get_caller_identity()
    assert out["Account"] == "111122223333"
    assert out["Arn"] == "arn:aws:iam::111122223333:root"


def test_get_caller_identity_aws_cli(server):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", server.endpoint, "--output", "json",
                        "sts", "get-caller-identity"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["Account"] == ACCOUNT


def test_xml_answer_shape(server):
    status, ctype, body = query(server, "Action=GetCallerIdentity&Version=2011-06-15")
    assert status == 200 and ctype == "text/xml"
    root = ET.fromstring(body)
    assert root.tag == NS + "GetCallerIdentityResponse"
    result = root.find(NS + "GetCallerIdentityResult")
    assert [e.tag[len(NS):] for e in result] == ["Arn", "UserId", "Account"]
    assert root.find(f"{NS}ResponseMetadata/{NS}RequestId").text


def error_of(body):
    root = ET.fromstring(body)
    assert root.tag == NS + "ErrorResponse"
    err = root.find(NS + "Error")
    assert root.find(NS + "RequestId").text
    return (err.find(NS + "Type").text, err.find(NS + "Code").text,
            err.find(NS + "Message").text)


def test_query_errors(server):
    status, ctype, body = query(server, "Action=NoSuchThing&Version=2011-06-15")
    assert (status, ctype) == (400, "text/xml")
    assert error_of(body) == ("Sender", "InvalidAction",
                              "Could not find operation NoSuchThing for version 2011-06-15")
    status, _, body = query(server, "Version=2011-06-15")
    assert status == 400 and error_of(body)[1] == "MissingAction"
    status, _, body = query(server, "Action=GetCallerIdentity&Version=2011-06-15&x=%zz")
    assert status == 400 and error_of(body)[1] == "MalformedQueryString"
    # Unsigned: the Query protocol's code, not the JSON one (routed by the signing name, so a
    # request with no signature at all goes to the default service: sign with a bad scope).
    req = AWSRequest(method="POST", url=server.endpoint + "/", data="Action=GetCallerIdentity",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "sts", REGION).add_auth(req)
    h = dict(req.headers.items())
    h["Authorization"] = h["Authorization"].split(", Signature=")[0]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/", body="Action=GetCallerIdentity", headers=h)
    resp = conn.getresponse()
    status, body = resp.status, resp.read()
    conn.close()
    assert status == 403
    assert error_of(body)[:2] == ("Sender", "IncompleteSignature")


def test_get_request_with_query_string(server):
    # The Query protocol also takes GET with the parameters in the query string.
    status, _, body = query(server, "", method="GET",
                            path="/?Action=GetCallerIdentity&Version=2011-06-15")
    assert status == 200, body
    assert ET.fromstring(body).tag == NS + "GetCallerIdentityResponse"
