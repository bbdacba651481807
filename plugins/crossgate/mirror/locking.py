"""A bounded file lock: one sync of a mirror folder at a time."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from crossgate.locks import LockTimeout, acquire

from .model import MirrorError


@contextlib.contextmanager
def locked(path: Path, timeout: float, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; MirrorError naming it after ``timeout`` seconds."""
    try:
        fd = acquire(path, timeout)
    except LockTimeout:
        raise MirrorError(
            f"timed out after {timeout:.0f}s waiting for the lock {path} ({what}); "
            "last state: held by another process"
        ) from None
    try:
        yield
    finally:
        os.close(fd)
