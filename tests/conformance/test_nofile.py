"""`sluice serve` raises its soft descriptor limit to the hard one (at most 1,048,576): the storage
engine's descriptor budget and the connection limit are shares of the soft limit, and the common
soft default of 1,024 would cut a commit round over thousands of shards into many chunks, each with
its own sync. The server runs under `prlimit` with a soft limit of 1,024."""
import resource
import shutil

from helpers import SluiceServer, client_for, create_stream_and_wait


class LimitedServer(SluiceServer):
    def __init__(self, soft, hard, **kw):
        super().__init__(**kw)
        self.soft, self.hard = soft, hard

    def command(self):
        return ["prlimit", "--nofile=%d:%d" % (self.soft, self.hard), "--"] + super().command()


def open_files_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no open-files line in /proc/%d/limits" % pid)


def test_soft_descriptor_limit_is_raised_to_the_hard_one():
    assert shutil.which("prlimit"), "prlimit (util-linux) is missing: run scripts/setup.sh"
    hard = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 1048576)
    assert hard > 1024, "the test needs a hard descriptor limit above 1,024 (it is %d)" % hard
    srv = LimitedServer(1024, hard)
    srv.start()
    try:
        assert open_files_limit(srv.proc.pid) == (hard, hard)
        assert "descriptor limit raised from 1024 to %d" % hard in srv.stderr_tail()
        client = client_for(srv)
        create_stream_and_wait(client, "nofile", 1)
        client.put_record(StreamName="nofile", Data=b"x", PartitionKey="k")
    finally:
        srv.stop()
        srv.cleanup()
