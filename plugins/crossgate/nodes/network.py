"""Pure functions that place a pool on the host network: bridge name, subnet, addresses, MACs.

Each pool gets a bridge ``cg-<6 hex>`` and a /24 in 10.240.0.0/12, both derived from a hash of
the pool's state directory and name, so pools of different users or state roots do not collide.
When the first choice is taken (a bridge of that name exists or a route covers the subnet), the
next salt is tried.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass

from crossgate.nodes import system

SUPERNET = ipaddress.IPv4Network("10.240.0.0/12")
HOST_OCTET = 1
FIRST_NODE_OCTET = 10
BRIDGE_PREFIX = "cg-"
MAX_TRIES = 64


@dataclass(frozen=True)
class PoolNet:
    pool_id: str  # 6 hex digits
    bridge: str
    subnet: str  # "10.x.y.0/24"
    host_address: str

    @property
    def prefixlen(self) -> int:
        return ipaddress.IPv4Network(self.subnet).prefixlen


def pool_key(state_root: str, pool: str, salt: int = 0) -> str:
    data = f"{state_root}\0{pool}\0{salt}".encode()
    return hashlib.sha256(data).hexdigest()


def candidate(state_root: str, pool: str, salt: int) -> PoolNet:
    digest = pool_key(state_root, pool, salt)
    pool_id = digest[:6]
    count = 2 ** (24 - SUPERNET.prefixlen)  # number of /24s in the supernet
    index = int(digest[6:14], 16) % count
    subnet = ipaddress.IPv4Network((int(SUPERNET.network_address) + index * 256, 24))
    host = subnet.network_address + HOST_OCTET
    return PoolNet(pool_id, BRIDGE_PREFIX + pool_id, str(subnet), str(host))


def choose_pool_net(
    state_root: str,
    pool: str,
    taken_links: set[str],
    taken_subnets: list[str],
) -> PoolNet:
    """The first candidate whose bridge name and subnet are both free."""
    used = [ipaddress.IPv4Network(s, strict=False) for s in taken_subnets]
    for salt in range(MAX_TRIES):
        net = candidate(state_root, pool, salt)
        mine = ipaddress.IPv4Network(net.subnet)
        if net.bridge in taken_links or any(mine.overlaps(u) for u in used):
            continue
        return net
    raise RuntimeError(f"no free bridge/subnet for pool {pool} after {MAX_TRIES} tries")


def node_address(subnet: str, index: int) -> str:
    net = ipaddress.IPv4Network(subnet)
    if not 0 <= index < 254 - FIRST_NODE_OCTET:
        raise ValueError(f"node index {index} out of range")
    return str(net.network_address + FIRST_NODE_OCTET + index)


def node_mac(pool_id: str, index: int) -> str:
    """A fixed, locally administered unicast MAC: 02:<pool id>:<index>."""
    if not 0 <= index < 0x10000:
        raise ValueError(f"node index {index} out of range")
    octets = [0x02, *bytes.fromhex(pool_id)[:3], index >> 8, index & 0xFF]
    return ":".join(f"{o:02x}" for o in octets)


def bridge_mac(pool_id: str) -> str:
    """The bridge's own fixed MAC, outside the node range. A bridge without a set address takes
    its ports' lowest MAC, and every change of it flushes the host's neighbour entries."""
    return node_mac(pool_id, 0xFFFF)


def machine_name(pool_id: str, index: int) -> str:
    """nspawn machine name; the host side of the veth is ``vb-<machine name>`` (≤ 15 chars)."""
    return f"cg{pool_id}n{index}"


def host_veth(machine: str) -> str:
    return ("vb-" + machine)[:15]


def hosts_file(entries: list[tuple[str, str]], host: tuple[str, str] | None) -> str:
    lines = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
        "",
        "# crossgate pool nodes",
    ]
    if host:
        lines.append(f"{host[0]}\t{host[1]}")
    lines += [f"{addr}\t{name}" for name, addr in entries]
    return "\n".join(lines) + "\n"


def networkd_file(mac: str, address: str, prefixlen: int, interface: str = "host0") -> str:
    """systemd-networkd config of a node: fixed MAC and static address, no gateway, no DNS,
    no IPv6 autoconfiguration (nodes talk IPv4 on the pool's bridge only)."""
    return (
        "[Match]\n"
        f"Name={interface}\n"
        "\n[Link]\n"
        f"MACAddress={mac}\n"
        "\n[Network]\n"
        f"Address={address}/{prefixlen}\n"
        "LinkLocalAddressing=no\n"
        "IPv6AcceptRA=no\n"
        "LLMNR=no\n"
        "MulticastDNS=no\n"
    )


# No resolver: lookups of names outside /etc/hosts fail at once instead of hanging.
RESOLV_CONF = (
    "# crossgate node: no DNS; names of the pool are in /etc/hosts\noptions timeout:1 attempts:1\n"
)


def host_links() -> set[str]:
    out = system.run(["ip", "-j", "link", "show"])
    return {link["ifname"] for link in json.loads(out.stdout or "[]")}


def host_subnets() -> list[str]:
    out = system.run(["ip", "-j", "-4", "route", "show", "table", "all"])
    subnets = []
    for route in json.loads(out.stdout or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default" and route.get("type", "unicast") == "unicast":
            subnets.append(dst if "/" in dst else dst + "/32")
    return subnets
