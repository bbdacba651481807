"""Interop guidelines: from a guideline file to the Tempest tests to run, and from the tests'
results to one record per capability.

A guideline file (the OpenStack Interop Working Group's format, schema 2.0) names targets:
``platforms`` in a guideline (e.g. "OpenStack Powered Platform") or ``add-ons`` in an add-on
guideline (e.g. "DNS"). A target lists components, a component lists capabilities by status
(required, advisory, deprecated, removed), and a capability lists Tempest tests by name, each
with its idempotent id, maybe aliases (older or newer names of the same test) and maybe a
``flagged`` mark (the test does not count, with a reason).

Tests are selected by idempotent id, which Tempest keeps when a test is renamed or moved:
the include list has one regular expression per test, ``id-<uuid>``, which matches the id
in the test's name as stestr lists it (``...test_x[id-<uuid>,smoke]``). Flagged tests are
left out, each with its reason.

Pure functions, no third-party imports: they run on any node and in unit tests.
"""

from __future__ import annotations

import json
import re

STATUSES = ("required", "advisory", "deprecated", "removed")
UUID_RE = re.compile(r"^(?:id-)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
CLASS_FIXTURE_RE = re.compile(r"^setUpClass \(([\w.]+)\)$")
ID_IN_NAME_RE = re.compile(r"\bid-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")
# how stestr/subunit name a test's outcome, and what each counts as
OUTCOMES = {"success": "pass", "xfail": "pass", "fail": "fail", "uxsuccess": "fail",
            "skip": "skip", "exists": None, "inprogress": None}


class GuidelineError(ValueError):
    """A guideline file that cannot be used, naming where in it the problem is."""


def load(text, source="guideline"):
    """The guideline in ``text`` (JSON); GuidelineError naming ``source`` and the place."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise GuidelineError(f"{source}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise GuidelineError(f"{source}: the top level must be an object, not "
                             f"{type(data).__name__}")
    for key in ("metadata", "components", "capabilities"):
        if not isinstance(data.get(key), dict):
            raise GuidelineError(f"{source}: '{key}' is missing or not an object")
    if not isinstance(data.get("platforms", data.get("add-ons")), dict):
        raise GuidelineError(f"{source}: neither 'platforms' nor 'add-ons' is an object; a "
                             "guideline names its targets in one of them")
    return data


def guideline_id(data, source="guideline"):
    gid = data["metadata"].get("id")
    if not isinstance(gid, str) or not gid:
        raise GuidelineError(f"{source}: metadata.id is missing")
    return gid


def targets(data):
    """The target names of the guideline: its platforms, or an add-on guideline's add-ons."""
    return sorted(data.get("platforms") or data.get("add-ons") or {})


def _target(data, target, source):
    kind = "platforms" if "platforms" in data else "add-ons"
    found = (data.get(kind) or {}).get(target)
    if found is None:
        raise GuidelineError(f"{source}: target {target!r} is not in its {kind}; "
                             f"allowed: {targets(data)}")
    if not isinstance(found, dict) or not isinstance(found.get("components"), list):
        raise GuidelineError(f"{source}: {kind}.{target}.components must be a list")
    return kind, found


def test_list(data, target, source="guideline", statuses=("required",), per_capability=0):
    """What to run for ``target``: its capabilities with their tests, and the include list.

    Returns a dict with ``guideline``, ``target``, ``requires`` (the platform components an
    add-on needs from another guideline), ``capabilities`` (name -> status, project,
    description, tests: name, id, aliases, flagged reason or None, sampled_out), ``include``
    (one regular expression per test to run), ``excluded`` (flagged tests with their reasons)
    and ``per_capability``. With ``per_capability`` N > 0 only the first N tests (by name) of
    each capability that are not flagged run; the others are marked sampled_out."""
    for status in statuses:
        if status not in STATUSES:
            raise GuidelineError(f"capability status {status!r} is not one of {list(STATUSES)}")
    if not isinstance(per_capability, int) or isinstance(per_capability, bool) \
            or per_capability < 0:
        raise GuidelineError(f"tests per capability {per_capability!r} is not allowed; "
                             "allowed: 0 (every test) or more")
    gid = guideline_id(data, source)
    kind, tgt = _target(data, target, source)
    capabilities = {}
    for i, comp in enumerate(tgt["components"]):
        name = comp.get("name") if isinstance(comp, dict) else None
        where = f"{kind}.{target}.components[{i}]"
        if not isinstance(name, str):
            raise GuidelineError(f"{source}: {where} has no name")
        component = data["components"].get(name)
        if not isinstance(component, dict) or not isinstance(component.get("capabilities"), dict):
            raise GuidelineError(f"{source}: {where} names component {name!r}, which "
                                 "'components' does not define (with its capabilities)")
        for status in statuses:
            names = component["capabilities"].get(status, [])
            if not isinstance(names, list):
                raise GuidelineError(f"{source}: components.{name}.capabilities.{status} must "
                                     "be a list")
            for cap in names:
                if cap in capabilities:
                    continue
                capabilities[cap] = _capability(data, cap, status, source)
    include, excluded, seen = [], [], {}
    for cap, c in sorted(capabilities.items()):
        kept = 0
        for t in c["tests"]:
            t["sampled_out"] = False
            if t["flagged"]:
                excluded.append({"test": t["name"], "id": t["id"], "capability": cap,
                                 "reason": t["flagged"]})
                continue
            if per_capability and kept >= per_capability:
                t["sampled_out"] = True
                continue
            kept += 1
            if t["id"] in seen:
                continue
            seen[t["id"]] = cap
            include.append(f"id-{t['id']}")
    return {"guideline": gid, "target": target,
            "requires": tgt.get("required_platform_components", []),
            "capabilities": capabilities, "include": include, "excluded": excluded,
            "per_capability": per_capability}


def _capability(data, cap, status, source):
    where = f"capabilities.{cap}"
    c = data["capabilities"].get(cap)
    if not isinstance(c, dict):
        raise GuidelineError(f"{source}: {where} is listed by a component but not defined")
    tests = c.get("tests")
    if not isinstance(tests, dict) or not tests:
        raise GuidelineError(f"{source}: {where}.tests must be a non-empty object")
    out = []
    for name, t in sorted(tests.items()):
        if not isinstance(t, dict):
            raise GuidelineError(f"{source}: {where}.tests.{name} must be an object")
        raw = t.get("idempotent_id")
        m = UUID_RE.match(raw) if isinstance(raw, str) else None
        if m is None:
            raise GuidelineError(f"{source}: {where}.tests.{name}: idempotent_id "
                                 f"{raw!r} is not 'id-<uuid>' or '<uuid>'")
        flagged = t.get("flagged")
        if flagged is not None and not isinstance(flagged, dict):
            raise GuidelineError(f"{source}: {where}.tests.{name}.flagged must be an object")
        reason = None
        if flagged is not None:
            reason = str(flagged.get("reason") or "flagged (no reason given)")
        out.append({"name": name, "id": m.group(1), "aliases": list(t.get("aliases") or []),
                    "flagged": reason})
    return {"status": status, "project": c.get("project", ""),
            "description": c.get("description", ""), "admin": bool(c.get("admin", False)),
            "tests": out}


def test_uuid(test_id):
    """The idempotent id in a test's name as stestr reports it, or None."""
    m = ID_IN_NAME_RE.search(test_id)
    return m.group(1) if m else None


def outcomes(results):
    """Reduce raw results (dicts: id, status, details) to uuid -> the last outcome of a test
    carrying that id: status pass/fail/skip, the test's name and its details (traceback or
    skip reason). A class whose setUpClass was skipped or failed ran none of its tests: it is
    kept as ``class:<module.Class>`` with that outcome, which its tests then take."""
    out = {}
    for r in results:
        status = OUTCOMES.get(r.get("status"), "fail" if r.get("status") else None)
        fixture = CLASS_FIXTURE_RE.match(r.get("id", ""))
        if fixture and status in ("skip", "fail"):
            out["class:" + fixture.group(1)] = {"status": status, "test": r["id"],
                                                "details": str(r.get("details") or "")}
            continue
        uuid = test_uuid(r.get("id", ""))
        if status is None or uuid is None:
            continue
        out[uuid] = {"status": status, "test": r["id"].split("[", 1)[0],
                     "details": str(r.get("details") or "")}
    return out


def result_of(test, results):
    """The outcome of a listed test in ``results`` (what outcomes returned): its own, or, when
    none of its names ran, that of its class's set-up (skipped or failed), or None."""
    got = results.get(test["id"])
    if got is not None:
        return got
    for name in [test["name"], *test["aliases"]]:
        fixture = results.get("class:" + name.rsplit(".", 1)[0])
        if fixture is not None:
            return dict(fixture, test=name)
    return None


def capability_verdicts(listing, results, max_detail=4000):
    """One verdict per capability of ``listing`` (what test_list returned) from ``results``
    (what outcomes returned): pass when every counted test passed; fail when one failed or was
    not run at all (not in this Tempest); skip when none failed but some were skipped (their
    reasons given). Flagged tests do not count."""
    verdicts = {}
    for cap, c in sorted(listing["capabilities"].items()):
        counted = [t for t in c["tests"] if not t["flagged"] and not t.get("sampled_out")]
        passed, failed, skipped, missing = [], [], [], []
        for t in counted:
            got = result_of(t, results)
            if got is None:
                missing.append(t["name"])
            elif got["status"] == "pass":
                passed.append(got["test"])
            elif got["status"] == "skip":
                skipped.append({"test": got["test"], "reason": got["details"][:max_detail]})
            else:
                failed.append({"test": got["test"], "traceback": got["details"][-max_detail:]})
        evidence = {"status": c["status"], "project": c["project"], "passed": passed,
                    "failed": failed, "skipped": skipped, "not_run": missing,
                    "flagged": [{"test": t["name"], "reason": t["flagged"]}
                                for t in c["tests"] if t["flagged"]]}
        sampled_out = [t["name"] for t in c["tests"] if t.get("sampled_out")]
        if sampled_out:
            evidence["not_sampled"] = sampled_out
            evidence["per_capability"] = listing.get("per_capability", 0)
        if not counted:
            verdict, reason = "skip", "every test of the capability is flagged"
        elif failed or missing:
            verdict = "fail"
            parts = []
            if failed:
                parts.append(f"{len(failed)} of {len(counted)} test(s) failed: "
                             + ", ".join(f["test"].rsplit(".", 1)[-1] for f in failed))
            if missing:
                parts.append(f"{len(missing)} test(s) not run (not found in this Tempest, or "
                             "the run ended first): "
                             + ", ".join(n.rsplit(".", 1)[-1] for n in missing))
            reason = "; ".join(parts)
        elif skipped:
            verdict = "skip"
            reason = (f"{len(skipped)} of {len(counted)} test(s) skipped: "
                      + "; ".join(f"{s['test'].rsplit('.', 1)[-1]}: {s['reason'][:200]}"
                                  for s in skipped))
        else:
            verdict, reason = "pass", None
        verdicts[cap] = {"status": verdict, "reason": reason, "evidence": evidence}
    return verdicts


def summary(listing, results):
    """Counts for the report: tests listed, and of those passed, failed, skipped, not run."""
    counted = {t["id"]: t for c in listing["capabilities"].values() for t in c["tests"]
               if not t["flagged"] and not t.get("sampled_out")}
    sampled_out = {t["id"] for c in listing["capabilities"].values() for t in c["tests"]
                   if t.get("sampled_out")} - set(counted)
    by = {"pass": 0, "fail": 0, "skip": 0}
    not_run = 0
    for t in counted.values():
        got = result_of(t, results)
        if got is None:
            not_run += 1
        else:
            by[got["status"]] += 1
    return {"tests": len(counted), "passed": by["pass"], "failed": by["fail"],
            "skipped": by["skip"], "not_run": not_run, "flagged": len(listing["excluded"]),
            "not_sampled": len(sampled_out)}


LAYER = "interop"
RESULTS_NAME = "interop"


def capability_records(listing, results, node, started, duration, make_record):
    """One record of layer ``interop`` per capability (check: its name in lower case, as
    check names are; the name as the guideline writes it is in the evidence), from the verdicts;
    ``make_record`` is crossgate_records.make_record (passed in, so that this file imports
    nothing outside the standard library)."""
    out = []
    per = duration / max(len(listing["capabilities"]), 1)
    for cap, v in capability_verdicts(listing, results).items():
        evidence = dict(v["evidence"], capability=cap, guideline=listing["guideline"],
                        target=listing["target"])
        out.append(make_record(LAYER, cap.lower(), v["status"], node, started, evidence,
                               v["reason"], duration=per))
    return out
