"""The validate roles refuse, on entry, a validation that would check nothing.

As in test_ceph_inputs.py: ansible-playbook runs on the host against an inventory whose hosts
point at a closed port on loopback. The entry checks run before any task reaches a node, so a
bad input must fail there with its message; one that got through would end UNREACHABLE. The
facts the roles read from the layers below (the Ceph contract, the overlay addresses) come in
as extra vars."""

from __future__ import annotations

from pathlib import Path

import pytest
from entrycheck import run_role

CONTRACT = {
    "admin_node": "controller",
    "osd_count": 2,
    "pools": ["volumes", "images", "vms"],
    "clients": {"glance": "client.glance", "cinder": "client.cinder", "nova": "client.nova"},
    "rgw_endpoints": ["http://10.0.0.1:7480"],
}
ADDRESSES = {"controller": "172.24.4.1", "compute1": "172.24.4.2", "compute2": "172.24.4.3"}


def run(tmp_path: Path, role: str, variables: dict, hosts: str = "all") -> tuple[int, str]:
    return run_role(tmp_path, role, {"ceph": ["controller", "compute1"]}, variables, hosts)


def ceph(contract: dict | None = None, **variables: object) -> dict:
    return {"deploy_ceph_contract": {**CONTRACT, **(contract or {})}, **variables}


def network(addresses: dict | None = None, **variables: object) -> dict:
    return {"configure_overlay_addresses": ADDRESSES if addresses is None else addresses,
            "configure_overlay_mtu_effective": 1400, **variables}


NO_CEPH_CHECK = dict(validate_ceph_cluster_checks=False, validate_ceph_rbd_pool="",
                     validate_ceph_rados_pool="", validate_ceph_s3=False)

BAD = [
    ("validate-ceph", ceph(validate_ceph_node="ghost"), "all",
     "validate_ceph_node=ghost is not a host of this play; allowed: controller, compute1, "
     "compute2 (empty: the admin node)."),
    ("validate-ceph", ceph(), "ceph:!controller",
     "validate_ceph_node is empty and the admin node of the contract, controller, is not a host "
     "of this play; allowed: compute1 (empty: the admin node)."),
    ("validate-ceph", ceph(validate_ceph_node="compute2"), "ceph",
     "validate_ceph_node=compute2 is not a host of this play; allowed: controller, compute1 "
     "(empty: the admin node)."),
    ("validate-ceph", ceph(**NO_CEPH_CHECK), "all",
     "validate-ceph would run no check: validate_ceph_cluster_checks=false, "
     "validate_ceph_rbd_pool=, validate_ceph_rados_pool=, validate_ceph_s3=false with RGW "
     "endpoints [http://10.0.0.1:7480]; allowed: at least one check on."),
    ("validate-ceph", ceph({"rgw_endpoints": []}, **{**NO_CEPH_CHECK, "validate_ceph_s3": True}),
     "all",
     "validate-ceph would run no check: validate_ceph_cluster_checks=false, "
     "validate_ceph_rbd_pool=, validate_ceph_rados_pool=, validate_ceph_s3=true with RGW "
     "endpoints []; allowed: at least one check on."),
    ("validate-ceph", ceph(validate_ceph_rbd_pool="volume"), "all",
     "validate_ceph_rbd_pool=volume is not a pool of the contract; allowed: volumes, images, "
     "vms (empty: no rbd round trip)."),
    ("validate-ceph", ceph({"pools": []}), "all",
     "validate_ceph_rbd_pool=volumes is not a pool of the contract; allowed: none (empty: no "
     "rbd round trip). validate_ceph_rados_pool=images is not a pool of the contract; "
     "allowed: none (empty: no rados round trip)."),
    ("validate-ceph", ceph(validate_ceph_rados_client="swift"), "all",
     "validate_ceph_rados_client=swift is not a client of the contract; allowed: glance, "
     "cinder, nova."),
    ("validate-ceph", ceph({"clients": {}}, validate_ceph_rados_pool=""), "all",
     "validate_ceph_rbd_client=cinder is not a client of the contract; allowed: none."),
    ("validate-ceph", {}, "all",
     "validate-ceph needs the contract of deploy-ceph (the fact deploy_ceph_contract) on "
     "controller; run deploy-ceph first in the same job"),
    ("validate-network", network(validate_network_nodes=["controller", "ghost"]), "all",
     "validate_network_nodes=controller,ghost names ghost, not a host of this play; allowed: "
     "controller, compute1, compute2 (empty: every host of the play with an overlay "
     "address)."),
    ("validate-network", network(validate_network_nodes=["compute2"]), "ceph",
     "validate_network_nodes=compute2 names compute2, not a host of this play; allowed: "
     "controller, compute1 (empty: every host of the play with an overlay address)."),
    ("validate-network", network({"controller": "172.24.4.1", "compute1": "172.24.4.2"},
                                 validate_network_nodes=["compute2"]), "all",
     "validate_network_nodes=compute2 names compute2, which has no overlay address; allowed: "
     "controller, compute1."),
    ("validate-network", network({"compute1": "172.24.4.2", "compute2": "172.24.4.3"}),
     "controller",
     "validate-network would run no check: no host of this play (controller) has an overlay "
     "address in configure_overlay_addresses (compute1, compute2); allowed: run "
     "configure-overlay first on the same hosts."),
    ("validate-network", network({"controller": "172.24.4.1"}), "all",
     "validate-network would run no check: configure_overlay_addresses has 1 node(s) "
     "(controller), no pair to ping; allowed: 2 or more nodes on the overlay."),
    ("validate-network", network({}), "all",
     "validate-network would run no check: configure_overlay_addresses has 0 node(s) (none), "
     "no pair to ping; allowed: 2 or more nodes on the overlay."),
    ("validate-network", network(validate_network_ping_count=0), "all",
     "validate_network_ping_count=0 is not allowed; allowed: 1 to 100."),
    ("validate-network", network(validate_network_ping_timeout=120), "all",
     "validate_network_ping_timeout=120 is not allowed; allowed: 1 to 60 seconds."),
]


@pytest.mark.parametrize(("role", "variables", "hosts", "message"), BAD,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_fails_on_entry(tmp_path: Path, role: str, variables: dict, hosts: str,
                                  message: str) -> None:
    rc, out = run(tmp_path, role, variables, hosts)
    assert rc == 2, out
    assert message in " ".join(out.split()), out
    assert "UNREACHABLE" not in out  # it failed before any task reached a node


@pytest.mark.parametrize(("role", "variables", "hosts"), [
    ("validate-ceph", ceph(), "all"),
    ("validate-ceph", ceph(**{**NO_CEPH_CHECK, "validate_ceph_s3": True}), "all"),
    ("validate-ceph", ceph(validate_ceph_node="compute1"), "ceph"),
    ("validate-network", network(), "all"),
    ("validate-network", network(validate_network_nodes=["compute1"]), "all"),
])
def test_good_input_gets_past_the_checks(tmp_path: Path, role: str, variables: dict,
                                         hosts: str) -> None:
    # Good input passes the entry checks and goes on to the nodes, which here do not answer:
    # proof that the failures above came from the checks.
    rc, out = run(tmp_path, role, variables, hosts)
    assert rc != 0
    assert "UNREACHABLE" in out, out
