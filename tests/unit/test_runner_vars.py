"""The zuul variables and inventory of crossgate run, as a real Zuul 14.3 gave them.

The expected values come from the dumps of the real-Zuul test (tests/zuul): a
ref build of the branch tip in a tenant whose projects are served by the git
driver.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from crossgate.config.freeze import FrozenJob
from crossgate.runner import inventory as inv
from crossgate.runner.execute import Executor, RunOptions
from crossgate.runner.projects import Project


def git_repo(path: Path, commits: int) -> list[str]:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost", "HOME": str(path)}
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "master", str(path)], check=True, env=env)
    shas = []
    for i in range(commits):
        subprocess.run(["git", "-C", str(path), "commit", "-q", "--allow-empty", "-m", str(i)],
                       check=True, env=env)
        shas.append(subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], check=True,
                                   capture_output=True, text=True).stdout.strip())
    return shas


def executor(tmp_path: Path, commits: int = 2, **job: Any) -> tuple[Executor, list[str]]:
    shas = git_repo(tmp_path / "project", commits)
    lib_shas = git_repo(tmp_path / "library", 1)
    project = Project("example", tmp_path / "project")
    library = Project("library", tmp_path / "library")
    frozen = FrozenJob("job", required_projects={"library": {}}, **job)
    ex = Executor(frozen, inv.Nodeset(), [project, library], project, lambda _: None,
                  tmp_path / "build", RunOptions(pipeline="check", tenant="t1", quiet=True))
    return ex, shas + lib_shas


def test_ref_build_variables_match_zuul(tmp_path: Path) -> None:
    ex, (old, new, lib) = executor(tmp_path)
    z = ex.zuul_vars(1, {})
    item = {"project": {"name": "example", "short_name": "example",
                        "canonical_hostname": "localhost",
                        "canonical_name": "localhost/example", "src_dir": "src/localhost/example"},
            "branch": "master", "change_url": "", "oldrev": old, "newrev": new,
            "commit_id": new}
    assert z["items"] == [item]
    assert z["build_refs"] == z["buildset_refs"] == [dict(item, src_dir="src/localhost/example")]
    assert (z["oldrev"], z["newrev"], z["commit_id"], z["change_url"]) == (old, new, new, "")
    assert (z["pipeline"], z["tenant"]) == ("check", "t1")
    assert (z["pre_timeout"], z["workspace_checkout"], z["deduplicate"],
            z["image_build_name"]) == (None, True, "auto", None)
    assert z["projects"]["localhost/library"]["checkout_description"] == "zuul branch"
    assert z["projects"]["localhost/library"]["commit"] == lib
    assert z["projects"]["localhost/example"]["required"] is False
    assert z["projects"]["localhost/library"]["required"] is True


def test_first_commit_has_no_oldrev(tmp_path: Path) -> None:
    ex, (new, _) = executor(tmp_path, commits=1)
    z = ex.zuul_vars(1, {})
    assert z["oldrev"] is None
    assert "oldrev" not in z["items"][0]
    assert z["items"][0]["commit_id"] == new


def test_job_attributes_reach_zuul_vars(tmp_path: Path) -> None:
    ex, _ = executor(tmp_path, pre_timeout=60, workspace_checkout=False, attempts=1)
    z = ex.zuul_vars(1, {})
    assert (z["pre_timeout"], z["workspace_checkout"], z["max_attempts"]) == (60, False, 1)


def test_playbook_names_are_canonical(tmp_path: Path) -> None:
    ex, _ = executor(tmp_path)
    assert ex.canonical_name("example") == "localhost/example"
    assert ex.canonical_name("crossgate/builtin-base") == "crossgate/builtin-base"


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: ("UNSAFE", loader.construct_scalar(node)))


def test_unsafe_vars_mark_every_string() -> None:
    marked = inv.mark_unsafe({"a": "{{ x }}", "n": 1, "l": ["s", {"d": "t"}], "none": None})
    text = inv.dump_inventory({"all": {"hosts": {"h": {"unsafe_vars": marked}}}})
    assert "!unsafe" in text
    loaded = yaml.load(text, Loader=_Loader)["all"]["hosts"]["h"]["unsafe_vars"]
    assert loaded == {"a": ("UNSAFE", "{{ x }}"), "n": 1,
                      "l": [("UNSAFE", "s"), {"d": ("UNSAFE", "t")}], "none": None}
