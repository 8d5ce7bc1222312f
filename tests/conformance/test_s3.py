"""The object store through boto3's s3 client (docs/object-store.md): buckets, objects, ranges,
listings with delimiters and pagination, copies, multipart uploads and the exact S3 error codes.

Portable on purpose: every test here uses only the S3 API, so the same file runs against another
S3 implementation to show the expectations are S3's, not Sluice's. With S3_TEST_ENDPOINT set (for
example to an s3rver started by hand) the tests talk to that endpoint instead of the session's
Sluice server. Sluice-only behaviour (virtual-host addressing, the error document's bytes, the
aws-chunked decoder) is in test_s3_sluice.py; the AWS CLI's `s3` commands in test_s3_cli.py."""
import base64
import hashlib
import io
import os

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import ACCESS_KEY, REGION, SECRET_KEY, unique_name

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def endpoint(request):
    external = os.environ.get("S3_TEST_ENDPOINT")
    if external:
        return external
    return request.getfixturevalue("server").endpoint


@pytest.fixture(scope="module")
def s3(endpoint):
    session = boto3.session.Session(aws_access_key_id=os.environ.get("S3_TEST_KEY", ACCESS_KEY),
                                    aws_secret_access_key=os.environ.get("S3_TEST_SECRET",
                                                                         SECRET_KEY),
                                    region_name=REGION)
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                    s3={"addressing_style": "path"}, read_timeout=120)
    return session.client("s3", endpoint_url=endpoint, config=config)


def bucket_name():
    return unique_name("b").lower().replace("_", "-")


@pytest.fixture
def bucket(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for o in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=o["Key"])
    s3.delete_bucket(Bucket=name)


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    err = e.value.response["Error"]
    return err["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"], err.get("Message")


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


# --- buckets ---------------------------------------------------------------------------------


