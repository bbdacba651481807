"""References that Zuul's parser accepts but only a loaded tenant resolves.

Zuul's configloader validates each stanza alone; whether a parent, nodeset,
semaphore, project-template, dependency or playbook exists is decided later,
when a tenant layout is built or when a job runs. This module resolves those
references across every repository given to `crossgate check`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossgate.config import yamlfile
from crossgate.config.findings import INFO, Finding, relpath
from crossgate.config.index import Index, is_bare_role, role_dirs
from crossgate.config.projects import AmbiguousProject
from crossgate.config.repo import Repo, Stanza
from crossgate.config.values import a_name, as_list, names, unwrap

PLAYBOOK_ATTRS = ("pre-run", "run", "post-run", "cleanup-run")
# Keys of a project or project-template stanza that are not pipelines.
PROJECT_NON_PIPELINES = {"name", "description", "templates", "merge-mode", "default-branch",
                         "vars", "queue", "branches", "_source_context", "_start_mark"}


@dataclass
class Scope:
    """What the checked references are resolved against.

    complete: every project of a tenant was supplied (--tenant-config), so an
    undefined name is an error, as in a scheduler. Otherwise a name that none of
    the supplied repositories defines is external (an info line), unless it is a
    near miss of a defined one (a typo: an error with "did you mean").
    self_contained: a library's jobs may not rely on roles its tenant's base
    job happens to add."""

    index: Index
    complete: bool = False
    self_contained: bool = False

    @property
    def base_job(self) -> str:
        return self.index.base_job


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions,
    transpositions), cut off at `limit`."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return min(prev[-1], limit)


def near_misses(name: str, defined: Iterable[str]) -> list[str]:
    """Defined names within two edits of `name`: taken as a typo of one of them.

    Names that differ only in digits (tox-py311 beside tox-py312) are distinct
    on purpose, and names of under five characters are too short to tell."""
    if len(name) < 5:
        return []
    out = []
    for other in defined:
        if other == name or len(other) < 5:
            continue
        d = edit_distance(name, other)
        if d <= 2 and _strip_digits(other) != _strip_digits(name):
            out.append((d, other))
    return [o for _, o in sorted(out)]


def _strip_digits(text: str) -> str:
    return "".join(c for c in text if not c.isdigit())


def unresolved(scope: Scope, where: str, line: int, kind: str, subject: str, name: str,
               defined: Iterable[str]) -> Finding:
    """The finding for a reference no supplied repository defines."""
    defined = list(defined)
    close = near_misses(name, defined)
    what = f"{subject} {kind} {name!r}, which"
    noun = {"parent": "job", "dependency": "job"}.get(kind, kind)
    if close:
        return Finding(where, line, f"missing-{kind}",
                       f"{what} is not defined; did you mean {close[0]!r}? (a defined "
                       f"{noun} {edit_distance(name, close[0])} edit(s) away)")
    if scope.complete:
        return Finding(where, line, f"missing-{kind}",
                       f"{what} is defined by no project of the tenant; defined: "
                       f"{_few(defined)}")
    return Finding(where, line, f"external-{kind}",
                   f"{what} is not defined in the checked repositories: taken as defined "
                   "elsewhere in the tenant (supply it with --project NAME=PATH, or check "
                   "a whole tenant with --tenant-config)", INFO)


def check_references(scope: Scope, repos: Iterable[Repo]) -> list[Finding]:
    findings: list[Finding] = []
    for repo in repos:
        for st in repo.stanzas:
            if st.errors or (repo.include is not None and st.kind not in repo.include):
                continue  # Zuul's parser refused it (already reported), or not loaded
            if st.kind == "job":
                findings += _check_job(scope, st)
            elif st.kind == "nodeset":
                findings += _check_nodeset_alternatives(scope, st)
            elif st.kind in ("project", "project-template"):
                findings += _check_project(scope, st)
        findings += _check_duplicates(repo)
        findings += _check_empty(repo)
    findings += _check_cycles(scope.index, repos)
    return findings


def _check_job(scope: Scope, st: Stanza) -> list[Finding]:
    index = scope.index
    out: list[Finding] = []
    conf = st.conf
    where = st.where()
    subject = f"job {st.name!r} uses"
    # parent
    if "parent" in conf:
        parent = a_name(conf["parent"])
        if parent is not None and parent not in index.jobs:
            out.append(_missing_parent(scope, st, parent, st.key_line("parent")))
    elif st.name != index.base_job and index.base_job not in index.jobs:
        out.append(_missing_base(scope, st, st.line))
    # nodeset
    nodeset = unwrap(conf.get("nodeset"))
    if isinstance(nodeset, str) and nodeset not in index.nodesets:
        out.append(unresolved(scope, where, st.key_line("nodeset"), "nodeset", subject,
                              nodeset, index.nodesets))
    elif isinstance(nodeset, dict):
        alts = as_list(nodeset.get("alternatives"))
        for i, alt in enumerate(alts):
            if isinstance(alt, str) and alt not in index.nodesets:
                out.append(unresolved(scope, where,
                                      st.key_line("nodeset", "alternatives", i), "nodeset",
                                      f"job {st.name!r} lists as an alternative", alt,
                                      index.nodesets))
    # semaphores, on the job and on its playbooks
    for key in ("semaphore", "semaphores"):
        for i, sem in enumerate(names(conf.get(key))):
            if sem not in index.semaphores:
                line = st.key_line(key, i) if isinstance(unwrap(conf.get(key)), list) \
                    else st.key_line(key)
                out.append(unresolved(scope, where, line, "semaphore", subject, sem,
                                      index.semaphores))
    for attr in PLAYBOOK_ATTRS:
        for i, pb in enumerate(as_list(conf.get(attr))):
            if isinstance(pb, dict):
                for sem in names(pb.get("semaphores")):
                    if sem not in index.semaphores:
                        out.append(unresolved(scope, where, st.key_line(attr, i), "semaphore",
                                              f"a {attr} playbook of job {st.name!r} uses",
                                              sem, index.semaphores))
    # dependencies
    deps = unwrap(conf.get("dependencies"))
    for i, dep in enumerate(names(deps)):
        if dep not in index.jobs:
            line = st.key_line("dependencies", i) if isinstance(deps, list) \
                else st.key_line("dependencies")
            out.append(unresolved(scope, where, line, "dependency",
                                  f"job {st.name!r} has a", dep, index.jobs))
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
                out += _check_playbook_roles(scope, st, path)
    # roles from other projects
    roles = unwrap(conf.get("roles"))
    for i, role in enumerate(as_list(roles)):
        if isinstance(role, dict) and isinstance(role.get("zuul"), str):
            project = role["zuul"]
            line = st.key_line("roles", i) if isinstance(roles, list) else st.key_line("roles")
            try:
                target = index.project(project)
            except AmbiguousProject as exc:
                out.append(Finding(where, line, "missing-role", str(exc)))
                continue
            if target is None:
                if scope.complete:
                    out.append(Finding(where, line, "missing-role",
                                       f"job {st.name!r} takes roles from {project!r}, which "
                                       "is not a project of the tenant"))
                else:
                    out.append(Finding(where, line, "external-role",
                                       f"job {st.name!r} takes roles from {project!r}, which "
                                       "was not supplied; pass --project "
                                       f"{project}=PATH to check them", INFO))
            elif not role_dirs(target) and not is_bare_role(target):
                out.append(Finding(where, line, "missing-role",
                                   f"job {st.name!r} takes roles from {project!r}, but "
                                   f"{relpath(target.root)} has no roles/ directory and is "
                                   "not a role itself (no tasks/)"))
    return out


def _missing_base(scope: Scope, st: Stanza, line: int) -> Finding:
    if scope.complete:
        return Finding(st.where(), line, "missing-parent",
                       f"job {st.name!r} inherits from the tenant's base job "
                       f"{scope.base_job!r}, which no project of the tenant defines")
    return Finding(st.where(), line, "external-parent",
                   f"job {st.name!r} inherits from the tenant's base job {scope.base_job!r}, "
                   "which is defined outside the checked repositories (in the tenant's "
                   "config project)", INFO)


def _missing_parent(scope: Scope, st: Stanza, parent: str, line: int) -> Finding:
    if parent == scope.base_job:
        return _missing_base(scope, st, line)
    return unresolved(scope, st.where(), line, "parent", f"job {st.name!r} has", parent,
                      scope.index.jobs)


def _check_nodeset_alternatives(scope: Scope, st: Stanza) -> list[Finding]:
    out = []
    for i, alt in enumerate(as_list(st.conf.get("alternatives"))):
        if isinstance(alt, str) and alt not in scope.index.nodesets:
            out.append(unresolved(scope, st.where(), st.key_line("alternatives", i),
                                  "nodeset", f"nodeset {st.name!r} lists as an alternative",
                                  alt, scope.index.nodesets))
    return out


def _check_project(scope: Scope, st: Stanza) -> list[Finding]:
    index = scope.index
    out = []
    subject = f"{st.kind} {st.name or '(this project)'!r} uses"
    templates = unwrap(st.conf.get("templates"))
    for i, tpl in enumerate(names(templates)):
        if tpl not in index.templates:
            line = st.key_line("templates", i) if isinstance(templates, list) \
                else st.key_line("templates")
            out.append(unresolved(scope, st.where(), line, "template", subject, tpl,
                                  index.templates))
    for key, pipeline in st.conf.items():
        if key in PROJECT_NON_PIPELINES or not isinstance(pipeline, dict):
            continue
        jobs = unwrap(pipeline.get("jobs"))
        for i, item in enumerate(as_list(jobs)):
            line = st.key_line(key, "jobs", i) if isinstance(jobs, list) \
                else st.key_line(key)
            if isinstance(item, dict):
                listed = [(str(n), v if isinstance(v, dict) else {}) for n, v in item.items()]
            elif isinstance(item, str):
                listed = [(item, {})]
            else:
                continue
            for job_name, variant in listed:
                if job_name not in index.jobs:
                    out.append(unresolved(scope, st.where(), line, "job",
                                          f"{st.kind} {st.name or '(this project)'!r} in "
                                          f"pipeline {key!r} runs", job_name, index.jobs))
                for dep in names(variant.get("dependencies")):
                    if dep not in index.jobs:
                        out.append(unresolved(scope, st.where(), line, "dependency",
                                              f"job {job_name!r} in pipeline {key!r} has a",
                                              dep, index.jobs))
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
            parent = a_name(st.conf.get("parent", index.base_job if name != index.base_job
                                         else None))
            if parent is not None:
                graph.setdefault(name, set()).add(parent)
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


def _check_playbook_roles(scope: Scope, st: Stanza, playbook: Path) -> list[Finding]:
    index = scope.index
    try:
        data = yamlfile.load(playbook.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yamlfile.YamlError):
        return []  # the playbook's own syntax is ansible-lint's business
    search = [playbook.parent / "roles", *role_dirs(st.repo)]
    role_refs, chain_is_local = _inherited_roles(index, st)
    external = []
    if not (chain_is_local or scope.self_contained or scope.complete):
        external.append(f"the roles of the tenant's base job {index.base_job!r}")
    for role in role_refs:
        if isinstance(role, dict) and isinstance(role.get("zuul"), str):
            try:
                target = index.project(str(role["zuul"]))
            except AmbiguousProject:
                target = None  # reported on the job's roles line
            if target is None:
                external.append(str(role["zuul"]))
            else:
                search += role_dirs(target)
                if is_bare_role(target):
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
            parent = a_name(cur.conf["parent"])
        else:
            parent = None if cur.name == index.base_job else index.base_job
        if parent is None or parent in seen:
            continue
        seen.add(parent)
        if parent not in index.jobs:
            local = False
            continue
        todo += index.jobs[parent]
    return refs, local
