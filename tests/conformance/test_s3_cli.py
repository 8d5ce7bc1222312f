"""The object store through the AWS CLI v2's `s3` and `s3api` commands (Debian's /usr/bin/aws):
mb, cp, ls, sync of a directory tree holding a file over 16 MiB (the CLI switches to multipart
uploads at 8 MiB and to ranged downloads for big objects), rm, rb, ranged get-object and the
errors a user sees."""
import filecmp
import json
import os
import subprocess

import pytest

import helpers

from helpers import unique_name

AWS = "/usr/bin/aws"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    return helpers.cli_env(tmp_path_factory.mktemp("cli-home"))


@pytest.fixture
def aws(server, cli_env):
    """aws(*args, check=True) -> (exit status, stdout, stderr)."""
    def run(*args, check=True, timeout=300):
        cmd = [AWS, "--endpoint-url", server.endpoint, *args]
        proc = subprocess.run(cmd, env=cli_env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, (
                "%s exited %d\nstdout: %s\nstderr: %s"
                % (" ".join(cmd), proc.returncode, proc.stdout, proc.stderr))
        return proc.returncode, proc.stdout, proc.stderr
    return run


def make_tree(root):
    files = {
        "top.txt": b"top\n",
        "a/one.txt": b"one\n",
        "a/b/two.txt": b"two\n" * 1000,
        "a/b/c/three.bin": os.urandom(70_000),
        "space dir/file name.txt": b"spaces\n",
        "big.bin": os.urandom(17 * MIB + 123),
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def same_tree(a, b):
    cmp = filecmp.dircmp(a, b)
    stack = [cmp]
    while stack:
        c = stack.pop()
        if c.left_only or c.right_only or c.diff_files or c.funny_files:
            return False
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        if mismatch or errors:
            return False
        stack.extend(c.subdirs.values())
    return True


def test_sync_tree_round_trip(aws, tmp_path):
    bucket = unique_name("cli").lower().replace("_", "-")
    src, back = tmp_path / "src", tmp_path / "back"
    files = make_tree(src)
    aws("s3", "mb", "s3://" + bucket)
    _, out, _ = aws("s3", "ls")
    assert bucket in out
    aws("s3", "sync", str(src), "s3://%s/tree/" % bucket, "--only-show-errors")
    _, out, _ = aws("s3", "ls", "--recursive", "s3://%s/" % bucket)
    listed = {line.split(None, 3)[3]: int(line.split(None, 3)[2])
              for line in out.splitlines() if line.strip()}
    assert listed == {"tree/" + k: len(v) for k, v in files.items()}
    _, out, _ = aws("s3", "ls", "s3://%s/tree/" % bucket)
    assert "PRE a/" in out and "PRE space dir/" in out and "top.txt" in out
    # The big file went up in parts.
    _, out, _ = aws("s3api", "head-object", "--bucket", bucket, "--key", "tree/big.bin")
    head = json.loads(out)
    assert head["ContentLength"] == len(files["big.bin"])
    assert head["ETag"].endswith('-3"'), head["ETag"]
    # A second sync finds nothing to do.
    _, out, _ = aws("s3", "sync", str(src), "s3://%s/tree/" % bucket)
    assert out.strip() == ""
    aws("s3", "sync", "s3://%s/tree/" % bucket, str(back), "--only-show-errors")
    assert same_tree(src, back)
    # cp of one object, both ways, and a ranged get.
    aws("s3", "cp", str(src / "top.txt"), "s3://%s/copy.txt" % bucket, "--only-show-errors")
    aws("s3", "cp", "s3://%s/copy.txt" % bucket, str(tmp_path / "copy.txt"),
        "--only-show-errors")
    assert (tmp_path / "copy.txt").read_bytes() == b"top\n"
    aws("s3api", "get-object", "--bucket", bucket, "--key", "tree/a/b/two.txt", "--range",
        "bytes=4-11", str(tmp_path / "part"))
    assert (tmp_path / "part").read_bytes() == b"two\ntwo\n"
    # rb refuses a bucket with objects; rm --recursive then rb.
    rc, _, err = aws("s3", "rb", "s3://" + bucket, check=False)
    assert rc != 0 and "BucketNotEmpty" in err
    aws("s3", "rm", "--recursive", "s3://%s/" % bucket, "--only-show-errors")
    _, out, _ = aws("s3", "ls", "--recursive", "s3://%s/" % bucket)
    assert out.strip() == ""
    aws("s3", "rb", "s3://" + bucket)
    _, out, _ = aws("s3", "ls")
    assert bucket not in out


def test_cli_errors(aws, tmp_path):
    rc, _, err = aws("s3", "ls", "s3://no-such-bucket-%s" % unique_name().lower(), check=False)
    assert rc != 0 and "NoSuchBucket" in err
    bucket = unique_name("err").lower().replace("_", "-")
    aws("s3", "mb", "s3://" + bucket)
    # us-east-1: making a bucket one already owns succeeds (S3's legacy behaviour there).
    aws("s3", "mb", "s3://" + bucket)
    rc, _, err = aws("s3api", "get-object", "--bucket", bucket, "--key", "missing",
                     str(tmp_path / "x"), check=False)
    assert rc != 0 and "NoSuchKey" in err and "The specified key does not exist." in err
    aws("s3", "rb", "s3://" + bucket)
