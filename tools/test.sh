#!/bin/bash
# The test command: set up, then run the tox environments of the suite:
# linters, py3 (unit and config tests), e2e (real local nodes; needs root) and
# molecule (every role's scenario on real local nodes; needs root).
#
# CROSSGATE_TEST_ZUUL=1 adds the zuul stage (crossgate's jobs in a real Zuul
# started on this machine, compared with crossgate run; needs root; about
# 12 minutes more, so it is an opt-in stage: docs/zuul.rst). TOX_ENVS, when
# set, names the environments to run instead.
set -euo pipefail
cd "$(dirname "$0")/.."
envs=linters,py3,e2e,molecule
if [ "${CROSSGATE_TEST_ZUUL:-0}" = 1 ]; then
    envs=$envs,zuul
fi
envs=${TOX_ENVS:-$envs}
bash tools/setup.sh
bash tools/install-node-deps.sh
case ",$envs," in
    *,zuul,*) bash tools/install-zuul-deps.sh ;;
esac
exec .venv/bin/tox -e "$envs" "$@"
