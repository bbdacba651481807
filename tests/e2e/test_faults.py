"""Faults injected into `crossgate run` on real local nodes: the build stops, says why, keeps
the logs it can, and leaves nothing behind.

* SIGINT and SIGTERM while a playbook runs: the build is ABORTED, ansible-playbook, the nodes
  and the mirror server stop, the command exits with 128 + the signal's number;
* a node killed while both nodes work (its nspawn killed, as a VM dies): the node is
  UNREACHABLE within ``--unreachable-after`` (SSH keepalives), the build fails within two
  minutes of the fault naming it, and post-run still brings back the other node's logs;
* the host mirror stopped while the run installs from it: apt's retries are bounded by the
  job's variables, and the build says the mirror stopped answering.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from crossgate.nodes import LocalPool
from crossgate.nodes.local import leftovers
from crossgate.nodes.state import load_state

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
JOBS = HERE / "jobs"
WAIT_S = 300  # the bound of each wait of these tests for the build to reach a point


class Run:
    """A crossgate run in the background, its output lines stamped as they come."""

    def __init__(self, tmp_path: Path, job: str, *extra: str) -> None:
        self.tmp_path, self.job = tmp_path, job
        self.pool = f"e2e-f-{job.removeprefix('runner-')}-{os.getpid()}"[:40]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crossgate.cli", "run", job, "--path", str(JOBS),
             "--name", "example/jobs", "--build-root", str(tmp_path), "--pool", self.pool,
             *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[tuple[float, str]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def when(self, words: str) -> float | None:
        return next((t for t, line in self.lines if words in line), None)

    def build_dir(self) -> Path:
        builds = sorted(self.tmp_path.glob(f"*-{self.job}"))
        assert builds, self.text()
        return builds[-1]

    def wait_for_order(self, word: str) -> None:
        """Until the job's playbooks record WORD in work/order.txt (at most WAIT_S)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            builds = sorted(self.tmp_path.glob(f"*-{self.job}"))
            order = builds[-1] / "work" / "order.txt" if builds else None
            if order is not None and order.exists() and word in order.read_text().split():
                return
            assert self.proc.poll() is None, f"the build ended first:\n{self.text()[-4000:]}"
            time.sleep(0.5)
        raise AssertionError(f"timed out after {WAIT_S} s waiting for '{word}' in the job's "
                             f"order.txt:\n{self.text()[-4000:]}")

    def finish(self) -> tuple[int, dict[str, Any], Path]:
        rc = self.proc.wait(timeout=WAIT_S)
        self.reader.join(timeout=10)
        build_dir = self.build_dir()
        build = json.loads((build_dir / "build.json").read_text())
        # nothing of the build is left: nodes, pool, mirror server, ansible-playbook
        pool = LocalPool(self.pool)
        for state_file in sorted((build_dir / "ansible").glob("pool-state-*.json")):
            state = load_state(state_file)
            assert state is not None and leftovers(pool, state) == []
        assert not pool.state_path.exists() and not pool.dir.exists()
        assert list((build_dir / "ansible" / "mirror").glob("server-*.json")) == []
        assert processes_of(build_dir) == [], processes_of(build_dir)
        return rc, build, build_dir


def processes_of(build_dir: Path) -> list[str]:
    """Processes whose command line names the build directory (ansible-playbook, ssh)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(build_dir) in cmd:
            found.append(f"{proc.name}: {cmd[:160]}")
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_an_interrupted_run_is_aborted_and_leaves_nothing(tmp_path: Path,
                                                          sig: signal.Signals) -> None:
    run = Run(tmp_path, "runner-interrupt")
    run.wait_for_order("run")  # the run playbook sleeps on the node now
    sent = time.monotonic()
    run.proc.send_signal(sig)
    rc, build, build_dir = run.finish()
    console = run.text()
    assert rc == 128 + sig, console[-4000:]
    assert build["result"] == "ABORTED", build
    assert build["error_detail"] == f"interrupted by {sig.name}; nodes and mirror server stopped"
    assert f"INTERRUPTED: {sig.name}: the build is aborted" in console
    # it stopped at once: no playbook ran after the signal (post-run is not run on abort)
    assert "PLAYBOOK START: post" not in console.split("INTERRUPTED")[1]
    ended = run.when("RESULT: ABORTED")
    assert ended is not None and ended - sent < 60, ended and ended - sent
    assert (build_dir / "job-output.txt").is_file()


def test_a_node_killed_mid_run_is_unreachable_and_the_others_logs_come_back(
        tmp_path: Path) -> None:
    run = Run(tmp_path, "runner-node-lost")
    run.wait_for_order("at-work")
    pool = LocalPool(run.pool)
    pids = pool.node_pids("secondary")  # nspawn, the node's systemd and all it runs
    assert len(pids) > 3, pids
    killed = time.monotonic()
    for pid in pids:  # the node dies at once, as a VM whose host lost power
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    rc, build, build_dir = run.finish()
    console = run.text()
    assert (rc, build["result"]) == (1, "RETRY_LIMIT"), console[-4000:]
    assert "UNREACHABLE: secondary" in console, console[-4000:]
    unreachable, ended = run.when("UNREACHABLE: secondary"), run.when("RESULT: RETRY_LIMIT")
    assert unreachable is not None and ended is not None
    # noticed by SSH keepalives (60 s by default), the build over within two minutes
    assert unreachable - killed < 90 and ended - killed < 120, (unreachable - killed,
                                                                ended - killed)
    # post-run ran, and brought back the logs of the node that lived
    assert "PLAYBOOK END: post playbook example/jobs/playbooks/record-post.yaml: OK" in console
    logs = build_dir / "work" / "logs"
    assert (logs / "primary" / "node.txt").read_text() == "primary was here\n"
    assert not (logs / "secondary").exists()


def test_a_mirror_that_stops_mid_run_is_named(tmp_path: Path) -> None:
    run = Run(tmp_path, "runner-mirror-lost")
    run.wait_for_order("installing")
    build_dir = run.build_dir()
    servers = list((build_dir / "ansible" / "mirror").glob("server-*.json"))
    assert len(servers) == 1, servers
    pid = json.loads(servers[0].read_text())["pid"]
    os.kill(pid, signal.SIGTERM)  # the mirror server this build started stops
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    (build_dir / "work" / "mirror-stopped").touch()
    rc, build, _ = run.finish()
    console = run.text()
    assert (rc, build["result"]) == (1, "FAILURE"), console[-4000:]
    # apt's retries are the job's (2), then the build says the mirror stopped answering
    retrying = [line for line in console.splitlines()
                if "FAILED - RETRYING" in line and "Install jq from the mirror" in line]
    assert 1 <= len(retrying) <= 2, retrying
    assert "MIRROR: unreachable: the host mirror http://" in console, console[-4000:]
    assert "stopped answering during the build (Connection refused)" in console
    assert build["error_detail"].endswith("the host mirror stopped answering"), build
