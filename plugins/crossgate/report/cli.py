"""`crossgate report DIR [--out DIR]`: the results step of post-run, on the host.

Reads the record files under DIR (for example a build's
work/logs/crossgate-results/records), validates them with the standard-library
rules the node-side module uses and with the JSON Schema, and writes results.json,
junit.xml and report.html. Exit status: 0 when every check passed or was skipped,
1 when a check failed, 2 for invalid records or a folder that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import core
from .schema import validate_results, validate_tree


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report", help="write results.json, JUnit XML and an HTML report from check records",
        description="Validate the crossgate check records (*.jsonl) under DIR and write "
                    "results.json, junit.xml and report.html. Exit 0: all checks passed or "
                    "were skipped; 1: a check failed; 2: invalid records or unreadable input.")
    p.add_argument("dir", metavar="DIR", type=Path, help="folder tree of record files")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the outputs (default: DIR)")
    p.add_argument("--title", default="crossgate report", help="title of the HTML report")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="summary on stdout: text lines or the results.json document")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    root: Path = args.dir
    if not root.is_dir():
        print(f"crossgate report: {root} is not a folder", file=sys.stderr)
        return 2
    errors: list[str] = []
    try:
        records, markers, sources = core.collect(str(root))
    except core.ReportError as exc:
        errors.extend(exc.errors)
    seen = {e.split(": ", 1)[0] for e in errors}  # 'file:line' already reported
    errors.extend(e for e in validate_tree(root) if e.split(": ", 1)[0] not in seen)
    if errors:
        print(f"crossgate report: invalid records under {root}:", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return 2
    results = core.build_results(records, markers, sources)
    problems = validate_results(results)
    if problems:  # crossgate's own output disagrees with its schema: a bug
        raise RuntimeError("results.json does not match its schema: " + "; ".join(problems))
    out = args.out or root
    try:
        paths, _ = core.write_outputs(core.render_all(results, args.title), str(out))
    except OSError as exc:
        print(f"crossgate report: cannot write into {out}: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(results, indent=2, sort_keys=True))
    else:
        s = results["summary"]
        print(f"{results['result'].upper()}: {s['total']} checks, {s['pass']} passed, "
              f"{s['fail']} failed, {s['skip']} skipped ({s['superseded']} superseded) "
              f"on {len(results['nodes'])} node(s)")
        for line in results["failures"]:
            print(f"  FAILED {line}")
        for key in ("results", "junit", "html"):
            print(f"{key}: {paths[key]}")
    return 1 if results["summary"]["fail"] else 0
