"""Freeze a job the way Zuul does, from the raw stanzas of loaded repositories.

Zuul's rules (zuul.model.Job.applyVariant), applied from the root of the parent
chain down to the job, each job's matching variants in definition order:

- plain attributes (timeout, post-timeout, attempts, nodeset, voting, ...): the
  most specific setting wins;
- ``run``: the most specific one; ``pre-run``: parents first; ``post-run`` and
  cleanup playbooks: children first;
- ``vars``, ``extra-vars``, ``host-vars``, ``group-vars``: deep-merged dicts,
  child over parent (``!override`` replaces);
- ``roles``: a variant's roles go in front of those inherited; every job's own
  repository is an implicit role source; each playbook sees the roles known when
  its variant was applied;
- ``required-projects`` and ``semaphores``: unions;
- ``abstract`` is cleared by inheriting; a job that is still abstract cannot run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .repo import Repo, Stanza
from .values import a_name, as_list, names, unwrap

DEFAULT_TIMEOUT = 1800  # Zuul's default when a job sets none (tenant max-job-timeout aside)
PLAIN_ATTRS = {"timeout": "timeout", "post-timeout": "post_timeout",
               "pre-timeout": "pre_timeout", "attempts": "attempts", "voting": "voting",
               "nodeset": "nodeset", "ansible-version": "ansible_version",
               "description": "description", "workspace-checkout": "workspace_checkout",
               "deduplicate": "deduplicate"}


class FreezeError(Exception):
    """A job that cannot be frozen: unknown, abstract, bad parent chain."""


@dataclass
class Playbook:
    path: str           # relative to its repository
    repo: Repo
    roles: list[RoleSource]
    phase: str          # pre, run, post, cleanup
    builtin: bool = False
    nesting: int = 0    # depth in the parent chain of the job that contributed it
    # Runs even when the build is aborted, and an unreachable node in it does not
    # make the build retry (post-run `cleanup: true`, and the deprecated cleanup-run).
    cleanup: bool = False
    # Its failure does not change the result (the deprecated cleanup-run only).
    ignore_result: bool = False

    @property
    def file(self) -> Path:
        return self.repo.root / self.path


@dataclass(frozen=True)
class RoleSource:
    project: str        # canonical name as written, e.g. opendev/zuul-jobs
    implicit: bool = False


@dataclass
class FrozenJob:
    name: str
    chain: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)
    pre_run: list[Playbook] = field(default_factory=list)
    run: list[Playbook] = field(default_factory=list)
    post_run: list[Playbook] = field(default_factory=list)
    cleanup_run: list[Playbook] = field(default_factory=list)
    roles: list[RoleSource] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    extra_vars: dict[str, Any] = field(default_factory=dict)
    host_vars: dict[str, Any] = field(default_factory=dict)
    group_vars: dict[str, Any] = field(default_factory=dict)
    required_projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    semaphores: list[str] = field(default_factory=list)
    nodeset: Any = None
    timeout: int = DEFAULT_TIMEOUT
    post_timeout: int | None = None
    pre_timeout: int | None = None
    attempts: int = 3
    voting: bool = True
    ansible_version: str | None = None
    workspace_checkout: bool | str = True
    deduplicate: bool | str = "auto"
    abstract: bool = False
    description: str = ""
    source_repo: Repo | None = None
    builtin_base: bool = False


def deep_update(a: dict[str, Any], b: Any) -> dict[str, Any]:
    """Zuul's Job._deepUpdate: merge nested dicts, otherwise b wins."""
    if type(b).__name__ == "OverrideDict" and getattr(b, "override", False):
        return dict(_plain(b.value))
    b = _plain(unwrap(b)) or {}
    out = {k: v for k, v in a.items() if k not in b}
    for k, bv in b.items():
        av = a.get(k)
        out[k] = deep_update(av, bv) if isinstance(av, dict) and isinstance(bv, dict) else bv
    return out


