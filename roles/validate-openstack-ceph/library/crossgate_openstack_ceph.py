"""crossgate_openstack_ceph: checks that OpenStack keeps its data in Ceph, with evidence from
both sides."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_openstack_ceph
short_description: Check that Glance, Cinder, Nova and Swift keep their data in Ceph
description:
  - Runs one step of the checks across OpenStack and Ceph (records of layer C(integration)).
    The OpenStack steps run on the controller with the contract's client Python (openstacksdk,
    and librados and librbd linked into it); the C(write) and C(probe) steps run on a compute
    node with its system Python (python3-rbd) and the compute nodes' Ceph user, as a
    hypervisor would.
  - O(action=prepare) notes what the pools and the RGW hold, uploads an image and records
    C(image-in-rbd) (the image is an RBD image in the images pool with Glance's size, and
    its bytes read back through librbd hash to Glance's checksums), then makes a volume from
    it and records C(volume-clone-of-image) (an RBD clone of the image's protected snapshot).
  - O(action=write) writes random bytes at the start of an RBD image as O(user).
  - O(action=upload) has Cinder upload the volume to an image and records
    C(volume-upload-roundtrip) (Glance serves the bytes written through librbd, and the whole
    image equals the volume's RBD bytes).
  - O(action=attach) boots a server and attaches the volume; O(action=probe) opens the RBD
    image the attachment's connection names, read-write, as O(user) on the server's host.
  - O(action=finish) records C(volume-attach-rbd) (in-use in Cinder, the connection names an
    existing RBD image that the compute nodes' user can open and has the caps for), detaches
    and deletes what the checks made, records C(object-store-rgw) (a Swift object made with a
    Keystone token is in the RGW and reads back through S3 with EC2 credentials from
    Keystone), and C(ceph-after-checks) (Ceph healthy, nothing left behind).
  - A step that cannot go on (an API error) still records its check as C(fail) with what it
    saw; records are written as JSON lines to O(results_dir) and returned.
options:
  node:
    description: Inventory name of this node.
    type: str
    required: true
  action:
    description: Which step to run.
    type: str
    required: true
    choices: [prepare, write, upload, attach, probe, finish, cleanup]
  contract:
    description: The OpenStack layer's contract (its C(ceph) part names pools, users and keyrings).
    type: dict
    default: {}
  state:
    description: What earlier steps returned (ids of the image, volume and server).
    type: dict
    default: {}
  written:
    description: What O(action=write) returned.
    type: dict
    default: {}
  probe:
    description: What O(action=probe) returned.
    type: dict
    default: {}
  cloud:
    description: Admin cloud of clouds.yaml.
    type: str
    default: crossgate-admin
  demo_cloud:
    description: Demo cloud of clouds.yaml (the Swift and S3 user).
    type: str
    default: crossgate-demo
  pool:
    description: Pool of the RBD image for O(action=write) and O(action=probe).
    type: str
    default: ""
  rbd_name:
    description: RBD image name for O(action=write) and O(action=probe).
    type: str
    default: ""
  user:
    description: Ceph client id (without C(client.)) for O(action=write) and O(action=probe).
    type: str
    default: ""
  keyring:
    description: Keyring of O(user).
    type: path
    default: ""
  conf:
    description: ceph.conf path.
    type: path
    default: /etc/ceph/ceph.conf
  image_size_kb:
    description: KiB of random data in the image of O(action=prepare).
    type: int
    default: 1024
  write_kb:
    description: KiB O(action=write) writes.
    type: int
    default: 256
  volume_size_gb:
    description: Size of the volume made from the image.
    type: int
    default: 1
  allowed_warnings:
    description: Ceph health checks that may be raised after the checks.
    type: list
    elements: str
    default: []
  request_timeout:
    description: Seconds each API request and Ceph connection may take.
    type: int
    default: 30
  wait_timeout:
    description: Seconds a volume, image or server may take to reach its state.
    type: int
    default: 180
  delay:
    description: Seconds between polls.
    type: int
    default: 2
  results_dir:
    description: Folder on the node for the check records.
    type: path
    default: /var/lib/crossgate/results
author:
  - crossgate
"""

