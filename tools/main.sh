#!/bin/bash
# The main command: set up, then run the most complete crossgate job that runs
# on this machine's local nodes, and point at its report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/install-node-deps.sh
JOB=${CROSSGATE_MAIN_JOB:-crossgate-openstack-interop}
# The nodes boot from the job's baked image (docs/images.rst; built on the first run, then
# cached): CROSSGATE_MAIN_IMAGE names another, or "" for the bare debian-bookworm.
case "$JOB" in
    crossgate-openstack-interop|crossgate-openstack-ceph|crossgate-kubernetes-openstack)
        default_image=crossgate-openstack-ceph-bookworm ;;
    crossgate-ceph) default_image=crossgate-ceph-bookworm ;;
    *) default_image= ;;
esac
IMAGE=${CROSSGATE_MAIN_IMAGE-$default_image}
labels=()
if [ -n "$IMAGE" ]; then
    labels=(--label "debian-bookworm=$IMAGE")
fi

echo "main: crossgate check of the library (zuul.d/ and the self-test zuul-tests.d/)"
.venv/bin/crossgate check -q --extra-config-path zuul-tests.d .

echo "main: crossgate run $JOB on local nodes${IMAGE:+ booted from image $IMAGE}"
rc=0
.venv/bin/crossgate run "$JOB" --extra-config-path zuul-tests.d --build-root build/runs \
    "${labels[@]}" || rc=$?
build=$(ls -dt build/runs/*-"$JOB" 2>/dev/null | head -1)
if [ -n "$build" ]; then
    echo "main: build: $build/build.json (result, playbooks, zuul_return data)"
    echo "main: console log: $build/work/logs/job-output.txt; node logs: $build/work/logs/"
    echo "main: report: $build/work/logs/crossgate-results/report.html"
fi
exit "$rc"
