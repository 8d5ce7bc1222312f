"""The DynamoDB subset (docs/dynamodb.md) through boto3: every operation, the expression and the
legacy parameter forms, and their error paths with DynamoDB's texts.

The same file runs against dynalite, a DynamoDB reimplementation whose texts were recorded on AWS,
to show that the expectations are DynamoDB's own: set DYNAMODB_ENDPOINT to its URL (the session
server is then not used). Tests marked `dynamodb_only` hold what dynalite does its own way or not
at all (its expression parser reports PEG-style syntax errors where DynamoDB reports the token and
the text near it; it predates ReturnValuesOnConditionCheckFailure); docs/dynamodb.md lists the
differences.
"""
import os
import time
import uuid
import zlib

import boto3
import pytest
from botocore.config import Config

from helpers import ACCESS_KEY, REGION, SECRET_KEY, assert_error, unique_name

EXTERNAL = os.environ.get("DYNAMODB_ENDPOINT")


@pytest.fixture
def endpoint(request):
    if EXTERNAL:
        return EXTERNAL
    return request.getfixturevalue("server").endpoint


def make_client(endpoint, validate=True):
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                    parameter_validation=validate, read_timeout=60, connect_timeout=10)
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY,
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    return session.client("dynamodb", endpoint_url=endpoint, config=config)


@pytest.fixture
def ddb(endpoint):
    return make_client(endpoint)


@pytest.fixture
def ddb_nv(endpoint):
    """A client with botocore's own parameter checks off, so the server's texts show."""
    return make_client(endpoint, validate=False)


def table_name(tag="t"):
    # A random part too: a reference server outlives one run of this file.
    return (unique_name(tag) + "-" + uuid.uuid4().hex[:8])[-200:]


def wait_active(ddb, name):
    deadline = time.monotonic() + 30
    while True:
        status = ddb.describe_table(TableName=name)["Table"]["TableStatus"]
        if status == "ACTIVE":
            return
        assert time.monotonic() < deadline, "table %s stayed %s" % (name, status)
        time.sleep(0.05)


def create(ddb, hash_key=("id", "S"), range_key=None, gsis=None, extra_defs=(), **kwargs):
    name = table_name()
    defs = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    if range_key:
        defs.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
    for d in extra_defs:
        defs.append({"AttributeName": d[0], "AttributeType": d[1]})
    args = dict(TableName=name, AttributeDefinitions=defs, KeySchema=schema,
                BillingMode="PAY_PER_REQUEST")
    if gsis:
        args["GlobalSecondaryIndexes"] = gsis
    args.update(kwargs)
    ddb.create_table(**args)
    wait_active(ddb, name)
    return name


@pytest.fixture
def table(ddb):
    return create(ddb)


@pytest.fixture
def range_table(ddb):
    return create(ddb, ("pk", "S"), ("sk", "N"))


def syntax_prefix(what):
    return "Invalid %s: Syntax error; " % what


# --- tables ---------------------------------------------------------------------------------------

