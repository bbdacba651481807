"""Nodes for local job runs: ``crossgate nodes`` and the API the job runner uses.

from crossgate.nodes import NodeSpec, NodeFailure, open_pool

pool = open_pool("local", "mypool")            # or open_pool("inventory", ..., inventory=F)
nodes = pool.up([NodeSpec("controller", "ubuntu-noble"), NodeSpec("compute1")])
...                                             # node.address, node.key_path, node.user
pool.down()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .inventory import InventoryPool
from .local import DEFAULT_STATE_ROOT, LocalPool
from .model import (
    MAX_NODES,
    InvalidInput,
    Node,
    NodeFailure,
    NodesError,
    NodeSpec,
    WaitTimeout,
)
from .provider import Provider

PROVIDERS = ("local", "inventory")

# The pool type most callers want.
Pool = LocalPool


def open_pool(provider: str, name: str = "default", **options: Any) -> Provider:
    """A pool of ``provider`` ("local" or "inventory"); options go to its constructor."""
    if provider == "local":
        return LocalPool(name, **options)
    if provider == "inventory":
        inventory = options.pop("inventory", None)
        if inventory is None:
            raise InvalidInput("--inventory", None, "a YAML inventory file for provider inventory")
        return InventoryPool(name, Path(inventory), **options)
    raise InvalidInput("--provider", provider, " or ".join(PROVIDERS))


__all__ = [
    "DEFAULT_STATE_ROOT",
    "MAX_NODES",
    "PROVIDERS",
    "InvalidInput",
    "InventoryPool",
    "LocalPool",
    "Node",
    "NodeFailure",
    "NodeSpec",
    "NodesError",
    "Pool",
    "Provider",
    "WaitTimeout",
    "open_pool",
]
