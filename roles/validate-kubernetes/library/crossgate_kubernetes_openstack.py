#!/usr/bin/python
"""Check, from OpenStack's and Ceph's side, what a Kubernetes cluster's cloud provider made."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_kubernetes_openstack
short_description: Check a Kubernetes cluster's OpenStack objects from the cloud's side
description:
  - Runs on the OpenStack controller with the OpenStack contract's client Python (openstacksdk,
    and the Ceph bindings when the cloud keeps volumes in Ceph) and returns check records of
    layer C(integration), each with evidence from both sides.
  - "C(node-server:NODE): the server of the node's providerID exists, carries the node's name,
    is ACTIVE and has the node's InternalIP on a port. C(pvc-cinder-rbd): the claim's volume
    (its CSI volume handle) is a Cinder volume made for that claim (its metadata
    C(csi.storage.k8s.io/pvc/name)), of the size Kubernetes shows, and, when the cloud keeps
    volumes in Ceph, the RBD image C(volume-ID) of the contract's volumes pool with that size.
    C(volume-snapshot-cinder): the claim's VolumeSnapshot (its content's snapshot handle) is a
    Cinder snapshot of the claim's volume, available, made for that VolumeSnapshot (metadata
    C(csi.storage.k8s.io/volumesnapshot/name)), of the size Kubernetes shows, and, in Ceph, the
    RBD snapshot C(snapshot-ID) of the volume's image. C(volume-attached-server): Cinder shows
    the volume attached to the server of the node the pod runs on."
options:
  node:
    description: Name the records carry (the node the module runs on).
    type: str
    required: true
  results_dir:
    description: Folder of the node where the records are appended as JSON lines.
    type: path
    default: /var/lib/crossgate/results
  cloud:
    description: Cloud of clouds.yaml the provider works in.
    type: str
    required: true
  observed:
    description: What crossgate_kubernetes_cloud observed (its C(observed) return).
    type: dict
    required: true
  ceph:
    description:
      - The OpenStack contract's ceph part (conf, pools); empty when volumes are not in Ceph.
    type: dict
    default: {}
  request_timeout:
    description: Seconds each request may take.
    type: int
    default: 30
  wait_timeout:
    description: Seconds Cinder may take to show the attachment.
    type: int
    default: 60
  delay:
    description: Seconds between polls.
    type: int
    default: 2
"""

EXAMPLES = r"""
- name: Check the cluster's OpenStack objects
  crossgate_kubernetes_openstack:
    node: "{{ inventory_hostname }}"
    cloud: crossgate-demo
    observed: "{{ cloud_checks.observed }}"
    ceph: "{{ deploy_openstack_contract.ceph }}"
"""

RETURN = r"""
records:
  description: The check records (schema plugins/schemas/check-record.schema.json).
  type: list
  returned: always
results_file:
  description: The JSON-lines file the records were appended to.
  type: str
  returned: always
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_records import (
    check_argument_spec,
    make_record,
    write_records,
)

LAYER = "integration"
PVC_KEY = "csi.storage.k8s.io/pvc/name"
SNAP_KEY = "csi.storage.k8s.io/volumesnapshot/name"
GIB = 2**30


# -- evaluation (pure functions, table-tested) ---------------------------------------------

def server_ips(server: dict) -> list[str]:
    return sorted(a.get("addr", "") for addrs in (server.get("addresses") or {}).values()
                  for a in addrs)


def eval_node_server(name: str, seen: dict, server: dict | None) -> tuple[str, str, dict]:
    """node-server:NODE: the providerID's server is the node."""
    ev = {"node": name, "provider_id": seen.get("provider_id", ""),
          "internal_ip": seen.get("internal_ip", "")}
    if not seen.get("server_id"):
        return "fail", f"node {name} has no server id in its providerID", ev
    if server is None:
        return "fail", f"no server {seen['server_id']} in Nova", ev
    ev.update({"server": server.get("id"), "name": server.get("name"),
               "status": server.get("status"), "ips": server_ips(server)})
    problems = []
    if server.get("name") != name:
        problems.append(f"server {server.get('id')} is named {server.get('name')}, not {name}")
    if server.get("status") != "ACTIVE":
        problems.append(f"server is {server.get('status')}")
    if seen.get("internal_ip") not in ev["ips"]:
        problems.append(f"the node's InternalIP {seen.get('internal_ip')} is not among the "
                        f"server's addresses {', '.join(ev['ips']) or '(none)'}")
    if problems:
        return "fail", "; ".join(problems), ev
    return "pass", "", ev


