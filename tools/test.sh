#!/bin/bash
# The test command: set up, then run every tox environment of the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/tox -e "${TOX_ENVS:-linters,py3}" "$@"
