#!/bin/bash
# Install the Ansible versions the pinned Zuul runs jobs with (zuul-manage-ansible)
# into a cache folder that survives runs (default /var/lib/crossgate/zuul-ansible,
# about 1.6 GB). A stamp records the Zuul version and its Ansible table: when they
# have not changed and the venvs are there, nothing is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV_BIN=${VENV_BIN:-$(dirname "$(command -v python)")}
ROOT=${CROSSGATE_ZUUL_ANSIBLE_ROOT:-/var/lib/crossgate/zuul-ansible}
py="$VENV_BIN/python"
conf=$("$py" -c 'import os, zuul; print(os.path.join(os.path.dirname(zuul.__file__), "lib", "ansible-config.conf"))')
want="$("$py" -c 'import zuul.version as v; print(v.release_string)') $(sha256sum "$conf" | cut -c1-16)"
stamp="$ROOT/.crossgate-stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$ROOT/11/bin/ansible-playbook" ]; then
    echo "manage-ansible: Zuul's Ansible already installed in $ROOT ($want)"
    exit 0
fi
mkdir -p "$ROOT"
start=$(date +%s)
echo "manage-ansible: installing Zuul's Ansible versions into $ROOT"
"$VENV_BIN/zuul-manage-ansible" -r "$ROOT"
echo "$want" > "$stamp"
echo "manage-ansible: done in $(( $(date +%s) - start )) s"