def rbd_read(rbd: dict, ev: dict, problems: list[str]) -> bool:
    """The RBD side of a chain: kept as evidence; True when its image was read, else its error
    is one of the problems."""
    ev["rbd"] = rbd
    if rbd.get("error"):
        problems.append(f"RBD image {rbd.get('pool')}/{rbd.get('image')}: {rbd['error']}")
        return False
    return True


def eval_chain(vol: dict, volume: dict | None, rbd: dict | None) -> tuple[str, str, dict]:
    """pvc-cinder-rbd: claim -> Cinder volume -> RBD image (rbd None: not in Ceph)."""
    ev = {"pvc": f"{vol.get('namespace')}/{vol.get('pvc')}", "pv": vol.get("pv"),
          "volume_handle": vol.get("handle"), "k8s_size_gb": vol.get("size_gb")}
    if volume is None:
        return "fail", f"no Cinder volume {vol.get('handle')}", ev
    meta = volume.get("metadata") or {}
    ev["cinder"] = {"id": volume.get("id"), "size": volume.get("size"),
                    "status": volume.get("status"), "volume_type": volume.get("volume_type"),
                    PVC_KEY: meta.get(PVC_KEY, "")}
    problems = []
    if meta.get(PVC_KEY) != vol.get("pvc"):
        problems.append(f"volume {volume.get('id')} was not made for claim {vol.get('pvc')} "
                        f"({PVC_KEY}={meta.get(PVC_KEY, '(none)')})")
    if volume.get("size") != vol.get("size_gb"):
        problems.append(f"Cinder size {volume.get('size')} GiB, Kubernetes shows "
                        f"{vol.get('size_gb')} GiB")
    if rbd is not None and rbd_read(rbd, ev, problems) \
            and rbd.get("size") != (volume.get("size") or 0) * GIB:
        problems.append(f"RBD image {rbd.get('pool')}/{rbd.get('image')} has "
                        f"{rbd.get('size')} bytes, not {volume.get('size')} GiB")
    if problems:
        return "fail", "; ".join(problems), ev
    return "pass", "", ev


def eval_snapshot_chain(snap: dict, vol: dict, snapshot: dict | None,
                        rbd: dict | None) -> tuple[str, str, dict]:
    """volume-snapshot-cinder: VolumeSnapshot -> Cinder snapshot -> RBD snapshot (rbd None:
    not in Ceph)."""
    ev = {"volume_snapshot": f"{snap.get('namespace')}/{snap.get('name')}",
          "content": snap.get("content"), "snapshot_handle": snap.get("handle"),
          "k8s_size_gb": snap.get("size_gb"), "volume_handle": vol.get("handle")}
    if snapshot is None:
        return "fail", f"no Cinder snapshot {snap.get('handle')}", ev
    meta = snapshot.get("metadata") or {}
    ev["cinder"] = {"id": snapshot.get("id"), "volume_id": snapshot.get("volume_id"),
                    "status": snapshot.get("status"), "size": snapshot.get("size"),
                    SNAP_KEY: meta.get(SNAP_KEY, "")}
    problems = []
    if snapshot.get("volume_id") != vol.get("handle"):
        problems.append(f"Cinder snapshot {snapshot.get('id')} is of volume "
                        f"{snapshot.get('volume_id')}, not of the claim's {vol.get('handle')}")
    if snapshot.get("status") != "available":
        problems.append(f"Cinder snapshot {snapshot.get('id')} is {snapshot.get('status')}")
    if meta.get(SNAP_KEY) != snap.get("name"):
        problems.append(f"Cinder snapshot {snapshot.get('id')} was not made for VolumeSnapshot "
                        f"{snap.get('name')} ({SNAP_KEY}={meta.get(SNAP_KEY, '(none)')})")
    if snap.get("size_gb") and snapshot.get("size") != snap.get("size_gb"):
        problems.append(f"Cinder snapshot size {snapshot.get('size')} GiB, Kubernetes shows "
                        f"{snap.get('size_gb')} GiB")
    want = f"snapshot-{snapshot.get('id')}"
    if rbd is not None and rbd_read(rbd, ev, problems) \
            and want not in (rbd.get("snapshots") or []):
        problems.append(f"RBD image {rbd.get('pool')}/{rbd.get('image')} has no snapshot "
                        f"{want} (it has {', '.join(rbd.get('snapshots') or []) or 'none'})")
    if problems:
        return "fail", "; ".join(problems), ev
    return "pass", "", ev


