#!/usr/bin/python3
"""Check a Kubernetes cluster against the Kubernetes layer's contract and record the checks."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_kubernetes
short_description: Check a Kubernetes cluster against the Kubernetes layer's contract
description:
  - Runs on the node that holds the contract's kubeconfig, with the kubernetes Python client,
    and returns check records of layer C(kubernetes) (also written as JSON lines into
    I(results_dir)).
  - "Checks: every node of the contract registered and Ready (C(nodes-ready)); the API server's
    readiness checks all pass (C(api-ready)); every kubelet runs the contract's version
    (C(node-versions)); on each node a pod scheduled there runs to completion with its log
    readable through the API server (C(pod-runs:NODE)), gets an address in the pod range and
    opens a TCP connection to the API server's address from the pod network
    (C(pod-network:NODE)) and runs under its memory limit (C(pod-memory-limit:NODE)); a
    ConfigMap reaches a pod as a volume (C(configmap-volume)); a Deployment becomes available
    with its replicas spread by the scheduler (C(deployment-available)); RBAC refuses a
    service account without roles what it was not granted (C(rbac-denies))."
  - Everything it creates lives in namespace I(namespace), removed at the end (bounded by
    I(wait_timeout)).
options:
  node:
    description: Name the records carry (the node the module runs on).
    type: str
    required: true
  results_dir:
    description: Folder of the node where the records are appended as JSON lines.
    type: path
    default: /var/lib/crossgate/results
  contract:
    description:
      - The Kubernetes layer's contract (deploy-kubernetes' fact deploy_kubernetes_contract).
    type: dict
    required: true
  namespace:
    description: Namespace of the checks' objects.
    type: str
    default: crossgate-validate
  memory_limit_mb:
    description: Memory limit of the check pods, in MiB.
    type: int
    default: 64
  request_timeout:
    description: Seconds each API request may take.
    type: int
    default: 30
  wait_timeout:
    description:
      - Seconds each wait (a pod finishing, a Deployment available, the namespace gone) may take.
    type: int
    default: 180
  delay:
    description: Seconds between the polls of a wait.
    type: int
    default: 2
"""

EXAMPLES = r"""
- name: Check the cluster
  crossgate_kubernetes:
    node: "{{ inventory_hostname }}"
    contract: "{{ deploy_kubernetes_contract }}"
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

import ipaddress
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_records import (
    check_argument_spec,
    make_record,
    write_records,
)

LAYER = "kubernetes"
MARK = "crossgate-pod-ok"


# -- evaluation of what the API returned (pure functions, table-tested) --------------------


def ready_status(node: dict) -> str:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") or "Unknown"
    return "Unknown"


def internal_ip(node: dict) -> str:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == "InternalIP":
            return addr.get("address", "")
    return ""


def eval_nodes(nodes: list[dict], expected: list[str]) -> tuple[str, str, dict]:
    """nodes-ready: every expected node registered with Ready=True."""
    seen = {n["metadata"]["name"]: n for n in nodes}
    evidence = {name: {"ready": ready_status(n), "internal_ip": internal_ip(n),
                       "kubelet": ((n.get("status") or {}).get("nodeInfo") or {})
                       .get("kubeletVersion", "")} for name, n in seen.items()}
    missing = sorted(set(expected) - set(seen))
    not_ready = sorted(name for name in expected if name in seen and
                       evidence[name]["ready"] != "True")
    problems = []
    if missing:
        problems.append("not registered: " + ", ".join(missing))
    if not_ready:
        problems.append("not Ready: " + ", ".join(
            f"{n} (Ready={evidence[n]['ready']})" for n in not_ready))
    if problems:
        return "fail", "; ".join(problems), evidence
    return "pass", "", evidence


def eval_readyz(text: str) -> tuple[str, str, dict]:
    """api-ready: /readyz?verbose lists its checks, each [+] (ok) or [-] (failed)."""
    lines = [line.strip() for line in text.splitlines()]
    ok = [line[3:].split()[0] for line in lines if line.startswith("[+]")]
    failed = [line[3:].split()[0] for line in lines if line.startswith("[-]")]
    evidence = {"checks": len(ok) + len(failed), "failed": failed,
                "summary": lines[-1] if lines else ""}
    if failed:
        return "fail", "readyz checks failed: " + ", ".join(failed), evidence
    if not ok:
        return "fail", "readyz listed no checks: " + (text.strip()[:200] or "(empty)"), evidence
    return "pass", "", evidence


def eval_versions(nodes: list[dict], version: str) -> tuple[str, str, dict]:
    """node-versions: every kubelet runs the contract's release."""
    versions = {n["metadata"]["name"]: ((n.get("status") or {}).get("nodeInfo") or {})
                .get("kubeletVersion", "") for n in nodes}
    wrong = {k: v for k, v in versions.items() if v != version}
    evidence = {"expected": version, "kubelets": versions}
    if not versions:
        return "fail", "no node reports a kubelet version", evidence
    if wrong:
        return "fail", "kubelets at another version: " + ", ".join(
            f"{k}={v or '(none)'}" for k, v in sorted(wrong.items())), evidence
    return "pass", "", evidence