def test_bucket_lifecycle(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    s3.head_bucket(Bucket=name)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert name in names
    # North Virginia (REGION): re-creating a bucket one owns succeeds, for legacy compatibility.
    assert s3.create_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    code, status, _ = error_of(s3.delete_bucket, Bucket=name)
    assert (code, status) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    assert error_of(s3.head_bucket, Bucket=name)[:2] == ("404", 404)
    code, status, msg = error_of(s3.delete_bucket, Bucket=name)
    assert (code, status, msg) == ("NoSuchBucket", 404, "The specified bucket does not exist")
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_invalid_bucket_names(s3):
    for name in ["ab", "a" * 64, "-leading", "trailing-", "double..dot", "192.168.1.1"]:
        code, status, _ = error_of(s3.create_bucket, Bucket=name)
        assert (code, status) == ("InvalidBucketName", 400), name


def test_create_bucket_with_configuration(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.delete_bucket(Bucket=name)


# --- objects ---------------------------------------------------------------------------------


def test_put_get_head_object(s3, bucket):
    data = os.urandom(100_000)
    out = s3.put_object(Bucket=bucket, Key="dir/obj.bin", Body=data, ContentType="image/png",
                        Metadata={"color": "blue", "Size": "Large"},
                        CacheControl="max-age=60", ContentDisposition="inline")
    assert out["ETag"] == '"%s"' % md5_hex(data)
    got = s3.get_object(Bucket=bucket, Key="dir/obj.bin")
    assert got["Body"].read() == data
    assert got["ETag"] == out["ETag"]
    assert got["ContentType"] == "image/png"
    assert got["ContentLength"] == len(data)
    assert got["Metadata"] == {"color": "blue", "size": "Large"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == "inline"
    head = s3.head_object(Bucket=bucket, Key="dir/obj.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == out["ETag"]
    assert head["Metadata"] == {"color": "blue", "size": "Large"}
    assert abs((head["LastModified"] - got["LastModified"]).total_seconds()) < 1


def test_overwrite_and_empty_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"first")
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b""
    assert got["ETag"] == '"%s"' % md5_hex(b"")
    assert got["ContentType"] == "binary/octet-stream"


def test_missing_objects(s3, bucket):
    code, status, msg = error_of(s3.get_object, Bucket=bucket, Key="nope")
    assert (code, status, msg) == ("NoSuchKey", 404, "The specified key does not exist.")
    assert error_of(s3.head_object, Bucket=bucket, Key="nope")[:2] == ("404", 404)
    code, status, _ = error_of(s3.get_object, Bucket=bucket_name(), Key="k")
    assert (code, status) == ("NoSuchBucket", 404)
    code, status, _ = error_of(s3.put_object, Bucket=bucket_name(), Key="k", Body=b"x")
    assert (code, status) == ("NoSuchBucket", 404)
    # Deleting a key that does not exist succeeds, as on S3.
    s3.delete_object(Bucket=bucket, Key="nope")


def test_keys_with_special_characters(s3, bucket):
    keys = ["with space", "plus+sign", "percent%20", "unicodé/ключ", "a//b", "q?x=1&y", "#hash",
            "tilde~", "semi;colon", "star*", "quote'\"", "<tag>&amp;"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    for k in keys:
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == k.encode(), k
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode())


def test_content_md5(s3, bucket):
    data = b"checked"
    good = base64.b64encode(hashlib.md5(data).digest()).decode()
    s3.put_object(Bucket=bucket, Key="k", Body=data, ContentMD5=good)
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    code, status, _ = error_of(s3.put_object, Bucket=bucket, Key="k2", Body=data, ContentMD5=bad)
    assert (code, status) == ("BadDigest", 400)
    assert error_of(s3.head_object, Bucket=bucket, Key="k2")[:2] == ("404", 404)


# --- ranges ----------------------------------------------------------------------------------


def test_ranges(s3, bucket):
    data = bytes(range(256)) * 4
    s3.put_object(Bucket=bucket, Key="r", Body=data)
    for rng, want in [("bytes=0-9", data[0:10]), ("bytes=10-19", data[10:20]),
                      ("bytes=1000-", data[1000:]), ("bytes=-24", data[-24:]),
                      ("bytes=1020-5000", data[1020:])]:
        got = s3.get_object(Bucket=bucket, Key="r", Range=rng)
        assert got["Body"].read() == want, rng
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        first = len(data) - len(want)
        if not rng.startswith("bytes=-"):
            first = int(rng[6:].split("-")[0])
        assert got["ContentRange"] == "bytes %d-%d/%d" % (first, first + len(want) - 1, len(data))
        assert got["ContentLength"] == len(want)
    code, status, _ = error_of(s3.get_object, Bucket=bucket, Key="r", Range="bytes=1024-")
    assert (code, status) == ("InvalidRange", 416)
    head = s3.head_object(Bucket=bucket, Key="r", Range="bytes=0-99")
    assert head["ContentLength"] == 100


# --- listings --------------------------------------------------------------------------------


TREE = ["a.txt", "b/1", "b/2", "b/c/3", "b/c/4", "d/5", "e", "f/g/h/6"]


@pytest.fixture
def tree(s3, bucket):
    for k in TREE:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    return bucket


def test_list_v2_delimiter(s3, tree):
    out = s3.list_objects_v2(Bucket=tree, Delimiter="/")
    assert [o["Key"] for o in out["Contents"]] == ["a.txt", "e"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["b/", "d/", "f/"]
    assert out["KeyCount"] == 5
    assert out["IsTruncated"] is False
    out = s3.list_objects_v2(Bucket=tree, Delimiter="/", Prefix="b/")
    assert [o["Key"] for o in out["Contents"]] == ["b/1", "b/2"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["b/c/"]
    assert out["Prefix"] == "b/"
    out = s3.list_objects_v2(Bucket=tree, Prefix="b/c")
    assert [o["Key"] for o in out["Contents"]] == ["b/c/3", "b/c/4"]
    assert "CommonPrefixes" not in out
    out = s3.list_objects_v2(Bucket=tree, Prefix="zzz")
    assert out["KeyCount"] == 0 and "Contents" not in out
    o = s3.list_objects_v2(Bucket=tree, Prefix="a.txt")["Contents"][0]
    assert o["Size"] == 5 and o["ETag"] == '"%s"' % md5_hex(b"a.txt")
    assert o["StorageClass"] == "STANDARD"


def test_list_v2_pagination(s3, tree):
    keys, prefixes, pages, token = [], [], 0, None
    while True:
        kwargs = {"Bucket": tree, "MaxKeys": 2, "Delimiter": "/"}
        if token:
            kwargs["ContinuationToken"] = token
        out = s3.list_objects_v2(**kwargs)
        pages += 1
        assert out["KeyCount"] <= 2
        keys += [o["Key"] for o in out.get("Contents", [])]
        prefixes += [p["Prefix"] for p in out.get("CommonPrefixes", [])]
        if not out["IsTruncated"]:
            break
        token = out["NextContinuationToken"]
    assert keys == ["a.txt", "e"] and prefixes == ["b/", "d/", "f/"]
    assert pages == 3
    everything = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=tree,
                                                             PaginationConfig={"PageSize": 3}):
        everything += [o["Key"] for o in page.get("Contents", [])]
    assert everything == sorted(TREE)
    out = s3.list_objects_v2(Bucket=tree, StartAfter="b/c/3")
    assert [o["Key"] for o in out["Contents"]] == ["b/c/4", "d/5", "e", "f/g/h/6"]
    code, status, _ = error_of(s3.list_objects_v2, Bucket=tree, ContinuationToken="%%%")
    assert (code, status) == ("InvalidArgument", 400)


def test_list_v1_marker(s3, tree):
    out = s3.list_objects(Bucket=tree, MaxKeys=3)
    assert [o["Key"] for o in out["Contents"]] == ["a.txt", "b/1", "b/2"]
    assert out["IsTruncated"] is True
    out = s3.list_objects(Bucket=tree, Marker="b/2")
    assert [o["Key"] for o in out["Contents"]] == ["b/c/3", "b/c/4", "d/5", "e", "f/g/h/6"]
    everything = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=tree,
                                                          PaginationConfig={"PageSize": 2}):
        everything += [o["Key"] for o in page.get("Contents", [])]
    assert everything == sorted(TREE)


def test_list_missing_bucket(s3):
    code, status, _ = error_of(s3.list_objects_v2, Bucket=bucket_name())
    assert (code, status) == ("NoSuchBucket", 404)


# --- deletes and copies ----------------------------------------------------------------------


def test_delete_objects(s3, tree):
    out = s3.delete_objects(Bucket=tree, Delete={"Objects": [{"Key": "a.txt"}, {"Key": "b/1"},
                                                             {"Key": "not-there"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["a.txt", "b/1", "not-there"]
    assert "Errors" not in out
    out = s3.delete_objects(Bucket=tree, Delete={"Objects": [{"Key": "e"}], "Quiet": True})
    assert "Deleted" not in out
    left = [o["Key"] for o in s3.list_objects_v2(Bucket=tree)["Contents"]]
    assert left == ["b/2", "b/c/3", "b/c/4", "d/5", "f/g/h/6"]


def test_copy_object(s3, bucket):
    other = bucket_name()
    s3.create_bucket(Bucket=other)
    try:
        s3.put_object(Bucket=bucket, Key="src", Body=b"payload", ContentType="text/plain",
                      Metadata={"a": "1"})
        out = s3.copy_object(Bucket=other, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
        assert out["CopyObjectResult"]["ETag"] == '"%s"' % md5_hex(b"payload")
        got = s3.get_object(Bucket=other, Key="dst")
        assert got["Body"].read() == b"payload"
        assert got["ContentType"] == "text/plain" and got["Metadata"] == {"a": "1"}
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"},
                       MetadataDirective="REPLACE", Metadata={"b": "2"},
                       ContentType="application/json")
        got = s3.get_object(Bucket=bucket, Key="src")
        assert got["Metadata"] == {"b": "2"} and got["ContentType"] == "application/json"
        code, status, _ = error_of(s3.copy_object, Bucket=bucket, Key="src",
                                   CopySource={"Bucket": bucket, "Key": "src"})
        assert (code, status) == ("InvalidRequest", 400)
        code, status, _ = error_of(s3.copy_object, Bucket=bucket, Key="x",
                                   CopySource={"Bucket": bucket, "Key": "missing"})
        assert (code, status) == ("NoSuchKey", 404)
        s3.copy_object(Bucket=bucket, Key="with space+plus",
                       CopySource={"Bucket": other, "Key": "dst"})
        got = s3.get_object(Bucket=bucket, Key="with space+plus")["Body"].read()
        assert got == b"payload"
    finally:
        s3.delete_object(Bucket=other, Key="dst")
        s3.delete_bucket(Bucket=other)


# --- multipart uploads -----------------------------------------------------------------------


def test_multipart_upload(s3, bucket):
    part1, part2 = os.urandom(5 * MIB), os.urandom(1234)
    up = s3.create_multipart_upload(Bucket=bucket, Key="big", ContentType="video/mp4",
                                    Metadata={"m": "v"})
    uid = up["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=1, Body=part1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=2, Body=part2)["ETag"]
    assert e1 == '"%s"' % md5_hex(part1)
    parts = s3.list_parts(Bucket=bucket, Key="big", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [
        (1, e1, len(part1)), (2, e2, len(part2))]
    out = s3.complete_multipart_upload(
        Bucket=bucket, Key="big", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    want = hashlib.md5(hashlib.md5(part1).digest() + hashlib.md5(part2).digest()).hexdigest()
    assert out["ETag"] == '"%s-2"' % want
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["Body"].read() == part1 + part2
    assert got["ETag"] == out["ETag"]
    assert got["ContentType"] == "video/mp4" and got["Metadata"] == {"m": "v"}
    # The upload is gone once completed.
    code, status, _ = error_of(s3.list_parts, Bucket=bucket, Key="big", UploadId=uid)
    assert (code, status) == ("NoSuchUpload", 404)


def test_multipart_errors(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    small = s3.upload_part(Bucket=bucket, Key="m", UploadId=uid, PartNumber=1,
                           Body=b"tiny")["ETag"]
    last = s3.upload_part(Bucket=bucket, Key="m", UploadId=uid, PartNumber=2,
                          Body=b"last")["ETag"]
    code, status, _ = error_of(s3.complete_multipart_upload, Bucket=bucket, Key="m",
                               UploadId=uid, MultipartUpload={"Parts": [
                                   {"PartNumber": 1, "ETag": small},
                                   {"PartNumber": 2, "ETag": last}]})
    assert (code, status) == ("EntityTooSmall", 400)
    code, status, _ = error_of(s3.complete_multipart_upload, Bucket=bucket, Key="m",
                               UploadId=uid, MultipartUpload={"Parts": [
                                   {"PartNumber": 1, "ETag": '"%s"' % ("0" * 32)}]})
    assert (code, status) == ("InvalidPart", 400)
    code, status, _ = error_of(s3.complete_multipart_upload, Bucket=bucket, Key="m",
                               UploadId=uid, MultipartUpload={"Parts": [
                                   {"PartNumber": 2, "ETag": last},
                                   {"PartNumber": 1, "ETag": small}]})
    assert (code, status) == ("InvalidPartOrder", 400)
    code, status, _ = error_of(s3.complete_multipart_upload, Bucket=bucket, Key="m",
                               UploadId=uid, MultipartUpload={"Parts": [
                                   {"PartNumber": 3, "ETag": last}]})
    assert (code, status) == ("InvalidPart", 400)
    s3.abort_multipart_upload(Bucket=bucket, Key="m", UploadId=uid)
    code, status, _ = error_of(s3.upload_part, Bucket=bucket, Key="m", UploadId=uid,
                               PartNumber=1, Body=b"x")
    assert (code, status) == ("NoSuchUpload", 404)
    code, status, _ = error_of(s3.abort_multipart_upload, Bucket=bucket, Key="m", UploadId=uid)
    assert (code, status) == ("NoSuchUpload", 404)
    assert error_of(s3.head_object, Bucket=bucket, Key="m")[:2] == ("404", 404)


def test_transfer_manager_multipart(s3, bucket, tmp_path):
    """boto3's upload_file/download_file: concurrent parts up and concurrent ranges down."""
    src = tmp_path / "src.bin"
    data = os.urandom(13 * MIB + 17)
    src.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB,
                            max_concurrency=4)
    s3.upload_file(str(src), bucket, "tm/src.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="tm/src.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')
    dst = tmp_path / "dst.bin"
    s3.download_file(bucket, "tm/src.bin", str(dst), Config=config)
    assert dst.read_bytes() == data
    buf = io.BytesIO()
    s3.download_fileobj(bucket, "tm/src.bin", buf)
    assert buf.getvalue() == data


def test_presigned_urls(s3, endpoint, bucket):
    """URLs presigned by boto3 (its default scheme for S3, and SigV4) work without credentials."""
    import urllib.request
    put = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pre",
                                                          "ContentType": "text/plain"})
    req = urllib.request.Request(put, data=b"presigned body", method="PUT",
                                 headers={"Content-Type": "text/plain"})
    assert urllib.request.urlopen(req).status == 200
    v4 = boto3.session.Session(aws_access_key_id=os.environ.get("S3_TEST_KEY", ACCESS_KEY),
                               aws_secret_access_key=os.environ.get("S3_TEST_SECRET", SECRET_KEY),
                               region_name=REGION).client(
        "s3", endpoint_url=endpoint,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    get = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre"})
    assert "X-Amz-Credential=" in get
    assert urllib.request.urlopen(get).read() == b"presigned body"


def test_recreating_an_owned_bucket_outside_us_east_1(make_server):
    """Every region but us-east-1 answers BucketAlreadyOwnedByYou (409)."""
    srv = make_server(region="eu-west-1")
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                    region_name="eu-west-1")
    client = session.client("s3", endpoint_url=srv.endpoint,
                            config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                          s3={"addressing_style": "path"}))
    name = bucket_name()
    client.create_bucket(Bucket=name,
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    code, status, _ = error_of(client.create_bucket, Bucket=name,
                               CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert (code, status) == ("BucketAlreadyOwnedByYou", 409)
