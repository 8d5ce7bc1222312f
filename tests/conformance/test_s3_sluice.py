"""The object store's protocol details that need raw HTTP (Sluice only; test_s3.py holds the
portable boto3 tests): S3's error document, virtual-host addressing, the payload-hash modes
(aws-chunked with chunk signatures, unsigned chunks with a checksum trailer, a signed payload hash
that does not match), operations Sluice does not implement, accounts, and objects surviving a
restart."""
import http.client
import xml.etree.ElementTree as ET
import zlib
import base64

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from helpers import REGION, SECRET_KEY, unique_name

FAKE_SIG = "f" * 64


def s3_client(server, access_key="AKIDEXAMPLE"):
    session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=SECRET_KEY,
                                    region_name=REGION)
    return session.client("s3", endpoint_url=server.endpoint,
                          config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                        s3={"addressing_style": "path"}))


def raw(server, method, path, body=b"", headers=None, host=None, payload_hash=None):
    """One SigV4-signed request (botocore's S3 signer); returns (status, headers, body)."""
    host = host or "127.0.0.1:%d" % server.port
    hdrs = dict(headers or {})
    if payload_hash:
        hdrs["x-amz-content-sha256"] = payload_hash
    req = AWSRequest(method=method, url="http://%s%s" % (host, path), data=body, headers=hdrs)
    S3SigV4Auth(Credentials("AKIDEXAMPLE", SECRET_KEY), "s3", REGION).add_auth(req)
    sent = {k: v for k, v in req.headers.items() if k.lower() != "x-amz-content-sha256"}
    # The signer writes its own payload hash; the request carries the one the test chose (the
    # signature is then not valid for it, which only the hash check, not this server, notices).
    sent["x-amz-content-sha256"] = payload_hash or req.headers["x-amz-content-sha256"]
    sent["Host"] = host
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(method, path, body=body or None, headers=sent)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


@pytest.fixture
def bucket(server):
    s3 = s3_client(server)
    name = unique_name("raw").lower().replace("_", "-")
    s3.create_bucket(Bucket=name)
    return name


def error_doc(body):
    root = ET.fromstring(body)
    assert root.tag == "Error"
    return {child.tag: child.text for child in root}


def test_error_document(server, bucket):
    status, headers, body = raw(server, "GET", "/%s/missing-key" % bucket)
    assert status == 404
    assert headers["Content-Type"] == "application/xml"
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>')
    doc = error_doc(body)
    assert doc["Code"] == "NoSuchKey"
    assert doc["Message"] == "The specified key does not exist."
    assert doc["Key"] == "missing-key"
    assert doc["RequestId"] == headers["x-amz-request-id"]
    status, _, body = raw(server, "GET", "/no-such-bucket-%s" % unique_name().lower())
    doc = error_doc(body)
    assert status == 404 and doc["Code"] == "NoSuchBucket" and doc["BucketName"]
    # HEAD answers the status alone.
    status, _, body = raw(server, "HEAD", "/%s/missing-key" % bucket)
    assert status == 404 and body == b""


def test_virtual_host_addressing(server, bucket):
    s3 = s3_client(server)
    s3.put_object(Bucket=bucket, Key="dir/vh.txt", Body=b"virtual")
    for host in ["%s.localhost:%d" % (bucket, server.port),
                 "%s.s3.us-east-1.amazonaws.com" % bucket]:
        status, _, body = raw(server, "GET", "/dir/vh.txt", host=host)
        assert (status, body) == (200, b"virtual"), host
        status, _, body = raw(server, "GET", "/?list-type=2&prefix=dir/", host=host)
        assert status == 200
        root = ET.fromstring(body)
        ns = {"s": "http://s3.amazonaws.com/doc/2006-03-01/"}
        assert root.find("s:Name", ns).text == bucket
        assert [k.text for k in root.findall("s:Contents/s:Key", ns)] == ["dir/vh.txt"]


def chunked_body(data, chunk, signed=True, trailer=None):
    out = b""
    for i in range(0, len(data), chunk):
        piece = data[i:i + chunk]
        ext = b";chunk-signature=" + FAKE_SIG.encode() if signed else b""
        out += b"%x" % len(piece) + ext + b"\r\n" + piece + b"\r\n"
    out += b"0" + (b";chunk-signature=" + FAKE_SIG.encode() if signed else b"") + b"\r\n"
    if trailer:
        out += trailer + b"\r\n"
    return out + b"\r\n"


