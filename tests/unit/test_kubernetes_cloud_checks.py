"""The Kubernetes layer's cloud provider checks, table-driven: what the API server, Nova, Cinder
and Ceph answered in, one record out (roles/validate-kubernetes/library/
crossgate_kubernetes_cloud.py and crossgate_kubernetes_openstack.py); and the inputs of
provision-node-servers' module (crossgate_node_servers.py)."""

from __future__ import annotations

import pytest

import modload

modload.module_util("crossgate_records")
cloud = modload.module("crossgate_kubernetes_cloud", "validate-kubernetes")
osk = modload.module("crossgate_kubernetes_openstack", "validate-kubernetes")
servers = modload.module("crossgate_node_servers", "provision-node-servers")

SID = "0b6f8c1e-2f5a-4c7e-9d3b-6a1e2f3c4d5e"


def knode(pid: str = f"openstack:///{SID}", taints: list[str] | None = None,
          ip: str = "10.0.0.5") -> dict:
    addresses = [{"type": "InternalIP", "address": ip}] if ip else []
    return {"spec": {"providerID": pid, "taints": [{"key": k} for k in taints or []]},
            "status": {"addresses": addresses}}


@pytest.mark.parametrize(("quantity", "gib"), [
    ("1Gi", 1.0), ("2048Mi", 2.0), (str(2**30), 1.0), ("", 0.0), ("bogus", 0.0),
])
def test_gib(quantity: str, gib: float) -> None:
    assert cloud.gib(quantity) == gib


@pytest.mark.parametrize(("node", "status", "words"), [
    (knode(), "pass", ""),
    (knode(pid=""), "fail", "providerID is unset"),
    (knode(pid="aws:///i-1"), "fail", "not openstack:///SERVER-ID"),
    (knode(taints=[cloud.UNINITIALIZED]), "fail", "still tainted"),
    (knode(ip=""), "fail", "no InternalIP"),
])
def test_provider_id(node: dict, status: str, words: str) -> None:
    got, reason, ev = cloud.eval_provider_id(node)
    assert (got, words in reason) == (status, True)
    assert ev["provider_id"] == node["spec"]["providerID"]


@pytest.mark.parametrize(("before", "after", "health", "status", "words"), [
    ({"ActiveState": "active", "NRestarts": "0"}, {"ActiveState": "active", "NRestarts": "0"},
     "ok", "pass", ""),
    ({"ActiveState": "active", "NRestarts": "3"}, {"ActiveState": "activating", "NRestarts": "4"},
     "unreachable: [Errno 111] Connection refused", "fail", "restarted while checked (3 -> 4"),
    ({"ActiveState": "failed", "NRestarts": "0"}, {"ActiveState": "failed", "NRestarts": "0"},
     "ok", "fail", "occm is failed"),
    ({"ActiveState": "active", "NRestarts": "0"}, {"ActiveState": "active", "NRestarts": "0"},
     "unreachable: timed out", "fail", "health endpoint answered"),
])
def test_controller(before: dict, after: dict, health: str, status: str, words: str) -> None:
    journal = ("W1207 12:56:54 openstack.go:189] New openstack client created failed: got 401\n"
               + "line\n" * 20 + "E1207 Authentication failed: 401\n")
    got, reason, ev = cloud.eval_controller(before, after, health, journal, "occm")
    assert got == status and words in reason
    if status == "fail":
        assert ev["journal_tail"][-1] == "E1207 Authentication failed: 401"
        assert len(ev["journal_tail"]) == 8
        assert [x[:5] for x in ev["journal_errors"]] == ["W1207", "E1207"]
    else:
        assert "journal_tail" not in ev


def pvc(phase: str = "Bound") -> dict:
    return {"metadata": {"name": "crossgate-volume"}, "status": {"phase": phase},
            "spec": {"storageClassName": "crossgate-cinder", "volumeName": "pv-1"}}


def pv(driver: str = "cinder.csi.openstack.org", cap: str = "1Gi") -> dict:
    return {"metadata": {"name": "pv-1"},
            "spec": {"capacity": {"storage": cap},
                     "csi": {"driver": driver, "volumeHandle": "vol-1"}}}


EVENTS = [{"reason": "Provisioning", "message": "External provisioner is provisioning",
           "lastTimestamp": "2026-12-07T10:00:00Z"},
          {"reason": "ProvisioningFailed", "lastTimestamp": "2026-12-07T10:00:01Z",
           "message": "rpc error: Volume type with name no-such-type could not be found"}]


@pytest.mark.parametrize(("claim", "volume", "events", "status", "words"), [
    (pvc(), pv(), [], "pass", ""),
    (pvc("Pending"), None, EVENTS, "fail",
     "is Pending: Provisioning: External provisioner is provisioning; ProvisioningFailed: rpc "
     "error: Volume type with name no-such-type could not be found"),
    (pvc("Pending"), None, [], "fail", "is Pending: no events"),
    (pvc(), pv(driver="other.csi"), [], "fail", "not of driver cinder.csi.openstack.org"),
])
def test_bound(claim: dict, volume: dict | None, events: list, status: str, words: str) -> None:
    got, reason, ev = cloud.eval_bound(claim, volume, events, "cinder.csi.openstack.org")
    assert got == status and words in reason
    if status == "pass":
        assert ev["volume_handle"] == "vol-1" and ev["capacity"] == "1Gi"


