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

# shellcheck source=tools/lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"
ensure_packages install-node-deps "${PACKAGES[@]}"
