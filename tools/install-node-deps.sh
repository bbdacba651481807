#!/bin/bash
# Install what `crossgate nodes` (local provider) needs on the host: systemd-nspawn, debootstrap,
# the bridge/veth tools, iptables for the per-bridge FORWARD rules, and the SSH client.
# Idempotent: when every package is already installed it returns at once without touching apt.
set -euo pipefail

PACKAGES=(
    systemd-container   # systemd-nspawn
    debootstrap         # image builds
    debian-archive-keyring
    iproute2            # ip link/addr for bridges and veths
    iptables            # FORWARD rules scoped to a pool's bridge
    openssh-client      # ssh, ssh-keygen
    procps              # ps, used in diagnostics
    iputils-ping        # host-to-node checks in the e2e tests
    zstd                # image tarball compression
    apt-utils           # apt-ftparchive indexes the host mirror
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-node-deps: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "install-node-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
