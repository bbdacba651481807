#!/bin/bash
# Run the molecule scenario (roles/ROLE/molecule/default) of every role, or of the roles named:
#
#   bash tools/molecule.sh [ROLE ...]
#
# Each scenario runs `molecule test` (destroy, syntax, create, converge, idempotence, verify,
# destroy) on crossgate local nodes in a pool of its own, molecule-<role>-<pid of this script>.
# Needs root (crossgate nodes). After each scenario the pool must be gone: if molecule was
# killed (CROSSGATE_MOLECULE_TIMEOUT, default 900 s) or left nodes, `molecule destroy` and then
# `crossgate nodes down` take them down, and the scenario fails. A role without a scenario
# fails too. Logs: build/molecule/<role>.log; the nodes' console logs: build/molecule/consoles/;
# molecule's working folder: build/molecule/ephemeral/<role>/.
# Prints a summary with each scenario's time; exit status 0 only if every scenario passed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# molecule and ansible-compat run ansible-config and ansible-playbook by name: the virtual
# environment's bin (tox's, else .venv) must come first on PATH.
venv=${VIRTUAL_ENV:-$root/.venv}
export PATH="$venv/bin:$PATH"
export ANSIBLE_ROLES_PATH="$root/roles"
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}
export PY_COLORS=${PY_COLORS:-0}
export NO_COLOR=${NO_COLOR:-1}
timeout_s=${CROSSGATE_MOLECULE_TIMEOUT:-900}
log_dir="$root/build/molecule"
export CROSSGATE_MOLECULE_LOG_DIR="$log_dir/consoles"

die() { echo "molecule.sh: $*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "needs root (crossgate nodes start systemd-nspawn nodes)"
command -v molecule >/dev/null || die "molecule is not installed in $venv (pip install -r molecule-requirements.txt)"
command -v crossgate >/dev/null || die "crossgate is not installed in $venv"

if [ "$#" -gt 0 ]; then
    roles=("$@")
    for role in "${roles[@]}"; do
        [ -d "roles/$role" ] || die "no role '$role'; roles: $(cd roles && echo */ | tr -d /)"
    done
else
    roles=()
    for dir in roles/*/; do
        roles+=("$(basename "$dir")")
    done
fi

mkdir -p "$log_dir" "$CROSSGATE_MOLECULE_LOG_DIR"
declare -A result seconds
current_pool=""
current_role=""

# Take down what a scenario may have left: molecule's own destroy first (it stops the
# scenario's mirror server too), then the pool itself.
cleanup_scenario() {
    local role=$1 pool=$2
    (cd "roles/$role" && CROSSGATE_MOLECULE_POOL=$pool \
        MOLECULE_EPHEMERAL_DIRECTORY="$log_dir/ephemeral/$role" timeout 300 molecule destroy) \
        >>"$log_dir/$role.log" 2>&1
    if [ -e "/var/lib/crossgate/pools/$pool/state.json" ]; then
        crossgate nodes down --pool "$pool" >>"$log_dir/$role.log" 2>&1
    fi
}

on_signal() {
    if [ -n "$current_pool" ]; then
        echo "molecule.sh: interrupted; taking down pool $current_pool" >&2
        cleanup_scenario "$current_role" "$current_pool"
    fi
    exit 130
}
trap on_signal INT TERM

for role in "${roles[@]}"; do
    log="$log_dir/$role.log"
    if [ ! -f "roles/$role/molecule/default/molecule.yml" ]; then
        result[$role]="NO SCENARIO"
        seconds[$role]="-"
        echo "molecule.sh: $role: no molecule/default/molecule.yml" >&2
        continue
    fi
    pool="molecule-${role:0:40}-$$"
    current_role=$role
    current_pool=$pool
    echo "==> $role (pool $pool, log $log)"
    start=$(date +%s.%N)
    # molecule names its working folder after the role's folder alone: a folder of this
    # checkout keeps two checkouts that run at once apart.
    (cd "roles/$role" && CROSSGATE_MOLECULE_POOL=$pool \
        MOLECULE_EPHEMERAL_DIRECTORY="$log_dir/ephemeral/$role" \
        timeout --kill-after=30 "$timeout_s" molecule test) 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    end=$(date +%s.%N)
    seconds[$role]=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
    if [ "$rc" -eq 0 ]; then
        result[$role]="PASSED"
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        result[$role]="TIMED OUT (${timeout_s}s)"
    else
        result[$role]="FAILED (exit $rc)"
    fi
    if [ -e "/var/lib/crossgate/pools/$pool/state.json" ] || [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        cleanup_scenario "$role" "$pool"
    fi
    if [ -e "/var/lib/crossgate/pools/$pool/state.json" ]; then
        result[$role]="${result[$role]}; POOL LEFT: crossgate nodes down --pool $pool"
    elif [ -d "/var/lib/crossgate/pools/$pool" ] && [ "${result[$role]}" = PASSED ]; then
        result[$role]="FAILED (pool folder /var/lib/crossgate/pools/$pool left)"
    fi
    current_pool=""
done

echo
echo "molecule summary (molecule test per scenario; logs in $log_dir)"
printf '%-32s %9s  %s\n' ROLE SECONDS RESULT
status=0
for role in "${roles[@]}"; do
    printf '%-32s %9s  %s\n' "$role" "${seconds[$role]}" "${result[$role]}"
    [ "${result[$role]}" = PASSED ] || status=1
done
exit "$status"