EXAMPLES = r"""
- name: Image and volume from it
  crossgate_openstack_ceph:
    node: "{{ inventory_hostname }}"
    action: prepare
    contract: "{{ contract }}"
  vars:
    ansible_python_interpreter: "{{ contract.client_python }}"
  register: prepared
"""

RETURN = r"""
records:
  description: The check records of this step.
  returned: always
  type: list
state:
  description: Ids the next steps use (image, volume, server, baseline).
  returned: on the controller's steps
  type: dict
written:
  description: What O(action=write) wrote (node, user, length, sha256, error).
  returned: action=write
  type: dict
probe:
  description: What O(action=probe) saw (node, user, pool, rbd_name, opened, size, error).
  returned: action=probe
  type: dict
"""

import contextlib
import hashlib
import json
import os
import time
import urllib.error
import urllib.request

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_ceph import s3_headers
from ansible.module_utils.crossgate_openstack_ceph import (
    PREFIX,
    RESULTS_NAME,
    after_record,
    attach_record,
    clone_record,
    connection_data,
    image_record,
    leftovers,
    object_record,
    scrub,
    upload_record,
)
from ansible.module_utils.crossgate_records import check_argument_spec, write_records

CHUNK = 4 << 20


class Waited(RuntimeError):
    pass


def wait_for(what, get, done, timeout, delay):
    """Poll GET until DONE(value) or TIMEOUT; raise naming WHAT and the last value seen. A
    failed poll (an API server closing a kept-alive connection, say) counts as a value and
    is polled again."""
    deadline = time.time() + timeout
    while True:
        try:
            value = get()
        except Exception as exc:
            value = f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            if done(value):
                return value
        if time.time() + delay > deadline:
            raise Waited(f"{what}: still {value!r} after {timeout} s")
        time.sleep(delay)


def retried(call, attempts=3, delay=1):
    """CALL(), once more on a connection error (an API server closing a kept-alive
    connection as the request goes out)."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:
            if attempt + 1 == attempts or "Connection" not in type(exc).__name__ + str(exc):
                raise
            time.sleep(delay)
    return None


# --- Ceph ----------------------------------------------------------------------------------

def rados_cluster(conf, user, keyring, timeout):
    import rados

    options = {"keyring": keyring} if keyring else {}
    cluster = rados.Rados(conffile=conf, rados_id=user, conf=options)
    cluster.connect(timeout=timeout)
    return cluster


def rbd_read(cluster, pool, name, size=None):
    """md5, sha256 and sha512 of an RBD image's bytes (or of its first SIZE bytes)."""
    import rbd

    md5, sha256, sha512 = hashlib.md5(), hashlib.sha256(), hashlib.sha512()
    with cluster.open_ioctx(pool) as ioctx, rbd.Image(ioctx, name, read_only=True) as image:
        total = image.size() if size is None else min(size, image.size())
        offset = 0
        while offset < total:
            block = image.read(offset, min(CHUNK, total - offset))
            for h in (md5, sha256, sha512):
                h.update(block)
            offset += len(block)
        return {"size": image.size(), "md5": md5.hexdigest(), "sha256": sha256.hexdigest(),
                "sha512": sha512.hexdigest()}


def rbd_names(cluster, pools):
    import rbd

    out = {}
    for pool in pools:
        with cluster.open_ioctx(pool) as ioctx:
            out[pool] = sorted(rbd.RBD().list(ioctx))
    return out


def mon_json(cluster, prefix, **args):
    cmd = dict(args, prefix=prefix, format="json")
    rc, out, err = cluster.mon_command(json.dumps(cmd), b"")
    if rc != 0:
        raise RuntimeError(f"ceph {prefix} failed (rc={rc}): {err}")
    return json.loads(out) if out else {}


def user_caps(cluster, user):
    """The caps of client.USER (never its key)."""
    entries = mon_json(cluster, "auth get", entity=f"client.{user}")
    caps = (entries[0] if isinstance(entries, list) and entries else {}).get("caps", {})
    return {"entity": f"client.{user}", "mon": caps.get("mon"), "osd": caps.get("osd")}


