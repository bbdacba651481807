"""Which project a reference such as `roles: - zuul: NAME` means.

Zuul's rule (zuul.model.Tenant.getProject): when the reference's first path
component is a canonical hostname of the tenant, the reference is a canonical
name (``opendev.org/zuul/zuul-jobs``) and must match exactly. Otherwise it is a
project name (``zuul/zuul-jobs``), matched exactly against the projects' names
without their hostnames; when two projects of different hosts share that name,
the reference is ambiguous and an error. There is no short-name matching:
``zuul-jobs`` does not mean ``zuul/zuul-jobs``.

`crossgate check` and `crossgate run` both resolve projects with `match`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

DEFAULT_HOSTNAME = "localhost"


class Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def canonical_hostname(self) -> str: ...


P = TypeVar("P", bound=Named)


class AmbiguousProject(Exception):
    """A project name that two projects of different hosts share."""


def split_spec(spec: str) -> tuple[str, str]:
    """(hostname, name) of a project given on the command line: a first component
    with a dot is a host name (opendev.org/zuul/zuul-jobs)."""
    parts = spec.strip("/").split("/")
    if len(parts) > 1 and "." in parts[0]:
        return parts[0], "/".join(parts[1:])
    return DEFAULT_HOSTNAME, "/".join(parts)


def match(projects: Sequence[P], ref: str) -> P | None:
    """The project `ref` names, by Zuul's rule; None when none does.

    Raises AmbiguousProject when `ref` is a bare name that projects of several
    hosts carry."""
    hostnames = {p.canonical_hostname for p in projects}
    first, _, rest = ref.partition("/")
    if rest and first in hostnames:
        for p in projects:
            if p.canonical_hostname == first and p.name == rest:
                return p
        return None
    found = [p for p in projects if p.name == ref]
    if len(found) > 1 and len({p.canonical_hostname for p in found}) > 1:
        raise AmbiguousProject(
            f"project name {ref!r} is ambiguous: "
            + ", ".join(f"{p.canonical_hostname}/{p.name}" for p in found)
            + "; write it with its host name")
    return found[0] if found else None