def parse_pod_log(log: str) -> dict:
    """The check pod prints KEY=VALUE lines; anything else is ignored."""
    out = {}
    for line in log.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.isidentifier():
            out[key] = value.strip()
    return out


def eval_pod(pod: dict, log: str, node: str, pod_cidr: str, api_address: str,
             limit_bytes: int) -> dict[str, tuple[str, str, dict]]:
    """pod-runs, pod-network and pod-memory-limit of one node's check pod."""
    status = pod.get("status") or {}
    phase = status.get("phase", "")
    ran_on = (pod.get("spec") or {}).get("nodeName", "")
    values = parse_pod_log(log)
    base = {"pod": pod.get("metadata", {}).get("name", ""), "phase": phase, "node": ran_on}
    out: dict[str, tuple[str, str, dict]] = {}
    if phase != "Succeeded" or ran_on != node or values.get("mark") != MARK:
        reason = (f"pod phase {phase or '(none)'} on {ran_on or '(unscheduled)'}, expected "
                  f"Succeeded on {node}" if phase != "Succeeded" or ran_on != node
                  else "the pod's log, read through the API server, lacks its mark")
        waiting = [((c.get("state") or {}).get("waiting") or {}).get("reason", "")
                   for c in status.get("containerStatuses") or []]
        out["pod-runs"] = ("fail", reason, {**base, "waiting": [w for w in waiting if w],
                                            "log": log[-500:]})
    else:
        out["pod-runs"] = ("pass", "", {**base, "log_lines": len(log.splitlines())})
    ip = status.get("podIP", "")
    net_ev = {**base, "pod_ip": ip, "pod_cidr": pod_cidr, "api_address": api_address,
              "api_reached": values.get("api", "")}
    try:
        inside = bool(ip) and ipaddress.ip_address(ip) in ipaddress.ip_network(pod_cidr)
    except ValueError:
        inside = False
    if not inside:
        out["pod-network"] = ("fail", f"pod address {ip or '(none)'} is not in the pod range "
                              f"{pod_cidr}", net_ev)
    elif values.get("api") != "open":
        net_ev["log"] = log[-500:]
        out["pod-network"] = ("fail", f"the pod did not reach the API server at {api_address}:6443 "
                              f"(TCP {values.get('api') or 'not tried'})", net_ev)
    else:
        out["pod-network"] = ("pass", "", net_ev)
    seen = values.get("limit", "")
    mem_ev = {**base, "limit_expected": limit_bytes, "limit_seen": seen}
    if seen != str(limit_bytes):
        out["pod-memory-limit"] = ("fail", "the pod's memory cgroup limit is "
                                   f"{seen or '(unread)'}, expected {limit_bytes}", mem_ev)
    else:
        out["pod-memory-limit"] = ("pass", "", mem_ev)
    return out