def rgw_buckets(module):
    rc, out, err = module.run_command(["radosgw-admin", "bucket", "list"])
    if rc != 0:
        raise RuntimeError(f"radosgw-admin bucket list failed (rc={rc}): {err.strip()[:300]}")
    return sorted(json.loads(out or "[]"))


def baseline(module, cluster, pools):
    out = rbd_names(cluster, pools)
    out["rgw-buckets"] = rgw_buckets(module)
    return out


# --- steps on a compute node -------------------------------------------------------------

def write_step(p):
    data = os.urandom(p["write_kb"] * 1024)
    out = {"node": p["node"], "user": p["user"], "pool": p["pool"], "rbd_name": p["rbd_name"],
           "length": len(data), "sha256": hashlib.sha256(data).hexdigest(), "error": None}
    try:
        import rbd

        cluster = rados_cluster(p["conf"], p["user"], p["keyring"], p["request_timeout"])
        try:
            with cluster.open_ioctx(p["pool"]) as ioctx, rbd.Image(ioctx, p["rbd_name"]) as img:
                img.write(data, 0)
                img.flush()
        finally:
            cluster.shutdown()
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return out


def probe_step(p):
    out = {"node": p["node"], "user": p["user"], "pool": p["pool"], "rbd_name": p["rbd_name"],
           "opened": False, "size": None, "error": None}
    try:
        import rbd

        cluster = rados_cluster(p["conf"], p["user"], p["keyring"], p["request_timeout"])
        try:
            with cluster.open_ioctx(p["pool"]) as ioctx, rbd.Image(ioctx, p["rbd_name"]) as img:
                out["size"] = img.size()
                img.read(0, 4096)
                out["opened"] = True
        finally:
            cluster.shutdown()
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return out


# --- OpenStack steps on the controller ---------------------------------------------------

def ceph_part(p):
    ceph = (p["contract"] or {}).get("ceph") or {}
    if not ceph:
        raise ValueError("the contract has no ceph part: deploy-openstack ran without "
                         "deploy_openstack_ceph")
    return ceph


def admin_cluster(p, ceph):
    return rados_cluster(ceph.get("conf") or p["conf"], "admin", "", p["request_timeout"])


def glance_view(conn, image_id):
    raw = conn.image.get(f"/images/{image_id}").json()
    return {k: raw.get(k) for k in ("id", "status", "size", "checksum", "os_hash_algo",
                                    "os_hash_value", "stores", "direct_url")}


def volume_view(conn, volume_id):
    v = conn.block_storage.get_volume(volume_id)
    return {"id": v.id, "status": v.status, "size_gb": v.size,
            "attachments": [a.get("server_id") for a in (v.attachments or [])]}


