#!/bin/bash
# Install what the real-Zuul test (tests/zuul) needs on the host besides the node
# tools: ZooKeeper (Debian; started by the harness with TLS, not as a service),
# PostgreSQL, bubblewrap for the executor, openssl for the test certificates,
# git for the git connection. Idempotent: when every package is installed it
# returns at once without touching apt. The Debian services are not started or
# enabled: the harness starts its own instances in a temporary folder.
set -euo pipefail

PACKAGES=(
    zookeeper           # the jars the harness runs QuorumPeerMain from
    default-jre-headless
    postgresql          # initdb, postgres, createdb
    bubblewrap          # the executor's sandbox
    openssl             # CA, server and client certificates for ZooKeeper
    git
    iproute2            # the executor's network namespace
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-zuul-deps: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "install-zuul-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages must not start their services here (no init system; and the test runs
# its own instances on its own ports).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    made_policy=1
fi
trap '[ "$made_policy" = 1 ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
