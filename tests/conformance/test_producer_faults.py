"""The libsluice producer against a real server with fault injection and throughput limits on
(issue 12's last test; issue 19's --fault): every accepted record ends in exactly one callback,
every delivered record is readable at the sequence number it was acknowledged with, nothing is
lost at shutdown, and with idempotency keys no record is stored twice across retries (answers
held back past the client's timeout, so the same request is sent again) and a kill -9.

The driver is tests/client/producer_check.c (see test_libsluice.py): it exits non-zero unless
every record's callback ran exactly once, and flushes and destroys the producer before it reports,
so a record lost at shutdown would show as a missing callback."""
import signal
import subprocess
import time

import pytest

from helpers import client_for, create_stream_and_wait, unique_name
from test_libsluice import driver, index_of, read_back

# Per write request: 20% of the records throttled, 5% failed internally, and 3% of the answers
# held back 2.5 s, past the driver's 2 s client timeout, so the producer sends the same request
# (same idempotency key) again while the first one was stored. On top: AWS's per-shard limits.
FAULTS = ("op=write,error=throughput,rate=0.2;op=write,error=internal,rate=0.05;"
          "op=write,latency_ms=2500,rate=0.03")


def check_run(out, count):
    acked, stats = {}, None
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "stats":
            stats = [int(x) for x in parts[1:]]
        elif parts[0] == "ok":
            acked[int(parts[1])] = (parts[3], int(parts[4]))
        elif parts[0] == "fail":
            pytest.fail("record %s failed: %s" % (parts[1], parts[2]))
    assert len(acked) == count
    return acked, stats


def check_stored(endpoint, name, acked, count):
    got = read_back(endpoint, name)
    seen = {(seq, sub): index_of(d) for _, seq, sub, d in got}
    for i, pos in acked.items():
        assert seen.get(pos) == i, "record %d acknowledged at %s is not there" % (i, pos)
    indexes = sorted(index_of(d) for _, _, _, d in got)
    assert indexes == list(range(count)), "stored %d records for %d" % (len(indexes), count)


@pytest.mark.parametrize("mode", ["aggregated", "plain"])
def test_producer_under_faults_and_limits(make_server, mode):
    srv = make_server(throughput_limits="aws", fault=FAULTS)
    name = unique_name(mode)
    create_stream_and_wait(client_for(srv), name, shards=2)
    # Aggregated, 6,000 records made 13 Kinesis records: all 13 escaped the faults now and then
    # (0.75^13 x 0.97, about 2%) and nothing was retried. 20,000 make about 45 (about 0.0003%).
    count = 20000 if mode == "aggregated" else 3000
    args = ["--plain"] if mode == "plain" else []
    proc = subprocess.run([driver(), "put", srv.endpoint, name, str(count)] + args,
                          capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr  # every record completed exactly once
    acked, stats = check_run(proc.stdout, count)
    assert stats[1] > 0, stats  # the faults hit the producer: records were retried
    check_stored(srv.endpoint, name, acked, count)


def test_producer_under_faults_survives_kill_9(make_server):
    srv = make_server(throughput_limits="aws", fault=FAULTS)
    name = unique_name("kill")
    create_stream_and_wait(client_for(srv), name, shards=2)
    count = 20000
    proc = subprocess.Popen([driver(), "put", srv.endpoint, name, str(count), "--pace-every",
                             "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # mid-run: the producer must be busy when the server dies
    assert proc.poll() is None, "the producer finished before the kill"
    srv.stop(signal.SIGKILL)
    time.sleep(0.3)  # long enough for requests to fail with connection refused
    srv.start()  # same port, data directory, limits and faults
    out, err = proc.communicate(timeout=150)
    assert proc.returncode == 0, err
    acked, stats = check_run(out, count)
    assert stats[1] > 0, stats
    check_stored(srv.endpoint, name, acked, count)
