"""crossgate in a real Zuul, and the same job under `crossgate run`.

A tenant (tests/zuul/config-project: pipeline, trusted base job, static nodes)
loads crossgate as an untrusted project and the compare project
(tests/zuul/compare-project). One enqueue-ref through zuul-web runs two builds
on six crossgate local nodes: crossgate-multinode as it is, and
crossgate-zuul-compare (crossgate-multinode plus a dump of the variables its
playbooks see). The test reads the results through the REST API with
zuul-client, checks the artifacts zuul_return gave and the report in the logs;
then runs crossgate-zuul-compare with `crossgate run` on the same commits and
compares result, artifacts, zuul_return data and the dumped variables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import vardiff
from zuulenv import (
    BRANCH,
    COMPARE_PROJECT,
    PIPELINE,
    REPO,
    TENANT,
    EnvError,
    ZuulEnv,
    tail,
)

pytestmark = pytest.mark.zuul

JOBS = {"crossgate-multinode", "crossgate-zuul-compare"}
ARTIFACTS = {"crossgate report": "crossgate-results/report.html",
             "crossgate results": "crossgate-results/results.json",
             "crossgate junit": "crossgate-results/junit.xml"}
RUN_TIMEOUT = float(os.environ.get("CROSSGATE_ZUUL_RUN_TIMEOUT", "900"))
FIGURES = REPO / "build" / "zuul" / "figures.json"


@pytest.fixture(scope="module")
def env() -> Any:
    zenv = ZuulEnv()
    try:
        zenv.start()  # a failure here fails the tests with the environment's reason
        yield zenv
    finally:
        problems = zenv.stop()
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        FIGURES.write_text(json.dumps(zenv.figures, indent=2) + "\n")
        print(f"\nreal-Zuul figures: {json.dumps(zenv.figures)}")
        if zenv.root.exists():
            problems.append(f"{zenv.root} is left")
        netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        if zenv.netns in netns.split():
            problems.append(f"network namespace {zenv.netns} is left")
        if zenv.pool is not None and zenv.pool.state_path.exists():
            problems.append(f"node pool {zenv.pool_name} is left")
        if problems:
            message = f"teardown left: {problems}"
            if sys.exc_info()[0] is not None:
                print(message)  # the start's own error is the one to see
            else:
                pytest.fail(message)


@pytest.fixture(scope="module")
def zuul_builds(env: ZuulEnv) -> dict[str, dict[str, Any]]:
    t0 = time.monotonic()
    sha = env.enqueue(COMPARE_PROJECT)
    builds = env.wait_builds(COMPARE_PROJECT, sha, JOBS)
    env.figures["zuul_buildset_s"] = round(time.monotonic() - t0, 1)
    out = {}
    for job, build in builds.items():
        info = env.build_info(build["uuid"])
        env.figures[f"zuul_build_{job}_s"] = round(float(info.get("duration") or 0), 1)
        out[job] = info
    return out


def log_dir(env: ZuulEnv, build: dict[str, Any]) -> Path:
    url = build.get("log_url") or ""
    assert url.startswith("file://"), f"log_url {url!r}: the base job's post-run did not run"
    return Path(url.removeprefix("file://"))


def console(env: ZuulEnv, build: dict[str, Any]) -> str:
    path = env.log_store / build["uuid"] / "job-output.txt"
    return tail(path, 80) if path.exists() else f"(no console log at {path})"


@pytest.mark.parametrize("job", sorted(JOBS))
def test_real_zuul_build_succeeds_with_report(env: ZuulEnv,
                                              zuul_builds: dict[str, dict[str, Any]],
                                              job: str) -> None:
    build = zuul_builds[job]
    assert build["result"] == "SUCCESS", (
        f"{job} in Zuul: {build['result']} ({build.get('error_detail')}); console:\n"
        f"{console(env, build)}")
    logs = log_dir(env, build)
    # zuul_return's artifacts, made absolute by Zuul against the build's log_url.
    artifacts = {a["name"]: a["url"] for a in build.get("artifacts") or []}
    assert artifacts == {name: f"file://{logs}/{rel}" for name, rel in ARTIFACTS.items()}
    for rel in ARTIFACTS.values():
        assert (logs / rel).is_file(), f"{rel} is not in the build's logs {logs}"
    results = json.loads((logs / "crossgate-results" / "results.json").read_text())
    report = (logs / "crossgate-results" / "report.html").read_text()
    assert "network" in report and results, "the report has no network checks"
    # The console log of the executor and every node's logs came back.
    assert (logs / "job-output.txt").is_file()
    for node in ("controller", "compute1", "compute2"):
        assert (logs / node).is_dir(), f"no logs of node {node} in {logs}"


def crossgate_run(env: ZuulEnv) -> tuple[int, dict[str, Any], Path, str]:
    """crossgate-zuul-compare under crossgate run, on clones of the commits Zuul ran."""
    clones = env.root / "clones"
    for name in ("crossgate", COMPARE_PROJECT):
        subprocess.run(["git", "clone", "-q", "-b", BRANCH, str(env.root / "git" / name),
                        str(clones / name)], check=True, timeout=120)
    build_root = env.root / "runs"
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "crossgate.cli", "run", "crossgate-zuul-compare",
         "--path", str(clones / COMPARE_PROJECT), "--name", COMPARE_PROJECT,
         "--project", f"crossgate={clones / 'crossgate'}", "--build-root", str(build_root),
         "--pool", f"zuul-run-{env.id}", "--pipeline", PIPELINE, "--tenant", TENANT],
        capture_output=True, text=True, timeout=RUN_TIMEOUT)
    env.figures["crossgate_run_s"] = round(time.monotonic() - t0, 1)
    builds = sorted(build_root.glob("*-crossgate-zuul-compare"))
    if not builds:
        raise EnvError(f"crossgate run made no build directory: {proc.stdout[-3000:]}"
                       f"{proc.stderr[-3000:]}")
    build = json.loads((builds[-1] / "build.json").read_text())
    return proc.returncode, build, builds[-1], proc.stdout[-3000:] + proc.stderr[-3000:]


def test_crossgate_run_matches_real_zuul(env: ZuulEnv,
                                         zuul_builds: dict[str, dict[str, Any]]) -> None:
    zbuild = zuul_builds["crossgate-zuul-compare"]
    rc, rbuild, rdir, output = crossgate_run(env)
    env.figures["crossgate_run_build_s"] = round(float(rbuild.get("duration") or 0), 1)
    # Same result.
    assert rbuild["result"] == zbuild["result"] == "SUCCESS", output
    assert rc == 0
    # Same artifacts: names, relative URLs and metadata as zuul_return gave them.
    zlogs = log_dir(env, zbuild)
    zart = [dict(a, url=a["url"].removeprefix(f"file://{zlogs}/"))
            for a in zbuild["artifacts"]]
    rart = [{k: v for k, v in a.items() if k in ("name", "url", "metadata")}
            for a in rbuild["artifacts"]]
    assert sorted(zart, key=lambda a: a["name"]) == sorted(rart, key=lambda a: a["name"])
    # Same files in the report folder, and the same check counts zuul_return passed on.
    rlogs = rdir / "work" / "logs"
    for rel in ARTIFACTS.values():
        assert (rlogs / rel).is_file()
    zres = json.loads((zlogs / "crossgate-results" / "results.json").read_text())
    rres = json.loads((rlogs / "crossgate-results" / "results.json").read_text())
    assert _counts(zres) == _counts(rres)
    # Same variables seen by the playbooks, up to values that are per build by nature
    # and the documented differences.
    zdump = vardiff.load_dump(zlogs / "zuul-vars")
    rdump = vardiff.load_dump(rlogs / "zuul-vars")
    diffs = vardiff.diff(zdump, rdump)
    text = vardiff.report(diffs)
    if os.environ.get("CROSSGATE_ZUUL_KEEP_DIFF"):
        (env.root.parent / f"cg-zuul-{env.id}-differences.txt").write_text(text + "\n")
    print("\n" + text)
    _, unexplained = vardiff.classify(diffs)
    assert not unexplained, text


def _counts(results: dict[str, Any]) -> tuple[Any, ...]:
    return results.get("result"), results.get("summary"), results.get("layers")
