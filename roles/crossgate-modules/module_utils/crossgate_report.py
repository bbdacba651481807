"""Results of a crossgate job: check records gathered from every node, turned into
results.json, JUnit XML and one static HTML report.

Pure standard library, so it runs inside an Ansible module on any node and in the
`crossgate report` command alike. Input is a folder tree of JSON-lines files:

- ``phases.jsonl`` files hold phase markers written by the record-phase role
  (``{"phase", "name", "event": "start"|"end", "time", "node"}``);
- every other ``*.jsonl`` file holds check records (crossgate_records).

Of several records for one (layer, check, node), the one that started last counts;
the others are counted as superseded (a check re-run after a fix replaces its
earlier result). Outputs depend only on the input, so a second run over the same
records writes identical files.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
import xml.etree.ElementTree as ET

try:
    from ansible.module_utils.crossgate_records import LAYERS, RecordError, validate_record
except ImportError:  # outside Ansible: crossgate.report loads the sibling module
    from crossgate_records import LAYERS, RecordError, validate_record  # type: ignore

RESULTS_FORMAT = 1
PHASES_FILE = "phases.jsonl"
PHASE_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
PHASE_FIELDS = ("phase", "name", "event", "time", "node")
EVENTS = ("start", "end")
OUTPUT_FILES = {"results": "results.json", "junit": "junit.xml", "html": "report.html"}
# Characters XML 1.0 cannot carry, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class ReportError(ValueError):
    """Input that cannot be reported on; `errors` lists every problem found."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


# --- reading ---------------------------------------------------------------------