def eval_deployment(dep: dict, pods: list[dict], replicas: int) -> tuple[str, str, dict]:
    """deployment-available: all replicas available, and where the scheduler put them."""
    status = dep.get("status") or {}
    available = status.get("availableReplicas") or 0
    placed = sorted((p.get("spec") or {}).get("nodeName", "") for p in pods)
    evidence = {"replicas": replicas, "available": available, "nodes": placed}
    if available < replicas:
        return "fail", f"{available} of {replicas} replicas available", evidence
    return "pass", "", evidence


def eval_access_review(review: dict) -> tuple[str, str, dict]:
    """rbac-denies: a service account with no role may not list secrets."""
    status = review.get("status") or {}
    evidence = {"allowed": bool(status.get("allowed")), "reason": status.get("reason", ""),
                "user": (review.get("spec") or {}).get("user", "")}
    if status.get("allowed"):
        return "fail", "a service account without roles may list secrets", evidence
    return "pass", "", evidence


# -- talking to the cluster ---------------------------------------------------------------


class Cluster:
    def __init__(self, kubeconfig: str, request_timeout: int, wait_timeout: int, delay: int):
        from kubernetes import client, config

        self.client = client
        self.api = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.authz = client.AuthorizationV1Api(self.api)
        self.timeout = request_timeout
        self.wait_timeout = wait_timeout
        self.delay = delay

    def plain(self, obj):
        return self.api.sanitize_for_serialization(obj)

    def wait(self, what: str, probe):
        """Poll probe() until it returns a value other than None; TimeoutError names what."""
        deadline = time.monotonic() + self.wait_timeout
        last = None
        while True:
            value, last = probe()
            if value is not None:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"timed out after {self.wait_timeout}s waiting for {what}; "
                                   f"last state: {last}")
            time.sleep(self.delay)

    def readyz(self) -> str:
        data = self.api.call_api("/readyz", "GET", query_params=[("verbose", "true")],
                                 response_type="str", auth_settings=["BearerToken"],
                                 _return_http_data_only=True, _preload_content=True,
                                 _request_timeout=self.timeout)
        return data if isinstance(data, str) else str(data)


def check_pod_spec(name: str, node: str, image: str, api_address: str, limit_mb: int) -> dict:
    script = (
        f"echo mark={MARK}; "
        f"if timeout 10 nc -w 5 {api_address} 6443 </dev/null >/dev/null 2>&1; "
        "then echo api=open; else echo api=closed; fi; "
        "echo limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null "
        "|| cat /sys/fs/cgroup/memory.max); "
        "echo config=$(cat /config/greeting)"
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "crossgate-check"}},
        "spec": {
            "restartPolicy": "Never",
            "nodeSelector": {"kubernetes.io/hostname": node},
            "tolerations": [{"operator": "Exists"}],
            "automountServiceAccountToken": False,
            "containers": [{
                "name": "check",
                "image": image,
                "imagePullPolicy": "Never",
                "command": ["/bin/sh", "-c", script],
                "resources": {"limits": {"memory": f"{limit_mb}Mi", "cpu": "100m"}},
                "volumeMounts": [{"name": "config", "mountPath": "/config"}],
            }],
            "volumes": [{"name": "config", "configMap": {"name": "crossgate-check"}}],
        },
    }