def prepare(module, conn, p, node):
    ceph = ceph_part(p)
    pools, users = ceph["pools"], ceph["clients"]
    records, state = [], {}
    cluster = admin_cluster(p, ceph)
    try:
        state["before"] = baseline(module, cluster, sorted(set(pools.values())))
    finally:
        cluster.shutdown()
    # 1. an image in RBD
    started = time.time()
    data = os.urandom(p["image_size_kb"] * 1024)
    glance, seen, error = {"id": None}, {"exists": False, "user": users["glance"]}, None
    try:
        image = conn.image.create_image(f"{PREFIX}-image", data=data, disk_format="raw",
                                        container_format="bare", wait=True,
                                        timeout=p["wait_timeout"])
        state["image_id"] = image.id
        glance = glance_view(conn, image.id)
        import rbd

        cluster = rados_cluster(ceph["conf"], users["glance"], ceph["keyrings"][users["glance"]],
                                p["request_timeout"])
        try:
            try:
                seen.update(rbd_read(cluster, pools["images"], image.id), exists=True)
                with cluster.open_ioctx(pools["images"]) as ioctx, \
                        rbd.Image(ioctx, image.id, read_only=True) as img:
                    seen["snaps"] = {s["name"]: img.is_protected_snap(s["name"])
                                     for s in img.list_snaps()}
            except rbd.ImageNotFound:
                seen["exists"] = False
        finally:
            cluster.shutdown()
    except Exception as exc:
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
    records.append(image_record(node, glance, seen, pools["images"], ceph.get("fsid"), started,
                                error))
    # 2. a volume from it: a clone of its snapshot
    started = time.time()
    volume, parent, protected, error = {"id": None}, None, None, None
    try:
        if not state.get("image_id"):
            raise RuntimeError("no image to make a volume from (see image-in-rbd)")
        v = conn.block_storage.create_volume(name=f"{PREFIX}-volume", size=p["volume_size_gb"],
                                             image_id=state["image_id"])
        state["volume_id"] = v.id
        wait_for(f"volume {v.id} to leave creating/downloading",
                 lambda: conn.block_storage.get_volume(v.id).status,
                 lambda s: s not in ("creating", "downloading"), p["wait_timeout"], p["delay"])
        volume = dict(volume_view(conn, v.id), pool=pools["volumes"], rbd_name=f"volume-{v.id}")
        import rbd

        cluster = rados_cluster(ceph["conf"], users["cinder"], ceph["keyrings"][users["cinder"]],
                                p["request_timeout"])
        try:
            with cluster.open_ioctx(pools["volumes"]) as ioctx, \
                    rbd.Image(ioctx, f"volume-{v.id}", read_only=True) as img:
                try:
                    pool, name, snap = img.parent_info()
                    parent = {"pool": pool, "image": name, "snap": snap}
                except rbd.ImageNotFound:
                    parent = None
            if parent:
                with cluster.open_ioctx(parent["pool"]) as ioctx, \
                        rbd.Image(ioctx, parent["image"], read_only=True) as img:
                    protected = img.is_protected_snap(parent["snap"])
        finally:
            cluster.shutdown()
    except Exception as exc:
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
    records.append(clone_record(node, volume, state.get("image_id"), parent, protected,
                                pools["images"], started, error))
    state["volume_ok"] = volume.get("status") == "available"
    return records, state


def download_hashes(conn, image_id, prefix_len):
    resp = conn.image.get(f"/images/{image_id}/file", stream=True)
    whole, prefix, got = hashlib.sha256(), hashlib.sha256(), 0
    for block in resp.iter_content(CHUNK):
        whole.update(block)
        if got < prefix_len:
            prefix.update(block[:prefix_len - got])
        got += len(block)
    return {"size": got, "sha256": whole.hexdigest(), "prefix_sha256": prefix.hexdigest()}


def upload(conn, p, node, state):
    ceph = ceph_part(p)
    pools, users = ceph["pools"], ceph["clients"]
    started, written = time.time(), p["written"] or {}
    volume, image, error = {"id": state.get("volume_id")}, {}, None
    try:
        if not state.get("volume_ok"):
            raise RuntimeError("no available volume to upload (see volume-clone-of-image)")
        if written.get("error"):
            raise RuntimeError("nothing was written (see written.error)")
        vid = state["volume_id"]
        cluster = rados_cluster(ceph["conf"], users["cinder"], ceph["keyrings"][users["cinder"]],
                                p["request_timeout"])
        try:
            volume.update(rbd_read(cluster, pools["volumes"], f"volume-{vid}"))
        finally:
            cluster.shutdown()
        volume.pop("md5", None)
        volume.pop("sha512", None)
        answer = conn.block_storage.upload_volume_to_image(
            vid, f"{PREFIX}-upload", force=False, disk_format="raw", container_format="bare")
        image_id = answer.get("image_id") if isinstance(answer, dict) else answer.image_id
        state["upload_image_id"] = image_id
        wait_for(f"image {image_id} (the volume's upload) to be active",
                 lambda: conn.image.get_image(image_id).status,
                 lambda s: s in ("active", "killed", "deleted"), p["wait_timeout"], p["delay"])
        wait_for(f"volume {vid} to be available after its upload",
                 lambda: conn.block_storage.get_volume(vid).status,
                 lambda s: s not in ("uploading",), p["wait_timeout"], p["delay"])
        view = retried(lambda: glance_view(conn, image_id))
        image = {"id": image_id, "status": view["status"], "stores": view["stores"],
                 "checksum": view["checksum"]}
        image.update(retried(lambda: download_hashes(conn, image_id, written.get("length") or 0)))
    except Exception as exc:
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
    return [upload_record(node, written, volume, image, started, error)]


