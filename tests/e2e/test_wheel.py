"""End-to-end test of crossgate as a user installs it: a wheel built from a clone of HEAD,
installed from PyPI into a fresh virtual environment, run from outside any checkout.

What it proves that the editable suite environment cannot: the wheel carries the roles and
plugins (crossgate/_data), its requirements pull in Zuul's default Ansible (the full ansible 11
package with its collections, not ansible-core alone), and `crossgate run` drives the
ansible-playbook of that environment. The job of tests/e2e/wheel-repo fails on ansible-core
2.18 alone ("unable to locate collection ansible.utils").

CROSSGATE_ZUUL_JOBS=<a zuul-jobs git repository> adds a run of zuul-jobs' own
mirror-workspace-git-repos role (ipwrap, community.general's git_config) on a local node.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from crossgate.nodes import DEFAULT_STATE_ROOT, LocalPool
from crossgate.nodes.local import leftovers
from crossgate.nodes.state import load_state

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
JOB_REPO = HERE / "wheel-repo"
# Zuul 14.3's default Ansible; setup.cfg pins the same range.
ANSIBLE_SPEC = (11, 12)


@dataclass
class Installed:
    work: Path
    clone: Path
    venv: Path
    env: dict[str, str]
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def crossgate(self) -> str:
        return str(self.venv / "bin" / "crossgate")


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def run_ok(cmd: list[str], cwd: Path, env: dict[str, str] | None = None,
           timeout: float = 300) -> str:
    proc = run(cmd, cwd, env, timeout)
    assert proc.returncode == 0, f"{cmd}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def venv_env(venv: Path) -> dict[str, str]:
    """The environment a user of the venv has: its bin first, nothing of the suite's."""
    suite_bin = Path(sys.executable).parent.resolve()
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    path = [p for p in env.get("PATH", "").split(os.pathsep)
            if p and Path(p).resolve() != suite_bin]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    return env


def git_repo(src: Path, dest: Path) -> Path:
    """A copy of src as a repository of its own, with one commit."""
    shutil.copytree(src, dest)
    ident = ["-c", "user.name=crossgate e2e", "-c", "user.email=e2e@crossgate.invalid"]
    run_ok(["git", "init", "-q", "-b", "master"], dest)
    run_ok(["git", "add", "."], dest)
    run_ok(["git", *ident, "commit", "-q", "-m", "fixture"], dest)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    work = tmp_path_factory.mktemp("wheel")
    figures: dict[str, float] = {}
    start = time.monotonic()
    clone = work / "clone"
    run_ok(["git", "clone", "-q", str(REPO), str(clone)], work)
    run_ok([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
            "-w", str(work / "dist"), str(clone)], work)
    wheels = sorted((work / "dist").glob("crossgate-*.whl"))
    assert len(wheels) == 1, wheels
    figures["wheel_seconds"] = round(time.monotonic() - start, 1)
    venv = work / "venv"
    start = time.monotonic()
    run_ok([sys.executable, "-m", "venv", str(venv)], work)
    env = venv_env(venv)
    # From PyPI (the e2e host mirror holds only what jobs' nodes install, not Zuul and
    # Ansible); --no-compile: byte-compiling the ansible package's collections costs more
    # than the few modules a run imports.
    run_ok([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile",
            str(wheels[0])], work, env, timeout=900)
    figures["install_seconds"] = round(time.monotonic() - start, 1)
    yield Installed(work, clone, venv, env, figures)
    print("\nwheel e2e figures: " + json.dumps(figures, sort_keys=True))
    shutil.rmtree(work, ignore_errors=True)


def test_version_and_data_come_from_the_wheel(installed: Installed) -> None:
    cfg = configparser.ConfigParser()
    cfg.read(installed.clone / "setup.cfg")
    out = run_ok([installed.crossgate, "--version"], installed.work, installed.env)
    assert out.strip() == f"crossgate {cfg['metadata']['version']}"
    probe = ("import json, ansible.release, crossgate.resources as r; "
             "print(json.dumps([str(r.data_root()), ansible.release.__version__]))")
    python = str(installed.venv / "bin" / "python")
    data_root, core = json.loads(run_ok([python, "-c", probe], installed.work, installed.env))
    site = next((installed.venv / "lib").glob("python3*/site-packages"))
    assert Path(data_root) == site / "crossgate" / "_data"
    assert (Path(data_root) / "roles" / "configure-mirrors").is_dir()
    assert core.startswith("2.18."), core  # the core of the ansible 11 package
    # The full ansible package, not ansible-core alone: what zuul-manage-ansible installs.
    meta = run_ok([python, "-m", "pip", "show", "ansible"], installed.work, installed.env)
    version = next(ln.split()[1] for ln in meta.splitlines() if ln.startswith("Version:"))
    assert ANSIBLE_SPEC[0] <= int(version.split(".")[0]) < ANSIBLE_SPEC[1], version
    for collection in ("ansible/utils", "ansible/netcommon", "community/general"):
        assert (site / "ansible_collections" / collection).is_dir(), collection


def test_image_build_playbook_and_key_come_from_the_wheel(installed: Installed) -> None:
    """crossgate nodes image runs playbooks/image/install.yaml from the package data; the key
    a wheel computes is the checkout's (same roles, same playbook)."""
    python = str(installed.venv / "bin" / "python")
    probe = "import crossgate.resources as r; print(r.data_root())"
    data_root = Path(run_ok([python, "-c", probe], installed.work, installed.env).strip())
    assert (data_root / "playbooks/image/install.yaml").read_text() == (
        installed.clone / "playbooks/image/install.yaml").read_text()
    for name in ("crossgate-ceph-bookworm", "crossgate-openstack-ceph-bookworm"):
        from_wheel = json.loads(run_ok([installed.crossgate, "nodes", "image", name, "--key",
                                        "--format", "json"], installed.work, installed.env))
        from_checkout = json.loads(run_ok([sys.executable, "-m", "crossgate.cli", "nodes",
                                           "image", name, "--key", "--format", "json"],
                                          REPO))
        assert from_wheel["key"] == from_checkout["key"], name


