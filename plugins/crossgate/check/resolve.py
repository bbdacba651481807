"""References that Zuul's parser accepts but only a loaded tenant resolves.

Zuul's configloader validates each stanza alone; whether a parent, nodeset,
semaphore, project-template, dependency or playbook exists is decided later,
when a tenant layout is built or when a job runs. This module resolves those
references across every repository given to `crossgate check`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import yamlfile
from .findings import INFO, Finding, relpath
from .zuulconfig import Repo, Stanza

PLAYBOOK_ATTRS = ("pre-run", "run", "post-run", "cleanup-run")
# Keys of a project or project-template stanza that are not pipelines.
PROJECT_NON_PIPELINES = {"name", "description", "templates", "merge-mode", "default-branch",
                         "vars", "queue", "branches", "_source_context", "_start_mark"}


def unwrap(value: Any) -> Any:
    """Strip Zuul's !override / !inherit wrappers."""
    return getattr(value, "value", value) if type(value).__name__.startswith("Override") \
        else value


def as_list(value: Any) -> list[Any]:
    value = unwrap(value)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def names(value: Any) -> list[str]:
    """Names from `x`, `[x, y]`, `{name: x}` or `[{name: x}]`."""
    out = []
    for item in as_list(value):
        if isinstance(item, dict):
            if "name" in item:
                out.append(str(item["name"]))
        elif item is not None:
            out.append(str(item))
    return out


@dataclass
class Index:
    repos: list[Repo]
    base_job: str = "base"
    # Library mode: a job may not rely on roles its tenant's base job happens to add.
    self_contained: bool = False
    jobs: dict[str, list[Stanza]] = field(default_factory=dict)
    nodesets: dict[str, Stanza] = field(default_factory=dict)
    semaphores: dict[str, Stanza] = field(default_factory=dict)
    templates: dict[str, Stanza] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for repo in self.repos:
            for st in repo.stanzas:
                if st.kind == "job":
                    self.jobs.setdefault(st.name, []).append(st)
                elif st.kind == "nodeset":
                    self.nodesets.setdefault(st.name, st)
                elif st.kind == "semaphore":
                    self.semaphores.setdefault(st.name, st)
                elif st.kind == "project-template":
                    self.templates.setdefault(st.name, st)

    def repo_named(self, name: str) -> Repo | None:
        for repo in self.repos:
            if name in (repo.name, repo.short_name) or repo.name.endswith("/" + name):
                return repo
        short = name.split("/")[-1]
        for repo in self.repos:
            if repo.short_name == short:
                return repo
        return None


def check_references(index: Index, repos: Iterable[Repo]) -> list[Finding]:
    findings: list[Finding] = []
    for repo in repos:
        for st in repo.stanzas:
            if st.kind == "job":
                findings += _check_job(index, st)
            elif st.kind == "nodeset":
                findings += _check_nodeset_alternatives(index, st)
            elif st.kind in ("project", "project-template"):
                findings += _check_project(index, st)
        findings += _check_duplicates(repo)
        findings += _check_empty(repo)
    findings += _check_cycles(index, repos)
    return findings


