"""The web console (/console/, docs/console.md) end to end in Debian's headless Chromium, driven by
playwright-core (js/console.browser.mjs): create a stream, put records from the test, see them in
the data viewer (following live, as JSON, hex and text), split a shard and see the lineage; once
in open mode and once with --auth sigv4 (the console signs in the browser). Screenshots are saved
under <build>/test-artifacts/console/ and checked for being non-blank. Also the static routes:
content types, the redirect, the cache and security headers, 404s."""
import os
import pathlib
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from helpers import SluiceServer, sluice_bin

JS_DIR = pathlib.Path(__file__).resolve().parent / "js"
ADMIN_KEY = "AKIACONSOLEADMIN0001"
ADMIN_SECRET = "console/admin/secret/key/0000000000000000"


def artifacts_dir():
    return pathlib.Path(sluice_bin()).resolve().parents[2] / "test-artifacts" / "console"


def run_browser(server, **env_extra):
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/setup.sh"
    assert (JS_DIR / "node_modules" / "playwright-core").is_dir(), (
        "tests/conformance/js/node_modules/playwright-core is missing: run scripts/setup.sh")
    assert os.access("/usr/bin/chromium", os.X_OK), "chromium is missing: run scripts/setup.sh"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(SLUICE_ENDPOINT=server.endpoint, SLUICE_ARTIFACTS=str(artifacts_dir()),
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, **env_extra)
    proc = subprocess.run([node, "--test", "--test-reporter=spec", "console.browser.mjs"], cwd=JS_DIR,
                          env=env, capture_output=True, text=True, timeout=170)
    output = proc.stdout + proc.stderr
    print(output)
    assert proc.returncode == 0, output[-20000:]
    assert "pass 6" in output, output[-5000:]


def get(url):
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_console_open_mode(server):
    run_browser(server)


def test_console_sigv4(tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(f"[admin]\naws_access_key_id = {ADMIN_KEY}\n"
                     f"aws_secret_access_key = {ADMIN_SECRET}\nadmin = true\n")
    srv = SluiceServer(options={"auth": "sigv4", "credentials": str(creds)})
    srv.start()
    try:
        run_browser(srv, SLUICE_KEY=ADMIN_KEY, SLUICE_SECRET=ADMIN_SECRET)
    finally:
        assert srv.stop() in (0, None), srv.stderr_tail()
        srv.cleanup()


def test_console_routes(server):
    status, headers, body = get(server.endpoint + "/console/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert b"<title>Sluice console</title>" in body
    # The page's script and stylesheet are served with their types (vite's hashed names, or the
    # sources when the build had no vite).
    import re
    refs = re.findall(rb'(?:src|href)="\./([^"]+\.(?:js|css))"', body)
    assert refs, body
    for ref in refs:
        status, headers, asset = get(server.endpoint + "/console/" + ref.decode())
        assert status == 200, ref
        kind = "text/javascript" if ref.endswith(b".js") else "text/css"
        assert headers["Content-Type"] == kind + "; charset=utf-8"
        assert asset
    status, headers, _ = get(server.endpoint + "/console/index.html")
    assert status == 200
    status, _, body = get(server.endpoint + "/console/nope.js")
    assert status == 404
    status, _, _ = get(server.endpoint + "/console/../health")
    assert status in (200, 404)  # never a file outside the embedded table
    req = urllib.request.Request(server.endpoint + "/console")
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as e:
        opener.open(req, timeout=10)
    assert e.value.code == 301 and e.value.headers["Location"] == "/console/"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
