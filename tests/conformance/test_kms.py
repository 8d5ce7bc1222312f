"""KMS (docs/security.md, "KMS") and encryption at rest ("Encryption at rest"), with boto3 and the
AWS CLI v2: keys, aliases, Encrypt/Decrypt/GenerateDataKey with AWS's errors; a stream encrypted
with StartStreamEncryption stores no record's plaintext anywhere under the data directory (checked
after a kill -9 and after a clean stop), reads it back intact after restarts, reports
EncryptionType per record, and fails with KMSDisabledException while its key is disabled."""
import json
import os
import signal
import subprocess
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import REGION, ACCESS_KEY, SECRET_KEY, create_stream_and_wait, unique_name

ACCOUNT = "000000000000"


def client(server, service):
    return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def error(fn):
    with pytest.raises(ClientError) as e:
        fn()
    r = e.value.response
    return r["Error"]["Code"], r["Error"]["Message"]


def test_keys_and_aliases(server):
    kms = client(server, "kms")
    md = kms.create_key(Description="orders key")["KeyMetadata"]
    kid = md["KeyId"]
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{kid}"
    assert (md["Arn"], md["KeyState"], md["Enabled"], md["KeyManager"], md["Description"]) == (
        arn, "Enabled", True, "CUSTOMER", "orders key")
    assert md["KeySpec"] == "SYMMETRIC_DEFAULT" and md["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert kid in [k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]]
    alias = "alias/" + unique_name("k")
    kms.create_alias(AliasName=alias, TargetKeyId=kid)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == kid
    assert kms.describe_key(KeyId=f"arn:aws:kms:{REGION}:{ACCOUNT}:{alias}")["KeyMetadata"]["Arn"] == arn
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyId"] == kid
    got = kms.list_aliases(KeyId=kid)["Aliases"]
    assert [(a["AliasName"], a["TargetKeyId"], a["AliasArn"]) for a in got] == [
        (alias, kid, f"arn:aws:kms:{REGION}:{ACCOUNT}:{alias}")]
    assert error(lambda: kms.create_alias(AliasName=alias, TargetKeyId=kid)) == (
        "AlreadyExistsException",
        f"An alias with the name arn:aws:kms:{REGION}:{ACCOUNT}:{alias} already exists")
    kms.delete_alias(AliasName=alias)
    assert error(lambda: kms.describe_key(KeyId=alias)) == (
        "NotFoundException", f"Alias arn:aws:kms:{REGION}:{ACCOUNT}:{alias} is not found.")
    missing = "11111111-2222-4333-8444-555555555555"
    assert error(lambda: kms.describe_key(KeyId=missing)) == (
        "NotFoundException", f"Key 'arn:aws:kms:{REGION}:{ACCOUNT}:key/{missing}' does not exist")
    assert error(lambda: kms.describe_key(KeyId="nope")) == ("NotFoundException",
                                                             "Invalid keyId 'nope'")

    # disable, schedule and cancel deletion
    kms.disable_key(KeyId=kid)
    assert kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"] == "Disabled"
    assert error(lambda: kms.encrypt(KeyId=kid, Plaintext=b"x")) == ("DisabledException",
                                                                     f"{arn} is disabled.")
    kms.enable_key(KeyId=kid)
    d = kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
    assert (d["KeyId"], d["KeyState"], d["PendingWindowInDays"]) == (arn, "PendingDeletion", 7)
    assert d["DeletionDate"].timestamp() == pytest.approx(time.time() + 7 * 86400, abs=60)
    assert error(lambda: kms.encrypt(KeyId=kid, Plaintext=b"x")) == (
        "KMSInvalidStateException", f"{arn} is pending deletion.")
    assert error(lambda: kms.enable_key(KeyId=kid)) == ("KMSInvalidStateException",
                                                        f"{arn} is pending deletion.")
    assert kms.cancel_key_deletion(KeyId=kid)["KeyId"] == arn
    assert kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"] == "Disabled"
    assert error(lambda: kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=3))[0] == \
        "ValidationException"


