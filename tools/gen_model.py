#!/usr/bin/env python3
"""Generate src/api/<service>/model.c from an AWS service model (botocore's service-2.json).

The model comes from the newest local botocore (botocore.loaders.Loader, '<service>',
'service-2'). The output is the table that the front walks (src/front/model.h): the service's
metadata (target prefix, signing name, protocol), every operation with its input and output shape
(an operation's slot, where its handler goes in the front, is its index in the sorted table),
members in model order, required flags, min/max, patterns (the Java original for messages and a
POSIX ERE translation for matching), enums, list/map members, the error shapes with their HTTP
status, plus what the model does not carry but AWS's messages depend on (a service's OVERLAYS in
SERVICES below): the order in which AWS validates members and the order in which it prints enum
value sets.

Usage:
  tools/gen_model.py [SERVICE...]           rewrite src/api/<service>/model.c for each SERVICE
                                            (default: every service in SERVICES)
  tools/gen_model.py --check [SERVICE...]   exit 1 if a committed file differs from what would be
                                            generated
  tools/gen_model.py --stdout SERVICE       print the generated file

SERVICE is botocore's name ("kinesis", "firehose", "lambda", ...). A service not in SERVICES is
generated with no overlays into src/api/<service>/model.c with the symbol sl_<service>_model; add
it to SERVICES once its binding exists, so that CI checks it. The output is deterministic: it
depends only on the model file and this script.
"""

import argparse
import difflib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Hand-written overlays of Kinesis: what the botocore model lacks but AWS's validation messages
# show. Each entry says where it comes from. Facts are taken from kinesalite's tests, which were
# recorded against real AWS (mhart/kinesalite test/*.js); texts carry over, no code does.
KINESIS_OVERLAYS = {
    # AWS does not validate members in model order (nor alphabetically): the order is that of a
    # hash map inside AWS's service framework. These are the orders observed on AWS. Members not
    # listed are validated after the listed ones, in model order (the new members such as
    # StreamARN/StreamId were never observed together with the old ones).
    "validation_order": {
        # test/createStream.js: "2 validation errors detected: ... 'shardCount' ...; ... 'streamName'".
        "CreateStreamInput": ["ShardCount", "StreamName"],
        # test/putRecord.js: sequenceNumberForOrdering, partitionKey, explicitHashKey, data, streamName.
        "PutRecordInput": ["SequenceNumberForOrdering", "PartitionKey", "ExplicitHashKey", "Data",
                           "StreamName"],
        # test/putRecords.js: records (and its entries) before streamName.
        "PutRecordsInput": ["Records", "StreamName"],
        # test/putRecords.js: records.1.member.partitionKey, .explicitHashKey, .data.
        "PutRecordsRequestEntry": ["PartitionKey", "ExplicitHashKey", "Data"],
        # test/getShardIterator.js (kinesalite's validations/getShardIterator.js order).
        "GetShardIteratorInput": ["ShardId", "ShardIteratorType", "StartingSequenceNumber",
                                  "StreamName"],
        # test/listShards.js (listed order of the expected errors).
        "ListShardsInput": ["MaxResults", "ExclusiveStartShardId", "StreamName", "NextToken"],
        # test/addTagsToStream.js and test/removeTagsFromStream.js.
        "AddTagsToStreamInput": ["Tags", "StreamName"],
        "RemoveTagsFromStreamInput": ["TagKeys", "StreamName"],
        # test/mergeShards.js: "3 validation errors detected: shardToMerge; adjacentShardToMerge; streamName".
        "MergeShardsInput": ["ShardToMerge", "AdjacentShardToMerge", "StreamName"],
        # test/splitShard.js: "3 validation errors detected: newStartingHashKey; streamName; shardToSplit".
        "SplitShardInput": ["NewStartingHashKey", "StreamName", "ShardToSplit"],
        # test/describeStream.js: limit, exclusiveStartShardId, streamName.
        "DescribeStreamInput": ["Limit", "ExclusiveStartShardId", "StreamName"],
        # test/getRecords.js: limit before shardIterator.
        "GetRecordsInput": ["Limit", "ShardIterator"],
        # test/listTagsForStream.js: limit, exclusiveStartTagKey, streamName.
        "ListTagsForStreamInput": ["Limit", "ExclusiveStartTagKey", "StreamName"],
        # test/listStreams.js: limit before exclusiveStartStreamName.
        "ListStreamsInput": ["Limit", "ExclusiveStartStreamName"],
        # test/updateShardCount.js: scalingType, streamName, targetShardCount.
        "UpdateShardCountInput": ["ScalingType", "StreamName", "TargetShardCount"],
        # kinesalite validations/{increase,decrease}StreamRetentionPeriod.js order.
        "IncreaseStreamRetentionPeriodInput": ["RetentionPeriodHours", "StreamName"],
        "DecreaseStreamRetentionPeriodInput": ["RetentionPeriodHours", "StreamName"],
    },
    # AWS prints enum value sets in its own (hash set) order, not model order.
    "enum_message_order": {
        # test/getShardIterator.js: "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER,
        # LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]".
        "ShardIteratorType": ["AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP",
                              "AT_SEQUENCE_NUMBER", "TRIM_HORIZON"],
    },
    # Constraints AWS enforces beyond the model: none are needed with the 1.43.11 model (it already
    # has ShardCount min 1, Data max 10 MiB, MaxRecordSizeInKiB 1024-10240). Retention hours are
    # range-checked by the handlers with InvalidArgumentException texts (spec section 3.7), not
    # here. Format: {"ShapeName": {"min": n, "max": n}}.
    "constraints": {},
}