def validate_marker(marker):
    """Raise RecordError naming the field, the value and what is allowed."""
    if not isinstance(marker, dict):
        raise RecordError(f"a phase marker must be a mapping, not {type(marker).__name__}")
    extra = sorted(set(marker) - set(PHASE_FIELDS))
    if extra:
        raise RecordError(f"phase marker has unknown field(s) {extra}; "
                          f"allowed: {list(PHASE_FIELDS)}")
    for field in PHASE_FIELDS:
        if field not in marker:
            raise RecordError(f"phase marker is missing {field!r}")
    if not isinstance(marker["phase"], str) or not PHASE_RE.match(marker["phase"]):
        raise RecordError(f"phase {marker['phase']!r} must match {PHASE_RE.pattern}")
    if not isinstance(marker["name"], str):
        raise RecordError(f"name {marker['name']!r} must be a string")
    if marker["event"] not in EVENTS:
        raise RecordError(f"event {marker['event']!r} is not one of {list(EVENTS)}")
    value = marker["time"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise RecordError(f"time {value!r} must be a number >= 0")
    if not isinstance(marker["node"], str) or not marker["node"]:
        raise RecordError(f"node {marker['node']!r} must be a non-empty string")
    return marker


def parse_lines(text, label, validate):
    """(items, errors) of one JSON-lines text; errors read 'label:line: problem'."""
    items, errors = [], []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            errors.append(f"{label}:{n}: not JSON: {exc}")
            continue
        try:
            items.append(validate(item))
        except RecordError as exc:
            errors.append(f"{label}:{n}: {exc}")
    return items, errors


def find_files(root):
    """Relative paths of the *.jsonl files under root, sorted."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".jsonl"):
                found.append(os.path.relpath(os.path.join(folder, name), root))
    return sorted(found)


def collect(root, files=None):
    """Records, phase markers and sources of the files under root.

    `files` (paths relative to root) limits the input to those files; a listed
    file that does not exist is an error. Raises ReportError listing every
    invalid line as 'file:line: field ... allowed ...'.
    """
    names = find_files(root) if files is None else sorted(set(files))
    records, markers, sources, errors = [], [], [], []
    for rel in names:
        path = os.path.join(root, rel)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(f"{rel}: cannot read: {exc}")
            continue
        is_phases = os.path.basename(rel) == PHASES_FILE
        items, errs = parse_lines(text, rel, validate_marker if is_phases else validate_record)
        errors.extend(errs)
        (markers if is_phases else records).extend(items)
        sources.append({"file": rel, "kind": "phases" if is_phases else "records",
                        "count": len(items)})
    if errors:
        raise ReportError(errors)
    return records, markers, sources


# --- aggregating -----------------------------------------------------------------

def record_key(record):
    return (record["layer"], record["check"], record["node"])


def latest(records):
    """(records that count, number superseded): the last started per key wins."""
    chosen = {}
    for record in records:
        key = record_key(record)
        if key not in chosen or record["started"] >= chosen[key]["started"]:
            chosen[key] = record
    kept = sorted(chosen.values(), key=lambda r: (_layer_order(r["layer"]), r["check"],
                                                   r["node"]))
    return kept, len(records) - len(kept)


def _layer_order(layer):
    return (LAYERS.index(layer) if layer in LAYERS else len(LAYERS), layer)


def counts(records):
    out = {"total": len(records), "pass": 0, "fail": 0, "skip": 0}
    for record in records:
        out[record["status"]] += 1
    return out


def phases(markers):
    """Phase spans: earliest start to latest end of each (phase, name), over all nodes.

    A phase without an end marker has end None (it did not finish, or its end was
    never recorded)."""
    spans = {}
    for marker in markers:
        key = (marker["phase"], marker["name"])
        span = spans.setdefault(key, {"phase": marker["phase"], "name": marker["name"],
                                      "start": None, "end": None, "nodes": []})
        if marker["node"] not in span["nodes"]:
            span["nodes"].append(marker["node"])
        if marker["event"] == "start":
            span["start"] = marker["time"] if span["start"] is None \
                else min(span["start"], marker["time"])
        else:
            span["end"] = marker["time"] if span["end"] is None \
                else max(span["end"], marker["time"])
    out = []
    for span in spans.values():
        span["nodes"].sort()
        if span["start"] is None:  # only an end seen: a zero-length span at the end
            span["start"] = span["end"]
        out.append(span)
    return sorted(out, key=lambda s: (s["start"], s["phase"], s["name"]))


def failure_line(record):
    """One line per failed check, as Zuul warnings show it."""
    return f"{record['layer']}/{record['check']} on {record['node']}: {record.get('reason', '')}"


REPORT_PHASE = "report"


def build_results(records, markers=(), sources=(), build=None):
    """The results.json document; deterministic for the same input."""
    kept, superseded = latest(records)
    layers = {}
    for record in kept:
        layer = layers.setdefault(record["layer"], {"pass": 0, "fail": 0, "skip": 0})
        layer[record["status"]] += 1
    summary = counts(kept)
    summary["superseded"] = superseded
    return {
        "format": RESULTS_FORMAT,
        "result": "fail" if summary["fail"] else "pass",
        "summary": summary,
        "layers": layers,
        "nodes": sorted({r["node"] for r in kept} | {m["node"] for m in markers}),
        "failures": [failure_line(r) for r in kept if r["status"] == "fail"],
        "records": kept,
        "phases": phases([m for m in markers if m["phase"] != REPORT_PHASE]),
        "reported": max((m["time"] for m in markers if m["phase"] == REPORT_PHASE),
                        default=None),
        "build": dict(build or {}),
        "sources": list(sources),
    }


# --- JUnit -----------------------------------------------------------------------

def xml_text(value):
    """Text XML 1.0 can carry: characters it forbids become U+FFFD."""
    return _XML_INVALID.sub("\ufffd", str(value))


def evidence_json(record):
    return json.dumps(record.get("evidence", {}), indent=2, sort_keys=True, ensure_ascii=False)


def render_junit(results):
    """JUnit XML: a testsuite per layer, a testcase per check on a node."""
    summary = results["summary"]
    root = ET.Element("testsuites", {
        "name": "crossgate", "tests": str(summary["total"]),
        "failures": str(summary["fail"]), "skipped": str(summary["skip"]), "errors": "0",
        "time": _secs(sum(r["duration"] for r in results["records"]))})
    by_layer = {}
    for record in results["records"]:
        by_layer.setdefault(record["layer"], []).append(record)
    for layer, records in by_layer.items():
        c = counts(records)
        suite = ET.SubElement(root, "testsuite", {
            "name": layer, "tests": str(c["total"]), "failures": str(c["fail"]),
            "skipped": str(c["skip"]), "errors": "0",
            "time": _secs(sum(r["duration"] for r in records))})
        for record in records:
            case = ET.SubElement(suite, "testcase", {
                "classname": layer,
                "name": xml_text(f"{record['check']} on {record['node']}"),
                "time": _secs(record["duration"])})
            reason = xml_text(record.get("reason", ""))
            if record["status"] == "fail":
                failure = ET.SubElement(case, "failure", {"message": reason, "type": "fail"})
                failure.text = xml_text(f"{reason}\n\nevidence:\n{evidence_json(record)}")
            elif record["status"] == "skip":
                ET.SubElement(case, "skipped", {"message": reason})
            if record["status"] != "fail":
                out = ET.SubElement(case, "system-out")
                out.text = xml_text(evidence_json(record))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"


def _secs(value):
    return f"{float(value):.3f}"


# --- HTML ------------------------------------------------------------------------

COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "skip": "#9e9e9e", "phase": "#1565c0",
           "open": "#90caf9", "build": "#37474f"}

CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}
.st{color:#fff;font-weight:bold;text-align:center;width:4em}
.st-pass{background:#2e7d32}.st-fail{background:#c62828}.st-skip{background:#9e9e9e}
.counts span{display:inline-block;margin-right:1em;padding:.2em .6em;border-radius:.3em;
color:#fff}
.result-pass{color:#2e7d32}.result-fail{color:#c62828}
pre{white-space:pre-wrap;word-break:break-all;background:#f8f8f8;padding:.4em;margin:.3em 0}
td.num{text-align:right;white-space:nowrap}
table.layers{width:auto;margin-bottom:1em}
svg text{font-size:11px;font-family:sans-serif}
"""


def esc(value):
    """Text safe in HTML element content and attribute values."""
    return html.escape(xml_text(value), quote=True)


def render_html(results, title="crossgate report"):
    """One self-contained HTML page: summary, layer x check table, waterfall."""
    s = results["summary"]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(title)}: <span class=\"result-{esc(results['result'])}\">"
        f"{esc(results['result'].upper())}</span></h1>",
        _build_header(results),
        '<p class="counts">'
        f'<span style="background:#555">{s["total"]} checks</span>'
        f'<span style="background:{COLOURS["pass"]}">{s["pass"]} passed</span>'
        f'<span style="background:{COLOURS["fail"]}">{s["fail"]} failed</span>'
        f'<span style="background:{COLOURS["skip"]}">{s["skip"]} skipped</span>'
        f'{s["superseded"]} superseded by a later run of the same check; nodes: '
        f'{esc(", ".join(results["nodes"])) or "none"}</p>',
    ]
    if results["failures"]:
        parts.append("<h2>Failed checks</h2><ul>")
        parts.extend(f"<li>{esc(line)}</li>" for line in results["failures"])
        parts.append("</ul>")
    parts.append("<h2>Checks by layer</h2>")
    parts.append(_layer_counts(results))
    parts.append(_layer_table(results))
    parts.append("<h2>Timing</h2>")
    parts.append(render_waterfall(results))
    parts.append("<h2>Sources</h2><ul>")
    parts.extend(f"<li>{esc(src['file'])}: {src['count']} {esc(src['kind'])}</li>"
                 for src in results["sources"])
    parts.append("</ul></body></html>")
    return "\n".join(parts) + "\n"


