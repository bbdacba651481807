"""The normalizer of the Zuul / crossgate run comparison (no Zuul needed)."""

from __future__ import annotations

import json
from pathlib import Path

import vardiff


def dump(**zuul: object) -> dict[str, object]:
    base = {"build": "a" * 32, "job": "j", "executor": {"log_root": "/x/logs"}}
    return {"zuul": {**base, **zuul}, "hosts": {}}


def test_per_build_values_count_by_presence_and_type_only() -> None:
    a = dump(build="1" * 32, executor={"log_root": "/a"})
    b = dump(build="2" * 32, executor={"log_root": "/b"})
    assert vardiff.diff(a, b) == []
    assert vardiff.diff(dump(build=None), dump(build="x")) == []
    assert [d[0] for d in vardiff.diff(dump(build=1), dump(build="x"))] == ["zuul.build"]


def test_other_values_and_missing_keys_are_differences() -> None:
    a, b = dump(pipeline="check", items=[{"x": 1}]), dump(items=[{"x": 2}])
    assert vardiff.diff(a, b) == [("zuul.items[0].x", "1", "2"),
                                  ("zuul.pipeline", '"check"', vardiff.MISSING)]


def test_host_patterns_and_known_differences() -> None:
    a = {"zuul": {}, "hosts": {"h": {"nodepool": {"provider": "p1", "label": "l"}}}}
    b = {"zuul": {}, "hosts": {"h": {"nodepool": {"provider": "p2", "label": "m"}}}}
    assert [d[0] for d in vardiff.diff(a, b)] == ["hosts.h.nodepool.label"]
    known, unknown = vardiff.classify([("zuul._inheritance_path", "[]", vardiff.MISSING),
                                       ("zuul.job", '"a"', '"b"')])
    assert [k[0] for k in known] == ["zuul._inheritance_path"]
    assert unknown == [("zuul.job", '"a"', '"b"')]
    assert "1 unexplained and 1 documented" in vardiff.report(
        [("zuul._inheritance_path", "[]", vardiff.MISSING), ("zuul.job", '"a"', '"b"')])


def test_site_only_variable_names_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "zuul.json").write_text("{}")
    (tmp_path / "host-h.json").write_text(json.dumps(
        {"variable_names": ["a", "crossgate_test_log_store"]}))
    assert vardiff.load_dump(tmp_path)["hosts"]["h"]["variable_names"] == ["a"]