# SQS's Query protocol names (botocore's SQS Query model before SQS moved to JSON, which the AWS
# CLI v2 of Debian and older SDKs still send): flattened maps as Attribute.N.Name/Value, lists as
# AttributeName.N, batch entries as SendMessageBatchRequestEntry.N.Id.
SQS_QUERY_NAMES = {
    "members": {
        "CreateQueueRequest.Attributes": "Attribute",
        "CreateQueueRequest.tags": "Tag",
        "SetQueueAttributesRequest.Attributes": "Attribute",
        "SendMessageRequest.MessageAttributes": "MessageAttribute",
        "SendMessageRequest.MessageSystemAttributes": "MessageSystemAttribute",
        "SendMessageBatchRequestEntry.MessageAttributes": "MessageAttribute",
        "SendMessageBatchRequestEntry.MessageSystemAttributes": "MessageSystemAttribute",
        "TagQueueRequest.Tags": "Tag",
        "MessageAttributeValue.StringListValues": "StringListValue",
        "MessageAttributeValue.BinaryListValues": "BinaryListValue",
    },
    "shapes": {
        "AttributeNameList": {"member": "AttributeName"},
        "MessageAttributeNameList": {"member": "MessageAttributeName"},
        "MessageSystemAttributeList": {"member": "MessageSystemAttributeName"},
        "SendMessageBatchRequestEntryList": {"member": "SendMessageBatchRequestEntry"},
        "DeleteMessageBatchRequestEntryList": {"member": "DeleteMessageBatchRequestEntry"},
        "ChangeMessageVisibilityBatchRequestEntryList": {
            "member": "ChangeMessageVisibilityBatchRequestEntry"},
        "TagKeyList": {"member": "TagKey"},
        "AWSAccountIdList": {"member": "AWSAccountId"},
        "ActionNameList": {"member": "ActionName"},
        "StringList": {"member": "StringListValue"},
        "BinaryList": {"member": "BinaryListValue"},
        "QueueAttributeMap": {"key": "Name", "value": "Value"},
        "MessageBodyAttributeMap": {"key": "Name", "value": "Value"},
        "MessageBodySystemAttributeMap": {"key": "Name", "value": "Value"},
        "TagMap": {"key": "Key", "value": "Value"},
    },
}

NO_OVERLAYS = {"validation_order": {}, "enum_message_order": {}, "constraints": {}}

# Firehose: HttpEndpointUrl's pattern (https://.*) is not checked by the front: Sluice accepts
# http:// URLs on loopback for tests (issue 16), and the core refuses them anywhere else with
# InvalidArgumentException.
FIREHOSE_OVERLAYS = dict(NO_OVERLAYS, unchecked_patterns=["HttpEndpointUrl"])

