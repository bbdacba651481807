"""The node provider interface: a pool of nodes that can be brought up, listed and torn down.

The job runner (crossgate.runner.execute) reaches nodes only through this interface:
``up`` and ``down`` for the nodes, ``state_path`` to keep a copy of what the pool made, and
``host_address`` to serve the host mirror where the nodes can reach it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from .model import Node, NodeSpec
from .state import StateError, load_state


class Provider(ABC):
    """A named pool of nodes from one backend.

    ``up`` returns nodes reachable over SSH or raises NodeFailure (nothing is left half-up);
    ``down`` releases everything the pool holds; ``list`` reports the nodes the pool has now.
    A backend that records what it made keeps it in the pool state file ``state_path``
    (crossgate.nodes.state); one without such a file leaves it None.
    """

    kind: str = ""
    state_path: Path | None = None

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def up(self, specs: list[NodeSpec]) -> list[Node]: ...

    @abstractmethod
    def down(self) -> None: ...

    @abstractmethod
    def list(self) -> list[Node]: ...

    def labels(self) -> list[str] | None:
        """The labels this provider accepts, or None when it does not restrict them."""
        return None

    def host_address(self) -> str | None:
        """The address at which the pool's nodes reach this host (where the host mirror is
        served), from the pool state; None when the pool has no state or no such address."""
        if self.state_path is None:
            return None
        try:
            state = load_state(Path(self.state_path))
        except (OSError, StateError):
            return None
        return state.host_address if state is not None and state.host_address else None