def _check_job(index: Index, st: Stanza) -> list[Finding]:
    out: list[Finding] = []
    conf = st.conf
    where = st.where()
    # parent
    if "parent" in conf:
        parent = unwrap(conf["parent"])
        if parent is not None and parent not in index.jobs:
            out.append(_missing_parent(index, st, str(parent), st.key_line("parent")))
    elif st.name != index.base_job and index.base_job not in index.jobs:
        out.append(Finding(where, st.line, "external-parent",
                           f"job {st.name!r} inherits from the tenant's base job "
                           f"{index.base_job!r}, which is defined outside the checked "
                           "repositories (in the tenant's config project)", INFO))
    # nodeset
    nodeset = unwrap(conf.get("nodeset"))
    if isinstance(nodeset, str) and nodeset not in index.nodesets:
        out.append(Finding(where, st.key_line("nodeset"), "missing-nodeset",
                           f"job {st.name!r} uses nodeset {nodeset!r}, which no checked "
                           f"repository defines; defined nodesets: {_few(index.nodesets)}"))
    elif isinstance(nodeset, dict):
        for alt in as_list(nodeset.get("alternatives")):
            if isinstance(alt, str) and alt not in index.nodesets:
                out.append(Finding(where, st.key_line("nodeset"), "missing-nodeset",
                                   f"job {st.name!r} lists nodeset alternative {alt!r}, "
                                   f"which no checked repository defines; defined "
                                   f"nodesets: {_few(index.nodesets)}"))
    # semaphores, on the job and on its playbooks
    sems = names(conf.get("semaphore")) + names(conf.get("semaphores"))
    for attr in PLAYBOOK_ATTRS:
        for pb in as_list(conf.get(attr)):
            if isinstance(pb, dict):
                sems += names(pb.get("semaphores"))
    for sem in sems:
        if sem not in index.semaphores:
            key = "semaphores" if "semaphores" in conf else "semaphore"
            out.append(Finding(where, st.key_line(key), "missing-semaphore",
                               f"job {st.name!r} uses semaphore {sem!r}, which no checked "
                               f"repository defines; defined: {_few(index.semaphores)}"))
    # dependencies
    for dep in names(conf.get("dependencies")):
        if dep not in index.jobs:
            out.append(Finding(where, st.key_line("dependencies"), "missing-dependency",
                               f"job {st.name!r} depends on {dep!r}, which is not a job "
                               "in any checked repository"))
    # playbooks
    for attr in PLAYBOOK_ATTRS:
        value = unwrap(conf.get(attr))
        for i, pb in enumerate(names(value)):
            path = st.repo.root / pb
            line = st.key_line(attr, i) if isinstance(value, list) else st.key_line(attr)
            if not path.is_file():
                out.append(Finding(where, line, "missing-playbook",
                                   f"job {st.name!r} {attr} playbook {pb!r} does not exist in "
                                   f"{st.repo.name} (Zuul takes the path as given, relative "
                                   "to the repository root)"))
            else:
                out += _check_playbook_roles(index, st, path)
    # roles from other projects
    for role in as_list(conf.get("roles")):
        if isinstance(role, dict) and "zuul" in role:
            project = str(role["zuul"])
            target = index.repo_named(project)
            if target is None:
                out.append(Finding(where, st.key_line("roles"), "external-role",
                                   f"job {st.name!r} takes roles from {project!r}, which was "
                                   "not supplied; pass --project "
                                   f"{project}=PATH to check them", INFO))
            elif not role_dirs(target):
                out.append(Finding(where, st.key_line("roles"), "missing-role",
                                   f"job {st.name!r} takes roles from {project!r}, but "
                                   f"{relpath(target.root)} has no roles/ directory and is "
                                   "not a role itself (no tasks/)"))
    return out


def _missing_parent(index: Index, st: Stanza, parent: str, line: int) -> Finding:
    if parent == index.base_job:
        return Finding(st.where(), line, "external-parent",
                       f"job {st.name!r} inherits from the tenant's base job {parent!r}, "
                       "defined outside the checked repositories", INFO)
    return Finding(st.where(), line, "missing-parent",
                   f"job {st.name!r} has parent {parent!r}, which is not a job in any checked "
                   f"repository (the tenant's base job is {index.base_job!r}; jobs of other "
                   "repositories are found with --project NAME=PATH)")


def _check_nodeset_alternatives(index: Index, st: Stanza) -> list[Finding]:
    out = []
    for alt in as_list(st.conf.get("alternatives")):
        if isinstance(alt, str) and alt not in index.nodesets:
            out.append(Finding(st.where(), st.key_line("alternatives"), "missing-nodeset",
                               f"nodeset {st.name!r} lists alternative {alt!r}, which no "
                               f"checked repository defines; defined: {_few(index.nodesets)}"))
    return out


