"""SIGINT and SIGTERM during ``crossgate run``: the build stops as Ctrl-C stops it.

The first signal raises KeyboardInterrupt where the build is (a playbook, a node boot), so every
attempt's ``finally`` takes its nodes and mirror server down; while that teardown runs it is
shielded (a signal then is only recorded), and later signals are ignored, so it completes. The
executor reports the build ABORTED and the command exits with 128 + the signal's number.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

_state = {"signal": 0, "shield": 0}


def _handler(signum: int, _frame: object) -> None:
    if _state["signal"]:
        return
    _state["signal"] = signum
    if not _state["shield"]:
        raise KeyboardInterrupt(signal.Signals(signum).name)


def received() -> int:
    """The number of the signal that stopped the build, or 0."""
    return _state["signal"]


def check() -> None:
    """Raise KeyboardInterrupt if a signal came while shielded."""
    if _state["signal"] and not _state["shield"]:
        raise KeyboardInterrupt(signal.Signals(_state["signal"]).name)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """A teardown that a signal must not cut short."""
    _state["shield"] += 1
    try:
        yield
    finally:
        _state["shield"] -= 1


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM handled as above for the duration of the block."""
    _state.update(signal=0, shield=0)
    previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