def test_encrypt_decrypt_data_keys(server):
    kms = client(server, "kms")
    kid = kms.create_key()["KeyMetadata"]["KeyId"]
    ctx = {"purpose": "test", "a": "b"}
    e = kms.encrypt(KeyId=kid, Plaintext=b"attack at dawn", EncryptionContext=ctx)
    assert b"attack" not in e["CiphertextBlob"]
    d = kms.decrypt(CiphertextBlob=e["CiphertextBlob"], EncryptionContext=ctx)
    assert d["Plaintext"] == b"attack at dawn" and d["KeyId"] == e["KeyId"]
    assert error(lambda: kms.decrypt(CiphertextBlob=e["CiphertextBlob"]))[0] == \
        "InvalidCiphertextException"
    assert error(lambda: kms.decrypt(CiphertextBlob=b"garbage" * 10))[0] == \
        "InvalidCiphertextException"
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    assert error(lambda: kms.decrypt(CiphertextBlob=e["CiphertextBlob"], EncryptionContext=ctx,
                                     KeyId=other))[0] == "IncorrectKeyException"
    g = kms.generate_data_key(KeyId=kid, KeySpec="AES_256")
    assert len(g["Plaintext"]) == 32
    assert kms.decrypt(CiphertextBlob=g["CiphertextBlob"])["Plaintext"] == g["Plaintext"]
    assert len(kms.generate_data_key(KeyId=kid, NumberOfBytes=64)["Plaintext"]) == 64
    assert "Plaintext" not in kms.generate_data_key_without_plaintext(KeyId=kid, KeySpec="AES_128")
    assert error(lambda: kms.generate_data_key(KeyId=kid)) == (
        "ValidationException", "Please specify either number of bytes or key spec.")
    assert error(lambda: kms.create_key(KeySpec="RSA_2048"))[0] == "UnsupportedOperationException"


def test_aws_managed_kinesis_key(server):
    kms = client(server, "kms")
    md = kms.describe_key(KeyId="alias/aws/kinesis")["KeyMetadata"]
    assert md["KeyManager"] == "AWS" and md["KeyState"] == "Enabled"
    assert kms.describe_key(KeyId="alias/aws/kinesis")["KeyMetadata"]["KeyId"] == md["KeyId"]
    assert error(lambda: kms.disable_key(KeyId=md["KeyId"]))[0] == "NotAuthorizedException"
    assert error(lambda: kms.create_alias(AliasName="alias/aws/mine",
                                          TargetKeyId=md["KeyId"]))[0] == "NotAuthorizedException"


def aws_cli(server, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_DEFAULT_REGION=REGION, AWS_PAGER="")
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", server.endpoint, "--output", "json",
                        *args], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout) if p.stdout.strip() else {}


def test_aws_cli_v2(server, tmp_path):
    kid = aws_cli(server, "kms", "create-key", "--description", "cli")["KeyMetadata"]["KeyId"]
    alias = "alias/" + unique_name("cli")
    aws_cli(server, "kms", "create-alias", "--alias-name", alias, "--target-key-id", kid)
    (tmp_path / "p").write_bytes(b"cli secret")
    blob = aws_cli(server, "kms", "encrypt", "--key-id", alias, "--plaintext",
                   "fileb://" + str(tmp_path / "p"))["CiphertextBlob"]
    import base64
    (tmp_path / "c").write_bytes(base64.b64decode(blob))
    out = aws_cli(server, "kms", "decrypt", "--ciphertext-blob", "fileb://" + str(tmp_path / "c"))
    assert base64.b64decode(out["Plaintext"]) == b"cli secret"
    aws_cli(server, "kms", "disable-key", "--key-id", kid)
    assert aws_cli(server, "kms", "describe-key", "--key-id", alias)["KeyMetadata"]["KeyState"] == \
        "Disabled"
    names = [a["AliasName"] for a in aws_cli(server, "kms", "list-aliases")["Aliases"]]
    assert alias in names


# --- encryption at rest -------------------------------------------------------------------------

def files_containing(root, needle):
    hits = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            try:
                with open(p, "rb") as f:
                    if needle in f.read():
                        hits.append(p)
            except OSError:
                pass
    return hits


def get_all(kinesis, stream):
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    out = []
    while True:
        r = kinesis.get_records(ShardIterator=it)
        out += r["Records"]
        if not r["Records"]:
            break
        it = r["NextShardIterator"]
    return out


