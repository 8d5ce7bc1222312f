#!/usr/bin/env bash
# test.sh: one command from a fresh clone to a full test run. Installs what is missing
# (scripts/setup.sh), builds everything in ./build and runs every CTest test: unit tests, fuzz
# corpus replays, conformance tests (boto3, AWS CLI, CBOR, JavaScript SDK against a real server),
# durability (kill -9) tests and tool checks. Exits non-zero on any failure. Extra arguments are
# passed to ctest (e.g. ./scripts/test.sh -L unit).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

./scripts/setup.sh
cmake -S . -B build
cmake --build build -j2
ctest --test-dir build --output-on-failure --no-tests=error -j2 "$@"
