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

# shellcheck source=tools/lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"
# Packages must not start their services here (no init system; and the test
# runs its own instances on its own ports).
ENSURE_PACKAGES_NO_START=1 ensure_packages install-zuul-deps "${PACKAGES[@]}"
