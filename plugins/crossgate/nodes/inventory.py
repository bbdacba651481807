"""The ``inventory`` provider: existing machines listed in a YAML file.

::

    nodes:
      - name: controller          # node name (a nodeset may ask for it by name)
        address: 203.0.113.10
        user: root                # default: root
        key: ~/.ssh/id_ed25519    # private key for SSH
        port: 22                  # default: 22
        labels: [ubuntu-noble]    # labels a nodeset may ask for
        known_hosts: ~/.ssh/known_hosts   # optional; without it host keys are not checked

``up`` assigns a machine to each requested node (same name first, else a free machine with the
label) and checks, in parallel and bounded by a timeout, that each accepts an SSH login.
``down`` leaves the machines alone.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from .model import InvalidInput, Node, NodeFailure, NodeSpec, validate_node_name, validate_specs
from .provider import Provider
from .ssh import wait_for_ssh

FIELDS = {"name", "address", "user", "key", "port", "labels", "known_hosts"}


def parse_inventory(data: Any, source: str = "inventory") -> list[Node]:
    """Machines from a loaded inventory document; InvalidInput naming the bad entry otherwise."""
    entries = data.get("nodes") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise InvalidInput("--inventory", source, "a YAML file with a non-empty 'nodes' list")
    nodes: list[Node] = []
    for i, entry in enumerate(entries):
        where = f"{source}: nodes[{i}]"
        if not isinstance(entry, dict):
            raise InvalidInput("--inventory", where, "a mapping with name, address, key")
        unknown = set(entry) - FIELDS
        if unknown:
            raise InvalidInput("--inventory", f"{where}: {sorted(unknown)}", sorted(FIELDS))
        for required in ("name", "address", "key"):
            if not entry.get(required):
                raise InvalidInput("--inventory", f"{where}: missing {required}", sorted(FIELDS))
        labels = entry.get("labels", [])
        if isinstance(labels, str):
            labels = [labels]
        known = entry.get("known_hosts")
        nodes.append(
            Node(
                name=validate_node_name(str(entry["name"]), f"--inventory {where}: name"),
                address=str(entry["address"]),
                user=str(entry.get("user", "root")),
                key_path=str(Path(str(entry["key"])).expanduser()),
                labels=[str(x) for x in labels],
                known_hosts=str(Path(known).expanduser()) if known else None,
                provider="inventory",
                port=int(entry.get("port", 22)),
            )
        )
    names = [n.name for n in nodes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInput("--inventory", f"{source}: duplicate names {dupes}", "unique names")
    return nodes


def load_inventory(path: Path) -> list[Node]:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InvalidInput("--inventory", str(path), f"a readable file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput("--inventory", str(path), f"valid YAML ({exc})") from None
    return parse_inventory(data, str(path))


def assign(machines: list[Node], specs: list[NodeSpec]) -> list[Node]:
    """Give each spec a machine: the one with the spec's name (when the spec's label is one of
    its labels or its name), else the first free one with the label. The returned nodes carry
    the spec's name."""
    by_name = {m.name: m for m in machines}
    used: set[str] = set()
    out: list[Node] = []
    for spec in specs:
        m = by_name.get(spec.name)
        if m is None or m.name in used or spec.label not in [*m.labels, m.name]:
            m = next((x for x in machines if spec.label in x.labels and x.name not in used), None)
        if m is None:
            free = [x.name for x in machines if x.name not in used]
            raise NodeFailure(
                f"inventory: no free machine for node {spec.name} with label {spec.label}; "
                f"free machines: {free or 'none'}",
                node=spec.name,
            )
        used.add(m.name)
        out.append(
            Node(
                name=spec.name,
                address=m.address,
                user=m.user,
                key_path=m.key_path,
                labels=list(m.labels),
                interface=m.interface,
                known_hosts=m.known_hosts,
                provider="inventory",
                port=m.port,
            )
        )
    return out


class InventoryPool(Provider):
    kind = "inventory"

    def __init__(self, name: str, inventory: Path, ssh_timeout: float = 30.0) -> None:
        super().__init__(name)
        self.inventory = Path(inventory)
        self.ssh_timeout = ssh_timeout

    def machines(self) -> list[Node]:
        return load_inventory(self.inventory)

    def labels(self) -> list[str]:
        machines = self.machines()
        return sorted({label for m in machines for label in m.labels} | {m.name for m in machines})

    def up(self, specs: list[NodeSpec]) -> list[Node]:
        validate_specs(specs, self.labels())
        nodes = assign(self.machines(), specs)
        hint = f"ssh -v {nodes[0].user}@{nodes[0].address} (inventory {self.inventory})"
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            futures = [pool.submit(wait_for_ssh, n, self.ssh_timeout, hint) for n in nodes]
            errors = [str(f.exception()) for f in futures if f.exception() is not None]
        if errors:
            raise NodeFailure("inventory: unreachable machines:\n" + "\n".join(errors))
        return nodes

    def down(self) -> None:
        """Machines of an inventory are not ours to stop."""

    def list(self) -> list[Node]:
        return self.machines()
