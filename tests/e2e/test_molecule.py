"""Every role's molecule scenario (create, converge, idempotence, verify, destroy on real local
nodes), as tests of the e2e run.

tools/molecule.sh runs the scenarios; here each role is one test that runs it for that role
alone, so the scenarios share the e2e run's two workers: each is a unit of work of its own
(tests/e2e/conftest.py) that either worker takes, in this order, after the other e2e modules,
instead of as a stage of their own after the e2e stage. A scenario fails its test with
the end of its log; a scenario that left its pool behind fails too (tools/molecule.sh says so).
CROSSGATE_MOLECULE_TIMEOUT bounds each scenario (tools/molecule.sh, default 900 s).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# The longest scenarios first (measured: 130 to 420 s on two busy cores), so that the two
# e2e workers, which share the scenarios at the end (tests/e2e/conftest.py), end together.
LONGEST = ("deploy-openstack", "validate-kubernetes", "deploy-ceph", "collect-kubernetes-logs",
           "collect-ceph-logs", "deploy-kubernetes", "validate-ceph")
FOUND = sorted(p.parent.parent.parent.name
               for p in (REPO / "roles").glob("*/molecule/default/molecule.yml"))
ROLES = [r for r in LONGEST if r in FOUND] + [r for r in FOUND if r not in LONGEST]
SCENARIO_TIMEOUT = float(os.environ.get("CROSSGATE_MOLECULE_TIMEOUT", "900"))


def test_every_role_has_a_scenario_here() -> None:
    """A role folder without a scenario would otherwise just have no test below."""
    folders = sorted(p.name for p in (REPO / "roles").iterdir() if p.is_dir())
    assert folders == sorted(ROLES), f"roles without molecule/default/molecule.yml: " \
        f"{sorted(set(folders) - set(ROLES))}"


@pytest.mark.parametrize("role", ROLES)
def test_scenario(role: str) -> None:
    env = dict(os.environ, VIRTUAL_ENV=sys.prefix)
    # molecule.sh's own bound, plus its clean-up (molecule destroy, at most 300 s)
    proc = subprocess.run(["bash", str(REPO / "tools" / "molecule.sh"), role], cwd=REPO,
                          env=env, capture_output=True, text=True, check=False,
                          timeout=SCENARIO_TIMEOUT + 400)
    summary = re.search(rf"^{re.escape(role)}\s+([0-9.]+)\s+(.*)$", proc.stdout, re.M)
    log = REPO / "build" / "molecule" / f"{role}.log"
    tail = "\n".join(proc.stdout.splitlines()[-60:]) + "\n" + proc.stderr[-2000:]
    assert proc.returncode == 0 and summary and summary.group(2) == "PASSED", (
        f"molecule scenario of roles/{role}: exit {proc.returncode}, "
        f"{summary.group(2) if summary else 'no summary line'} (log: {log})\n{tail}")