def _build_header(results):
    """The build the report belongs to (job, build, result of the run phase, when the report
    was written) and links to the console log and every node's logs, relative to the report
    (LOG_ROOT/crossgate-results/report.html)."""
    build, parts = results.get("build") or {}, []
    for key, label in (("job", "job"), ("build", "build"), ("run_result", "result so far"),
                       ("pipeline", "pipeline")):
        if build.get(key):
            parts.append(f"{label} <b>{esc(build[key])}</b>")
    if results.get("reported") is not None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(results["reported"]))
        parts.append(f"report written {stamp} UTC")
    links = ['<a href="../job-output.txt">console log</a>']
    links += [f'<a href="../{esc(node)}/">{esc(node)}</a>' for node in results["nodes"]]
    return (f'<p class="build">{" &middot; ".join(parts)}</p>' if parts else "") \
        + f'<p class="links">logs: {links[0]}; nodes: {", ".join(links[1:]) or "none"}</p>'


def _layer_counts(results):
    if not results["layers"]:
        return ""
    rows = ['<table class="layers"><thead><tr><th>layer</th><th>passed</th><th>failed</th>'
            "<th>skipped</th></tr></thead><tbody>"]
    for layer, c in sorted(results["layers"].items(), key=lambda kv: _layer_order(kv[0])):
        rows.append(f"<tr><td>{esc(layer)}</td><td class=\"num\">{c['pass']}</td>"
                    f"<td class=\"num{' st-fail st' if c['fail'] else ''}\">{c['fail']}</td>"
                    f"<td class=\"num\">{c['skip']}</td></tr>")
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _layer_table(results):
    if not results["records"]:
        return "<p>No check records.</p>"
    rows = ["<table><thead><tr><th>layer</th><th>check</th><th>node</th><th>status</th>"
            "<th>duration</th><th>reason and evidence</th></tr></thead><tbody>"]
    for record in results["records"]:
        status = record["status"]
        reason = record.get("reason", "")
        detail = (f"<details{' open' if status == 'fail' else ''}><summary>"
                  f"{esc(reason) if reason else 'evidence'}</summary>"
                  f"<pre>{esc(evidence_json(record))}</pre></details>")
        rows.append(
            f'<tr id="{esc(_anchor(record))}"><td>{esc(record["layer"])}</td>'
            f'<td>{esc(record["check"])}</td><td>{esc(record["node"])}</td>'
            f'<td class="st st-{esc(status)}">{esc(status)}</td>'
            f'<td class="num">{record["duration"]:.3f}s</td><td>{detail}</td></tr>')
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _anchor(record):
    return "c-" + re.sub(r"[^A-Za-z0-9_-]", "_", "-".join(record_key(record)))


