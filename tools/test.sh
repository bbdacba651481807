#!/bin/bash
# The test command: set up, then run the tox environments of the suite:
# linters, py3 (unit and config tests), e2e (real local nodes; needs root; it
# includes every role's molecule scenario, tests/e2e/test_molecule.py, shared by
# its two workers after the other e2e tests) and zuul (crossgate's jobs in a real
# Zuul started on this machine, compared with crossgate run; needs root;
# docs/zuul.rst). `tox -e molecule` runs the scenarios alone (tools/molecule.sh).
#
# CROSSGATE_TEST_ZUUL=0 leaves out the zuul stage (about 3 minutes).
# TOX_ENVS, when set, names the environments to run instead.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${CROSSGATE_TEST_ZUUL:-1}" in
    1) envs=linters,py3,e2e,zuul ;;
    0) envs=linters,py3,e2e ;;
    *)
        echo "tools/test.sh: CROSSGATE_TEST_ZUUL: invalid value '$CROSSGATE_TEST_ZUUL'; allowed: 0 or 1" >&2
        exit 2
        ;;
esac
envs=${TOX_ENVS:-$envs}
# Each set-up step prints its time; tox prints each environment's at the end.
timed() {
    local start=$SECONDS
    "$@"
    echo "test.sh: set-up $(basename "$2") took $((SECONDS - start)) s"
}
timed bash tools/setup.sh
timed bash tools/install-node-deps.sh
case ",$envs," in
    *,zuul,*) timed bash tools/install-zuul-deps.sh ;;
esac
# The Kubernetes layer's programs are built from their Go modules on the host (minutes on two
# cores while the mirror's Go caches are cold; docs/kubernetes.rst): the builds start now, in
# the background, Kubernetes first, then the OpenStack cloud provider's set, and the tests that
# need them (e2e, molecule) find the sets built, or wait for them (one Go build per mirror at a
# time; a job's nodes wait for a set's index). Each Go group's build is bounded by 3600 s, not
# the default 1800: these builds share two cores with the tests (a group once took 1865 s under
# that load, and the tests then built it again). They run at the tests' priority: the
# longest e2e test needs both sets part way through, and niced on a saturated machine
# they took 1092 + 2479 s. Output: build/go-programs.log.
case ",$envs," in
    *,e2e,*|*,molecule,*)
        if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
            export PATH="$PATH:/usr/local/go/bin"
        fi
        mkdir -p build
        : >build/go-programs.log
        (
            for set in kubernetes-1.34 kubernetes-1.34-openstack; do
                start=$SECONDS
                if .venv/bin/crossgate mirror sync \
                        --go-pins roles/deploy-kubernetes/files/programs.yaml \
                        --go-set "$set" --timeout 3600 >>build/go-programs.log 2>&1; then
                    echo "test.sh: Go program set $set ready in $((SECONDS - start)) s" \
                        "(background; $(tail -n 1 build/go-programs.log))"
                else
                    echo "test.sh: Go program set $set failed after $((SECONDS - start)) s;" \
                        "see build/go-programs.log (the tests that need it build it again)"
                fi
            done
        ) &
        ;;
esac
# The baked images of the e2e builds (the OpenStack-on-Ceph one first: the longest e2e test
# starts with it) are built in the background too, while the linters and unit tests run: much
# of a bake is waiting for downloads (the host mirror's packages and wheels). The tests find
# them built, or wait for the build (one per image at a time). Output: build/images.log.
case ",$envs," in
    *,e2e,*)
        : >build/images.log
        (
            for label in crossgate-openstack-ceph-bookworm crossgate-ceph-bookworm; do
                start=$SECONDS
                if .venv/bin/crossgate nodes image "$label" --build-root build/images \
                        >>build/images.log 2>&1; then
                    echo "test.sh: image $label ready in $((SECONDS - start)) s (background)"
                else
                    echo "test.sh: image $label failed after $((SECONDS - start)) s;" \
                        "see build/images.log (the tests that need it build it again)"
                fi
            done
        ) &
        ;;
esac
rc=0
.venv/bin/tox -e "$envs" "$@" || rc=$?
wait  # a background build outlives no run
exit "$rc"
