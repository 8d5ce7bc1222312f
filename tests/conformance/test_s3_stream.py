"""Streamed S3 uploads (issue 16): PutObject and UploadPart bodies go to disk as they arrive, with
backpressure, instead of being held whole in memory. A 256 MiB object (16 times --body-max-bytes)
is uploaded with boto3 as one PutObject and with the AWS CLI v2 as a multipart upload while the
server's RSS is sampled from /proc; the object reads back byte for byte; an acknowledged object
survives kill -9; a body cut short, a wrong checksum, digest or payload hash leaves no object and no
temp file and gets S3's exact error; and under --auth sigv4 the trailer's x-amz-trailer-signature
of STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER bodies is verified."""
import base64
import hashlib
import hmac
import http.client
import os
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
import zlib

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from helpers import ACCESS_KEY, REGION, SECRET_KEY, unique_name

BIG = 256 << 20
# The server's RSS may grow by at most this much while a 256 MiB object streams in: a streamed
# body holds about two 256 KiB pieces per upload (ten at once for the CLI's multipart upload); the
# rest is the allocator's and the threads' slack. Buffered, the growth was the object's size.
RSS_GROWTH_MAX_MB = 64


def lean_asan_env():
    """A sanitizer build keeps freed memory in a quarantine (256 MiB by default), which would count
    every freed body piece in the RSS: keep it small there (a plain build ignores this)."""
    base = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (base + ":" if base else "") +
            "quarantine_size_mb=8:thread_local_quarantine_size_kb=256"}


def s3_client(srv, key=ACCESS_KEY, secret=SECRET_KEY):
    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                    region_name=REGION)
    return session.client("s3", endpoint_url=srv.endpoint, config=Config(
        retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=300,
        s3={"addressing_style": "path"}))


def new_bucket(s3):
    name = unique_name("st").lower().replace("_", "-")[-60:].strip("-.")
    s3.create_bucket(Bucket=name)
    return name


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS for %d" % pid)


