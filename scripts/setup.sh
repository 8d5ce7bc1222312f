#!/usr/bin/env bash
# setup.sh: installs every system package that building and testing Sluice needs on a fresh
# Debian 12 machine, then the test-only JavaScript dependencies (tests/conformance/js).
# Idempotent: it asks dpkg first and runs apt-get only for packages that are missing, so a second
# run changes nothing and needs no network. Used by scripts/serve.sh, scripts/test.sh and CI.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages: toolchain, the C libraries Sluice links against, and the real clients the
# tests drive (pytest and cbor2 from Debian, the AWS CLI v2, curl, nghttp, clang for libFuzzer,
# libfaketime for tests that run the server with a shifted clock, chromium for the browser CORS
# test and the web console's), tmux (the `sluice top` test), clang-format for the format check
# (tools.format), libzip (function deployment packages),
# PCRE2 (the SQL engine's regular expressions), zip (the JavaScript functions test packs its
# handlers with it), prometheus (promtool checks /metrics; a real Prometheus scrapes it in a test),
# libsnappy (Firehose's Snappy objects) with python3-snappy and unzip (the tests read Firehose's
# compressed objects with independent tools), tzdata (Firehose's CustomTimeZone reads its zones).
packages=(
  build-essential cmake pkg-config clang-format
  libssl-dev libnghttp2-dev libcbor-dev libsqlite3-dev zlib1g-dev libzstd-dev libzip-dev libpcre2-dev
  libsnappy-dev python3-snappy unzip tzdata
  python3-pytest python3-cbor2 awscli curl nghttp2-client clang libfaketime chromium zip tmux
  prometheus
)
# The JavaScript SDK used by the conformance tests needs node >= 20.
node_major_min=20

log() { printf 'setup: %s\n' "$*" >&2; }

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

node_major() {
  command -v node >/dev/null 2>&1 || { echo 0; return; }
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

missing=()
for p in "${packages[@]}"; do
  is_installed "$p" || missing+=("$p")
done
if [ "$(node_major)" -lt "$node_major_min" ] || ! command -v npm >/dev/null 2>&1; then
  is_installed nodejs || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    log "missing packages (${missing[*]}) and neither root nor sudo available"
    exit 1
  fi
  log "installing: ${missing[*]}"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
fi

if [ "$(node_major)" -lt "$node_major_min" ]; then
  log "node $(node --version 2>/dev/null || echo missing) is too old: the JavaScript conformance"
  log "tests need node >= ${node_major_min} (@aws-sdk/client-kinesis); install a newer nodejs"
  exit 1
fi

# npm dependencies, pinned by package-lock.json: the test-only ones (tests/conformance/js) and the
# web console's build tool (console/: vite, run by CMake). Reinstalled when node_modules is
# missing or older than the lock file.
for js_dir in "$repo_root/tests/conformance/js" "$repo_root/console"; do
  if [ -f "$js_dir/package-lock.json" ]; then
    stamp="$js_dir/node_modules/.package-lock.json"
    if [ ! -f "$stamp" ] || [ "$js_dir/package-lock.json" -nt "$stamp" ]; then
      log "npm ci in ${js_dir#"$repo_root"/}"
      (cd "$js_dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  fi
done

# The conformance tests need a Python whose botocore knows all 39 Kinesis operations (the
# image's default pyenv python3 has botocore 1.43); Debian's python3-boto3 is too old. This is
# only a check: tests/conformance/run.sh fails loudly when no such Python exists.
if ! "$repo_root/tests/conformance/run.sh" --find-python >/dev/null 2>&1; then
  log "warning: no python3 with a 39-operation botocore Kinesis model found;"
  log "warning: the conformance tests will fail (see tests/conformance/run.sh)"
fi
exit 0
