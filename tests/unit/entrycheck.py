"""Run a role's entry checks with ansible-playbook on the host, as the *_inputs tests do.

The inventory's hosts point at a closed port on loopback: a role's entry checks run before any
task reaches a node, so a bad input must fail there with its message, and one that got through
ends UNREACHABLE."""

from __future__ import annotations

import json
import os
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
