"""OpenStack on Ceph end to end: crossgate-openstack-ceph on 3 local nodes (Ceph from Debian's
packages, OpenStack 2026.2 with Cinder from the host mirror's wheels), with a change under test,
and, on the same cloud, every way the suite checks it.

tests/e2e/openstack-ceph-repo's job is crossgate-openstack-ceph with openstack/placement as a
required project: a checkout of Placement 16.0.0 (its sdist from the package index, in git, tagged
16.0.0) with one more commit that adds a key to Placement's version document. Its run phase is
exactly crossgate's job: the Ceph layer, the OpenStack layer on it, each validated, then the
checks across them. Its post-run playbooks then (Zuul runs a child's post-run before its
parent's): deploy both layers again (nothing may change), see the change deployed, break each
link between OpenStack and Ceph in turn and see its check fail with its evidence, and last stop
nova-compute of compute2, which validate-openstack must report, failing the build.

The job runs on crossgate-kubernetes-openstack's five nodes: right after the run phase, in
post-run, crossgate-kubernetes-openstack's plays put Kubernetes on the same cloud (the two
Kubernetes nodes made Nova servers, the cloud controller manager and Cinder CSI), validated from
both sides; it is redeployed with the rest, and its two links to OpenStack (the cloud controller
manager's password, a storage class's volume type) are broken in turn."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from test_ceph import every_node, no_key_in, run_job, task_results  # the same build checks

pytestmark = pytest.mark.e2e

PLACEMENT = "16.0.0"
MARKER = "placement-under-test"
INTEGRATION = {"image-in-rbd", "volume-clone-of-image", "volume-upload-roundtrip",
               "volume-attach-rbd", "object-store-rgw", "ceph-after-checks"}
API_CHECKS = {"token-catalog", "image-roundtrip", "tenant-network", "hypervisors"}
ENDPOINTS = {f"endpoint:{t}" for t in ("identity", "placement", "image", "compute", "network",
                                       "block-storage", "object-store")}
PER_HOST = ("placement-inventory:{h}", "server-active:{h}", "port-bound-ovn:{h}",
            "guest-dhcp:{h}", "guest-metadata:{h}")
PAIRS = (("compute1", "compute2"), ("compute2", "compute1"))
# interop capabilities skipped on local nodes, and the words of their reason
INTEROP_SKIPS = {
    "compute-images-create": "instance snapshotting is not supported",
    "compute-servers-host": "Instance validation tests are disabled",
    "compute-servers-verify": "Instance validation tests are disabled",
    "images-v2-get": "Image format enforcement prevents testing with bogus image data",
    "images-v2-index": "Image format enforcement prevents testing with bogus image data",
    "images-v2-list": "Image format enforcement prevents testing with bogus image data",
    "compute-servers-resize": "every test of the capability is flagged",
    "identity-v3-list-projects": "every test of the capability is flagged",
}
# Kubernetes on the same cloud (crossgate-kubernetes-openstack's plays, in post-run)
K8S_NODES = ("k8s1", "k8s2")
K8S_PASS = {"nodes-ready", "api-ready", "node-versions", "configmap-volume",
            "deployment-available", "rbac-denies", "cloud-provider-running", "pvc-bound",
            "volume-expansion", "volume-snapshot", "volume-attachment:k8s2"} | {
    f"{c}:{n}" for c in ("pod-runs", "pod-network", "pod-memory-limit", "provider-id")
    for n in K8S_NODES}
K8S_SKIP = {"pod-volume-mount:k8s2": "Nova runs the fake virt driver",
            "load-balancer": "no load balancer service"}
K8S_INTEGRATION = {"node-server:k8s1", "node-server:k8s2", "pvc-cinder-rbd",
                   "volume-snapshot-cinder", "volume-attached-server"}
CEPH_CHECKS = {"health", "osds-up-in", "pgs-active-clean", "rbd-roundtrip:volumes",
               "rados-roundtrip:images"}


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "crossgate", "GIT_AUTHOR_EMAIL": "e2e@crossgate.invalid",
           "GIT_COMMITTER_NAME": "crossgate", "GIT_COMMITTER_EMAIL": "e2e@crossgate.invalid",
           "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout


def placement_change(tmp_path: Path) -> Path:
    """A git checkout of openstack-placement PLACEMENT, tagged, with one change on top: its
    version document carries the key x-crossgate-change."""
    sdists = tmp_path / "sdist"
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--no-binary", ":all:", "--dest", str(sdists),
                    f"openstack-placement=={PLACEMENT}"], check=True, timeout=300)
    archive = next(sdists.glob("openstack_placement-*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    repo = tmp_path / f"openstack_placement-{PLACEMENT}"
    # what a git checkout does not have: the sdist's metadata (pbr would take its version)
    for generated in [repo / "PKG-INFO", *repo.glob("*.egg-info")]:
        if generated.is_dir():
            shutil.rmtree(generated)
        else:
            generated.unlink()
    git(repo, "init", "-q", "-b", "master")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"openstack-placement {PLACEMENT}")
    git(repo, "tag", "-a", PLACEMENT, "-m", PLACEMENT)
    root = repo / "placement/handlers/root.py"
    text = root.read_text()
    assert "'status': 'CURRENT'," in text
    added = f"\n        'x-crossgate-change': '{MARKER}',"
    root.write_text(text.replace("'status': 'CURRENT',", "'status': 'CURRENT'," + added))
    git(repo, "commit", "-q", "-am", "Say in the version document that this is the change")
    return repo


def leaks_in(folder: Path, pattern: re.Pattern[str]) -> list[str]:
    """Every file of FOLDER (and the members of its tar archives) where PATTERN matches;
    ansible/tmp is Ansible's local cache of module payloads (zip files), no output."""
    import tarfile

    hits = []
    cache = folder / "ansible" / "tmp"
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                       and cache not in p.parents):
        if path.suffix == ".tar":
            with tarfile.open(path) as tar:
                for member in tar.getmembers():
                    data = tar.extractfile(member) if member.isfile() else None
                    if data is not None and pattern.search(data.read().decode(errors="replace")):
                        hits.append(f"{path}:{member.name}")
        elif pattern.search(path.read_text(errors="replace")):
            hits.append(str(path))
    return hits


