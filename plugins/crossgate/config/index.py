"""One index of the objects that loaded repositories define.

The index is what a tenant layout would hold once every repository is loaded:
jobs (all variants, in load order), nodesets, semaphores, project-templates,
and the projects themselves, found by Zuul's project-name rule (projects.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import projects as project_names
from .findings import Finding
from .repo import NotAZuulRepo, Repo, Stanza, ZuulParser, load_repo

# Kinds a tenant's include/exclude may name (Zuul's configloader classes).
TENANT_CLASSES = ("pipeline", "job", "semaphore", "project", "project-template",
                  "nodeset", "secret", "queue", "image", "flavor", "label", "section",
                  "provider", "pragma")


@dataclass
class Source:
    """A repository to load: where it is and how the tenant loads it."""

    name: str
    root: Path
    canonical_hostname: str = project_names.DEFAULT_HOSTNAME
    extra_paths: list[str] = field(default_factory=list)
    include: frozenset[str] | None = None
    # A repository that supplies only roles may have no Zuul config.
    config_required: bool = True


@dataclass
class Index:
    repos: list[Repo]
    base_job: str = "base"
    jobs: dict[str, list[Stanza]] = field(default_factory=dict)
    nodesets: dict[str, Stanza] = field(default_factory=dict)
    semaphores: dict[str, Stanza] = field(default_factory=dict)
    templates: dict[str, Stanza] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for repo in self.repos:
            for st in repo.stanzas:
                if repo.include is not None and st.kind not in repo.include:
                    continue
                if st.kind == "job":
                    self.jobs.setdefault(st.name, []).append(st)
                elif st.kind == "nodeset":
                    self.nodesets.setdefault(st.name, st)
                elif st.kind == "semaphore":
                    self.semaphores.setdefault(st.name, st)
                elif st.kind == "project-template":
                    self.templates.setdefault(st.name, st)

    def project(self, ref: str) -> Repo | None:
        """The repository a project reference names (Zuul's rule); raises
        projects.AmbiguousProject."""
        return project_names.match(self.repos, ref)


def load(parser: ZuulParser, sources: list[Source]) -> tuple[list[Repo], list[Finding]]:
    """Load each source with Zuul's parser; NotAZuulRepo from a source whose
    config is required and missing."""
    repos: list[Repo] = []
    findings: list[Finding] = []
    for src in sources:
        try:
            repo, found = load_repo(parser, src.name, src.root, src.extra_paths)
        except NotAZuulRepo:
            if src.config_required or not src.root.is_dir():
                raise
            repo, found = Repo(name=src.name, root=src.root), []
        repo.canonical_hostname = src.canonical_hostname
        repo.include = src.include
        repos.append(repo)
        findings += found
    return repos, findings


# --- roles of a project --------------------------------------------------------

def role_dirs(repo: Repo) -> list[Path]:
    """Where Zuul finds roles in a project: its roles/ folder."""
    return [repo.root / "roles"] if (repo.root / "roles").is_dir() else []


def is_bare_role(repo: Repo) -> bool:
    """A project that is itself one role (tasks/ at its top)."""
    return (repo.root / "tasks").is_dir()
