"""What a data directory holds, as seen through the API: every stream's description, shards, tags,
consumers and every record with its SequenceNumber, plus the account's limits and settings.

Used by tests/fixtures/datadir-v1/generate.py (run once with an older binary to record the
expected read-back) and by test_old_datadir.py (which reads the same directory with the current
binary and compares). Only what a client can see and what must not change across versions is
kept: MillisBehindLatest and open-shard counts that depend on the clock are left out.
"""
import base64
import datetime


def _plain(value):
    """Datetimes as integer epoch milliseconds, recursively (stable text for JSON)."""
    if isinstance(value, datetime.datetime):
        return _ts(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _ts(value):
    """A boto3 timestamp as integer epoch milliseconds (stable text for JSON)."""
    return int(round(value.timestamp() * 1000))


def _strip(resp):
    resp = dict(resp)
    resp.pop("ResponseMetadata", None)
    return resp


def _records(client, stream, shard_id):
    """Every record of a shard from TRIM_HORIZON to the shard's end (or the tip of an open one)."""
    it = client.get_shard_iterator(StreamName=stream, ShardId=shard_id,
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    out, child_shards = [], None
    for _ in range(1000):
        resp = client.get_records(ShardIterator=it, Limit=10000)
        for r in resp["Records"]:
            out.append({
                "SequenceNumber": r["SequenceNumber"],
                "PartitionKey": r["PartitionKey"],
                "Data": base64.b64encode(r["Data"]).decode(),
                "ApproximateArrivalTimestamp": _ts(r["ApproximateArrivalTimestamp"]),
                "EncryptionType": r.get("EncryptionType"),
            })
        if "ChildShards" in resp:
            child_shards = resp["ChildShards"]
        it = resp.get("NextShardIterator")
        if not it or (not resp["Records"] and resp.get("MillisBehindLatest", 0) == 0):
            break
    return {"records": out, "child_shards": child_shards}


def _stream(client, name):
    desc = _strip(client.describe_stream(StreamName=name))["StreamDescription"]
    desc["StreamCreationTimestamp"] = _ts(desc["StreamCreationTimestamp"])
    summary = _strip(client.describe_stream_summary(StreamName=name))["StreamDescriptionSummary"]
    summary["StreamCreationTimestamp"] = _ts(summary["StreamCreationTimestamp"])
    consumers = client.list_stream_consumers(StreamARN=desc["StreamARN"])["Consumers"]
    for c in consumers:
        c["ConsumerCreationTimestamp"] = _ts(c["ConsumerCreationTimestamp"])
    tags = client.list_tags_for_stream(StreamName=name)["Tags"]
    shards = client.list_shards(StreamName=name)["Shards"]
    return {
        "describe_stream": desc,
        "describe_stream_summary": summary,
        "list_shards": shards,
        "tags": tags,
        "consumers": consumers,
        "shards": {s["ShardId"]: _records(client, name, s["ShardId"]) for s in shards},
    }


def snapshot(client):
    names = client.list_streams()["StreamNames"]
    limits = _strip(client.describe_limits())
    settings = _strip(client.describe_account_settings())
    return _plain({
        "stream_names": names,
        "limits": {"ShardLimit": limits["ShardLimit"], "OnDemandStreamCountLimit": limits["OnDemandStreamCountLimit"]},
        "account_settings": settings,
        "streams": {n: _stream(client, n) for n in names},
    })