def test_aws_chunked_signed(server, bucket):
    data = bytes(range(256)) * 300
    body = chunked_body(data, 8192)
    status, headers, resp = raw(server, "PUT", "/%s/chunked" % bucket, body=body,
                                payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                                headers={"Content-Encoding": "aws-chunked",
                                         "x-amz-decoded-content-length": str(len(data))})
    assert status == 200, resp
    got = s3_client(server).get_object(Bucket=bucket, Key="chunked")
    assert got["Body"].read() == data
    assert "ContentEncoding" not in got  # aws-chunked is a transfer detail, not stored
    # The decoded length must match what the header promised.
    status, _, resp = raw(server, "PUT", "/%s/short" % bucket, body=body,
                          payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                          headers={"Content-Encoding": "aws-chunked",
                                   "x-amz-decoded-content-length": str(len(data) + 1)})
    assert status == 400 and error_doc(resp)["Code"] == "IncompleteBody"
    # Malformed framing.
    status, _, resp = raw(server, "PUT", "/%s/bad" % bucket, body=b"zz\r\nabc",
                          payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                          headers={"Content-Encoding": "aws-chunked"})
    assert status == 400 and error_doc(resp)["Code"] == "InvalidRequest"


def test_aws_chunked_unsigned_trailer(server, bucket):
    data = b"trailer-data" * 1000
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    body = chunked_body(data, 5000, signed=False,
                        trailer=b"x-amz-checksum-crc32:" + crc.encode())
    status, _, resp = raw(server, "PUT", "/%s/trailer" % bucket, body=body,
                          payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                          headers={"Content-Encoding": "aws-chunked",
                                   "x-amz-trailer": "x-amz-checksum-crc32",
                                   "x-amz-decoded-content-length": str(len(data))})
    assert status == 200, resp
    assert s3_client(server).get_object(Bucket=bucket, Key="trailer")["Body"].read() == data


def test_payload_hash_mismatch(server, bucket):
    status, _, resp = raw(server, "PUT", "/%s/k" % bucket, body=b"hello",
                          payload_hash="0" * 64)
    assert status == 400 and error_doc(resp)["Code"] == "XAmzContentSHA256Mismatch"
    status, _, resp = raw(server, "PUT", "/%s/k" % bucket, body=b"hello",
                          payload_hash="UNSIGNED-PAYLOAD")
    assert status == 200


def test_not_implemented(server, bucket):
    status, _, resp = raw(server, "GET", "/%s?versioning" % bucket)
    assert status == 501 and error_doc(resp)["Code"] == "NotImplemented"


def test_accounts_are_separate(server):
    mine, other = s3_client(server), s3_client(server, access_key="111111111111")
    name = unique_name("acct").lower().replace("_", "-")
    other.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in other.list_buckets()["Buckets"]]
    assert name not in [b["Name"] for b in mine.list_buckets()["Buckets"]]
    other.delete_bucket(Bucket=name)


def test_objects_survive_restart(make_server):
    srv = make_server()
    s3 = s3_client(srv)
    s3.create_bucket(Bucket="persist")
    s3.put_object(Bucket="persist", Key="a/b", Body=b"kept", Metadata={"x": "y"})
    uid = s3.create_multipart_upload(Bucket="persist", Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket="persist", Key="mp", UploadId=uid, PartNumber=1,
                          Body=b"part")["ETag"]
    srv.restart()
    s3 = s3_client(srv)
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["persist"]
    got = s3.get_object(Bucket="persist", Key="a/b")
    assert got["Body"].read() == b"kept" and got["Metadata"] == {"x": "y"}
    # The upload in progress carries on after the restart.
    s3.complete_multipart_upload(Bucket="persist", Key="mp", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket="persist", Key="mp")["Body"].read() == b"part"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="persist")["Contents"]]
    assert keys == ["a/b", "mp"]