def _plain(value: Any) -> Any:
    value = unwrap(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()
                if not str(k).startswith("_")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def branch_matches(stanza: Stanza, branch: str) -> bool:
    """A variant applies when it has no branch matcher or one matches the branch."""
    branches = names(stanza.conf.get("branches"))
    if not branches:
        return True
    return any(b == branch or re.fullmatch(b, branch) for b in branches)


def variants(jobs: dict[str, list[Stanza]], name: str, branch: str) -> list[Stanza]:
    return [st for st in jobs.get(name, []) if branch_matches(st, branch)]


def parent_chain(jobs: dict[str, list[Stanza]], name: str, branch: str,
                 base_job: str) -> list[str]:
    """Job names from the root to `name`. The reference (first matching) variant
    of each job decides its parent, as in Zuul."""
    chain = [name]
    while True:
        current = chain[0]
        found = variants(jobs, current, branch)
        if not found:
            if current == base_job:
                return chain  # the tenant's base: replaced by crossgate's built-in base
            raise FreezeError(
                f"job {current!r} is not defined on branch {branch!r} in any loaded repository"
                + (f" (needed by {chain[1]!r})" if len(chain) > 1 else ""))
        conf = found[0].conf
        if "parent" in conf and unwrap(conf["parent"]) is not None \
                and a_name(conf["parent"]) is None:
            raise FreezeError(f"job {current!r}: parent must be a job name, not "
                              f"{unwrap(conf['parent'])!r}")
        parent = a_name(conf["parent"]) if "parent" in conf else (
            None if current == base_job else base_job)
        if parent is None:
            return chain
        if parent in chain:
            raise FreezeError(f"job {name!r} has a parent cycle: "
                              + " -> ".join([*reversed(chain), str(parent)]))
        chain.insert(0, parent)


def freeze(jobs: dict[str, list[Stanza]], name: str, branch: str = "master",
           base_job: str = "base", builtin_base: Repo | None = None) -> FrozenJob:
    """Freeze job `name`; `builtin_base` supplies the base when the tenant's is absent."""
    chain = parent_chain(jobs, name, branch, base_job)
    job = FrozenJob(name=name, chain=chain)
    for depth, job_name in enumerate(chain):
        found = variants(jobs, job_name, branch)
        if not found and job_name == base_job:
            if builtin_base is None:
                raise FreezeError(f"job {name!r} needs the tenant's base job {base_job!r}")
            job.builtin_base = True
            found = builtin_base.of_kind("job")
        for st in found:
            _apply(job, st, builtin=job_name == base_job and job.builtin_base, nesting=depth)
    # Abstract is cleared by inheriting; only the job's own variants can set it.
    job.abstract = any(bool(unwrap(st.conf.get("abstract")))
                       for st in variants(jobs, name, branch))
    return job


def _apply(job: FrozenJob, st: Stanza, builtin: bool = False, nesting: int = 0) -> None:
    conf = st.conf
    job.variants.append(f"{st.name}@{st.where()}:{st.line}")
    if job.source_repo is None or st.name == job.name:
        job.source_repo = st.repo
    for attr, field_name in PLAIN_ATTRS.items():
        if attr in conf and conf[attr] is not None:
            value = _plain(conf[attr])
            setattr(job, field_name, str(value) if attr == "description" else value)
    # roles first: playbooks of this variant see them
    new_roles = [RoleSource(str(r["zuul"])) for r in as_list(conf.get("roles"))
                 if isinstance(r, dict) and "zuul" in r]
    implicit = RoleSource(st.repo.name, implicit=True)
    if implicit not in new_roles and RoleSource(st.repo.name) not in new_roles:
        new_roles.append(implicit)
    merged = [r for r in job.roles]
    for role in reversed(new_roles):
        same = [r for r in merged if r.project == role.project]
        if same:
            if same[0].implicit and not role.implicit:
                merged[merged.index(same[0])] = role
            continue
        merged.insert(0, role)
    job.roles = merged

    def playbooks(attr: str, phase: str) -> list[Playbook]:
        out = []
        for item in as_list(conf.get(attr)):
            path = item["name"] if isinstance(item, dict) else item
            out.append(Playbook(str(path), st.repo, list(job.roles), phase, builtin, nesting))
        return out

    if "run" in conf:
        job.run = playbooks("run", "run")
    if "pre-run" in conf:
        job.pre_run = job.pre_run + playbooks("pre-run", "pre")
    post = playbooks("post-run", "post")
    for pb, item in zip(post, as_list(conf.get("post-run")), strict=True):
        pb.cleanup = isinstance(item, dict) and bool(item.get("cleanup"))
    cleanup = playbooks("cleanup-run", "cleanup")
    for pb in cleanup:
        pb.cleanup = pb.ignore_result = True
    job.post_run = post + job.post_run
    job.cleanup_run = cleanup + job.cleanup_run
    for key, attr in (("vars", "vars"), ("extra-vars", "extra_vars"),
                      ("host-vars", "host_vars"), ("group-vars", "group_vars")):
        if key in conf:
            setattr(job, attr, deep_update(getattr(job, attr), conf[key]))
    for rp in as_list(conf.get("required-projects")):
        entry = {"name": rp} if isinstance(rp, str) else dict(_plain(rp))
        job.required_projects[str(entry["name"])] = entry
    for sem in names(conf.get("semaphore")) + names(conf.get("semaphores")):
        if sem not in job.semaphores:
            job.semaphores.append(sem)
    job.semaphores.sort()
