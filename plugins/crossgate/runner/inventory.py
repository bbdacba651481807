"""The inventory and variables Zuul's executor gives a job (zuul.executor.server).

Per host, variables are squashed like Zuul's `squash_variables`: job vars, then
group vars of `all`, then of each group the host is in (sorted by name), then
the host's host-vars, then extra-vars. Every host also gets ansible_host,
ansible_user, ansible_port, `nodepool` and `zuul_node`. Group children include
`zuul_unreachable`. The `zuul` dict goes to ansible-playbook as extra vars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

NODEPOOL_KEYS = ("label", "az", "cloud", "provider", "region", "host_id", "external_id",
                 "slot", "interface_ip", "public_ipv4", "private_ipv4", "public_ipv6",
                 "private_ipv6", "node_properties")


class NodesetError(Exception):
    pass


@dataclass
class HostSpec:
    """A node of the frozen nodeset: Zuul node names and a label."""

    names: list[str]
    label: str


@dataclass
class Nodeset:
    hosts: list[HostSpec] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)

    @property
    def node_names(self) -> list[str]:
        return [n for h in self.hosts for n in h.names]


def nodeset_from(value: Any, nodesets: dict[str, Any]) -> Nodeset:
    """A job's nodeset: a name, an anonymous definition, or alternatives (the first
    alternative that resolves is used)."""
    if value is None:
        return Nodeset()
    if isinstance(value, str):
        if value not in nodesets:
            raise NodesetError(f"nodeset {value!r} is not defined in any loaded repository; "
                               f"defined: {', '.join(sorted(nodesets)) or 'none'}")
        return nodeset_from(nodesets[value], nodesets)
    if not isinstance(value, dict):
        raise NodesetError(f"nodeset must be a name or a mapping, not {value!r}")
    if "alternatives" in value:
        alts = value["alternatives"] or []
        if not alts:
            raise NodesetError("nodeset has an empty 'alternatives' list")
        return nodeset_from(alts[0], nodesets)
    ns = Nodeset()
    for node in value.get("nodes") or []:
        node_names = node["name"] if isinstance(node["name"], list) else [node["name"]]
        ns.hosts.append(HostSpec([str(n) for n in node_names], str(node["label"])))
    for group in value.get("groups") or []:
        members = group["nodes"] if isinstance(group["nodes"], list) else [group["nodes"]]
        ns.groups[str(group["name"])] = [str(m) for m in members]
    known = set(ns.node_names)
    for gname, members in ns.groups.items():
        for m in members:
            if m not in known:
                raise NodesetError(f"group {gname!r} names node {m!r}, which the nodeset does "
                                   f"not have; nodes: {', '.join(sorted(known))}")
    return ns


def squash_variables(host_names: list[str], groups: dict[str, list[str]],
                     host_vars: dict[str, dict[str, Any]], job_vars: dict[str, Any],
                     group_vars: dict[str, dict[str, Any]],
                     extra_vars: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for host in host_names:
        merged: dict[str, Any] = {}
        merged.update(job_vars)
        merged.update(group_vars.get("all", {}))
        for gname in sorted(groups):
            if host in groups[gname]:
                merged.update(group_vars.get(gname, {}))
        merged.update(host_vars.get(host, {}))
        merged.update(extra_vars)
        out[host] = merged
    return out


def nodepool_vars(label: str, address: str, provider: str, external_id: str,
                  region: str | None = None) -> dict[str, Any]:
    return {
        "label": label, "az": None, "cloud": provider, "provider": provider,
        "region": region, "host_id": external_id, "external_id": external_id, "slot": None,
        "interface_ip": address, "public_ipv4": address, "private_ipv4": address,
        "public_ipv6": None, "private_ipv6": None, "node_properties": {},
    }


def make_inventory(hosts: dict[str, dict[str, Any]], groups: dict[str, list[str]],
                   all_vars: dict[str, Any], unreachable: list[str]) -> dict[str, Any]:
    children: dict[str, Any] = {g: {"hosts": {h: None for h in members}}
                                for g, members in groups.items()}
    children["zuul_unreachable"] = {"hosts": {h: None for h in unreachable}}
    return {"all": {"hosts": hosts, "vars": all_vars, "children": children}}


class UnsafeText(str):
    """A string Ansible must not template (YAML tag !unsafe)."""


def mark_unsafe(value: Any) -> Any:
    """A copy of `value` with every string marked !unsafe, like Zuul's
    yaml.mark_strings_unsafe for `unsafe_vars`."""
    if isinstance(value, str):
        return UnsafeText(value)
    if isinstance(value, dict):
        return {k: mark_unsafe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mark_unsafe(v) for v in value]
    return value


class _InventoryDumper(yaml.SafeDumper):
    pass


_InventoryDumper.add_representer(
    UnsafeText, lambda dumper, data: dumper.represent_scalar("!unsafe", str(data)))


def dump_inventory(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_InventoryDumper, default_flow_style=False, sort_keys=True)
