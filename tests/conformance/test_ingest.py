"""The HTTP ingest front (POST /ingest/{stream}, /batch) with curl, as a device or a webhook would
call it: a record lands with its partition key (header, query parameter, JSON pointer, random),
a batch lands line by line, a wrong or missing API key is refused (403), a key may only write the
streams its pattern allows, the per-key rate limit answers 429, the key file is re-read when it
changes, and without --ingest-keys the routes do not exist."""
import json
import subprocess

from helpers import client_for, create_stream_and_wait, read_all_shards, unique_name, wait_until


def curl(url, data, *headers):
    cmd = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", "--data-binary", data]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=30, check=True)
    body, _, status = out.stdout.rpartition("\n")
    try:
        return int(status), json.loads(body)
    except ValueError:
        return int(status), body


def ingest_server(make_server, tmp_path, keys):
    path = tmp_path / "keys"
    path.write_text(keys)
    return make_server(extra_args=["--ingest-keys", str(path)]), path


def records(srv, name):
    kinesis = client_for(srv)
    return [(r["PartitionKey"], r["Data"].decode())
            for shard in read_all_shards(kinesis, name).values() for r in shard]


def test_single_and_batch_records_land_with_their_keys(make_server, tmp_path):
    srv, _ = ingest_server(make_server, tmp_path, "# key pattern rate\ndevkey *-dev-* 0\n")
    name = unique_name("dev")
    create_stream_and_wait(client_for(srv), name, shards=2)
    url = "%s/ingest/%s" % (srv.endpoint, name)
    status, body = curl(url, "hello", "x-api-key: devkey", "x-partition-key: sensor-1")
    assert status == 200 and body["shardId"].startswith("shardId-") and body["sequenceNumber"]
    status, body = curl(url + "?partitionKey=from-query", "q", "x-api-key: devkey")
    assert status == 200
    status, body = curl(url + "?partitionKeyPointer=/device/id", '{"device":{"id":"d-7"}}',
                        "x-api-key: devkey")
    assert status == 200
    status, body = curl(url + "/batch", "one\ntwo\r\n\nthree\n", "x-api-key: devkey",
                        "x-partition-key: batch")
    assert status == 200 and body["failedRecordCount"] == 0 and len(body["records"]) == 3
    status, _ = curl(url, "no key given", "x-api-key: devkey")
    assert status == 200
    # A webhook retried with the same Idempotency-Key is stored once, with the first answer.
    first = curl(url, "delivery 42", "x-api-key: devkey", "Idempotency-Key: delivery-42")
    again = curl(url, "delivery 42", "x-api-key: devkey", "Idempotency-Key: delivery-42")
    assert first[0] == 200 and again == first
    got = records(srv, name)
    assert ("sensor-1", "hello") in got and ("from-query", "q") in got
    assert ("d-7", '{"device":{"id":"d-7"}}') in got
    assert [d for k, d in got if k == "batch"] == ["one", "two", "three"]
    assert [k for k, d in got if d == "no key given"][0]  # a random key
    assert [d for k, d in got].count("delivery 42") == 1


def test_keys_patterns_rate_limit_and_reload(make_server, tmp_path):
    srv, path = ingest_server(make_server, tmp_path, "limited * 3\nnarrow only-this 0\nany * 0\n")
    name = unique_name("ing")
    create_stream_and_wait(client_for(srv), name)
    url = "%s/ingest/%s" % (srv.endpoint, name)
    assert curl(url, "x")[0] == 403
    assert curl(url, "x", "x-api-key: wrong")[0] == 403
    assert curl(url, "x", "x-api-key: narrow")[0] == 403
    assert curl(srv.endpoint + "/ingest/" + unique_name("none"), "x",
                "x-api-key: any")[0] == 404
    # 3 records/s: a 3-record batch passes, the next record does not.
    assert curl(url + "/batch", "a\nb\nc", "x-api-key: limited")[0] == 200
    status, body = curl(url, "d", "x-api-key: limited")
    assert status == 429 and body["message"] == "Too Many Requests"
    # A new key in the file is accepted once the file is re-read.
    path.write_text("limited * 3\nnarrow only-this 0\nany * 0\nfresh * 0\n")
    wait_until(lambda: curl(url, "e", "x-api-key: fresh")[0] == 200, timeout=10,
               what="the new key to be accepted")


def test_no_ingest_routes_without_the_option(server):
    # The routes do not exist: 404, not the Kinesis endpoint's 403 for an unknown path.
    for path in ("/ingest/anything", "/ingest/anything/batch"):
        status, body = curl(server.endpoint + path, "x", "x-api-key: k")
        assert status == 404 and body["message"] == "Not Found", (path, status, body)
