"""Job freezing and variable precedence, table-driven from Zuul's documented behaviour."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crossgate.config.freeze import FreezeError, deep_update, freeze
from crossgate.config.repo import ZuulParser, load_repo
from crossgate.runner import inventory as inv
from crossgate.runner.cli import parse_extra_vars

BASE = """
- job:
    name: base
    parent: null
    pre-run: base-pre.yaml
    post-run: base-post.yaml
    timeout: 100
    vars: {from_base: 1, level: base}
"""

CHAIN = BASE + """
- job:
    name: parent
    abstract: true
    pre-run: parent-pre.yaml
    post-run:
      - parent-post.yaml
      - name: parent-cleanup.yaml
        cleanup: true
    run: parent-run.yaml
    attempts: 5
    vars: {level: parent, nested: {a: 1, b: 1}}
    host-vars: {node1: {hv: 1}}
- job:
    name: child
    parent: parent
    pre-run: child-pre.yaml
    post-run: child-post.yaml
    run: child-run.yaml
    timeout: 50
    vars: {level: child, nested: {b: 2}}
    extra-vars: {ev: 1}
    required-projects: [org/other]
    roles:
      - zuul: org/roles
- job:
    name: child
    branches: stable/1
    vars: {level: stable-variant}
- job:
    name: child
    vars: {variant: second}
- job:
    name: inherits-run
    parent: parent
