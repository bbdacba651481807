"""The node provider interface: a pool of nodes that can be brought up, listed and torn down."""

from __future__ import annotations

from abc import ABC, abstractmethod

from .model import Node, NodeSpec


class Provider(ABC):
    """A named pool of nodes from one backend.

    ``up`` returns nodes reachable over SSH or raises NodeFailure (nothing is left half-up);
    ``down`` releases everything the pool holds; ``list`` reports the nodes the pool has now.
    """

    kind: str = ""

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
