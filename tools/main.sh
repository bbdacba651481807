#!/bin/bash
# The main command: set up, then run the most complete crossgate job that runs
# on this machine, and point at its report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
report=build/check/findings.json
mkdir -p "$(dirname "$report")"
echo "main: crossgate check of the library (zuul.d/ and the self-test zuul-tests.d/)"
rc=0
.venv/bin/crossgate check --extra-config-path zuul-tests.d . || rc=$?
.venv/bin/crossgate check --extra-config-path zuul-tests.d --format json . > "$report" || true
echo "main: report: $report"
exit "$rc"
