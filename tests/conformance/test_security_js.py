"""KMS, STS and IAM with the AWS SDK for JavaScript v3 against a server under --auth sigv4
(docs/security.md): KMS keys, aliases, Encrypt/Decrypt with an encryption context and
GenerateDataKey; STS GetCallerIdentity, GetSessionToken and AssumeRole (an ExternalId, a session
policy) with the temporary credentials used for further calls; IAM users, access keys and inline
policies, and what the new user is refused. The JavaScript is js/iam_kms_sts.sigv4.mjs."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import SluiceServer

KEY, SECRET, ACCOUNT = "AKIAJSADMINEXAMPLE00", "js/admin+secret", "000000000000"
JS_DIR = Path(__file__).resolve().parent / "js"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("security_js")
    (d / "credentials").write_text(
        f"[admin]\naws_access_key_id={KEY}\naws_secret_access_key={SECRET}\nadmin=true\n")
    server = SluiceServer(options={"auth": "sigv4", "credentials": str(d / "credentials"),
                                   "master_key_file": str(d / "master.key")})
    server.start()
    yield server
    assert server.stop() == 0, server.stderr_tail()
    server.cleanup()


def test_js_sdk_v3_kms_sts_iam(srv):
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/setup.sh"
    for client in ("client-kms", "client-sts", "client-iam"):
        assert (JS_DIR / "node_modules" / "@aws-sdk" / client).is_dir(), (
            f"@aws-sdk/{client} is missing: run scripts/setup.sh (npm ci in tests/conformance/js)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(SLUICE_ENDPOINT=srv.endpoint, SLUICE_KEY=KEY, SLUICE_SECRET=SECRET,
               SLUICE_ACCOUNT=ACCOUNT, AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    p = subprocess.run([node, "--test", "--test-reporter=spec", "iam_kms_sts.sigv4.mjs"],
                       cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=180)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-10000:]
    assert "pass 5" in out and "fail 0" in out, out[-3000:]
