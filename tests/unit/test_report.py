"""Unit tests of the results step: records -> results.json, JUnit XML, HTML."""

from __future__ import annotations

import html.parser
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from crossgate.cli import main
from crossgate.report import core
from crossgate.report.schema import validate_results, validate_tree

T0 = 1764064800.0
NASTY = '</pre></details><script>alert("x")</script> & \x1b[31mred\x00'


def rec(layer: str = "network", check: str = "overlay-ping:node1->node2",
        status: str = "pass", node: str = "node1", started: float = T0,
        duration: float = 0.5, reason: str | None = None,
        evidence: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"layer": layer, "check": check, "status": status, "node": node,
                           "started": started, "duration": duration,
                           "evidence": evidence if evidence is not None else {}}
    if reason is not None:
        out["reason"] = reason
    return out


def marker(phase: str, event: str, t: float, name: str = "", node: str = "node1"
           ) -> dict[str, Any]:
    return {"phase": phase, "name": name, "event": event, "time": t, "node": node}


def write_jsonl(path: Path, items: list[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((i if isinstance(i, str) else json.dumps(i)) + "\n"
                            for i in items))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "records"
    write_jsonl(root / "node1" / "network.jsonl", [
        rec(),
        rec(layer="ceph", check="health", status="fail", started=T0 + 1, duration=2,
            reason="HEALTH_WARN", evidence={"out": NASTY}),
    ])
    write_jsonl(root / "node2" / "sub" / "openstack.jsonl", [
        rec(layer="openstack", check="nova-compute-up", status="skip", node="node2",
            started=T0 + 2, duration=0, reason="no compute node"),
    ])
    write_jsonl(root / "node2" / "phases.jsonl", [
        marker("deploy", "start", T0 - 10, "ceph", "node2"),
        marker("deploy", "end", T0 - 1, "ceph", "node2"),
        marker("validate", "start", T0, node="node2"),
    ])
    (root / "node3").mkdir()  # a node without records
    return root


def results_of(root: Path) -> dict[str, Any]:
    return core.build_results(*core.collect(str(root)))


# --- collecting and aggregating ----------------------------------------------------

def test_collect_reads_records_and_phases_of_every_node(tree: Path) -> None:
    records, markers, sources = core.collect(str(tree))
    assert len(records) == 3 and len(markers) == 3
    assert [s["file"] for s in sources] == ["node1/network.jsonl", "node2/phases.jsonl",
                                            "node2/sub/openstack.jsonl"]
    assert [s["kind"] for s in sources] == ["records", "phases", "records"]


def test_no_records_is_an_empty_passing_report(tmp_path: Path) -> None:
    results = core.build_results(*core.collect(str(tmp_path / "missing")))
    assert results["result"] == "pass"
    assert results["summary"] == {"total": 0, "pass": 0, "fail": 0, "skip": 0,
                                  "superseded": 0}
    assert validate_results(results) == []
    assert "No check records" in core.render_html(results)
    ET.fromstring(core.render_junit(results))


def test_results_counts_failures_and_layer_order(tree: Path) -> None:
    results = results_of(tree)
    assert results["result"] == "fail"
    assert results["summary"] == {"total": 3, "pass": 1, "fail": 1, "skip": 1,
                                  "superseded": 0}
    assert [r["layer"] for r in results["records"]] == ["network", "ceph", "openstack"]
    assert results["layers"]["ceph"] == {"pass": 0, "fail": 1, "skip": 0}
    assert results["failures"] == ["ceph/health on node1: HEALTH_WARN"]
    assert results["nodes"] == ["node1", "node2"]


def test_results_json_validates_against_its_schema(tree: Path) -> None:
    results = results_of(tree)
    rendered = core.render_all(results)
    assert validate_results(json.loads(rendered["results"][1])) == []


def test_results_schema_rejects_a_broken_document(tree: Path) -> None:
    results = results_of(tree)
    results["records"][0]["status"] = "maybe"
    del results["summary"]["skip"]
    problems = validate_results(results)
    assert any(p.startswith("records.0.status: 'maybe' is not one of") for p in problems)
    assert any("'skip' is a required property" in p for p in problems)


@pytest.mark.parametrize(("starts", "kept_status", "superseded"), [
    ((T0, T0 + 5), "pass", 1),       # a later re-run that passed replaces the failure
    ((T0 + 5, T0), "fail", 1),       # order in the file does not matter, time does
])
def test_latest_record_per_check_and_node_counts(starts: tuple[float, float],
                                                  kept_status: str, superseded: int) -> None:
    records = [rec(status="fail", reason="lost", started=starts[0]),
               rec(status="pass", started=starts[1])]
    results = core.build_results(records)
    assert [r["status"] for r in results["records"]] == [kept_status]
    assert results["summary"]["superseded"] == superseded


def test_phases_join_nodes_and_keep_unfinished_open() -> None:
    markers = [marker("deploy", "start", 10, "ceph", "a"),
               marker("deploy", "start", 12, "ceph", "b"),
               marker("deploy", "end", 20, "ceph", "a"),
               marker("deploy", "end", 25, "ceph", "b"),
               marker("validate", "start", 30)]
    assert core.phases(markers) == [
        {"phase": "deploy", "name": "ceph", "start": 10, "end": 25, "nodes": ["a", "b"]},
        {"phase": "validate", "name": "", "start": 30, "end": None, "nodes": ["node1"]},
    ]


# --- invalid input ------------------------------------------------------------------

@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "node1/r.jsonl:2: not JSON"),
    (json.dumps(rec(layer="storage")),
     "node1/r.jsonl:2: layer 'storage' is not one of ['network', 'ceph'"),
    (json.dumps(rec(status="fail")), "node1/r.jsonl:2: a fail record needs a non-empty 'reason'"),
    (json.dumps(rec(check="Bad Name")), "node1/r.jsonl:2: check 'Bad Name' must match"),
    (json.dumps(rec(duration=-1)), "node1/r.jsonl:2: duration -1 must be a number >= 0"),
    (json.dumps({**rec(), "colour": "red"}),
     "node1/r.jsonl:2: record has unknown field(s) ['colour']; allowed: ['layer'"),
    (json.dumps({k: v for k, v in rec().items() if k != "node"}),
     "node1/r.jsonl:2: record is missing 'node'"),
    (json.dumps(rec(evidence=[1])), "node1/r.jsonl:2: evidence must be a mapping, not list"),
])
def test_invalid_record_names_file_line_field_and_allowed(tmp_path: Path, line: str,
                                                          message: str) -> None:
    write_jsonl(tmp_path / "node1" / "r.jsonl", [rec(), line])
    with pytest.raises(core.ReportError) as exc:
        core.collect(str(tmp_path))
    assert len(exc.value.errors) == 1
    assert exc.value.errors[0].startswith(message), exc.value.errors[0]