@pytest.mark.parametrize(("cap", "status"), [("2Gi", "pass"), ("1Gi", "fail"), ("3Gi", "pass")])
def test_expansion(cap: str, status: str) -> None:
    got, reason, _ = cloud.eval_expansion(pv(cap=cap), 2, [])
    assert got == status
    assert (reason == "") == (status == "pass")


def vsnap(ready: bool = True, error: str = "") -> dict:
    status: dict = {"readyToUse": ready, "restoreSize": "2Gi",
                    "boundVolumeSnapshotContentName": "snapcontent-1"}
    if error:
        status["error"] = {"message": error}
    return {"metadata": {"name": "crossgate-snapshot"},
            "spec": {"volumeSnapshotClassName": "crossgate-cinder"}, "status": status}


def vcontent(driver: str = "cinder.csi.openstack.org", source: str = "vol-1",
             handle: str = "snap-1") -> dict:
    return {"spec": {"driver": driver, "source": {"volumeHandle": source}},
            "status": {"snapshotHandle": handle} if handle else {}}


@pytest.mark.parametrize(("snap", "content", "events", "status", "words"), [
    (vsnap(), vcontent(), [], "pass", ""),
    (vsnap(ready=False, error="Failed to create snapshot: Cinder said 400"), None, [], "fail",
     "is not ready to use: Failed to create snapshot: Cinder said 400"),
    (vsnap(ready=False), None, EVENTS[:1], "fail",
     "not ready to use: Provisioning: External provisioner is provisioning"),
    (vsnap(ready=False), None, [], "fail", "not ready to use: no events"),
    (vsnap(), None, [], "fail", "has no content"),
    (vsnap(), vcontent(driver="other.csi"), [], "fail",
     "is of driver other.csi, not cinder.csi.openstack.org"),
    (vsnap(), vcontent(source="vol-9"), [], "fail",
     "is a snapshot of vol-9, not of the claim's volume vol-1"),
    (vsnap(), vcontent(handle=""), [], "fail", "has no snapshot handle"),
])
def test_snapshot(snap: dict, content: dict | None, events: list, status: str,
                  words: str) -> None:
    got, reason, ev = cloud.eval_snapshot(snap, content, events, "cinder.csi.openstack.org",
                                          "vol-1")
    assert got == status and words in reason, reason
    if status == "pass":
        assert ev["snapshot_handle"] == "snap-1" and ev["restore_size"] == "2Gi"


def attachment(node: str, attached: bool, error: str = "") -> dict:
    status: dict = {"attached": attached}
    if error:
        status["attachError"] = {"message": error}
    return {"metadata": {"name": f"csi-{node}"},
            "spec": {"nodeName": node, "attacher": "cinder.csi.openstack.org",
                     "source": {"persistentVolumeName": "pv-1"}},
            "status": status}


@pytest.mark.parametrize(("items", "status", "words"), [
    ([attachment("k8s2", True)], "pass", ""),
    ([attachment("k8s1", True)], "fail", "no VolumeAttachment of pv-1 on k8s2"),
    ([], "fail", "no VolumeAttachment"),
    ([attachment("k8s2", False, "Nova refused")], "fail", "not attached: Nova refused"),
])
def test_attachment(items: list, status: str, words: str) -> None:
    got, reason, _ = cloud.eval_attachment(items, "pv-1", "k8s2")
    assert got == status and words in reason


def server(name: str = "k8s1", status: str = "ACTIVE", ip: str = "10.0.0.5") -> dict:
    return {"id": SID, "name": name, "status": status,
            "addresses": {"crossgate-nodes": [{"addr": ip, "version": 4}]}}


SEEN = {"provider_id": f"openstack:///{SID}", "server_id": SID, "internal_ip": "10.0.0.5"}


@pytest.mark.parametrize(("seen", "srv", "status", "words"), [
    (SEEN, server(), "pass", ""),
    (SEEN, None, "fail", f"no server {SID} in Nova"),
    (SEEN, server(name="other"), "fail", "is named other, not k8s1"),
    (SEEN, server(status="ERROR"), "fail", "server is ERROR"),
    (SEEN, server(ip="10.0.0.9"), "fail", "InternalIP 10.0.0.5 is not among the server's "
     "addresses 10.0.0.9"),
    ({"provider_id": "", "server_id": "", "internal_ip": ""}, None, "fail", "no server id"),
])
def test_node_server(seen: dict, srv: dict | None, status: str, words: str) -> None:
    got, reason, _ = osk.eval_node_server("k8s1", seen, srv)
    assert got == status and words in reason


VOL = {"namespace": "ns", "pvc": "crossgate-volume", "pv": "pv-1", "handle": "vol-1",
       "size_gb": 2, "node": "k8s2"}


