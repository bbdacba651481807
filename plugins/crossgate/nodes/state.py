"""The pool state file: what a pool created, written before each step so a crash can be undone.

``<state root>/<pool>/state.json`` records the bridge, the iptables rules, and per node the
overlay mount, the cgroups and the PID (with its start time, so a reused PID is never taken for
ours). ``down`` and ``up`` read it to remove whatever is left.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_VERSION = 1


@dataclass
class NodeState:
    name: str
    index: int
    label: str
    image: str
    address: str
    mac: str
    machine: str
    dir: str
    root: str
    veth: str
    cgroups: list[str] = field(default_factory=list)
    mounted: bool = False
    pid: int | None = None
    pid_start: int | None = None
    status: str = "new"  # new -> starting -> up | failed
    boot_seconds: float | None = None  # from launching nspawn to the first SSH login
    link_mtu: int | None = None  # MTU of the host side of the node's link, when narrowed
    features: list[str] = field(default_factory=list)  # labels.FEATURES the node has
    # Absolute cgroup directories of the node beyond ``cgroups`` (the v1 controller hierarchies
    # of a node with the "containers" feature).
    cgroup_dirs: list[str] = field(default_factory=list)


@dataclass
class PoolState:
    pool: str
    pool_id: str
    bridge: str
    subnet: str
    host_address: str
    provider: str = "local"
    bridge_created: bool = False
    iptables: list[list[str]] = field(default_factory=list)
    nodes: dict[str, NodeState] = field(default_factory=dict)
    version: int = STATE_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


class StateError(ValueError):
    """The state file exists but cannot be understood."""


def parse_state(text: str) -> PoolState:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateError(f"state is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise StateError(f"unsupported state version: {data.get('version')!r}")
    try:
        nodes = {k: NodeState(**v) for k, v in data.pop("nodes", {}).items()}
        return PoolState(nodes=nodes, **data)
    except TypeError as exc:
        raise StateError(f"bad state fields: {exc}") from None


def load_state(path: Path) -> PoolState | None:
    if not path.exists():
        return None
    return parse_state(path.read_text())


def save_state(path: Path, state: PoolState) -> None:
    """Write atomically: readers see the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w") as f:
        f.write(state.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
