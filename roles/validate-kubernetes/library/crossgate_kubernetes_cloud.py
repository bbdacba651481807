#!/usr/bin/python3
"""Check what a Kubernetes cluster takes from its cloud provider, from the cluster's side."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_kubernetes_cloud
short_description: Check a cluster's OpenStack cloud provider from the Kubernetes side
description:
  - Runs on the node that holds the contract's kubeconfig (where deploy-kubernetes runs the
    cloud controller manager), with the kubernetes Python client, and returns check records of
    layer C(kubernetes) (also written as JSON lines into I(results_dir)).
  - "C(action=check): the cloud controller manager runs and stays up (C(cloud-provider-running):
    its unit active, its health endpoint answers, no restart over a few polls, else the tail of
    its journal); each node is initialised from its server (C(provider-id:NODE): providerID
    C(openstack:///ID), no uninitialized taint); a claim of I(storage_class) is bound to a volume
    of the CSI driver (C(pvc-bound), failing with the claim's events, such as Cinder refusing
    its volume type); growing the claim grows the volume (C(volume-expansion)); a snapshot of
    the claim of I(snapshot_class) becomes ready, its content a snapshot of the claim's volume
    by the CSI driver (C(volume-snapshot), skipped when the cluster has no snapshot class); a
    pod using it
    on the last node gets the volume attached there (C(volume-attachment:NODE)); the pod's mount
    (C(pod-volume-mount:NODE), skipped with its reason when I(mount_expected) is false);
    LoadBalancer services (C(load-balancer), skipped with its reason when the cloud has none).
    Returns what it observed (nodes' server ids and addresses, the volume) for the checks from
    the cloud's side; the objects stay until C(action=cleanup)."
  - C(action=cleanup) deletes the snapshots, then the namespace, and waits until the snapshots'
    contents and the volume are gone (each wait bounded by I(wait_timeout)).
options:
  node:
    description: Name the records carry (the node the module runs on).
    type: str
    required: true
  results_dir:
    description: Folder of the node where the records are appended as JSON lines.
    type: path
    default: /var/lib/crossgate/results
  action:
    description: C(check) or C(cleanup).
    type: str
    choices: [check, cleanup]
    default: check
  contract:
    description:
      - The Kubernetes layer's contract (deploy-kubernetes' fact deploy_kubernetes_contract).
    type: dict
    required: true
  namespace:
    description: Namespace of the checks' objects.
    type: str
    default: crossgate-validate-cloud
  storage_class:
    description: Storage class of the claim; empty means the contract's first.
    type: str
    default: ""
  snapshot_class:
    description:
      - Volume snapshot class of the snapshot; empty means the contract's first (none in the
        contract: the check is skipped).
    type: str
    default: ""
  size_gb:
    description: Size of the claim, in GiB; expansion adds one.
    type: int
    default: 1
  mount_expected:
    description:
      - Whether a pod can mount the volume on the node (false under Nova's fake virt driver).
    type: bool
    default: true
  mount_skip_reason:
    description: The reason recorded when I(mount_expected) is false.
    type: str
    default: ""
  load_balancer:
    description: Whether the cloud offers a load balancer service.
    type: bool
    default: false
  controller_unit:
    description: The cloud controller manager's systemd unit on this node.
    type: str
    default: openstack-cloud-controller-manager
  health_url:
    description: The cloud controller manager's health endpoint.
    type: str
    default: https://127.0.0.1:10258/healthz
  request_timeout:
    description: Seconds each API request may take.
    type: int
    default: 30
  wait_timeout:
    description: Seconds each wait (claim bound, volume grown, attachment, cleanup) may take.
    type: int
    default: 180
  delay:
    description: Seconds between the polls of a wait.
    type: int
    default: 2
"""

EXAMPLES = r"""
- name: Check the cloud provider from the cluster's side
  crossgate_kubernetes_cloud:
    node: "{{ inventory_hostname }}"
    contract: "{{ deploy_kubernetes_contract }}"
    mount_expected: false
    mount_skip_reason: Nova's fake virt driver attaches no disk to the node
"""

RETURN = r"""
records:
  description: The check records (schema plugins/schemas/check-record.schema.json).
  type: list
  returned: always
observed:
  description: >-
    nodes (name to provider_id, server_id, internal_ip), volume (pvc, pv, handle, size_gb,
    node) and snapshot (name, content, handle, source, size_gb) for the checks from the
    cloud's side.
  type: dict
  returned: when action is check
results_file:
  description: The JSON-lines file the records were appended to.
  type: str
  returned: when action is check
"""

