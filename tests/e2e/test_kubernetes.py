"""Kubernetes end to end: crossgate-kubernetes on 2 local nodes of the label that runs containers
(etcd, the control plane and the kubelets from the Go-built program set in the host mirror,
containerd from Debian), and, on the same cluster, a redeploy and a fault.

tests/e2e/kubernetes-repo's job is crossgate-kubernetes as it is; its post-run playbooks then
deploy the layer again (nothing may change) and stop the kubelet of k8s2, which
validate-kubernetes must report, naming the node, failing the build."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_ceph import run_job, task_results
from test_openstack_ceph import recaps_of

pytestmark = pytest.mark.e2e

NODES = ("k8s1", "k8s2")
CHECKS = {"nodes-ready", "api-ready", "node-versions", "configmap-volume",
          "deployment-available", "rbac-denies"} | {
    f"{c}:{n}" for c in ("pod-runs", "pod-network", "pod-memory-limit") for n in NODES}


class TestKubernetes:
    """crossgate-kubernetes, then a redeploy and a stopped kubelet, on one cluster."""

    def test_the_layer_idempotence_and_a_fault(self, tmp_path: Path) -> None:
        rc, build, console, build_dir = run_job(tmp_path, "kubernetes-under-test",
                                                repo="kubernetes-repo", timeout=1800)
        logs = build_dir / "work/logs"
        # the programs came from the mirror's Go-built set (built, or found built, in the
        # background while the nodes booted)
        assert re.search(r"MIRROR: go kubernetes-1.34: 7 program\(s\) in "
                         r"go/kubernetes-1.34-[0-9a-f]{12}: built", console), console[:3000]
        assert re.search(r"PLAYBOOK END: run playbook crossgate/crossgate/playbooks/"
                         r"kubernetes/run.yaml: OK", console), console[-6000:]
        results = json.loads((logs / "crossgate-results/results.json").read_text())
        k8s = {r["check"]: r for r in results["records"] if r["layer"] == "kubernetes"}
        assert set(k8s) == CHECKS, sorted(set(k8s) ^ CHECKS)
        assert {r["status"] for r in k8s.values()} == {"pass"}, [
            (c, r.get("reason")) for c, r in k8s.items() if r["status"] != "pass"]
        nodes = k8s["nodes-ready"]["evidence"]
        assert {n: nodes[n]["kubelet"] for n in NODES} == dict.fromkeys(NODES, "v1.34.4")
        assert k8s["pod-memory-limit:k8s2"]["evidence"]["limit_seen"] == str(64 << 20)
        assert sorted(k8s["deployment-available"]["evidence"]["nodes"]) == list(NODES)
        ips = {n: k8s[f"pod-network:{n}"]["evidence"]["pod_ip"] for n in NODES}
        assert ips["k8s1"].startswith("10.244.1.") and ips["k8s2"].startswith("10.244.2."), ips
        phases = {(p["phase"], p["name"]) for p in results["phases"]}
        assert {("deploy", "kubernetes"), ("validate", "kubernetes")} <= phases, phases
        # the images were built on the nodes and imported, no registry asked (by the first
        # deploy; the redeploy found them)
        assert task_results(console, "deploy-kubernetes : Import the images it lacks") == {
            "k8s1": {"changed", "skipping"}, "k8s2": {"changed", "skipping"}}
        # a second deploy changed nothing
        recaps = recaps_of(console, "redeploy.yaml", project="example/kubernetes")
        assert set(recaps) == set(NODES), recaps
        assert {h: c["changed"] for h, c in recaps.items()} == dict.fromkeys(NODES, 0)
        assert all(c["failed"] == 0 for c in recaps.values())
        # the stopped kubelet failed the build in post-run, naming the node
        assert (rc, build["result"]) == (1, "POST_FAILURE"), console[-6000:]
        assert ("PLAYBOOK END: post playbook example/kubernetes/playbooks/"
                "kubelet-stopped.yaml: FAILED") in console
        assert re.search(r"kubernetes checks failed on k8s1: not Ready: k8s2 "
                         r"\(Ready=(Unknown|False)\);.*pod phase \w+ on k8s2, expected "
                         r"Succeeded on k8s2", console), console[-6000:]
        # the logs came back: journals of every component, the cluster's state, no key
        for unit in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
                     "kubelet", "containerd"):
            assert (logs / f"k8s1/kubernetes/journal/{unit}.txt").stat().st_size > 0, unit
        assert (logs / "k8s2/kubernetes/journal/kubelet.txt").stat().st_size > 0
        assert "k8s2" in (logs / "k8s1/kubernetes/nodes.txt").read_text()
        for path in (logs / "k8s1/kubernetes").rglob("*"):
            if path.is_file():
                text = path.read_text(errors="replace")
                assert "BEGIN RSA PRIVATE KEY" not in text and "client-key-data" not in text, path
