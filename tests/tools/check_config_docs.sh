#!/usr/bin/env bash
# Fails when the option table in docs/configuration.md differs from the one the server prints
# (`sluice serve --help-markdown`), so the documentation can never drift from the code.
set -euo pipefail
bin=$1
doc=$2
expected=$("$bin" serve --help-markdown)
actual=$(awk '/^\| option \| environment/{p=1} p&&/^\|/{print} p&&!/^\|/{exit}' "$doc")
if [ "$expected" != "$actual" ]; then
    echo "docs/configuration.md option table is out of date; regenerate it with: sluice serve --help-markdown" >&2
    diff <(echo "$expected") <(echo "$actual") >&2 || true
    exit 1
fi
echo "configuration table matches"
