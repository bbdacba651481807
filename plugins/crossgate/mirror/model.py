"""Errors, the mirror directory layout and the reports that sync returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_DIR = Path("/var/cache/crossgate/mirror")
DEFAULT_STATE_DIR = Path("/var/lib/crossgate/mirror")
DEFAULT_PORT = 8780


class MirrorError(Exception):
    """Base class of every error raised by crossgate.mirror."""


class InvalidInput(MirrorError):
    """A caller passed a value that is not allowed; the CLI prints it and exits 2.

    ``option`` names the option or parameter, ``value`` the rejected value and ``allowed`` what
    would have been accepted.
    """

    def __init__(self, option: str, value: object, allowed: str) -> None:
        self.option = option
        self.value = value
        self.allowed = allowed
        super().__init__(f"{option}: invalid value {value!r}; allowed: {allowed}")


class SyncFailure(MirrorError):
    """apt or pip failed; the message carries the command and the tail of its output."""


class ServerFailure(MirrorError):
    """The HTTP server could not be started or stopped; the message names its log."""


@dataclass(frozen=True)
class Layout:
    """Where a mirror keeps its files. Only ``apt/`` and ``wheels/`` are served.

    ``apt/``           flat apt repository: the .deb files (apt's archive cache) and Packages
    ``wheels/``        the wheelhouse, with a PEP 503 index under ``wheels/simple/``
    ``.state/apt/``    apt's own lists, package cache and empty dpkg status for the closure
    ``.state/pip/``    pip's cache
    """

    root: Path

    @property
    def apt(self) -> Path:
        return self.root / "apt"

    @property
    def wheels(self) -> Path:
        return self.root / "wheels"

    @property
    def simple(self) -> Path:
        return self.wheels / "simple"

    @property
    def state(self) -> Path:
        return self.root / ".state"

    @property
    def apt_state(self) -> Path:
        return self.state / "apt"

    @property
    def pip_cache(self) -> Path:
        return self.state / "pip"


@dataclass
class AptReport:
    """What an apt sync did: the closure, what was fetched and what was already there."""

    packages: list[str]
    closure: int = 0
    downloaded: int = 0
    downloaded_bytes: int = 0
    present: int = 0
    present_bytes: int = 0
    lists_updated: bool = False
    indexed: bool = False
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class WheelReport:
    """What a wheel sync did: wheels the requirements need, new ones and ones already there."""

    requirements: list[str]
    wheels: int = 0
    downloaded: int = 0
    downloaded_bytes: int = 0
    present: int = 0
    present_bytes: int = 0
    offline: bool = False  # True when the wheelhouse alone satisfied the requirements
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
