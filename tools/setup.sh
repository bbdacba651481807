#!/bin/bash
# Install what crossgate needs on a Debian/Ubuntu machine, as root: the Debian
# packages, and a virtual environment at .venv with crossgate and tox.
# Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in git python3-venv python3-dev gcc; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.crossgate-setup
want=$(cat setup.cfg test-requirements.txt tools/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing crossgate and tox into .venv"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e . tox tox-ignore-env-name-mismatch
    echo "$want" > "$stamp"
fi
