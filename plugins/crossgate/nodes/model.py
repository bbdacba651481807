"""Data types and errors shared by the node providers."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Node names become host names and parts of file names: keep them DNS-label safe.
NODE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$")
POOL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
MAX_NODES = 32
# A node's link MTU (--link-mtu): from IPv4's minimum datagram a host must take to a jumbo frame.
LINK_MTU_MIN = 576
LINK_MTU_MAX = 9000


class NodesError(Exception):
    """Base class of every error raised by crossgate.nodes."""


class InvalidInput(NodesError):
    """A caller passed a value that is not allowed (bad name, unknown label, ...).

    ``option`` names the option or parameter, ``value`` the rejected value and ``allowed`` what
    would have been accepted, so the CLI can print them and exit 2.
    """

    def __init__(self, option: str, value: object, allowed: str) -> None:
        self.option = option
        self.value = value
        self.allowed = allowed
        super().__init__(f"{option}: invalid value {value!r}; allowed: {allowed}")


class NodeFailure(NodesError):
    """A node could not be brought up (the job runner maps this to NODE_FAILURE)."""

    def __init__(self, message: str, node: str | None = None, log: Path | None = None) -> None:
        self.node = node
        self.log = log
        super().__init__(message)


class WaitTimeout(NodeFailure):
    """A bounded wait expired. The message names what was awaited, the last state and the log."""


@dataclass(frozen=True)
class NodeSpec:
    """What a caller asks for: a node name and a nodeset label."""

    name: str
    label: str = "debian-bookworm"


@dataclass
class Node:
    """A node that is up and reachable over SSH."""

    name: str
    address: str
    user: str
    key_path: str
    labels: list[str] = field(default_factory=list)
    interface: str = "host0"
    known_hosts: str | None = None
    provider: str = "local"
    port: int = 22

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def ssh_command(self, *command: str) -> list[str]:
        """The ssh argv that runs ``command`` on this node as its user."""
        argv = ["ssh", "-i", self.key_path, "-p", str(self.port), "-o", "BatchMode=yes"]
        argv += ["-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"]
        # Prefer plain curve25519 key exchange: the default hybrid post-quantum exchange costs
        # about 0.1 s of CPU per connection, which shows in every readiness probe.
        argv += ["-o", "KexAlgorithms=^curve25519-sha256"]
        if self.known_hosts:
            argv += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
            argv += ["-o", "StrictHostKeyChecking=yes"]
        else:
            argv += ["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no"]
        argv.append(f"{self.user}@{self.address}")
        argv += list(command)
        return argv


def validate_node_name(name: str, option: str = "--node") -> str:
    if not NODE_NAME_RE.match(name):
        raise InvalidInput(
            option,
            name,
            "1-32 characters: lower-case letters, digits and '-', starting with a letter",
        )
    return name


def validate_pool_name(name: str, option: str = "--pool") -> str:
    if not POOL_NAME_RE.match(name):
        raise InvalidInput(
            option, name, "1-63 characters: letters, digits, '_', '.', '-', not starting with one"
        )
    return name


def validate_specs(specs: list[NodeSpec], known_labels: list[str] | None = None) -> None:
    """Check names, duplicates, count and (when given) labels of a node list."""
    if not 1 <= len(specs) <= MAX_NODES:
        raise InvalidInput("--count", len(specs), f"1 to {MAX_NODES} nodes")
    seen: set[str] = set()
    for spec in specs:
        validate_node_name(spec.name)
        if spec.name in seen:
            raise InvalidInput("--node", spec.name, "each node name once")
        seen.add(spec.name)
        if known_labels is not None and spec.label not in known_labels:
            raise InvalidInput("--node", f"{spec.name}:{spec.label}", _labels_text(known_labels))


def _labels_text(labels: list[str]) -> str:
    return "a known label: " + ", ".join(sorted(labels))


def parse_link_mtus(items: list[str], option: str = "--link-mtu") -> dict[str, int]:
    """Parse ``NODE=MTU`` items: the MTU a node's link to the pool's bridge carries."""
    mtus: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(option, item, "NODE=MTU, for example peer1=1400")
        validate_node_name(name, option)
        try:
            mtu = int(value)
        except ValueError:
            mtu = -1
        if not LINK_MTU_MIN <= mtu <= LINK_MTU_MAX:
            raise InvalidInput(option, item, f"an MTU from {LINK_MTU_MIN} to {LINK_MTU_MAX}")
        mtus[name] = mtu
    return mtus


def parse_node_arg(text: str, default_label: str) -> NodeSpec:
    """Parse ``NAME`` or ``NAME:LABEL`` as given to ``--node``."""
    name, _, label = text.partition(":")
    return NodeSpec(validate_node_name(name), label or default_label)


def specs_for_count(count: int, label: str, prefix: str = "node") -> list[NodeSpec]:
    """``--count N`` gives node1..nodeN with one label."""
    if not 1 <= count <= MAX_NODES:
        raise InvalidInput("--count", count, f"an integer from 1 to {MAX_NODES}")
    return [NodeSpec(f"{prefix}{i}", label) for i in range(1, count + 1)]
