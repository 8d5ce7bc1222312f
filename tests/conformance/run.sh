#!/usr/bin/env bash
# run.sh: runs one pytest file of the conformance (or durability) suite against a real Sluice
# server. CTest calls it once per test file (tests/conformance/CMakeLists.txt) with SLUICE_BIN set
# to the server binary of that build directory.
#
#   run.sh <test_file.py> [pytest args...]   run that file; exit 0 only if every test passed
#   run.sh --find-python                     print the Python it would use (exit 1 if none)
#
# Python: the tests need botocore with the 39-operation Kinesis model (the image's default pyenv
# python3 has botocore 1.43; Debian's /usr/bin/python3 has an old 29-operation one), and take
# pytest and cbor2 from Debian's dist-packages, appended to sys.path so that the newer botocore
# wins. No suitable Python is a failure, never a skip. A skipped or xfailed test is a failure too:
# an unimplemented feature must show up red, not quietly disappear.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
dist_packages=/usr/lib/python3/dist-packages

python_ok() {
  "$1" - "$dist_packages" >/dev/null 2>&1 <<'PY'
import sys
sys.path.append(sys.argv[1])
import botocore.session, boto3, pytest  # noqa: F401
ops = botocore.session.get_session().get_service_model("kinesis").operation_names
sys.exit(0 if len(ops) >= 39 else 3)
PY
}

find_python() {
  local candidates=()
  [ -n "${SLUICE_PYTHON:-}" ] && candidates+=("$SLUICE_PYTHON")
  command -v python3 >/dev/null 2>&1 && candidates+=("$(command -v python3)")
  local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  [ -x "$pyenv_root/shims/python3" ] && candidates+=("$pyenv_root/shims/python3")
  local v
  for v in $(ls -d "$pyenv_root"/versions/3.* 2>/dev/null | sort -rV); do
    [ -x "$v/bin/python3" ] && candidates+=("$v/bin/python3")
  done
  candidates+=(/usr/local/bin/python3 /usr/bin/python3)
  local c
  for c in "${candidates[@]}"; do
    if [ -x "$c" ] && python_ok "$c"; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

if [ "${1:-}" = "--find-python" ]; then
  find_python
  exit $?
fi

if [ $# -lt 1 ]; then
  echo "usage: $0 <test_file.py> [pytest args...] | --find-python" >&2
  exit 2
fi
test_file="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
if [ ! -f "$test_file" ]; then
  echo "run.sh: no such test file: $test_file" >&2
  exit 2
fi

if ! python="$(find_python)"; then
  echo "run.sh: FAILED: no python3 with boto3/botocore carrying the 39-operation Kinesis model" >&2
  echo "run.sh: and pytest (Debian python3-pytest) was found. Tried: \$SLUICE_PYTHON, python3 on" >&2
  echo "run.sh: PATH, pyenv shims and versions, /usr/local/bin/python3, /usr/bin/python3." >&2
  exit 1
fi

export SLUICE_BIN="${SLUICE_BIN:-$repo_root/build/src/server/sluice}"
if [ ! -x "$SLUICE_BIN" ]; then
  echo "run.sh: FAILED: server binary not found or not executable: $SLUICE_BIN" >&2
  exit 1
fi
echo "run.sh: python=$python SLUICE_BIN=$SLUICE_BIN test=$test_file" >&2

# Per-run scratch directory for pytest's tmp_path; kept when the run fails, for its logs.
basetemp="$(mktemp -d "${TMPDIR:-/tmp}/sluice-pytest.XXXXXX")"

cd "$(dirname "$test_file")"
status=0
"$python" - "$dist_packages" "$test_file" "$basetemp" "$@" <<'PY' || status=$?
import sys

sys.path.append(sys.argv[1])
import pytest


class NoSkips:
    """Turns every skipped or xfailed test into a failure of the whole run."""

    def __init__(self):
        self.skipped = []

    def pytest_collectreport(self, report):
        if report.skipped:
            self.skipped.append(f"{report.nodeid} (collection skipped)")

    def pytest_runtest_logreport(self, report):
        if report.skipped:
            kind = "xfailed" if hasattr(report, "wasxfail") else "skipped"
            self.skipped.append(f"{report.nodeid} ({kind})")

    def pytest_terminal_summary(self, terminalreporter):
        if self.skipped:
            terminalreporter.section("skips are failures in this suite", red=True)
            for item in self.skipped:
                terminalreporter.line(f"SKIPPED-AS-FAILURE {item}", red=True)

    def pytest_sessionfinish(self, session, exitstatus):
        if self.skipped and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


test_file, basetemp, extra = sys.argv[2], sys.argv[3], sys.argv[4:]
args = ["-q", "-rfEsx", "-p", "no:cacheprovider", f"--basetemp={basetemp}", *extra, test_file]
sys.exit(pytest.main(args, plugins=[NoSkips()]))
PY

if [ "$status" -eq 0 ]; then
  rm -rf "$basetemp"
else
  echo "run.sh: FAILED ($status): $test_file; scratch files kept in $basetemp" >&2
fi
exit "$status"