def test_table_lifecycle(ddb):
    name = table_name()
    resp = ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}],
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 10},
        SSESpecification={"Enabled": True},
        Tags=[{"Key": "app", "Value": "kcl"}])
    desc = resp["TableDescription"]
    assert desc["TableName"] == name
    assert desc["TableStatus"] == "CREATING"
    assert desc["KeySchema"] == [{"AttributeName": "leaseKey", "KeyType": "HASH"}]
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 10
    assert desc["TableArn"].endswith(":table/" + name)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["ItemCount"] == 0
    assert name in ddb.list_tables()["TableNames"]
    assert_error(lambda: ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST"), "ResourceInUseException")
    deleted = ddb.delete_table(TableName=name)["TableDescription"]
    assert deleted["TableStatus"] == "DELETING"
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    assert_error(lambda: ddb.describe_table(TableName=name), "ResourceNotFoundException",
                 "Requested resource not found: Table: %s not found" % name)
    assert_error(lambda: ddb.delete_table(TableName=name), "ResourceNotFoundException",
                 "Requested resource not found: Table: %s not found" % name)


def test_create_table_errors(ddb_nv):
    name = table_name()
    base = dict(TableName=name,
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    assert_error(lambda: ddb_nv.create_table(**base), "ValidationException",
                 "One or more parameter values were invalid: ReadCapacityUnits and "
                 "WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
    assert_error(lambda: ddb_nv.create_table(
        BillingMode="PAY_PER_REQUEST",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}, **base),
        "ValidationException",
        "One or more parameter values were invalid: Neither ReadCapacityUnits nor "
        "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
    assert_error(lambda: ddb_nv.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                              {"AttributeName": "x", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}]),
        "ValidationException",
        "One or more parameter values were invalid: Number of attributes in KeySchema does not "
        "exactly match number of attributes defined in AttributeDefinitions")
    assert_error(lambda: ddb_nv.create_table(TableName="ab", BillingMode="PAY_PER_REQUEST",
                                             AttributeDefinitions=base["AttributeDefinitions"],
                                             KeySchema=base["KeySchema"]),
                 "ValidationException",
                 "TableName must be at least 3 characters long and at most 255 characters long")


def test_list_tables_pages(ddb):
    names = sorted(create(ddb) for _ in range(3))
    seen, start = [], None
    while True:
        kwargs = {"Limit": 2}
        if start:
            kwargs["ExclusiveStartTableName"] = start
        resp = ddb.list_tables(**kwargs)
        seen += resp["TableNames"]
        start = resp.get("LastEvaluatedTableName")
        if not start:
            break
    assert seen == sorted(seen)
    for n in names:
        assert n in seen


def test_update_table_adds_gsi_and_query(ddb):
    name = create(ddb, ("leaseKey", "S"))
    resp = ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "leaseOwner", "AttributeType": "S"},
                              {"AttributeName": "leaseKey", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "LeaseOwnerToLeaseKeyIndex",
            "KeySchema": [{"AttributeName": "leaseOwner", "KeyType": "HASH"},
                          {"AttributeName": "leaseKey", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}}])
    gsis = resp["TableDescription"]["GlobalSecondaryIndexes"]
    assert gsis[0]["IndexName"] == "LeaseOwnerToLeaseKeyIndex"
    deadline = time.monotonic() + 30
    while True:
        t = ddb.describe_table(TableName=name)["Table"]
        if t["TableStatus"] == "ACTIVE" and all(g["IndexStatus"] == "ACTIVE"
                                                for g in t["GlobalSecondaryIndexes"]):
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    for i, owner in enumerate(["w1", "w2", "w1", "w1"]):
        ddb.put_item(TableName=name, Item={"leaseKey": {"S": "shard-%d" % i},
                                           "leaseOwner": {"S": owner}})
    ddb.put_item(TableName=name, Item={"leaseKey": {"S": "unowned"}})
    resp = ddb.query(TableName=name, IndexName="LeaseOwnerToLeaseKeyIndex",
                     KeyConditionExpression="leaseOwner = :o",
                     ExpressionAttributeValues={":o": {"S": "w1"}})
    assert [i["leaseKey"]["S"] for i in resp["Items"]] == ["shard-0", "shard-2", "shard-3"]
    resp = ddb.query(TableName=name, IndexName="LeaseOwnerToLeaseKeyIndex",
                     KeyConditionExpression="leaseOwner = :o", Limit=2,
                     ExpressionAttributeValues={":o": {"S": "w1"}})
    assert resp["Count"] == 2 and "LastEvaluatedKey" in resp
    assert resp["LastEvaluatedKey"] == {"leaseKey": {"S": "shard-2"}, "leaseOwner": {"S": "w1"}}
    rest = ddb.query(TableName=name, IndexName="LeaseOwnerToLeaseKeyIndex",
                     KeyConditionExpression="leaseOwner = :o",
                     ExclusiveStartKey=resp["LastEvaluatedKey"],
                     ExpressionAttributeValues={":o": {"S": "w1"}})
    assert [i["leaseKey"]["S"] for i in rest["Items"]] == ["shard-3"]


def test_tags(ddb):
    name = create(ddb)
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    tags = ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "2")]
    ddb.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]


# --- items ----------------------------------------------------------------------------------------

ALL_TYPES = {
    "id": {"S": "k1"},
    "s": {"S": "text ünïcode"},
    "n": {"N": "-12.5"},
    "b": {"B": b"\x00\x01\xff"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"x", b"y"]},
    "t": {"BOOL": True},
    "z": {"NULL": True},
    "m": {"M": {"deep": {"L": [{"S": "x"}, {"N": "1"}]}}},
    "l": {"L": [{"M": {}}, {"BOOL": False}]},
}


def test_put_get_all_types(ddb, table):
    ddb.put_item(TableName=table, Item=ALL_TYPES)
    item = ddb.get_item(TableName=table, Key={"id": {"S": "k1"}}, ConsistentRead=True)["Item"]
    assert item["s"] == ALL_TYPES["s"] and item["n"] == ALL_TYPES["n"]
    assert item["b"] == {"B": b"\x00\x01\xff"}
    assert sorted(item["ss"]["SS"]) == ["a", "b"] and sorted(item["ns"]["NS"]) == ["1", "2.5"]
    assert sorted(item["bs"]["BS"]) == [b"x", b"y"]
    assert item["t"] == {"BOOL": True} and item["z"] == {"NULL": True}
    assert item["m"] == ALL_TYPES["m"] and item["l"] == ALL_TYPES["l"]
    assert "Item" not in ddb.get_item(TableName=table, Key={"id": {"S": "nope"}})
    proj = ddb.get_item(TableName=table, Key={"id": {"S": "k1"}},
                        ProjectionExpression="#s, m.deep[1], n",
                        ExpressionAttributeNames={"#s": "s"})["Item"]
    assert proj == {"s": ALL_TYPES["s"], "n": ALL_TYPES["n"],
                    "m": {"M": {"deep": {"L": [{"N": "1"}]}}}}
    legacy = ddb.get_item(TableName=table, Key={"id": {"S": "k1"}},
                          AttributesToGet=["t", "z"])["Item"]
    assert legacy == {"t": {"BOOL": True}, "z": {"NULL": True}}


