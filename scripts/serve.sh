#!/usr/bin/env bash
# serve.sh: one command from a fresh clone to a running server. Installs what is missing
# (scripts/setup.sh), configures and builds Sluice in ./build, then replaces itself with
# `sluice serve` on 127.0.0.1:4567 with its data in ./sluice-data. Extra arguments are passed to
# `sluice serve` and win over the defaults here (e.g. ./scripts/serve.sh --port 0).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

./scripts/setup.sh
cmake -S . -B build
cmake --build build --target sluice -j2
exec ./build/src/server/sluice serve --bind 127.0.0.1 --port 4567 --data-dir ./sluice-data "$@"