import contextlib
import json
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.request

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_records import (
    check_argument_spec,
    make_record,
    write_records,
)

LAYER = "kubernetes"
PROVIDER_ID = re.compile(r"^openstack:///([0-9a-f-]{36})$")
UNINITIALIZED = "node.cloudprovider.kubernetes.io/uninitialized"
PVC = "crossgate-volume"
POD = "crossgate-volume-user"
SNAPSHOT = "crossgate-snapshot"
SNAP_API = ("snapshot.storage.k8s.io", "v1")


# -- evaluation (pure functions, table-tested) ---------------------------------------------

def gib(quantity: str) -> float:
    """A storage quantity (1Gi, 2048Mi, 1073741824) in GiB."""
    m = re.fullmatch(r"([0-9.]+)([KMGT]i?)?", str(quantity or "0"))
    if not m:
        return 0.0
    scale = {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
             "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m[2]]
    return float(m[1]) * scale / 2**30


def eval_provider_id(node: dict) -> tuple[str, str, dict]:
    """provider-id:NODE: initialised by the OpenStack cloud controller manager."""
    spec = node.get("spec") or {}
    pid = spec.get("providerID") or ""
    taints = [t.get("key") for t in spec.get("taints") or []]
    addresses = {a.get("type"): a.get("address")
                 for a in (node.get("status") or {}).get("addresses") or []}
    ev = {"provider_id": pid, "taints": taints, "addresses": addresses}
    m = PROVIDER_ID.match(pid)
    if not m:
        return "fail", f"providerID is {pid or 'unset'}, not openstack:///SERVER-ID", ev
    if UNINITIALIZED in taints:
        return "fail", f"still tainted {UNINITIALIZED}", ev
    if not addresses.get("InternalIP"):
        return "fail", "no InternalIP from the cloud provider", ev
    return "pass", "", ev


def eval_controller(before: dict, after: dict, health: str, journal: str,
                    unit: str) -> tuple[str, str, dict]:
    """cloud-provider-running: unit active, health endpoint ok, no restart between polls."""
    ev = {"unit": unit, "active_state": after.get("ActiveState", ""),
          "restarts": [before.get("NRestarts", ""), after.get("NRestarts", "")],
          "health": health}
    problems = []
    if after.get("ActiveState") != "active":
        problems.append(f"{unit} is {after.get('ActiveState') or 'unknown'}")
    if before.get("NRestarts") != after.get("NRestarts"):
        problems.append(f"{unit} restarted while checked ({before.get('NRestarts')} -> "
                        f"{after.get('NRestarts')} restarts)")
    if health != "ok":
        problems.append(f"its health endpoint answered {health!r}")
    if problems:
        lines = journal.splitlines()
        ev["journal_tail"] = lines[-8:]
        # klog's warnings, errors and fatals (W1207 ..., E1207 ..., F1207 ...): why it stopped
        ev["journal_errors"] = [x for x in lines if re.match(r"^[EFW]\d{4} ", x)][-3:]
        return "fail", "; ".join(problems), ev
    return "pass", "", ev


def event_messages(events: list[dict]) -> list[str]:
    return [f"{e.get('reason')}: {e.get('message')}" for e in
            sorted(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))]


def eval_bound(pvc: dict, pv: dict | None, events: list[dict],
               driver: str) -> tuple[str, str, dict]:
    """pvc-bound: the claim is Bound to a PV of the CSI driver."""
    phase = (pvc.get("status") or {}).get("phase") or "Pending"
    csi = ((pv or {}).get("spec") or {}).get("csi") or {}
    ev = {"pvc": (pvc.get("metadata") or {}).get("name"), "phase": phase,
          "storage_class": (pvc.get("spec") or {}).get("storageClassName"),
          "pv": (pvc.get("spec") or {}).get("volumeName") or "",
          "driver": csi.get("driver", ""), "volume_handle": csi.get("volumeHandle", ""),
          "capacity": ((pv or {}).get("spec") or {}).get("capacity", {}).get("storage", ""),
          "events": event_messages(events)[-5:]}
    if phase != "Bound":
        said = "; ".join(ev["events"][-2:]) or "no events"
        return "fail", f"claim {ev['pvc']} is {phase}: {said}", ev
    if csi.get("driver") != driver or not csi.get("volumeHandle"):
        return "fail", f"volume {ev['pv']} is not of driver {driver}", ev
    return "pass", "", ev