def test_numbers(ddb, ddb_nv, table):
    def put(n):
        ddb_nv.put_item(TableName=table, Item={"id": {"S": "num"}, "n": {"N": n}})
        return ddb.get_item(TableName=table, Key={"id": {"S": "num"}})["Item"]["n"]["N"]
    assert put("-0.0100e3") == "-10"
    assert put("1.50") == "1.5"
    assert put("0.000001") == "0.000001"
    assert put("12345678901234567890123456789012345678") == \
        "12345678901234567890123456789012345678"
    assert put("1E+2") == "100"
    for text, message in [
        ("1.00000000000000000000000000000000000000001",
         "Attempting to store more than 38 significant digits in a Number"),
        ("1e126", "Number overflow. Attempting to store a number with magnitude larger than "
                  "supported range"),
        ("1e-131", "Number underflow. Attempting to store a number with magnitude smaller than "
                   "supported range"),
        ("abc", "The parameter cannot be converted to a numeric value: abc"),
    ]:
        assert_error(lambda: put(text), "ValidationException", message)


def test_item_errors(ddb, ddb_nv, table):
    assert_error(lambda: ddb.get_item(TableName=table + "x", Key={"id": {"S": "a"}}),
                 "ResourceNotFoundException", "Requested resource not found")
    assert_error(lambda: ddb.get_item(TableName=table, Key={"id": {"N": "1"}}),
                 "ValidationException", "The provided key element does not match the schema")
    assert_error(lambda: ddb.put_item(TableName=table, Item={"x": {"S": "a"}}),
                 "ValidationException",
                 "One or more parameter values were invalid: Missing the key id in the item")
    assert_error(lambda: ddb.put_item(TableName=table, Item={"id": {"N": "1"}}),
                 "ValidationException",
                 "One or more parameter values were invalid: Type mismatch for key id expected: S "
                 "actual: N")
    assert_error(lambda: ddb_nv.put_item(TableName=table, Item={"id": {"S": "a"}, "x": {}}),
                 "ValidationException",
                 "Supplied AttributeValue is empty, must contain exactly one of the supported "
                 "datatypes")
    assert_error(lambda: ddb_nv.put_item(TableName=table,
                                         Item={"id": {"S": "a"}, "x": {"S": "a", "N": "1"}}),
                 "ValidationException",
                 "Supplied AttributeValue has more than one datatypes set, must contain exactly "
                 "one of the supported datatypes")
    assert_error(lambda: ddb_nv.put_item(TableName=table,
                                         Item={"id": {"S": "a"}, "x": {"SS": []}}),
                 "ValidationException",
                 "One or more parameter values were invalid: An string set  may not be empty")
    assert_error(lambda: ddb_nv.put_item(TableName=table,
                                         Item={"id": {"S": "a"}, "x": {"NULL": False}}),
                 "ValidationException",
                 "One or more parameter values were invalid: Null attribute value types must "
                 "have the value of true")
    assert_error(lambda: ddb.put_item(TableName=table, Item={"id": {"S": ""}}),
                 "ValidationException",
                 "One or more parameter values are not valid. The AttributeValue for a key "
                 "attribute cannot contain an empty string value. Key: id")
    big = "x" * (400 * 1024)
    assert_error(lambda: ddb.put_item(TableName=table, Item={"id": {"S": "a"}, "v": {"S": big}}),
                 "ValidationException", "Item size has exceeded the maximum allowed size")
    ddb.put_item(TableName=table, Item={"id": {"S": "a"}, "v": {"S": "x" * (390 * 1024)}})


def test_conditional_put_and_delete(ddb, table):
    key = {"id": {"S": "lease"}}
    ddb.put_item(TableName=table, Item={**key, "owner": {"S": "w1"}, "cnt": {"N": "1"}},
                 ConditionExpression="attribute_not_exists(id)")
    assert_error(lambda: ddb.put_item(TableName=table, Item=key,
                                      ConditionExpression="attribute_not_exists(id)"),
                 "ConditionalCheckFailedException", "The conditional request failed")
    old = ddb.put_item(TableName=table, Item={**key, "owner": {"S": "w2"}, "cnt": {"N": "2"}},
                       ConditionExpression="#o = :o AND #c = :c",
                       ExpressionAttributeNames={"#o": "owner", "#c": "cnt"},
                       ExpressionAttributeValues={":o": {"S": "w1"}, ":c": {"N": "1"}},
                       ReturnValues="ALL_OLD")["Attributes"]
    assert old["owner"] == {"S": "w1"}
    assert_error(lambda: ddb.delete_item(TableName=table, Key=key,
                                         ConditionExpression="cnt = :c",
                                         ExpressionAttributeValues={":c": {"N": "1"}}),
                 "ConditionalCheckFailedException", "The conditional request failed")
    gone = ddb.delete_item(TableName=table, Key=key, ConditionExpression="cnt = :c",
                           ExpressionAttributeValues={":c": {"N": "2.0"}},
                           ReturnValues="ALL_OLD")["Attributes"]
    assert gone["owner"] == {"S": "w2"}
    assert "Item" not in ddb.get_item(TableName=table, Key=key)
    assert "Attributes" not in ddb.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD")


