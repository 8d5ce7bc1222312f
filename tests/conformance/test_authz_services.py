"""Authorization of DynamoDB, S3, Lambda and KMS under --auth sigv4 (docs/security.md,
"Authorization"): a non-admin IAM user may call an operation only when its policies allow the
operation's IAM action (S3's own names: s3:ListBucket for ListObjectsV2, s3:GetObject for
HeadObject; lambda:InvokeFunction for Invoke) on its resource (a table, an object or bucket, a
function, a key); refusals are AWS's AccessDeniedException (S3: AccessDenied, 403). Real server,
boto3."""
import json
import os

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import REGION, SluiceServer, unique_name

ADMIN_KEY, ADMIN_SECRET = "AKIAADMINSVCSEXAMPLE", "admin/services+secret"
ACCOUNT = "000000000000"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/worker"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("authz_services")
    creds = d / "credentials"
    creds.write_text(f"[admin]\naws_access_key_id={ADMIN_KEY}\naws_secret_access_key={ADMIN_SECRET}\n"
                     "admin=true\n")
    server = SluiceServer(options={"auth": "sigv4", "credentials": str(creds),
                                   "master_key_file": str(d / "master.key")})
    server.start()
    yield server
    assert server.stop() == 0, server.stderr_tail()
    server.cleanup()


def client(server, service, key=ADMIN_KEY, secret=ADMIN_SECRET):
    cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                 s3={"addressing_style": "path"})
    return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret, config=cfg)


def denied(action, resource):
    return (f"User: {USER_ARN} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action")


def error(fn):
    with pytest.raises(ClientError) as e:
        fn()
    r = e.value.response
    return r["Error"]["Code"], r["Error"].get("Message"), r["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def worker(srv):
    """An IAM user with one policy per service, and a function that makes clients for it."""
    iam = client(srv, "iam")
    iam.create_user(UserName="worker")
    key = iam.create_access_key(UserName="worker")["AccessKey"]
    suffix = os.urandom(4).hex()
    names = {"table": unique_name("t"), "other": unique_name("o"),
             "bucket": "authz-open-%s" % suffix, "secret": "authz-secret-%s" % suffix}
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names['table']}"
    iam.put_user_policy(UserName="worker", PolicyName="work", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:GetItem",
                                           "dynamodb:BatchWriteItem"],
             "Resource": table_arn},
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
             "Resource": f"arn:aws:s3:::{names['bucket']}/*"},
            {"Effect": "Allow", "Action": "lambda:GetFunction",
             "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:allowed-fn"},
        ]}))
    ddb = client(srv, "dynamodb")
    for t in (names["table"], names["other"]):
        ddb.create_table(TableName=t, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        ddb.get_waiter("table_exists").wait(TableName=t, WaiterConfig={"Delay": 0.1})
    s3 = client(srv, "s3")
    s3.create_bucket(Bucket=names["bucket"])
    s3.create_bucket(Bucket=names["secret"])
    s3.put_object(Bucket=names["secret"], Key="plans", Body=b"top secret")
    return (lambda service: client(srv, service, key["AccessKeyId"], key["SecretAccessKey"])), names


def test_dynamodb(worker):
    make, n = worker
    ddb = make("dynamodb")
    ddb.put_item(TableName=n["table"], Item={"k": {"S": "a"}})
    assert ddb.get_item(TableName=n["table"], Key={"k": {"S": "a"}})["Item"] == {"k": {"S": "a"}}
    other = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{n['other']}"
    assert error(lambda: ddb.put_item(TableName=n["other"], Item={"k": {"S": "a"}})) == (
        "AccessDeniedException", denied("dynamodb:PutItem", other), 400)
    assert error(lambda: ddb.delete_item(TableName=n["table"], Key={"k": {"S": "a"}}))[0] == \
        "AccessDeniedException"
    assert error(lambda: ddb.list_tables()) == (
        "AccessDeniedException", denied("dynamodb:ListTables", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:*"),
        400)
    # a batch is allowed only when every table it names is
    ddb.batch_write_item(RequestItems={n["table"]: [{"PutRequest": {"Item": {"k": {"S": "b"}}}}]})
    assert error(lambda: ddb.batch_write_item(RequestItems={
        n["table"]: [{"PutRequest": {"Item": {"k": {"S": "c"}}}}],
        n["other"]: [{"PutRequest": {"Item": {"k": {"S": "c"}}}}]})) == (
        "AccessDeniedException", denied("dynamodb:BatchWriteItem", other), 400)


def test_s3(worker):
    make, n = worker
    s3 = make("s3")
    b = n["bucket"]
    s3.put_object(Bucket=b, Key="doc", Body=b"hello")
    assert s3.get_object(Bucket=b, Key="doc")["Body"].read() == b"hello"
    assert s3.head_object(Bucket=b, Key="doc")["ContentLength"] == 5  # s3:GetObject
    code, msg, status = error(lambda: s3.list_objects_v2(Bucket=b))
    assert (code, msg, status) == ("AccessDenied", denied("s3:ListBucket", f"arn:aws:s3:::{b}"),
                                   403)
    assert error(lambda: s3.get_object(Bucket=n["secret"], Key="plans")) == (
        "AccessDenied", denied("s3:GetObject", f"arn:aws:s3:::{n['secret']}/plans"), 403)
    assert error(lambda: s3.list_buckets())[0] == "AccessDenied"
    # copying out of a bucket it cannot read needs s3:GetObject on the source too
    assert error(lambda: s3.copy_object(Bucket=b, Key="stolen",
                                        CopySource={"Bucket": n["secret"], "Key": "plans"})) == (
        "AccessDenied", denied("s3:GetObject", f"arn:aws:s3:::{n['secret']}/plans"), 403)
    s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "doc"})


def test_lambda(worker):
    make, _ = worker
    lam = make("lambda")
    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
    assert error(lambda: lam.list_functions()) == (
        "AccessDeniedException", denied("lambda:ListFunctions", f"arn:aws:lambda:{REGION}:{ACCOUNT}:*"),
        403)
    assert error(lambda: lam.get_function(FunctionName="other-fn")) == (
        "AccessDeniedException", denied("lambda:GetFunction", fn + "other-fn"), 403)
    assert error(lambda: lam.invoke(FunctionName="allowed-fn")) == (
        "AccessDeniedException", denied("lambda:InvokeFunction", fn + "allowed-fn"), 403)
    # allowed: the request reaches Lambda, which has no such function
    assert error(lambda: lam.get_function(FunctionName="allowed-fn"))[0] == \
        "ResourceNotFoundException"


def test_kms(worker, srv):
    make, _ = worker
    kid = client(srv, "kms").create_key()["KeyMetadata"]["KeyId"]
    kms = make("kms")
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{kid}"
    assert error(lambda: kms.encrypt(KeyId=kid, Plaintext=b"x")) == (
        "AccessDeniedException", denied("kms:Encrypt", arn), 400)
    assert error(lambda: kms.create_key())[0] == "AccessDeniedException"