def eval_expansion(pv: dict, want_gb: int, events: list[dict]) -> tuple[str, str, dict]:
    """volume-expansion: the PV's capacity reached the requested size."""
    cap = ((pv.get("spec") or {}).get("capacity") or {}).get("storage", "")
    ev = {"pv": (pv.get("metadata") or {}).get("name"), "capacity": cap,
          "requested_gb": want_gb, "events": event_messages(events)[-5:]}
    if gib(cap) + 1e-9 < want_gb:
        return "fail", f"capacity is {cap or 'unknown'}, not {want_gb}Gi", ev
    return "pass", "", ev


def eval_snapshot(snap: dict, content: dict | None, events: list[dict], driver: str,
                  volume_handle: str) -> tuple[str, str, dict]:
    """volume-snapshot: the claim's snapshot is ready, a snapshot of its volume by DRIVER."""
    status = snap.get("status") or {}
    cspec = (content or {}).get("spec") or {}
    cstatus = (content or {}).get("status") or {}
    ev = {"snapshot": (snap.get("metadata") or {}).get("name"),
          "class": (snap.get("spec") or {}).get("volumeSnapshotClassName"),
          "ready": status.get("readyToUse", False),
          "restore_size": status.get("restoreSize", ""),
          "content": status.get("boundVolumeSnapshotContentName", ""),
          "driver": cspec.get("driver", ""),
          "source_volume": (cspec.get("source") or {}).get("volumeHandle", ""),
          "snapshot_handle": cstatus.get("snapshotHandle", ""),
          "error": ((status.get("error") or {}).get("message")
                    or (cstatus.get("error") or {}).get("message") or ""),
          "events": event_messages(events)[-5:]}
    if not ev["ready"]:
        said = ev["error"] or "; ".join(ev["events"][-2:]) or "no events"
        return "fail", f"snapshot {ev['snapshot']} is not ready to use: {said}", ev
    problems = []
    if content is None:
        problems.append(f"snapshot {ev['snapshot']} has no content")
    else:
        if ev["driver"] != driver:
            problems.append(f"its content {ev['content']} is of driver {ev['driver'] or 'none'}"
                            f", not {driver}")
        if ev["source_volume"] != volume_handle:
            problems.append(f"its content {ev['content']} is a snapshot of "
                            f"{ev['source_volume'] or 'nothing'}, not of the claim's volume "
                            f"{volume_handle}")
        if not ev["snapshot_handle"]:
            problems.append(f"its content {ev['content']} has no snapshot handle")
    if problems:
        return "fail", "; ".join(problems), ev
    return "pass", "", ev


def eval_attachment(attachments: list[dict], pv: str, node: str) -> tuple[str, str, dict]:
    """volume-attachment:NODE: a VolumeAttachment of the PV on NODE is attached."""
    mine = [a for a in attachments
            if ((a.get("spec") or {}).get("source") or {}).get("persistentVolumeName") == pv]
    ev = {"pv": pv, "attachments": [{
        "name": (a.get("metadata") or {}).get("name"),
        "node": (a.get("spec") or {}).get("nodeName"),
        "attacher": (a.get("spec") or {}).get("attacher"),
        "attached": (a.get("status") or {}).get("attached", False),
        "metadata": (a.get("status") or {}).get("attachmentMetadata") or {},
        "error": ((a.get("status") or {}).get("attachError") or {}).get("message", ""),
    } for a in mine]}
    on_node = [a for a in ev["attachments"] if a["node"] == node]
    if not on_node:
        return "fail", f"no VolumeAttachment of {pv} on {node}", ev
    if not on_node[0]["attached"]:
        return "fail", (f"VolumeAttachment {on_node[0]['name']} not attached: "
                        f"{on_node[0]['error'] or 'no error reported'}"), ev
    return "pass", "", ev


# -- the cluster ------------------------------------------------------------------------------