# The services with a binding under src/api/<service>/: the C symbol of the table, the fewest
# operations the model must have (an older botocore lacks operations clients send), the overlays.
SERVICES = {
    "kinesis": {
        "symbol": "sl_kinesis_model",
        "expected_operations": 39,  # botocore 1.43.11
        "overlays": KINESIS_OVERLAYS,
        # Every pattern must translate exactly (AWS's messages for Kinesis were recorded).
        "strict_patterns": True,
    },
    "dynamodb": {
        "symbol": "sl_dynamodb_model",
        "expected_operations": 57,  # botocore 1.43.11
        "overlays": NO_OVERLAYS,
        "strict_patterns": False,
    },
    "lambda": {
        "symbol": "sl_lambda_model",
        # botocore 1.43.11; the binding serves the function operations (docs/functions.md)
        "expected_operations": 85,
        "overlays": NO_OVERLAYS,
        # Lambda's texts were not recorded: a pattern without an ERE translation is not checked.
        "strict_patterns": False,
    },
    # S3 (REST-XML): the object store's binding (api/s3/). The model routes every operation (so
    # a subresource Sluice does not implement is answered NotImplemented, not as another
    # operation) and types the members of the URI, query and headers; S3 has no validation
    # messages to reproduce.
    "s3": {
        "symbol": "sl_s3_model",
        "expected_operations": 111,  # botocore 1.43.11
        "overlays": NO_OVERLAYS,
        "strict_patterns": False,
    },
    # IAM (Query protocol): the users, access keys and inline user policies subset is served
    # (api/iam/); the rest of the model routes and validates the others, which answer
    # InternalFailure until they have a handler.
    "iam": {
        "symbol": "sl_iam_model",
        "expected_operations": 176,  # botocore 1.43.11
        "overlays": NO_OVERLAYS,
        "strict_patterns": False,
    },
    # CloudWatch (AWS JSON 1.0 and Query; the model lists Smithy RPC v2 CBOR first): the metrics
    # subset (PutMetricData, GetMetricStatistics, GetMetricData, ListMetrics) is served
    # (api/cloudwatch/, docs/observability.md); the other operations answer InternalFailure.
    "cloudwatch": {
        "symbol": "sl_cloudwatch_model",
        "expected_operations": 46,  # botocore 1.43.11
        "overlays": NO_OVERLAYS,
        "strict_patterns": False,
    },
    # Firehose (AWS JSON 1.1): every operation is served (api/firehose/, docs/firehose.md).
    "firehose": {
        "symbol": "sl_firehose_model",
        "expected_operations": 12,  # botocore 1.43.11
        "overlays": FIREHOSE_OVERLAYS,
        "strict_patterns": False,
    },
    # STS (Query protocol): GetCallerIdentity is served (api/sts/); the rest of the model routes
    # and validates the others, which answer InternalFailure until they have a handler.
    "sts": {
        "symbol": "sl_sts_model",
        "expected_operations": 11,  # botocore 1.43.11
        "overlays": NO_OVERLAYS,
        "strict_patterns": False,
    },
    # SQS (AWS JSON 1.0 for current SDKs, Query for older ones): the queue subset of docs/sqs.md
    # is served (api/sqs/); the other operations answer InternalFailure until they have a handler.
    "sqs": {
        "symbol": "sl_sqs_model",
        "expected_operations": 23,  # botocore 1.43.11
        "overlays": NO_OVERLAYS,
        "strict_patterns": False,
        # SQS checks attribute names itself (InvalidAttributeName, and ReceiveMessage's
        # AttributeNames takes message attribute names the enum lacks): no enum constraints.
        "check_enums": False,
        "query_names": SQS_QUERY_NAMES,
    },
    # Kinesis Data Analytics (AWS JSON 1.1): SQL applications (api/kinesisanalytics/).
    "kinesisanalytics": {
        "symbol": "sl_kinesisanalytics_model",
        "expected_operations": 20,  # botocore 1.43.11
        "overlays": NO_OVERLAYS,
        "strict_patterns": False,
    },
    # Kinesis Data Analytics v2 (AWS JSON 1.1): its SQL-1_0 applications, the binding beside v1's
    # (api/kinesisanalytics/v2.c).
    "kinesisanalyticsv2": {
        "symbol": "sl_kinesisanalyticsv2_model",
        "expected_operations": 33,  # botocore 1.43.11
        "overlays": NO_OVERLAYS,
        "strict_patterns": False,
    },
    # SNS (Query protocol): the topic subset of docs/sns.md (api/sns/).
    "sns": {
        "symbol": "sl_sns_model",
        "expected_operations": 42,  # botocore 1.43.11
        "overlays": NO_OVERLAYS,
        "strict_patterns": False,
    },
    # KMS (AWS JSON 1.1, TrentService): the keys, aliases and envelope-encryption subset is served
    # (api/kms/, docs/security.md "KMS"); the other operations route and validate and answer
    # UnsupportedOperationException.
    "kms": {
        "symbol": "sl_kms_model",
        "expected_operations": 54,  # botocore 1.43.11
        "overlays": NO_OVERLAYS,
        "strict_patterns": False,
    },
}

