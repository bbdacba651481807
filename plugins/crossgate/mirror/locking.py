"""A bounded file lock: one sync of a mirror folder at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from .model import MirrorError


@contextlib.contextmanager
def locked(path: Path, timeout: float, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; MirrorError naming it after ``timeout`` seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise MirrorError(
                        f"timed out after {timeout:.0f}s waiting for the lock {path} ({what}); "
                        "last state: held by another process"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)
