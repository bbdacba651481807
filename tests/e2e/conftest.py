"""e2e tests start real nodes: they need root, systemd-nspawn and debootstrap on the host."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
DESELECTED: list[pytest.Item] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: starts real nodes on this machine (root only)")
    if os.environ.get("CI") and not hasattr(config, "workerinput"):
        # options that leave tests out (from the command line or PYTEST_ADDOPTS)
        narrowing = {"-k": config.getoption("keyword"), "--deselect": config.getoption("deselect"),
                     "--ignore": config.getoption("ignore"),
                     "--ignore-glob": config.getoption("ignore_glob"),
                     "-m": "" if config.getoption("markexpr") in ("", "e2e")
                     else config.getoption("markexpr")}
        given = {k: v for k, v in narrowing.items() if v}
        if given:
            raise pytest.UsageError("e2e: CI runs every e2e test; refusing options that leave "
                                    "some out: " + ", ".join(f"{k} {v!r}" for k, v in
                                                             given.items()))


# The longest build first, alone on one worker until it is done (see
# pytest_xdist_make_scheduler), the other modules in this order; the molecule scenarios last.
LONGEST_FIRST = ("test_openstack_ceph.py", "test_ceph.py")
ALONE = LONGEST_FIRST[0]
# Each test of this module is a scope of its own (see pytest_xdist_make_scheduler).
SHARED = "test_molecule.py"
# Last: the Kubernetes build needs its Go program set, which tools/test.sh starts building in
# the background when the suite starts (the test waits for that build, or builds the set);
# then every role's molecule scenario (tests/e2e/test_molecule.py), shared by both workers.
LAST = ("test_kubernetes.py", "test_molecule.py")


def order(item: pytest.Item) -> int:
    path = item.nodeid.split("::")[0]
    for i, name in enumerate(LAST):
        if path.endswith(name):
            return len(LONGEST_FIRST) + 1 + i
    return next((i for i, name in enumerate(LONGEST_FIRST) if path.endswith(name)),
                len(LONGEST_FIRST))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """--dist loadscope, with three changes:

    - the scopes are handed out in the order above (xdist would put the largest first);
    - the worker that takes the longest build takes nothing else until the build's first
      test is done (xdist would queue another scope behind it, on the critical path, while the
      other worker idles); the class has a second test, so that the worker runs the first at
      once (an xdist worker holds its last queued test until it gets another or is told to
      finish); then it takes what is left like the other worker;
    - each molecule scenario is a scope of its own, so both workers share them at the end."""
    if config.getoption("dist", None) != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LongestAlone(LoadScopeScheduling):
        def __init__(self, config: pytest.Config, log=None) -> None:
            super().__init__(config, log)
            config.option.loadscopereorder = False

        def _split_scope(self, nodeid: str) -> str:
            if nodeid.split("::")[0].endswith(SHARED):
                return nodeid
            return super()._split_scope(nodeid)

        def _reschedule(self, node) -> None:
            for scope, tests in self.assigned_work.get(node, {}).items():
                if scope.split("::")[0].endswith(ALONE) and \
                        list(tests.values()).count(False) > 1 and len(self.nodes) > 1:
                    return
            super()._reschedule(node)

    return LongestAlone(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=order)
    missing = [t for t in ("systemd-nspawn", "debootstrap", "iptables") if not shutil.which(t)]
    reason = ""
    if os.geteuid() != 0:
        reason = "needs root"
    elif missing:
        reason = f"needs {', '.join(missing)} (run tools/install-node-deps.sh)"
    if not reason:
        return
    if os.environ.get("CI"):
        # In CI these tests are the point: a machine that cannot run them fails.
        raise pytest.UsageError(f"e2e tests cannot run here: {reason}")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_deselected(items: list[pytest.Item]) -> None:
    DESELECTED.extend(items)


def left_out(collected: list[pytest.Item], deselected: list[pytest.Item]) -> str:
    """What of tests/e2e this run leaves out: files with no test collected, tests deselected."""
    files = sorted(p.name for p in HERE.glob("test_*.py"))
    ran = {Path(str(i.path)).name for i in collected}
    missing = [f for f in files if f not in ran]
    parts = []
    if missing:
        parts.append("files with no test in this run: " + ", ".join(missing))
    if deselected:
        names = sorted({i.nodeid for i in deselected})
        parts.append(f"{len(names)} tests deselected: " + ", ".join(names[:5])
                     + (", ..." if len(names) > 5 else ""))
    return "; ".join(parts)


def pytest_collection_finish(session: pytest.Session) -> None:
    """The e2e stage runs every e2e file: in CI a run that leaves one out fails; elsewhere
    (a developer's run of one file) it says so."""
    said = left_out(session.items, DESELECTED)
    if not said:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"e2e: CI runs every e2e test, this run would leave out {said}"
                                " (every tests/e2e/test_*.py needs pytestmark = pytest.mark.e2e)")
    session.config.stash[NOTICE] = said


NOTICE = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    said = config.stash.get(NOTICE, "")
    if said:
        terminalreporter.write_line(f"e2e: this run left out {said}", yellow=True)


def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    """With workers (xdist) the files each worker collected: in CI every e2e file."""
    files = {i.split("::")[0].rsplit("/", 1)[-1] for i in ids}
    missing = sorted(p.name for p in HERE.glob("test_*.py") if p.name not in files)
    if missing and os.environ.get("CI"):
        raise pytest.UsageError("e2e: CI runs every e2e test, this run would leave out files "
                                "with no test collected: " + ", ".join(missing)
                                + " (every tests/e2e/test_*.py needs "
                                "pytestmark = pytest.mark.e2e)")