def eval_attached(volume: dict | None, server_id: str, node: str) -> tuple[str, str, dict]:
    """volume-attached-server: Cinder shows the volume attached to the node's server."""
    if volume is None:
        return "fail", "no Cinder volume", {}
    atts = [{"server_id": a.get("server_id"), "device": a.get("device"),
             "host": a.get("host_name")} for a in volume.get("attachments") or []]
    ev = {"volume": volume.get("id"), "status": volume.get("status"), "node": node,
          "server": server_id, "attachments": atts}
    if not any(a["server_id"] == server_id for a in atts):
        return "fail", (f"volume {volume.get('id')} is {volume.get('status')}, not attached to "
                        f"{node}'s server {server_id or '(unknown)'}"), ev
    return "pass", "", ev


def rbd_image(ceph: dict, image: str, timeout: int) -> dict:
    pool = (ceph.get("pools") or {}).get("volumes", "volumes")
    out = {"pool": pool, "image": image}
    try:
        import rados
        import rbd

        cluster = rados.Rados(conffile=ceph.get("conf") or "/etc/ceph/ceph.conf",
                              rados_id="admin")
        cluster.connect(timeout=timeout)
        try:
            with cluster.open_ioctx(pool) as ioctx, rbd.Image(ioctx, image,
                                                                read_only=True) as img:
                out["size"] = img.size()
                out["snapshots"] = sorted(s["name"] for s in img.list_snaps())
        finally:
            cluster.shutdown()
    except Exception as exc:  # the record carries the reason
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


def main() -> None:
    module = AnsibleModule(
        argument_spec=check_argument_spec(
            cloud={"type": "str", "required": True},
            observed={"type": "dict", "required": True},
            ceph={"type": "dict", "default": {}},
            request_timeout={"type": "int", "default": 30},
            wait_timeout={"type": "int", "default": 60},
            delay={"type": "int", "default": 2},
        ),
        supports_check_mode=False,
    )
    p = module.params
    for field in ("request_timeout", "wait_timeout", "delay"):
        if p[field] < 1:
            module.fail_json(msg=f"{field}: {p[field]} is not allowed; give 1 or more")
    try:
        import openstack
    except ImportError as exc:
        module.fail_json(msg=f"openstacksdk is not importable: {exc}; run the module with the "
                             "OpenStack contract's client_python")
    conn = openstack.connect(cloud=p["cloud"], api_timeout=p["request_timeout"])
    records: list[dict] = []

    def record(check: str, started: float, result: tuple[str, str, dict]) -> None:
        status, reason, evidence = result
        records.append(make_record(LAYER, check, status, p["node"], started, evidence,
                                   reason or None))

    nodes = p["observed"].get("nodes") or {}
    for name in sorted(nodes):
        t = time.time()
        sid = nodes[name].get("server_id")
        server = conn.compute.find_server(sid, ignore_missing=True) if sid else None
        record(f"node-server:{name}", t,
               eval_node_server(name, nodes[name], server.to_dict() if server else None))

    vol = p["observed"].get("volume") or {}
    if not vol.get("handle"):
        for check in ("pvc-cinder-rbd", "volume-snapshot-cinder", "volume-attached-server"):
            record(check, time.time(), ("skip", "the claim was not bound (see pvc-bound)", {}))
    else:
        t = time.time()
        volume = conn.block_storage.find_volume(vol["handle"], ignore_missing=True)
        volume = volume.to_dict() if volume else None
        rbd = rbd_image(p["ceph"], f"volume-{vol['handle']}", p["request_timeout"]) \
            if p["ceph"] else None
        record("pvc-cinder-rbd", t, eval_chain(vol, volume, rbd))
        t = time.time()
        snap = p["observed"].get("snapshot") or {}
        if not snap.get("handle"):
            record("volume-snapshot-cinder", t, (
                "skip", "no ready VolumeSnapshot of the claim (see volume-snapshot)", {}))
        else:
            found = conn.block_storage.find_snapshot(snap["handle"], ignore_missing=True)
            record("volume-snapshot-cinder", t, eval_snapshot_chain(
                snap, vol, found.to_dict() if found else None, rbd))
        t = time.time()
        server_id = (nodes.get(vol.get("node")) or {}).get("server_id", "")
        deadline = time.monotonic() + p["wait_timeout"]
        while True:  # Cinder shows the attachment once Nova's attach completes
            result = eval_attached(volume, server_id, vol.get("node", ""))
            if result[0] == "pass" or time.monotonic() >= deadline:
                break
            time.sleep(p["delay"])
            found = conn.block_storage.find_volume(vol["handle"], ignore_missing=True)
            volume = found.to_dict() if found else None
        record("volume-attached-server", t, result)
    path = write_records(records, p["results_dir"], "kubernetes-openstack")
    module.exit_json(changed=False, records=records, results_file=path)


if __name__ == "__main__":
    main()
