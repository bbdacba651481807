"""Ceph checks as pure functions: JSON answers of the ceph CLI (and observed round trips) in,
check records out. The modules crossgate_ceph_cluster, crossgate_ceph_io and crossgate_ceph_s3
run the commands on a node and hand the answers to these functions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import formatdate

from ansible.module_utils.crossgate_records import make_record

LAYER = "ceph"
RESULTS_NAME = "ceph"


def health_record(node, health, allowed, started, duration=None):
    """`health` is `ceph health detail -f json`. Passes on HEALTH_OK, or on HEALTH_WARN when
    every raised check's code is in `allowed`."""
    status = health.get("status", "unknown")
    checks = health.get("checks") or {}
    raised = {
        code: {
            "severity": c.get("severity"),
            "summary": (c.get("summary") or {}).get("message"),
            "detail": [d.get("message") for d in (c.get("detail") or [])][:20],
        }
        for code, c in sorted(checks.items())
    }
    not_allowed = sorted(code for code in raised if code not in allowed)
    allowed_raised = sorted(code for code in raised if code in allowed)
    evidence = {"status": status, "checks": raised, "allowed": sorted(allowed),
                "allowed_raised": allowed_raised}
    ok = status == "HEALTH_OK" or (status == "HEALTH_WARN" and not not_allowed)
    reason = None
    if not ok:
        parts = [f"{code}: {raised[code]['summary']}" for code in not_allowed]
        reason = f"cluster health is {status}" + (f" ({'; '.join(parts)})" if parts else "")
    return make_record(LAYER, "health", "pass" if ok else "fail", node, started, evidence,
                       reason, duration)


def osd_hosts(tree):
    """{osd id: host name} from `ceph osd tree -f json`."""
    out = {}
    for n in tree.get("nodes") or []:
        if n.get("type") == "host":
            for child in n.get("children") or []:
                out[int(child)] = n.get("name")
    return out


def osds_record(node, dump, tree, expected, started, duration=None):
    """`dump` is `ceph osd dump -f json`, `tree` `ceph osd tree -f json`; `expected` is the
    number of OSDs the cluster should have. Passes when there are that many and every one is
    up and in; the evidence names each OSD with its host."""
    hosts = osd_hosts(tree)
    osds = []
    for o in sorted(dump.get("osds") or [], key=lambda o: o.get("osd", -1)):
        osd_id = int(o.get("osd"))
        osds.append({"osd": f"osd.{osd_id}", "host": hosts.get(osd_id),
                     "up": bool(o.get("up")), "in": bool(o.get("in"))})
    bad = [o for o in osds if not (o["up"] and o["in"])]
    problems = []
    for o in bad:
        state = ", ".join(s for s, v in (("down", not o["up"]), ("out", not o["in"])) if v)
        problems.append(f"{o['osd']} on {o['host'] or 'no host'} is {state}")
    if len(osds) != expected:
        problems.append(f"{len(osds)} OSDs exist, {expected} expected")
    evidence = {"expected": expected, "count": len(osds),
                "up": sum(o["up"] for o in osds), "in": sum(o["in"] for o in osds),
                "osds": osds, "not_up_in": [o["osd"] for o in bad]}
    reason = "; ".join(problems) if problems else None
    return make_record(LAYER, "osds-up-in", "fail" if problems else "pass", node, started,
                       evidence, reason, duration)


def pgs_record(node, pg_stat, started, duration=None):
    """`pg_stat` is `ceph pg stat -f json`. Passes when every PG is active+clean."""
    summary = pg_stat.get("pg_summary") or pg_stat
    by_state = {s.get("name"): int(s.get("num", 0))
                for s in summary.get("num_pg_by_state") or []}
    total = int(summary.get("num_pgs", sum(by_state.values())))
    clean = by_state.get("active+clean", 0)
    others = {k: v for k, v in sorted(by_state.items()) if k != "active+clean"}
    evidence = {"num_pgs": total, "active_clean": clean, "by_state": by_state}
    ok = total > 0 and clean == total
    reason = None
    if not ok:
        states = ", ".join(f"{v} {k}" for k, v in others.items()) or "no PGs"
        reason = f"{clean} of {total} PGs active+clean; {states}"
    return make_record(LAYER, "pgs-active-clean", "pass" if ok else "fail", node, started,
                       evidence, reason, duration)


def roundtrip_record(node, check, subject, written, read, size, started, steps,
                     error=None, duration=None):
    """One write/read round trip: passes when the read-back checksum equals the written one.
    `steps` is a list of {step, rc, output} of what was run (no secrets)."""
    evidence = {"subject": subject, "bytes": size, "sha256_written": written,
                "sha256_read": read, "steps": steps}
    ok = error is None and written is not None and written == read
    reason = None
    if not ok:
        if error:
            reason = f"{subject}: {error}"
        else:
            reason = f"{subject}: read back sha256 {read} differs from written {written}"
    return make_record(LAYER, f"{check}:{subject}", "pass" if ok else "fail", node, started,
                       evidence, reason, duration)


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def s3_signature_v2(secret_key, method, content_md5, content_type, date, resource):
    """AWS signature version 2 (RGW accepts it): base64 HMAC-SHA1 of the string to sign."""
    string_to_sign = "\n".join([method, content_md5, content_type, date, resource])
    digest = hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def s3_headers(access_key, secret_key, method, resource, content_type="", date=None):
    date = date or formatdate(usegmt=True)
    headers = {"Date": date,
               "Authorization": "AWS " + access_key + ":" + s3_signature_v2(
                   secret_key, method, "", content_type, date, resource)}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def tail(text, limit=1500):
    text = text or ""
    return text[-limit:]
