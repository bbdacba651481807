# shellcheck shell=bash
# ensure_packages NAME PKG...: install the Debian packages that are missing, as
# root or through sudo. Returns at once, without touching apt, when all are
# installed. NAME prefixes the messages.
#
# With ENSURE_PACKAGES_NO_START=1, packages may not start their services while
# they install (a policy-rc.d that says 101, removed again afterwards): there is
# no init system on the host, and callers run their own instances.
ensure_packages() {
    local name=$1
    shift
    local pkg status
    local missing=()
    for pkg in "$@"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        if [ "$status" != "installed" ]; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "$name: all $# packages already installed"
        return 0
    fi

    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    echo "$name: installing ${missing[*]}"

    local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
    if [ "${ENSURE_PACKAGES_NO_START:-0}" = 1 ] && [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
        $sudo chmod 755 "$policy"
        made_policy=1
    fi
    # Through env, not as an assignment before sudo: sudo resets the environment.
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
    if [ "$rc" -eq 0 ]; then
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "${missing[@]}" || rc=$?
    fi
    if [ "$made_policy" = 1 ]; then
        $sudo rm -f "$policy"
    fi
    return "$rc"
}