def _check_project(index: Index, st: Stanza) -> list[Finding]:
    out = []
    for tpl in as_list(st.conf.get("templates")):
        if tpl not in index.templates:
            out.append(Finding(st.where(), st.key_line("templates"), "missing-template",
                               f"{st.kind} {st.name or '(this project)'!r} uses "
                               f"project-template {tpl!r}, which no checked repository "
                               f"defines; defined: {_few(index.templates)}"))
    for key, pipeline in st.conf.items():
        if key in PROJECT_NON_PIPELINES or not isinstance(pipeline, dict):
            continue
        listed = []
        for item in as_list(pipeline.get("jobs")):
            if isinstance(item, dict):
                for job_name, variant in item.items():
                    listed.append((str(job_name), variant if isinstance(variant, dict) else {}))
            else:
                listed.append((str(item), {}))
        for job_name, variant in listed:
            if job_name not in index.jobs:
                out.append(Finding(st.where(), st.key_line(key), "missing-job",
                                   f"{st.kind} {st.name or '(this project)'!r} runs job "
                                   f"{job_name!r} in pipeline {key!r}, which is not a job in "
                                   "any checked repository"))
            for dep in names(variant.get("dependencies")):
                if dep not in index.jobs:
                    out.append(Finding(st.where(), st.key_line(key), "missing-dependency",
                                       f"job {job_name!r} in pipeline {key!r} depends on "
                                       f"{dep!r}, which is not a job in any checked "
                                       "repository"))
    return out


def _check_duplicates(repo: Repo) -> list[Finding]:
    """Two unbranched definitions of one job in one file: Zuul silently makes the
    second a variant of the first, which is almost never what was meant."""
    out = []
    seen: dict[tuple[Path, str], Stanza] = {}
    for st in repo.of_kind("job"):
        if "branches" in st.conf:
            continue
        key = (st.path, st.name)
        if key in seen:
            out.append(Finding(st.where(), st.line, "duplicate-job",
                               f"job {st.name!r} is defined again in this file (first at line "
                               f"{seen[key].line}); Zuul would treat it as a variant of the "
                               "first. Define a job once per file, or give variants "
                               "'branches'"))
        else:
            seen[key] = st
    return out


def _check_empty(repo: Repo) -> list[Finding]:
    return [Finding(relpath(p), 1, "empty-file",
                    "this Zuul config file defines no objects; Zuul skips it. Remove it or "
                    "add stanzas (job, nodeset, project-template, ...)")
            for p, n in repo.object_count.items() if n == 0]


def _check_cycles(index: Index, repos: Iterable[Repo]) -> list[Finding]:
    checked = {st.path for r in repos for st in r.stanzas}
    graph: dict[str, set[str]] = {}
    for name, stanzas in index.jobs.items():
        for st in stanzas:
            parent = unwrap(st.conf.get("parent", index.base_job if name != index.base_job
                                         else None))
            if parent is not None:
                graph.setdefault(name, set()).add(str(parent))
    out = []
    reported: set[frozenset[str]] = set()
    for start in sorted(graph):
        for cycle in _cycles_from(graph, start):
            key = frozenset(cycle)
            if key in reported:
                continue
            reported.add(key)
            first = min(cycle)
            for st in index.jobs.get(first, []):
                if st.path in checked:
                    chain = " -> ".join([*_rotate(cycle, first), first])
                    out.append(Finding(st.where(), st.key_line("parent"), "parent-cycle",
                                       f"job {first!r} is its own ancestor: {chain}; a parent "
                                       "chain must end at a base job (parent: null)"))
                    break
    return out


def _cycles_from(graph: dict[str, set[str]], start: str) -> Iterator[list[str]]:
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                yield path
            elif nxt not in path and nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))