@pytest.mark.parametrize("key_kind", ["key", "alias/aws/kinesis"])
def test_encryption_at_rest(make_server, key_kind):
    srv = make_server()
    kinesis, kms = client(srv, "kinesis"), client(srv, "kms")
    stream = unique_name("enc")
    create_stream_and_wait(kinesis, stream, 1)
    kinesis.put_record(StreamName=stream, PartitionKey="p", Data=b"PLAIN-BEFORE-0001")
    if key_kind == "key":
        kid = kms.create_key()["KeyMetadata"]["KeyId"]
        key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{kid}"
    else:
        kid = key_kind
        key_arn = kms.describe_key(KeyId=kid)["KeyMetadata"]["Arn"]
    kinesis.start_stream_encryption(StreamName=stream, EncryptionType="KMS", KeyId=kid)
    markers = [b"SECRET-MARKER-%04d-" % i + b"x" * 80 for i in range(200)]
    assert kinesis.put_record(StreamName=stream, PartitionKey="p",
                              Data=markers[0])["EncryptionType"] == "KMS"
    r = kinesis.put_records(StreamName=stream,
                            Records=[{"PartitionKey": "p", "Data": m} for m in markers[1:]])
    assert r["FailedRecordCount"] == 0 and r["EncryptionType"] == "KMS"
    # a big record goes to its segment directly rather than through the journal
    big = b"BIG-SECRET-" + os.urandom(300 * 1024).hex().encode()[:300 * 1024]
    kinesis.put_record(StreamName=stream, PartitionKey="p", Data=big)

    # kill -9: nothing acknowledged is lost, and nothing on disk is plaintext
    srv.restart(kill=True)
    assert files_containing(srv.data_dir, b"SECRET-MARKER") == []
    assert files_containing(srv.data_dir, b"BIG-SECRET-") == []
    assert files_containing(srv.data_dir, b"PLAIN-BEFORE-0001") != []  # the check itself works
    recs = get_all(kinesis, stream)
    assert [x["Data"] for x in recs] == [b"PLAIN-BEFORE-0001"] + markers + [big]
    assert "EncryptionType" not in recs[0]
    assert all(x.get("EncryptionType") == "KMS" for x in recs[1:])

    # clean stop: the journal's records were written to their segments, still ciphertext
    srv.restart()
    assert files_containing(srv.data_dir, b"SECRET-MARKER") == []
    assert [x["Data"] for x in get_all(kinesis, stream)][1:4] == markers[:3]
    d = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert (d["EncryptionType"], d["KeyId"]) == ("KMS", kid)

    if key_kind != "key":
        return
    # a disabled key stops puts and reads; enabling it again restores both
    kms.disable_key(KeyId=kid)
    msg = f"{key_arn} is disabled."
    assert error(lambda: kinesis.put_record(StreamName=stream, PartitionKey="p", Data=b"x")) == (
        "KMSDisabledException", msg)
    assert error(lambda: get_all(kinesis, stream)) == ("KMSDisabledException", msg)
    kms.enable_key(KeyId=kid)
    assert len(get_all(kinesis, stream)) == len(markers) + 2

    # after StopStreamEncryption new records are plain again, the old ones stay readable
    kinesis.stop_stream_encryption(StreamName=stream, EncryptionType="KMS", KeyId=kid)
    r = kinesis.put_record(StreamName=stream, PartitionKey="p", Data=b"PLAIN-AFTER")
    assert r.get("EncryptionType", "NONE") == "NONE"
    recs = get_all(kinesis, stream)
    assert recs[-1]["Data"] == b"PLAIN-AFTER" and "EncryptionType" not in recs[-1]
    assert recs[1]["Data"] == markers[0] and recs[1]["EncryptionType"] == "KMS"
    kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
    assert error(lambda: get_all(kinesis, stream)) == ("KMSInvalidStateException",
                                                       f"{key_arn} is pending deletion.")
    assert error(lambda: kinesis.start_stream_encryption(
        StreamName=stream, EncryptionType="KMS", KeyId=kid)) == (
        "KMSInvalidStateException", f"{key_arn} is pending deletion.")


def test_start_encryption_unknown_key(kinesis, stream):
    missing = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-4333-8444-555555555555"
    assert error(lambda: kinesis.start_stream_encryption(
        StreamName=stream, EncryptionType="KMS", KeyId=missing)) == (
        "KMSNotFoundException", f"Key '{missing}' does not exist")
    d = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert d["EncryptionType"] == "NONE"