TYPE_ENUM = {
    "string": "SL_SHAPE_STRING",
    "integer": "SL_SHAPE_INTEGER",
    "long": "SL_SHAPE_LONG",
    "double": "SL_SHAPE_DOUBLE",
    "float": "SL_SHAPE_DOUBLE",
    "boolean": "SL_SHAPE_BOOLEAN",
    "blob": "SL_SHAPE_BLOB",
    "timestamp": "SL_SHAPE_TIMESTAMP",
    "list": "SL_SHAPE_LIST",
    "map": "SL_SHAPE_MAP",
    "structure": "SL_SHAPE_STRUCTURE",
}


# The model's member locations (REST protocols) and their sl_member_location_t.
LOCATION_ENUM = {
    "uri": "SL_LOC_URI",
    "querystring": "SL_LOC_QUERY",
    "header": "SL_LOC_HEADER",
    "headers": "SL_LOC_HEADERS",
    "statusCode": "SL_LOC_STATUS_CODE",
}


def fail(msg):
    sys.stderr.write("gen_model.py: error: " + msg + "\n")
    sys.exit(2)


class UnsupportedPattern(Exception):
    """A model pattern that has no exact POSIX ERE translation (e.g. \\p{Print}, code points
    beyond ASCII): fatal for a service with strict_patterns, else the pattern is not checked."""


def service_config(service):
    if service in SERVICES:
        return SERVICES[service]
    return {"symbol": "sl_%s_model" % c_name(service), "expected_operations": 0,
            "overlays": NO_OVERLAYS, "strict_patterns": False}


def c_name(service):
    return "".join(ch if ch.isalnum() else "_" for ch in service)


def output_path(service):
    return os.path.join(ROOT, "src", "api", c_name(service), "model.c")


def load_model(service):
    try:
        import botocore
        import botocore.exceptions
        import botocore.loaders
    except ImportError as e:
        fail("botocore is not importable with %s (%s); install botocore >= 1.43.11 for this "
             "interpreter" % (sys.executable, e))
    try:
        model = botocore.loaders.Loader().load_service_model(service, "service-2")
    except botocore.exceptions.UnknownServiceError:
        fail("botocore %s has no service named %r" % (botocore.__version__, service))
    query_names = service_config(service).get("query_names")
    if query_names:
        apply_query_names(model, query_names)
    n = len(model["operations"])
    expected = service_config(service)["expected_operations"]
    if n < expected:
        fail("botocore %s at %s has a %d-operation %s model; the %d-operation model "
             "(botocore >= 1.43.11) is required" % (botocore.__version__,
                                                    os.path.dirname(botocore.__file__), n,
                                                    service, expected))
    return model


def apply_query_names(model, names):
    """Gives a JSON model the Query protocol's serialization names that its older Query model had
    (SQS moved to JSON and dropped them; older clients still send `Attribute.1.Name`): the model
    then speaks Query too, and the members, list elements and map keys/values get their names."""
    meta = model["metadata"]
    meta["protocols"] = list(meta.get("protocols", [meta["protocol"]])) + ["query"]
    shapes = model["shapes"]
    for ref, name in names["members"].items():
        sname, mname = ref.split(".")
        if mname not in shapes[sname]["members"]:
            fail("overlay query_names names unknown member %s" % ref)
        shapes[sname]["members"][mname]["locationName"] = name
    for sname, parts in names["shapes"].items():
        if sname not in shapes:
            fail("overlay query_names names unknown shape %s" % sname)
        for part, name in parts.items():
            shapes[sname][part]["locationName"] = name


