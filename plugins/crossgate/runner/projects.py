"""Projects of a local run: the project under test and the ones given with --project."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossgate.config import projects as project_names
from crossgate.config.projects import DEFAULT_HOSTNAME


@dataclass
class Project:
    """A local checkout standing in for a project of Zuul's tenant."""

    name: str                  # e.g. zuul/zuul-jobs
    root: Path
    canonical_hostname: str = DEFAULT_HOSTNAME

    @classmethod
    def parse(cls, spec: str, root: Path) -> Project:
        """NAME may start with a host name (opendev.org/zuul/zuul-jobs)."""
        host, name = project_names.split_spec(spec)
        return cls(name, root, host)

    @property
    def short_name(self) -> str:
        return self.name.split("/")[-1]

    @property
    def canonical_name(self) -> str:
        return f"{self.canonical_hostname}/{self.name}"

    @property
    def src_dir(self) -> str:
        return f"src/{self.canonical_name}"

    def git(self, *args: str) -> str:
        try:
            proc = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True,
                                  text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return ""
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def branch(self) -> str:
        return self.git("rev-parse", "--abbrev-ref", "HEAD") or "master"

    def commit(self) -> str | None:
        return self.git("rev-parse", "HEAD") or None

    def parent_commit(self) -> str | None:
        """HEAD's first parent: the old revision when the checkout's last commit is
        taken as the ref update under test."""
        return self.git("rev-parse", "-q", "--verify", "HEAD^") or None

    def zuul_dict(self) -> dict[str, Any]:
        return {"name": self.name, "short_name": self.short_name,
                "canonical_hostname": self.canonical_hostname,
                "canonical_name": self.canonical_name, "src_dir": self.src_dir}


def find_project(projects: list[Project], ref: str) -> Project | None:
    """The project `ref` names, by Zuul's rule (crossgate.config.projects.match);
    raises AmbiguousProject."""
    return project_names.match(projects, ref)