class RssPeak:
    """Samples a process's RSS every 10 ms until stopped; .peak is the highest seen."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self._stop.wait(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def random_file(path, size):
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(left, 4 << 20))
            h.update(block)
            f.write(block)
            left -= len(block)
    return h.hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(4 << 20), b""):
            h.update(block)
    return h.hexdigest()


def object_sha256(s3, bucket, key):
    h = hashlib.sha256()
    for block in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(4 << 20):
        h.update(block)
    return h.hexdigest()


def store_dir(srv):
    return srv.data_dir / "objects"


def leftovers(srv, bucket, upload_id=None):
    """Files of writes in progress: the bucket's tmp/ and, for an upload, all but its meta and
    finished parts."""
    found = [str(p) for p in (store_dir(srv) / "buckets" / bucket / "tmp").iterdir()]
    if upload_id:
        found += [str(p) for p in (store_dir(srv) / "uploads" / upload_id).iterdir()
                  if p.name != "meta" and not p.name.startswith("part-")]
    return found


def wait_for(cond, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def error_doc(body):
    root = ET.fromstring(body)
    assert root.tag == "Error", body
    return {child.tag: child.text for child in root}


def amz_now():
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def open_headers(host, payload_hash, extra=None):
    """Headers of a request signed in form only (open mode checks no signature's value)."""
    date = amz_now()
    h = {"Host": host, "x-amz-date": date, "x-amz-content-sha256": payload_hash,
         "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, "
                          "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%s"
                          % (ACCESS_KEY, date[:8], REGION, "f" * 64)}
    h.update(extra or {})
    return h


def raw_put(srv, path, body, payload_hash="UNSIGNED-PAYLOAD", headers=None):
    host = "127.0.0.1:%d" % srv.port
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    try:
        conn.request("PUT", path, body=body, headers=open_headers(host, payload_hash, headers))
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def read_response(sock):
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")]
            if length and len(rest) >= length[0]:
                break
    return data


def send_short(srv, path, declared, sent, half_close=True, extra=None):
    """A PUT announcing `declared` bytes that sends only `sent` and then shuts down its sending
    side (half_close: the answer can still arrive) or closes. Returns (status, body) or None."""
    host = "127.0.0.1:%d" % srv.port
    hdrs = open_headers(host, "UNSIGNED-PAYLOAD", extra)
    hdrs["Content-Length"] = str(declared)
    head = "PUT %s HTTP/1.1\r\n%s\r\n" % (path, "".join("%s: %s\r\n" % kv for kv in hdrs.items()))
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    try:
        sock.sendall(head.encode())
        block = os.urandom(1 << 20)
        left = sent
        while left:
            n = min(left, len(block))
            sock.sendall(block[:n])
            left -= n
        if not half_close:
            return None
        sock.shutdown(socket.SHUT_WR)
        resp = read_response(sock)
    finally:
        sock.close()
    status = int(resp.split(b" ", 2)[1])
    return status, resp.partition(b"\r\n\r\n")[2]


# ---- memory: 256 MiB through a server whose buffered bodies stop at 16 MiB ----

def test_put_object_256mib_streams(make_server, tmp_path):
    srv = make_server(env=lean_asan_env())
    s3 = s3_client(srv)
    bucket = new_bucket(s3)
    src = tmp_path / "big.bin"
    digest = random_file(src, BIG)
    base = rss_mb(srv.proc.pid)
    with RssPeak(srv.proc.pid) as rss:
        # one PutObject (the threshold above the size), as boto3 sends it: CRC32 in a header
        s3.upload_file(str(src), bucket, "big", Config=TransferConfig(multipart_threshold=BIG + 1))
    growth = rss.peak - base
    print("PutObject 256 MiB: RSS %.0f -> peak %.0f MiB (+%.0f)" % (base, rss.peak, growth))
    assert growth < RSS_GROWTH_MAX_MB, growth
    head = s3.head_object(Bucket=bucket, Key="big")
    assert head["ContentLength"] == BIG
    assert object_sha256(s3, bucket, "big") == digest
    assert leftovers(srv, bucket) == []


def test_cli_multipart_256mib_streams(make_server, tmp_path):
    srv = make_server(env=lean_asan_env())
    s3 = s3_client(srv)
    bucket = new_bucket(s3)
    src, back = tmp_path / "big.bin", tmp_path / "back.bin"
    digest = random_file(src, BIG)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    cli = ["/usr/bin/aws", "--endpoint-url", srv.endpoint, "s3"]
    base = rss_mb(srv.proc.pid)
    with RssPeak(srv.proc.pid) as rss:
        subprocess.run(cli + ["cp", str(src), "s3://%s/big" % bucket], env=env, check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
    growth = rss.peak - base
    print("aws s3 cp 256 MiB: RSS %.0f -> peak %.0f MiB (+%.0f)" % (base, rss.peak, growth))
    assert growth < RSS_GROWTH_MAX_MB, growth
    assert s3.head_object(Bucket=bucket, Key="big")["ETag"].endswith('-32"')  # 8 MiB parts
    subprocess.run(cli + ["cp", "s3://%s/big" % bucket, str(back)], env=env, check=True,
                   stdout=subprocess.DEVNULL, timeout=600)
    assert sha256_file(back) == digest


def test_http2_put_streams(server, tmp_path):
    """HTTP/2 (prior knowledge): a 32 MiB PutObject, twice the buffered limit, is streamed too."""
    s3 = s3_client(server)
    bucket = new_bucket(s3)
    src = tmp_path / "h2.bin"
    digest = random_file(src, 32 << 20)
    host = "127.0.0.1:%d" % server.port
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
            "--http2-prior-knowledge", "-X", "PUT", "--data-binary", "@" + str(src)]
    for k, v in open_headers(host, "UNSIGNED-PAYLOAD").items():
        if k != "Host":
            args += ["-H", "%s: %s" % (k, v)]
    out = subprocess.run(args + ["http://%s/%s/h2" % (host, bucket)], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert out == "200 2", out
    assert object_sha256(s3, bucket, "h2") == digest


# ---- durability ----

def test_acknowledged_upload_survives_kill9(make_server):
    srv = make_server()
    s3 = s3_client(srv)
    bucket = new_bucket(s3)
    data = os.urandom(40 << 20)
    part = os.urandom(6 << 20)
    s3.put_object(Bucket=bucket, Key="whole", Body=data)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=part)["ETag"]
    srv.restart(kill=True)  # SIGKILL right after the acknowledgments
    s3 = s3_client(srv)
    assert hashlib.sha256(s3.get_object(Bucket=bucket, Key="whole")["Body"].read()).digest() \
        == hashlib.sha256(data).digest()
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == part


# ---- bodies that end early ----

def test_body_cut_short_leaves_nothing(server):
    s3 = s3_client(server)
    bucket = new_bucket(s3)
    # The client stops sending and says so (half close): S3's IncompleteBody, nothing stored.
    status, body = send_short(server, "/%s/short" % bucket, 8 << 20, 3 << 20)
    assert status == 400, body
    doc = error_doc(body)
    assert doc["Code"] == "IncompleteBody"
    assert doc["Message"] == ("You did not provide the number of bytes specified by the "
                              "Content-Length HTTP header")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="short")
    wait_for(lambda: leftovers(server, bucket) == [], what="the temp file's removal")
    # The client just goes away: no object, and the temp file is removed.
    send_short(server, "/%s/gone" % bucket, 8 << 20, 5 << 20, half_close=False)
    wait_for(lambda: leftovers(server, bucket) == [], what="the temp file's removal")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="gone")
    # A part likewise: the upload keeps no part and no temp file.
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    status, body = send_short(server, "/%s/mp?partNumber=1&uploadId=%s" % (bucket, uid),
                              8 << 20, 2 << 20)
    assert status == 400 and error_doc(body)["Code"] == "IncompleteBody"
    wait_for(lambda: leftovers(server, bucket, uid) == [], what="the part's temp file removal")
    assert s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid).get("Parts", []) == []


