"""The command line shared by crossgate's generators of checked-in files (rolevars, variants):

    python -m crossgate.config.NAME [--write] [ROOT]

Without --write a generator reports what is stale (or prints what it would write); ROOT is the
repository (default: the current folder). Anything else is refused, naming it.
"""

from __future__ import annotations

from pathlib import Path


class UsageError(ValueError):
    """An argument the generators do not take."""


def parse_args(argv: list[str]) -> tuple[bool, Path]:
    """(--write given, ROOT) from ARGV; UsageError names what is not allowed."""
    write = False
    roots: list[str] = []
    for arg in argv:
        if arg == "--write":
            write = True
        elif arg.startswith("-"):
            raise UsageError(f"option {arg!r} is not allowed; allowed: --write, and a ROOT folder")
        else:
            roots.append(arg)
    if len(roots) > 1:
        raise UsageError(f"ROOT: {len(roots)} folders given ({', '.join(roots)}); allowed: one")
    root = Path(roots[0] if roots else ".")
    if not root.is_dir():
        raise UsageError(f"ROOT: {str(root)!r} is not a folder; allowed: the repository's folder")
    return write, root