def attach(conn, p, node, state):
    """Boot a server (no network) and attach the volume; return what the probe needs."""
    ceph = ceph_part(p)
    out = {"server": {}, "attachment": {}, "error": None}
    try:
        if not state.get("volume_ok"):
            raise RuntimeError("no available volume to attach (see volume-clone-of-image)")
        flavor = conn.compute.find_flavor(f"{PREFIX}-flavor") or conn.compute.create_flavor(
            name=f"{PREFIX}-flavor", ram=64, vcpus=1, disk=1)
        server = conn.compute.create_server(name=f"{PREFIX}-server", flavor_id=flavor.id,
                                            image_id=state["image_id"], networks="none")
        state["server_id"] = server.id
        wait_for(f"server {server.id} to be ACTIVE",
                 lambda: conn.compute.get_server(server.id).status,
                 lambda s: s in ("ACTIVE", "ERROR"), p["wait_timeout"], p["delay"])
        s = conn.compute.get_server(server.id)
        out["server"] = {"id": s.id, "status": s.status, "host": s.compute_host}
        if s.status != "ACTIVE":
            raise RuntimeError(f"server {s.id} is {s.status}: {s.fault}")
        vid = state["volume_id"]
        conn.compute.create_volume_attachment(s.id, volume_id=vid)
        wait_for(f"volume {vid} to be in-use",
                 lambda: conn.block_storage.get_volume(vid).status,
                 lambda st: st in ("in-use", "error", "available"), p["wait_timeout"], p["delay"])
        out["attachment"] = attachment_view(conn, vid, s.id)
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    data = connection_data((out["attachment"] or {}).get("connection_info"))
    pool, _, name = (data.get("name") or "").partition("/")
    out["pool"] = pool or ceph["pools"]["volumes"]
    out["rbd_name"] = name or f"volume-{state.get('volume_id')}"
    return out


def attachment_view(conn, volume_id, server_id):
    """Cinder's attachment of the volume to the server, with its connection info (scrubbed)."""
    listed = conn.block_storage.get(f"/attachments?volume_id={volume_id}",
                                    microversion="3.27").json().get("attachments", [])
    mine = [a for a in listed if a.get("instance") == server_id] or listed
    if not mine:
        return {}
    full = conn.block_storage.get(f"/attachments/{mine[0]['id']}",
                                  microversion="3.27").json().get("attachment", {})
    return {"id": full.get("id"), "instance": full.get("instance"),
            "status": full.get("attach_status") or full.get("status"),
            "connection_info": scrub(full.get("connection_info") or {})}


def finish(module, conn, dconn, p, node, state):
    ceph = ceph_part(p)
    users, records = ceph["clients"], []
    attached = state.get("attached") or {}
    # 4. the attached volume
    started = time.time()
    caps, error = {}, attached.get("error")
    vid = state.get("volume_id")
    volume = volume_view(conn, vid) if vid else {"id": None, "status": None}
    try:
        cluster = admin_cluster(p, ceph)
        try:
            caps = user_caps(cluster, users["nova"])
        finally:
            cluster.shutdown()
    except Exception as exc:
        error = error or f"{type(exc).__name__}: {str(exc)[:300]}"
    records.append(attach_record(node, attached.get("server") or {}, volume,
                                 attached.get("attachment") or {}, p["probe"] or {}, caps,
                                 started, error,
                                 expected_name=f"{ceph['pools']['volumes']}/volume-{vid}"))
    cleanup(conn, p, state)
    # 5. Swift through Keystone, then S3 with EC2 credentials
    records.append(object_store(module, dconn, p, node, ceph))
    # 6. Ceph after it all
    started = time.time()
    health, after, error = {}, {}, None
    try:
        cluster = admin_cluster(p, ceph)
        try:
            # deletions of clones and snapshots settle: wait for the pools to be as before
            before, deadline = state.get("before") or {}, time.time() + p["wait_timeout"]
            while True:
                after = baseline(module, cluster, sorted(set(ceph["pools"].values())))
                if not leftovers(before, after) or time.time() + p["delay"] > deadline:
                    break
                time.sleep(p["delay"])
            health = mon_json(cluster, "health", detail="detail")
        finally:
            cluster.shutdown()
    except Exception as exc:
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
    records.append(after_record(node, health, p["allowed_warnings"], state.get("before") or {},
                                after, started, error))
    return records