def test_entity_too_large(server):
    s3 = s3_client(server)
    bucket = new_bucket(s3)
    too_big = (5 << 30) + 1
    status, body = send_short(server, "/%s/huge" % bucket, too_big, 0)
    assert status == 400
    doc = error_doc(body)
    assert doc["Code"] == "EntityTooLarge"
    assert doc["Message"] == "Your proposed upload exceeds the maximum allowed size"
    assert doc["ProposedSize"] == str(too_big)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    status, body = send_short(server, "/%s/mp?partNumber=1&uploadId=%s" % (bucket, uid),
                              too_big, 0)
    assert status == 400 and error_doc(body)["Code"] == "EntityTooLarge"


# ---- digests and checksums, checked as the body streams ----

def crc64nvme(data):
    crc = 0xFFFFFFFFFFFFFFFF
    table = crc64nvme.table
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


crc64nvme.table = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x9A6C9329AC4BC9B5 if _c & 1 else _c >> 1
    crc64nvme.table.append(_c)
assert crc64nvme(b"123456789") == 0xAE8B14860A799888


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def checksum_b64(alg, data):
    if alg == "crc32":
        raw = zlib.crc32(data).to_bytes(4, "big")
    elif alg == "crc32c":
        raw = crc32c(data).to_bytes(4, "big")
    elif alg == "crc64nvme":
        raw = crc64nvme(data).to_bytes(8, "big")
    else:
        raw = hashlib.new(alg, data).digest()
    return base64.b64encode(raw).decode()


NAMES = {"crc32": "CRC32", "crc32c": "CRC32C", "crc64nvme": "CRC64NVME", "sha1": "SHA1",
         "sha256": "SHA256"}


