"""Every role has a molecule scenario that runs on crossgate's local nodes.

A linter in test form: for each folder of roles/, molecule/default/molecule.yml must exist,
use the shared create and destroy playbooks (molecule/shared/) with the default driver, run
converge, idempotence and verify between create and destroy, and point at a converge.yaml and
a verify.yaml that exist, the verify asserting something. A new role without a scenario fails
here. See docs/molecule.rst.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
SHARED = ROOT / "molecule" / "shared"
ROLE_NAMES = sorted(p.name for p in ROLES.iterdir() if p.is_dir() and not p.name.startswith("."))
HOST_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
# Task keys that make a verify step fail on a wrong node state.
ASSERTING_MODULES = {"ansible.builtin.assert", "assert", "ansible.builtin.fail", "fail"}


def scenario_dir(role: str) -> Path:
    return ROLES / role / "molecule" / "default"


def load_molecule_yml(role: str) -> dict[str, Any]:
    path = scenario_dir(role) / "molecule.yml"
    if not path.is_file():
        pytest.skip(f"roles/{role} has no scenario (reported by test_role_has_a_scenario)")
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.relative_to(ROOT)}: not a mapping"
    return data


def playbook_path(role: str, config: dict[str, Any], step: str) -> Path:
    playbooks = (config.get("provisioner") or {}).get("playbooks") or {}
    name = playbooks.get(step)
    assert name, f"roles/{role}: molecule.yml sets no provisioner.playbooks.{step}"
    return (scenario_dir(role) / name).resolve()


def iter_tasks(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks of a task list, blocks flattened."""
    out: list[dict[str, Any]] = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        out.append(item)
        for key in ("block", "rescue", "always"):
            out.extend(iter_tasks(item.get(key) or []))
    return out


def test_there_are_roles() -> None:
    assert ROLE_NAMES, "roles/ is empty"


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_role_has_a_scenario(role: str) -> None:
    path = scenario_dir(role) / "molecule.yml"
    assert path.is_file(), (
        f"roles/{role} has no molecule scenario: create {path.relative_to(ROOT)} "
        "(see docs/molecule.rst)"
    )