def test_legacy_expected(ddb, table):
    """KCL 2.x writes leases with Expected (Value / Exists / ComparisonOperator)."""
    key = {"id": {"S": "shardId-000"}}
    ddb.put_item(TableName=table, Item={**key, "leaseCounter": {"N": "0"}},
                 Expected={"id": {"Exists": False}})
    assert_error(lambda: ddb.put_item(TableName=table, Item=key,
                                      Expected={"id": {"Exists": False}}),
                 "ConditionalCheckFailedException", "The conditional request failed")
    ddb.update_item(TableName=table, Key=key,
                    AttributeUpdates={"leaseCounter": {"Value": {"N": "1"}, "Action": "ADD"},
                                      "leaseOwner": {"Value": {"S": "w1"}, "Action": "PUT"}},
                    Expected={"leaseCounter": {"Value": {"N": "0"}}})
    assert_error(lambda: ddb.update_item(
        TableName=table, Key=key,
        AttributeUpdates={"leaseOwner": {"Value": {"S": "w2"}, "Action": "PUT"}},
        Expected={"leaseCounter": {"Value": {"N": "0"}}}),
        "ConditionalCheckFailedException", "The conditional request failed")
    ddb.update_item(TableName=table, Key=key,
                    AttributeUpdates={"leaseOwner": {"Action": "DELETE"},
                                      "parents": {"Value": {"SS": ["a", "b"]}, "Action": "ADD"}},
                    Expected={"leaseCounter": {"ComparisonOperator": "GE",
                                               "AttributeValueList": [{"N": "1"}]},
                              "leaseOwner": {"ComparisonOperator": "NOT_NULL"}},
                    ConditionalOperator="AND")
    ddb.update_item(TableName=table, Key=key,
                    AttributeUpdates={"parents": {"Value": {"SS": ["a"]}, "Action": "DELETE"}},
                    Expected={"leaseOwner": {"ComparisonOperator": "NULL"},
                              "leaseCounter": {"ComparisonOperator": "BETWEEN",
                                               "AttributeValueList": [{"N": "0"}, {"N": "5"}]}})
    item = ddb.get_item(TableName=table, Key=key)["Item"]
    assert item == {**key, "leaseCounter": {"N": "1"}, "parents": {"SS": ["b"]}}
    assert_error(lambda: ddb.put_item(TableName=table, Item=key,
                                      Expected={"a": {"Exists": True}}),
                 "ValidationException",
                 "One or more parameter values were invalid: Value must be provided when Exists "
                 "is true for Attribute: a")
    assert_error(lambda: ddb.put_item(TableName=table, Item=key,
                                      Expected={"a": {"ComparisonOperator": "EQ"}}),
                 "ValidationException",
                 "One or more parameter values were invalid: Value or AttributeValueList must be "
                 "used with ComparisonOperator: EQ for Attribute: a")
    assert_error(lambda: ddb.put_item(TableName=table, Item=key,
                                      Expected={"a": {"ComparisonOperator": "EQ",
                                                      "AttributeValueList": [{"S": "1"},
                                                                             {"S": "2"}]}}),
                 "ValidationException",
                 "One or more parameter values were invalid: Invalid number of argument(s) for "
                 "the EQ ComparisonOperator")
    assert_error(lambda: ddb.put_item(TableName=table, Item=key,
                                      Expected={"a": {"Exists": False}},
                                      ConditionExpression="attribute_exists(a)"),
                 "ValidationException",
                 "Can not use both expression and non-expression parameters in the same request: "
                 "Non-expression parameters: {Expected} Expression parameters: "
                 "{ConditionExpression}")
    assert_error(lambda: ddb.update_item(
        TableName=table, Key=key,
        AttributeUpdates={"id": {"Value": {"S": "x"}, "Action": "PUT"}}),
        "ValidationException",
        "One or more parameter values were invalid: Cannot update attribute id. This attribute "
        "is part of the key")


