"""deploy-kubernetes and validate-kubernetes refuse bad input on entry, naming the variable, the
value and what is allowed, before any task reaches a node (entrycheck: the nodes of the
inventory do not answer, so input that got through ends UNREACHABLE)."""

from __future__ import annotations

from pathlib import Path

import pytest
from entrycheck import run_role

GOOD = {"deploy_kubernetes_programs_url": "http://10.0.0.1:8780/go/"}


def run(tmp_path: Path, role: str, variables: dict,
        control_plane: list[str] | None = None) -> tuple[int, str]:
    return run_role(tmp_path, role,
                    {"k8s_control_plane": ["controller"] if control_plane is None
                     else control_plane, "k8s_worker": ["compute1"]},
                    {**GOOD, **variables})


@pytest.mark.parametrize(("variables", "control_plane", "message"), [
    ({"deploy_kubernetes_mode": "kind"}, None,
     "value of deploy_kubernetes_mode must be one of: systemd, kubeadm, got: kind"),
    ({"deploy_kubernetes_cloud_provider": "aws"}, None,
     "value of deploy_kubernetes_cloud_provider must be one of: none, openstack, got: aws"),
    ({}, [], "deploy_kubernetes_control_plane_group=k8s_control_plane names no node (empty or "
             "absent group); allowed: a group with at least one node"),
    ({"deploy_kubernetes_version": "v1.34.4"}, None,
     "deploy_kubernetes_version=v1.34.4 is not allowed; allowed: a minor version such as 1.34"),
    ({"deploy_kubernetes_programs_url": ""}, None,
     "deploy_kubernetes_programs_url is empty; allowed: the URL of the program sets"),
    ({"deploy_kubernetes_pod_cidr": "10.244.0.0/12"}, None,
     "deploy_kubernetes_pod_cidr=10.244.0.0/12 is not allowed; allowed: a /16 ending in .0.0"),
    ({"deploy_kubernetes_service_cidr": "services"}, None,
     "deploy_kubernetes_service_cidr=services is not allowed; allowed: an IPv4 range"),
    ({"deploy_kubernetes_wait_timeout": 0}, None,
     "deploy_kubernetes_wait_timeout=0, deploy_kubernetes_wait_delay=2, "
     "deploy_kubernetes_download_timeout=300, deploy_kubernetes_programs_wait_timeout=1800: "
     "each must be 1 or more seconds"),
    ({"deploy_kubernetes_programs_wait_timeout": 0}, None,
     "deploy_kubernetes_programs_wait_timeout=0: each must be 1 or more seconds"),
])
def test_deploy_refuses_bad_input_on_entry(tmp_path: Path, variables: dict,
                                           control_plane: list[str] | None,
                                           message: str) -> None:
    rc, out = run(tmp_path, "deploy-kubernetes", variables, control_plane)
    assert rc == 2, out
    assert message in " ".join(out.split()), out
    assert "UNREACHABLE" not in out


@pytest.mark.parametrize(("variables", "message"), [
    ({"validate_kubernetes_contract": {"kubeconfig_node": "elsewhere"}},
     "the Kubernetes contract names kubeconfig_node=elsewhere, not a host of this play"),
    ({"validate_kubernetes_contract": {"kubeconfig_node": "controller"},
      "validate_kubernetes_wait_timeout": -1},
     "validate_kubernetes_wait_timeout=-1, validate_kubernetes_delay=2: each must be 1 or more"),
])
def test_validate_refuses_bad_input_on_entry(tmp_path: Path, variables: dict,
                                             message: str) -> None:
    rc, out = run(tmp_path, "validate-kubernetes", variables)
    assert rc == 2, out
    assert message in " ".join(out.split()), out
    assert "UNREACHABLE" not in out


def test_good_input_gets_past_the_checks(tmp_path: Path) -> None:
    rc, out = run(tmp_path, "deploy-kubernetes", {})
    assert rc != 0
    assert "UNREACHABLE" in out, out
