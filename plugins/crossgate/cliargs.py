"""Argument types shared by crossgate's commands.

Every number an option takes is checked by argparse as the command line is parsed: a word,
0 where 0 makes no sense, a negative or an out-of-range value is refused before anything is
started, naming the option (argparse adds it), the value and what is allowed."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

MAX_SECONDS = 86400.0
# An age (apt lists' --lists-max-age) may be 0 (always refresh) and up to a year.
MAX_AGE_SECONDS = 365 * 86400.0


def _number(text: str, allowed: str, kind: type[float] | type[int] = float) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {'an integer' if kind is int else 'a number'}; "
            f"allowed: {allowed}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; allowed: {allowed}")
    return value


def seconds(text: str) -> float:
    """A bound in seconds given on the command line: a number above 0, at most a day."""
    allowed = f"a number of seconds above 0, at most {MAX_SECONDS:.0f}"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds; allowed: a number above 0, at most "
            f"{MAX_SECONDS:.0f}") from None
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; allowed: {allowed}")
    return value


def age_seconds(text: str) -> float:
    """An age in seconds: 0 or more, at most a year."""
    allowed = f"a number of seconds from 0 to {MAX_AGE_SECONDS:.0f}"
    value = _number(text, allowed)
    if not 0 <= value <= MAX_AGE_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; allowed: {allowed}")
    return value


def integer(low: int, high: int, what: str = "an integer") -> Callable[[str], int]:
    """An integer from LOW to HIGH; WHAT names it in the message ("a TCP port")."""
    allowed = f"{what} from {low} to {high}"

    def parse(text: str) -> int:
        value = int(_number(text, allowed, int))
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; allowed: {allowed}")
        return value

    parse.__name__ = "integer"  # argparse's fallback message names the type
    return parse


port = integer(1, 65535, "a TCP port")
