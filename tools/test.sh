#!/bin/bash
# The test command: set up, then run every tox environment of the suite:
# linters, py3 (unit and config tests), e2e (real local nodes; needs root) and
# molecule (every role's scenario on real local nodes; needs root) and zuul
# (crossgate's jobs in a real Zuul started on this machine, compared with
# crossgate run; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/install-node-deps.sh
bash tools/install-zuul-deps.sh
exec .venv/bin/tox -e "${TOX_ENVS:-linters,py3,e2e,molecule,zuul}" "$@"