@pytest.mark.parametrize(("item", "message"), [
    (marker("Deploy", "start", 1), "phase 'Deploy' must match"),
    (marker("deploy", "begin", 1), "event 'begin' is not one of ['start', 'end']"),
    (marker("deploy", "start", -1), "time -1 must be a number >= 0"),
    ({**marker("deploy", "start", 1), "x": 1}, "phase marker has unknown field(s) ['x']"),
    ({"phase": "deploy", "event": "start", "time": 1, "node": "n"},
     "phase marker is missing 'name'"),
])
def test_invalid_phase_marker(tmp_path: Path, item: dict[str, Any], message: str) -> None:
    write_jsonl(tmp_path / "n" / "phases.jsonl", [item])
    with pytest.raises(core.ReportError) as exc:
        core.collect(str(tmp_path))
    assert len(exc.value.errors) == 1
    assert exc.value.errors[0].startswith(f"n/phases.jsonl:1: {message}")


def test_every_invalid_line_is_reported(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a" / "r.jsonl", ["[]", rec(), rec(layer="x")])
    write_jsonl(tmp_path / "b" / "r.jsonl", ["nope"])
    with pytest.raises(core.ReportError) as exc:
        core.collect(str(tmp_path))
    assert [e.split(": ")[0] for e in exc.value.errors] == ["a/r.jsonl:1", "a/r.jsonl:3",
                                                            "b/r.jsonl:1"]


def test_listed_files_only_and_missing_listed_file(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a" / "r.jsonl", [rec()])
    write_jsonl(tmp_path / "stale" / "r.jsonl", ["not even json"])
    records, _, _ = core.collect(str(tmp_path), files=["a/r.jsonl"])
    assert len(records) == 1
    with pytest.raises(core.ReportError, match=r"^b/r.jsonl: cannot read"):
        core.collect(str(tmp_path), files=["b/r.jsonl"])


def test_json_schema_agrees_with_the_stdlib_rules(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "n" / "r.jsonl", [rec(), rec(layer="storage"), rec(status="skip")])
    write_jsonl(tmp_path / "n" / "phases.jsonl", [marker("deploy", "begin", 1)])
    errors = validate_tree(tmp_path)
    assert [e.split(": ")[0] for e in errors] == ["n/phases.jsonl:1", "n/r.jsonl:2",
                                                  "n/r.jsonl:3"]
    assert "layer: 'storage' is not one of" in errors[1]
    assert "'reason' is a required property" in errors[2]


# --- JUnit ---------------------------------------------------------------------------

def test_junit_suites_cases_failure_and_skip(tree: Path) -> None:
    root = ET.fromstring(core.render_junit(results_of(tree)))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["network", "ceph", "openstack"]
    case = suites["ceph"].find("testcase")
    assert case is not None
    assert (case.get("classname"), case.get("name"), case.get("time")) == (
        "ceph", "health on node1", "2.000")
    failure = case.find("failure")
    assert failure is not None and failure.get("message") == "HEALTH_WARN"
    assert failure.text is not None and "evidence:" in failure.text
    assert "<script>" in failure.text  # evidence kept verbatim, XML-escaped on disk
    skipped = suites["openstack"].find("testcase/skipped")
    assert skipped is not None and skipped.get("message") == "no compute node"
    net = suites["network"].find("testcase")
    assert net is not None and net.get("name") == "overlay-ping:node1->node2 on node1"


def test_junit_survives_control_characters_in_reasons() -> None:
    results = core.build_results([rec(status="fail", reason="bad\x00\x1b[0m")])
    root = ET.fromstring(core.render_junit(results))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and failure.get("message") == "bad\ufffd\ufffd[0m"


# --- HTML ----------------------------------------------------------------------------

class _Collector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_escapes_evidence_and_has_no_external_assets(tree: Path) -> None:
    page = core.render_html(results_of(tree))
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "\x00" not in page and "\x1b" not in page
    for external in ("src=", "@import", "url("):
        assert external not in page
    # links only to the logs beside the report (LOG_ROOT/crossgate-results/report.html)
    assert re.findall(r'href="([^"]*)"', page) == ["../job-output.txt", "../node1/", "../node2/"]
    parsed = _Collector()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert parsed.tags.count("details") == 3
    assert "svg" in parsed.tags and parsed.tags.count("rect") == 5  # 2 phases + 3 checks
    # the evidence reads back as the JSON it was, once the browser unescapes it
    text = "".join(parsed.text)
    assert json.dumps({"out": NASTY}, indent=2, ensure_ascii=False) in text


def test_html_table_status_colours_and_failures(tree: Path) -> None:
    page = core.render_html(results_of(tree), title='a <job> "x"')
    assert "<title>a &lt;job&gt; &quot;x&quot;</title>" in page
    assert 'class="st st-fail">fail<' in page and 'class="st st-skip">skip<' in page
    assert "<details open>" in page  # a failure shows its evidence unfolded
    assert '<tr><td>ceph</td><td class="num">0</td><td class="num st-fail st">1</td>' in page
    assert "<li>ceph/health on node1: HEALTH_WARN</li>" in page
    assert "deploy ceph" in page and "validate" in page


def test_waterfall_without_anything_to_draw() -> None:
    assert "No phases or checks" in core.render_waterfall(core.build_results([]))


# --- writing and the command -----------------------------------------------------------

def test_second_report_over_same_records_changes_nothing(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _, paths, changed = core.report(str(tree), str(out))
    assert changed and sorted(Path(p).name for p in paths.values()) == [
        "junit.xml", "report.html", "results.json"]
    _, _, again = core.report(str(tree), str(out))
    assert not again
    _, _, check_mode = core.report(str(tree), str(tmp_path / "other"), check_mode=True)
    assert check_mode and not (tmp_path / "other").exists()


def test_cli_writes_report_and_exits_1_on_failed_check(tree: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    out = tmp_path / "out"
    assert main(["report", str(tree), "--out", str(out)]) == 1
    stdout = capsys.readouterr().out
    assert stdout.startswith("FAIL: 3 checks, 1 passed, 1 failed, 1 skipped")
    assert "FAILED ceph/health on node1: HEALTH_WARN" in stdout
    assert validate_results(json.loads((out / "results.json").read_text())) == []


def test_cli_exit_0_when_all_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_jsonl(tmp_path / "n" / "r.jsonl", [rec()])
    assert main(["report", str(tmp_path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["result"] == "pass"
    assert (tmp_path / "report.html").is_file()


def test_cli_exit_2_on_invalid_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    write_jsonl(tmp_path / "n" / "r.jsonl", [rec(layer="storage")])
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "n/r.jsonl:1: layer 'storage' is not one of" in err
    assert not (tmp_path / "results.json").exists()
    assert main(["report", str(tmp_path / "nope")]) == 2


def test_html_heads_with_the_build_and_draws_it_to_the_report(tree: Path) -> None:
    write_jsonl(tree / "node1" / "phases.jsonl", [
        {"phase": "report", "name": "", "event": "start", "time": T0 + 60, "node": "node1"}])
    records, markers, sources = core.collect(str(tree))
    results = core.build_results(records, markers, sources,
                                 {"job": "crossgate-openstack-ceph", "build": "b1d",
                                  "run_result": "SUCCESS"})
    assert results["reported"] == T0 + 60
    assert "report" not in {p["phase"] for p in results["phases"]}
    page = core.render_html(results, "crossgate report: crossgate-openstack-ceph")
    assert "job <b>crossgate-openstack-ceph</b>" in page and "build <b>b1d</b>" in page
    assert "result so far <b>SUCCESS</b>" in page and "report written " in page
    svg = core.render_waterfall(results)
    assert "build (first phase to this report)" in svg
    # the post-run row runs from the last phase's end to the report
    last_end = max(p["end"] for p in results["phases"] if p["end"] is not None)
    assert "post-run (last phase to this report)" in svg
    assert f"({T0 + 60 - last_end:.1f}s)" in svg
    assert validate_results(results) == []
