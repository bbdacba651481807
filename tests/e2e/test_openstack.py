"""The OpenStack layer end to end: crossgate-openstack-multinode on 3 local nodes (OpenStack
2026.2 from the host mirror's wheels, MariaDB, RabbitMQ and OVN from its Debian packages),
every check of validate-openstack, then a fault on the same cloud: nova-compute of compute2
stopped, and validation again must fail naming compute2 and the service.

One deployment serves both: tests/e2e/openstack-repo's job is crossgate-openstack-multinode
with one more post-run playbook (Zuul runs a child's post-run before its parent's), so its run
phase is exactly crossgate's job, and the fault comes after it, before the logs are collected."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_ceph import run_job  # the same build, leftovers and pool checks

pytestmark = pytest.mark.e2e

API_CHECKS = {"token-catalog", "image-roundtrip", "tenant-network", "hypervisors"}
ENDPOINTS = {f"endpoint:{t}" for t in ("identity", "placement", "image", "compute", "network")}
PER_HOST = ("placement-inventory:{h}", "server-active:{h}", "port-bound-ovn:{h}",
            "guest-dhcp:{h}", "guest-metadata:{h}")
PAIRS = (("compute1", "compute2"), ("compute2", "compute1"))


class TestOpenStackMultinode:
    """crossgate-openstack-multinode, then nova-compute of compute2 stopped."""

    def test_every_check_passes_then_a_stopped_compute_fails_naming_it(
            self, tmp_path: Path) -> None:
        rc, build, console, build_dir = run_job(tmp_path, "openstack-compute-stopped",
                                                repo="openstack-repo")
        logs = build_dir / "work/logs"
        # crossgate's own run playbook (deploy, every check) passed as it is ...
        assert re.search(r"PLAYBOOK END: run playbook crossgate/crossgate/playbooks/openstack/"
                         r"run\.yaml: OK", console), console[-6000:]
        results = json.loads((logs / "crossgate-results/results.json").read_text())
        records = [r for r in results["records"] if r["layer"] == "openstack"]
        by_check = {r["check"]: r for r in records}
        expected = API_CHECKS | ENDPOINTS | {c.format(h=h) for c in PER_HOST
                                            for h in ("compute1", "compute2")}
        expected |= {f"{k}:{a}->{b}" for k in ("guest-ping", "security-group-icmp")
                     for a, b in PAIRS}
        assert set(by_check) == expected, sorted(by_check)
        assert len(records) == len(expected) >= 12
        assert {r["status"] for r in records} == {"pass"}, [
            (r["check"], r["reason"]) for r in records if r["status"] != "pass"]
        # the servers landed one per compute node, bound to that node's chassis
        for host in ("compute1", "compute2"):
            assert by_check[f"server-active:{host}"]["evidence"]["server"]["host"] == host
            bound = by_check[f"port-bound-ovn:{host}"]["evidence"]
            assert bound["expected_chassis"] == host
        # DHCP gave each stand-in what Neutron says, MTU included (Geneve over the overlay)
        dhcp = by_check["guest-dhcp:compute1"]["evidence"]
        assert dhcp["expected"]["ip"] == dhcp["lease"]["ip"]
        assert int(dhcp["lease"]["mtu"]) == int(dhcp["expected"]["mtu"]) < 1450
        # the security group check saw the ping blocked without the rule and back with it
        sg = by_check["security-group-icmp:compute1->compute2"]["evidence"]
        assert sg["removed"]["received"] == 0 and sg["restored"]["received"] > 0
        assert {p["name"] for p in results["phases"]} >= {"multinode", "nodes", "openstack"}
        # ... and the fault after it failed the build in post-run, naming compute2 and
        # nova-compute
        assert (rc, build["result"]) == (1, "POST_FAILURE"), console[-6000:]
        assert ("PLAYBOOK END: post playbook example/openstack/playbooks/compute-stopped.yaml:"
                " FAILED") in console
        assert "openstack checks failed on controller" in console
        assert "compute2: nova-compute is down (enabled)" in console
        # collect-openstack-logs ran after the fault: journals, masked configs, listings
        controller = logs / "controller/openstack"
        assert (controller / "journal/crossgate-nova-api.txt").is_file()
        assert "down" in (controller / "listings/compute-service-list.txt").read_text()
        assert (logs / "compute2/openstack/journal/crossgate-nova-compute.txt").is_file()
        # the per-build passwords came back masked, wherever they were written
        nova_conf = (controller / "config/nova/nova.conf.txt").read_text()
        assert re.search(r"^password = \*\*\*$", nova_conf, re.M), nova_conf[:2000]
        assert "rabbit://openstack:***@" in nova_conf
        secrets = (controller / "config/openstack/crossgate-secrets.json.txt").read_text()
        values = re.findall(r'"[a-z_]+_password": (.*?),?$', secrets, re.M)
        assert len(values) == 14 and set(values) == {"***"}, secrets
        clouds = (controller / "config/openstack/clouds.yaml.txt").read_text()
        assert re.findall(r"password: (.*)", clouds) == ["***", "***"], clouds