def cleanup(conn, p, state):
    """Delete the server, volume and images the checks made (a server first: it holds the
    volume; the volume next: it is a clone of the image's snapshot)."""
    for server in conn.compute.servers(name=f"^{PREFIX}-"):
        conn.compute.delete_server(server)
        with contextlib.suppress(Exception):
            conn.compute.wait_for_delete(server, wait=p["wait_timeout"])
    for volume in conn.block_storage.volumes(all_projects=True):
        if (volume.name or "").startswith(PREFIX):
            wait_for(f"volume {volume.id} to settle before its deletion",
                     lambda v=volume: conn.block_storage.get_volume(v.id).status,
                     lambda s: s in ("available", "error", "in-use"), p["wait_timeout"],
                     p["delay"])
            if conn.block_storage.get_volume(volume.id).status == "in-use":
                for a in conn.block_storage.get_volume(volume.id).attachments or []:
                    conn.compute.delete_volume_attachment(a.get("server_id"), volume.id)
            conn.block_storage.delete_volume(volume.id, force=False)
            with contextlib.suppress(Exception):
                conn.block_storage.wait_for_delete(volume, wait=p["wait_timeout"])
    for image in conn.image.images():
        if (image.name or "").startswith(PREFIX):
            conn.image.delete_image(image, ignore_missing=True)
    flavor = conn.compute.find_flavor(f"{PREFIX}-flavor")
    if flavor is not None:
        conn.compute.delete_flavor(flavor, ignore_missing=True)


def object_store(module, dconn, p, node, ceph):
    started = time.time()
    swift, rgw, s3, error = {}, {}, {}, None
    container, name = f"{PREFIX}-container", f"{PREFIX}-object"
    data = os.urandom(64 * 1024)
    project_id = dconn.current_project_id
    swift = {"container": container, "object": name, "sha256": hashlib.sha256(data).hexdigest(),
             "project_id": project_id, "endpoint": ceph.get("object_store")}
    ident, access = dconn.identity, None
    try:
        if not ceph.get("object_store"):
            raise RuntimeError("the contract has no object store (RGW not joined to Keystone)")
        dconn.object_store.create_container(name=container)
        dconn.object_store.upload_object(container=container, name=name, data=data)
        bucket = f"{project_id}/{container}"
        rgw = {"bucket": bucket}
        rc, out, err = module.run_command(["radosgw-admin", "bucket", "stats",
                                           f"--bucket={bucket}"])
        if rc != 0:
            rgw["error"] = f"radosgw-admin bucket stats rc={rc}: {err.strip()[:200]}"
        else:
            stats = json.loads(out)
            usage = (stats.get("usage") or {}).get("rgw.main") or {}
            rgw.update(owner=stats.get("owner"), num_objects=usage.get("num_objects", 0),
                       tenant=stats.get("tenant"))
        user_id = dconn.current_user_id
        cred = ident.post(f"/users/{user_id}/credentials/OS-EC2",
                          json={"tenant_id": project_id}).json()["credential"]
        access = cred["access"]
        s3["access"] = access
        endpoint = ceph["object_store"].split("/swift/")[0]
        resource = f"/{container}/{name}"
        req = urllib.request.Request(endpoint + resource,
                                     headers=s3_headers(access, cred["secret"], "GET", resource))
        try:
            with urllib.request.urlopen(req, timeout=p["request_timeout"]) as resp:
                body = resp.read()
                s3.update(status=resp.status, sha256=hashlib.sha256(body).hexdigest())
        except urllib.error.HTTPError as exc:
            s3.update(status=exc.code, error=f"HTTP {exc.code}: {exc.read()[:200]!r}")
    except Exception as exc:
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        try:
            dconn.object_store.delete_object(name, container=container, ignore_missing=True)
            dconn.object_store.delete_container(container, ignore_missing=True)
        except Exception:
            pass
        if access:
            with contextlib.suppress(Exception):
                ident.delete(f"/users/{dconn.current_user_id}/credentials/OS-EC2/{access}")
    return object_record(node, swift, rgw, s3, started, error)