def _rotate(cycle: list[str], first: str) -> list[str]:
    i = cycle.index(first)
    return cycle[i:] + cycle[:i]


def _few(names_: Iterable[str], limit: int = 8) -> str:
    items = sorted(names_)
    if not items:
        return "none"
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# --- roles used by playbooks -------------------------------------------------

def role_dirs(repo: Repo) -> list[Path]:
    """Where Zuul finds roles in a project: its roles/ folder, or the project
    itself when it is a bare role (has tasks/)."""
    out = []
    if (repo.root / "roles").is_dir():
        out.append(repo.root / "roles")
    return out


def _is_bare_role(repo: Repo) -> bool:
    return (repo.root / "tasks").is_dir()


def _role_names_in(data: Any) -> Iterator[tuple[str, int]]:
    """Role names referenced by a playbook or task list, with their lines."""
    if isinstance(data, list):
        for item in data:
            yield from _role_names_in(item)
    elif isinstance(data, dict):
        line = getattr(data, "line", 0)
        if "roles" in data and ("hosts" in data or "import_playbook" not in data):
            roles = data.get("roles")
            for i, role in enumerate(as_list(roles)):
                if isinstance(role, str):
                    yield role, roles.line_of(i) if hasattr(roles, "line_of") else line
                elif isinstance(role, dict):
                    name = role.get("role", role.get("name"))
                    if isinstance(name, str):
                        yield name, getattr(role, "line", line)
        for key in ("include_role", "import_role", "ansible.builtin.include_role",
                    "ansible.builtin.import_role"):
            ref = data.get(key)
            if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                yield ref["name"], getattr(data, "line", line)
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue",
                    "always"):
            if key in data:
                yield from _role_names_in(data[key])


def _check_playbook_roles(index: Index, st: Stanza, playbook: Path) -> list[Finding]:
    try:
        data = yamlfile.load(playbook.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yamlfile.YamlError):
        return []  # the playbook's own syntax is ansible-lint's business
    search = [playbook.parent / "roles", *role_dirs(st.repo)]
    role_refs, chain_is_local = _inherited_roles(index, st)
    external = []
    if not (chain_is_local or index.self_contained):
        external.append(f"the roles of the tenant's base job {index.base_job!r}")
    for role in role_refs:
        if isinstance(role, dict) and "zuul" in role:
            target = index.repo_named(str(role["zuul"]))
            if target is None:
                external.append(str(role["zuul"]))
            else:
                search += role_dirs(target)
                if _is_bare_role(target):
                    search.append(target.root.parent)
    out = []
    for name, line in _role_names_in(data):
        if "{{" in name or "." in name:
            continue  # templated, or a collection role
        if any((d / name).is_dir() for d in search):
            continue
        if external:
            out.append(Finding(relpath(playbook), line, "external-role",
                               f"role {name!r} of job {st.name!r} is not in this repository; "
                               f"it may come from {', '.join(external)}", INFO))
            continue
        out.append(Finding(relpath(playbook), line, "missing-role",
                           f"playbook of job {st.name!r} uses role {name!r}, found in none of: "
                           + ", ".join(relpath(d) for d in search)))
    return out


def _inherited_roles(index: Index, st: Stanza) -> tuple[list[Any], bool]:
    """Role references of a job and its ancestors (Zuul accumulates them down the
    parent chain), and whether the whole chain lies in the checked repositories."""
    refs: list[Any] = []
    seen: set[str] = set()
    todo = [st]
    local = True
    while todo:
        cur = todo.pop()
        refs += as_list(cur.conf.get("roles"))
        if "parent" in cur.conf:
            parent = unwrap(cur.conf["parent"])
        else:
            parent = None if cur.name == index.base_job else index.base_job
        if parent is None or parent in seen:
            continue
        seen.add(str(parent))
        if parent not in index.jobs:
            local = False
            continue
        todo += index.jobs[str(parent)]
    return refs, local
