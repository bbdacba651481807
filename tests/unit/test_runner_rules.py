"""The executor's rules (zuul.executor.server.AnsibleJob.runPlaybooks, Zuul 14.3), in pure Python.

The Executor runs with a fake node provider (a Provider that hands out addresses and
records up/down) and a fake ansible-playbook (a launcher that plays each playbook's
scripted outcome). Everything between them is the real executor: phases, timeouts,
retries, results, the inventory and the zuul_* command-line variables. The e2e tests
(tests/e2e/test_run.py) run the same rules with real nodes and a real ansible-playbook.
"""

from __future__ import annotations

import ast
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import crossgate.runner.execute as execute_module
from crossgate.config.freeze import FrozenJob, Playbook
from crossgate.config.repo import Repo
from crossgate.nodes.model import Node, NodeFailure, NodeSpec
from crossgate.nodes.provider import Provider
from crossgate.runner import inventory as inv
from crossgate.runner.execute import BuildResult, Executor, RunOptions
from crossgate.runner.projects import Project

# --- fakes -------------------------------------------------------------------------------


class FakeProvider(Provider):
    """Nodes at documentation addresses; `fail` makes `up` raise NodeFailure."""

    kind = "fake"

    def __init__(self, name: str, log: list[str], fail: str | None = None) -> None:
        super().__init__(name)
        self.log = log
        self.fail = fail

    def up(self, specs: list[NodeSpec]) -> list[Node]:
        self.log.append("up")
        if self.fail:
            raise NodeFailure(self.fail)
        return [Node(s.name, f"192.0.2.{10 + i}", "zuul", "/nonexistent/key", provider="fake")
                for i, s in enumerate(specs)]

    def down(self) -> None:
        self.log.append("down")

    def list(self) -> list[Node]:
        return []


@dataclass
class Call:
    """One ansible-playbook the executor started."""

    attempt: int
    phase: str
    name: str
    success: str | None       # zuul_success on the command line
    will_retry: str | None    # zuul_will_retry on the command line
    seconds: float | None     # time left until the deadline when it started
    inventory: dict[str, Any]


