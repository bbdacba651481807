"""End-to-end tests of crossgate run: real jobs on real local nodes.

Each job in tests/e2e/jobs records the phases it ran in work/order.txt, so the
tests see Zuul's playbook order and results as they happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crossgate.nodes import LocalPool
from crossgate.nodes.local import leftovers
from crossgate.nodes.state import load_state

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
JOBS = HERE / "jobs"
ROLES_REPO = HERE / "roles-repo"


def crossgate_run(tmp_path: Path, job: str, *extra: str) -> tuple[int, dict[str, Any], Path]:
    pool = f"e2e-{job.removeprefix('runner-')}-{os.getpid()}"[:40]
    proc = subprocess.run(
        [sys.executable, "-m", "crossgate.cli", "run", job, "--path", str(JOBS),
         "--name", "example/jobs", "--project", f"example/roles-repo={ROLES_REPO}",
         "--build-root", str(tmp_path), "--pool", pool, *extra],
        capture_output=True, text=True, timeout=900)
    builds = sorted(tmp_path.glob(f"*-{job}"))
    assert builds, proc.stdout + proc.stderr
    build_dir = builds[-1]
    build = json.loads((build_dir / "build.json").read_text())
    # Nothing of the nodes may be left behind, whatever the result.
    pool_obj = LocalPool(pool)
    for state_file in sorted((build_dir / "ansible").glob("pool-state-*.json")):
        state = load_state(state_file)
        assert state is not None
        assert leftovers(pool_obj, state) == []
    assert not pool_obj.state_path.exists()
    assert not pool_obj.dir.exists()  # the pool this build made is forgotten
    return proc.returncode, build, build_dir


def order(build_dir: Path) -> list[str]:
    path = build_dir / "work" / "order.txt"
    return path.read_text().split() if path.exists() else []


def test_two_node_job_sees_zuul_inventory_and_order(tmp_path: Path) -> None:
    rc, build, build_dir = crossgate_run(tmp_path, "runner-inventory")
    assert build["result"] == "SUCCESS", (build_dir / "work/logs/job-output.txt").read_text()
    assert rc == 0
    # pre-run parent first, run, post-run child first; the built-in base around them
    assert order(build_dir) == ["parent-pre", "child-pre", "run", "child-post", "parent-post"]
    phases = [(p["phase"], Path(p["path"]).name) for p in build["playbooks"]]
    assert phases == [("pre", "pre.yaml"), ("pre", "parent-pre.yaml"),
                      ("pre", "child-pre.yaml"), ("run", "inventory.yaml"),
                      ("post", "child-post.yaml"), ("post", "parent-post.yaml"),
                      ("post", "post.yaml")]
    # zuul_return: data, artifacts, warnings
    assert build["data"]["answer"] == 42
    assert build["artifacts"] == [{"name": "report", "url": "report.html"}]
    assert build["warnings"] == ["a warning for the build page"]
    # logs fetched back per node by the built-in base
    dumped = json.loads((build_dir / "work/logs/primary/zuul-vars.json").read_text())
    assert dumped["job"] == "runner-inventory"
    assert dumped["project"]["canonical_name"] == "localhost/example/jobs"
    assert (build_dir / "work/logs/secondary").is_dir()
    console = (build_dir / "work/logs/job-output.txt").read_text()
    assert "RESULT: SUCCESS" in console


def test_pre_run_failure_retries_then_retry_limit(tmp_path: Path) -> None:
    rc, build, build_dir = crossgate_run(tmp_path, "runner-pre-fail")
    assert rc == 1
    assert build["result"] == "RETRY_LIMIT"
    assert build["attempts"] == 2
    # each attempt: pre fails, run never starts, post-run still runs
    # each attempt is a build of its own with a fresh work directory
    assert order(build_dir) == ["fail-pre", "post"]
    assert (build_dir / "attempt-1/order.txt").read_text().split() == ["fail-pre", "post"]
    assert len(list((build_dir / "ansible").glob("pool-state-*.json"))) == 2


def test_run_failure_is_failure_and_post_run_runs(tmp_path: Path) -> None:
    rc, build, build_dir = crossgate_run(tmp_path, "runner-run-fail")
    assert (rc, build["result"]) == (1, "FAILURE")
    assert order(build_dir) == ["fail-run", "post"]
    assert (build_dir / "work/zuul_success.txt").read_text() == "False"


def test_post_run_failure_is_post_failure(tmp_path: Path) -> None:
    rc, build, build_dir = crossgate_run(tmp_path, "runner-post-fail")
    assert (rc, build["result"]) == (1, "POST_FAILURE")
    # the child's failing post-run first, then the parent's post-run all the same
    assert order(build_dir) == ["run", "fail-post", "post"]


def test_timeout_is_timed_out_and_post_run_runs(tmp_path: Path) -> None:
    rc, build, build_dir = crossgate_run(tmp_path, "runner-timeout")
    assert (rc, build["result"]) == (1, "TIMED_OUT")
    assert order(build_dir) == ["run", "post"]
    run = next(p for p in build["playbooks"] if p["phase"] == "run")
    assert run["status"] == "timed_out"
    assert run["rc"] != 0  # stopped, not finished: the playbook sleeps for 300 s


def test_roles_from_a_second_repository(tmp_path: Path) -> None:
    rc, build, build_dir = crossgate_run(tmp_path, "runner-roles")
    assert build["result"] == "SUCCESS", (build_dir / "work/logs/job-output.txt").read_text()
    assert rc == 0


def test_a_node_that_cannot_boot_is_node_failure(tmp_path: Path) -> None:
    broken = tmp_path / "broken-rootfs"
    (broken / "etc").mkdir(parents=True)
    (broken / "usr/lib").mkdir(parents=True)
    (broken / "usr/lib/os-release").write_text("ID=broken\n")
    rc, build, build_dir = crossgate_run(tmp_path, "runner-node-failure", "--label",
                                         f"broken-image={broken}", "--boot-timeout", "20")
    assert (rc, build["result"]) == (1, "NODE_FAILURE")
    assert "node broken" in build["error_detail"]
    assert (build_dir / "node-consoles" / "broken.console.log").exists()
    assert build["playbooks"] == []
    assert order(build_dir) == []


def test_host_mirror_serves_the_job_and_a_second_run_downloads_nothing(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    consoles = []
    for _ in range(2):
        rc, build, build_dir = crossgate_run(tmp_path, "runner-mirror", "--mirror-dir",
                                             str(mirror))
        console = (build_dir / "job-output.txt").read_text()
        assert (rc, build["result"]) == (0, "SUCCESS"), console
        assert "MIRROR: serving crossgate_mirror_apt_url=http://" in console
        consoles.append(console)
        # the server is gone with the build
        assert list((build_dir / "ansible" / "mirror").glob("server-*.json")) == []
    warm = [ln for ln in consoles[1].splitlines() if "MIRROR: apt" in ln or "MIRROR: pip" in ln]
    assert len(warm) == 2
    assert all(": 0 downloaded (0 bytes)" in ln for ln in warm), warm


def test_bad_input_fails_fast_naming_the_value(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "crossgate.cli", "run", "no-such-job", "--path", str(JOBS)],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "'no-such-job'" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "crossgate.cli", "run", "runner-parent", "--path", str(JOBS)],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "abstract" in proc.stderr
