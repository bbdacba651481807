#!/bin/bash
# The main command: set up, then run the most complete crossgate job that runs
# on this machine's local nodes, and point at its report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/install-node-deps.sh
JOB=${CROSSGATE_MAIN_JOB:-crossgate-openstack-ceph}

echo "main: crossgate check of the library (zuul.d/ and the self-test zuul-tests.d/)"
.venv/bin/crossgate check -q --extra-config-path zuul-tests.d .

echo "main: crossgate run $JOB on local nodes"
rc=0
.venv/bin/crossgate run "$JOB" --extra-config-path zuul-tests.d --build-root build/runs || rc=$?
build=$(ls -dt build/runs/*-"$JOB" 2>/dev/null | head -1)
if [ -n "$build" ]; then
    echo "main: build: $build/build.json (result, playbooks, zuul_return data)"
    echo "main: console log: $build/work/logs/job-output.txt; node logs: $build/work/logs/"
    echo "main: report: $build/work/logs/crossgate-results/report.html"
fi
exit "$rc"
