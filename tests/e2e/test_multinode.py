"""crossgate-multinode end to end on 3 local nodes, and the failures preflight must catch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
MISCONFIGURED = Path(__file__).resolve().parent / "multinode-repo"


def run_job(tmp_path: Path, job: str, *, from_crossgate: bool,
            extra: tuple[str, ...] = ()) -> tuple[int, dict[str, Any], str, Path]:
    cmd = [sys.executable, "-m", "crossgate.cli", "run", job, "--build-root", str(tmp_path),
           *extra]
    if from_crossgate:
        cmd += ["--path", str(REPO), "--name", "crossgate/crossgate"]
    else:
        cmd += ["--path", str(MISCONFIGURED), "--name", "example/multinode",
                "--project", f"crossgate/crossgate={REPO}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    build_dir = sorted(tmp_path.glob(f"*-{job}"))[-1]
    build = json.loads((build_dir / "build.json").read_text())
    console = (build_dir / "job-output.txt").read_text()
    return proc.returncode, build, console, build_dir


def test_crossgate_multinode_passes(tmp_path: Path) -> None:
    rc, build, console, build_dir = run_job(tmp_path, "crossgate-multinode",
                                            from_crossgate=True)
    assert (rc, build["result"]) == (0, "SUCCESS"), console[-5000:]
    # the overlay matrix: 3 nodes, 6 ordered pairs, each one a passing record
    for node in ("controller", "compute1", "compute2"):
        assert (build_dir / "work/logs" / node / "system/journal.txt").exists()
    assert "overlay-ping:controller->compute2: pass" in console
    # the report: every node's records, validated, as results.json, JUnit and HTML
    results_dir = build_dir / "work/logs/crossgate-results"
    results = json.loads((results_dir / "results.json").read_text())
    checks = {(r["node"], r["check"]) for r in results["records"]}
    assert len([c for c in checks if c[1].startswith("overlay-ping:")]) == 6
    assert results["summary"]["fail"] == 0
    assert results["result"] == "pass"
    assert {p["name"] for p in results["phases"]} >= {"multinode", "nodes", "network"}
    assert (results_dir / "junit.xml").exists()
    assert "<svg" in (results_dir / "report.html").read_text()
    assert any(a["url"] == "crossgate-results/report.html" for a in build["artifacts"])


def test_wrong_mtu_fails_on_entry_naming_node_and_mtu(tmp_path: Path) -> None:
    rc, build, console, _ = run_job(tmp_path, "multinode-wrong-mtu", from_crossgate=False)
    assert rc == 1
    # a pre-run failure: retried, and with attempts 1 that is RETRY_LIMIT
    assert build["result"] == "RETRY_LIMIT"
    assert "configure_overlay_mtu=1500 gives an overlay MTU of 1500 on node" in console
    assert "at most 1450" in console


def test_small_path_mtu_fails_preflight_naming_the_pairs_and_mtu(tmp_path: Path) -> None:
    # compute1's link carries 1400-byte frames while its interface says 1500: the overlay MTU
    # derived from the interface (1450) does not fit through compute1, and only its pairs fail.
    rc, build, console, build_dir = run_job(tmp_path, "multinode-small-path-mtu",
                                            from_crossgate=False,
                                            extra=("--link-mtu", "compute1=1400"))
    assert (rc, build["result"]) == (1, "RETRY_LIMIT"), console[-3000:]
    failed = {w.split(" on ", 1)[0] for w in build["warnings"]}
    assert failed == {
        "network/overlay-ping:compute1->compute2", "network/overlay-ping:compute1->controller",
        "network/overlay-ping:compute2->compute1", "network/overlay-ping:controller->compute1",
    }, build["warnings"]
    assert "overlay check failed for controller->compute1: " in console
    assert "full-size don't-fragment ping at MTU 1450 failed" in console
    results = json.loads((build_dir / "work/logs/crossgate-results/results.json").read_text())
    passed = {r["check"] for r in results["records"] if r["status"] == "pass"}
    assert passed == {"overlay-ping:controller->compute2", "overlay-ping:compute2->controller"}


def test_link_mtu_for_a_node_not_in_the_nodeset_is_refused(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "crossgate.cli", "run", "multinode-small-path-mtu",
         "--path", str(MISCONFIGURED), "--name", "example/multinode",
         "--project", f"crossgate/crossgate={REPO}", "--build-root", str(tmp_path),
         "--link-mtu", "compute9=1400"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "--link-mtu compute9=1400: no node 'compute9' in the job's nodeset" in proc.stderr
    assert "controller" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # refused before any build started


def test_blocked_overlay_port_fails_preflight_naming_the_pairs(tmp_path: Path) -> None:
    rc, build, console, _ = run_job(tmp_path, "multinode-blocked-port", from_crossgate=False)
    assert (rc, build["result"]) == (1, "RETRY_LIMIT")
    assert "overlay check failed for" in console
    assert "compute2" in console.split("overlay check failed for", 1)[1].split("\n", 1)[0]
    assert "at MTU 1450 failed" in console


def test_bad_role_variable_fails_on_entry_naming_it(tmp_path: Path) -> None:
    rc, build, console, _ = run_job(tmp_path, "multinode-bad-variable", from_crossgate=False)
    assert (rc, build["result"]) == (1, "RETRY_LIMIT")
    assert "configure_overlay_vxlan_port" in console
    assert "argument_spec" in console or "arg spec" in console