def test_checksums(server):
    s3 = s3_client(server)
    bucket = new_bucket(s3)
    data = os.urandom(300000)
    other = data[:-1] + bytes([data[-1] ^ 1])
    # boto3 computes these itself
    for alg in ("CRC32", "CRC32C", "SHA1", "SHA256"):
        s3.put_object(Bucket=bucket, Key="ok-" + alg, Body=data, ChecksumAlgorithm=alg)
        assert s3.get_object(Bucket=bucket, Key="ok-" + alg)["Body"].read() == data
    for alg, name in NAMES.items():
        header = "x-amz-checksum-" + alg
        status, body = raw_put(server, "/%s/good-%s" % (bucket, alg), data,
                               headers={header: checksum_b64(alg, data)})
        assert status == 200, (alg, body)
        status, body = raw_put(server, "/%s/bad-%s" % (bucket, alg), data,
                               headers={header: checksum_b64(alg, other)})
        assert status == 400, (alg, body)
        doc = error_doc(body)
        assert doc["Code"] == "BadDigest", alg
        assert doc["Message"] == "The %s you specified did not match the calculated checksum." \
            % name
        with pytest.raises(ClientError):
            s3.head_object(Bucket=bucket, Key="bad-" + alg)
    status, body = raw_put(server, "/%s/inv" % bucket, data,
                           headers={"x-amz-checksum-crc32": "not-base64"})
    assert status == 400
    assert error_doc(body)["Code"] == "InvalidRequest"
    assert error_doc(body)["Message"] == "Value for x-amz-checksum-crc32 header is invalid."
    # Content-MD5
    md5 = base64.b64encode(hashlib.md5(other).digest()).decode()
    status, body = raw_put(server, "/%s/md5" % bucket, data, headers={"Content-MD5": md5})
    assert status == 400 and error_doc(body)["Code"] == "BadDigest"
    assert error_doc(body)["Message"] == \
        "The Content-MD5 you specified did not match what we received."
    status, body = raw_put(server, "/%s/md5" % bucket, data, headers={"Content-MD5": "short"})
    assert status == 400 and error_doc(body)["Code"] == "InvalidDigest"
    # a payload hash that does not match a 20 MiB (streamed) body
    big = os.urandom(20 << 20)
    status, body = raw_put(server, "/%s/sha" % bucket, big,
                           payload_hash=hashlib.sha256(big[1:]).hexdigest())
    assert status == 400 and error_doc(body)["Code"] == "XAmzContentSHA256Mismatch"
    status, body = raw_put(server, "/%s/sha" % bucket, big,
                           payload_hash=hashlib.sha256(big).hexdigest())
    assert status == 200, body
    # a trailer checksum (aws-chunked, unsigned) that does not match
    status, body = trailer_put(server, "/%s/trailer" % bucket, data, "crc32",
                               checksum_b64("crc32", other))
    assert status == 400 and error_doc(body)["Code"] == "BadDigest", body
    for key in ("md5", "trailer"):
        with pytest.raises(ClientError):
            s3.head_object(Bucket=bucket, Key=key)
    assert leftovers(server, bucket) == []


def trailer_put(srv, path, data, alg, value):
    """PUT of `data` as one aws-chunked chunk (unsigned) whose trailer carries
    x-amz-checksum-<alg>: <value>; returns (status, body)."""
    framed = b"%x\r\n" % len(data) + data + b"\r\n0\r\nx-amz-checksum-" + alg.encode() + b":" + \
        value.encode() + b"\r\n\r\n"
    return raw_put(srv, path, framed, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                   headers={"Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-" + alg,
                            "x-amz-decoded-content-length": str(len(data))})


