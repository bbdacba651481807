"""e2e tests start real nodes: they need root, systemd-nspawn and debootstrap on the host."""

from __future__ import annotations

import os
import shutil

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: starts real nodes on this machine (root only)")


# The longest builds first, so that the two workers of --dist loadscope start them at once
# and the shorter modules fill in around them.
LONGEST_FIRST = ("test_openstack_ceph.py", "test_ceph.py")
# Last: the Kubernetes build needs its Go program set, which tools/test.sh starts building in
# the background when the suite starts (the test waits for that build, or builds the set).
LAST = ("test_kubernetes.py",)


def order(item: pytest.Item) -> int:
    path = item.nodeid.split("::")[0]
    if path.endswith(LAST):
        return len(LONGEST_FIRST) + 1
    return next((i for i, name in enumerate(LONGEST_FIRST) if path.endswith(name)),
                len(LONGEST_FIRST))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=order)
    missing = [t for t in ("systemd-nspawn", "debootstrap", "iptables") if not shutil.which(t)]
    reason = ""
    if os.geteuid() != 0:
        reason = "needs root"
    elif missing:
        reason = f"needs {', '.join(missing)} (run tools/install-node-deps.sh)"
    if not reason:
        return
    if os.environ.get("CI"):
        # In CI these tests are the point: a machine that cannot run them fails.
        raise pytest.UsageError(f"e2e tests cannot run here: {reason}")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))