@pytest.mark.parametrize("step", ["create", "destroy"])
def test_shared_playbooks_exist(step: str) -> None:
    path = SHARED / f"{step}.yaml"
    assert path.is_file(), f"missing {path.relative_to(ROOT)}"
    plays = yaml.safe_load(path.read_text())
    assert isinstance(plays, list) and plays, f"{path.relative_to(ROOT)}: not a playbook"
    assert plays[0].get("hosts") == "localhost"


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_scenario_uses_shared_create_and_destroy(role: str) -> None:
    config = load_molecule_yml(role)
    driver = config.get("driver") or {}
    assert driver.get("name") in ("default", "delegated"), (
        f"roles/{role}: driver.name is {driver.get('name')!r}; allowed: default"
    )
    assert (driver.get("options") or {}).get("managed") is True, (
        f"roles/{role}: driver.options.managed must be true (create registers the nodes)"
    )
    for step in ("create", "destroy"):
        path = playbook_path(role, config, step)
        assert path == (SHARED / f"{step}.yaml").resolve(), (
            f"roles/{role}: provisioner.playbooks.{step} is {path}; "
            f"allowed: the shared molecule/shared/{step}.yaml"
        )


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_scenario_checks_host_keys(role: str) -> None:
    options = " ".join((load_molecule_yml(role).get("driver") or {}).get(
        "ssh_connection_options") or [])
    assert "UserKnownHostsFile=${MOLECULE_EPHEMERAL_DIRECTORY}/known_hosts" in options, (
        f"roles/{role}: driver.ssh_connection_options must use the pool's known_hosts, "
        "which create.yaml copies to ${MOLECULE_EPHEMERAL_DIRECTORY}/known_hosts"
    )
    assert "StrictHostKeyChecking=yes" in options, (
        f"roles/{role}: driver.ssh_connection_options must set StrictHostKeyChecking=yes"
    )


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_test_sequence(role: str) -> None:
    sequence = (load_molecule_yml(role).get("scenario") or {}).get("test_sequence")
    assert isinstance(sequence, list), f"roles/{role}: molecule.yml sets no scenario.test_sequence"
    required = ["create", "converge", "idempotence", "verify", "destroy"]
    missing = [step for step in required if step not in sequence]
    assert not missing, f"roles/{role}: test_sequence {sequence} lacks {missing}"
    positions = [sequence.index(step) for step in required[:-1]]
    assert positions == sorted(positions), (
        f"roles/{role}: test_sequence {sequence}: create, converge, idempotence and verify "
        "must run in that order"
    )
    assert sequence[-1] == "destroy", (
        f"roles/{role}: test_sequence {sequence} must end with destroy"
    )


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_platforms(role: str) -> None:
    platforms = load_molecule_yml(role).get("platforms")
    assert isinstance(platforms, list) and platforms, f"roles/{role}: no platforms"
    names = [p.get("name") for p in platforms]
    bad = [n for n in names if not isinstance(n, str) or not HOST_NAME.match(n)]
    assert not bad, (
        f"roles/{role}: platform names {bad}; allowed: host names (lower-case letters, digits "
        "and '-', starting with a letter, at most 32 characters), as crossgate nodes takes"
    )
    assert len(set(names)) == len(names), f"roles/{role}: platform names repeat: {names}"
    groups = {g for p in platforms for g in p.get("groups") or []}
    clash = sorted(groups & set(names))
    assert not clash, f"roles/{role}: {clash} is both a platform and a group name"


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_converge_applies_the_role(role: str) -> None:
    path = playbook_path(role, load_molecule_yml(role), "converge")
    assert path.name == "converge.yaml" and path.parent == scenario_dir(role), (
        f"roles/{role}: provisioner.playbooks.converge must be converge.yaml of the scenario"
    )
    assert path.is_file(), f"missing {path.relative_to(ROOT)}"
    plays = yaml.safe_load(path.read_text())
    used = set()
    for play in plays:
        for entry in play.get("roles") or []:
            used.add(entry.get("role", entry.get("name")) if isinstance(entry, dict) else entry)
        for task in iter_tasks((play.get("tasks") or []) + (play.get("pre_tasks") or [])):
            for key in ("ansible.builtin.include_role", "ansible.builtin.import_role",
                        "include_role", "import_role"):
                if isinstance(task.get(key), dict):
                    used.add(task[key].get("name"))
    assert role in used, f"roles/{role}: converge.yaml does not apply the role {role}"


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_verify_asserts(role: str) -> None:
    path = playbook_path(role, load_molecule_yml(role), "verify")
    assert path.name == "verify.yaml" and path.parent == scenario_dir(role), (
        f"roles/{role}: provisioner.playbooks.verify must be verify.yaml of the scenario"
    )
    assert path.is_file(), f"missing {path.relative_to(ROOT)} (molecule would skip verify)"
    plays = yaml.safe_load(path.read_text())
    tasks = [t for play in plays for t in iter_tasks(play.get("tasks") or [])]
    asserting = [t for t in tasks if ASSERTING_MODULES & set(t) or "failed_when" in t]
    assert asserting, (
        f"roles/{role}: verify.yaml asserts nothing; check the node state with "
        "ansible.builtin.assert (or failed_when)"
    )


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_scenario_files_are_yaml_not_yml(role: str) -> None:
    folder = scenario_dir(role)
    if not folder.is_dir():
        pytest.skip(f"roles/{role} has no scenario (reported by test_role_has_a_scenario)")
    wrong = sorted(str(p.relative_to(ROOT)) for p in folder.rglob("*.yml")
                   if p.name != "molecule.yml")
    assert not wrong, f"use .yaml, not .yml (only molecule.yml keeps its name): {wrong}"