class Cluster:
    def __init__(self, kubeconfig: str, request_timeout: int, wait_timeout: int, delay: int):
        from kubernetes import client, config

        self.client = client
        self.api = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.api)
        self.storage = client.StorageV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        self.timeout = request_timeout
        self.wait_timeout = wait_timeout
        self.delay = delay

    def plain(self, obj):
        return self.api.sanitize_for_serialization(obj)

    def wait(self, what: str, probe):
        deadline = time.monotonic() + self.wait_timeout
        while True:
            value, last = probe()
            if value is not None:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"timed out after {self.wait_timeout}s waiting for {what}; "
                                   f"last state: {last}")
            time.sleep(self.delay)

    def events(self, ns: str, name: str) -> list[dict]:
        return [self.plain(e) for e in self.core.list_namespaced_event(
            ns, field_selector=f"involvedObject.name={name}",
            _request_timeout=self.timeout).items]

    def pvc(self, ns: str) -> dict:
        return self.plain(self.core.read_namespaced_persistent_volume_claim(
            PVC, ns, _request_timeout=self.timeout))

    def pv(self, name: str) -> dict | None:
        if not name:
            return None
        return self.plain(self.core.read_persistent_volume(name, _request_timeout=self.timeout))

    def snapshot(self, ns: str) -> dict:
        return self.custom.get_namespaced_custom_object(
            *SNAP_API, ns, "volumesnapshots", SNAPSHOT, _request_timeout=self.timeout)

    def snapshot_content(self, name: str) -> dict | None:
        if not name:
            return None
        try:
            return self.custom.get_cluster_custom_object(
                *SNAP_API, "volumesnapshotcontents", name, _request_timeout=self.timeout)
        except self.client.exceptions.ApiException as exc:
            if exc.status == 404:
                return None
            raise


def unit_state(unit: str) -> dict:
    out = subprocess.run(["systemctl", "show", unit, "-p", "ActiveState,NRestarts"],
                         capture_output=True, text=True, timeout=30, check=False).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def health(url: str, timeout: int) -> str:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the controller's self-signed serving certificate
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:
            return resp.read().decode(errors="replace").strip()
    except (urllib.error.URLError, OSError) as exc:
        return f"unreachable: {getattr(exc, 'reason', exc)}"


def journal(unit: str) -> str:
    return subprocess.run(["journalctl", "-u", unit, "-n", "20", "--no-pager", "-o", "cat"],
                          capture_output=True, text=True, timeout=30, check=False).stdout


