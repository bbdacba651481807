"""validate-openstack refuses, on entry, a validation that would check nothing or check from
nodes the play does not have.

As in test_validate_inputs.py: ansible-playbook runs on the host against an inventory whose hosts
point at a closed port on loopback. The entry checks run before any task reaches a node, so a
bad input must fail there with its message; one that got through would end UNREACHABLE. The
contract comes in as the variable validate_openstack_contract (a job takes it from the
controller's contract file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from entrycheck import run_role

CONTRACT = {
    "release": "2026.2",
    "services": ["keystone", "glance", "placement", "nova", "neutron"],
    "endpoints": {"identity": "http://10.0.0.1:5000/v3"},
    "public_network": "public",
    "tenant_network": "crossgate-private",
    "tenant_subnet": "crossgate-private-subnet",
    "tenant_cidr": "10.1.0.0/24",
    "router": "crossgate-router",
    "compute_hosts": ["compute1", "compute2"],
    "chassis": {"compute1": "compute1", "compute2": "compute2"},
    "client_python": "/opt/openstack/client/bin/python3",
    "metadata": True,
}


def run(tmp_path: Path, variables: dict, hosts: str = "all") -> tuple[int, str]:
    return run_role(tmp_path, "validate-openstack",
                    {"controller": ["controller"], "compute": ["compute1", "compute2"]},
                    variables, hosts)


def given(contract: dict | None = None, **variables: object) -> dict:
    return {"validate_openstack_contract": {**CONTRACT, **(contract or {})}, **variables}


BAD = [
    (given(validate_openstack_node="ghost"), "all",
     "validate_openstack_node=ghost is not a host of this play; allowed: controller, compute1, "
     "compute2 (empty: the first node of validate_openstack_controller_group)."),
    (given(), "compute",
     "validate_openstack_node is empty and the first node of group controller, controller, is "
     "not a host of this play; allowed: compute1, compute2"),
    (given(validate_openstack_api_checks=[], validate_openstack_servers=False,
           validate_openstack_behaviour=False), "all",
     "validate-openstack would run no check: validate_openstack_api_checks=[] and "
     "validate_openstack_servers=false; allowed: at least one check on."),
    (given(validate_openstack_api_checks=["token-catalog", "tempest"]), "all",
     "validate_openstack_api_checks names tempest; allowed: token-catalog, endpoints, "
     "image-roundtrip, tenant-network, hypervisors, placement."),
    (given(validate_openstack_servers=False), "all",
     "validate_openstack_behaviour=true needs validate_openstack_servers=true"),
    (given(), "controller,compute1",
     "the behaviour checks plug guests on every node of group compute, but compute2 is not a "
     "host of this play; allowed: a play with all of them, or validate_openstack_behaviour=false."),
    (given({"compute_hosts": []}), "all",
     "the contract (/etc/openstack/crossgate-contract.json) has compute_hosts=[]; allowed: one "
     "hypervisor name per node of group compute (compute1, compute2)."),
    (given({"client_python": ""}), "all",
     "the contract has no client_python; allowed: the path of a Python with openstacksdk on "
     "controller."),
    (given({"compute_hosts": ["compute1"]}), "all",
     "the contract has 1 compute_hosts (compute1) but group compute has 2 node(s) (compute1, "
     "compute2); allowed: one compute host per node, in group order."),
]


@pytest.mark.parametrize(("variables", "hosts", "message"), BAD,
                         ids=[f"bad-{i}" for i in range(len(BAD))])
def test_bad_input_fails_on_entry(tmp_path: Path, variables: dict, hosts: str,
                                  message: str) -> None:
    rc, out = run(tmp_path, variables, hosts)
    assert rc == 2, out
    assert message in " ".join(out.split()), out
    assert "UNREACHABLE" not in out  # it failed before any task reached a node


@pytest.mark.parametrize(("variables", "hosts"), [
    (given(), "all"),
    (given(validate_openstack_behaviour=False), "controller"),
    (given({"compute_hosts": ["compute1"]}, validate_openstack_behaviour=False), "all"),
    # the contract from the controller's file: its read is the first task to reach a node
    ({}, "all"),
])
def test_good_input_gets_past_the_checks(tmp_path: Path, variables: dict, hosts: str) -> None:
    rc, out = run(tmp_path, variables, hosts)
    assert rc != 0
    assert "UNREACHABLE" in out, out
