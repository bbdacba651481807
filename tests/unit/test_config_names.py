"""Project names (Zuul's rule) and near misses, shared by check and run."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from crossgate.check.resolve import edit_distance, near_misses
from crossgate.config.projects import AmbiguousProject, match, split_spec


@dataclass
class P:
    name: str
    canonical_hostname: str = "localhost"


ZJ = P("zuul/zuul-jobs", "opendev.org")
ZJ_GH = P("zuul/zuul-jobs", "github.com")
DS = P("openstack/devstack", "opendev.org")
SHORT = P("crossgate")


@pytest.mark.parametrize(("projects", "ref", "want"), [
    ([ZJ, DS], "zuul/zuul-jobs", ZJ),                # the name without host
    ([ZJ, DS], "opendev.org/zuul/zuul-jobs", ZJ),    # the canonical name
    ([ZJ, DS], "zuul-jobs", None),                   # no short names in Zuul
    ([ZJ, DS], "github.com/zuul/zuul-jobs", None),   # an unknown host is part of a name
    ([ZJ, ZJ_GH], "github.com/zuul/zuul-jobs", ZJ_GH),
    ([SHORT, ZJ], "crossgate", SHORT),               # a project named with one component
    ([ZJ], "opendev.org/zuul", None),
])
def test_zuul_project_rule(projects: list[P], ref: str, want: P | None) -> None:
    assert match(projects, ref) is want


def test_ambiguous_name_is_an_error() -> None:
    with pytest.raises(AmbiguousProject, match=r"opendev\.org/zuul/zuul-jobs"):
        match([ZJ, ZJ_GH], "zuul/zuul-jobs")


@pytest.mark.parametrize(("spec", "want"), [
    ("opendev.org/zuul/zuul-jobs", ("opendev.org", "zuul/zuul-jobs")),
    ("zuul/zuul-jobs", ("localhost", "zuul/zuul-jobs")),
    ("crossgate", ("localhost", "crossgate")),
])
def test_split_spec(spec: str, want: tuple[str, str]) -> None:
    assert split_spec(spec) == want


@pytest.mark.parametrize(("a", "b", "d"), [
    ("unittests", "unittests", 0), ("unitests", "unittests", 1), ("untitests", "unittests", 1),
    ("base-stup", "base-setup", 1), ("abc", "abcdef", 3), ("kitten", "sitting", 3),
])
def test_edit_distance(a: str, b: str, d: int) -> None:
    assert edit_distance(a, b) == d


@pytest.mark.parametrize(("name", "defined", "want"), [
    ("unitests", ["unittests", "linters"], ["unittests"]),
    ("tox-py312", ["tox-py311"], []),              # only digits differ: on purpose
    ("tempest-full-py3", ["devstack-base"], []),
    ("lint", ["link"], []),                        # too short to tell
    ("three-node", ["three-nodes", "two-nodes"], ["three-nodes"]),
])
def test_near_misses(name: str, defined: list[str], want: list[str]) -> None:
    assert near_misses(name, defined) == want