def run_checks(cluster: Cluster, p: dict) -> tuple[list[dict], dict]:
    c, node, ns = p["contract"], p["node"], p["namespace"]
    records: list[dict] = []
    observed: dict = {"nodes": {}, "volume": {}}

    def record(check: str, started: float, result: tuple[str, str, dict]) -> str:
        status, reason, evidence = result
        records.append(make_record(LAYER, check, status, node, started, evidence,
                                   reason or None))
        return status

    t = time.time()
    before = unit_state(p["controller_unit"])
    first = health(p["health_url"], p["request_timeout"])
    time.sleep(min(p["delay"] * 3, p["wait_timeout"]))
    after = unit_state(p["controller_unit"])
    second = health(p["health_url"], p["request_timeout"])
    record("cloud-provider-running", t, eval_controller(
        before, after, second if first == "ok" else first, journal(p["controller_unit"]),
        p["controller_unit"]))

    for name in c["nodes"]:
        t = time.time()
        try:
            n = cluster.plain(cluster.core.read_node(name, _request_timeout=cluster.timeout))
        except cluster.client.exceptions.ApiException as exc:
            record(f"provider-id:{name}", t, ("fail", f"node {name}: {exc.status} {exc.reason}",
                                              {}))
            continue
        result = eval_provider_id(n)
        record(f"provider-id:{name}", t, result)
        m = PROVIDER_ID.match(result[2]["provider_id"])
        observed["nodes"][name] = {"provider_id": result[2]["provider_id"],
                                   "server_id": m[1] if m else "",
                                   "internal_ip": result[2]["addresses"].get("InternalIP", "")}

    classes = c.get("storage_classes") or []
    sc = p["storage_class"] or (classes[0]["name"] if classes else "")
    driver = next((x.get("provisioner") for x in classes if x.get("name") == sc), "") \
        or "cinder.csi.openstack.org"
    cluster.core.create_namespace({"metadata": {"name": ns}}, _request_timeout=cluster.timeout)
    t = time.time()
    cluster.core.create_namespaced_persistent_volume_claim(ns, {
        "metadata": {"name": PVC},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": sc,
                 "resources": {"requests": {"storage": f"{p['size_gb']}Gi"}}},
    }, _request_timeout=cluster.timeout)

    def bound():
        pvc = cluster.pvc(ns)
        phase = (pvc.get("status") or {}).get("phase")
        return (pvc if phase == "Bound" else None), phase

    try:
        pvc = cluster.wait(f"claim {ns}/{PVC} to be bound", bound)
    except TimeoutError:
        pvc = cluster.pvc(ns)
    pv_name = (pvc.get("spec") or {}).get("volumeName") or ""
    pv = cluster.pv(pv_name) if (pvc.get("status") or {}).get("phase") == "Bound" else None
    status = record("pvc-bound", t, eval_bound(pvc, pv, cluster.events(ns, PVC), driver))
    target = c["nodes"][-1]
    if status != "pass":
        reason = "the claim is not bound (see pvc-bound)"
        for check in ("volume-expansion", "volume-snapshot", f"volume-attachment:{target}",
                      f"pod-volume-mount:{target}"):
            record(check, time.time(), ("skip", reason, {}))
    else:
        handle = pv["spec"]["csi"]["volumeHandle"]
        want = p["size_gb"] + 1
        t = time.time()
        cluster.core.patch_namespaced_persistent_volume_claim(
            PVC, ns, {"spec": {"resources": {"requests": {"storage": f"{want}Gi"}}}},
            _request_timeout=cluster.timeout)

        def grown():
            now = cluster.pv(pv_name)
            cap = ((now.get("spec") or {}).get("capacity") or {}).get("storage", "")
            return (now if gib(cap) + 1e-9 >= want else None), f"capacity {cap}"

        try:
            pv = cluster.wait(f"volume {pv_name} to grow to {want}Gi", grown)
        except TimeoutError:
            pv = cluster.pv(pv_name)
        record("volume-expansion", t, eval_expansion(pv, want, cluster.events(ns, PVC)))
        cap = pv["spec"]["capacity"]["storage"]
        observed["volume"] = {"pvc": PVC, "namespace": ns, "pv": pv_name, "handle": handle,
                              "size_gb": round(gib(cap)), "node": target,
                              "storage_class": sc}
        observed["snapshot"] = check_snapshot(cluster, p, record, driver, handle)

        t = time.time()
        cluster.core.create_namespaced_pod(ns, {
            "metadata": {"name": POD},
            "spec": {
                "nodeSelector": {"kubernetes.io/hostname": target},
                "tolerations": [{"operator": "Exists"}],
                "automountServiceAccountToken": False,
                "terminationGracePeriodSeconds": 0,
                "containers": [{
                    "name": "user", "image": c["test_image"], "imagePullPolicy": "Never",
                    "command": ["/bin/sh", "-c",
                                "echo crossgate > /data/mark && cat /data/mark && sleep 3600"],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": PVC}}],
            },
        }, _request_timeout=cluster.timeout)

        def attached():
            items = [cluster.plain(a) for a in cluster.storage.list_volume_attachment(
                _request_timeout=cluster.timeout).items]
            result = eval_attachment(items, pv_name, target)
            return (items if result[0] == "pass" else None), result[1]

        try:
            items = cluster.wait(f"volume {pv_name} to be attached to {target}", attached)
        except TimeoutError:
            items = [cluster.plain(a) for a in cluster.storage.list_volume_attachment(
                _request_timeout=cluster.timeout).items]
        record(f"volume-attachment:{target}", t, eval_attachment(items, pv_name, target))

        t = time.time()
        if not p["mount_expected"]:
            pod = cluster.plain(cluster.core.read_namespaced_pod(
                POD, ns, _request_timeout=cluster.timeout))
            record(f"pod-volume-mount:{target}", t, ("skip", p["mount_skip_reason"] or
                   "the volume cannot be mounted on this node", {
                       "phase": (pod.get("status") or {}).get("phase"),
                       "events": event_messages(cluster.events(ns, POD))[-3:]}))
        else:
            def running():
                pod = cluster.plain(cluster.core.read_namespaced_pod(
                    POD, ns, _request_timeout=cluster.timeout))
                phase = (pod.get("status") or {}).get("phase")
                return (pod if phase == "Running" else None), phase

            try:
                cluster.wait(f"pod {ns}/{POD} to run with its volume", running)
                log = cluster.core.read_namespaced_pod_log(POD, ns,
                                                           _request_timeout=cluster.timeout)
                ok = "crossgate" in log
                record(f"pod-volume-mount:{target}", t, (
                    "pass" if ok else "fail", "" if ok else "the pod did not read back its mark",
                    {"log": log[-200:]}))
            except TimeoutError as exc:
                record(f"pod-volume-mount:{target}", t, ("fail", str(exc), {
                    "events": event_messages(cluster.events(ns, POD))[-5:]}))

    t = time.time()
    if p["load_balancer"]:
        record("load-balancer", t, ("skip", "the cloud offers a load balancer, and crossgate "
                                    "has no check of LoadBalancer services yet", {}))
    else:
        record("load-balancer", t, ("skip", "the cloud has no load balancer service (no "
                                    "load-balancer endpoint, Octavia not deployed): no "
                                    "LoadBalancer service can get an address", {}))
    return records, observed


def check_snapshot(cluster: Cluster, p: dict, record, driver: str, handle: str) -> dict:
    """volume-snapshot: snapshot the (unattached) claim; what the cloud's side checks."""
    ns = p["namespace"]
    classes = p["contract"].get("snapshot_classes") or []
    cls = p["snapshot_class"] or (classes[0]["name"] if classes else "")
    t = time.time()
    if not cls:
        record("volume-snapshot", t, ("skip", "the cluster declares no volume snapshot class "
                                      "(deploy-kubernetes' contract has no snapshot_classes)",
                                      {}))
        return {}
    cluster.custom.create_namespaced_custom_object(*SNAP_API, ns, "volumesnapshots", {
        "apiVersion": "/".join(SNAP_API), "kind": "VolumeSnapshot",
        "metadata": {"name": SNAPSHOT},
        "spec": {"volumeSnapshotClassName": cls,
                 "source": {"persistentVolumeClaimName": PVC}},
    }, _request_timeout=cluster.timeout)

    def ready():
        snap = cluster.snapshot(ns)
        status = snap.get("status") or {}
        return (snap if status.get("readyToUse") else None), \
            (status.get("error") or {}).get("message") or f"readyToUse={status.get('readyToUse')}"

    try:
        snap = cluster.wait(f"snapshot {ns}/{SNAPSHOT} to be ready to use", ready)
    except TimeoutError:
        snap = cluster.snapshot(ns)
    content_name = (snap.get("status") or {}).get("boundVolumeSnapshotContentName") or ""
    content = cluster.snapshot_content(content_name)
    result = eval_snapshot(snap, content, cluster.events(ns, SNAPSHOT), driver, handle)
    record("volume-snapshot", t, result)
    if result[0] != "pass":
        return {}
    ev = result[2]
    return {"name": SNAPSHOT, "namespace": ns, "content": content_name,
            "handle": ev["snapshot_handle"], "source": ev["source_volume"],
            "size_gb": round(gib(ev["restore_size"]))}


def delete_snapshots(cluster: Cluster, ns: str) -> str:
    """Delete the namespace's snapshots and wait until their contents are gone ('' when done,
    or when the cluster has no snapshot API)."""
    client = cluster.client
    try:
        snaps = cluster.custom.list_namespaced_custom_object(
            *SNAP_API, ns, "volumesnapshots", _request_timeout=cluster.timeout)["items"]
    except client.exceptions.ApiException as exc:
        if exc.status == 404:  # no such namespace, or no snapshot API
            return ""
        raise
    contents = []
    for snap in snaps:
        name = snap["metadata"]["name"]
        contents.append((snap.get("status") or {}).get("boundVolumeSnapshotContentName") or "")
        with contextlib.suppress(client.exceptions.ApiException):
            cluster.custom.delete_namespaced_custom_object(
                *SNAP_API, ns, "volumesnapshots", name, _request_timeout=cluster.timeout)

    def gone():
        left = [c for c in contents if c and cluster.snapshot_content(c) is not None]
        return (True if not left else None), f"snapshot contents {', '.join(left)}"

    try:
        cluster.wait(f"the snapshots of {ns} and their contents to be deleted", gone)
    except TimeoutError as exc:
        return str(exc)
    return ""


def cleanup(cluster: Cluster, ns: str) -> str:
    """Delete the snapshots, then the namespace (pods at once), and wait until it and the
    claim's volume are gone (a volume with snapshots cannot be deleted)."""
    client = cluster.client
    pv_name = ""
    with contextlib.suppress(client.exceptions.ApiException):
        pv_name = (cluster.pvc(ns).get("spec") or {}).get("volumeName") or ""
    left = delete_snapshots(cluster, ns)
    if left:
        return left

    def force_pods() -> None:
        for pod in cluster.core.list_namespaced_pod(ns, _request_timeout=cluster.timeout).items:
            cluster.core.delete_namespaced_pod(pod.metadata.name, ns, grace_period_seconds=0,
                                               _request_timeout=cluster.timeout)

    try:
        force_pods()
        cluster.core.delete_namespace(ns, _request_timeout=cluster.timeout)
    except client.exceptions.ApiException as exc:
        if exc.status != 404:
            return f"deleting namespace {ns}: {exc.status} {exc.reason}"

    def gone():
        try:
            cluster.core.read_namespace(ns, _request_timeout=cluster.timeout)
            force_pods()
            return None, f"namespace {ns} terminating"
        except client.exceptions.ApiException as exc:
            if exc.status != 404:
                raise
        if pv_name:
            try:
                pv = cluster.pv(pv_name)
                return None, f"volume {pv_name} {(pv.get('status') or {}).get('phase')}"
            except client.exceptions.ApiException as exc:
                if exc.status != 404:
                    raise
        return True, "gone"

    try:
        cluster.wait(f"namespace {ns} and its volume to be deleted", gone)
    except TimeoutError as exc:
        return str(exc)
    return ""


def main() -> None:
    module = AnsibleModule(
        argument_spec=check_argument_spec(
            action={"type": "str", "choices": ["check", "cleanup"], "default": "check"},
            contract={"type": "dict", "required": True},
            namespace={"type": "str", "default": "crossgate-validate-cloud"},
            storage_class={"type": "str", "default": ""},
            snapshot_class={"type": "str", "default": ""},
            size_gb={"type": "int", "default": 1},
            mount_expected={"type": "bool", "default": True},
            mount_skip_reason={"type": "str", "default": ""},
            load_balancer={"type": "bool", "default": False},
            controller_unit={"type": "str", "default": "openstack-cloud-controller-manager"},
            health_url={"type": "str", "default": "https://127.0.0.1:10258/healthz"},
            request_timeout={"type": "int", "default": 30},
            wait_timeout={"type": "int", "default": 180},
            delay={"type": "int", "default": 2},
        ),
        supports_check_mode=False,
    )
    p = module.params
    for field in ("size_gb", "request_timeout", "wait_timeout", "delay"):
        if p[field] < 1:
            module.fail_json(msg=f"{field}: {p[field]} is not allowed; give 1 or more")
    c = p["contract"]
    missing = [k for k in ("kubeconfig", "nodes", "test_image") if not c.get(k)]
    if c.get("cloud_provider") != "openstack":
        missing.append("cloud_provider=openstack")
    if missing:
        module.fail_json(msg="contract: missing or empty " + ", ".join(missing)
                         + "; allowed: the fact deploy_kubernetes_contract of deploy-kubernetes "
                         "with deploy_kubernetes_cloud_provider=openstack")
    try:
        import kubernetes  # noqa: F401
    except ImportError as exc:
        module.fail_json(msg=f"the kubernetes Python client is not importable: {exc}")
    cluster = Cluster(c["kubeconfig"], p["request_timeout"], p["wait_timeout"], p["delay"])
    if p["action"] == "cleanup":
        leftover = cleanup(cluster, p["namespace"])
        if leftover:
            module.fail_json(msg=leftover)
        module.exit_json(changed=False, records=[])
    leftover = cleanup(cluster, p["namespace"])  # an earlier run's objects
    if leftover:
        module.fail_json(msg=leftover)
    try:
        records, observed = run_checks(cluster, p)
    except Exception:
        cleanup(cluster, p["namespace"])
        raise
    path = write_records(records, p["results_dir"], "kubernetes-cloud")
    module.exit_json(changed=False, records=records, observed=json.loads(json.dumps(observed)),
                     results_file=path)


if __name__ == "__main__":
    main()
