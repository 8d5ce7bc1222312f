"""Conformance: stream tags — AddTagsToStream, ListTagsForStream (pagination),
RemoveTagsFromStream, and TagResource / UntagResource / ListTagsForResource on
stream ARNs. Texts and limits from spec 2 and 4 (kinesalite's tests, observed AWS).
"""

import re

import pytest

from helpers import ACCOUNT, assert_error, assert_validation, stream_arn, unique_name

INVALID_CHARS = ("Some tags contain invalid characters. Valid characters: "
                 "Unicode letters, digits, white space, _ . / = + - % @.")


def tags_of(kinesis, name):
    return {t["Key"]: t.get("Value") for t in kinesis.list_tags_for_stream(StreamName=name)["Tags"]}


def test_add_list_remove(kinesis, stream):
    resp = kinesis.add_tags_to_stream(StreamName=stream, Tags={
        "a": "a", "\u00fc0 _.": "a", "/=+-@": "a", "b": "\u00fc0 _./=+-@", "c": ""})
    assert set(resp) == {"ResponseMetadata"}
    assert tags_of(kinesis, stream) == {"a": "a", "\u00fc0 _.": "a", "/=+-@": "a", "b": "\u00fc0 _./=+-@", "c": ""}
    # Upsert.
    kinesis.add_tags_to_stream(StreamName=stream, Tags={"a": "b"})
    assert tags_of(kinesis, stream)["a"] == "b"
    # Unknown keys are ignored on removal.
    kinesis.remove_tags_from_stream(StreamName=stream, TagKeys=["a", "b", "does-not-exist"])
    assert tags_of(kinesis, stream) == {"\u00fc0 _.": "a", "/=+-@": "a", "c": ""}


def test_list_tags_sorted_and_paginated(kinesis, stream):
    kinesis.add_tags_to_stream(StreamName=stream, Tags={k: k.upper() for k in "edcba"})
    resp = kinesis.list_tags_for_stream(StreamName=stream)
    assert [t["Key"] for t in resp["Tags"]] == list("abcde")
    assert resp["HasMoreTags"] is False
    resp = kinesis.list_tags_for_stream(StreamName=stream, Limit=2)
    assert resp["Tags"] == [{"Key": "a", "Value": "A"}, {"Key": "b", "Value": "B"}]
    assert resp["HasMoreTags"] is True
    resp = kinesis.list_tags_for_stream(StreamName=stream, Limit=2, ExclusiveStartTagKey="b")
    assert [t["Key"] for t in resp["Tags"]] == ["c", "d"]
    assert resp["HasMoreTags"] is True
    resp = kinesis.list_tags_for_stream(StreamName=stream, Limit=2, ExclusiveStartTagKey="d")
    assert [t["Key"] for t in resp["Tags"]] == ["e"]
    assert resp["HasMoreTags"] is False
    resp = kinesis.list_tags_for_stream(StreamName=stream, ExclusiveStartTagKey="e")
    assert resp["Tags"] == []
    assert resp["HasMoreTags"] is False


def test_list_tags_empty(kinesis, stream):
    resp = kinesis.list_tags_for_stream(StreamName=stream)
    assert resp["Tags"] == []
    assert resp["HasMoreTags"] is False


def test_list_tags_limit_validation(kinesis_nv, stream):
    assert_validation(lambda: kinesis_nv.list_tags_for_stream(StreamName=stream, Limit=0),
                      [(0, "limit", "Member must have value greater than or equal to 1")])
    assert_validation(lambda: kinesis_nv.list_tags_for_stream(StreamName=stream, Limit=51),
                      [(51, "limit", "Member must have value less than or equal to 50")])


def test_fifty_tags_then_limit(kinesis, stream):
    for start in range(0, 50, 10):
        kinesis.add_tags_to_stream(StreamName=stream, Tags={"k%02d" % i: "v" for i in range(start, start + 10)})
    assert len(tags_of(kinesis, stream)) == 50
    # Overwriting existing keys does not count as new tags.
    kinesis.add_tags_to_stream(StreamName=stream, Tags={"k00": "new"})
    # Spec 4 AddTagsToStream: 50 per stream are accepted, yet the over-limit text says 10
    # (observed AWS via kinesalite).
    assert_error(lambda: kinesis.add_tags_to_stream(StreamName=stream, Tags={"one-more": "x"}),
                 "InvalidArgumentException",
                 "Failed to add tags to stream %s under account %s because a given stream cannot have more "
                 "than 10 tags associated with it." % (stream, ACCOUNT))
    assert len(tags_of(kinesis, stream)) == 50


@pytest.mark.parametrize("bad", ["abc;def", "abc\tdef", "abc\ndef", "abc,def"])
def test_invalid_characters_in_key(kinesis, stream, bad):
    assert_error(lambda: kinesis.add_tags_to_stream(StreamName=stream, Tags={bad: "1"}),
                 "InvalidArgumentException", INVALID_CHARS)


