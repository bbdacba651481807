"""Argument types shared by crossgate's commands."""

from __future__ import annotations

import argparse

MAX_SECONDS = 86400.0


def seconds(text: str) -> float:
    """A bound in seconds given on the command line: a number above 0, at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds; allowed: a number above 0, at most "
            f"{MAX_SECONDS:.0f}") from None
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is out of range; allowed: a number of seconds above 0, at most "
            f"{MAX_SECONDS:.0f}")
    return value