def java_regex_to_ere(pattern):
    """Translate the subset of Java regex syntax used by AWS models into an anchored POSIX ERE
    that matches the whole string (Java's Matcher.matches()). Fails on anything unknown so a new
    model cannot silently get a wrong pattern."""
    out = []
    i = 0
    in_bracket = False
    p = pattern
    if p.startswith("^"):
        p = p[1:]
    if p.endswith("$") and not p.endswith("\\$"):
        p = p[:-1]
    while i < len(p):
        c = p[i]
        if c == "\\":
            if i + 1 >= len(p):
                raise UnsupportedPattern("dangling backslash in pattern %r" % pattern)
            e = p[i + 1]
            i += 2
            if e in "xu":
                # \xHH and \uHHHH: a code point; ASCII ones become the literal character.
                digits = 2 if e == "x" else 4
                hexa = p[i:i + digits]
                if len(hexa) != digits or any(h not in "0123456789abcdefABCDEF" for h in hexa):
                    raise UnsupportedPattern("bad \\%s escape in pattern %r" % (e, pattern))
                i += digits
                out.append(ere_literal(chr(int(hexa, 16)), in_bracket, pattern))
                continue
            if in_bracket:
                # "\-" is a literal '-': marked (DASH) so that bracket_end does not read a range
                table = {"d": "0-9", "w": "A-Za-z0-9_", "s": "[:space:]", "-": DASH, "/": "/",
                         ".": ".", "_": "_"}
            else:
                table = {"d": "[0-9]", "D": "[^0-9]", "w": "[A-Za-z0-9_]", "W": "[^A-Za-z0-9_]",
                         "s": "[[:space:]]", "S": "[^[:space:]]", "/": "/", ".": "\\.",
                         "-": "-", "_": "_", ":": ":", "+": "\\+", "*": "\\*", "?": "\\?",
                         "(": "\\(", ")": "\\)", "[": "\\[", "]": "\\]", "{": "\\{", "}": "\\}",
                         "|": "\\|", "^": "\\^", "$": "\\$"}
            if e not in table:
                raise UnsupportedPattern("unsupported escape \\%s in pattern %r" % (e, pattern))
            out.append(table[e])
            continue
        if in_bracket:
            if c == "]":
                in_bracket = False
                out.append(bracket_end(out, bracket_start))
                i += 1
                continue
            elif c == "[":
                raise UnsupportedPattern("nested bracket in pattern %r" % pattern)
            out.append(c)
        else:
            if c == "(" and p[i + 1:i + 2] == "?":
                # lookarounds and inline flags have no POSIX form
                raise UnsupportedPattern("(?...) group in pattern %r" % pattern)
            if c == "[":
                in_bracket = True
                out.append(c)
                if i + 1 < len(p) and p[i + 1] == "^":
                    out.append("^")
                    i += 1
                bracket_start = len(out)
            elif c == ".":
                # Java's '.' does not match line terminators; POSIX '.' would.
                out.append("[^\n\r]")
            else:
                out.append(c)
        i += 1
    if in_bracket:
        raise UnsupportedPattern("unterminated bracket in pattern %r" % pattern)
    return "^(" + "".join(out) + ")$"


DASH = "\x01"  # an escaped '-' inside a bracket, until bracket_end places it


def bracket_end(out, start):
    """Closes the bracket expression whose elements are out[start:] (removed from out): Java reads
    a '-' that cannot end a range ("[0-9-_]", "[-a]", "[a-]") as a literal, POSIX only at the end
    of the bracket, so such a '-' moves there. Returns the rewritten elements and the ']'."""
    text = "".join(out[start:])
    del out[start:]
    items, literal_dash, i = [], False, 0
    while i < len(text):
        if text.startswith("[:", i):
            end = text.index(":]", i) + 2
            items.append(text[i:end])
            i = end
        elif i + 2 < len(text) and text[i + 1] == "-" and text[i] not in ("-", DASH) \
                and text[i + 2] != DASH:
            items.append(text[i:i + 3])
            i += 3
        elif text[i] in ("-", DASH):
            literal_dash = True
            i += 1
        else:
            items.append(text[i])
            i += 1
    return "".join(items) + ("-" if literal_dash else "") + "]"