@dataclass
class FakeAnsible:
    """A launcher standing in for ansible-playbook.

    `script` maps a playbook's file name to its outcome, or to a list of outcomes, one
    per attempt (the last one repeats): ok, fail, timeout (stopped at the deadline),
    unreachable (Zuul's callback lists the host), no-retry (fails after zuul_return
    `retry: false`), slow (sleeps 200 ms, then ok). Playbooks not in the script succeed.
    """

    script: dict[str, str | list[str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def __call__(self, cmd: list[str], env: dict[str, str], cwd: Path,
                 deadline: float | None) -> tuple[int, bool]:
        extra = dict(cmd[i + 1].split("=", 1) for i, a in enumerate(cmd[:-1])
                     if a == "-e" and not cmd[i + 1].startswith("@"))
        jobdir = Path(env["ZUUL_JOBDIR"])
        zuul = yaml.safe_load((jobdir / "ansible" / "zuul_vars.yaml").read_text())["zuul"]
        attempt = zuul["attempts"]
        name = Path(cmd[2]).name
        self.calls.append(Call(
            attempt, extra["zuul_execution_phase"], name, extra.get("zuul_success"),
            extra.get("zuul_will_retry"),
            None if deadline is None else deadline - time.time(),
            yaml.safe_load((jobdir / "ansible" / "inventory.yaml").read_text()
                           .replace("!unsafe ", ""))))
        outcome = self.script.get(Path(name).stem, "ok")
        if isinstance(outcome, list):
            outcome = outcome[min(attempt, len(outcome)) - 1]
        if outcome == "ok":
            return 0, False
        if outcome == "slow":
            time.sleep(0.2)
            return 0, False
        if outcome == "fail":
            return 2, False
        if outcome == "timeout":
            return -15, True
        if outcome == "unreachable":
            (jobdir / ".ansible" / "nodes.unreachable").write_text("primary\n")
            return 4, False
        if outcome == "no-retry":
            (jobdir / "work" / "results.json").write_text(
                json.dumps({"data": {"zuul": {"retry": False}}}))
            return 2, False
        raise AssertionError(f"unknown outcome {outcome!r}")

    def names(self, attempt: int | None = None) -> list[str]:
        return [c.name.removesuffix(".yaml") for c in self.calls
                if attempt is None or c.attempt == attempt]

    def call(self, name: str, attempt: int = 1) -> Call:
        return next(c for c in self.calls if c.name == f"{name}.yaml" and c.attempt == attempt)


# --- a job like tests/e2e/jobs: a base (nesting 0) and a child (nesting 1) -----------------

PB = tuple[str, int]   # playbook file name without .yaml, nesting level
PRE: list[PB] = [("base-pre", 0), ("child-pre", 1)]
RUN: list[PB] = [("run", 1)]
POST: list[PB] = [("child-post", 1), ("base-post", 0)]
CLEANUP: list[PB] = [("cleanup", 0)]


def make_job(repo: Repo, pre: list[PB] = PRE, run: list[PB] = RUN, post: list[PB] = POST,
             cleanup: list[PB] = CLEANUP, **attrs: Any) -> FrozenJob:
    def pbs(items: list[PB], phase: str) -> list[Playbook]:
        # cleanup-run (deprecated): runs always, its result ignored; a post-run
        # playbook named *-cleanup stands for `cleanup: true`
        return [Playbook(f"playbooks/{n}.yaml", repo, [], phase, False, nesting,
                         cleanup=phase == "cleanup" or n.endswith("-cleanup"),
                         ignore_result=phase == "cleanup")
                for n, nesting in items]
    return FrozenJob("job", pre_run=pbs(pre, "pre"), run=pbs(run, "run"),
                     post_run=pbs(post, "post"), cleanup_run=pbs(cleanup, "cleanup"),
                     **attrs)


@dataclass
class Run:
    build: BuildResult
    ansible: FakeAnsible
    provider_log: list[str]


def run_job(tmp_path: Path, script: dict[str, str | list[str]] | None = None,
            nodeset: inv.Nodeset | None = None, node_failure: str | None = None,
            **job_attrs: Any) -> Run:
    root = tmp_path / "jobs"
    root.mkdir(exist_ok=True)
    job = make_job(Repo("example/jobs", root), **job_attrs)
    if nodeset is None:
        nodeset = inv.Nodeset([inv.HostSpec(["primary"], "debian-bookworm")])
    ansible = FakeAnsible(dict(script or {}))
    log: list[str] = []
    project = Project("example/jobs", root)
    ex = Executor(job, nodeset, [project], project,
                  lambda attempt: FakeProvider(f"pool-{attempt}", log, node_failure),
                  tmp_path / "build", RunOptions(quiet=True), launcher=ansible)
    return Run(ex.execute(), ansible, log)


# --- the result mapping ------------------------------------------------------------------

RESULTS = [
    # script, attempts, result, attempts used
    ({}, 3, "SUCCESS", 1),
    ({"run": "fail"}, 3, "FAILURE", 1),
    ({"child-post": "fail"}, 3, "POST_FAILURE", 1),
    ({"run": "fail", "base-post": "fail"}, 3, "POST_FAILURE", 1),
    # the deprecated cleanup-run's result is ignored (Zuul: ignore_result)
    ({"cleanup": "fail"}, 3, "SUCCESS", 1),
    ({"run": "fail", "cleanup": "fail"}, 3, "FAILURE", 1),
    ({"run": "timeout"}, 3, "TIMED_OUT", 1),
    ({"run": "timeout", "child-post": "fail"}, 3, "TIMED_OUT", 1),
    ({"child-pre": "fail"}, 3, "RETRY_LIMIT", 3),
    ({"child-pre": "fail", "base-post": "fail"}, 2, "RETRY_LIMIT", 2),
    ({"base-pre": "timeout"}, 2, "RETRY_LIMIT", 2),
    ({"base-pre": "unreachable"}, 2, "RETRY_LIMIT", 2),
    ({"child-pre": ["fail", "ok"]}, 3, "SUCCESS", 2),
    ({"child-pre": ["fail", "ok"], "run": "fail"}, 3, "FAILURE", 2),
    ({"child-pre": "no-retry"}, 3, "FAILURE", 1),
    ({"run": "unreachable"}, 2, "RETRY_LIMIT", 2),
    ({"run": ["unreachable", "ok"]}, 2, "SUCCESS", 2),
    ({"base-post": "unreachable"}, 1, "RETRY_LIMIT", 1),
    ({"base-post": ["unreachable", "ok"]}, 2, "SUCCESS", 2),
    ({"cleanup": "unreachable"}, 2, "SUCCESS", 1),
]
# a post-run playbook with `cleanup: true`: its failure counts, its unreachable does not retry
CLEANUP_POST: list[PB] = [("child-post", 1), ("base-cleanup", 0), ("base-post", 0)]
RESULTS_CLEANUP_POST = [
    ({}, "SUCCESS", 1),
    ({"base-cleanup": "fail"}, "POST_FAILURE", 1),
    ({"base-cleanup": "unreachable"}, "POST_FAILURE", 1),
    ({"base-post": "unreachable"}, "RETRY_LIMIT", 2),
]


@pytest.mark.parametrize(("script", "result", "used"), RESULTS_CLEANUP_POST)
def test_post_run_cleanup(tmp_path: Path, script: dict[str, Any], result: str,
                          used: int) -> None:
    run = run_job(tmp_path, script, attempts=2, post=CLEANUP_POST)
    assert (run.build.result, run.build.attempts) == (result, used)
    assert run.ansible.names(1)[-4:] == ["child-post", "base-cleanup", "base-post", "cleanup"]


@pytest.mark.parametrize(("post", "cleanup", "order"), [
    # Zuul puts each cleanup-run playbook before the first post-run playbook of a
    # lower nesting level
    ([("child-post", 1), ("base-post", 0)], [("child-cleanup", 1)],
     ["child-post", "child-cleanup", "base-post"]),
    ([("child-post", 1), ("base-post", 0)], [("cleanup", 0)],
     ["child-post", "base-post", "cleanup"]),
    ([("child-post", 2), ("mid-post", 1)], [("deep-cleanup", 2), ("mid-cleanup", 1)],
     ["child-post", "deep-cleanup", "mid-post", "mid-cleanup"]),
])
def test_cleanup_run_order(tmp_path: Path, post: list[PB], cleanup: list[PB],
                           order: list[str]) -> None:
    run = run_job(tmp_path, post=post, cleanup=cleanup)
    assert run.ansible.names()[-len(order):] == order


@pytest.mark.parametrize(("script", "attempts", "result", "used"), RESULTS)
def test_result_mapping(tmp_path: Path, script: dict[str, Any], attempts: int, result: str,
                        used: int) -> None:
    run = run_job(tmp_path, script, attempts=attempts)
    assert (run.build.result, run.build.attempts) == (result, used)
    # every attempt had nodes of its own, and gave them back
    assert run.provider_log == ["up", "down"] * used
    assert json.loads((tmp_path / "build" / "build.json").read_text())["result"] == result


def test_a_node_request_that_fails_is_node_failure_and_runs_nothing(tmp_path: Path) -> None:
    run = run_job(tmp_path, node_failure="node primary did not boot", attempts=3)
    assert (run.build.result, run.build.attempts) == ("NODE_FAILURE", 1)
    assert run.build.error_detail == "node primary did not boot"
    assert run.ansible.calls == [] and run.build.playbooks == []
    assert run.provider_log == ["up", "down"]   # nothing is left half-up


# --- post-run after a failure --------------------------------------------------------------

ORDERS = [
    # script, playbooks in the order they ran, zuul_success given to post-run
    ({}, ["base-pre", "child-pre", "run", "child-post", "base-post", "cleanup"], "True"),
    ({"run": "fail"}, ["base-pre", "child-pre", "run", "child-post", "base-post", "cleanup"],
     "False"),
    # the child's pre-run ran (and failed): its post-run runs too
    ({"child-pre": "fail"}, ["base-pre", "child-pre", "child-post", "base-post", "cleanup"],
     "False"),
    # the base's pre-run failed: the child's pre-run never started, so neither does its post-run
    ({"base-pre": "fail"}, ["base-pre", "base-post", "cleanup"], "False"),
    ({"run": "timeout"}, ["base-pre", "child-pre", "run", "child-post", "base-post", "cleanup"],
     "False"),
]


@pytest.mark.parametrize(("script", "order", "success"), ORDERS)
def test_post_run_runs_after_a_failed_pre_run_or_run(tmp_path: Path, script: dict[str, Any],
                                                      order: list[str], success: str) -> None:
    run = run_job(tmp_path, script, attempts=1)
    assert run.ansible.names() == order
    assert run.ansible.call("base-post").success == success
    skipped = [Path(p.path).stem for p in run.build.playbooks if p.status == "skipped"]
    assert skipped == (["child-post"] if script == {"base-pre": "fail"} else [])


def test_a_failed_post_run_tells_the_next_ones(tmp_path: Path) -> None:
    run = run_job(tmp_path, {"child-post": "fail"})
    assert run.ansible.call("child-post").success == "True"
    assert run.ansible.call("base-post").success == "False"


def test_every_run_playbook_must_succeed(tmp_path: Path) -> None:
    # the second run playbook times out after the first succeeded: post-run hears of failure
    run = run_job(tmp_path, {"run-2": "timeout"}, run=[("run", 1), ("run-2", 1)])
    assert run.build.result == "TIMED_OUT"
    assert run.ansible.call("child-post").success == "False"


# --- pre-run failure: retried up to `attempts`, then RETRY_LIMIT --------------------------

RETRIES = [
    # attempts, pre-run outcomes per attempt, result, zuul_will_retry per attempt
    (1, ["fail"], "RETRY_LIMIT", ["False"]),
    (2, ["fail"], "RETRY_LIMIT", ["True", "False"]),
    (3, ["fail"], "RETRY_LIMIT", ["True", "True", "False"]),
    (3, ["fail", "fail", "ok"], "SUCCESS", ["True", "True", "False"]),
    (3, ["ok"], "SUCCESS", ["False"]),
    (0, ["fail"], "RETRY_LIMIT", ["False"]),   # at least one attempt
]


@pytest.mark.parametrize(("attempts", "outcomes", "result", "will_retry"), RETRIES)
def test_pre_run_failure_is_retried_up_to_attempts(tmp_path: Path, attempts: int,
                                                   outcomes: list[str], result: str,
                                                   will_retry: list[str]) -> None:
    run = run_job(tmp_path, {"child-pre": outcomes}, attempts=attempts)
    assert run.build.result == result
    assert run.build.attempts == len(will_retry)
    assert [run.ansible.call("base-post", a).will_retry
            for a in range(1, len(will_retry) + 1)] == will_retry
    for a in range(1, len(will_retry) + 1):
        # run never starts after a failed pre-run; post-run and cleanup do
        expect = ["base-pre", "child-pre", "run" if outcomes[min(a, len(outcomes)) - 1] == "ok"
                  else None, "child-post", "base-post", "cleanup"]
        assert run.ansible.names(a) == [n for n in expect if n]
    # each attempt keeps its work directory (a build of its own in Zuul)
    kept = sorted(p.name for p in (tmp_path / "build").glob("attempt-*"))
    assert kept == [f"attempt-{a}" for a in range(1, len(will_retry))]


def test_zuul_return_retry_false_ends_a_pre_run_failure_as_failure(tmp_path: Path) -> None:
    run = run_job(tmp_path, {"child-pre": "no-retry"}, attempts=3)
    assert (run.build.result, run.build.attempts) == ("FAILURE", 1)
    assert run.ansible.call("base-post").will_retry == "False"


# --- job variables reach the inventory -----------------------------------------------------

TWO_NODES = inv.Nodeset([inv.HostSpec(["primary"], "debian-bookworm"),
                         inv.HostSpec(["secondary"], "debian-bookworm")],
                        {"peers": ["secondary"]})
VARS = [
    # job attributes, host, variable, expected value
    ({"host_vars": {"primary": {"x": "host"}}}, "primary", "x", "host"),
    ({"host_vars": {"primary": {"x": "host"}}}, "secondary", "x", None),
    ({"vars": {"x": "job"}, "host_vars": {"primary": {"x": "host"}}}, "primary", "x", "host"),
    ({"vars": {"x": "job"}, "host_vars": {"primary": {"x": "host"}}}, "secondary", "x", "job"),
    ({"group_vars": {"peers": {"x": "group"}}, "host_vars": {"secondary": {"x": "host"}}},
     "secondary", "x", "host"),
    ({"group_vars": {"peers": {"x": "group"}}}, "secondary", "x", "group"),
    ({"extra_vars": {"x": "extra"}, "host_vars": {"primary": {"x": "host"}}}, "primary", "x",
     "extra"),
    # the executor's own connection variables win over a job's host-vars
    ({"host_vars": {"primary": {"ansible_host": "203.0.113.1"}}}, "primary", "ansible_host",
     "192.0.2.10"),
    ({}, "secondary", "ansible_host", "192.0.2.11"),
]


@pytest.mark.parametrize(("attrs", "host", "var", "value"), VARS)
def test_job_variables_reach_the_inventory(tmp_path: Path, attrs: dict[str, Any], host: str,
                                           var: str, value: Any) -> None:
    run = run_job(tmp_path, nodeset=TWO_NODES, **attrs)
    assert run.build.result == "SUCCESS"
    for call in run.ansible.calls:   # every playbook sees them
        assert call.inventory["all"]["hosts"][host].get(var) == value
        assert call.inventory["all"]["children"]["peers"]["hosts"] == {"secondary": None}


def test_an_unreachable_host_joins_zuul_unreachable_for_later_playbooks(tmp_path: Path) -> None:
    run = run_job(tmp_path, {"run": "unreachable"}, attempts=1)
    assert run.ansible.call("run").inventory["all"]["children"]["zuul_unreachable"] == {
        "hosts": {}}
    assert run.ansible.call("child-post").inventory["all"]["children"]["zuul_unreachable"] == {
        "hosts": {"primary": None}}


# --- cleanup always runs -------------------------------------------------------------------

@pytest.mark.parametrize("script", [
    {}, {"run": "fail"}, {"run": "timeout"}, {"run": "unreachable"}, {"child-pre": "fail"},
    {"base-pre": "fail"}, {"base-pre": "timeout"}, {"child-post": "fail"},
    {"base-post": "timeout"}, {"child-pre": "no-retry"},
], ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "success")
def test_cleanup_runs_last_whatever_happened(tmp_path: Path, script: dict[str, Any]) -> None:
    run = run_job(tmp_path, script, attempts=2)
    for attempt in range(1, run.build.attempts + 1):
        assert run.ansible.names(attempt)[-1] == "cleanup"
        assert run.ansible.call("cleanup", attempt).phase == "post"


# --- timeouts -------------------------------------------------------------------------------

def test_timeout_is_timed_out_and_post_run_runs_with_the_full_post_timeout(
        tmp_path: Path) -> None:
    run = run_job(tmp_path, {"run": "timeout"}, timeout=600, post_timeout=120)
    assert run.build.result == "TIMED_OUT"
    assert run.ansible.names()[-3:] == ["child-post", "base-post", "cleanup"]
    assert [p.status for p in run.build.playbooks if p.phase == "run"] == ["timed_out"]
    for name in ("child-post", "base-post", "cleanup"):
        seconds = run.ansible.call(name).seconds
        assert seconds is not None and 119 < seconds <= 120


def test_the_job_timeout_counts_from_the_start_of_pre_run(tmp_path: Path) -> None:
    # pre-run uses up the whole timeout: run is timed out without starting
    run = run_job(tmp_path, {"base-pre": "slow"}, pre=[("base-pre", 0)], timeout=0.05)
    assert run.build.result == "TIMED_OUT"
    assert run.ansible.names() == ["base-pre", "child-post", "base-post", "cleanup"]
    assert [p.status for p in run.build.playbooks if p.phase == "run"] == ["timed_out"]


TIMEOUTS = [
    # job attributes, playbook, seconds it may take at most (None: no deadline)
    ({"timeout": 600}, "base-pre", 600),
    ({"timeout": 600, "pre_timeout": 60}, "child-pre", 60),
    ({"timeout": 600, "pre_timeout": 60}, "run", 600),
    ({"timeout": 600}, "base-post", None),
    ({"timeout": 600, "post_timeout": 30}, "cleanup", 30),
]


@pytest.mark.parametrize(("attrs", "name", "limit"), TIMEOUTS)
def test_each_phase_gets_its_timeout(tmp_path: Path, attrs: dict[str, Any], name: str,
                                     limit: float | None) -> None:
    seconds = run_job(tmp_path, **attrs).ansible.call(name).seconds
    if limit is None:
        assert seconds is None
    else:
        assert seconds is not None and limit - 5 < seconds <= limit


# --- nodes only through the Provider interface ---------------------------------------------

def test_the_executor_reaches_nodes_only_through_the_provider_interface() -> None:
    tree = ast.parse(Path(execute_module.__file__).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module if node.level == 0 else "." * node.level + node.module)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    nodes = {m for m in imported if m.startswith("crossgate.nodes") or ".nodes" in m}
    assert nodes == {"crossgate.nodes.model", "crossgate.nodes.provider"}
