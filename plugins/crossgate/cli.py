"""The `crossgate` command: check, nodes, run, report."""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .check import command as check_command

# Subcommands that live in their own packages; each module offers add_parser().
OPTIONAL_COMMANDS = ("crossgate.nodes.cli", "crossgate.runner.cli", "crossgate.mirror.cli",
                     "crossgate.report.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossgate",
        description="Zuul jobs and roles for cross-project integration: check a Zuul config, "
                    "start local nodes, run a job locally.")
    parser.add_argument("--version", action="version", version=f"crossgate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check_command.add_parser(sub)
    for module in OPTIONAL_COMMANDS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue
            raise
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
