"""Thin wrappers over the host: processes by PID, cgroups, mounts, links, iptables.

Everything here acts only on objects named by the caller (a PID with its start time, a cgroup
path, a mount point, a link name, a rule with a crossgate comment). Nothing matches by process
name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from crossgate.nodes.model import InvalidInput, NodeFailure
from crossgate.procs import alive, proc_start_time, reap

__all__ = ["alive", "proc_start_time", "reap"]  # and everything defined below

CGROUP_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup/systemd"))

# The bound of every host command run here (ip, iptables, mount, umount, ...): a command that
# has not finished is killed and reported. The environment variable overrides the default.
HOST_COMMAND_TIMEOUT_VAR = "CROSSGATE_HOST_COMMAND_TIMEOUT"
HOST_COMMAND_TIMEOUT = 120.0


class HostCommandTimeout(NodeFailure):
    """A host command did not finish within its bound."""


def host_command_timeout() -> float:
    raw = os.environ.get(HOST_COMMAND_TIMEOUT_VAR)
    if raw is None or raw == "":
        return HOST_COMMAND_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise InvalidInput(HOST_COMMAND_TIMEOUT_VAR, raw, "a number of seconds greater than 0")
    return value


def run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """ARGV on the host, bounded by host_command_timeout(). Past the bound the command is
    killed: with check, HostCommandTimeout names it; without, the result has returncode 124
    and says so in stderr (the callers that tolerate a failure, such as teardown, go on)."""
    bound = host_command_timeout()
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=bound)
    except subprocess.TimeoutExpired:
        said = (f"host command {' '.join(argv)!r} did not finish within {bound:g} s "
                f"({HOST_COMMAND_TIMEOUT_VAR}); it was killed")
        if check:
            raise HostCommandTimeout(said) from None
        return subprocess.CompletedProcess(argv, 124, "", said)


# -- processes ------------------------------------------------------------------------------
# proc_start_time, reap and alive come from crossgate.procs (re-exported for callers).


def signal_pid(pid: int | None, start: int | None, sig: int) -> bool:
    if alive(pid, start):
        assert pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
            return True
    return False


def wait_dead(pid: int | None, start: int | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid, start):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


# -- cgroups --------------------------------------------------------------------------------


def cgroup_paths(name: str) -> list[Path]:
    return [root / name for root in CGROUP_ROOTS if root.is_dir()]


def v1_cgroup_parents(mounts: str, self_cgroup: str) -> list[Path]:
    """The cgroup directory this process is in, in each v1 controller hierarchy.

    ``mounts`` is /proc/self/mounts, ``self_cgroup`` is /proc/self/cgroup. The named systemd
    hierarchy is left out (CGROUP_ROOTS has it); a hierarchy mounted twice counts once.
    """
    where: dict[frozenset[str], str] = {}
    for line in self_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[0] != "0" and parts[1] and not parts[1].startswith("name="):
            where[frozenset(parts[1].split(","))] = parts[2]
    found: dict[str, Path] = {}
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[2] != "cgroup":
            continue
        options = set(fields[3].split(","))
        for controllers, rel in where.items():
            if controllers <= options and ",".join(sorted(controllers)) not in found:
                found[",".join(sorted(controllers))] = Path(_unescape(fields[1])) / rel.lstrip("/")
    return [found[k] for k in sorted(found)]


def own_v1_cgroup_parents() -> list[Path]:
    """v1_cgroup_parents of this process (empty on a host without v1 controllers)."""
    try:
        mounts = Path("/proc/self/mounts").read_text()
        self_cgroup = Path("/proc/self/cgroup").read_text()
    except OSError:
        return []
    return [p for p in v1_cgroup_parents(mounts, self_cgroup) if p.is_dir()]


def make_cgroup(path: Path) -> None:
    """mkdir a v1 cgroup; a cpuset one gets its parent's CPUs and memory nodes (it starts with
    none, and a process cannot join it until it has both)."""
    path.mkdir(exist_ok=True)
    for name in ("cpuset.cpus", "cpuset.mems"):
        mine, parent = path / name, path.parent / name
        if mine.exists() and not mine.read_text().strip():
            mine.write_text(parent.read_text())


def cgroup_pids(path: Path) -> list[int]:
    """All PIDs in ``path`` and its descendants."""
    pids: list[int] = []
    if not path.is_dir():
        return pids
    for dirpath, _dirs, files in os.walk(path):
        if "cgroup.procs" in files:
            with contextlib.suppress(OSError):
                text = (Path(dirpath) / "cgroup.procs").read_text()
                pids += [int(p) for p in text.split()]
    return pids


def cgroup_kill(path: Path) -> None:
    """SIGKILL every process in a cgroup tree (cgroup.kill on v2, per PID on v1)."""
    kill_file = path / "cgroup.kill"
    if kill_file.exists():
        with contextlib.suppress(OSError):
            kill_file.write_text("1")
            return
    for pid in cgroup_pids(path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def cgroup_remove(path: Path) -> None:
    """rmdir a cgroup and its descendants, deepest first."""
    if not path.is_dir():
        return
    for dirpath, _dirs, _files in sorted(os.walk(path), key=lambda e: -len(e[0])):
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(dirpath)


# -- mounts ---------------------------------------------------------------------------------


def _unescape(field: str) -> str:
    return field.encode().decode("unicode_escape") if "\\" in field else field


def mounts_under(prefix: Path) -> list[str]:
    """Mount points at or below ``prefix`` (deepest first)."""
    base = str(prefix).rstrip("/")
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = _unescape(line.split()[4])
            if point == base or point.startswith(base + "/"):
                found.append(point)
    return sorted(set(found), key=len, reverse=True)


def unmount(point: str) -> None:
    if run(["umount", point], check=False).returncode != 0:
        run(["umount", "-l", point], check=False)


# -- links ----------------------------------------------------------------------------------


def link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def bridge_ports(bridge: str) -> list[str]:
    d = Path(f"/sys/class/net/{bridge}/brif")
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def delete_link(name: str) -> None:
    if link_exists(name):
        run(["ip", "link", "delete", name], check=False)


# -- iptables -------------------------------------------------------------------------------


def rules_with_comment(listing: str, comment: str) -> list[list[str]]:
    """From ``iptables -S`` output, the rules carrying ``--comment comment``, as
    ``[CHAIN, match...]`` lists ready for ``iptables -D``."""
    rules = []
    for line in listing.splitlines():
        words = line.replace('"', "").split()
        if len(words) > 2 and words[0] == "-A":
            for i, word in enumerate(words[:-1]):
                if word == "--comment" and words[i + 1] == comment:
                    rules.append(words[1:])
                    break
    return rules


def iptables_rules_with_comment(comment: str) -> list[list[str]]:
    """Rules in the filter table that carry ``comment``."""
    return rules_with_comment(run(["iptables", "-S"], check=False).stdout, comment)


def iptables_delete(rule: list[str]) -> None:
    """Delete one rule given as ``[CHAIN, match...]``; ignore a rule that is already gone."""
    run(["iptables", "-D", *rule], check=False)
