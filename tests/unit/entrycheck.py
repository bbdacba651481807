"""Run a role's entry checks with ansible-playbook on the host, as the *_inputs tests do.

The inventory's hosts point at a closed port on loopback: a role's entry checks run before any
task reaches a node, so a bad input must fail there with its message, and one that got through
ends UNREACHABLE."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODES = ("controller", "compute1", "compute2")


def run_role(tmp_path: Path, role: str, groups: dict[str, list[str]], variables: dict,
             hosts: str = "all") -> tuple[int, str]:
    """Apply ROLE to HOSTS of an inventory of NODES in GROUPS with VARIABLES as extra vars;
    return ansible-playbook's exit status and its output."""
    inv = {"all": {"hosts": {n: {"ansible_host": "127.0.0.1", "ansible_port": 1}
                             for n in NODES},
                   "children": {g: {"hosts": {n: {} for n in members}}
                                for g, members in groups.items()}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inv))
    (tmp_path / "play.yaml").write_text(
        f"- name: Apply {role}\n  hosts: {hosts}\n  gather_facts: false\n"
        f"  roles:\n    - {role}\n")
    playbook = shutil.which("ansible-playbook") or str(Path(sys.executable).parent
                                                       / "ansible-playbook")
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(ROOT / "roles"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="false", ANSIBLE_RETRY_FILES_ENABLED="false")
    proc = subprocess.run(
        [playbook, "-i", str(tmp_path / "inventory.json"), str(tmp_path / "play.yaml"),
         "-e", json.dumps(variables)],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    return proc.returncode, proc.stdout + proc.stderr


HOST = "@HOST@"


def run_cases(tmp_path: Path, cases: list[tuple[str, dict, list[str]]],
              timeout: float = 120) -> tuple[list[str | None], str]:
    """Apply each case's ROLE, with its VARIABLES as host variables, to a host of its own in
    one ansible-playbook run (one play per case); return each case's entry failure message
    (None when the role went on past its entry checks) and the whole output.

    A case is (ROLE, VARIABLES, GROUPS): GROUPS are the inventory groups its host is in. In
    the variables and the group names, @HOST@ stands for the case's host (c0, c1, ...), so a
    case can name its own groups; the group "empty" has no host. The role is included in a
    block whose rescue prints the failure: a failing case does not end the run. A case whose
    role got past its checks ends UNREACHABLE (its host points at a closed port); each play
    also has a host "keeper" that skips the role, so that the run goes on to the next case."""
    hosts: dict[str, dict] = {}
    children: dict[str, dict] = {"empty": {"hosts": {}}}
    plays = []
    for i, (role, variables, groups) in enumerate(cases):
        host = f"c{i}"
        hostvars = json.loads(json.dumps(variables).replace(HOST, host))
        hosts[host] = {"ansible_host": "127.0.0.1", "ansible_port": 1, **hostvars}
        for group in groups:
            children.setdefault(group.replace(HOST, host), {"hosts": {}})["hosts"][host] = {}
        plays.append({
            "name": f"Case {host}: {role}", "hosts": f"{host},keeper", "gather_facts": False,
            "tasks": [{"name": "Apply the role", "when": "inventory_hostname != 'keeper'",
                       "block": [
                {"name": f"Apply {role}",
                 "ansible.builtin.include_role": {"name": role}}],
                "rescue": [{"name": "Report the entry failure", "ansible.builtin.debug": {
                    "msg": f"CASE {host}: {{{{ ansible_failed_result.msg }}}} {{{{ "
                           "ansible_failed_result.results | default([]) | selectattr('failed', "
                           "'defined') | selectattr('failed') | map(attribute='msg') "
                           "| join(' ') }}"}}]}]})
    hosts["keeper"] = {"ansible_host": "127.0.0.1", "ansible_port": 1}
    (tmp_path / "inventory.json").write_text(json.dumps(
        {"all": {"hosts": hosts, "children": children}}))
    (tmp_path / "play.yaml").write_text(json.dumps(plays))
    playbook = shutil.which("ansible-playbook") or str(Path(sys.executable).parent
                                                       / "ansible-playbook")
    # plugins/action: zuul_return, which report-results uses, as crossgate run provides it.
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(ROOT / "roles"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="false", ANSIBLE_RETRY_FILES_ENABLED="false",
               ANSIBLE_ACTION_PLUGINS=str(ROOT / "plugins" / "action"))
    proc = subprocess.run(
        [playbook, "-i", str(tmp_path / "inventory.json"), str(tmp_path / "play.yaml")],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    found = {m.group(1): json.loads(f'"{m.group(2)}"')
             for m in re.finditer(r'^\s*"msg": "CASE (c\d+): (.*)"\s*$', out, re.M)}
    return [found.get(f"c{i}") for i in range(len(cases))], out