def run_checks(module: AnsibleModule, cluster: Cluster, p: dict) -> list[dict]:
    c = p["contract"]
    node, ns = p["node"], p["namespace"]
    records: list[dict] = []

    def record(check: str, started: float, result: tuple[str, str, dict]) -> None:
        status, reason, evidence = result
        records.append(make_record(LAYER, check, status, node, started, evidence,
                                   reason or None))

    t = time.time()
    nodes = [cluster.plain(n) for n in cluster.core.list_node(
        _request_timeout=cluster.timeout).items]
    record("nodes-ready", t, eval_nodes(nodes, c["nodes"]))
    t = time.time()
    record("api-ready", t, eval_readyz(cluster.readyz()))
    t = time.time()
    record("node-versions", t, eval_versions(nodes, c["version"]))

    api_address = c["api_url"].split("//", 1)[-1].rsplit(":", 1)[0]
    limit = p["memory_limit_mb"] * 1024 * 1024
    client = cluster.client
    try:
        cluster.core.create_namespace({"metadata": {"name": ns}}, _request_timeout=cluster.timeout)
    except client.exceptions.ApiException as exc:
        if exc.status != 409:
            raise
    greeting = f"hello-from-{ns}"
    cluster.core.create_namespaced_config_map(
        ns, {"metadata": {"name": "crossgate-check"}, "data": {"greeting": greeting}},
        _request_timeout=cluster.timeout)
    started = {}
    for n in c["nodes"]:
        name = f"check-{n}"
        started[n] = time.time()
        cluster.core.create_namespaced_pod(
            ns, check_pod_spec(name, n, c["test_image"], api_address, p["memory_limit_mb"]),
            _request_timeout=cluster.timeout)
    logs = {}
    for n in c["nodes"]:
        name = f"check-{n}"

        def finished(name=name):
            pod = cluster.plain(cluster.core.read_namespaced_pod(
                name, ns, _request_timeout=cluster.timeout))
            phase = (pod.get("status") or {}).get("phase")
            return (pod if phase in ("Succeeded", "Failed") else None), phase

        try:
            pod = cluster.wait(f"pod {ns}/{name} to finish", finished)
            log = cluster.core.read_namespaced_pod_log(name, ns, _request_timeout=cluster.timeout)
        except TimeoutError as exc:
            pod = cluster.plain(cluster.core.read_namespaced_pod(
                name, ns, _request_timeout=cluster.timeout))
            log = str(exc)
        logs[n] = log
        for check, result in eval_pod(pod, log, n, c["pod_cidr"], api_address, limit).items():
            record(f"{check}:{n}", started[n], result)
    first = c["nodes"][0]
    seen = parse_pod_log(logs.get(first, "")).get("config", "")
    ev = {"pod": f"check-{first}", "expected": greeting, "seen": seen}
    record("configmap-volume", started[first],
           ("pass", "", ev) if seen == greeting else
           ("fail", f"the pod read {seen or 'nothing'} from its ConfigMap volume", ev))

    t = time.time()
    replicas = len(c["nodes"])
    cluster.apps.create_namespaced_deployment(ns, {
        "metadata": {"name": "crossgate-sleep"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "crossgate-sleep"}},
            "template": {
                "metadata": {"labels": {"app": "crossgate-sleep"}},
                "spec": {
                    "tolerations": [{"operator": "Exists"}],
                    "automountServiceAccountToken": False,
                    "topologySpreadConstraints": [{
                        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "DoNotSchedule",
                        "labelSelector": {"matchLabels": {"app": "crossgate-sleep"}}}],
                    "containers": [{"name": "sleep", "image": c["test_image"],
                                    "imagePullPolicy": "Never",
                                    "command": ["/bin/sleep", "3600"]}],
                },
            },
        },
    }, _request_timeout=cluster.timeout)

    def available():
        dep = cluster.plain(cluster.apps.read_namespaced_deployment(
            "crossgate-sleep", ns, _request_timeout=cluster.timeout))
        got = (dep.get("status") or {}).get("availableReplicas") or 0
        return (dep if got >= replicas else None), f"{got} of {replicas} available"

    try:
        dep = cluster.wait("Deployment crossgate-sleep to be available", available)
    except TimeoutError:
        dep = cluster.plain(cluster.apps.read_namespaced_deployment(
            "crossgate-sleep", ns, _request_timeout=cluster.timeout))
    pods = [cluster.plain(x) for x in cluster.core.list_namespaced_pod(
        ns, label_selector="app=crossgate-sleep", _request_timeout=cluster.timeout).items]
    record("deployment-available", t, eval_deployment(dep, pods, replicas))

    t = time.time()
    review = cluster.authz.create_subject_access_review({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": f"system:serviceaccount:{ns}:default",
                 "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}"],
                 "resourceAttributes": {"verb": "list", "resource": "secrets",
                                        "namespace": "kube-system"}},
    }, _request_timeout=cluster.timeout)
    record("rbac-denies", t, eval_access_review(cluster.plain(review)))
    return records