def cinder(size: int = 2, pvc_name: str = "crossgate-volume", attached_to: str = "") -> dict:
    return {"id": "vol-1", "size": size, "status": "in-use" if attached_to else "available",
            "metadata": {osk.PVC_KEY: pvc_name} if pvc_name else {},
            "attachments": [{"server_id": attached_to, "device": "/dev/vdb"}]
            if attached_to else []}


@pytest.mark.parametrize(("volume", "rbd", "status", "words"), [
    (cinder(), {"pool": "volumes", "image": "volume-vol-1", "size": 2 * 2**30}, "pass", ""),
    (cinder(), None, "pass", ""),
    (None, None, "fail", "no Cinder volume vol-1"),
    (cinder(pvc_name="another"), None, "fail", "not made for claim crossgate-volume"),
    (cinder(size=1), None, "fail", "Cinder size 1 GiB, Kubernetes shows 2 GiB"),
    (cinder(), {"pool": "volumes", "image": "volume-vol-1", "size": 2**30}, "fail",
     "has 1073741824 bytes, not 2 GiB"),
    (cinder(), {"pool": "volumes", "image": "volume-vol-1", "error": "ImageNotFound: [errno 2]"},
     "fail", "RBD image volumes/volume-vol-1: ImageNotFound"),
])
def test_chain(volume: dict | None, rbd: dict | None, status: str, words: str) -> None:
    got, reason, ev = osk.eval_chain(VOL, volume, rbd)
    assert got == status and words in reason
    assert ev["volume_handle"] == "vol-1"
    if rbd is not None and volume is not None:
        assert ev["rbd"]["image"] == "volume-vol-1"


@pytest.mark.parametrize(("volume", "status", "words"), [
    (cinder(attached_to=SID), "pass", ""),
    (cinder(), "fail", f"is available, not attached to k8s2's server {SID}"),
    (cinder(attached_to="another"), "fail", "not attached to k8s2's server"),
    (None, "fail", "no Cinder volume"),
])
def test_attached(volume: dict | None, status: str, words: str) -> None:
    got, reason, _ = osk.eval_attached(volume, SID, "k8s2")
    assert got == status and words in reason


@pytest.mark.parametrize(("nodes", "cidr", "words"), [
    ({"k8s1": "10.0.0.5"}, "10.0.0.0/24", ""),
    ({"k8s1": "10.0.0.5"}, "ten/24", "cidr: 'ten/24' is not allowed"),
    ({}, "10.0.0.0/24", "nodes: empty"),
    ({"k8s1": "10.0.1.5"}, "10.0.0.0/24", "nodes.k8s1: '10.0.1.5' is not allowed; allowed: an "
     "address inside cidr 10.0.0.0/24"),
    ({"k8s1": "bogus"}, "10.0.0.0/24", "nodes.k8s1: 'bogus' is not allowed"),
])
def test_node_server_inputs(nodes: dict, cidr: str, words: str) -> None:
    error = servers.check_inputs(nodes, cidr)
    assert (error == "") == (words == "")
    assert words in error


SNAP = {"namespace": "ns", "name": "crossgate-snapshot", "content": "snapcontent-1",
        "handle": "snap-1", "source": "vol-1", "size_gb": 2}


def csnap(volume_id: str = "vol-1", status: str = "available", size: int = 2,
          made_for: str = "crossgate-snapshot") -> dict:
    return {"id": "snap-1", "volume_id": volume_id, "status": status, "size": size,
            "metadata": {osk.SNAP_KEY: made_for} if made_for else {}}


RBD = {"pool": "volumes", "image": "volume-vol-1", "size": 2 * 2**30,
       "snapshots": ["snapshot-snap-1"]}


@pytest.mark.parametrize(("snapshot", "rbd", "status", "words"), [
    (csnap(), RBD, "pass", ""),
    (csnap(), None, "pass", ""),
    (None, RBD, "fail", "no Cinder snapshot snap-1"),
    (csnap(volume_id="vol-9"), RBD, "fail", "is of volume vol-9, not of the claim's vol-1"),
    (csnap(status="error"), RBD, "fail", "Cinder snapshot snap-1 is error"),
    (csnap(made_for=""), RBD, "fail", "not made for VolumeSnapshot crossgate-snapshot"),
    (csnap(size=1), RBD, "fail", "Cinder snapshot size 1 GiB, Kubernetes shows 2 GiB"),
    (csnap(), dict(RBD, snapshots=[]), "fail",
     "RBD image volumes/volume-vol-1 has no snapshot snapshot-snap-1 (it has none)"),
    (csnap(), dict(RBD, error="ImageNotFound: [errno 2]"), "fail",
     "RBD image volumes/volume-vol-1: ImageNotFound"),
])
def test_snapshot_chain(snapshot: dict | None, rbd: dict | None, status: str,
                        words: str) -> None:
    got, reason, ev = osk.eval_snapshot_chain(SNAP, VOL, snapshot, rbd)
    assert got == status and words in reason, reason
    assert ev["snapshot_handle"] == "snap-1"
