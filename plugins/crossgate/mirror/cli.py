"""``crossgate mirror sync|serve|stop|status``: fill the host mirror and serve it to nodes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from crossgate.cliargs import age_seconds, port, seconds

from . import apt, gobuild, server, wheels
from .model import (
    DEFAULT_DIR,
    DEFAULT_PORT,
    DEFAULT_STATE_DIR,
    AptReport,
    InvalidInput,
    MirrorError,
    WheelReport,
)

EXIT_INPUT = 2
EXIT_FAILURE = 1


def add_parser(subparsers: Any) -> None:
    """Add ``mirror`` with ``sync``, ``serve``, ``stop`` and ``status`` to a subparsers object."""
    mirror = subparsers.add_parser(
        "mirror",
        help="fetch apt packages and wheels on the host and serve them to nodes",
        description="The host mirror for nodes without egress. See docs/mirror.rst.",
    )
    sub = mirror.add_subparsers(dest="mirror_command", metavar="ACTION")
    mirror.set_defaults(func=lambda args: _usage(mirror))

    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help="mirror folder (default: %(default)s)"
    )
    server_opts = argparse.ArgumentParser(add_help=False)
    server_opts.add_argument(
        "--address",
        required=True,
        help="address to bind: the host's address on the node bridge, or 127.0.0.1",
    )
    server_opts.add_argument("--port", type=port, default=DEFAULT_PORT, help="default %(default)s")
    server_opts.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where server PID files and logs live (default: %(default)s)",
    )
    fmt = argparse.ArgumentParser(add_help=False)
    fmt.add_argument("--format", choices=("text", "json"), default="text")

    sync = sub.add_parser(
        "sync", parents=[where, fmt], help="download apt closures and wheels into the mirror"
    )
    sync.add_argument(
        "--package",
        action="append",
        default=[],
        metavar="NAME[,NAME...]",
        help="Debian package whose whole dependency closure is mirrored; repeatable",
    )
    sync.add_argument(
        "--requirement",
        action="append",
        default=[],
        metavar="SPEC",
        help="pip requirement spec (e.g. six, keystone==27.0.0); repeatable",
    )
    sync.add_argument("--requirements-file", action="append", default=[], type=Path, metavar="FILE")
    sync.add_argument("--constraints", type=Path, metavar="FILE", help="pip constraints file")
    sync.add_argument("--python", help="Python 3.11 interpreter to run pip with")
    sync.add_argument("--recommends", action="store_true", help="include Recommends in closures")
    sync.add_argument(
        "--refresh",
        action="store_true",
        help="update apt lists and ask the package index even if the mirror has what is needed",
    )
    sync.add_argument(
        "--lists-max-age",
        type=age_seconds,
        default=6 * 3600,
        help="seconds after which apt lists are updated (default %(default)s)",
    )
    sync.add_argument(
        "--go-pins",
        type=Path,
        metavar="FILE",
        help="YAML file of program sets pinned to Go module versions (built into go/)",
    )
    sync.add_argument(
        "--go-set",
        action="append",
        default=[],
        metavar="NAME",
        help="program set of --go-pins to build (once per version set); repeatable",
    )
    sync.add_argument("--go", default="go", help="the go command (default: %(default)s)")
    sync.add_argument("--timeout", type=seconds, default=1800.0,
                      help="seconds per apt/pip step and per Go group build")
    sync.set_defaults(func=cmd_sync)

    serve = sub.add_parser(
        "serve", parents=[where, server_opts, fmt], help="serve the mirror folder over HTTP"
    )
    serve.add_argument(
        "--timeout", type=seconds, default=10.0, help="seconds until it answers (default 10)"
    )
    serve.set_defaults(func=cmd_serve)

    stop = sub.add_parser("stop", parents=[server_opts, fmt], help="stop a mirror server")
    stop.add_argument("--grace", type=seconds, default=5.0, help="seconds before SIGKILL")
    stop.set_defaults(func=cmd_stop)

    status = sub.add_parser("status", parents=[fmt], help="list mirror servers")
    status.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    status.set_defaults(func=cmd_status)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_INPUT


def _guard(func: Any) -> Any:
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except InvalidInput as exc:
            print(f"crossgate mirror: error: {exc}", file=sys.stderr)
            return EXIT_INPUT
        except MirrorError as exc:
            print(f"crossgate mirror: error: {exc}", file=sys.stderr)
            return EXIT_FAILURE

    wrapper.__name__ = func.__name__
    return wrapper


def split_names(values: list[str]) -> list[str]:
    """``--package a,b --package c`` → ``[a, b, c]`` (commas or blanks separate names)."""
    return [n for v in values for n in v.replace(",", " ").split()]


def format_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.2f} GiB"


def apt_summary(r: AptReport) -> str:
    return (
        f"apt: {r.closure} packages in the closure of {' '.join(r.packages)}: "
        f"{r.downloaded} downloaded ({format_bytes(r.downloaded_bytes)}), "
        f"{r.present} already present ({format_bytes(r.present_bytes)}); "
        f"lists {'updated' if r.lists_updated else 'reused'}, "
        f"index {'rebuilt' if r.indexed else 'unchanged'}; {r.seconds:.1f}s"
    )


def wheel_summary(r: WheelReport) -> str:
    how = "wheelhouse only" if r.offline else "package index asked"
    return (
        f"wheels: {r.wheels} wheels for {' '.join(r.requirements)}: {r.downloaded} new "
        f"({format_bytes(r.downloaded_bytes)}), {r.present} already present "
        f"({format_bytes(r.present_bytes)}); {how}; {r.seconds:.1f}s"
    )


@_guard
def cmd_sync(args: argparse.Namespace) -> int:
    packages = split_names(args.package)
    if not packages and not args.requirement and not args.requirements_file and not args.go_set:
        raise InvalidInput(
            "--package", "",
            "at least one --package, --requirement, --requirements-file or --go-set"
        )
    if bool(args.go_set) != bool(args.go_pins):
        raise InvalidInput("--go-set" if args.go_pins else "--go-pins",
                           "", "--go-pins FILE and --go-set NAME together")
    go_sets = gobuild.load_sets(args.go_pins) if args.go_pins else {}
    for name in args.go_set:
        if name not in go_sets:
            raise InvalidInput("--go-set", name, "one of " + ", ".join(sorted(go_sets))
                               + f" (the sets of {args.go_pins})")
    if packages:
        apt.validate_packages(packages)
    if args.requirement:
        wheels.validate_requirements(args.requirement)
    out: dict[str, object] = {"dir": str(args.dir)}
    if packages:
        report = apt.sync_apt(
            packages,
            args.dir,
            recommends=args.recommends,
            refresh=args.refresh,
            lists_max_age=args.lists_max_age,
            timeout=args.timeout,
        )
        out["apt"] = report.to_dict()
        if args.format == "text":
            print(apt_summary(report))
    if args.requirement or args.requirements_file:
        wreport = wheels.sync_wheels(
            args.requirement,
            args.dir,
            requirement_files=args.requirements_file,
            constraints=args.constraints,
            python=args.python,
            refresh=args.refresh,
            timeout=args.timeout,
        )
        out["wheels"] = wreport.to_dict()
        if args.format == "text":
            print(wheel_summary(wreport))
    for name in args.go_set:
        greport = gobuild.GoBuilder(
            args.dir, args.go, args.timeout,
            progress=(lambda line: print(line, flush=True)) if args.format == "text" else None,
        ).build(name, go_sets[name])
        out.setdefault("go", []).append(greport.to_dict())  # type: ignore[union-attr]
        if args.format == "text":
            print(f"go: {name}: {len(greport.programs)} programs in {greport.bin_dir}"
                  + (f", {len(greport.files)} files beside them" if greport.files else "") + "; "
                  + ("built" if greport.built else "built before") + f"; {greport.seconds:.1f}s")
    if args.format == "json":
        print(json.dumps(out, indent=2))
    return 0


@_guard
def cmd_serve(args: argparse.Namespace) -> int:
    state = server.start(args.dir, args.address, args.port, args.state_dir, args.timeout)
    urls = server.mirror_urls(state.address, state.port)
    if args.format == "json":
        print(json.dumps({**state.to_dict(), "urls": urls}, indent=2))
    else:
        print(f"serving {state.directory} on {state.url}/ (pid {state.pid}, log {state.log})")
        print(f"  apt:   {apt.sources_line(urls['apt'])}")
        print(f"  pypi:  index-url = {urls['pypi']}")
        print(f"  links: find-links = {urls['wheels']}")
    return 0


@_guard
def cmd_stop(args: argparse.Namespace) -> int:
    was = server.stop(args.address, args.port, args.state_dir, args.grace)
    url = server.base_url(server.validate_address(args.address), args.port)
    if args.format == "json":
        print(json.dumps({"url": url, "stopped": was}))
    else:
        print(f"mirror server on {url}: {'stopped' if was else 'was not running'}")
    return 0


@_guard
def cmd_status(args: argparse.Namespace) -> int:
    rows = server.status(args.state_dir)
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no mirror servers")
        return 0
    for r in rows:
        state = "running" if r["running"] else "dead"
        print(f"{r['url']:<28} {state:<8} pid {r['pid']:<8} {r['directory']}  log {r['log']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry: ``python -m crossgate.mirror.cli mirror sync ...`` (or without the
    leading ``mirror``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != ["mirror"] and not (argv[:1] and argv[0] in ("-h", "--help")):
        argv = ["mirror", *argv]
    parser = argparse.ArgumentParser(prog="crossgate")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_parser(sub)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_INPUT
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
