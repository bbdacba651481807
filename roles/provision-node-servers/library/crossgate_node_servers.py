#!/usr/bin/python
"""Make each node of a job a Nova server of the same name, with a Neutron port at its address."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_node_servers
short_description: Make each node of a job a Nova server of the same name, at its address
description:
  - For nodes that an OpenStack cloud did not boot (crossgate's local nodes, machines of an
    inventory), registers each as the cloud would have made it, as an operator provisions
    VMs; a network I(network) with a subnet of I(cidr) (no gateway, no DHCP), a port per node
    with the node's address, and a server per node named like the node, booted on that port
    with a small image and flavor of its own, in the project of I(cloud).
  - A cloud provider (the OpenStack cloud controller manager, Cinder CSI) then finds each node
    as a server by its name, with the node's address from Neutron.
  - Idempotent; objects are found by name. Each wait is bounded by I(wait_timeout).
options:
  cloud:
    description: Cloud of clouds.yaml whose project owns the servers.
    type: str
    required: true
  admin_cloud:
    description: Cloud of clouds.yaml allowed to make the flavor and the public image.
    type: str
    required: true
  nodes:
    description: Node name to its address (an address inside I(cidr)).
    type: dict
    required: true
  network:
    description: Name of the network of the nodes' ports.
    type: str
    default: crossgate-nodes
  cidr:
    description: The subnet of the nodes' addresses.
    type: str
    required: true
  state:
    description: C(present) makes them, C(absent) removes the servers and ports.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description: Seconds a server may take to become ACTIVE (or to go away).
    type: int
    default: 180
  delay:
    description: Seconds between polls.
    type: int
    default: 2
"""

EXAMPLES = r"""
- name: Make the Kubernetes nodes servers of the demo project
  crossgate_node_servers:
    cloud: crossgate-demo
    admin_cloud: crossgate-admin
    nodes: {k8s1: 10.4.0.20, k8s2: 10.4.0.21}
    cidr: 10.4.0.0/24
"""

RETURN = r"""
servers:
  description: Node name to its server (id, port id, address, project id, availability zone).
  type: dict
  returned: always
"""

import io
import ipaddress
import time

from ansible.module_utils.basic import AnsibleModule

PREFIX = "crossgate-node"


def check_inputs(nodes: dict, cidr: str) -> str:
    """An error naming the field and what is allowed, or ''."""
    try:
        net = ipaddress.ip_network(cidr)
    except ValueError:
        return f"cidr: {cidr!r} is not allowed; allowed: an IPv4 network such as 10.4.0.0/24"
    if not nodes:
        return "nodes: empty; allowed: a mapping of node names to addresses"
    for name, address in sorted(nodes.items()):
        try:
            inside = ipaddress.ip_address(str(address)) in net
        except ValueError:
            inside = False
        if not inside:
            return (f"nodes.{name}: {address!r} is not allowed; allowed: an address inside "
                    f"cidr {cidr}")
    return ""


def wait_for(what, probe, done, timeout, delay):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last state: "
                               f"{value}")
        time.sleep(delay)


def present(conn, admin, p):
    changed = False
    flavor = admin.compute.find_flavor(f"{PREFIX}-flavor")
    if flavor is None:
        flavor = admin.compute.create_flavor(name=f"{PREFIX}-flavor", ram=512, vcpus=1, disk=1,
                                             is_public=True)
        changed = True
    image = admin.image.find_image(f"{PREFIX}-image")
    if image is None:
        image = admin.image.create_image(
            f"{PREFIX}-image", data=io.BytesIO(b"crossgate: a node that is not a guest\n"),
            disk_format="raw", container_format="bare", visibility="public", wait=True,
            timeout=p["wait_timeout"])
        changed = True
    network = conn.network.find_network(p["network"])
    if network is None:
        network = conn.network.create_network(name=p["network"])
        changed = True
    subnet = conn.network.find_subnet(f"{p['network']}-subnet")
    if subnet is None:
        subnet = conn.network.create_subnet(name=f"{p['network']}-subnet",
                                            network_id=network.id, ip_version=4,
                                            cidr=p["cidr"], gateway_ip=None, is_dhcp_enabled=False)
        changed = True
    out = {}
    for name, address in sorted(p["nodes"].items()):
        port = conn.network.find_port(f"{PREFIX}-{name}")
        if port is None:
            port = conn.network.create_port(name=f"{PREFIX}-{name}", network_id=network.id,
                                            fixed_ips=[{"subnet_id": subnet.id,
                                                        "ip_address": str(address)}],
                                            port_security_enabled=False)
            changed = True
        server = conn.compute.find_server(name)
        if server is None:
            server = conn.compute.create_server(name=name, flavor_id=flavor.id,
                                                image_id=image.id,
                                                networks=[{"port": port.id}])
            changed = True
        out[name] = (server.id, port.id, str(address))
    servers = {}
    for name, (sid, pid, address) in out.items():
        s = wait_for(f"server {name} ({sid}) to be ACTIVE", lambda sid=sid:
                     conn.compute.get_server(sid), lambda s: s.status in ("ACTIVE", "ERROR"),
                     p["wait_timeout"], p["delay"])
        if s.status != "ACTIVE":
            raise RuntimeError(f"server {name} ({sid}) is {s.status}: {s.fault}")
        servers[name] = {"id": sid, "port_id": pid, "address": address,
                         "project_id": s.project_id, "availability_zone": s.availability_zone,
                         "host": s.compute_host}
    return changed, servers


def absent(conn, p):
    changed = False
    for name in sorted(p["nodes"]):
        server = conn.compute.find_server(name)
        if server is not None:
            conn.compute.delete_server(server.id)
            wait_for(f"server {name} to go away",
                     lambda name=name: conn.compute.find_server(name),
                     lambda s: s is None, p["wait_timeout"], p["delay"])
            changed = True
        port = conn.network.find_port(f"{PREFIX}-{name}")
        if port is not None:
            conn.network.delete_port(port.id)
            changed = True
    return changed, {}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "cloud": {"type": "str", "required": True},
            "admin_cloud": {"type": "str", "required": True},
            "nodes": {"type": "dict", "required": True},
            "network": {"type": "str", "default": "crossgate-nodes"},
            "cidr": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "wait_timeout": {"type": "int", "default": 180},
            "delay": {"type": "int", "default": 2},
        },
        supports_check_mode=False,
    )
    p = module.params
    error = check_inputs(p["nodes"], p["cidr"])
    for field in ("wait_timeout", "delay"):
        if p[field] < 1:
            error = error or f"{field}: {p[field]} is not allowed; allowed: 1 or more"
    if error:
        module.fail_json(msg=error)
    try:
        import openstack
    except ImportError as exc:
        module.fail_json(msg=f"openstacksdk is not importable: {exc}; run the module with the "
                             "OpenStack contract's client_python")
    conn = openstack.connect(cloud=p["cloud"])
    try:
        if p["state"] == "present":
            changed, servers = present(conn, openstack.connect(cloud=p["admin_cloud"]), p)
        else:
            changed, servers = absent(conn, p)
    except (TimeoutError, RuntimeError) as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # the cloud's own error (unreachable, refused, quota), named
        module.fail_json(msg=f"cloud {p['cloud']} (admin cloud {p['admin_cloud']}): "
                             f"{type(exc).__name__}: {exc}")
    module.exit_json(changed=changed, servers=servers)


if __name__ == "__main__":
    main()