"""


def jobs_from(tmp_path: Path, text: str) -> dict[str, list[Any]]:
    (tmp_path / "zuul.yaml").write_text(text)
    repo, findings = load_repo(ZuulParser(), "org/project", tmp_path)
    assert [f for f in findings if f.severity == "error"] == []
    out: dict[str, list[Any]] = {}
    for st in repo.of_kind("job"):
        out.setdefault(st.name, []).append(st)
    return out


@pytest.fixture
def chain(tmp_path: Path) -> dict[str, list[Any]]:
    return jobs_from(tmp_path, CHAIN)


def paths(pbs: list[Any]) -> list[str]:
    return [p.path for p in pbs]


def test_playbook_order(chain: dict[str, list[Any]]) -> None:
    job = freeze(chain, "child")
    assert job.chain == ["base", "parent", "child"]
    assert paths(job.pre_run) == ["base-pre.yaml", "parent-pre.yaml", "child-pre.yaml"]
    assert paths(job.run) == ["child-run.yaml"]
    # post-run `cleanup: true` keeps its place among the post-run playbooks
    assert paths(job.post_run) == ["child-post.yaml", "parent-post.yaml",
                                   "parent-cleanup.yaml", "base-post.yaml"]
    assert [p.cleanup for p in job.post_run] == [False, False, True, False]
    assert not any(p.ignore_result for p in job.post_run)
    assert job.cleanup_run == []
    assert [p.nesting for p in job.pre_run] == [0, 1, 2]


def test_run_is_inherited_when_not_set(chain: dict[str, list[Any]]) -> None:
    assert paths(freeze(chain, "inherits-run").run) == ["parent-run.yaml"]


@pytest.mark.parametrize(("branch", "level", "variant"), [
    ("master", "child", "second"),
    ("stable/1", "stable-variant", "second"),
])
def test_variants_apply_in_order_when_branch_matches(
        chain: dict[str, list[Any]], branch: str, level: str, variant: str) -> None:
    job = freeze(chain, "child", branch=branch)
    assert job.vars["level"] == level
    assert job.vars["variant"] == variant


def test_vars_deep_merge_and_plain_attributes(chain: dict[str, list[Any]]) -> None:
    job = freeze(chain, "child")
    assert job.vars["nested"] == {"a": 1, "b": 2}
    assert job.vars["from_base"] == 1
    assert job.timeout == 50          # child wins
    assert job.attempts == 5          # inherited
    assert job.extra_vars == {"ev": 1}
    assert job.host_vars == {"node1": {"hv": 1}}
    assert list(job.required_projects) == ["org/other"]


def test_abstract_is_cleared_by_inheriting(chain: dict[str, list[Any]]) -> None:
    assert freeze(chain, "parent").abstract is True
    assert freeze(chain, "child").abstract is False


def test_roles_new_first_and_implicit(chain: dict[str, list[Any]]) -> None:
    job = freeze(chain, "child")
    assert [(r.project, r.implicit) for r in job.roles] == [
        ("org/roles", False), ("org/project", True)]
    # a parent's playbooks see only the roles known when they were frozen
    assert [r.project for r in job.pre_run[0].roles] == ["org/project"]
    assert [r.project for r in job.run[0].roles] == ["org/roles", "org/project"]


def test_missing_base_uses_builtin(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    jobs = jobs_from(tmp_path / "a", "- job:\n    name: lonely\n    run: run.yaml\n")
    builtin = jobs_from(tmp_path / "b", BASE)
    base_repo = builtin["base"][0].repo
    job = freeze(jobs, "lonely", builtin_base=base_repo)
    assert job.builtin_base
    assert paths(job.pre_run) == ["base-pre.yaml"]
    assert [p.builtin for p in job.pre_run] == [True]
    with pytest.raises(FreezeError, match="base"):
        freeze(jobs, "lonely")


@pytest.mark.parametrize(("text", "message"), [
    ("- job:\n    name: a\n    parent: b\n- job:\n    name: b\n    parent: a\n", "cycle"),
    ("- job:\n    name: a\n    parent: nowhere\n", "'nowhere' is not defined"),
])
def test_freeze_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(FreezeError, match=message):
        freeze(jobs_from(tmp_path, text), "a")


@pytest.mark.parametrize(("a", "b", "want"), [
    ({"x": 1}, {"y": 2}, {"x": 1, "y": 2}),
    ({"x": {"a": 1}}, {"x": {"b": 2}}, {"x": {"a": 1, "b": 2}}),
    ({"x": {"a": 1}}, {"x": 3}, {"x": 3}),
    ({"x": [1]}, {"x": [2]}, {"x": [2]}),
])
def test_deep_update(a: dict[str, Any], b: dict[str, Any], want: dict[str, Any]) -> None:
    assert deep_update(a, b) == want


def test_squash_variables_precedence() -> None:
    # Zuul: job vars < group vars of all < other groups (sorted) < host vars < extra vars
    out = inv.squash_variables(
        ["n1", "n2", "localhost"], {"g1": ["n1"], "g2": ["n1", "n2"]},
        {"n1": {"v": "host", "h": 1}},
        {"v": "job", "j": 1},
        {"all": {"v": "all", "a": 1}, "g1": {"v": "g1"}, "g2": {"v": "g2", "g": 2}},
        {"x": 1})
    assert out["n1"] == {"v": "host", "h": 1, "j": 1, "a": 1, "g": 2, "x": 1}
    assert out["n2"]["v"] == "g2"
    assert out["localhost"] == {"v": "all", "j": 1, "a": 1, "x": 1}
    out = inv.squash_variables(["n1"], {}, {}, {"v": "job"}, {}, {"v": "extra"})
    assert out["n1"]["v"] == "extra"


def test_nodeset_resolution() -> None:
    named = {"two": {"nodes": [{"name": "a", "label": "l1"}, {"name": "b", "label": "l2"}],
                     "groups": [{"name": "g", "nodes": ["b"]}]},
             "alt": {"alternatives": ["two"]}}
    ns = inv.nodeset_from("alt", named)
    assert ns.node_names == ["a", "b"]
    assert ns.groups == {"g": ["b"]}
    with pytest.raises(inv.NodesetError, match="'missing' is not defined"):
        inv.nodeset_from("missing", named)
    with pytest.raises(inv.NodesetError, match="names node 'c'"):
        inv.nodeset_from({"nodes": [{"name": "a", "label": "x"}],
                          "groups": [{"name": "g", "nodes": ["c"]}]}, {})


def test_inventory_has_zuul_unreachable_group() -> None:
    data = inv.make_inventory({"a": {"x": 1}}, {"g": ["a"]}, {"y": 2}, ["a"])
    assert data["all"]["children"]["zuul_unreachable"] == {"hosts": {"a": None}}
    assert data["all"]["children"]["g"] == {"hosts": {"a": None}}
    assert data["all"]["vars"] == {"y": 2}


@pytest.mark.parametrize(("items", "want"), [
    (["a=1"], {"a": 1}),
    (["a=x", "b=[1, 2]"], {"a": "x", "b": [1, 2]}),
    (["a="], {"a": ""}),
])
def test_extra_vars(items: list[str], want: dict[str, Any]) -> None:
    assert parse_extra_vars(items) == want


@pytest.mark.parametrize("bad", ["noequals", "1a=2", "a-b=1"])
def test_extra_vars_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="expected VAR=VALUE"):
        parse_extra_vars([bad])