def test_signatures_verified(make_server, tmp_path):
    """--auth sigv4: S3 requests are verified with S3's SigV4 rules (path encoded once, the payload
    hash as sent), presigned SigV4 URLs work, SigV2 and wrong secrets are refused as S3 does, and
    each principal's account has its own buckets."""
    import urllib.error
    import urllib.request
    key, secret = "AKIAS3ADMIN00EXAMPLE", "s3/admin+secret"
    other_key, other_secret = "AKIAS3OTHER00EXAMPLE", "other-secret"
    creds = tmp_path / "credentials"
    creds.write_text("[admin]\naws_access_key_id = %s\naws_secret_access_key = %s\nadmin = true\n"
                     "[other]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                     "account_id = 222233334444\nadmin = true\n"
                     % (key, secret, other_key, other_secret))
    srv = make_server(auth="sigv4", credentials=str(creds))

    def client(k, s, **cfg):
        session = boto3.session.Session(aws_access_key_id=k, aws_secret_access_key=s,
                                        region_name=REGION)
        return session.client("s3", endpoint_url=srv.endpoint, config=Config(
            retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}, **cfg))

    s3 = client(key, secret)
    s3.create_bucket(Bucket="signed")
    s3.put_object(Bucket="signed", Key="dir/with space+plus", Body=b"ok")
    assert s3.get_object(Bucket="signed", Key="dir/with space+plus")["Body"].read() == b"ok"
    uid = s3.create_multipart_upload(Bucket="signed", Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket="signed", Key="mp", UploadId=uid, PartNumber=1,
                          Body=b"p")["ETag"]
    s3.complete_multipart_upload(Bucket="signed", Key="mp", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    v4 = client(key, secret, signature_version="s3v4")
    url = v4.generate_presigned_url("get_object", Params={"Bucket": "signed", "Key": "mp"})
    assert urllib.request.urlopen(url).read() == b"p"
    bad = client(key, "wrong-secret")
    with pytest.raises(ClientError) as e:
        bad.list_objects_v2(Bucket="signed")
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    v2_url = s3.generate_presigned_url("get_object", Params={"Bucket": "signed", "Key": "mp"})
    assert "AWSAccessKeyId=" in v2_url
    with pytest.raises(urllib.error.HTTPError) as h:
        urllib.request.urlopen(v2_url)
    assert h.value.code == 403 and b"<Code>AccessDenied</Code>" in h.value.read()
    other = client(other_key, other_secret)
    assert [b["Name"] for b in other.list_buckets()["Buckets"]] == []


def signed_chunked_put(srv, key_id, secret, path, data, chunk, tamper=None):
    """A PutObject with a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body whose chunk signatures chain
    on the request's (S3's chunked SigV4, computed here: botocore has no signer for it). tamper:
    "data" changes a byte of the second chunk after signing, "final" signs the last chunk wrong,
    "unsigned" leaves a chunk's signature out."""
    import hashlib
    import hmac
    from botocore.auth import SigV4Auth
    host = "127.0.0.1:%d" % srv.port
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    framed_len = sum(len(b"%x;chunk-signature=" % len(p)) + 64 + 4 + len(p) for p in pieces)
    headers = {"X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
               "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
               "Content-Length": str(framed_len)}
    req = AWSRequest(method="PUT", url="http://%s%s" % (host, path), headers=headers)
    SigV4Auth(Credentials(key_id, secret), "s3", REGION).add_auth(req)
    amz_date = req.headers["X-Amz-Date"]
    seed = req.headers["Authorization"].rsplit("Signature=", 1)[1]
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], REGION)

    def h(k, m):
        return hmac.new(k, m.encode() if isinstance(m, str) else m, hashlib.sha256).digest()
    k = h(h(h(h(("AWS4" + secret).encode(), amz_date[:8]), REGION), "s3"), "aws4_request")
    body, prev = b"", seed
    for i, piece in enumerate(pieces):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev,
                         hashlib.sha256(b"").hexdigest(), hashlib.sha256(piece).hexdigest()])
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        prev = sig
        if tamper == "data" and i == 1:
            piece = piece[:10] + bytes([piece[10] ^ 1]) + piece[11:]
        if tamper == "final" and not piece:
            sig = "0" * 64
        ext = b"" if tamper == "unsigned" and i == 1 else b";chunk-signature=" + sig.encode()
        body += b"%x" % len(piece) + ext + b"\r\n" + piece + b"\r\n"
    sent = dict(req.headers.items())
    sent["Content-Length"] = str(len(body))
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    try:
        conn.request("PUT", path, body=body, headers=sent)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_chunk_signatures_verified(make_server, tmp_path):
    """--auth sigv4 and STREAMING-AWS4-HMAC-SHA256-PAYLOAD: every chunk's signature is checked
    against the chain; a changed byte in a chunk, a wrong last signature or an unsigned chunk is
    SignatureDoesNotMatch (403) and stores nothing."""
    key, secret = "AKIACHUNK0000EXAMPLE", "chunk/secret+key"
    creds = tmp_path / "credentials"
    creds.write_text("[admin]\naws_access_key_id = %s\naws_secret_access_key = %s\nadmin = true\n"
                     % (key, secret))
    srv = make_server(auth="sigv4", credentials=str(creds))
    s3 = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                               region_name=REGION).client(
        "s3", endpoint_url=srv.endpoint, config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="chunks")
    data = bytes(range(256)) * 1000  # 256,000 bytes: three 100 KB chunks and a short one
    status, body = signed_chunked_put(srv, key, secret, "/chunks/good", data, 100000)
    assert status == 200, body
    assert s3.get_object(Bucket="chunks", Key="good")["Body"].read() == data
    for tamper in ("data", "final", "unsigned"):
        status, body = signed_chunked_put(srv, key, secret, "/chunks/" + tamper, data, 100000,
                                          tamper=tamper)
        assert status == 403, (tamper, body)
        assert error_doc(body)["Code"] == "SignatureDoesNotMatch", tamper
        with pytest.raises(ClientError):
            s3.head_object(Bucket="chunks", Key=tamper)
    status, body = signed_chunked_put(srv, key, "wrong-secret", "/chunks/x", data, 100000)
    assert status == 403 and error_doc(body)["Code"] == "SignatureDoesNotMatch"


