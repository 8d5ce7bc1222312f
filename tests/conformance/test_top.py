"""`sluice top` (docs/cli.md) as a person sees it: run in a real terminal (tmux, on a socket of the
test's own), it shows the stream and its shards with their hash-key ranges, live rates (from the
server's /metrics) while a client puts records, the lineage after a split, and quits on q. Also the one-shot output when
stdout is not a terminal (--iterations), and its usage errors."""
import os
import shutil
import subprocess
import threading
import time

import pytest

from helpers import client_for, create_stream_and_wait, sluice_bin, unique_name, wait_until


class Tmux:
    """A tmux server on its own socket, so the test touches no other tmux session."""

    def __init__(self):
        self.tmux = shutil.which("tmux")
        assert self.tmux, "tmux is not installed: run scripts/setup.sh"
        self.socket = "sluice-top-%d" % os.getpid()

    def run(self, *args, check=True):
        return subprocess.run([self.tmux, "-L", self.socket, *args], capture_output=True, text=True,
                              check=check, timeout=10)

    def start(self, command):
        self.run("new-session", "-d", "-s", "top", "-x", "150", "-y", "40", command)

    def screen(self):
        p = self.run("capture-pane", "-p", "-t", "top", check=False)
        return p.stdout if p.returncode == 0 else ""

    def alive(self):
        return self.run("has-session", "-t", "top", check=False).returncode == 0

    def close(self):
        self.run("kill-server", check=False)


def row(screen, first):
    """The columns of the screen line whose first column is `first`, or None."""
    for line in screen.splitlines():
        cols = line.split()
        if cols and cols[0] == first:
            return cols
    return None


def test_top_in_a_terminal(server):
    client = client_for(server)
    name = unique_name("top")
    create_stream_and_wait(client, name, shards=2)
    tmux = Tmux()
    stop = threading.Event()

    def produce():
        i = 0
        while not stop.is_set():
            client.put_records(StreamName=name, Records=[
                {"PartitionKey": "k%d" % (i + j), "Data": b"x" * 100} for j in range(20)])
            i += 20
            stop.wait(0.05)

    producer = threading.Thread(target=produce, daemon=True)
    try:
        tmux.start("%s top --endpoint-url %s --stream %s --interval 0.3"
                   % (sluice_bin(), server.endpoint, name))
        wait_until(lambda: (row(tmux.screen(), name) or [None, None])[1] == "ACTIVE", timeout=20,
                   what="the stream's row")
        screen = tmux.screen()
        assert "sluice top" in screen.splitlines()[0]
        assert row(screen, "shardId-000000000000")[1:3] == ["open", "0-"]
        assert row(screen, "shardId-000000000001")[1] == "open"
        assert "50-100%" in " ".join(row(screen, "shardId-000000000001"))
        assert "rates: the server does not serve /metrics" not in screen
        producer.start()
        # Live rates: the stream's IN and REC/S columns show bytes and records per second above
        # zero while the client puts (from the server's /metrics).
        wait_until(lambda: (lambda r: r and r[4] not in ("-", "0") and float(r[4]) > 0
                            and float(r[6]) > 0)(row(tmux.screen(), name)),
                   timeout=20, what="a live incoming rate")
        client.split_shard(StreamName=name, ShardToSplit="shardId-000000000000",
                           NewStartingHashKey=str(2 ** 126))
        wait_until(lambda: row(tmux.screen(), "shardId-000000000003") is not None, timeout=20,
                   what="the split's children")
        screen = tmux.screen()
        assert row(screen, "shardId-000000000000")[1] == "closed"
        assert row(screen, "shardId-000000000002")[1] == "open"
        tmux.run("send-keys", "-t", "top", "q")
        wait_until(lambda: not tmux.alive(), timeout=10, what="top to quit on q")
    finally:
        stop.set()
        if producer.is_alive():
            producer.join(timeout=10)
        tmux.close()


def test_top_not_a_terminal(server):
    client = client_for(server)
    name = unique_name("top")
    create_stream_and_wait(client, name, shards=1)
    p = subprocess.run([str(sluice_bin()), "top", "--endpoint-url", server.endpoint, "--stream", name,
                        "--iterations", "2", "--interval", "0.1"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("sluice top") == 2
    assert "\x1b" not in p.stdout  # no escape sequences in a pipe
    assert row(p.stdout, name)[1:4] == ["ACTIVE", "PROV", "1"]


@pytest.mark.parametrize("args,message", [
    (["--interval", "0"], "--interval must be between"),
    (["--iterations", "-1"], "--iterations must be a positive integer"),
    (["--bogus"], "unknown option '--bogus'"),
    (["--stream"], "missing value for '--stream'"),
])
def test_top_usage_errors(args, message):
    p = subprocess.run([str(sluice_bin()), "top", *args], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2
    assert message in p.stderr


def test_top_unreachable_endpoint():
    p = subprocess.run([str(sluice_bin()), "top", "--endpoint-url", "http://127.0.0.1:1",
                        "--iterations", "1"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 3
    assert "error: " in p.stdout
