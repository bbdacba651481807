"""Compare what a job's playbooks saw in a real Zuul with what they saw under
`crossgate run`: the dumps written by tests/zuul/compare-project's dump-vars.yaml.

`normalize` replaces the values that differ between any two builds, in Zuul as
much as under crossgate run (build and buildset ids, the executor's folders,
host names of the executor and node addresses); `diff` lists every remaining
difference as (path, value in Zuul, value under crossgate run); `KNOWN` names
the differences that are documented limitations of crossgate run
(docs/runner.rst, docs/zuul.rst). The test fails on any other difference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MISSING = "<missing>"
UUID_RE = re.compile(r"^[0-9a-f]{32}$")

# Paths whose value is per build or per site by nature (ids, folders, addresses, the
# node provider): only their presence and type count (None matches any type).
PER_BUILD = (
    "zuul.build", "zuul.buildset", "zuul.event_id", "zuul.executor.hostname",
    "zuul.executor.src_root", "zuul.executor.log_root", "zuul.executor.work_root",
    "zuul.executor.result_data_file", "zuul.executor.inventory_file",
    "zuul.playbook_context", "zuul.resources",
    "*.nodepool.interface_ip", "*.nodepool.public_ipv4", "*.nodepool.private_ipv4",
    "*.nodepool.host_id", "*.nodepool.external_id", "*.ansible_host",
    "*.zuul_node.interface_ip", "*.zuul_node.public_ipv4", "*.zuul_node.private_ipv4",
    "*.zuul_node.host_id", "*.zuul_node.external_id", "*.zuul_node.uuid", "*.zuul_node.id",
    "*.nodepool.provider", "*.nodepool.cloud", "*.nodepool.region", "*.nodepool.az",
    "*.zuul_node.provider", "*.zuul_node.cloud", "*.zuul_node.region", "*.zuul_node.az",
    "*.zuul_node.reuse",
)

# Variables of one side's site only (the test tenant's log store): not compared.
SITE_ONLY = {"crossgate_test_log_store"}

# Differences that are documented limitations of crossgate run: path pattern -> why.
# Keep in step with "Known differences" in docs/runner.rst and the table in docs/zuul.rst.
KNOWN: dict[str, str] = {
    "zuul._inheritance_path": "Zuul's debugging trail of job variants (internal reprs with "
                              "config line numbers); crossgate run leaves it out",
}


def load_dump(folder: Path) -> dict[str, Any]:
    """zuul.json and host-*.json of a dump folder as one mapping:
    {"zuul": ..., "hosts": {name: ...}}."""
    out: dict[str, Any] = {"zuul": json.loads((folder / "zuul.json").read_text()),
                           "hosts": {}}
    for path in sorted(folder.glob("host-*.json")):
        host = json.loads(path.read_text())
        if isinstance(host.get("variable_names"), list):
            host["variable_names"] = [n for n in host["variable_names"] if n not in SITE_ONLY]
        out["hosts"][path.stem.removeprefix("host-")] = host
    return out


def _matches(path: str, pattern: str) -> bool:
    regex = "^" + re.escape(pattern).replace(r"\*", "[^.]+(?:\\.[^.]+)*?") + "(\\..*)?$"
    return re.match(regex, path) is not None


def is_per_build(path: str) -> bool:
    return any(_matches(path, p) for p in PER_BUILD)


def known_reason(path: str) -> str | None:
    for pattern, reason in KNOWN.items():
        if _matches(path, pattern):
            return reason
    return None


def _walk(a: Any, b: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    if is_per_build(path):
        if (a is MISSING) != (b is MISSING) or (
                a is not MISSING and b is not MISSING and type(a) is not type(b)
                and None not in (a, b)):
            yield path, _short(a), _short(b)
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            yield from _walk(a.get(key, MISSING), b.get(key, MISSING),
                             f"{path}.{key}" if path else str(key))
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and all(
            isinstance(x, dict) for x in a + b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _walk(x, y, f"{path}[{i}]")
        return
    if a != b:
        yield path, _short(a), _short(b)


def _short(value: Any) -> Any:
    text = json.dumps(value, sort_keys=True, default=str) if value is not MISSING else MISSING
    return text if len(text) <= 300 else text[:297] + "..."


def diff(zuul_dump: dict[str, Any], run_dump: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Every difference between the two dumps that is not per build by nature."""
    return list(_walk(zuul_dump, run_dump, ""))


def classify(diffs: list[tuple[str, Any, Any]]) -> tuple[list[tuple[str, Any, Any, str]],
                                                         list[tuple[str, Any, Any]]]:
    """(known differences with their reason, unexplained differences)."""
    known, unknown = [], []
    for path, a, b in diffs:
        reason = known_reason(path)
        if reason:
            known.append((path, a, b, reason))
        else:
            unknown.append((path, a, b))
    return known, unknown


def report(diffs: list[tuple[str, Any, Any]]) -> str:
    known, unknown = classify(diffs)
    lines = [f"{len(unknown)} unexplained and {len(known)} documented differences "
             "(path: Zuul | crossgate run)"]
    lines += [f"  UNEXPLAINED {p}: {a} | {b}" for p, a, b in unknown]
    lines += [f"  documented  {p}: {a} | {b}  ({r})" for p, a, b, r in known]
    return "\n".join(lines)