def ere_literal(ch, in_bracket, pattern):
    """A character as a literal of a POSIX ERE (inside a bracket expression or not)."""
    if ord(ch) >= 0x80:
        # Bytes of a multi-byte character are not one bracket element in a POSIX ERE.
        raise UnsupportedPattern("non-ASCII code point U+%04X in pattern %r" % (ord(ch), pattern))
    if in_bracket:
        if ch in "]^-\\[":
            raise UnsupportedPattern("character %r in a bracket of pattern %r" % (ch, pattern))
        return ch
    return "\\" + ch if ch in ".[]()*+?{}|^$\\" else ch


def c_str(s):
    """A C string literal for s (ASCII output; other bytes as octal escapes)."""
    res = ['"']
    for b in s.encode("utf-8"):
        ch = chr(b)
        if ch == "\\":
            res.append("\\\\")
        elif ch == '"':
            res.append('\\"')
        elif ch == "\n":
            res.append("\\n")
        elif ch == "\r":
            res.append("\\r")
        elif ch == "\t":
            res.append("\\t")
        elif ch == "?":
            res.append("\\?")  # no trigraphs
        elif 0x20 <= b < 0x7F:
            res.append(ch)
        else:
            res.append("\\%03o" % b)
    res.append('"')
    return "".join(res)


def java_package(model):
    """AWS's Java package of the model classes, as printed in validation messages
    (e.g. com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310)."""
    meta = model["metadata"]
    return "com.amazonaws.%s.v%s" % (meta["endpointPrefix"], meta["apiVersion"].replace("-", ""))


def c_ident(shape_name):
    return "shape_" + "".join(ch if ch.isalnum() else "_" for ch in shape_name)


def reachable_shapes(model):
    shapes = model["shapes"]
    seen = []
    seen_set = set()

    def visit(name):
        if name in seen_set:
            return
        seen_set.add(name)
        seen.append(name)
        s = shapes[name]
        t = s["type"]
        if t == "structure":
            for m in s.get("members", {}).values():
                visit(m["shape"])
        elif t == "list":
            visit(s["member"]["shape"])
        elif t == "map":
            visit(s["key"]["shape"])
            visit(s["value"]["shape"])

    for op in model["operations"].values():
        if "input" in op:
            visit(op["input"]["shape"])
        if "output" in op:
            visit(op["output"]["shape"])
    return sorted(seen)


def check_overlays(model, overlays):
    shapes = model["shapes"]
    for sname, order in overlays["validation_order"].items():
        if sname not in shapes or shapes[sname]["type"] != "structure":
            fail("overlay validation_order names unknown structure %s" % sname)
        members = shapes[sname].get("members", {})
        for m in order:
            if m not in members:
                fail("overlay validation_order: %s has no member %s" % (sname, m))
        if len(set(order)) != len(order):
            fail("overlay validation_order: duplicate member in %s" % sname)
    for sname, values in overlays["enum_message_order"].items():
        if sname not in shapes or "enum" not in shapes[sname]:
            fail("overlay enum_message_order names unknown enum %s" % sname)
        if sorted(values) != sorted(shapes[sname]["enum"]):
            fail("overlay enum_message_order for %s does not list exactly the model's values %r"
                 % (sname, shapes[sname]["enum"]))
    for sname in overlays["constraints"]:
        if sname not in shapes:
            fail("overlay constraints names unknown shape %s" % sname)


def error_status(shape):
    status = shape.get("error", {}).get("httpStatusCode")
    if status is None:
        status = 500 if shape.get("fault") else 400
    return int(status)