def test_check_of_the_clone(installed: Installed) -> None:
    proc = run([installed.crossgate, "check", "--extra-config-path", "zuul-tests.d",
                str(installed.clone)], installed.work, installed.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 error(s)" in proc.stderr


def crossgate_run(installed: Installed, job: str, repo: Path, *extra: str,
                  env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], Path]:
    pool = f"e2e-wheel-{job[:12]}-{os.getpid()}"
    build_root = installed.work / "builds"
    start = time.monotonic()
    proc = run([installed.crossgate, "run", job, "--path", str(repo),
                "--build-root", str(build_root), "--pool", pool, "--no-mirror", *extra],
               installed.work, env or installed.env, timeout=900)
    installed.figures[f"run_{job}_seconds"] = round(time.monotonic() - start, 1)
    builds = sorted(build_root.glob(f"*-{job}"))
    assert builds, proc.stdout + proc.stderr
    build_dir = builds[-1]
    build = json.loads((build_dir / "build.json").read_text())
    # The node is gone, whatever the result.
    pool_obj = LocalPool(pool)
    states = sorted((build_dir / "ansible").glob("pool-state-*.json"))
    assert states
    for state_file in states:
        state = load_state(state_file)
        assert state is not None
        assert leftovers(pool_obj, state) == []
    assert not pool_obj.state_path.exists()
    assert not pool_obj.dir.exists()
    return proc.returncode, build, build_dir


def test_job_with_collection_filters_runs_from_the_wheel(installed: Installed) -> None:
    repo = git_repo(JOB_REPO, installed.work / "wheel-repo")
    rc, build, build_dir = crossgate_run(installed, "wheel-collection-filters", repo,
                                         "--name", "example/wheel-repo")
    console = (build_dir / "job-output.txt").read_text()
    assert (rc, build["result"]) == (0, "SUCCESS"), console
    assert [(p["phase"], p["status"]) for p in build["playbooks"]] == [
        ("pre", "ok"), ("run", "ok"), ("post", "ok")]
    # The playbook ran under the venv's Ansible, with the roles bundled in the wheel.
    used = json.loads((build_dir / "work/logs/node/ansible.json").read_text())
    assert Path(used["python"]).parent == installed.venv / "bin", used
    assert used["version"].startswith("2.18."), used
    site = next((installed.venv / "lib").glob("python3*/site-packages"))
    cfg = (build_dir / "ansible" / "ansible-run-0.cfg").read_text()
    assert f"roles_path = {site}/crossgate/_data/roles" in cfg, cfg
    assert f"action_plugins = {site}/crossgate/_data/plugins/action" in cfg, cfg


@pytest.fixture
def zuul_jobs(tmp_path: Path) -> Path:
    source = os.environ.get("CROSSGATE_ZUUL_JOBS")
    if not source:
        pytest.skip("CROSSGATE_ZUUL_JOBS (a zuul-jobs git repository) is not set")
    clone = tmp_path / "zuul-jobs"
    run_ok(["git", "clone", "-q", source, str(clone)], tmp_path)
    return clone


def test_a_zuul_jobs_role_with_collection_filters(installed: Installed, zuul_jobs: Path,
                                                  tmp_path: Path) -> None:
    """zuul-jobs' mirror-workspace-git-repos: community.general's git_config on the node,
    then `git push git+ssh://{{ ansible_user }}@{{ ansible_host | ipwrap }}` from the
    executor."""
    repo = tmp_path / "zj-repo"
    (repo / "zuul.d").mkdir(parents=True)
    (repo / "playbooks").mkdir()
    (repo / "zuul.d" / "jobs.yaml").write_text(
        "- job:\n"
        "    name: wheel-zuul-jobs-role\n"
        "    nodeset:\n"
        "      nodes:\n"
        "        - name: node\n"
        "          label: debian-bookworm\n"
        "    roles:\n"
        "      - zuul: zuul/zuul-jobs\n"
        "    timeout: 300\n"
        "    run: playbooks/run.yaml\n")
    (repo / "playbooks" / "run.yaml").write_text(
        "- hosts: all\n  roles:\n    - mirror-workspace-git-repos\n")
    repo = git_repo(repo, tmp_path / "zj-repo-git")
    job = "wheel-zuul-jobs-role"
    pool_ssh = DEFAULT_STATE_ROOT / f"e2e-wheel-{job[:12]}-{os.getpid()}" / "ssh"
    # A Zuul executor lets such a push log in with its ssh-agent and the job's known_hosts;
    # crossgate run gives the key and host keys to Ansible only, so the test hands them to git.
    env = dict(installed.env, GIT_SSH_COMMAND=(
        f"ssh -i {pool_ssh / 'id_ed25519'} -o UserKnownHostsFile={pool_ssh / 'known_hosts'} "
        "-o StrictHostKeyChecking=yes -o BatchMode=yes"))
    rc, build, build_dir = crossgate_run(
        installed, job, repo, "--name", "example/zj-repo",
        "--project", f"opendev.org/zuul/zuul-jobs={zuul_jobs}", env=env)
    console = (build_dir / "job-output.txt").read_text()
    assert (rc, build["result"]) == (0, "SUCCESS"), console
    assert "mirror-workspace-git-repos : Synchronize src repos to workspace directory" in console
    assert "localhost/example/zj-repo checked out to:" in console
