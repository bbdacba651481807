"""deploy-ceph refuses bad input on entry, naming the variable, the value and what is allowed.

Runs ansible-playbook on the host against an inventory whose hosts point at a closed port on
loopback: the checks run on entry, before any task reaches a node, so a bad input must fail
there; a check that let it through would end UNREACHABLE instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from entrycheck import run_role


def run(tmp_path: Path, variables: dict, mons: list[str] | None = None,
        osds: list[str] | None = None) -> tuple[int, str]:
    return run_role(tmp_path, "deploy-ceph",
                    {"ceph_mon": ["controller"] if mons is None else mons,
                     "ceph_osd": ["compute1", "compute2"] if osds is None else osds},
                    variables)


@pytest.mark.parametrize(("variables", "mons", "osds", "message"), [
    ({"deploy_ceph_osd_count": 3}, None, None,
     "deploy_ceph_osd_count=3 is more OSDs than the 2 hosts of deploy_ceph_osd_group=ceph_osd; "
     "allowed: 0 (one per host) to 2 (one OSD per host)"),
    ({"deploy_ceph_objectstore": "filestore"}, None, None,
     "value of deploy_ceph_objectstore must be one of: bluestore, memstore, got: filestore"),
    ({}, [], None,
     "deploy_ceph_mon_group=ceph_mon names no node (empty or absent group); "
     "allowed: a group with at least one node"),
    ({"deploy_ceph_mon_group": "no_such_group"}, None, None,
     "deploy_ceph_mon_group=no_such_group names no node"),
    ({"deploy_ceph_pool_size": 3}, None, None,
     "deploy_ceph_pool_size=3 is larger than the OSD count (2); allowed: 1 to 2"),
    ({"deploy_ceph_pool_size": 2, "deploy_ceph_osd_count": 1}, None, None,
     "deploy_ceph_pool_size=2 is larger than the OSD count (1); allowed: 1 to 1"),
    ({"deploy_ceph_mode": "rook"}, None, None,
     "value of deploy_ceph_mode must be one of: packages, cephadm, got: rook"),
    ({"deploy_ceph_osd_backend": "device"}, None, None,
     "deploy_ceph_osd_backend=device needs deploy_ceph_osd_device"),
])
def test_bad_input_fails_on_entry(tmp_path: Path, variables: dict, mons: list[str] | None,
                                  osds: list[str] | None, message: str) -> None:
    rc, out = run(tmp_path, variables, mons, osds)
    assert rc == 2, out
    assert message in " ".join(out.split()), out
    assert "UNREACHABLE" not in out  # it failed before any task reached a node


def test_good_input_gets_past_the_checks(tmp_path: Path) -> None:
    # The same inventory with good input passes the entry checks and goes on to the nodes,
    # which here do not answer: proof that the failures above came from the checks.
    rc, out = run(tmp_path, {})
    assert rc != 0
    assert "UNREACHABLE" in out, out