def generate(service, model):
    import botocore

    config = service_config(service)
    overlays = config["overlays"]
    check_overlays(model, overlays)
    shapes = model["shapes"]
    meta = model["metadata"]
    names = reachable_shapes(model)
    unchecked = []  # shapes whose pattern has no ERE translation
    lines = []
    w = lines.append
    w("/* GENERATED by tools/gen_model.py from the botocore %s %s model (%d operations). */"
      % (botocore.__version__, meta.get("serviceId", service), len(model["operations"])))
    w("/* Do not edit: change tools/gen_model.py (its SERVICES table holds the hand-written facts)")
    w(" * and regenerate. The CTest test tools.gen_model_check fails when this file is out of date.")
    w(" * The table is what src/front/ walks: members are in model order, check_order gives the")
    w(" * order AWS validates them in, pattern is the model's Java regex (used in messages) and")
    w(" * pattern_ere its anchored POSIX translation (used for matching). */")
    header_end = len(lines)
    w('#include "front/model.h"')
    w("")
    w("/* Forward declarations: shapes refer to each other by address. */")
    for n in names:
        w("static const sl_shape_t %s;" % c_ident(n))
    w("")

    speaks_query = "query" in meta.get("protocols", [meta["protocol"]])
    for n in names:
        s = shapes[n]
        t = s["type"]
        ident = c_ident(n)
        cons = dict(overlays["constraints"].get(n, {}))
        mn = cons.get("min", s.get("min"))
        mx = cons.get("max", s.get("max"))
        fields = []
        fields.append(".name = %s" % c_str(n))
        fields.append(".type = %s" % TYPE_ENUM[t])
        if t in ("double", "float"):
            mn = mx = None  # fractional bounds: not carried (sl_shape_t holds integers)
        if mn is not None:
            fields.append(".has_min = true")
            fields.append(".min = %dLL" % int(mn))
        if mx is not None:
            fields.append(".has_max = true")
            fields.append(".max = %dLL" % int(mx))
        if "pattern" in s and n in overlays.get("unchecked_patterns", ()):
            fields.append(".pattern = %s" % c_str(s["pattern"]))
            unchecked.append(n)
        elif "pattern" in s:
            fields.append(".pattern = %s" % c_str(s["pattern"]))
            try:
                fields.append(".pattern_ere = %s" % c_str(java_regex_to_ere(s["pattern"])))
            except UnsupportedPattern as e:
                if config["strict_patterns"]:
                    fail(str(e))
                unchecked.append(n)
        if "enum" in s and config.get("check_enums", True):
            w("static const char *const %s_enum[] = {%s};"
              % (ident, ", ".join(c_str(v) for v in s["enum"])))
            fields.append(".enum_values = %s_enum" % ident)
            fields.append(".enum_count = %d" % len(s["enum"]))
            shown = overlays["enum_message_order"].get(n, s["enum"])
            fields.append(".enum_text = %s" % c_str("[" + ", ".join(shown) + "]"))
        if t == "structure":
            members = list(s.get("members", {}).items())
            required = set(s.get("required", []))
            for r in required:
                if r not in s.get("members", {}):
                    fail("%s requires unknown member %s" % (n, r))
            if members:
                w("static const sl_member_t %s_members[] = {" % ident)
                for mname, m in members:
                    loc = ", SL_LOC_BODY, NULL"
                    if "location" not in m and "locationName" in m and speaks_query:
                        # The Query protocol's parameter name for this member (SQS: Attribute).
                        loc = ", SL_LOC_BODY, %s" % c_str(m["locationName"])
                    if "location" in m:
                        if m["location"] not in LOCATION_ENUM:
                            fail("%s.%s: unknown location %r" % (n, mname, m["location"]))
                        loc = ", %s, %s" % (LOCATION_ENUM[m["location"]],
                                            c_str(m.get("locationName", mname)))
                    w("    {%s, &%s, %s%s}," % (c_str(mname), c_ident(m["shape"]),
                                               "true" if mname in required else "false", loc))
                w("};")
                order_names = list(overlays["validation_order"].get(n, []))
                order_names += [m for m, _ in members if m not in order_names]
                index = {m: i for i, (m, _) in enumerate(members)}
                if len(members) > 255:
                    fail("%s has more than 255 members" % n)
                w("static const uint8_t %s_order[] = {%s};"
                  % (ident, ", ".join(str(index[m]) for m in order_names)))
                fields.append(".members = %s_members" % ident)
                fields.append(".member_count = %d" % len(members))
                fields.append(".check_order = %s_order" % ident)
            fields.append(".java_class = %s" % c_str(java_package(model) + "." + n))
            if s.get("eventstream"):
                fields.append(".eventstream = true")
            if "payload" in s:
                fields.append(".payload = %s" % c_str(s["payload"]))
        elif t == "list":
            fields.append(".member = &%s" % c_ident(s["member"]["shape"]))
        elif t == "map":
            fields.append(".key = &%s" % c_ident(s["key"]["shape"]))
            fields.append(".value = &%s" % c_ident(s["value"]["shape"]))
        if t in ("list", "map") and speaks_query:
            # Query protocol serialization: flattened lists and maps, element names.
            if s.get("flattened"):
                fields.append(".flattened = true")
            for part, field in (("member", "member_name"), ("key", "key_name"),
                                ("value", "value_name")):
                if part in s and "locationName" in s[part]:
                    fields.append(".%s = %s" % (field, c_str(s[part]["locationName"])))
        w("static const sl_shape_t %s = {" % ident)
        for f in fields:
            w("    %s," % f)
        w("};")
        w("")

    w("static const sl_op_t ops[] = {")
    for opname in sorted(model["operations"]):
        op = model["operations"][opname]
        inp = "&" + c_ident(op["input"]["shape"]) if "input" in op else "NULL"
        out = "&" + c_ident(op["output"]["shape"]) if "output" in op else "NULL"
        http = op.get("http", {})
        w("    {%s, %s, %s, %s, %s, %d}," % (c_str(opname), inp, out,
                                           c_str(http.get("method", "POST")),
                                           c_str(http.get("requestUri", "/")),
                                           int(http.get("responseCode", 0))))
    w("};")
    w("")
    errors = sorted(n for n, s in shapes.items() if s.get("exception"))
    w("static const sl_model_error_t errors[] = {")
    for n in errors:
        w("    {%s, %d}," % (c_str(n), error_status(shapes[n])))
    w("};")
    w("")

    def opt_str(key):
        return c_str(meta[key]) if key in meta else "NULL"

    if unchecked:
        note = ["/* Patterns with no POSIX ERE translation, not checked (their messages still",
                " * name them): %s. */" % ", ".join(unchecked)]
        lines[header_end:header_end] = note
    w("const sl_service_model_t %s = {" % config["symbol"])
    w("    .service = %s," % c_str(service))
    w("    .target_prefix = %s," % opt_str("targetPrefix"))
    w("    .signing_name = %s," % c_str(meta.get("signingName", meta["endpointPrefix"])))
    w("    .protocol = %s," % c_str(meta["protocol"]))
    w("    .json_version = %s," % opt_str("jsonVersion"))
    w("    .ops = ops,")
    w("    .op_count = %d," % len(model["operations"]))
    w("    .errors = errors,")
    w("    .error_count = %d," % len(errors))
    w("};")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("services", nargs="*", metavar="SERVICE",
                    help="botocore service names (default: %s)" % ", ".join(sorted(SERVICES)))
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if a committed model.c is not what this script generates")
    ap.add_argument("--stdout", action="store_true", help="print instead of writing")
    args = ap.parse_args()
    services = args.services or sorted(SERVICES)
    if args.stdout and len(services) != 1:
        fail("--stdout takes exactly one service")
    rc = 0
    for service in services:
        rc = max(rc, one(service, args))
    return rc


def one(service, args):
    text = generate(service, load_model(service))
    output = output_path(service)
    if args.stdout:
        sys.stdout.write(text)
        return 0
    if args.check:
        try:
            with open(output, encoding="utf-8") as f:
                current = f.read()
        except OSError as e:
            sys.stderr.write("gen_model.py --check: cannot read %s: %s\n" % (output, e))
            return 1
        if current != text:
            diff = difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                        "committed/" + os.path.relpath(output, ROOT),
                                        "generated/" + os.path.relpath(output, ROOT), n=1)
            sys.stderr.writelines(list(diff)[:200])
            sys.stderr.write("gen_model.py --check: %s is out of date; run tools/gen_model.py\n"
                             % output)
            return 1
        print("gen_model.py --check: %s is up to date" % os.path.relpath(output, ROOT))
        return 0
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote %s" % output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
