"""The real-Zuul test starts ZooKeeper, PostgreSQL, Zuul and local nodes: root only."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "zuul: runs crossgate's jobs in a real Zuul started on this machine (root)")
