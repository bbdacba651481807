"""End-to-end tests of record-phase and report-results: real jobs on two local nodes.

The jobs in tests/e2e/report-repo write check records and phase markers on both
nodes in run, and report on them in post-run with crossgate's roles, taken from
this checkout as the project crossgate/crossgate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from crossgate.nodes import LocalPool
from crossgate.report.schema import validate_results

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
REPO = HERE / "report-repo"
CROSSGATE = HERE.parent.parent


def run_job(tmp_path: Path, job: str) -> tuple[int, dict[str, Any], Path, str]:
    pool = f"e2e-{job}-{os.getpid()}"[:40]
    proc = subprocess.run(
        [sys.executable, "-m", "crossgate.cli", "run", job, "--path", str(REPO),
         "--name", "example/report", "--project", f"crossgate/crossgate={CROSSGATE}",
         "--build-root", str(tmp_path), "--pool", pool, "--no-mirror"],
        capture_output=True, text=True, timeout=900)
    builds = sorted(tmp_path.glob(f"*-{job}"))
    assert builds, proc.stdout + proc.stderr
    build_dir = builds[-1]
    assert not LocalPool(pool).dir.exists()  # the build removed its nodes
    build = json.loads((build_dir / "build.json").read_text())
    console = (build_dir / "work/logs/job-output.txt").read_text()
    return proc.returncode, build, build_dir, console


def test_report_is_saved_and_returned_to_zuul(tmp_path: Path) -> None:
    rc, build, build_dir, console = run_job(tmp_path, "report-e2e-pass")
    assert (rc, build["result"]) == (0, "SUCCESS"), console
    out = build_dir / "work/logs/crossgate-results"
    # every node's records, as fetched from the node
    assert sorted(p.relative_to(out / "records").as_posix()
                  for p in (out / "records").rglob("*.jsonl")) == [
        "node1/e2e.jsonl", "node1/phases.jsonl", "node2/e2e.jsonl", "node2/phases.jsonl"]
    results = json.loads((out / "results.json").read_text())
    assert validate_results(results) == []
    assert results["summary"] == {"total": 4, "pass": 2, "fail": 0, "skip": 2,
                                  "superseded": 0}
    # record-phase ran twice for the start: one marker per node and event
    assert [(p["phase"], p["nodes"]) for p in results["phases"]] == [
        ("validate", ["node1", "node2"])]
    assert results["phases"][0]["end"] >= results["phases"][0]["start"]
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["network", "kubernetes"]
    page = (out / "report.html").read_text()
    assert "&lt;b&gt;64 bytes&lt;/b&gt;" in page and "<b>64 bytes" not in page
    assert build["artifacts"][0] == {"name": "crossgate report",
                                     "url": "crossgate-results/report.html",
                                     "metadata": {"type": "crossgate_report"}}
    assert [a["url"] for a in build["artifacts"][1:]] == ["crossgate-results/results.json",
                                                          "crossgate-results/junit.xml"]
    assert build["warnings"] == []
    assert build["data"]["crossgate"]["results"]["total"] == 4


def test_failed_check_fails_the_job_with_its_evidence(tmp_path: Path) -> None:
    rc, build, build_dir, console = run_job(tmp_path, "report-e2e-fail")
    # the report is made in post-run, so a failed check is a POST_FAILURE
    assert (rc, build["result"]) == (1, "POST_FAILURE"), console
    assert build["warnings"] == ["ceph/health on node1: cluster is HEALTH_ERR"]
    assert "crossgate: 1 of 3 checks failed" in console
    assert "HEALTH_ERR 1 osds down <marker-4711>" in console  # the evidence
    results = json.loads((build_dir / "work/logs/crossgate-results/results.json").read_text())
    assert results["failures"] == ["ceph/health on node1: cluster is HEALTH_ERR"]
    # node2 (the report node) records no check, only the report's own phase marker, which
    # dates the report (results["reported"]) instead of making a phase
    assert results["nodes"] == ["node1", "node2"]
    assert {r["node"] for r in results["records"]} == {"node1"}
    assert {"count": 1, "file": "node2/phases.jsonl", "kind": "phases"} in results["sources"]
    assert results["reported"] >= max(p["end"] for p in results["phases"])
    assert "report" not in {p["phase"] for p in results["phases"]}
    assert (build_dir / "work/logs/crossgate-results/report.html").is_file()


def test_check_failed_in_run_is_a_failure_with_its_evidence(tmp_path: Path) -> None:
    rc, build, build_dir, console = run_job(tmp_path, "report-e2e-run-fail")
    # the run failed on the check: post-run reports it without failing again
    assert (rc, build["result"]) == (1, "FAILURE"), console
    assert build["warnings"] == ["ceph/health on node1: cluster is HEALTH_ERR"]
    assert "crossgate: 1 of 3 checks failed" in console
    assert "HEALTH_ERR 1 osds down <marker-4711>" in console  # the evidence
    assert (build_dir / "work/logs/crossgate-results/report.html").is_file()


def test_invalid_record_names_file_line_and_field(tmp_path: Path) -> None:
    rc, build, build_dir, console = run_job(tmp_path, "report-e2e-invalid")
    assert (rc, build["result"]) == (1, "POST_FAILURE"), console
    assert "node1/e2e.jsonl:3: layer 'storage' is not one of ['network'" in console
    assert build["warnings"] == [
        "invalid crossgate records: node1/e2e.jsonl:3: layer 'storage' is not one of "
        "['network', 'ceph', 'openstack', 'integration', 'interop', 'kubernetes', "
        "'cloudfoundry', 'base']"]
    # the records are in the logs to look at; no report was made from them
    out = build_dir / "work/logs/crossgate-results"
    assert (out / "records/node1/e2e.jsonl").is_file()
    assert not (out / "results.json").exists()
