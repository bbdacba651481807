"""A bounded exclusive file lock (flock), shared by node pools, images and the mirror."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class LockTimeout(TimeoutError):
    """The lock stayed held by another process for the whole timeout."""


def acquire(path: Path, timeout: float, poll: float = 0.2) -> int:
    """Open ``path`` (created if absent) and lock it; return the descriptor, which holds
    the lock until closed. LockTimeout after ``timeout`` seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockTimeout(path) from None
            time.sleep(poll)
