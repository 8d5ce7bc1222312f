"""Sluice's idempotent puts (x-sluice-idempotency-key, a header AWS ignores): a PutRecords or
PutRecord retried with the same key on the same stream gets the first answer (same shards and
sequence numbers) and stores nothing more; a different key, another stream or no key appends
again; a key reused for a request of another size is refused; concurrent retries of one key
store once; a malformed key is refused."""
import concurrent.futures

from helpers import (b64, client_for, create_stream_and_wait, raw_request, read_all_shards,
                     unique_name)


def put_records(server, stream, datas, key=None):
    body = {"StreamName": stream,
            "Records": [{"Data": b64(d), "PartitionKey": "pk%d" % i} for i, d in enumerate(datas)]}
    headers = {"x-sluice-idempotency-key": key} if key is not None else None
    resp = raw_request(server, "Kinesis_20131202.PutRecords", body, headers=headers)
    return resp.status, resp.json()


def stored(server, stream):
    kinesis = client_for(server)
    return sorted(r["Data"] for recs in read_all_shards(kinesis, stream).values() for r in recs)


def test_a_retried_put_records_returns_the_first_answer_and_stores_once(server):
    kinesis = client_for(server)
    name = unique_name("idem")
    create_stream_and_wait(kinesis, name, shards=3)
    datas = [b"rec-%d" % i for i in range(20)]
    status, first = put_records(server, name, datas, key="batch-0001")
    assert status == 200 and first["FailedRecordCount"] == 0
    for _ in range(3):
        status, again = put_records(server, name, datas, key="batch-0001")
        assert status == 200
        assert again == first
    assert stored(server, name) == sorted(datas)
    # Another key (or none) is another put.
    status, other = put_records(server, name, datas, key="batch-0002")
    assert status == 200 and other != first
    put_records(server, name, datas)
    assert stored(server, name) == sorted(datas * 3)


def test_put_record_is_idempotent_too(server):
    kinesis = client_for(server)
    name = unique_name("idem1")
    create_stream_and_wait(kinesis, name)
    body = {"StreamName": name, "Data": b64(b"once"), "PartitionKey": "k"}
    hdr = {"x-sluice-idempotency-key": "single-1"}
    a = raw_request(server, "Kinesis_20131202.PutRecord", body, headers=hdr)
    b = raw_request(server, "Kinesis_20131202.PutRecord", body, headers=hdr)
    assert a.status == b.status == 200 and a.json() == b.json()
    assert stored(server, name) == [b"once"]


def test_keys_are_per_stream_and_sizes_must_match(server):
    kinesis = client_for(server)
    a, b = unique_name("ia"), unique_name("ib")
    create_stream_and_wait(kinesis, a)
    create_stream_and_wait(kinesis, b)
    assert put_records(server, a, [b"x"], key="shared")[0] == 200
    assert put_records(server, b, [b"x"], key="shared")[0] == 200
    assert stored(server, a) == [b"x"] and stored(server, b) == [b"x"]
    status, body = put_records(server, a, [b"x", b"y"], key="shared")
    assert status == 400 and body["__type"] == "InvalidArgumentException"
    assert "shared" in body["message"]
    status, body = put_records(server, a, [b"x"], key="bad key with spaces")
    assert status == 400 and body["__type"] == "InvalidArgumentException"
    status, body = put_records(server, a, [b"x"], key="k" * 129)
    assert status == 400


def test_concurrent_retries_of_one_key_store_once(server):
    kinesis = client_for(server)
    name = unique_name("iconc")
    create_stream_and_wait(kinesis, name, shards=2)
    datas = [b"c-%d" % i for i in range(50)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: put_records(server, name, datas, key="racy"), range(16)))
    assert all(status == 200 for status, _ in answers)
    assert all(body == answers[0][1] for _, body in answers)
    assert stored(server, name) == sorted(datas)


def test_an_unknown_stream_is_not_remembered(server):
    name = unique_name("ilate")
    status, body = put_records(server, name, [b"z"], key="early")
    assert status == 400 and body["__type"] == "ResourceNotFoundException"
    create_stream_and_wait(client_for(server), name)
    status, body = put_records(server, name, [b"z"], key="early")
    assert status == 200 and body["FailedRecordCount"] == 0


def test_keys_survive_a_kill_and_restart(make_server):
    srv = make_server()
    kinesis = client_for(srv)
    name = unique_name("idurable")
    create_stream_and_wait(kinesis, name, shards=3)
    datas = [b"d-%d" % i for i in range(30)]
    status, first = put_records(srv, name, datas, key="before-crash")
    assert status == 200 and first["FailedRecordCount"] == 0
    single = {"StreamName": name, "Data": b64(b"solo"), "PartitionKey": "s"}
    hdr = {"x-sluice-idempotency-key": "solo-1"}
    one = raw_request(srv, "Kinesis_20131202.PutRecord", single, headers=hdr)
    assert one.status == 200
    srv.restart(kill=True)  # SIGKILL: only what is on disk is left
    status, again = put_records(srv, name, datas, key="before-crash")
    assert status == 200 and again == first
    two = raw_request(srv, "Kinesis_20131202.PutRecord", single, headers=hdr)
    assert two.status == 200 and two.json() == one.json()
    assert stored(srv, name) == sorted(datas + [b"solo"])