def cleanup(cluster: Cluster, ns: str) -> str:
    """Delete the checks' namespace and wait until it is gone. Its pods are deleted at once
    (grace period 0) on every poll: a pod on a node whose kubelet is gone would otherwise keep
    the namespace terminating."""
    client = cluster.client

    def force_pods() -> None:
        for pod in cluster.core.list_namespaced_pod(ns, _request_timeout=cluster.timeout).items:
            cluster.core.delete_namespaced_pod(pod.metadata.name, ns, grace_period_seconds=0,
                                               _request_timeout=cluster.timeout)

    try:
        cluster.apps.delete_collection_namespaced_deployment(ns, _request_timeout=cluster.timeout)
        force_pods()
        cluster.core.delete_namespace(ns, _request_timeout=cluster.timeout)
    except client.exceptions.ApiException as exc:
        if exc.status != 404:
            return f"deleting namespace {ns}: {exc.status} {exc.reason}"

    def gone():
        try:
            cluster.core.read_namespace(ns, _request_timeout=cluster.timeout)
            force_pods()
        except client.exceptions.ApiException as exc:
            if exc.status == 404:
                return True, "gone"
            raise
        return None, "terminating"

    try:
        cluster.wait(f"namespace {ns} to be deleted", gone)
    except TimeoutError as exc:
        return str(exc)
    return ""


def main() -> None:
    module = AnsibleModule(
        argument_spec=check_argument_spec(
            contract={"type": "dict", "required": True},
            namespace={"type": "str", "default": "crossgate-validate"},
            memory_limit_mb={"type": "int", "default": 64},
            request_timeout={"type": "int", "default": 30},
            wait_timeout={"type": "int", "default": 180},
            delay={"type": "int", "default": 2},
        ),
        supports_check_mode=False,
    )
    p = module.params
    for field in ("memory_limit_mb", "request_timeout", "wait_timeout", "delay"):
        if p[field] < 1:
            module.fail_json(msg=f"{field}: {p[field]} is not allowed; give 1 or more")
    missing = [k for k in ("kubeconfig", "nodes", "version", "api_url", "pod_cidr", "test_image")
               if not p["contract"].get(k)]
    if missing:
        module.fail_json(msg="contract: missing or empty " + ", ".join(missing)
                         + "; allowed: the fact deploy_kubernetes_contract of deploy-kubernetes")
    try:
        import kubernetes  # noqa: F401
    except ImportError as exc:
        module.fail_json(msg=f"the kubernetes Python client is not importable: {exc}")
    cluster = Cluster(p["contract"]["kubeconfig"], p["request_timeout"], p["wait_timeout"],
                      p["delay"])
    leftover = cleanup(cluster, p["namespace"])  # an earlier run's objects
    if leftover:
        module.fail_json(msg=leftover)
    try:
        records = run_checks(module, cluster, p)
    finally:
        leftover = cleanup(cluster, p["namespace"])
    path = write_records(records, p["results_dir"], "kubernetes")
    if leftover:
        module.fail_json(msg=leftover, records=records, results_file=path)
    # the checks leave nothing behind: the cluster is as it was
    module.exit_json(changed=False, records=records, results_file=path)


if __name__ == "__main__":
    main()