@pytest.mark.parametrize("bad", ["abc;def", "abc\tdef", "abc\ndef", "abc,def"])
def test_invalid_characters_in_value(kinesis, stream, bad):
    assert_error(lambda: kinesis.add_tags_to_stream(StreamName=stream, Tags={"a": bad}),
                 "InvalidArgumentException", INVALID_CHARS)
    assert tags_of(kinesis, stream) == {}


def test_aws_prefix_rejected(kinesis, stream):
    # Spec 4: keys must not start with "aws:"; AWS's text was not captured.
    assert_error(lambda: kinesis.add_tags_to_stream(StreamName=stream, Tags={"aws:x": "1"}),
                 "InvalidArgumentException")


def test_long_tag_key(kinesis):
    key = "k" * 129
    assert_error(lambda: kinesis.add_tags_to_stream(StreamName=unique_name(), Tags={"a": "1", key: "3"}),
                 "ValidationException",
                 re.compile(r"1 validation error detected: Value '\{[a1, =]*" + key + r"=3[a1, =]*\}' at 'tags' "
                            r"failed to satisfy constraint: Map keys must satisfy constraint: \[Member must have "
                            r"length less than or equal to 128, Member must have length greater than or equal to 1\]"))


def test_long_tag_value(kinesis):
    value = "v" * 257
    assert_error(lambda: kinesis.add_tags_to_stream(StreamName=unique_name(), Tags={"a": "1", "c": value}),
                 "ValidationException",
                 re.compile(r"1 validation error detected: Value '\{[a1, =]*c=" + value + r"[a1, =]*\}' at 'tags' "
                            r"failed to satisfy constraint: Map value must satisfy constraint: \[Member must have "
                            r"length less than or equal to 256, Member must have length greater than or equal to 0\]"))


def test_tag_validation(kinesis_nv):
    assert_validation(lambda: kinesis_nv.add_tags_to_stream(StreamName="s"),
                      [(None, "tags", "Member must not be null")])
    assert_validation(lambda: kinesis_nv.add_tags_to_stream(StreamName="s", Tags={}),
                      [("{}", "tags", "Member must have length greater than or equal to 1")])
    assert_validation(lambda: kinesis_nv.remove_tags_from_stream(StreamName="s"),
                      [(None, "tagKeys", "Member must not be null")])
    keys = ["k%d" % i for i in range(51)]
    assert_validation(lambda: kinesis_nv.remove_tags_from_stream(StreamName="s", TagKeys=keys),
                      [("[" + ", ".join(keys) + "]", "tagKeys", "Member must have length less than or equal to 50")])


def test_tags_stream_not_found(kinesis):
    name = unique_name()
    msg = "Stream %s under account %s not found." % (name, ACCOUNT)
    assert_error(lambda: kinesis.add_tags_to_stream(StreamName=name, Tags={"a": "b"}),
                 "ResourceNotFoundException", msg)
    assert_error(lambda: kinesis.list_tags_for_stream(StreamName=name), "ResourceNotFoundException", msg)
    assert_error(lambda: kinesis.remove_tags_from_stream(StreamName=name, TagKeys=["a"]),
                 "ResourceNotFoundException", msg)


def test_tag_resource_on_stream_arn(kinesis, stream):
    arn = stream_arn(stream)
    assert set(kinesis.tag_resource(ResourceARN=arn, Tags={"x": "1", "y": "2"})) == {"ResponseMetadata"}
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "x", "Value": "1"}, {"Key": "y", "Value": "2"}]
    # Same tag set as the stream API.
    assert tags_of(kinesis, stream) == {"x": "1", "y": "2"}
    kinesis.add_tags_to_stream(StreamName=stream, Tags={"z": "3"})
    assert {t["Key"] for t in kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]} == {"x", "y", "z"}
    kinesis.untag_resource(ResourceARN=arn, TagKeys=["x", "z", "nope"])
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "y", "Value": "2"}]


def test_list_tags_for_resource_empty(kinesis, stream):
    assert kinesis.list_tags_for_resource(ResourceARN=stream_arn(stream)).get("Tags", []) == []


def test_tag_resource_not_found(kinesis):
    arn = stream_arn(unique_name())
    assert_error(lambda: kinesis.tag_resource(ResourceARN=arn, Tags={"a": "b"}), "ResourceNotFoundException")
    assert_error(lambda: kinesis.list_tags_for_resource(ResourceARN=arn), "ResourceNotFoundException")
    assert_error(lambda: kinesis.untag_resource(ResourceARN=arn, TagKeys=["a"]), "ResourceNotFoundException")


def test_tag_resource_invalid_arn(kinesis):
    bad = "arn:aws:s3:::bucket"
    assert_validation(lambda: kinesis.list_tags_for_resource(ResourceARN=bad),
                      [(bad, "resourceARN",
                        "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:.*stream/\\S+")])


def test_tag_resource_invalid_characters(kinesis, stream):
    assert_error(lambda: kinesis.tag_resource(ResourceARN=stream_arn(stream), Tags={"a;b": "1"}),
                 "InvalidArgumentException")