def test_update_expressions(ddb, table):
    key = {"id": {"S": "doc"}}
    r = ddb.update_item(
        TableName=table, Key=key, ReturnValues="ALL_NEW",
        UpdateExpression="SET cnt = if_not_exists(cnt, :zero) + :one, doc = :doc, "
                         "tags = :tags, nums = :nums, lst = :lst",
        ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"},
                                   ":doc": {"M": {"core": {"M": {"v": {"N": "1"}}}}},
                                   ":tags": {"SS": ["x"]}, ":nums": {"NS": ["1"]},
                                   ":lst": {"L": [{"S": "a"}, {"S": "b"}]}})["Attributes"]
    assert r["cnt"] == {"N": "1"}
    ddb.update_item(
        TableName=table, Key=key, ReturnValues="UPDATED_NEW",
        UpdateExpression="SET doc.core.v = doc.core.v + :ten, doc.added = :s, "
                         "lst = list_append(lst, :more) ADD tags :t, nums :n, cnt :one "
                         "REMOVE absent",
        ExpressionAttributeValues={":ten": {"N": "10"}, ":s": {"S": "z"}, ":t": {"SS": ["y"]},
                                   ":n": {"NS": ["5"]}, ":one": {"N": "1"},
                                   ":more": {"L": [{"S": "c"}]}})
    ddb.update_item(TableName=table, Key=key, UpdateExpression="SET lst[1] = :s",
                    ExpressionAttributeValues={":s": {"S": "z"}})
    assert_error(lambda: ddb.update_item(
        TableName=table, Key=key,
        UpdateExpression="SET lst = list_append(lst, :more), lst[0] = :s",
        ExpressionAttributeValues={":more": {"L": []}, ":s": {"S": "q"}}),
        "ValidationException",
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
        "rewrite one of these paths; path one: [lst], path two: [lst, [0]]")
    item = ddb.get_item(TableName=table, Key=key)["Item"]
    assert item["cnt"] == {"N": "2"}
    assert item["doc"] == {"M": {"core": {"M": {"v": {"N": "11"}}}, "added": {"S": "z"}}}
    assert sorted(item["tags"]["SS"]) == ["x", "y"] and sorted(item["nums"]["NS"]) == ["1", "5"]
    ddb.update_item(TableName=table, Key=key,
                    UpdateExpression="REMOVE lst[0], doc.added DELETE tags :x SET #c = #c - :one",
                    ExpressionAttributeNames={"#c": "cnt"},
                    ExpressionAttributeValues={":x": {"SS": ["x"]}, ":one": {"N": "1"}})
    item = ddb.get_item(TableName=table, Key=key)["Item"]
    assert item["lst"] == {"L": [{"S": "z"}, {"S": "c"}]}
    assert item["doc"] == {"M": {"core": {"M": {"v": {"N": "11"}}}}}
    assert item["tags"] == {"SS": ["y"]} and item["cnt"] == {"N": "1"}
    old = ddb.update_item(TableName=table, Key=key, UpdateExpression="SET cnt = :v",
                          ExpressionAttributeValues={":v": {"N": "7"}},
                          ReturnValues="UPDATED_OLD")["Attributes"]
    assert old == {"cnt": {"N": "1"}}
    assert_error(lambda: ddb.update_item(TableName=table, Key=key,
                                         UpdateExpression="SET cnt = nothere + :v",
                                         ExpressionAttributeValues={":v": {"N": "1"}}),
                 "ValidationException",
                 "The provided expression refers to an attribute that does not exist in the item")
    assert_error(lambda: ddb.update_item(TableName=table, Key=key,
                                         UpdateExpression="SET tags = tags + :v",
                                         ExpressionAttributeValues={":v": {"N": "1"}}),
                 "ValidationException",
                 "An operand in the update expression has an incorrect data type")
    assert_error(lambda: ddb.update_item(TableName=table, Key=key,
                                         UpdateExpression="SET id = :v",
                                         ExpressionAttributeValues={":v": {"S": "1"}}),
                 "ValidationException",
                 "One or more parameter values were invalid: Cannot update attribute id. This "
                 "attribute is part of the key")
    assert_error(lambda: ddb.update_item(TableName=table, Key=key,
                                         UpdateExpression="SET nope.deeper = :v",
                                         ExpressionAttributeValues={":v": {"S": "1"}}),
                 "ValidationException",
                 "The document path provided in the update expression is invalid for update")


