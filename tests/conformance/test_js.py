"""Runs the AWS SDK for JavaScript v3 conformance tests (tests/conformance/js/*.test.mjs, node's
built-in test runner) against the session's Sluice server from conftest.py, so that there is one
way of starting servers. One pytest test per .mjs file; node's output is shown on failure."""
import os
import pathlib
import shutil
import subprocess

import pytest

from helpers import sluice_bin

JS_DIR = pathlib.Path(__file__).resolve().parent / "js"
JS_FILES = sorted(p.name for p in JS_DIR.glob("*.test.mjs"))


def node_env(server):
    env = dict(os.environ)
    env["SLUICE_ENDPOINT"] = server.endpoint
    env["SLUICE_ACCOUNT_ID"] = getattr(server, "account_id", "000000000000")
    # kpl.test.mjs runs the sluice CLI (libsluice) against the same server.
    env["SLUICE_BIN"] = str(sluice_bin())
    # The SDK must not pick up a developer's real AWS configuration.
    for key in list(env):
        if key.startswith("AWS_"):
            del env[key]
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


def test_js_files_exist():
    assert "kinesis.test.mjs" in JS_FILES, f"no JavaScript tests found in {JS_DIR}"


@pytest.mark.parametrize("js_file", JS_FILES)
def test_js(server, js_file):
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/setup.sh"
    assert (JS_DIR / "node_modules" / "@aws-sdk" / "client-kinesis").is_dir(), (
        "tests/conformance/js/node_modules is missing: run scripts/setup.sh (npm ci)")
    proc = subprocess.run(
        [node, "--test", "--test-reporter=spec", js_file],
        cwd=JS_DIR, env=node_env(server), capture_output=True, text=True, timeout=170)
    output = proc.stdout + proc.stderr
    print(output)
    assert proc.returncode == 0, f"node --test {js_file} failed:\n{output[-20000:]}"
    # Node must have run tests, and none may have been skipped or left as todo.
    assert "# pass 0\n" not in output and "ℹ pass 0\n" not in output, output[-5000:]
    for word in ("skipped", "todo"):
        for line in output.splitlines():
            if line.lstrip("ℹ# ").startswith(word + " "):
                assert line.split()[-1] == "0", f"node reported {line.strip()}"
