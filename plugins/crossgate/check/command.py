"""The `crossgate check` command."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from .findings import ERROR, Finding, relpath, render
from .library import check_library
from .resolve import Index, check_references
from .zuulconfig import NotAZuulRepo, Repo, ZuulParser, load_repo

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check", help="validate Zuul config trees with Zuul's own parser",
        description="Load each repository's Zuul config with the zuul package's configloader, "
                    "then resolve parents, nodesets, playbooks, roles, semaphores, "
                    "project-templates and dependencies, and apply the library rules. "
                    "Exit 0: clean; 1: findings; 2: usage error or unreadable input.")
    p.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                   help="repository to check (default: the current directory)")
    p.add_argument("--project", action="append", default=[], metavar="NAME=PATH",
                   help="another repository (e.g. opendev/zuul-jobs=../zuul-jobs) whose jobs, "
                        "nodesets and roles may be referenced; loaded but not reported on")
    p.add_argument("--name", help="project name of the first PATH (default: its folder name)")
    p.add_argument("--extra-config-path", action="append", default=[], metavar="PATH",
                   help="also load this file or folder of each PATH, like a tenant's "
                        "extra-config-paths (e.g. zuul-tests.d)")
    p.add_argument("--base-job", default="base",
                   help="the tenant's default base job (default: base)")
    lib = p.add_mutually_exclusive_group()
    lib.add_argument("--library", dest="library", action="store_true", default=None,
                     help="apply the library rules (default: when the tree has zuul.d/ and "
                          "roles/)")
    lib.add_argument("--no-library", dest="library", action="store_false")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("-q", "--quiet", action="store_true", help="hide info lines")
    p.set_defaults(func=run)


def _git(path: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(path), *args],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _project_name(path: Path) -> str:
    """The repository's name: from its git remote when PATH is a checkout's top,
    else the folder's name."""
    top = _git(path, "rev-parse", "--show-toplevel")
    url = ""
    if top and Path(top).resolve() == path.resolve():
        url = _git(path, "config", "--get", "remote.origin.url")
    if url:
        tail = url.rstrip("/").removesuffix(".git").replace(":", "/").split("/")
        if len(tail) >= 2 and tail[-1] and not tail[-1].startswith("."):
            return "/".join(tail[-2:])
    return path.resolve().name


def _usage_error(args: argparse.Namespace, findings: list[Finding]) -> int:
    print(render(findings, args.format), file=sys.stdout if args.format == "json" else sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    extra_projects: list[tuple[str, Path]] = []
    for item in args.project:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            print(f"crossgate check: --project {item!r}: expected NAME=PATH, e.g. "
                  "opendev/zuul-jobs=../zuul-jobs", file=sys.stderr)
            return EXIT_USAGE
        extra_projects.append((name, Path(path)))
    parser = ZuulParser()
    findings: list[Finding] = []
    checked: list[Repo] = []
    fatal: list[Finding] = []
    for i, raw in enumerate(args.paths):
        root = Path(raw)
        name = args.name if (i == 0 and args.name) else _project_name(root)
        try:
            repo, found = load_repo(parser, name, root, args.extra_config_path)
        except NotAZuulRepo as exc:
            fatal.append(Finding(relpath(root), 0, "not-a-zuul-repo", str(exc)))
            continue
        checked.append(repo)
        findings += found
    supplied: list[Repo] = []
    for name, root in extra_projects:
        try:
            repo, _ = load_repo(parser, name, root)
        except NotAZuulRepo:
            # A role-only repository has no Zuul config; it still supplies roles.
            if not root.is_dir():
                fatal.append(Finding(relpath(root), 0, "not-a-zuul-repo",
                                     f"--project {name}: {relpath(root)} is not a directory"))
                continue
            repo = Repo(name=name, root=root)
        supplied.append(repo)
    if fatal:
        return _usage_error(args, fatal + findings)
    library = [r for r in checked if _library_mode(args, r)]
    index = Index(checked + supplied, base_job=args.base_job,
                  self_contained=bool(library) and not supplied)
    findings += check_references(index, checked)
    for repo in library:
        findings += check_library(repo)
    if args.quiet:
        findings = [f for f in findings if f.severity == ERROR]
    text = render(findings, args.format)
    if text:
        print(text)
    errors = sum(1 for f in findings if f.severity == ERROR)
    if args.format == "text":
        jobs = sum(len(r.of_kind("job")) for r in checked)
        files = sum(len(r.files) for r in checked)
        print(f"crossgate check: {len(checked)} repository(ies), {files} config file(s), "
              f"{jobs} job(s): {errors} error(s)", file=sys.stderr)
    return EXIT_FINDINGS if errors else EXIT_CLEAN


def _library_mode(args: argparse.Namespace, repo: Repo) -> bool:
    if args.library is not None:
        return bool(args.library)
    return (repo.root / "zuul.d").is_dir() and (repo.root / "roles").is_dir()