def main():
    module = AnsibleModule(
        argument_spec=check_argument_spec(
            action=dict(type="str", required=True,
                        choices=["prepare", "write", "upload", "attach", "probe", "finish",
                                 "cleanup"]),
            contract=dict(type="dict", default={}),
            state=dict(type="dict", default={}),
            written=dict(type="dict", default={}),
            probe=dict(type="dict", default={}),
            cloud=dict(type="str", default="crossgate-admin"),
            demo_cloud=dict(type="str", default="crossgate-demo"),
            pool=dict(type="str", default=""),
            rbd_name=dict(type="str", default=""),
            user=dict(type="str", default=""),
            keyring=dict(type="path", default=""),
            conf=dict(type="path", default="/etc/ceph/ceph.conf"),
            image_size_kb=dict(type="int", default=1024),
            write_kb=dict(type="int", default=256),
            volume_size_gb=dict(type="int", default=1),
            allowed_warnings=dict(type="list", elements="str", default=[]),
            request_timeout=dict(type="int", default=30),
            wait_timeout=dict(type="int", default=180),
            delay=dict(type="int", default=2),
        ),
        supports_check_mode=False,
    )
    p = module.params
    for field in ("image_size_kb", "write_kb", "volume_size_gb", "request_timeout",
                  "wait_timeout", "delay"):
        if p[field] < 1:
            module.fail_json(msg=f"{field}: {p[field]} is not allowed; give 1 or more")
    if p["write_kb"] * 1024 > p["volume_size_gb"] << 30:
        module.fail_json(msg=f"write_kb: {p['write_kb']} is more than the volume holds "
                             f"(volume_size_gb={p['volume_size_gb']})")
    action, node = p["action"], p["node"]
    if action in ("write", "probe"):
        missing = [f for f in ("pool", "rbd_name", "user") if not p[f]]
        if missing:
            module.fail_json(msg=f"action={action} needs {', '.join(missing)}")
        result = write_step(p) if action == "write" else probe_step(p)
        module.exit_json(changed=action == "write", records=[], **{action: result})
    try:
        import openstack
    except ImportError as exc:
        module.fail_json(msg=f"openstacksdk is not importable: {exc}; run the module with the "
                             "contract's client_python")
    conn = openstack.connect(cloud=p["cloud"], api_timeout=p["request_timeout"])
    state = dict(p["state"] or {})
    result = dict(changed=True, records=[], state=state)
    try:
        if action == "prepare":
            result["records"], new = prepare(module, conn, p, node)
            state.update(new)
        elif action == "upload":
            result["records"] = upload(conn, p, node, state)
        elif action == "attach":
            state["attached"] = attach(conn, p, node, state)
        elif action == "finish":
            dconn = openstack.connect(cloud=p["demo_cloud"], api_timeout=p["request_timeout"])
            result["records"] = finish(module, conn, dconn, p, node, state)
        else:
            cleanup(conn, p, state)
    except Exception as exc:  # an error outside the checks: say which step
        module.fail_json(msg=f"{action}: {type(exc).__name__}: {str(exc)[:600]}", **result)
    if result["records"]:
        result["results_file"] = write_records(result["records"], p["results_dir"],
                                               RESULTS_NAME)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
