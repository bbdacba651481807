"""deploy-openstack refuses bad input on entry, naming the variable, the value and what is
allowed, before any task reaches a node.

Runs ansible-playbook on the host against an inventory whose hosts point at a closed port on
loopback: a bad input must fail in the entry checks (the argument specs or the role's first
assert); one that got through would end UNREACHABLE instead. Each case is timed: the issue's
bound is 10 s, and the slowest case is printed (tests do not assert wall-clock time)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from entrycheck import run_role


def run(tmp_path: Path, variables: dict, controller: list[str] | None = None,
        compute: list[str] | None = None) -> tuple[int, str, float]:
    started = time.monotonic()
    rc, out = run_role(tmp_path, "deploy-openstack",
                       {"controller": ["controller"] if controller is None else controller,
                        "compute": ["compute1", "compute2"] if compute is None else compute},
                       variables)
    return rc, out, time.monotonic() - started


@pytest.mark.parametrize(("variables", "controller", "compute", "message"), [
    ({"deploy_openstack_services": ["keystone", "placement", "glance", "nova", "neutron",
                                    "swift"]}, None, None,
     "value of deploy_openstack_services must be one or more of: keystone, placement, glance, "
     "nova, neutron, cinder. Got no match for: swift"),
    ({"deploy_openstack_services": ["keystone", "placement", "nova", "neutron"]}, None, None,
     "lacks glance; allowed: a list holding keystone, placement, glance, nova, neutron"),
    ({}, None, [],
     "deploy_openstack_compute_group=compute names no node (empty or absent group); "
     "allowed: a group with at least one node"),
    ({"deploy_openstack_compute_group": "no_such_group"}, None, None,
     "deploy_openstack_compute_group=no_such_group names no node"),
    ({}, None, ["controller", "compute1"],
     "controller is in both deploy_openstack_controller_group=controller and "
     "deploy_openstack_compute_group=compute with deploy_openstack_allow_converged=false; "
     "allowed: separate groups, or deploy_openstack_allow_converged=true"),
    ({}, ["controller", "compute1"], ["compute2"],
     "deploy_openstack_controller_group=controller has 2 node(s) (controller, compute1); "
     "allowed: exactly one node"),
    ({"deploy_openstack_release": "2025.1"}, None, None,
     "value of deploy_openstack_release must be one of: 2026.2, got: 2025.1"),
    ({"deploy_openstack_virt_driver": "kvm"}, None, None,
     "value of deploy_openstack_virt_driver must be one of: libvirt, fake, got: kvm"),
    ({"deploy_openstack_tenant_cidr": "10.42.0.1/24"}, None, None,
     "deploy_openstack_tenant_cidr=10.42.0.1/24: not an IPv4 network; allowed: a.b.c.d/N with N "
     "from 8 to 29 and no host bits set"),
    ({"deploy_openstack_public_cidr": "public"}, None, None,
     "deploy_openstack_public_cidr=public: not an IPv4 network"),
    ({"deploy_openstack_tunnel_cidr": "172.24.6.0/30"}, None, None,
     "deploy_openstack_tunnel_cidr=172.24.6.0/30: not an IPv4 network"),
    ({"deploy_openstack_wait_timeout": 0}, None, None,
     "deploy_openstack_wait_timeout=0, deploy_openstack_wait_delay=1, "
     "deploy_openstack_command_timeout=120: each must be 1 or more seconds"),
    ({"deploy_openstack_services": ["keystone", "placement", "glance", "nova", "neutron",
                                    "cinder"]}, None, None,
     "deploy_openstack_services has cinder with deploy_openstack_ceph=false: the only volume "
     "backend this role configures is Ceph RBD; allowed: deploy_openstack_ceph=true"),
    ({"deploy_openstack_ceph": True}, None, None,
     "deploy_openstack_ceph=true but this node has no deploy_ceph_contract fact; allowed: "
     "deploy-ceph run earlier in the job"),
    ({"deploy_openstack_ceph": True,
      "deploy_ceph_contract": {"clients": {"glance": "client.glance"},
                               "pools": ["images", "volumes", "vms"]}},
     None, None,
     "deploy_openstack_ceph_clients.cinder=cinder is not a client of the Ceph contract; "
     "allowed: glance."),
])
def test_bad_input_fails_on_entry(tmp_path: Path, variables: dict, controller: list[str] | None,
                                  compute: list[str] | None, message: str) -> None:
    rc, out, seconds = run(tmp_path, variables, controller, compute)
    assert rc == 2, out
    assert message in " ".join(out.split()), out
    assert "UNREACHABLE" not in out  # it failed before any task reached a node
    print(f"failed on entry in {seconds:.1f} s")


def test_good_input_gets_past_the_checks(tmp_path: Path) -> None:
    # The same inventory with good input passes the entry checks and goes on to the nodes,
    # which here do not answer: proof that the failures above came from the checks.
    rc, out, _ = run(tmp_path, {"deploy_openstack_virt_driver": "fake"})
    assert rc != 0
    assert "UNREACHABLE" in out, out
