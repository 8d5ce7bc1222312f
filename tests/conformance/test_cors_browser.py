"""Conformance: what a real browser (Debian's headless Chromium) can do to a local server.

A page served from another origin (here http://127.0.0.1:<other port>) tries a DeleteStream as
boto3 would send it (JSON, X-Amz-Target, an Authorization header: the browser preflights it) and
a "simple" text/plain POST (no preflight). With CORS off (the default) the stream survives and the
page cannot read anything; with the page's origin in --cors-origins the page can call the API and
read the answer. The page reports what it saw to its own origin. See docs/security.md.
"""

import http.server
import json
import queue
import shutil
import subprocess
import tempfile
import threading

import pytest

from helpers import client_for, create_stream_and_wait, stream_status, unique_name

CHROMIUM = "/usr/bin/chromium"

PAGE = """<!doctype html><html><body><script>
const endpoint = %(endpoint)s, stream = %(stream)s;
async function attempt(name, init) {
  try {
    const r = await fetch(endpoint + "/", init);
    let text = null;
    try { text = await r.text(); } catch (e) {}
    return {name, status: r.status, type: r.type, text};
  } catch (e) {
    return {name, error: String(e)};
  }
}
(async () => {
  const results = [];
  results.push(await attempt("list", {method: "POST", body: "{}",
    headers: {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams",
              "X-Amz-Date": "20260101T000000Z",
              "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kinesis/aws4_request, " +
                               "SignedHeaders=host;x-amz-date;x-amz-target, Signature=00"}}));
  results.push(await attempt("delete", {method: "POST", body: JSON.stringify({StreamName: stream}),
    headers: {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.DeleteStream",
              "X-Amz-Date": "20260101T000000Z",
              "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kinesis/aws4_request, " +
                               "SignedHeaders=host;x-amz-date;x-amz-target, Signature=00"}}));
  results.push(await attempt("simple", {method: "POST", mode: "no-cors", body: JSON.stringify({StreamName: stream}),
    headers: {"Content-Type": "text/plain"}}));
  await fetch("/result", {method: "POST", body: JSON.stringify(results)});
})();
</script></body></html>"""


class PageServer:
    """Serves PAGE on 127.0.0.1 (another port = another origin) and collects the page's report."""

    def __init__(self, stream):
        self.reports = queue.Queue()
        self.endpoint = None  # the Sluice server the page calls; set before visit()
        reports, owner = self.reports, self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                page = (PAGE % {"endpoint": json.dumps(owner.endpoint), "stream": json.dumps(stream)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                reports.put(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def visit(page_server, timeout=60):
    """Opens the page in headless Chromium and returns the page's report."""
    if not shutil.which(CHROMIUM):
        pytest.fail("%s not found: install Debian's chromium (scripts/setup.sh does)" % CHROMIUM)
    profile = tempfile.mkdtemp(prefix="sluice-chromium-")
    proc = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-extensions", "--user-data-dir=" + profile, page_server.origin + "/"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return {r["name"]: r for r in page_server.reports.get(timeout=timeout)}
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page_for():
    servers = []

    def factory(stream):
        srv = PageServer(stream)
        servers.append(srv)
        return srv

    yield factory
    for srv in servers:
        srv.close()


def test_browser_page_cannot_drive_the_server(server, kinesis, page_for):
    name = unique_name()
    create_stream_and_wait(kinesis, name, 1)
    page = page_for(name)
    page.endpoint = server.endpoint
    report = visit(page)
    assert "error" in report["delete"], report        # the preflight was refused: fetch fails
    assert report["simple"]["type"] == "opaque", report  # sent without preflight, unreadable
    assert "error" in report["list"], report
    assert stream_status(kinesis, name) == "ACTIVE"


def test_browser_page_of_a_listed_origin_can_call(make_server, page_for):
    name = unique_name()
    page = page_for(name)
    srv = make_server(cors_origins=page.origin)
    page.endpoint = srv.endpoint
    kinesis = client_for(srv)
    create_stream_and_wait(kinesis, name, 1)
    report = visit(page)
    assert report["list"]["status"] == 200, report
    assert name in json.loads(report["list"]["text"])["StreamNames"]
    assert report["delete"]["status"] == 200, report
    assert stream_status(kinesis, name) in ("DELETING", None)
