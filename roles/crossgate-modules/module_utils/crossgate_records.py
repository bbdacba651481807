"""Check records: the one schema every crossgate check module returns.

A record says which layer's contract was checked, what, how it went (pass, fail,
skip with a reason), how long it took and what was observed. The JSON Schema is
plugins/schemas/check-record.schema.json; `validate_record` applies its rules
without third-party packages, so modules run on any node. Modules also write
their records as JSON lines into a results folder on the node, where the
results step of post-run collects them.
"""

from __future__ import annotations

import json
import os
import re
import time

LAYERS = ("network", "ceph", "openstack", "integration", "interop", "kubernetes", "cloudfoundry",
          "base")
STATUSES = ("pass", "fail", "skip")
CHECK_RE = re.compile(r"^[a-z0-9][a-z0-9-]*(:.+)?$")
DEFAULT_RESULTS_DIR = "/var/lib/crossgate/results"
FIELDS = ("layer", "check", "status", "reason", "duration", "started", "node", "evidence")


class RecordError(ValueError):
    pass


def check_argument_spec(**options):
    """The argument_spec of a check module: the options every check module takes
    (node, the name its records carry; results_dir, where they are written) and
    the module's own."""
    spec = {
        "node": {"type": "str", "required": True},
        "results_dir": {"type": "path", "default": DEFAULT_RESULTS_DIR},
    }
    spec.update(options)
    return spec


def make_record(layer, check, status, node, started, evidence=None, reason=None,
                duration=None):
    """Build one record; `duration` defaults to the time since `started`."""
    record = {
        "layer": layer,
        "check": check,
        "status": status,
        "node": node,
        "started": round(float(started), 3),
        "duration": round(float(duration if duration is not None
                                else max(0.0, time.time() - started)), 3),
        "evidence": evidence or {},
    }
    if reason:
        record["reason"] = reason
    validate_record(record)
    return record


def validate_record(record):
    """Raise RecordError naming the field, the value and what is allowed."""
    if not isinstance(record, dict):
        raise RecordError(f"a record must be a mapping, not {type(record).__name__}")
    extra = sorted(set(record) - set(FIELDS))
    if extra:
        raise RecordError(f"record has unknown field(s) {extra}; allowed: {list(FIELDS)}")
    for field in ("layer", "check", "status", "duration", "evidence", "node", "started"):
        if field not in record:
            raise RecordError(f"record is missing {field!r}")
    if record["layer"] not in LAYERS:
        raise RecordError(f"layer {record['layer']!r} is not one of {list(LAYERS)}")
    if not isinstance(record["check"], str) or not CHECK_RE.match(record["check"]) \
            or len(record["check"]) > 200:
        raise RecordError(f"check {record['check']!r} must match {CHECK_RE.pattern} "
                          "(at most 200 characters)")
    if record["status"] not in STATUSES:
        raise RecordError(f"status {record['status']!r} is not one of {list(STATUSES)}")
    if record["status"] != "pass" and not record.get("reason"):
        raise RecordError(f"a {record['status']} record needs a non-empty 'reason'")
    if "reason" in record and (not isinstance(record["reason"], str) or not record["reason"]):
        raise RecordError("reason must be a non-empty string")
    for field in ("duration", "started"):
        value = record[field]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise RecordError(f"{field} {value!r} must be a number >= 0")
    if not isinstance(record["node"], str) or not record["node"]:
        raise RecordError(f"node {record['node']!r} must be a non-empty string")
    if not isinstance(record["evidence"], dict):
        raise RecordError(f"evidence must be a mapping, not {type(record['evidence']).__name__}")
    return record


def write_records(records, results_dir=DEFAULT_RESULTS_DIR, name="records"):
    """Append records as JSON lines to <results_dir>/<name>.jsonl; return the path."""
    os.makedirs(results_dir, mode=0o755, exist_ok=True)
    path = os.path.join(results_dir, f"{name}.jsonl")
    with open(path, "a", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(validate_record(record), sort_keys=True) + "\n")
    return path


def read_records(path):
    """Records of a JSON-lines file, each validated."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise RecordError(f"{path}:{n}: not JSON: {exc}") from exc
            try:
                out.append(validate_record(record))
            except RecordError as exc:
                raise RecordError(f"{path}:{n}: {exc}") from exc
    return out
