"""Pure functions of crossgate check, table-driven."""

from __future__ import annotations

import pytest

from crossgate.check.library import readme_rolevars
from crossgate.check.resolve import _cycles_from
from crossgate.config import yamlfile
from crossgate.config.findings import Finding, render
from crossgate.config.values import names


@pytest.mark.parametrize(("value", "expected"), [
    (None, []),
    ("a", ["a"]),
    (["a", "b"], ["a", "b"]),
    ({"name": "a"}, ["a"]),
    ([{"name": "a", "soft": True}, "b"], ["a", "b"]),
    ([{"no-name": 1}], []),
])
def test_names(value: object, expected: list[str]) -> None:
    assert names(value) == expected


@pytest.mark.parametrize(("graph", "start", "cycles"), [
    ({"a": {"b"}, "b": {"base"}}, "a", []),
    ({"a": {"a"}}, "a", [["a"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, "a", [["a", "b", "c"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, "a", []),  # cycle not through a
])
def test_cycles(graph: dict[str, set[str]], start: str, cycles: list[list[str]]) -> None:
    assert list(_cycles_from(graph, start)) == cycles


def test_yaml_lines() -> None:
    data = yamlfile.load("a: 1\nb:\n  - x\n  - y: 2\n")
    assert data.line_of("a") == 1
    assert data.line_of("b") == 2
    assert data["b"].line_of(0) == 3
    assert data["b"].line_of(1) == 4
    assert data["b"][1].line_of("y") == 4


def test_yaml_error_line() -> None:
    with pytest.raises(yamlfile.YamlError) as err:
        yamlfile.load("a: 1\nb: [\n")
    assert err.value.line >= 2


def test_yaml_keeps_tags() -> None:
    data = yamlfile.load("secret: !encrypted/pkcs1-oaep abc\n")
    assert data["secret"].tag == "!encrypted/pkcs1-oaep"


README = """\
demo
====

.. zuul:rolevar:: demo_port
   :default: 8080

   The port.

   .. zuul:rolevar:: nested

      A key of a dict variable.

.. zuul:rolevar:: demo_list
   :type: list
   :default: ['a', 'b']

.. zuul:rolevar:: demo_required

   No default.
"""


def test_readme_rolevars() -> None:
    got = [(rv.name, rv.line, rv.default, rv.default_line) for rv in readme_rolevars(README)]
    assert got == [
        ("demo_port", 4, "8080", 5),
        ("demo_list", 13, "['a', 'b']", 15),
        ("demo_required", 17, None, 0),
    ]


def test_render_text_and_json() -> None:
    findings = [Finding("b.yaml", 2, "r2", "second"), Finding("a.yaml", 1, "r1", "first"),
                Finding("a.yaml", 3, "r3", "note", "info")]
    assert render(findings, "text").splitlines() == [
        "a.yaml:1: r1: first", "a.yaml:3: r3: info: note", "b.yaml:2: r2: second"]
    assert '"errors": 2' in render(findings, "json")
