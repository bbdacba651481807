"""Checks across OpenStack and Ceph (roles/validate-openstack-ceph/module_utils/
crossgate_openstack_ceph.py), table-driven: what Glance, Cinder, Nova, Keystone, librbd and
the RGW answered in, one record of layer integration out, valid against the record schema.
Each rule of a check has a row that breaks it; the reason names what broke. The module's
DOCUMENTATION is checked against its argument_spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import modload

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "plugins/schemas/check-record.schema.json").read_text())
ROLE = "validate-openstack-ceph"

modload.module_util("crossgate_records")
modload.module_util("crossgate_ceph")
xc = modload.module_util("crossgate_openstack_ceph", ROLE)

FSID = "4f2b1569-3723-467a-92bc-9c27f88247d5"
IMAGE = "0d5c7d3e-1111-4222-8333-444455556666"
VOL = "9a8b7c6d-aaaa-4bbb-8ccc-dddddddddddd"
SERVER = "5e6f7a8b-0000-4000-8000-000000000001"
MD5, SHA512, SHA256 = "a" * 32, "b" * 128, "c" * 64


def valid(rec: dict) -> dict:
    jsonschema.validate(rec, SCHEMA)
    assert rec["layer"] == "integration"
    return rec


def glance(**over: Any) -> dict:
    g = {"id": IMAGE, "status": "active", "size": 1048576, "checksum": MD5,
         "os_hash_algo": "sha512", "os_hash_value": SHA512, "stores": "rbd",
         "direct_url": f"rbd://{FSID}/images/{IMAGE}/snap"}
    g.update(over)
    return g


def ceph_image(**over: Any) -> dict:
    c = {"exists": True, "size": 1048576, "md5": MD5, "sha512": SHA512, "sha256": SHA256,
         "snaps": {"snap": True}, "user": "glance"}
    c.update(over)
    return c


IMAGE_ROWS = [
    ("stored in rbd", glance(), ceph_image(), None, None),
    ("glance on its file store", glance(stores="fs", direct_url=f"file:///var/lib/glance/{IMAGE}"),
     {"exists": False, "user": "glance"}, None, "no RBD image images/" + IMAGE),
    ("size differs", glance(), ceph_image(size=4096), None, "RBD size 4096 != Glance size"),
    ("bytes differ", glance(), ceph_image(md5="d" * 32), None, "md5 of the RBD bytes"),
    ("sha512 differs", glance(), ceph_image(sha512="e" * 128), None, "sha512 of the RBD bytes"),
    ("snapshot unprotected", glance(), ceph_image(snaps={"snap": False}), None,
     "no protected snapshot"),
    ("location elsewhere", glance(direct_url=f"rbd://{FSID}/other/{IMAGE}/snap"), ceph_image(),
     None, "Glance's location"),
    ("api error", glance(), {"exists": False}, "HttpException: 500", "HttpException: 500"),
]


@pytest.mark.parametrize(("name", "g", "c", "error", "reason"), IMAGE_ROWS,
                         ids=[r[0] for r in IMAGE_ROWS])
def test_image_in_rbd(name: str, g: dict, c: dict, error: str | None,
                      reason: str | None) -> None:
    rec = valid(xc.image_record("controller", g, c, "images", FSID, 0.0, error))
    assert rec["check"] == "image-in-rbd"
    assert rec["status"] == ("pass" if reason is None else "fail")
    if reason:
        assert reason in rec["reason"]
        assert rec["evidence"]["glance"]["stores"] == g["stores"]


PARENT = {"pool": "images", "image": IMAGE, "snap": "snap"}
VOLUME = {"id": VOL, "status": "available", "pool": "volumes", "rbd_name": f"volume-{VOL}"}
CLONE_ROWS = [
    ("clone of the snapshot", VOLUME, PARENT, True, None, None),
    ("copied, no parent", VOLUME, None, None, None, "has no parent: Cinder copied the image"),
    ("other parent", VOLUME, dict(PARENT, image="x"), True, None, "is not"),
    ("unprotected", VOLUME, PARENT, False, None, "is not protected"),
    ("volume in error", dict(VOLUME, status="error"), PARENT, True, None, "is error"),
    ("api error", {"id": None}, None, None, "Waited: still 'creating'", "Waited"),
]


@pytest.mark.parametrize(("name", "vol", "parent", "protected", "error", "reason"), CLONE_ROWS,
                         ids=[r[0] for r in CLONE_ROWS])
def test_volume_clone_of_image(name: str, vol: dict, parent: dict | None,
                               protected: bool | None, error: str | None,
                               reason: str | None) -> None:
    rec = valid(xc.clone_record("controller", vol, IMAGE, parent, protected, "images", 0.0,
                                error))
    assert rec["check"] == "volume-clone-of-image"
    assert rec["status"] == ("pass" if reason is None else "fail"), rec.get("reason")
    if reason:
        assert reason in rec["reason"]


WRITTEN = {"node": "compute1", "user": "cinder", "length": 262144, "sha256": "1" * 64,
           "error": None}
UP_VOLUME = {"id": VOL, "size": 1 << 30, "sha256": "2" * 64}
UP_IMAGE = {"id": IMAGE, "status": "active", "size": 1 << 30, "sha256": "2" * 64,
            "prefix_sha256": "1" * 64}
UPLOAD_ROWS = [
    ("same bytes", WRITTEN, UP_VOLUME, UP_IMAGE, None, None),
    ("write refused", dict(WRITTEN, error="PermissionError: [errno 1] RBD permission denied"),
     UP_VOLUME, {}, None, "as client.cinder on compute1 failed"),
    ("other first bytes", WRITTEN, UP_VOLUME, dict(UP_IMAGE, prefix_sha256="3" * 64), None,
     "not those written"),
    ("other whole", WRITTEN, UP_VOLUME, dict(UP_IMAGE, sha256="4" * 64), None,
     "differs from the volume"),
    ("image killed", WRITTEN, UP_VOLUME, dict(UP_IMAGE, status="killed"), None, "is killed"),
    ("size differs", WRITTEN, UP_VOLUME, dict(UP_IMAGE, size=10), None, "image size 10"),
]


@pytest.mark.parametrize(("name", "written", "vol", "image", "error", "reason"), UPLOAD_ROWS,
                         ids=[r[0] for r in UPLOAD_ROWS])
def test_volume_upload_roundtrip(name: str, written: dict, vol: dict, image: dict,
                                 error: str | None, reason: str | None) -> None:
    rec = valid(xc.upload_record("controller", written, vol, image, 0.0, error))
    assert rec["status"] == ("pass" if reason is None else "fail"), rec.get("reason")
    if reason:
        assert reason in rec["reason"]


CAPS_ROWS = [
    ("profile rbd pool=volumes, profile rbd pool=vms, profile rbd-read-only pool=images",
     "volumes", True, True),
    ("profile rbd pool=vms, profile rbd-read-only pool=images", "volumes", True, False),
    ("profile rbd-read-only pool=images", "images", False, True),
    ("profile rbd-read-only pool=images", "images", True, False),
    ("profile rbd", "volumes", True, True),
    ("allow rwx pool=volumes", "volumes", True, True),
    ("allow r pool=volumes", "volumes", True, False),
    ("allow r pool=volumes", "volumes", False, True),
    ("allow *", "anything", True, True),
    ("", "volumes", False, False),
    (None, "volumes", False, False),
]


@pytest.mark.parametrize(("caps", "pool", "write", "allowed"), CAPS_ROWS)
def test_caps_allow(caps: str | None, pool: str, write: bool, allowed: bool) -> None:
    assert xc.caps_allow(caps, pool, write) is allowed


CONN = {"driver_volume_type": "rbd",
        "data": {"name": f"volumes/volume-{VOL}", "auth_username": "cinder",
                 "secret_uuid": "0000", "hosts": ["10.0.0.1"], "keyring": None}}
# Cinder's attachments API gives the connection flat, beside driver_volume_type
FLAT = dict(CONN["data"], driver_volume_type="rbd")
ATTACHMENT = {"id": "att", "instance": SERVER, "connection_info": CONN}
PROBE = {"node": "compute1", "user": "cinder", "pool": "volumes", "rbd_name": f"volume-{VOL}",
         "opened": True, "size": 1 << 30, "error": None}
CAPS = {"entity": "client.cinder",
        "osd": "profile rbd pool=volumes, profile rbd pool=vms, profile rbd-read-only pool=images"}
SRV = {"id": SERVER, "host": "compute1", "status": "ACTIVE"}
INUSE = {"id": VOL, "status": "in-use", "attachments": [SERVER]}
ATTACH_ROWS = [
    ("attached", SRV, INUSE, ATTACHMENT, PROBE, CAPS, None, None),
    ("attached, flat connection", SRV, INUSE, dict(ATTACHMENT, connection_info=FLAT), PROBE, CAPS,
     None, None),
    ("flat connection, other image", SRV, INUSE,
     dict(ATTACHMENT, connection_info=dict(FLAT, name="volumes/y")), PROBE, CAPS, None,
     "not the volume's RBD image"),
    ("available", SRV, dict(INUSE, status="available", attachments=[]), ATTACHMENT, PROBE, CAPS,
     None, "is available, not in-use"),
    ("iscsi", SRV, INUSE, dict(ATTACHMENT, connection_info=dict(CONN, driver_volume_type="iscsi")),
     PROBE, CAPS, None, "is not rbd"),
    ("other image", SRV, INUSE,
     dict(ATTACHMENT, connection_info=dict(CONN, data=dict(CONN["data"], name="volumes/x"))),
     PROBE, CAPS, None, "not the volume's RBD image"),
    ("probe refused", SRV, INUSE, ATTACHMENT,
     dict(PROBE, opened=False, error="PermissionError: [errno 1] error opening image"),
     CAPS, None, "cannot open"),
    ("caps read only", SRV, INUSE, ATTACHMENT, PROBE,
     dict(CAPS, osd="profile rbd-read-only pool=volumes"), None, "no read-write RBD access"),
    ("other user", SRV, INUSE,
     dict(ATTACHMENT, connection_info=dict(CONN, data=dict(CONN["data"], auth_username="x"))),
     PROBE, CAPS, None, "Ceph user x is not"),
    ("attach error", {}, {"id": VOL, "status": "available"}, {}, {"error": "not probed"}, CAPS,
     "Waited: volume still 'attaching'", "Waited"),
]


@pytest.mark.parametrize(("name", "server", "vol", "att", "probe", "caps", "error", "reason"),
                         ATTACH_ROWS, ids=[r[0] for r in ATTACH_ROWS])
def test_volume_attach_rbd(name: str, server: dict, vol: dict, att: dict, probe: dict,
                           caps: dict, error: str | None, reason: str | None) -> None:
    rec = valid(xc.attach_record("controller", server, vol, att, probe, caps, 0.0, error,
                                 expected_name=f"volumes/volume-{VOL}"))
    assert rec["status"] == ("pass" if reason is None else "fail"), rec.get("reason")
    if reason:
        assert reason in rec["reason"]


def test_scrub_masks_keys_and_keeps_names() -> None:
    info = {"driver_volume_type": "rbd",
            "data": {"auth_username": "cinder", "secret_uuid": "u", "secret_type": "ceph",
                     "keyring": "[client.cinder]\n\tkey = AQB==", "auth_key": "AQB==",
                     "volume_id": VOL, "hosts": ["10.0.0.1"], "empty_secret": ""}}
    out = xc.scrub(info)
    assert out["data"]["keyring"] == out["data"]["auth_key"] == "***"
    assert out["data"]["auth_username"] == "cinder" and out["data"]["secret_uuid"] == "u"
    assert out["data"]["volume_id"] == VOL and out["data"]["empty_secret"] == ""
    assert "AQB" not in json.dumps(out)


SWIFT = {"container": "c", "object": "o", "sha256": SHA256, "project_id": "p"}
OBJECT_ROWS = [
    ("swift to s3", SWIFT, {"bucket": "p/c", "num_objects": 1}, {"status": 200, "sha256": SHA256},
     None, None),
    ("not in rgw", SWIFT, {"bucket": "p/c", "error": "rc=2: could not get bucket info"},
     {"status": 200, "sha256": SHA256}, None, "does not have bucket p/c"),
    ("empty bucket", SWIFT, {"bucket": "p/c", "num_objects": 0},
     {"status": 200, "sha256": SHA256}, None, "holds no object"),
    ("s3 refused", SWIFT, {"bucket": "p/c", "num_objects": 1},
     {"status": 403, "error": "HTTP 403: AccessDenied"}, None, "S3 with EC2 credentials failed"),
    ("s3 other bytes", SWIFT, {"bucket": "p/c", "num_objects": 1},
     {"status": 200, "sha256": "0" * 64}, None, "other bytes"),
    ("no object store", SWIFT, {}, {}, "RuntimeError: the contract has no object store",
     "no object store"),
]


@pytest.mark.parametrize(("name", "swift", "rgw", "s3", "error", "reason"), OBJECT_ROWS,
                         ids=[r[0] for r in OBJECT_ROWS])
def test_object_store_rgw(name: str, swift: dict, rgw: dict, s3: dict, error: str | None,
                          reason: str | None) -> None:
    rec = valid(xc.object_record("controller", swift, rgw, s3, 0.0, error))
    assert rec["status"] == ("pass" if reason is None else "fail"), rec.get("reason")
    if reason:
        assert reason in rec["reason"]


BEFORE = {"images": ["old"], "volumes": [], "vms": [], "rgw-buckets": ["b"]}
AFTER_ROWS = [
    ("clean", {"status": "HEALTH_OK", "checks": {}}, [], BEFORE, None),
    ("image left", {"status": "HEALTH_OK", "checks": {}}, [],
     dict(BEFORE, images=["old", IMAGE]), f"images: {IMAGE}"),
    ("bucket left", {"status": "HEALTH_OK", "checks": {}}, [],
     dict(BEFORE, **{"rgw-buckets": ["b", "p/c"]}), "rgw-buckets: p/c"),
    ("warn", {"status": "HEALTH_WARN", "checks": {"OSD_DOWN": {}}}, [], BEFORE, "OSD_DOWN"),
    ("warn allowed", {"status": "HEALTH_WARN", "checks": {"POOL_NO_REDUNDANCY": {}}},
     ["POOL_NO_REDUNDANCY"], BEFORE, None),
]


@pytest.mark.parametrize(("name", "health", "allowed", "after", "reason"), AFTER_ROWS,
                         ids=[r[0] for r in AFTER_ROWS])
def test_ceph_after_checks(name: str, health: dict, allowed: list, after: dict,
                           reason: str | None) -> None:
    rec = valid(xc.after_record("controller", health, allowed, BEFORE, after, 0.0))
    assert rec["status"] == ("pass" if reason is None else "fail"), rec.get("reason")
    if reason:
        assert reason in rec["reason"]


def test_an_old_image_that_went_away_is_not_a_leftover() -> None:
    assert xc.leftovers({"images": ["a", "b"]}, {"images": ["b"]}) == {}
    assert xc.leftovers({"images": ["a"]}, {"images": ["a", "c"], "vms": ["d"]}) == {
        "images": ["c"], "vms": ["d"]}


class _Spec(Exception):
    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__("argument_spec captured")
        self.spec = spec


def _normal(option: dict[str, Any]) -> dict[str, Any]:
    out = {k: option[k] for k in ("type", "required", "default", "choices", "elements")
           if option.get(k) not in (None, False)}
    out.setdefault("type", "str")
    return out


def test_module_documentation_matches_argument_spec() -> None:
    name = "crossgate_openstack_ceph"
    mod = modload.module(name, ROLE)
    documented = yaml.safe_load(mod.DOCUMENTATION)
    assert documented["module"] == name

    def capture(argument_spec: dict[str, Any], **_: Any) -> None:
        raise _Spec(argument_spec)

    mod.AnsibleModule = capture
    with pytest.raises(_Spec) as caught:
        mod.main()
    spec = caught.value.spec
    assert spec["node"] == {"type": "str", "required": True}
    docs = {k: _normal(v) for k, v in documented.get("options", {}).items()}
    code = {k: _normal(v) for k, v in spec.items()}
    assert sorted(docs) == sorted(code)
    for option, want in code.items():
        assert docs[option] == want, f"{name}: option {option!r}"