def recaps_of(console: str, playbook: str,
              project: str = "example/openstack-ceph") -> dict[str, dict[str, int]]:
    """The PLAY RECAP counts per host of the post playbook PLAYBOOK of PROJECT (its last
    attempt)."""
    start = console.rindex(f"PLAYBOOK START: post playbook {project}/playbooks/{playbook}")
    end = console.index("PLAYBOOK END", start)
    out = {}
    for host, counts in re.findall(r"\| (\S+)\s+: (ok=.*)$", console[start:end], re.M):
        out[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return out


@pytest.fixture(scope="class")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, str, Path]:
    """The one build of TestOpenStackOnCeph (its tests read what it left)."""
    tmp_path = tmp_path_factory.mktemp("openstack-ceph")
    checkout = placement_change(tmp_path)
    return run_job(
        tmp_path, "openstack-ceph-under-test", repo="openstack-ceph-repo", timeout=3600,
        projects={"openstack/placement": checkout},
        labels={"debian-bookworm": "crossgate-openstack-ceph-bookworm"})


class TestOpenStackOnCeph:
    """crossgate-openstack-ceph with a change under test, then a redeploy, broken links and a
    stopped nova-compute, on one cloud; and Kubernetes on that cloud with its cloud provider."""

    def test_the_integration_the_change_idempotence_broken_links_and_a_fault(
            self, built: tuple[int, dict, str, Path]) -> None:
        rc, build, console, build_dir = built
        logs = build_dir / "work/logs"
        # the nodes booted from the baked image: both layers' install steps found everything
        # there, in the first deploy and in the redeploy (the checkout under test is the one
        # install a deploy still makes)
        for task in ("deploy-ceph : Install the Ceph packages",
                     "deploy-openstack : Install the distribution packages",
                     "deploy-openstack : Install the services of the release into the venv",
                     "deploy-openstack : Install Ceph's Python bindings",
                     "deploy-openstack : Link Ceph's Python bindings"):
            seen = {h: s for h, s in task_results(console, task).items() if h not in K8S_NODES}
            assert seen == every_node("ok"), task
        assert task_results(console, "deploy-openstack : Install the services under test") == {
            "controller": {"changed", "ok"}, "compute1": {"skipping"}, "compute2": {"skipping"}}
        # crossgate's own run playbooks (both layers, each validated, the checks across them)
        # passed as they are ...
        for playbook in ("ceph/run.yaml", "openstack/run.yaml", "openstack-ceph/run.yaml"):
            assert re.search(r"PLAYBOOK END: run playbook crossgate/crossgate/playbooks/"
                             + re.escape(playbook) + ": OK", console), console[-6000:]
        results = json.loads((logs / "crossgate-results/results.json").read_text())
        by_layer: dict[str, dict[str, dict]] = {}
        for r in results["records"]:
            by_layer.setdefault(r["layer"], {})[r["check"]] = r
        # ... every check across the layers, with evidence from both sides
        xc = by_layer["integration"]
        assert set(xc) == INTEGRATION | K8S_INTEGRATION, sorted(xc)
        assert {r["status"] for r in xc.values()} == {"pass"}, [
            (r["check"], r.get("reason")) for r in xc.values() if r["status"] != "pass"]
        image = xc["image-in-rbd"]["evidence"]
        assert image["glance"]["stores"] == "rbd"
        assert image["ceph"]["md5"] == image["glance"]["checksum"]
        assert image["ceph"]["size"] == image["glance"]["size"] == 1024 * 1024
        clone = xc["volume-clone-of-image"]["evidence"]
        assert clone["parent"] == {"pool": "images", "image": image["glance"]["id"],
                                   "snap": "snap"} and clone["parent_snapshot_protected"]
        upload = xc["volume-upload-roundtrip"]["evidence"]
        assert upload["written"]["node"] == "compute1" and upload["written"]["user"] == "cinder"
        assert upload["image"]["prefix_sha256"] == upload["written"]["sha256"]
        assert upload["image"]["sha256"] == upload["volume"]["sha256"]
        attach = xc["volume-attach-rbd"]["evidence"]
        assert attach["volume"]["status"] == "in-use"
        assert attach["attachment"]["connection_info"]["driver_volume_type"] == "rbd"
        assert attach["probe"]["opened"] and attach["probe"]["node"] == attach["server"]["host"]
        obj = xc["object-store-rgw"]["evidence"]
        assert obj["rgw"]["num_objects"] == 1 and obj["s3"]["sha256"] == obj["swift"]["sha256"]
        after = xc["ceph-after-checks"]["evidence"]
        assert after["health"] == "HEALTH_OK" and after["left_behind"] == {}
        # each layer's own checks passed on the same cloud
        assert set(by_layer["ceph"]) >= CEPH_CHECKS
        assert {r["status"] for r in by_layer["ceph"].values()} == {"pass"}
        osc = by_layer["openstack"]
        expected = API_CHECKS | ENDPOINTS | {c.format(h=h) for c in PER_HOST
                                            for h in ("compute1", "compute2")}
        expected |= {f"{k}:{a}->{b}" for k in ("guest-ping", "security-group-icmp")
                     for a, b in PAIRS}
        assert set(osc) == expected, sorted(set(osc) ^ expected)
        assert {r["status"] for r in osc.values()} == {"pass"}, [
            (r["check"], r.get("reason")) for r in osc.values() if r["status"] != "pass"]
        for host in ("compute1", "compute2"):
            assert osc[f"server-active:{host}"]["evidence"]["server"]["host"] == host
            assert osc[f"port-bound-ovn:{host}"]["evidence"]["expected_chassis"] == host
        dhcp = osc["guest-dhcp:compute1"]["evidence"]
        assert dhcp["expected"]["ip"] == dhcp["lease"]["ip"]
        assert int(dhcp["lease"]["mtu"]) == int(dhcp["expected"]["mtu"]) < 1450
        sg = osc["security-group-icmp:compute1->compute2"]["evidence"]
        assert sg["removed"]["received"] == 0 and sg["restored"]["received"] > 0
        phases = {(p["phase"], p["name"]) for p in results["phases"]}
        assert {("deploy", "ceph"), ("deploy", "openstack"), ("validate", "integration"),
                ("validate", "interop")} <= phases, phases
        # the interop guideline's required Tempest tests ran against the same cloud: one record
        # per capability of 2020.06's OpenStack Powered Platform, none failed, and each skip
        # says why (what the fake virt driver cannot have, tests Tempest itself skips, flags)
        assert re.search(r"PLAYBOOK END: run playbook crossgate/crossgate/playbooks/"
                         r"interop/run.yaml: OK", console), console[-6000:]
        interop = by_layer["interop"]
        assert len(interop) == 78, sorted(interop)
        assert not [c for c, r in interop.items() if r["status"] == "fail"], [
            (c, r.get("reason")) for c, r in interop.items() if r["status"] == "fail"]
        # one test per capability ran (validate_interop_tests_per_capability: 1): a skip is
        # one of those the whole list gives, with its reason; the capabilities whose tests are
        # all flagged are skips either way
        skipped = {c: r["reason"] for c, r in interop.items() if r["status"] == "skip"}
        assert set(skipped) <= set(INTEROP_SKIPS), skipped
        assert {"compute-servers-resize", "identity-v3-list-projects"} <= set(skipped), skipped
        for capability, why in skipped.items():
            assert INTEROP_SKIPS[capability] in why, (capability, why)
        ran = [t for r in interop.values() for t in r["evidence"]["passed"]]
        assert 60 <= len(ran) <= 76, len(ran)
        for capability in ("objectstore-temp-url-get", "objectstore-temp-url-put",
                           "objectstore-account-quotas", "volumes-v3-upload"):
            evidence = interop[capability]["evidence"]
            assert evidence["passed"] and not evidence["failed"], (capability, evidence)
            assert "not_sampled" not in evidence or evidence["per_capability"] == 1
        interop_logs = logs / "controller/interop"
        assert (interop_logs / "results.subunit").stat().st_size > 0
        assert re.search(r"^Totals$", (interop_logs / "stestr-last.txt").read_text(), re.M)
        # Kubernetes on the same cloud: the nodes are its servers (OCCM's providerIDs, their
        # addresses from Neutron), a claim is a Cinder volume that is an RBD image, grown by
        # expansion, attached to the server of its pod's node; what local nodes cannot do is
        # skipped with its reason
        assert ("PLAYBOOK END: post playbook example/openstack-ceph/playbooks/"
                "kubernetes-openstack.yaml: OK") in console, console[-6000:]
        k8s = by_layer["kubernetes"]
        assert set(k8s) == K8S_PASS | set(K8S_SKIP), sorted(set(k8s) ^ (K8S_PASS | set(K8S_SKIP)))
        assert {c for c, r in k8s.items() if r["status"] == "pass"} == K8S_PASS, [
            (c, r.get("reason")) for c, r in k8s.items() if r["status"] != "pass"]
        for check, why in K8S_SKIP.items():
            assert k8s[check]["status"] == "skip" and why in k8s[check]["reason"], k8s[check]
        for node in K8S_NODES:
            seen = xc[f"node-server:{node}"]["evidence"]
            assert k8s[f"provider-id:{node}"]["evidence"]["provider_id"] == \
                f"openstack:///{seen['server']}" and seen["name"] == node
            assert seen["ips"] == [seen["internal_ip"]]
        chain = xc["pvc-cinder-rbd"]["evidence"]
        assert chain["cinder"]["csi.storage.k8s.io/pvc/name"] == "crossgate-volume"
        assert chain["cinder"]["size"] == chain["k8s_size_gb"] == 2
        rbd = {k: chain["rbd"].get(k) for k in ("pool", "image", "size")}
        assert rbd == {"pool": "volumes", "image": f"volume-{chain['volume_handle']}",
                       "size": 2 * 2**30}, chain["rbd"]
        # its VolumeSnapshot is a Cinder snapshot of that volume, an RBD snapshot of its image
        snap = xc["volume-snapshot-cinder"]["evidence"]
        assert snap["snapshot_handle"] == k8s["volume-snapshot"]["evidence"]["snapshot_handle"]
        assert snap["cinder"]["volume_id"] == chain["volume_handle"] == snap["volume_handle"]
        assert snap["cinder"]["csi.storage.k8s.io/volumesnapshot/name"] == "crossgate-snapshot"
        assert snap["cinder"]["status"] == "available" and snap["cinder"]["size"] == 2
        assert f"snapshot-{snap['snapshot_handle']}" in snap["rbd"]["snapshots"], snap["rbd"]
        attached = xc["volume-attached-server"]["evidence"]
        assert attached["server"] == xc["node-server:k8s2"]["evidence"]["server"]
        assert [a["server_id"] for a in attached["attachments"]] == [attached["server"]]
        assert {("deploy", "kubernetes"), ("validate", "kubernetes")} <= phases, phases
        # its two links to OpenStack, broken in turn, failed their checks naming them
        assert "PLAYBOOK END: post playbook example/openstack-ceph/playbooks/" \
               "kubernetes-links-broken.yaml: OK" in console
        assert re.search(r"BROKEN LINK occm-password: kubernetes checks failed on k8s1: "
                         r"openstack-cloud-controller-manager (restarted while checked|is )",
                         console)
        assert re.search(r"BROKEN LINK volume-type: kubernetes checks failed on k8s1: claim "
                         r"crossgate-volume is Pending: .*Volume type with name "
                         r"crossgate-no-such-type could not be found", console)
        # glance-api restarted while validate-openstack ran: the validation, started while
        # glance answered (its endpoint check passed), failed its image round trip naming the
        # image API and the step the restart cut, and nothing else; glance answered again
        assert "PLAYBOOK END: post playbook example/openstack-ceph/playbooks/" \
               "service-unhealthy.yaml: OK" in console
        restarted = re.search(r"SERVICE RESTARTED: openstack checks failed on controller: (.*)",
                              console)
        assert restarted, re.findall(r"SERVICE RESTARTED.*", console)
        failed = restarted.group(1).split("; evidence:")[0]
        assert re.match(r"image-roundtrip: (upload|download) failed at the image API "
                        r"http://\S+:9292\S*: ", failed), failed
        assert not re.search(r"; (token-catalog|endpoint:\S+|placement\S*): ", failed), failed
        # a service that never became healthy failed deploy-openstack's wait after its bound,
        # naming it, its unit's state and its log
        assert re.search(r"UNHEALTHY SERVICE: after 20 s \(deploy_openstack_wait_timeout\): "
                         r"glance \(http://\S+:9292/?\) did not answer \(.*\); its unit "
                         r"crossgate-glance-api is active \(running\) after \d+ restarts, last "
                         r"result success; its log: journalctl -u crossgate-glance-api on "
                         r"controller", console), re.findall(r"UNHEALTHY SERVICE.*", console)
        # and validate-openstack, meanwhile, named the image API in its failed checks
        down = re.search(r"SERVICE DOWN: openstack checks failed on controller: (.*)", console)
        assert down and re.search(r"endpoint:image: image at http://\S+:9292 did not answer",
                                  down.group(1)), down
        assert re.search(r"image-roundtrip: upload failed at the image API http://\S+:9292",
                         down.group(1)), down.group(1)
        # a second deploy of every layer changed nothing
        recaps = recaps_of(console, "redeploy.yaml")
        assert set(recaps) == {"controller", "compute1", "compute2", *K8S_NODES}, recaps
        assert {h: c["changed"] for h, c in recaps.items()} == dict.fromkeys(recaps, 0)
        assert all(c["failed"] == 0 for c in recaps.values())
        # the change under test is what Placement runs
        assert "PLAYBOOK END: post playbook example/openstack-ceph/playbooks/" \
               "change-deployed.yaml: OK" in console
        deployed = re.search(r"CHANGE DEPLOYED openstack-placement (\S+):", console)
        assert deployed and deployed.group(1).startswith("16.0.1.dev"), deployed
        assert re.search(r"CHANGE DEPLOYED openstack-placement \S+: .*x-crossgate-change"
                         r'\\?": \\?"' + MARKER, console)
        # each broken link failed its check, with the evidence of the break
        assert "PLAYBOOK END: post playbook example/openstack-ceph/playbooks/" \
               "links-broken.yaml: OK" in console
        assert re.search(r"BROKEN LINK glance-file-store: image-in-rbd fail: no RBD image "
                         r"images/\S+ in Ceph \(Glance stores it in 'fs'\)", console)
        assert re.search(r"BROKEN LINK compute-user-caps: volume-upload-roundtrip fail: .*"
                         r"as client.nova on compute1 failed: PermissionError", console)
        assert re.search(r"BROKEN LINK compute-user-caps: volume-attach-rbd fail: client.nova "
                         r"on compute[12] cannot open volumes/volume-", console)
        assert re.search(r"BROKEN LINK rgw-s3-keystone: object-store-rgw fail: S3 with EC2 "
                         r"credentials failed: HTTP 403", console)
        # and the fault after it all failed the build in post-run, naming compute2 and
        # nova-compute
        assert (rc, build["result"]) == (1, "POST_FAILURE"), console[-6000:]
        assert ("PLAYBOOK END: post playbook example/openstack-ceph/playbooks/"
                "compute-stopped.yaml: FAILED") in console
        assert "compute2: nova-compute is down (enabled)" in console
        # the logs of both layers came back, secrets masked
        controller = logs / "controller/openstack"
        assert (controller / "journal/crossgate-cinder-volume.txt").is_file()
        assert (controller / "journal/crossgate-nova-api.txt").is_file()
        assert (logs / "compute2/openstack/journal/crossgate-nova-compute.txt").is_file()
        nova_conf = (controller / "config/nova/nova.conf.txt").read_text()
        assert re.search(r"^password = \*\*\*$", nova_conf, re.M), nova_conf[:2000]
        assert "rabbit://openstack:***@" in nova_conf
        secrets = (controller / "config/openstack/crossgate-secrets.json.txt").read_text()
        values = re.findall(r'"[a-z_]+_password": (.*?),?$', secrets, re.M)
        assert len(values) == 17 and set(values) == {"***"}, secrets
        clouds = (controller / "config/openstack/clouds.yaml.txt").read_text()
        assert re.findall(r"password: (.*)", clouds) == ["***", "***"], clouds
        k8s_logs = logs / "k8s1/kubernetes"
        for unit in ("openstack-cloud-controller-manager", "crossgate-csi-controller",
                     "crossgate-csi-provisioner", "crossgate-csi-attacher",
                     "crossgate-csi-snapshotter", "crossgate-snapshot-controller", "kubelet"):
            assert (k8s_logs / f"journal/{unit}.txt").is_file(), unit
        assert (logs / "k8s2/kubernetes/journal/crossgate-csi-node.txt").is_file()
        no_key_in(logs)

    def test_no_secret_reached_what_the_build_left(
            self, built: tuple[int, dict, str, Path]) -> None:
        """The canaries (every password of the cloud) and Keystone's tokens (Fernet:
        gAAAAA...) reached nothing the build left: console, logs, inventories, results,
        report, data."""
        _rc, _build, console, build_dir = built
        hits = leaks_in(build_dir, re.compile(r"cg" r"canary|gAAAAA[A-Za-z0-9_-]{40}"))
        assert hits == [], hits[:10]
        assert "PLAYBOOK END: pre playbook example/openstack-ceph/playbooks/" \
               "canary-secrets.yaml: OK" in console