def test_expression_errors(ddb_nv, table):
    ddb = ddb_nv
    key = {"id": {"S": "e"}}
    v = {":v": {"S": "1"}, ":n": {"N": "1"}}
    cases = [
        ("ConditionExpression", "foo(a)", v, "Invalid ConditionExpression: Invalid function name; "
                                             "function: foo"),
        ("ConditionExpression", "attribute_exists(a, b)", None,
         "Invalid ConditionExpression: Incorrect number of operands for operator or function; "
         "operator or function: attribute_exists, number of operands: 2"),
        ("ConditionExpression", "begins_with(a, :n)", {":n": {"N": "1"}},
         "Invalid ConditionExpression: Incorrect operand type for operator or function; operator "
         "or function: begins_with, operand type: N"),
        ("ConditionExpression", "size(a)", None,
         "Invalid ConditionExpression: The function is not allowed to be used this way in an "
         "expression; function: size"),
        ("ConditionExpression", "a = :missing", {":v": {"S": "1"}},
         "Invalid ConditionExpression: An expression attribute value used in expression is not "
         "defined; attribute value: :missing"),
        ("ConditionExpression", "#n = :v", {":v": {"S": "1"}},
         "Invalid ConditionExpression: An expression attribute name used in the document path is "
         "not defined; attribute name: #n"),
        ("ConditionExpression", "status = :v", {":v": {"S": "1"}},
         "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: "
         "status"),
        ("ConditionExpression", "attribute_exists(:v)", {":v": {"S": "1"}},
         "Invalid ConditionExpression: Operator or function requires a document path; operator "
         "or function: attribute_exists"),
        ("ConditionExpression", "", None,
         "Invalid ConditionExpression: The expression can not be empty;"),
        ("ConditionExpression", "a = :v", {":v": {"S": "1"}, ":u": {"S": "2"}},
         "Value provided in ExpressionAttributeValues unused in expressions: keys: {:u}"),
        ("UpdateExpression", "SET a = :v SET b = :v", {":v": {"S": "1"}},
         "Invalid UpdateExpression: The \"SET\" section can only be used once in an update "
         "expression;"),
        ("UpdateExpression", "SET a = :v, a = :v", {":v": {"S": "1"}},
         "Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
         "rewrite one of these paths; path one: [a], path two: [a]"),
        ("UpdateExpression", "ADD a :v", {":v": {"S": "1"}},
         "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: "
         "ADD, operand type: STRING"),
        ("UpdateExpression", "SET a = :v + :v", {":v": {"S": "1"}},
         "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or "
         "function: +, operand type: S"),
        ("UpdateExpression", "DELETE a :v", {":v": {"S": "1"}},
         "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: "
         "DELETE, operand type: STRING"),
    ]
    for param, expr, values, message in cases:
        kwargs = {param: expr}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        if param == "UpdateExpression":
            call = lambda: ddb.update_item(TableName=table, Key=key, **kwargs)  # noqa: E731
        else:
            call = lambda: ddb.put_item(TableName=table, Item=key, **kwargs)  # noqa: E731
        assert_error(call, "ValidationException", message)
    for param, expr in [("ConditionExpression", "a = = b"), ("ConditionExpression", "a ="),
                        ("UpdateExpression", "SET"), ("UpdateExpression", "XYZ a"),
                        ("ProjectionExpression", "a,,b")]:
        if param == "UpdateExpression":
            call = lambda: ddb.update_item(TableName=table, Key=key, **{param: expr})  # noqa
        elif param == "ProjectionExpression":
            call = lambda: ddb.get_item(TableName=table, Key=key, **{param: expr})  # noqa
        else:
            call = lambda: ddb.put_item(TableName=table, Item=key, **{param: expr})  # noqa
        err = assert_error(call, "ValidationException")
        assert err.response["Error"]["Message"].startswith(syntax_prefix(param)), \
            err.response["Error"]["Message"]


@pytest.mark.dynamodb_only
def test_syntax_error_texts(ddb, table):
    """DynamoDB names the offending token and the text around it (dynalite does not)."""
    key = {"id": {"S": "e"}}
    assert_error(lambda: ddb.put_item(TableName=table, Item=key, ConditionExpression="a = = b"),
                 "ValidationException",
                 'Invalid ConditionExpression: Syntax error; token: "=", near: "= = b"')
    assert_error(lambda: ddb.update_item(TableName=table, Key=key,
                                         UpdateExpression="SET a = :a, SET b = :a",
                                         ExpressionAttributeValues={":a": {"S": "1"}}),
                 "ValidationException",
                 'Invalid UpdateExpression: Syntax error; token: "SET", near: ", SET b"')
    assert_error(lambda: ddb.get_item(TableName=table, Key=key,
                                      ProjectionExpression="user-id"),
                 "ValidationException",
                 'Invalid ProjectionExpression: Syntax error; token: "-", near: "user-id"')


def test_condition_functions(ddb, table):
    key = {"id": {"S": "f"}}
    ddb.put_item(TableName=table, Item={**key, "s": {"S": "hello world"}, "n": {"N": "5"},
                                        "l": {"L": [{"S": "a"}]}, "ss": {"SS": ["p", "q"]},
                                        "m": {"M": {"x": {"N": "1"}}}})
    ok = [
        ("attribute_type(s, :S)", {":S": {"S": "S"}}),
        ("begins_with(s, :h)", {":h": {"S": "hell"}}),
        ("contains(s, :w)", {":w": {"S": "o w"}}),
        ("contains(ss, :p)", {":p": {"S": "p"}}),
        ("contains(l, :a)", {":a": {"S": "a"}}),
        ("size(s) = :eleven", {":eleven": {"N": "11"}}),
        ("size(m) < :two", {":two": {"N": "2"}}),
        ("n BETWEEN :lo AND :hi", {":lo": {"N": "5"}, ":hi": {"N": "6"}}),
        ("n IN (:a, :b)", {":a": {"N": "4"}, ":b": {"N": "5.0"}}),
        ("NOT n > :x OR s <> :x", {":x": {"N": "100"}}),
        ("(n >= :a AND n <= :a) AND attribute_not_exists(q)", {":a": {"N": "5"}}),
        ("m.x = :one", {":one": {"N": "1"}}),
        ("l[0] = :a", {":a": {"S": "a"}}),
    ]
    for expr, values in ok:
        ddb.put_item(TableName=table, Item={**key, "s": {"S": "hello world"}, "n": {"N": "5"},
                                            "l": {"L": [{"S": "a"}]}, "ss": {"SS": ["p", "q"]},
                                            "m": {"M": {"x": {"N": "1"}}}},
                     ConditionExpression=expr, ExpressionAttributeValues=values)
    failing = [
        ("attribute_type(n, :S)", {":S": {"S": "S"}}),
        ("n < :s", {":s": {"S": "9"}}),
        ("n BETWEEN :lo AND :hi", {":lo": {"N": "6"}, ":hi": {"N": "7"}}),
        ("contains(ss, :z)", {":z": {"S": "z"}}),
    ]
    for expr, values in failing:
        assert_error(lambda: ddb.put_item(TableName=table, Item=key, ConditionExpression=expr,
                                          ExpressionAttributeValues=values),
                     "ConditionalCheckFailedException", "The conditional request failed")


