"""The `crossgate check` command."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

from crossgate.config import tenant as tenant_config
from crossgate.config.findings import ERROR, Finding, relpath, render
from crossgate.config.index import Index, Source, load
from crossgate.config.projects import AmbiguousProject, match, split_spec
from crossgate.config.repo import NotAZuulRepo, Repo, Unreadable, ZuulParser

from .library import check_library
from .resolve import Scope, check_references

# A repository says it is a crossgate-style job library (library rules on) with
# this file at its top holding `library: true`.
MARKER = ".crossgate.yaml"
MARKER_KEYS = {"library": bool}

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
    p.add_argument("--base-job", default=None,
                   help="the tenant's default base job (default: the tenant's default-parent "
                        "with --tenant-config, else base)")
    p.add_argument("--tenant-config", type=Path, metavar="FILE",
                   help="a tenant file in Zuul's format (main.yaml): load the projects it "
                        "names with its include/exclude and extra-config-paths; every one "
                        "must be supplied (PATH or --project), and a reference none of them "
                        "defines is an error, as in a scheduler")
    p.add_argument("--tenant", help="the tenant of --tenant-config (default: its only one)")
    lib = p.add_mutually_exclusive_group()
    lib.add_argument("--library", dest="library", action="store_true", default=None,
                     help="apply the library rules (default: when the repository's "
                          f"{MARKER} says library: true)")
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
    """The repository's name: owner/name from its git remote when PATH is a
    checkout's top and the remote is a network URL, else the folder's name."""
    top = _git(path, "rev-parse", "--show-toplevel")
    url = ""
    if top and Path(top).resolve() == path.resolve():
        url = _git(path, "config", "--get", "remote.origin.url")
    if ("://" in url and not url.startswith("file:")) or ("@" in url and ":" in url):
        tail = url.rstrip("/").removesuffix(".git").replace(":", "/").split("/")
        if len(tail) >= 2 and tail[-1] and not tail[-1].startswith("."):
            return "/".join(tail[-2:])
    return path.resolve().name


def _usage_error(args: argparse.Namespace, findings: list[Finding]) -> int:
    print(render(findings, args.format), file=sys.stdout if args.format == "json" else sys.stderr)
    return EXIT_USAGE


def _usage(msg: str) -> int:
    print(f"crossgate check: {msg}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    supplied_specs: list[tuple[str, Path]] = []
    for item in args.project:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            return _usage(f"--project {item!r}: expected NAME=PATH, e.g. "
                          "opendev/zuul-jobs=../zuul-jobs")
        supplied_specs.append((name, Path(path)))
    tenant = None
    if args.tenant_config is not None:
        try:
            tenant = tenant_config.read(args.tenant_config, args.tenant)
        except tenant_config.TenantConfigError as exc:
            return _usage(str(exc))
    elif args.tenant:
        return _usage("--tenant needs --tenant-config")
    base_job = args.base_job or (tenant.base_job if tenant else "base")

    sources: list[Source] = []
    for i, raw in enumerate(args.paths):
        root = Path(raw)
        host, name = split_spec(args.name if (i == 0 and args.name) else _project_name(root))
        sources.append(Source(name, root, host, list(args.extra_config_path)))
    checked_count = len(sources)
    for spec, root in supplied_specs:
        host, name = split_spec(spec)
        sources.append(Source(name, root, host, config_required=False))
    if tenant is not None:
        problem = _apply_tenant(tenant, sources, args.tenant_config)
        if problem:
            return _usage(problem)

    parser = ZuulParser()
    findings: list[Finding] = []
    fatal: list[Finding] = []
    repos: list[Repo] = []
    checked: list[Repo] = []
    for i, src in enumerate(sources):
        try:
            (repo,), found = load(parser, [src])
        except NotAZuulRepo as exc:
            fatal.append(Finding(relpath(src.root), 0, "not-a-zuul-repo",
                                 f"--project {src.name}: {exc}" if i >= checked_count
                                 else str(exc)))
            continue
        except Unreadable as exc:
            fatal.append(Finding(relpath(src.root), 0, "unreadable-input", str(exc)))
            continue
        repos.append(repo)
        if i < checked_count:
            checked.append(repo)
            findings += found
    if fatal:
        return _usage_error(args, fatal + findings)
    library = []
    for repo in checked:
        try:
            if _library_mode(args, repo):
                library.append(repo)
        except ValueError as exc:
            return _usage(str(exc))
    scope = Scope(Index(repos, base_job=base_job), complete=tenant is not None,
                  self_contained=bool(library) and checked_count == len(sources))
    findings += check_references(scope, checked)
    for repo in library:
        findings += check_library(repo)
    if args.quiet:
        findings = [f for f in findings if f.severity == ERROR]
    text = render(findings, args.format)
    if text:
        print(text)
    errors = sum(1 for f in findings if f.severity == ERROR)
    unreadable = any(f.rule == "unreadable-input" for f in findings)
    if args.format == "text":
        jobs = sum(len(r.of_kind("job")) for r in checked)
        files = sum(len(r.files) for r in checked)
        warnings = sum(1 for f in findings if f.severity == "warning")
        print(f"crossgate check: {len(checked)} repository(ies), {files} config file(s), "
              f"{jobs} job(s): {errors} error(s), {warnings} warning(s)"
              + (f"; tenant {tenant.name}" if tenant else ""), file=sys.stderr)
    if unreadable:
        return EXIT_USAGE
    return EXIT_FINDINGS if errors else EXIT_CLEAN


def _apply_tenant(tenant: tenant_config.Tenant, sources: list[Source],
                  path: Path) -> str | None:
    """Give each source the tenant's settings for it; every project of the tenant
    must be supplied, and only those."""
    used: set[int] = set()
    for tp in tenant.projects:
        try:
            found = match(sources, tp.name)
        except AmbiguousProject as exc:
            return f"{path}: {exc}"
        if found is None:
            return (f"tenant {tenant.name!r} loads project {tp.name!r} (source {tp.source}), "
                    f"which was not supplied: give its checkout as PATH (with --name "
                    f"{tp.name} for the first) or with --project {tp.name}=PATH")
        found.include = tp.include
        found.extra_paths = [*found.extra_paths,
                             *(p for p in tp.extra_paths if p not in found.extra_paths)]
        found.config_required = False
        used.add(id(found))
    extra = [s.name for s in sources if id(s) not in used]
    if extra:
        return (f"tenant {tenant.name!r} of {path} does not load " + ", ".join(extra)
                + "; its projects: " + ", ".join(tp.name for tp in tenant.projects))
    return None


def _library_mode(args: argparse.Namespace, repo: Repo) -> bool:
    """--library / --no-library, else what the repository's marker file says."""
    if args.library is not None:
        return bool(args.library)
    marker = repo.root / MARKER
    if not marker.is_file():
        return False
    try:
        data = yaml.safe_load(marker.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{relpath(marker)}: cannot be read as YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{relpath(marker)}: expected a mapping such as 'library: true', "
                         f"found {type(data).__name__}")
    for key, value in data.items():
        if key not in MARKER_KEYS:
            raise ValueError(f"{relpath(marker)}: unknown key {key!r}; allowed: "
                             + ", ".join(MARKER_KEYS))
        if not isinstance(value, MARKER_KEYS[key]):
            raise ValueError(f"{relpath(marker)}: {key}: {value!r} is not a boolean; "
                             "allowed: true or false")
    return bool(data.get("library", False))
