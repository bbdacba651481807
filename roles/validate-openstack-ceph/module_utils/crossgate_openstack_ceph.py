"""Checks across OpenStack and Ceph as pure functions: what the OpenStack APIs said and what
Ceph holds (librados, librbd, the RGW) in, check records (layer ``integration``) out. The
module crossgate_openstack_ceph makes the calls on the nodes and hands the answers to these
functions; tests/unit/test_openstack_ceph_checks.py feeds them tables.
"""

from __future__ import annotations

import re

from ansible.module_utils.crossgate_records import make_record

LAYER = "integration"
RESULTS_NAME = "integration"
# Everything the checks create carries this prefix, so a cleanup finds leftovers of a run that
# was killed.
PREFIX = "crossgate-xcheck"
# Glance's RBD store keeps an image as POOL/IMAGE_ID with a protected snapshot named "snap";
# its location is rbd://FSID/POOL/IMAGE_ID/snap.
GLANCE_SNAP = "snap"
RBD_URL_RE = re.compile(r"^rbd://(?P<fsid>[^/]+)/(?P<pool>[^/]+)/(?P<image>[^/]+)/(?P<snap>[^/]+)$")
SECRET_KEYS = ("key", "keyring", "secret", "password", "token")


def record(check, status, node, started, evidence=None, reason=None, duration=None):
    return make_record(LAYER, check, status, node, started, evidence, reason, duration)


