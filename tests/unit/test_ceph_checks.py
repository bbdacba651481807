"""Ceph check functions, table-driven, fed with answers recorded from a real cluster
(Debian's Ceph 16.2.15 in crossgate local nodes: one mon, two OSDs, RGW) in
tests/unit/fixtures/ceph: healthy-*.json, and osd-down-*.json with osd.0 on compute2 stopped."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import modload

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ceph"
SCHEMA = json.loads((ROOT / "plugins/schemas/check-record.schema.json").read_text())


modload.module_util("crossgate_records")
ceph = modload.module_util("crossgate_ceph")
io_module = modload.module("crossgate_ceph_io")
modload.module("crossgate_ceph_cluster")
modload.module("crossgate_ceph_s3")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.mark.parametrize(("state", "allowed", "status", "why"), [
    ("healthy", [], "pass", None),
    ("osd-down", [], "fail", "cluster health is HEALTH_WARN (OSD_DOWN: 1 osds down; "
                             "OSD_HOST_DOWN: 1 host (1 osds) down)"),
    ("osd-down", ["OSD_DOWN"], "fail", "OSD_HOST_DOWN: 1 host (1 osds) down"),
    ("osd-down", ["OSD_DOWN", "OSD_HOST_DOWN"], "pass", None),
])
def test_health(state: str, allowed: list[str], status: str, why: str | None) -> None:
    rec = ceph.health_record("controller", fixture(f"{state}-health-detail"), allowed, 1000.0, 0.1)
    jsonschema.validate(rec, SCHEMA)
    assert (rec["layer"], rec["check"], rec["status"]) == ("ceph", "health", status)
    if why:
        assert why in rec["reason"]
        assert "OSD_DOWN" not in allowed or "OSD_DOWN:" not in rec["reason"]
    if state == "osd-down":
        assert rec["evidence"]["checks"]["OSD_DOWN"]["detail"] == [
            "osd.0 (root=default,host=compute2) is down"]
        assert rec["evidence"]["allowed_raised"] == sorted(allowed)


def test_health_error_is_never_allowed_away() -> None:
    health = {"status": "HEALTH_ERR", "checks": {}}
    rec = ceph.health_record("controller", health, ["ANYTHING"], 1000.0, 0.1)
    assert rec["status"] == "fail"
    assert rec["reason"] == "cluster health is HEALTH_ERR"


def test_osd_hosts_from_the_tree() -> None:
    assert ceph.osd_hosts(fixture("healthy-osd-tree")) == {0: "compute2", 1: "compute1"}


@pytest.mark.parametrize(("state", "expected", "status", "why"), [
    ("healthy", 2, "pass", None),
    ("osd-down", 2, "fail", "osd.0 on compute2 is down"),
    ("healthy", 3, "fail", "2 OSDs exist, 3 expected"),
])
def test_osds_up_in(state: str, expected: int, status: str, why: str | None) -> None:
    rec = ceph.osds_record("controller", fixture(f"{state}-osd-dump"),
                           fixture(f"{state}-osd-tree"), expected, 1000.0, 0.1)
    jsonschema.validate(rec, SCHEMA)
    assert (rec["check"], rec["status"]) == ("osds-up-in", status)
    assert rec.get("reason") == why
    hosts = {o["osd"]: o["host"] for o in rec["evidence"]["osds"]}
    assert hosts == {"osd.0": "compute2", "osd.1": "compute1"}
    if state == "osd-down":
        assert rec["evidence"]["not_up_in"] == ["osd.0"]
        assert (rec["evidence"]["up"], rec["evidence"]["in"]) == (1, 2)


def test_osd_out_is_named() -> None:
    dump = fixture("healthy-osd-dump")
    dump["osds"][1]["in"] = 0
    rec = ceph.osds_record("controller", dump, fixture("healthy-osd-tree"), 2, 1000.0, 0.1)
    assert rec["reason"] == "osd.1 on compute1 is out"


@pytest.mark.parametrize(("state", "status", "why"), [
    ("healthy", "pass", None),
    ("osd-down", "fail", "0 of 57 PGs active+clean; 37 active+undersized, "
                         "20 active+undersized+degraded"),
])
def test_pgs_active_clean(state: str, status: str, why: str | None) -> None:
    rec = ceph.pgs_record("controller", fixture(f"{state}-pg-stat"), 1000.0, 0.1)
    jsonschema.validate(rec, SCHEMA)
    assert (rec["check"], rec["status"], rec.get("reason")) == ("pgs-active-clean", status, why)
    assert rec["evidence"]["num_pgs"] == 57


def test_no_pgs_is_not_clean() -> None:
    rec = ceph.pgs_record("controller", {"pg_summary": {"num_pg_by_state": [], "num_pgs": 0}},
                          1000.0, 0.1)
    assert (rec["status"], rec["reason"]) == ("fail", "0 of 0 PGs active+clean; no PGs")


@pytest.mark.parametrize(("written", "read", "error", "status", "why"), [
    ("a" * 64, "a" * 64, None, "pass", None),
    ("a" * 64, "b" * 64, None, "fail", "volumes: read back sha256 " + "b" * 64),
    ("a" * 64, None, "read failed (rc=2) as client.cinder: denied", "fail",
     "volumes: read failed (rc=2) as client.cinder: denied"),
    (None, None, None, "fail", "volumes: read back sha256 None"),
])
def test_roundtrip(written: str | None, read: str | None, error: str | None, status: str,
                   why: str | None) -> None:
    rec = ceph.roundtrip_record("controller", "rbd-roundtrip", "volumes", written, read, 4096,
                                1000.0, [], error, 0.2)
    jsonschema.validate(rec, SCHEMA)
    assert (rec["check"], rec["status"]) == ("rbd-roundtrip:volumes", status)
    if why:
        assert rec["reason"].startswith(why)


@pytest.mark.parametrize(("kind", "tools"), [("rbd", ["rbd"] * 3), ("rados", ["rados"] * 3)])
def test_io_commands_use_the_consumer_key(kind: str, tools: list[str]) -> None:
    cmds = io_module.commands(kind, "images", "glance", "obj", "/tmp/in", "/tmp/out")
    assert [step for step, _ in cmds] == ["write", "read", "remove"]
    assert [argv[0] for _, argv in cmds] == tools
    assert all(argv[1:3] == ["--id", "glance"] for _, argv in cmds)
    flat = [" ".join(argv) for _, argv in cmds]
    assert "/tmp/in" in flat[0] and "/tmp/out" in flat[1]


def test_s3_signature_v2_matches_the_aws_example() -> None:
    # The worked example of AWS's S3 REST authentication (signature version 2) documentation.
    sig = ceph.s3_signature_v2("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "GET", "", "",
                               "Tue, 27 Mar 2007 19:36:42 +0000", "/johnsmith/photos/puppy.jpg")
    assert sig == "bWq2s1WEIj+Ydj0vQ697zp+IXMU="


def test_s3_headers_sign_the_content_type() -> None:
    h = ceph.s3_headers("AK", "SK", "PUT", "/b/o", "application/octet-stream",
                        date="Wed, 25 Nov 2026 12:00:00 GMT")
    assert h["Authorization"] == "AWS AK:" + ceph.s3_signature_v2(
        "SK", "PUT", "", "application/octet-stream", "Wed, 25 Nov 2026 12:00:00 GMT", "/b/o")
    assert h["Content-Type"] == "application/octet-stream"
    assert "SK" not in json.dumps(h)