def render_waterfall(results, width=900, label_width=320, row=16):
    """Inline SVG: one bar per phase (blue; light when it never ended), then one
    per check coloured by status, on a shared time axis."""
    rows = []
    for span in results["phases"]:
        label = span["phase"] + (f" {span['name']}" if span["name"] else "")
        rows.append((label, span["start"], span["end"], "phase" if span["end"] is not None
                     else "open", f"{label} on {', '.join(span['nodes'])}"))
    ends = [span["end"] for span in results["phases"] if span["end"] is not None]
    reported = results.get("reported")
    if reported is not None and results["phases"]:
        first = min(span["start"] for span in results["phases"])
        rows.insert(0, ("build (first phase to this report)", first, reported, "build",
                        "the build from its first recorded phase to this report"))
        if ends and max(ends) < reported:
            rows.append(("post-run (last phase to this report)", max(ends), reported, "phase",
                         "post-run until this report: logs collected, records gathered"))
    for record in sorted(results["records"], key=lambda r: r["started"]):
        label = f"{record['layer']}/{record['check']} on {record['node']}"
        rows.append((label, record["started"], record["started"] + record["duration"],
                     record["status"], f"{label}: {record['status']}"))
    if not rows:
        return "<p>No phases or checks to draw.</p>"
    times = [t for _, start, end, _, _ in rows for t in (start, end) if t is not None]
    t0, t1 = min(times), max(times)
    span = max(t1 - t0, 1e-3)
    scale = width / span
    height = row * len(rows) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + width + 10}" '
           f'height="{height}" role="img" aria-label="timing waterfall">']
    for i in range(5):  # time axis: ticks at 0, 25, 50, 75, 100 %
        x = label_width + width * i / 4
        out.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 18}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 4}" text-anchor="middle">'
                   f'+{span * i / 4:.1f}s</text>')
    for i, (label, start, end, kind, tip) in enumerate(rows):
        y = i * row
        x = label_width + (start - t0) * scale
        w = max(((end if end is not None else t1) - start) * scale, 2)
        shown = label if len(label) <= 50 else label[:49] + "\u2026"
        seconds = "" if end is None else f" ({end - start:.1f}s)"
        out.append(f'<text x="{label_width - 6}" y="{y + 12}" text-anchor="end">'
                   f'{esc(shown)}</text>')
        out.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row - 4}" '
                   f'fill="{COLOURS[kind]}"><title>{esc(tip + seconds)}</title></rect>')
    out.append("</svg>")
    return "\n".join(out)


# --- writing ---------------------------------------------------------------------

def render_all(results, title="crossgate report"):
    """{key: (file name, text)} of every output."""
    return {
        "results": (OUTPUT_FILES["results"],
                    json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False) + "\n"),
        "junit": (OUTPUT_FILES["junit"], render_junit(results)),
        "html": (OUTPUT_FILES["html"], render_html(results, title)),
    }


def write_outputs(rendered, out_dir, check_mode=False):
    """Write the rendered files into out_dir; return ({key: path}, changed).

    A file whose content is already the same is left alone."""
    paths, changed = {}, False
    if not check_mode:
        os.makedirs(out_dir, mode=0o755, exist_ok=True)
    for key, (name, text) in rendered.items():
        path = os.path.join(out_dir, name)
        paths[key] = path
        try:
            with open(path, encoding="utf-8") as f:
                same = f.read() == text
        except (OSError, UnicodeDecodeError):
            same = False
        if same:
            continue
        changed = True
        if not check_mode:
            tmp = f"{path}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
    return paths, changed


def report(src, out_dir, files=None, title="crossgate report", check_mode=False, build=None):
    """Collect the records under src and write every output into out_dir; BUILD ({job,
    build, run_result, pipeline}) heads the HTML page.

    Returns (results, paths, changed); raises ReportError on invalid input."""
    records, markers, sources = collect(src, files)
    results = build_results(records, markers, sources, build)
    paths, changed = write_outputs(render_all(results, title), out_dir, check_mode)
    return results, paths, changed