def scrub(value):
    """A copy of VALUE without the fields that may hold a key or password (connection info,
    credentials): their values become '***'."""
    if isinstance(value, dict):
        return {k: ("***" if any(s in str(k).lower() for s in SECRET_KEYS)
                    and not str(k).lower().endswith(("_uuid", "_type", "_username", "_id"))
                    and v not in (None, "") else scrub(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def parse_rbd_location(url):
    """rbd://FSID/POOL/IMAGE/SNAP as a dict, or None."""
    m = RBD_URL_RE.match(url or "")
    return m.groupdict() if m else None


def connection_data(info):
    """The data of a connection info: nested under "data" (os-initialize_connection) or flat
    beside driver_volume_type (Cinder's attachments API)."""
    info = info or {}
    return info.get("data") if isinstance(info.get("data"), dict) else info


def image_record(node, glance, ceph, pool, fsid, started, error=None, duration=None):
    """An image Glance stored is an RBD image in POOL with Glance's size and checksums.

    glance: {id, size, checksum, os_hash_algo, os_hash_value, stores, direct_url}
    ceph: {exists, size, md5, sha512, snaps: {name: protected}, user} (exists False when the
    RBD image was not found; error names why)."""
    evidence = {"glance": glance, "ceph": ceph, "pool": pool}
    problems = []
    if error:
        problems.append(error)
    if not ceph.get("exists"):
        problems.append(f"no RBD image {pool}/{glance.get('id')} in Ceph"
                        + (f" (Glance stores it in {glance.get('stores')!r})"
                           if glance.get("stores") else ""))
    else:
        if ceph.get("size") != glance.get("size"):
            problems.append(f"RBD size {ceph.get('size')} != Glance size {glance.get('size')}")
        if ceph.get("md5") != glance.get("checksum"):
            problems.append(f"md5 of the RBD bytes {ceph.get('md5')} != Glance checksum "
                            f"{glance.get('checksum')}")
        if (glance.get("os_hash_algo") == "sha512"
                and ceph.get("sha512") != glance.get("os_hash_value")):
            problems.append("sha512 of the RBD bytes != Glance os_hash_value")
        if not (ceph.get("snaps") or {}).get(GLANCE_SNAP):
            problems.append(f"no protected snapshot {pool}/{glance.get('id')}@{GLANCE_SNAP}")
    loc = parse_rbd_location(glance.get("direct_url"))
    expected = {"fsid": fsid, "pool": pool, "image": glance.get("id"), "snap": GLANCE_SNAP}
    if loc != expected:
        problems.append(f"Glance's location {glance.get('direct_url')!r} is not "
                        f"rbd://{fsid}/{pool}/{glance.get('id')}/{GLANCE_SNAP}")
    return record("image-in-rbd", "fail" if problems else "pass", node, started, evidence,
                  "; ".join(problems) or None, duration)


def clone_record(node, volume, image_id, parent, protected, images_pool, started, error=None,
                 duration=None):
    """A volume Cinder made from an image is an RBD clone whose parent is the image's
    protected snapshot.

    volume: {id, status, rbd_name, pool}; parent: {pool, image, snap} or None."""
    evidence = {"volume": volume, "image_id": image_id, "parent": parent,
                "parent_snapshot_protected": protected}
    problems = []
    if error:
        problems.append(error)
    if volume.get("status") != "available":
        problems.append(f"volume {volume.get('id')} is {volume.get('status')}, not available")
    expected = {"pool": images_pool, "image": image_id, "snap": GLANCE_SNAP}
    if not parent:
        if not error:
            problems.append(f"RBD image {volume.get('pool')}/{volume.get('rbd_name')} has no "
                            f"parent: Cinder copied the image instead of cloning "
                            f"{images_pool}/{image_id}@{GLANCE_SNAP}")
    elif parent != expected:
        problems.append(f"parent {parent} is not {expected}")
    elif not protected:
        problems.append(f"the parent snapshot {images_pool}/{image_id}@{GLANCE_SNAP} is not "
                        "protected")
    return record("volume-clone-of-image", "fail" if problems else "pass", node, started,
                  evidence, "; ".join(problems) or None, duration)


def upload_record(node, written, volume, image, started, error=None, duration=None):
    """Bytes written into a volume through librbd on a compute node come back from Glance
    after Cinder uploads the volume to an image.

    written: {node, user, length, sha256, error}; volume: {id, size, sha256 (whole volume
    read through librbd)}; image: {id, status, size, sha256, prefix_sha256 (the first
    written.length bytes)}."""
    evidence = {"written": written, "volume": volume, "image": image}
    problems = []
    if error:
        problems.append(error)
    if written.get("error"):
        problems.append(f"writing into the volume as client.{written.get('user')} on "
                        f"{written.get('node')} failed: {written['error']}")
    elif image.get("prefix_sha256") != written.get("sha256"):
        problems.append("the first bytes of the image Glance serves are not those written "
                        "into the volume through librbd")
    if image and image.get("status") != "active":
        problems.append(f"image {image.get('id')} is {image.get('status')}, not active")
    if image.get("size") is not None and volume.get("size") is not None \
            and image.get("size") != volume.get("size"):
        problems.append(f"image size {image.get('size')} != volume size {volume.get('size')}")
    if image.get("sha256") and volume.get("sha256") and image["sha256"] != volume["sha256"]:
        problems.append("the image Glance serves differs from the volume's RBD bytes")
    return record("volume-upload-roundtrip", "fail" if problems else "pass", node, started,
                  evidence, "; ".join(problems) or None, duration)


def caps_allow(caps, pool, write=True):
    """Whether Ceph OSD caps (the string of `ceph auth get`) let a user read (and write) the
    RBD images of POOL. Knows the forms the Ceph layer uses: ``profile rbd [pool=P]``,
    ``profile rbd-read-only [pool=P]`` and ``allow r|rw|rwx [pool=P]``, comma separated."""
    for grant in (g.strip() for g in (caps or "").split(",")):
        m = re.match(r"^(profile\s+(?P<profile>[\w-]+)|allow\s+(?P<perm>[rwx*]+))"
                     r"(?:\s+pool[= ](?P<pool>\S+))?$", grant)
        if not m or (m.group("pool") and m.group("pool") != pool):
            continue
        if m.group("profile") == "rbd":
            return True
        if m.group("profile") == "rbd-read-only" and not write:
            return True
        perm = m.group("perm") or ""
        if "*" in perm or ("r" in perm and ("w" in perm or not write)):
            return True
    return False


def attach_record(node, server, volume, attachment, probe, caps, started, error=None,
                  duration=None, expected_name=None):
    """A volume attached to a server is in-use in Cinder, and its connection names an RBD
    image that exists and that the compute node's Ceph user can open with its caps.

    server: {id, host, status}; volume: {id, status, attachments: [server ids]};
    attachment: {id, instance, connection_info (scrubbed)}; probe: {node, user, image,
    opened, size, error}; caps: {entity, osd} of that user; expected_name: POOL/volume-ID,
    the RBD image of the volume (by default the one the probe opened)."""
    evidence = {"server": server, "volume": volume, "attachment": attachment, "probe": probe,
                "caps": caps}
    problems = []
    if error:
        problems.append(error)
    if volume.get("status") != "in-use":
        problems.append(f"volume {volume.get('id')} is {volume.get('status')}, not in-use")
    if server.get("id") and server.get("id") not in (volume.get("attachments") or []):
        problems.append(f"Cinder does not list server {server.get('id')} among the volume's "
                        "attachments")
    info = (attachment or {}).get("connection_info") or {}
    data = connection_data(info)
    if attachment and info.get("driver_volume_type") != "rbd":
        problems.append(f"connection type {info.get('driver_volume_type')!r} is not rbd")
    name = data.get("name") or ""
    expected_name = expected_name or f"{probe.get('pool')}/{probe.get('rbd_name')}"
    evidence["expected_rbd_image"] = expected_name
    if attachment and name != expected_name:
        problems.append(f"connection names {name!r}, not the volume's RBD image {expected_name}")
    if probe.get("error"):
        problems.append(f"client.{probe.get('user')} on {probe.get('node')} cannot open "
                        f"{name or probe.get('rbd_name')}: {probe['error']}")
    elif attachment and not probe.get("opened"):
        problems.append(f"{name} was not opened on {probe.get('node')}")
    if caps and not caps_allow(caps.get("osd"), probe.get("pool"), write=True):
        problems.append(f"{caps.get('entity')} has OSD caps {caps.get('osd')!r}: no read-write "
                        f"RBD access to pool {probe.get('pool')}")
    if attachment and data.get("auth_username") and \
            data.get("auth_username") != probe.get("user"):
        problems.append(f"the connection's Ceph user {data.get('auth_username')} is not the "
                        f"compute nodes' user {probe.get('user')}")
    return record("volume-attach-rbd", "fail" if problems else "pass", node, started,
                  evidence, "; ".join(problems) or None, duration)


def object_record(node, swift, rgw, s3, started, error=None, duration=None):
    """A Swift object made with a Keystone token is in the RGW and reads back through S3 with
    EC2 credentials Keystone issued.

    swift: {container, object, sha256, project_id}; rgw: {bucket, num_objects, owner} (from
    radosgw-admin) or {error}; s3: {status, sha256, access} or {error}."""
    evidence = {"swift": swift, "rgw": rgw, "s3": s3}
    problems = []
    if error:
        problems.append(error)
    if rgw.get("error"):
        problems.append(f"the RGW does not have bucket {rgw.get('bucket')}: {rgw['error']}")
    elif rgw and rgw.get("num_objects", 0) < 1:
        problems.append(f"the RGW's bucket {rgw.get('bucket')} holds no object")
    if s3.get("error"):
        problems.append(f"S3 with EC2 credentials failed: {s3['error']}")
    elif s3 and s3.get("sha256") != swift.get("sha256"):
        problems.append(f"S3 returned other bytes (HTTP {s3.get('status')}) than were put "
                        "through Swift")
    return record("object-store-rgw", "fail" if problems else "pass", node, started, evidence,
                  "; ".join(problems) or None, duration)


def leftovers(before, after):
    """{pool: [names]} present in AFTER but not in BEFORE."""
    out = {}
    for pool, names in (after or {}).items():
        extra = sorted(set(names) - set((before or {}).get(pool, [])))
        if extra:
            out[pool] = extra
    return out


def after_record(node, health, allowed, before, after, started, error=None, duration=None):
    """Ceph stays healthy after the checks, which leave no RBD image or bucket behind.

    health: `ceph health detail -f json`; before/after: {pool or 'rgw-buckets': [names]}."""
    status = (health or {}).get("status")
    raised = sorted((health or {}).get("checks", {}))
    left = leftovers(before, after)
    evidence = {"health": status, "checks": raised, "allowed": sorted(allowed or []),
                "left_behind": left, "before": before, "after": after}
    problems = []
    if error:
        problems.append(error)
    if status != "HEALTH_OK" and set(raised) - set(allowed or []):
        problems.append(f"Ceph is {status}: " + ", ".join(sorted(set(raised) - set(allowed or []))))
    if left:
        problems.append("left behind: "
                        + "; ".join(f"{p}: {', '.join(n)}" for p, n in left.items()))
    return record("ceph-after-checks", "fail" if problems else "pass", node, started, evidence,
                  "; ".join(problems) or None, duration)
