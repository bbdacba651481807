"""`crossgate run JOB`: run a Zuul job locally, the way a Zuul executor would."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from crossgate.cliargs import seconds
from crossgate.config.findings import ERROR
from crossgate.config.freeze import FreezeError, FrozenJob, freeze
from crossgate.config.index import Index, Source, load
from crossgate.config.projects import AmbiguousProject
from crossgate.config.repo import NotAZuulRepo, Unreadable, ZuulParser, load_repo
from crossgate.resources import data_root

from . import interrupt
from . import inventory as inv
from .execute import Executor, RunOptions
from .projects import Project

BASE_REPO = Path(__file__).resolve().parent / "base"
CROSSGATE_ROLES = "crossgate/builtin-roles"
EXIT_SUCCESS, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run", help="run a Zuul job on local nodes",
        description="Freeze JOB as Zuul does (parents, variants, vars precedence), start its "
                    "nodeset on local nodes (or machines listed in an inventory), run its "
                    "playbooks in Zuul's order with Zuul's variables, and report the result. "
                    "Exit 0 on SUCCESS, 1 on any other result, 2 on bad input.")
    p.add_argument("job", help="the job to run")
    p.add_argument("--path", default=".", help="the project under test (default: .)")
    p.add_argument("--name", help="its project name (default: from its folder)")
    p.add_argument("--project", action="append", default=[], metavar="NAME=PATH",
                   help="another project (required-projects, roles, jobs); NAME may start "
                        "with a host name, e.g. opendev.org/zuul/zuul-jobs")
    p.add_argument("--extra-config-path", action="append", default=[], metavar="PATH",
                   help="also load this config path of the project under test "
                        "(like a tenant's extra-config-paths, e.g. zuul-tests.d)")
    p.add_argument("--branch", help="branch for variant matching (default: the checkout's)")
    p.add_argument("--provider", choices=("local", "inventory"), default="local")
    p.add_argument("--inventory", type=Path, help="YAML inventory for --provider inventory")
    p.add_argument("--pool", help="node pool name (default: one per build)")
    p.add_argument("--label", action="append", default=[], metavar="LABEL=IMAGE",
                   help="boot LABEL from IMAGE (an image name or a root file system folder), "
                        "like a nodepool label; adds to the built-in label table")
    p.add_argument("--boot-timeout", type=seconds, default=60.0,
                   help="seconds a local node may take to answer SSH (default: 60)")
    p.add_argument("--unreachable-after", type=seconds, default=60.0,
                   help="seconds a node may stop answering over SSH (keepalives every 15 s) "
                        "before its task is UNREACHABLE, e.g. a node that died (default: 60)")
    p.add_argument("--link-mtu", action="append", default=[], metavar="NODE=MTU",
                   help="local provider: the MTU a node's link to the bridge carries, below "
                        "its interface's 1500 (a smaller path MTU, as on some clouds)")
    p.add_argument("-e", "--extra-var", action="append", default=[], metavar="VAR=VALUE",
                   help="an extra variable, above everything (value parsed as YAML); "
                        "@FILE reads a YAML file")
    p.add_argument("--build-root", type=Path, default=Path("build/runs"),
                   help="where build directories go (default: build/runs)")
    p.add_argument("--base-job", default="base",
                   help="the tenant's base job name; crossgate's built-in base replaces it")
    p.add_argument("--mirror-dir", type=Path, default=Path("/var/cache/crossgate/mirror"),
                   help="host mirror served to local nodes (default: "
                        "/var/cache/crossgate/mirror)")
    p.add_argument("--no-mirror", action="store_true",
                   help="do not sync or serve the host mirror")
    p.add_argument("--pipeline", default="local",
                   help="zuul.pipeline of the build (default: local)")
    p.add_argument("--tenant", default="local", help="zuul.tenant of the build (default: local)")
    p.add_argument("-v", "--verbose", action="store_true", help="ansible-playbook -vvv")
    p.set_defaults(func=run)


def parse_extra_vars(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if item.startswith("@"):
            allowed = "allowed: a readable YAML file holding a mapping of variables"
            try:
                data = yaml.safe_load(Path(item[1:]).read_text())
            except OSError as exc:
                raise ValueError(f"-e {item}: cannot be read ({exc.strerror}); {allowed}") from exc
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" at line {mark.line + 1}" if mark is not None else ""
                raise ValueError(f"-e {item}: not valid YAML{where} "
                                 f"({getattr(exc, 'problem', None) or exc}); {allowed}") from exc
            if not isinstance(data, dict):
                raise ValueError(f"-e {item}: the file holds a {type(data).__name__}, not a "
                                 f"mapping; {allowed}")
            out.update(data)
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"-e {item!r}: expected VAR=VALUE with VAR a variable name "
                             "(letters, digits, _), or @FILE")
        try:
            out[name] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError as exc:
            raise ValueError(f"-e {item!r}: the value of {name} is not valid YAML "
                             f"({getattr(exc, 'problem', None) or exc}); allowed: a YAML value "
                             "(quote a string that starts with [, {, * or &)") from exc
    return out


def _usage(msg: str) -> int:
    print(f"crossgate run: {msg}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace, pool_options: dict[str, Any] | None = None) -> int:
    try:
        extra_vars = parse_extra_vars(args.extra_var)
    except ValueError as exc:
        return _usage(str(exc))
    labels: dict[str, str] = {}
    for item in args.label:
        label, sep, image = item.partition("=")
        if not sep or not label or not image:
            return _usage(f"--label {item!r}: expected LABEL=IMAGE")
        labels[label] = image
    if args.provider == "inventory" and not args.inventory:
        return _usage("--provider inventory needs --inventory FILE")
    from crossgate.nodes import InvalidInput
    from crossgate.nodes.model import parse_link_mtus
    try:
        link_mtus = parse_link_mtus(args.link_mtu)
    except InvalidInput as exc:
        return _usage(str(exc))
    if link_mtus and args.provider != "local":
        return _usage(f"--link-mtu {args.link_mtu[0]!r}: only with --provider local")
    # parse: the projects of the build
    root = Path(args.path).resolve()
    project = Project.parse(args.name or root.name, root)
    projects = [project]
    for item in args.project:
        name, sep, path = item.partition("=")
        if not sep or not name or not path or not Path(path).is_dir():
            return _usage(f"--project {item!r}: expected NAME=PATH with PATH a folder")
        projects.append(Project.parse(name, Path(path).resolve()))
    # load: one index of what they define
    parser = ZuulParser()
    try:
        index = load_index(parser, projects, args.extra_config_path, args.base_job)
    except (ValueError, AmbiguousProject) as exc:
        return _usage(str(exc))
    base_repo, _ = load_repo(parser, "crossgate/builtin-base", BASE_REPO)
    # freeze: the job as Zuul would run it
    if args.job not in index.jobs:
        close = sorted(n for n in index.jobs if args.job.split("-")[0] in n)[:8]
        return _usage(f"job {args.job!r} is not defined in "
                      f"{', '.join(p.name for p in projects)}"
                      + (f"; similar: {', '.join(close)}" if close else "")
                      + "; allowed: a job those projects define")
    branch = args.branch or project.branch()
    try:
        frozen: FrozenJob = freeze(index.jobs, args.job, branch, args.base_job, base_repo)
        nodeset = inv.nodeset_from(frozen.nodeset,
                                   {n: st.conf for n, st in index.nodesets.items()})
    except (FreezeError, inv.NodesetError) as exc:
        return _usage(str(exc))
    if frozen.abstract:
        return _usage(f"job {args.job!r} is abstract; run a job that inherits from it")
    if not frozen.run:
        return _usage(f"job {args.job!r} has no run playbook (Zuul refuses such a job)")
    # execute
    # --link-mtu names a node of the nodeset (any of its names); the pool knows it by its first.
    first_name = {n: h.names[0] for h in nodeset.hosts for n in h.names}
    for name in link_mtus:
        if name not in first_name:
            return _usage(f"--link-mtu {name}={link_mtus[name]}: no node {name!r} in the job's "
                          "nodeset; its nodes: " + ", ".join(nodeset.node_names))
    link_mtus = {first_name[n]: mtu for n, mtu in link_mtus.items()}
    projects.append(Project(base_repo.name, base_repo.root))
    # The built-in base takes roles (configure-mirrors) from crossgate itself.
    projects.append(Project(CROSSGATE_ROLES, data_root()))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    build_dir = (args.build_root / f"{stamp}-{args.job}").resolve()
    pool_name = args.pool or f"run-{build_dir.name[-24:]}".replace("_", "-")

    def provider_factory(attempt: int) -> Any:
        from crossgate.nodes import open_pool
        from crossgate.nodes.labels import LABELS
        if args.provider == "inventory":
            return open_pool("inventory", pool_name, inventory=args.inventory)
        # A finished build's nodes are deleted as a cloud deletes a server: no shutdown (their
        # logs are fetched by then), unless the caller keeps a node's layer (grace given).
        return open_pool("local", pool_name, labels={**LABELS, **labels},
                         boot_timeout=args.boot_timeout, link_mtus=link_mtus,
                         **{"grace": 0.0, **(pool_options or {})})

    with interrupt.interruptible():
        try:
            rc = _execute(args, frozen, nodeset, projects, project, provider_factory, build_dir,
                          pool_name, labels, extra_vars)
        except KeyboardInterrupt:  # before the build started (an image being baked)
            rc = EXIT_FAILED
            print(f"crossgate run: {args.job}: interrupted before the build started",
                  file=sys.stderr)
        got = interrupt.received()
    return 128 + got if got else rc


def _execute(args: argparse.Namespace, frozen: FrozenJob, nodeset: Any, projects: list[Project],
             project: Project, provider_factory: Any, build_dir: Path, pool_name: str,
             labels: dict[str, str], extra_vars: dict[str, Any]) -> int:
    if args.provider == "local":
        # A label that boots a baked image: build the image first if it is missing or stale
        # (as a nodepool builder has an image ready before it launches a node from it).
        from crossgate.nodes import NodeFailure
        from crossgate.nodes.bake import BAKES, ensure_baked
        from crossgate.nodes.labels import LABELS
        table = {**LABELS, **labels}
        for image in sorted({table.get(h.label, "") for h in nodeset.hosts} & set(BAKES)):
            try:
                ensure_baked(image, mirror_dir=None if args.no_mirror else args.mirror_dir,
                             build_root=args.build_root / "images")
            except NodeFailure as exc:
                print(f"crossgate run: {args.job}: NODE_FAILURE: {exc}", file=sys.stderr)
                return EXIT_FAILED

    executor = Executor(frozen, nodeset, projects, project, provider_factory, build_dir,
                        RunOptions(extra_vars=extra_vars, verbose=args.verbose,
                                   unreachable_after=args.unreachable_after,
                                   pipeline=args.pipeline, tenant=args.tenant,
                                   mirror_dir=None if args.no_mirror or
                                   args.provider != "local" else args.mirror_dir))
    from crossgate.nodes import DEFAULT_STATE_ROOT
    pool_dir = DEFAULT_STATE_ROOT / pool_name
    pool_is_new = not pool_dir.exists()
    try:
        build = executor.execute()
    finally:  # also when the build ends by an exception: the pool's nodes are down by then
        if pool_is_new and args.provider == "local":
            _forget_pool(pool_dir, build_dir)
    print(f"crossgate run: {args.job}: {build.result}; console log "
          f"{build_dir / 'work' / 'logs' / 'job-output.txt'}; build {build_dir}")
    return EXIT_SUCCESS if build.result == "SUCCESS" else EXIT_FAILED


def load_index(parser: ZuulParser, projects: list[Project], extra_paths: list[str],
               base_job: str) -> Index:
    """Load every project (the first with `extra_paths`) into one index; ValueError
    naming the project when its Zuul config has errors a scheduler would refuse."""
    sources = [Source(p.name, p.root, p.canonical_hostname,
                      list(extra_paths) if i == 0 else [], config_required=False)
               for i, p in enumerate(projects)]
    repos = []
    for src in sources:
        try:
            (repo,), findings = load(parser, [src])
        except (NotAZuulRepo, Unreadable) as exc:
            raise ValueError(f"project {src.name}: {exc}") from exc
        errors = [f for f in findings if f.severity == ERROR
                  and f.rule in ("yaml-syntax", "zuul-syntax", "unknown-key")]
        if errors:
            for f in errors:
                print(f.text(), file=sys.stderr)
            raise ValueError(f"the Zuul config of {src.name} has errors; fix them first "
                             "(crossgate check shows them all)")
        repos.append(repo)
    return Index(repos, base_job=base_job)


def _forget_pool(pool_dir: Path, build_dir: Path) -> None:
    """Remove the folder of a pool this build made, once its nodes are down; the
    nodes' console logs move to the build directory (node-consoles/)."""
    import shutil

    from crossgate.nodes import system

    if not pool_dir.is_dir() or (pool_dir / "state.json").exists() \
            or system.mounts_under(pool_dir):
        return
    logs = pool_dir / "logs"
    if logs.is_dir():
        shutil.copytree(logs, build_dir / "node-consoles", dirs_exist_ok=True)
    shutil.rmtree(pool_dir, ignore_errors=True)
