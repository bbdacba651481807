"""The Kubernetes layer's modules, table-driven: what the API server answered in, one record
of layer kubernetes out (roles/validate-kubernetes/library/crossgate_kubernetes.py); and the OCI
archives deploy-kubernetes builds for containerd (roles/deploy-kubernetes/library/
crossgate_oci_image.py): reproducible, and a valid image layout."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from typing import Any

import pytest

import modload

modload.module_util("crossgate_records")
k8s = modload.module("crossgate_kubernetes", "validate-kubernetes")
oci = modload.module("crossgate_oci_image", "deploy-kubernetes")


def node(name: str, ready: str = "True", version: str = "v1.34.4", ip: str = "10.0.0.1") -> dict:
    return {"metadata": {"name": name},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                      {"type": "Ready", "status": ready}],
                       "addresses": [{"type": "Hostname", "address": name},
                                     {"type": "InternalIP", "address": ip}],
                       "nodeInfo": {"kubeletVersion": version}}}


@pytest.mark.parametrize(("nodes", "expected", "status", "reason"), [
    ([node("a"), node("b")], ["a", "b"], "pass", ""),
    ([node("a")], ["a", "b"], "fail", "not registered: b"),
    ([node("a"), node("b", ready="False")], ["a", "b"], "fail", "not Ready: b (Ready=False)"),
    ([node("a"), {"metadata": {"name": "b"}, "status": {}}], ["a", "b"], "fail",
     "not Ready: b (Ready=Unknown)"),
    # a node nobody asked for does not fail the check
    ([node("a"), node("extra", ready="False")], ["a"], "pass", ""),
])
def test_nodes_ready(nodes: list, expected: list, status: str, reason: str) -> None:
    got, why, evidence = k8s.eval_nodes(nodes, expected)
    assert (got, why) == (status, reason)
    assert evidence["a"]["internal_ip"] == "10.0.0.1"


READYZ_OK = ("[+]ping ok\n[+]etcd ok\n[+]poststarthook/rbac/bootstrap-roles ok\n"
             "readyz check passed\n")


@pytest.mark.parametrize(("text", "status", "reason"), [
    (READYZ_OK, "pass", ""),
    ("[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n", "fail",
     "readyz checks failed: etcd"),
    ("ok", "fail", "readyz listed no checks: ok"),
    ("", "fail", "readyz listed no checks: (empty)"),
])
def test_api_ready(text: str, status: str, reason: str) -> None:
    got, why, evidence = k8s.eval_readyz(text)
    assert (got, why) == (status, reason)
    if status == "pass":
        assert evidence["checks"] == 3


@pytest.mark.parametrize(("nodes", "status", "reason"), [
    ([node("a"), node("b")], "pass", ""),
    ([node("a"), node("b", version="v1.33.0")], "fail", "kubelets at another version: b=v1.33.0"),
    ([], "fail", "no node reports a kubelet version"),
])
def test_node_versions(nodes: list, status: str, reason: str) -> None:
    assert k8s.eval_versions(nodes, "v1.34.4")[:2] == (status, reason)


def pod(phase: str = "Succeeded", on: str = "k8s1", ip: str = "10.244.1.5",
        waiting: str = "") -> dict:
    status: dict[str, Any] = {"phase": phase, "podIP": ip}
    if waiting:
        status["containerStatuses"] = [{"state": {"waiting": {"reason": waiting}}}]
    return {"metadata": {"name": f"check-{on}"}, "spec": {"nodeName": on}, "status": status}


LOG = f"mark={k8s.MARK}\napi=open\nlimit=67108864\nconfig=hello\n"
LIMIT = 64 * 1024 * 1024


@pytest.mark.parametrize(("p", "log", "expect"), [
    (pod(), LOG, {"pod-runs": "pass", "pod-network": "pass", "pod-memory-limit": "pass"}),
    (pod(phase="Pending", ip="", waiting="ContainerCreating"), "timed out", {
        "pod-runs": "fail:pod phase Pending on k8s1, expected Succeeded on k8s1",
        "pod-network": "fail:pod address (none) is not in the pod range 10.244.0.0/16",
        "pod-memory-limit": "fail:the pod's memory cgroup limit is (unread), expected 67108864"}),
    (pod(on="k8s2"), LOG, {
        "pod-runs": "fail:pod phase Succeeded on k8s2, expected Succeeded on k8s1"}),
    (pod(), LOG.replace(k8s.MARK, "x"), {
        "pod-runs": "fail:the pod's log, read through the API server, lacks its mark"}),
    (pod(ip="192.168.1.5"), LOG, {
        "pod-network": "fail:pod address 192.168.1.5 is not in the pod range 10.244.0.0/16"}),
    (pod(), LOG.replace("api=open", "api=closed"), {
        "pod-network": "fail:the pod did not reach the API server at 10.4.0.1:6443 (TCP closed)"}),
    (pod(), LOG.replace("67108864", "9223372036854771712"), {
        "pod-memory-limit": "fail:the pod's memory cgroup limit is 9223372036854771712, "
                            "expected 67108864"}),
])
def test_check_pod(p: dict, log: str, expect: dict) -> None:
    got = k8s.eval_pod(p, log, "k8s1", "10.244.0.0/16", "10.4.0.1", LIMIT)
    for check, want in expect.items():
        status, _, reason = want.partition(":")
        assert (got[check][0], got[check][1]) == (status, reason), check
    assert set(got) == {"pod-runs", "pod-network", "pod-memory-limit"}


def test_deployment_and_rbac() -> None:
    pods = [{"spec": {"nodeName": "k8s2"}}, {"spec": {"nodeName": "k8s1"}}]
    assert k8s.eval_deployment({"status": {"availableReplicas": 2}}, pods, 2) == (
        "pass", "", {"replicas": 2, "available": 2, "nodes": ["k8s1", "k8s2"]})
    assert k8s.eval_deployment({"status": {}}, [], 2)[:2] == ("fail", "0 of 2 replicas available")
    assert k8s.eval_access_review({"status": {"allowed": False}})[0] == "pass"
    assert k8s.eval_access_review({"status": {"allowed": True}})[:2] == (
        "fail", "a service account without roles may list secrets")


def test_check_pod_spec_asks_for_the_node_and_the_local_image() -> None:
    spec = k8s.check_pod_spec("check-a", "a", "crossgate.local/busybox:1", "10.4.0.1", 64)
    assert spec["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "a"}
    container = spec["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "Never"
    assert container["resources"]["limits"]["memory"] == "64Mi"
    assert "nc -w 5 10.4.0.1 6443" in container["command"][2]


def members(data: bytes) -> dict[str, bytes]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            f = tar.extractfile(m) if m.isfile() else None
            out[m.name] = f.read() if f else b""
    return out


def test_oci_archive_is_a_reproducible_image_layout() -> None:
    layer = oci.layer({"bin/busybox": (b"\x7fELF fake", 0o755)}, {"bin/sh": "busybox"})
    data, digest = oci.archive("registry.k8s.io/pause:3.10", layer, ["/bin/sh"], [], "amd64")
    again, digest2 = oci.archive("registry.k8s.io/pause:3.10",
                                 oci.layer({"bin/busybox": (b"\x7fELF fake", 0o755)},
                                           {"bin/sh": "busybox"}), ["/bin/sh"], [], "amd64")
    assert (data, digest) == (again, digest2)
    files = members(data)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    entry = index["manifests"][0]
    assert entry["digest"] == digest
    assert entry["annotations"]["io.containerd.image.name"] == "registry.k8s.io/pause:3.10"
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "3.10"
    manifest_bytes = files["blobs/sha256/" + digest[7:]]
    assert "sha256:" + hashlib.sha256(manifest_bytes).hexdigest() == digest
    manifest = json.loads(manifest_bytes)
    config = json.loads(files["blobs/sha256/" + manifest["config"]["digest"][7:]])
    layer_digest = manifest["layers"][0]["digest"]
    assert config["rootfs"]["diff_ids"] == [layer_digest]
    assert config["config"]["Entrypoint"] == ["/bin/sh"]
    with tarfile.open(fileobj=io.BytesIO(files["blobs/sha256/" + layer_digest[7:]])) as inside:
        names = {m.name: m for m in inside.getmembers()}
    assert names["bin/sh"].issym() and names["bin/sh"].linkname == "busybox"
    assert names["bin/busybox"].mode == 0o755 and names["bin/busybox"].mtime == 0
    assert names["tmp"].mode == 0o1777
    # another command is another image
    _, other_digest = oci.archive("registry.k8s.io/pause:3.10", layer, ["/bin/sleep"], [],
                                      "amd64")
    assert other_digest != digest