# --- query and scan -------------------------------------------------------------------------------

def fill(ddb, name, n=10, pks=("a", "b")):
    for pk in pks:
        for i in range(n):
            ddb.put_item(TableName=name, Item={"pk": {"S": pk}, "sk": {"N": str(i)},
                                               "even": {"BOOL": i % 2 == 0},
                                               "tag": {"S": "t%d" % i}})


def test_query(ddb, range_table):
    fill(ddb, range_table)
    q = ddb.query(TableName=range_table, KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                  ExpressionAttributeValues={":p": {"S": "a"}, ":a": {"N": "2"}, ":b": {"N": "5"}})
    assert [i["sk"]["N"] for i in q["Items"]] == ["2", "3", "4", "5"]
    assert q["Count"] == 4 and q["ScannedCount"] == 4
    q = ddb.query(TableName=range_table, KeyConditionExpression="pk = :p AND sk > :a",
                  ScanIndexForward=False, ExpressionAttributeValues={":p": {"S": "b"},
                                                                    ":a": {"N": "6"}})
    assert [i["sk"]["N"] for i in q["Items"]] == ["9", "8", "7"]
    q = ddb.query(TableName=range_table, KeyConditionExpression="pk = :p",
                  FilterExpression="even = :t", ProjectionExpression="sk",
                  ExpressionAttributeValues={":p": {"S": "a"}, ":t": {"BOOL": True}})
    assert q["Items"] == [{"sk": {"N": str(i)}} for i in (0, 2, 4, 6, 8)]
    assert q["Count"] == 5 and q["ScannedCount"] == 10
    items, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        q = ddb.query(TableName=range_table, KeyConditionExpression="pk = :p", Limit=3,
                      ExpressionAttributeValues={":p": {"S": "a"}}, **kwargs)
        items += q["Items"]
        start = q.get("LastEvaluatedKey")
        if not start:
            break
    assert [i["sk"]["N"] for i in items] == [str(i) for i in range(10)]
    legacy = ddb.query(TableName=range_table,
                       KeyConditions={"pk": {"ComparisonOperator": "EQ",
                                             "AttributeValueList": [{"S": "a"}]},
                                      "sk": {"ComparisonOperator": "LT",
                                             "AttributeValueList": [{"N": "2"}]}})
    assert [i["sk"]["N"] for i in legacy["Items"]] == ["0", "1"]
    count = ddb.query(TableName=range_table, KeyConditionExpression="pk = :p", Select="COUNT",
                      ExpressionAttributeValues={":p": {"S": "a"}})
    assert count["Count"] == 10 and "Items" not in count
    assert_error(lambda: ddb.query(TableName=range_table, KeyConditionExpression="sk = :a",
                                   ExpressionAttributeValues={":a": {"N": "1"}}),
                 "ValidationException", "Query condition missed key schema element: pk")
    assert_error(lambda: ddb.query(TableName=range_table,
                                   KeyConditionExpression="pk = :p OR sk = :a",
                                   ExpressionAttributeValues={":p": {"S": "a"},
                                                              ":a": {"N": "1"}}),
                 "ValidationException", "Invalid operator used in KeyConditionExpression: OR")


def test_query_begins_with(ddb):
    name = create(ddb, ("pk", "S"), ("sk", "S"))
    for s in ["a#1", "a#2", "b#1", "ab"]:
        ddb.put_item(TableName=name, Item={"pk": {"S": "x"}, "sk": {"S": s}})
    q = ddb.query(TableName=name, KeyConditionExpression="pk = :p AND begins_with(sk, :pre)",
                  ExpressionAttributeValues={":p": {"S": "x"}, ":pre": {"S": "a#"}})
    assert [i["sk"]["S"] for i in q["Items"]] == ["a#1", "a#2"]


