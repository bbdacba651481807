"""A tenant configuration file (Zuul's main.yaml), read and validated with Zuul's schema.

`crossgate check --tenant-config main.yaml` loads the projects a tenant names,
with the object kinds (include/exclude) and extra-config-paths the tenant gives
each; with every project supplied, a reference that none defines is an error,
as it is in a scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Zuul's TenantParser.job_classes and all_classes: what untrusted and config
# projects load by default.
UNTRUSTED_DEFAULT = frozenset(("pipeline", "job", "semaphore", "project", "project-template",
                               "nodeset", "secret", "queue"))
CONFIG_DEFAULT = UNTRUSTED_DEFAULT | {"image", "flavor", "label", "section", "provider"}
# Top-level kinds of a tenant file other than `tenant`.
OTHER_KINDS = ("admin-rule", "authorization-rule", "api-root", "global-semaphore")


class TenantConfigError(Exception):
    """A tenant file that Zuul would refuse, or a tenant that is not in it."""


@dataclass
class TenantProject:
    name: str                # as written in the tenant file
    source: str              # the connection it comes from
    trusted: bool            # config-projects: True
    include: frozenset[str]
    extra_paths: list[str] = field(default_factory=list)


@dataclass
class Tenant:
    name: str
    base_job: str
    projects: list[TenantProject]


class _AnySource:
    """Zuul validates source names against its connections; a file check knows none."""

    def getSource(self, name: str) -> Any:
        return name


def _schema() -> Any:
    from zuul import configloader

    parser = configloader.TenantParser(_AnySource(), None, None, None, None, None, None, None)
    return parser.getSchema()


def read(path: Path, name: str | None = None) -> Tenant:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TenantConfigError(f"{path}: cannot be read ({exc})") from exc
    except yaml.YAMLError as exc:
        raise TenantConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, list):
        raise TenantConfigError(f"{path}: a tenant file is a list of '- tenant: {{...}}' "
                                f"items; found {type(data).__name__}")
    tenants: dict[str, dict[str, Any]] = {}
    schema = _schema()
    for i, item in enumerate(data):
        if not (isinstance(item, dict) and len(item) == 1):
            raise TenantConfigError(f"{path}: item {i + 1} is not a one-key mapping such as "
                                    "'- tenant: {...}'")
        kind, conf = next(iter(item.items()))
        if kind in OTHER_KINDS:
            continue
        if kind != "tenant":
            raise TenantConfigError(f"{path}: item {i + 1}: unknown kind {kind!r}; allowed: "
                                    + ", ".join(("tenant", *OTHER_KINDS)))
        try:
            schema(conf)
        except Exception as exc:  # voluptuous.Invalid and MultipleInvalid
            where = conf.get("name", f"item {i + 1}") if isinstance(conf, dict) else i + 1
            raise TenantConfigError(f"{path}: tenant {where}: Zuul's tenant schema says: "
                                    f"{exc}") from exc
        tenants[conf["name"]] = conf
    if not tenants:
        raise TenantConfigError(f"{path}: defines no tenant")
    if name is None:
        if len(tenants) > 1:
            raise TenantConfigError(f"{path} defines {len(tenants)} tenants ("
                                    + ", ".join(sorted(tenants)) + "); choose one with --tenant")
        name = next(iter(tenants))
    if name not in tenants:
        raise TenantConfigError(f"--tenant {name!r}: {path} defines "
                                + ", ".join(sorted(tenants)))
    conf = tenants[name]
    projects: list[TenantProject] = []
    for source, sconf in (conf.get("source") or {}).items():
        for key, trusted, default in (("config-projects", True, CONFIG_DEFAULT),
                                      ("untrusted-projects", False, UNTRUSTED_DEFAULT)):
            for entry in _as_list(sconf.get(key)):
                projects += _projects(entry, source, trusted, default)
    return Tenant(name, str(conf.get("default-parent", "base")), projects)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _projects(entry: Any, source: str, trusted: bool,
              include: frozenset[str]) -> list[TenantProject]:
    """Zuul's TenantParser._getProjects: a name, a group with `projects`, or a
    one-key mapping with the project's options."""
    if isinstance(entry, str):
        return [TenantProject(entry, source, trusted, include)]
    if len(entry) > 1 and "projects" in entry:
        if "include" in entry:
            include = frozenset(_as_list(entry["include"]))
        include = include - frozenset(_as_list(entry.get("exclude")))
        out = []
        for sub in _as_list(entry["projects"]):
            out += _projects(sub, source, trusted, include)
        return out
    name, opts = next(iter(entry.items()))
    opts = opts or {}
    if opts.get("include") is not None:
        include = frozenset(_as_list(opts["include"]))
    include = include - frozenset(_as_list(opts.get("exclude")))
    extra = [p.rstrip("/") for p in _as_list(opts.get("extra-config-paths"))]
    return [TenantProject(str(name), source, trusted, include, extra)]