def raw_get(srv, path, headers=None):
    """GET with the headers given (unsigned: --auth open); returns (status, headers, body)."""
    host = "127.0.0.1:%d" % srv.port
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    try:
        conn.request("GET", path, headers=open_headers(host, "UNSIGNED-PAYLOAD", headers))
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_stored_checksums_are_answered(make_server):
    """The checksum a PutObject brought (header or trailer) is stored with the object: PutObject
    answers it, GetObject and HeadObject answer it with x-amz-checksum-mode: ENABLED (boto3 asks,
    and then checks the data against it) for the whole object only, CopyObject keeps it, and a
    restart keeps it."""
    srv = make_server()
    s3 = s3_client(srv)
    bucket = new_bucket(s3)
    data = os.urandom(300000)
    for alg in ("CRC32", "SHA1", "SHA256"):  # boto3 computes these itself
        want = checksum_b64(alg.lower(), data)
        put = s3.put_object(Bucket=bucket, Key="b-" + alg, Body=data, ChecksumAlgorithm=alg)
        assert put["Checksum" + alg] == want and put["ChecksumType"] == "FULL_OBJECT", put
        got = s3.get_object(Bucket=bucket, Key="b-" + alg, ChecksumMode="ENABLED")
        assert got["Body"].read() == data
        assert got["Checksum" + alg] == want and got["ChecksumType"] == "FULL_OBJECT"
        head = s3.head_object(Bucket=bucket, Key="b-" + alg, ChecksumMode="ENABLED")
        assert head["Checksum" + alg] == want
    for alg in NAMES:  # every algorithm, as a header
        status, body = raw_put(srv, "/%s/h-%s" % (bucket, alg), data,
                               headers={"x-amz-checksum-" + alg: checksum_b64(alg, data)})
        assert status == 200, body
        status, hdrs, body = raw_get(srv, "/%s/h-%s" % (bucket, alg),
                                     {"x-amz-checksum-mode": "ENABLED"})
        assert status == 200 and body == data
        assert hdrs.get("x-amz-checksum-" + alg) == checksum_b64(alg, data), hdrs
        assert hdrs.get("x-amz-checksum-type") == "FULL_OBJECT"
        # not asked for, or a range: no checksum
        for extra in ({}, {"x-amz-checksum-mode": "ENABLED", "Range": "bytes=0-99"}):
            status, hdrs, body = raw_get(srv, "/%s/h-%s" % (bucket, alg), extra)
            assert status in (200, 206) and not [k for k in hdrs if k.startswith("x-amz-checksum")], \
                (extra, hdrs)
    # a trailer's checksum (aws-chunked, unsigned)
    status, body = trailer_put(srv, "/%s/trailer" % bucket, data, "crc32c",
                               checksum_b64("crc32c", data))
    assert status == 200, body
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "b-SHA256"})
    # an object stored without one has none (boto3 sends a CRC32 by default: raw here)
    assert raw_put(srv, "/%s/plain" % bucket, b"x")[0] == 200
    status, hdrs, _ = raw_get(srv, "/%s/plain" % bucket, {"x-amz-checksum-mode": "ENABLED"})
    assert status == 200 and not [k for k in hdrs if k.startswith("x-amz-checksum")], hdrs
    srv.restart()
    s3 = s3_client(srv)
    got = s3.get_object(Bucket=bucket, Key="trailer", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC32C"] == checksum_b64("crc32c", data)
    got = s3.get_object(Bucket=bucket, Key="copy", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumSHA256"] == checksum_b64("sha256", data)


# ---- the trailer's signature (--auth sigv4) ----

def signed_trailer_put(srv, key_id, secret, path, data, chunk, tamper=None):
    """A PutObject with a STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER body: chunk signatures
    chained on the request's, then the CRC32 trailer and x-amz-trailer-signature (S3's "Signature
    calculations for trailing headers": AWS4-HMAC-SHA256-TRAILER, the time, the scope, the last
    chunk's signature and the SHA-256 of "x-amz-checksum-crc32:<value>\\n"), computed here.
    tamper: "signature" (a wrong trailer signature), "value" (the checksum changed after
    signing), "missing" (no trailer signature), "checksum" (a wrong checksum, signed)."""
    host = "127.0.0.1:%d" % srv.port
    checksum = checksum_b64("crc32", data if tamper != "checksum" else data + b"x")
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    headers = {"X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
               "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
               "x-amz-trailer": "x-amz-checksum-crc32"}
    req = AWSRequest(method="PUT", url="http://%s%s" % (host, path), headers=headers)
    SigV4Auth(Credentials(key_id, secret), "s3", REGION).add_auth(req)
    amz_date = req.headers["X-Amz-Date"]
    seed = req.headers["Authorization"].rsplit("Signature=", 1)[1]
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], REGION)

    def mac(k, m):
        return hmac.new(k, m.encode() if isinstance(m, str) else m, hashlib.sha256).digest()
    key = mac(mac(mac(mac(("AWS4" + secret).encode(), amz_date[:8]), REGION), "s3"),
              "aws4_request")
    body, prev = b"", seed
    for piece in pieces:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev,
                         hashlib.sha256(b"").hexdigest(), hashlib.sha256(piece).hexdigest()])
        prev = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        body += b"%x;chunk-signature=%s\r\n" % (len(piece), prev.encode())
        if piece:
            body += piece + b"\r\n"
    canonical = "x-amz-checksum-crc32:%s\n" % checksum
    sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev,
                     hashlib.sha256(canonical.encode()).hexdigest()])
    trailer_sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    if tamper == "signature":
        trailer_sig = trailer_sig[:-1] + ("0" if trailer_sig[-1] != "0" else "1")
    if tamper == "value":
        checksum = checksum_b64("crc32", data + b"y")
    body += ("x-amz-checksum-crc32:%s\r\n" % checksum).encode()
    if tamper != "missing":
        body += ("x-amz-trailer-signature:%s\r\n" % trailer_sig).encode()
    body += b"\r\n"
    sent = dict(req.headers.items())
    sent["Content-Length"] = str(len(body))
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    try:
        conn.request("PUT", path, body=body, headers=sent)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_trailer_signature_verified(make_server, tmp_path):
    key, secret = "AKIATRAILER00EXAMPLE", "trailer/secret+key"
    creds = tmp_path / "credentials"
    creds.write_text("[admin]\naws_access_key_id = %s\naws_secret_access_key = %s\nadmin = true\n"
                     % (key, secret))
    srv = make_server(auth="sigv4", credentials=str(creds))
    s3 = s3_client(srv, key, secret)
    s3.create_bucket(Bucket="trailers")
    data = os.urandom(300000)
    for size, name in ((data, "small"), (os.urandom(20 << 20), "big")):
        status, body = signed_trailer_put(srv, key, secret, "/trailers/" + name, size, 65536)
        assert status == 200, (name, body)
        assert s3.get_object(Bucket="trailers", Key=name)["Body"].read() == size
    for tamper in ("signature", "value", "missing"):
        status, body = signed_trailer_put(srv, key, secret, "/trailers/" + tamper, data, 65536,
                                          tamper=tamper)
        assert status == 403, (tamper, body)
        assert error_doc(body)["Code"] == "SignatureDoesNotMatch", tamper
        with pytest.raises(ClientError):
            s3.head_object(Bucket="trailers", Key=tamper)
    status, body = signed_trailer_put(srv, key, secret, "/trailers/checksum", data, 65536,
                                      tamper="checksum")
    assert status == 400 and error_doc(body)["Code"] == "BadDigest", body
    assert leftovers(srv, "trailers") == []
    # A signed (hex) payload hash that the streamed body does not match: the signature holds for
    # the hash the client announced, the body does not (S3's XAmzContentSHA256Mismatch).
    big = os.urandom(20 << 20)
    req = AWSRequest(method="PUT", url="http://127.0.0.1:%d/trailers/mismatch" % srv.port,
                     data=big)
    S3SigV4Auth(Credentials(key, secret), "s3", REGION).add_auth(req)
    sent = dict(req.headers.items())  # X-Amz-Content-SHA256: the hash of the body signed
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    try:
        conn.request("PUT", "/trailers/mismatch", body=big[:-1] + bytes([big[-1] ^ 1]),
                     headers=sent)
        resp = conn.getresponse()
        status, body = resp.status, resp.read()
    finally:
        conn.close()
    assert status == 400 and error_doc(body)["Code"] == "XAmzContentSHA256Mismatch", body