def test_scan(ddb, range_table):
    fill(ddb, range_table, n=20, pks=("a", "b", "c"))
    seen, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        s = ddb.scan(TableName=range_table, Limit=7, **kwargs)
        seen += s["Items"]
        start = s.get("LastEvaluatedKey")
        if not start:
            break
    keys = sorted((i["pk"]["S"], int(i["sk"]["N"])) for i in seen)
    assert keys == sorted((p, i) for p in "abc" for i in range(20))
    segs = []
    for seg in range(4):
        segs += ddb.scan(TableName=range_table, Segment=seg, TotalSegments=4)["Items"]
    assert sorted((i["pk"]["S"], int(i["sk"]["N"])) for i in segs) == keys
    f = ddb.scan(TableName=range_table, FilterExpression="sk >= :n AND pk = :p",
                 ExpressionAttributeValues={":n": {"N": "18"}, ":p": {"S": "b"}})
    assert sorted(int(i["sk"]["N"]) for i in f["Items"]) == [18, 19]
    assert f["ScannedCount"] == 60
    legacy = ddb.scan(TableName=range_table,
                      ScanFilter={"tag": {"ComparisonOperator": "BEGINS_WITH",
                                          "AttributeValueList": [{"S": "t1"}]},
                                  "pk": {"ComparisonOperator": "IN",
                                         "AttributeValueList": [{"S": "a"}, {"S": "c"}]}})
    assert len(legacy["Items"]) == 2 * 11
    assert_error(lambda: ddb.scan(TableName=range_table, Segment=4, TotalSegments=4),
                 "ValidationException",
                 "The Segment parameter is zero-based and must be less than parameter "
                 "TotalSegments: Segment: 4 is not less than TotalSegments: 4")


# --- batches ----------------------------------------------------------------------------------------

def test_batch_write_and_get(ddb, table, range_table):
    ddb.batch_write_item(RequestItems={
        table: [{"PutRequest": {"Item": {"id": {"S": "b%d" % i}, "v": {"N": str(i)}}}}
                for i in range(5)],
        range_table: [{"PutRequest": {"Item": {"pk": {"S": "x"}, "sk": {"N": "1"}}}}],
    })
    ddb.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": {"id": {"S": "b0"}}}}]})
    resp = ddb.batch_get_item(RequestItems={
        table: {"Keys": [{"id": {"S": "b%d" % i}} for i in range(5)],
                "ProjectionExpression": "id, v"},
        range_table: {"Keys": [{"pk": {"S": "x"}, "sk": {"N": "1"}}]},
    })
    got = sorted(i["id"]["S"] for i in resp["Responses"][table])
    assert got == ["b1", "b2", "b3", "b4"]
    assert resp["Responses"][range_table] == [{"pk": {"S": "x"}, "sk": {"N": "1"}}]
    assert resp["UnprocessedKeys"] == {}
    assert_error(lambda: ddb.batch_write_item(RequestItems={
        table: [{"PutRequest": {"Item": {"id": {"S": "d"}}}},
                {"DeleteRequest": {"Key": {"id": {"S": "d"}}}}]}),
        "ValidationException", "Provided list of item keys contains duplicates")
    assert_error(lambda: ddb.batch_get_item(RequestItems={
        table: {"Keys": [{"id": {"S": "d"}}, {"id": {"S": "d"}}]}}),
        "ValidationException", "Provided list of item keys contains duplicates")
    assert_error(lambda: ddb.batch_write_item(RequestItems={
        table + "-missing": [{"PutRequest": {"Item": {"id": {"S": "d"}}}}]}),
        "ResourceNotFoundException", "Requested resource not found")


def test_crc32_header(ddb, table):
    resp = ddb.get_item(TableName=table, Key={"id": {"S": "nothing"}})
    headers = resp["ResponseMetadata"]["HTTPHeaders"]
    # botocore checks the header against the body and raises on a mismatch; the body of an
    # item that is not there is "{}".
    assert int(headers["x-amz-crc32"]) == zlib.crc32(b"{}") & 0xffffffff


@pytest.mark.dynamodb_only
def test_return_values_on_condition_check_failure(ddb, table):
    """The old item comes back with the ConditionalCheckFailedException (dynalite predates this)."""
    key = {"id": {"S": "rv"}}
    ddb.put_item(TableName=table, Item={**key, "v": {"N": "1"}})
    err = assert_error(lambda: ddb.put_item(TableName=table, Item=key,
                                            ConditionExpression="v = :two",
                                            ExpressionAttributeValues={":two": {"N": "2"}},
                                            ReturnValuesOnConditionCheckFailure="ALL_OLD"),
                       "ConditionalCheckFailedException", "The conditional request failed")
    assert err.response["Item"] == {**key, "v": {"N": "1"}}


@pytest.mark.dynamodb_only
def test_nesting_limit(ddb, table):
    """Documents nest up to what a request can carry; an update nesting deeper is refused (as
    DynamoDB refuses more than 32 levels; dynalite does not check)."""
    def nested(levels, leaf):
        v = leaf
        for _ in range(levels):
            v = {"M": {"k": v}}
        return v
    key = {"id": {"S": "deep"}}
    ddb.put_item(TableName=table, Item={**key, "d": nested(29, {"S": "leaf"})})
    item = ddb.get_item(TableName=table, Key=key)["Item"]
    assert item["d"] == nested(29, {"S": "leaf"})
    assert_error(lambda: ddb.update_item(
        TableName=table, Key=key, UpdateExpression="SET d." + ".".join(["k"] * 28) + ".x = :v",
        ExpressionAttributeValues={":v": nested(5, {"N": "1"})}),
        "ValidationException", "Nesting Levels have exceeded supported limits")
    assert ddb.get_item(TableName=table, Key=key)["Item"]["d"] == nested(29, {"S": "leaf"})
