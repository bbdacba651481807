"""Processes crossgate started, told apart from later processes that reuse their PID.

A process is identified by its PID together with its start time (clock ticks since
boot, from /proc/PID/stat), so a stop never hits a stranger that got the same PID.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def proc_start_time(pid: int) -> int | None:
    """Start time (clock ticks since boot) of ``pid``, None if it does not exist or is a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def reap(pid: int) -> None:
    """Collect ``pid`` if it is a child of this process (no zombie stays behind)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def alive(pid: int | None, start: int | None) -> bool:
    """Whether ``pid`` runs and is still the process that started at ``start``."""
    if not pid:
        return False
    reap(pid)
    now = proc_start_time(pid)
    return now is not None and (start is None or now == start)