def test_large_objects_stream_whole_and_in_ranges(server, bucket):
    """A GetObject answer larger than 1 MiB is streamed from the file in pieces (with its
    Content-Length, keep-alive kept): the whole object, ranges crossing the pieces, and a second
    request on the same connection all get exactly the stored bytes."""
    import hashlib
    import os
    s3 = s3_client(server)
    data = os.urandom(9 * 1024 * 1024 + 12345)
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["ContentLength"] == len(data)
    assert hashlib.md5(got["Body"].read()).digest() == hashlib.md5(data).digest()
    for first, last in ((0, 262143), (262100, 262200), (1048575, 5 * 1048576 + 7),
                        (len(data) - 3, len(data) - 1)):
        got = s3.get_object(Bucket=bucket, Key="big", Range="bytes=%d-%d" % (first, last))
        assert got["ContentRange"] == "bytes %d-%d/%d" % (first, last, len(data))
        assert got["Body"].read() == data[first:last + 1]
    got = s3.get_object(Bucket=bucket, Key="big", Range="bytes=-2000000")
    assert got["Body"].read() == data[-2000000:]
    # raw HTTP/1.1: a Content-Length, no chunked coding, and the connection is reused
    req = AWSRequest(method="GET", url="%s/%s/big" % (server.endpoint, bucket))
    S3SigV4Auth(Credentials("AKIDEXAMPLE", SECRET_KEY), "s3", REGION).add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        for _ in range(2):
            conn.request("GET", "/%s/big" % bucket, headers=dict(req.headers.items()))
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.headers["Content-Length"] == str(len(data))
            assert resp.headers.get("Transfer-Encoding") is None
            assert resp.read() == data
    finally:
        conn.close()
    head = s3.head_object(Bucket=bucket, Key="big")
    assert head["ContentLength"] == len(data)


def test_a_damaged_large_object_is_cut_off_not_served(make_server):
    """A streamed whole-object answer checks the object's CRC32C with its last piece: when the
    file was damaged on disk, the client gets an incomplete answer (the connection is closed
    before the last bytes), never the damaged bytes as a complete object."""
    import os
    srv = make_server()
    s3 = s3_client(srv)
    s3.create_bucket(Bucket="dmg")
    data = os.urandom(3 * 1024 * 1024)
    s3.put_object(Bucket="dmg", Key="k", Body=data)
    files = [p for p in (srv.data_dir / "objects" / "buckets" / "dmg" / "o").rglob("*")
             if p.is_file()]
    assert len(files) == 1
    with open(files[0], "r+b") as f:
        f.seek(-1000, os.SEEK_END)  # inside the data, which ends the file
        b = f.read(1)
        f.seek(-1000, os.SEEK_END)
        f.write(bytes([b[0] ^ 0xFF]))
    got = s3.get_object(Bucket="dmg", Key="k")
    with pytest.raises(Exception) as e:
        got["Body"].read()
    assert "IncompleteRead" in repr(e.value) or "ResponseStreamingError" in repr(e.value) or \
        "length" in repr(e.value).lower(), repr(e.value)
    # a range (no whole-object check) still reads the undamaged part
    assert s3.get_object(Bucket="dmg", Key="k", Range="bytes=0-99")["Body"].read() == data[:100]
    assert "the data does not match its CRC32C" in srv.stderr_tail()
