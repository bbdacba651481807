#!/usr/bin/python
"""crossgate_openstack_servers: one server on each compute host, its port bound in OVN; the
security group rule the behaviour checks remove and restore; and the cleanup of all of it."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_openstack_servers
short_description: Boot one server per compute host and check where its port is bound
description:
  - Runs on the controller with the contract's C(client_python) (openstacksdk) and, for
    O(action=bindings), C(ovn-sbctl) against the southbound database.
  - O(action=present) creates, in the demo project, a security group with one ICMP ingress rule,
    and for each host of O(hosts) a port on the contract's tenant network and a server booted
    with availability zone C(nova:HOST) (as the admin user, which it gives the C(admin) role on
    the demo project for the check if it has none). It waits up to O(server_timeout) seconds for
    each server and records C(server-active:HOST) (ACTIVE, on that host). Hosts of the contract
    not in O(hosts) get a C(skip) record naming why. Returns what each guest must see.
  - O(action=bindings) records C(port-bound-ovn:HOST) for each server (Neutron's
    C(binding:host_id) is the host), the port is ACTIVE, and the southbound Port_Binding of the port
    has the contract's chassis of the host; it waits up to O(bind_timeout) seconds.
  - O(action=icmp-rule) removes (O(rule_state=absent)) or restores the security group's ICMP
    ingress rule.
  - O(action=absent) deletes every server, port, security group, flavor and image whose name
    starts with C(crossgate-check), and the role assignment the module made. It is safe to run
    after a failed or killed run.
options:
  node:
    description: Inventory name of this node.
    type: str
    required: true
  action:
    description: What to do.
    type: str
    choices: [present, bindings, icmp-rule, absent]
    required: true
  cloud:
    description: The admin cloud of clouds.yaml.
    type: str
    default: crossgate-admin
  demo_cloud:
    description: The demo cloud of clouds.yaml; its project owns what the checks create.
    type: str
    default: crossgate-demo
  contract:
    description: The layer's contract (crossgate-contract.json).
    type: dict
    required: true
  hosts:
    description: Compute hosts to boot on (those whose hypervisor is up); empty means all.
    type: list
    elements: str
    default: []
  flavor:
    description: Flavor of the servers; empty creates C(crossgate-check-flavor) (1 vCPU, 128 MB).
    type: str
    default: ""
  image:
    description: >-
      Image of the servers; empty uploads C(crossgate-check-boot), a few bytes that only a
      virt driver without guests (fake) can boot.
    type: str
    default: ""
  rule_state:
    description: For O(action=icmp-rule), whether the ICMP ingress rule is there.
    type: str
    choices: [present, absent]
    default: present
  server_timeout:
    description: Seconds to wait for the servers to be ACTIVE (or ERROR).
    type: int
    default: 180
  bind_timeout:
    description: Seconds to wait for each port to be ACTIVE and bound in OVN.
    type: int
    default: 60
  delay:
    description: Seconds between two looks.
    type: int
    default: 2
  command_timeout:
    description: Seconds each ovn-sbctl may take.
    type: int
    default: 20
  state_file:
    description: Where the module notes what it created that has no crossgate-check name.
    type: path
    default: /var/lib/crossgate/openstack-check-state.json
  results_dir:
    description: Folder on the node for the check records.
    type: path
    default: /var/lib/crossgate/results
author:
  - crossgate
"""

EXAMPLES = r"""
- name: One server per compute host
  crossgate_openstack_servers:
    node: "{{ inventory_hostname }}"
    action: present
    contract: "{{ contract }}"
"""

RETURN = r"""
records:
  description: The check records.
  returned: always
  type: list
servers:
  description: >-
    For action=present, per host: host, server_id, name, hostname, port_id, mac, ip, prefixlen,
    gateway, mtu (what the guest must get).
  returned: always
  type: list
rule:
  description: For action=icmp-rule, the rule removed or restored.
  returned: always
  type: dict
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_openstack import (
    PREFIX,
    RESULTS_NAME,
    expected_from_neutron,
    parse_ovsdb_json,
    port_bound_record,
    server_record,
    skip_record,
)
from ansible.module_utils.crossgate_records import check_argument_spec, write_records

SG_NAME = f"{PREFIX}-sg"
ICMP_RULE = {"direction": "ingress", "ether_type": "IPv4", "protocol": "icmp"}


def as_dict(obj):
    if obj is None:
        return None
    return obj.to_dict(computed=False) if hasattr(obj, "to_dict") else dict(obj)


def load_state(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def save_state(path, state):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(state, f)


def demo_project(conn, openstack, demo_cloud):
    auth = openstack.config.OpenStackConfig().get_one(cloud=demo_cloud).auth
    ref = auth.get("project_id") or auth.get("project_name")
    project = conn.identity.find_project(ref, ignore_missing=False,
                                         domain_id=None if auth.get("project_id") else
                                         _domain_id(conn, auth))
    return project


def _domain_id(conn, auth):
    if auth.get("project_domain_id"):
        return auth["project_domain_id"]
    name = auth.get("project_domain_name") or "Default"
    return conn.identity.find_domain(name, ignore_missing=False).id


def demo_connection(conn, openstack, p, state_file):
    """A connection of the admin user scoped to the demo project, with the admin role there
    (needed to boot on a named host)."""
    project = demo_project(conn, openstack, p["demo_cloud"])
    role = conn.identity.find_role("admin", ignore_missing=False)
    user = conn.current_user_id
    if not conn.identity.validate_user_has_project_role(project, user, role):
        conn.identity.assign_project_role_to_user(project, user, role)
        state = load_state(state_file)
        state["assigned"] = {"project": project.id, "user": user, "role": role.id}
        save_state(state_file, state)
    return conn.connect_as_project({"id": project.id, "name": project.name,
                                    "domain_id": project.domain_id}), project


def icmp_rules(conn, sg):
    return [r for r in conn.network.security_group_rules(security_group_id=sg.id)
            if all(getattr(r, k) == v for k, v in ICMP_RULE.items())]


def ensure_security_group(dconn, project):
    sg = dconn.network.find_security_group(SG_NAME, project_id=project.id)
    if sg is None:
        sg = dconn.network.create_security_group(
            name=SG_NAME, description="crossgate check: ICMP ingress only")
    if not icmp_rules(dconn, sg):
        dconn.network.create_security_group_rule(security_group_id=sg.id, **ICMP_RULE)
    return sg


def ensure_flavor(conn, name):
    if name:
        return conn.compute.find_flavor(name, ignore_missing=False)
    flavor = conn.compute.find_flavor(f"{PREFIX}-flavor")
    return flavor or conn.compute.create_flavor(name=f"{PREFIX}-flavor", ram=128, vcpus=1,
                                                disk=1, is_public=True)


def ensure_image(conn, name):
    if name:
        return conn.image.find_image(name, ignore_missing=False)
    image = conn.image.find_image(f"{PREFIX}-boot")
    return image or conn.image.create_image(
        f"{PREFIX}-boot", data=b"crossgate check: no guest\n", disk_format="raw",
        container_format="bare", visibility="public", wait=True, timeout=120)


def server_view(conn, server_id):
    s = conn.compute.get_server(server_id)
    return {"id": s.id, "name": s.name, "status": s.status, "host": s.compute_host,
            "hypervisor_hostname": s.hypervisor_hostname, "hostname": s.hostname,
            "availability_zone": s.availability_zone, "fault": s.fault}


def present(conn, openstack, p, node):
    contract = p["contract"]
    all_hosts = list(contract.get("compute_hosts") or [])
    hosts = [h for h in all_hosts if not p["hosts"] or h in p["hosts"]]
    records = [skip_record(f"server-active:{h}", node, time.time(),
                           f"not booted: the hypervisor of {h} or its nova-compute is not up "
                           "(see the hypervisors check)") for h in all_hosts if h not in hosts]
    dconn, project = demo_connection(conn, openstack, p, p["state_file"])
    flavor = ensure_flavor(conn, p["flavor"])
    image = ensure_image(conn, p["image"])
    sg = ensure_security_group(dconn, project)
    network = dconn.network.find_network(contract["tenant_network"], ignore_missing=False)
    subnet = dconn.network.find_subnet(contract["tenant_subnet"], ignore_missing=False)
    started, booted = time.time(), {}
    for host in hosts:
        name = f"{PREFIX}-{host}"
        port = dconn.network.find_port(f"{PREFIX}-port-{host}")
        if port is None:
            port = dconn.network.create_port(name=f"{PREFIX}-port-{host}", network_id=network.id,
                                             security_group_ids=[sg.id],
                                             fixed_ips=[{"subnet_id": subnet.id}])
        server = dconn.compute.find_server(name)
        if server is None:
            server = dconn.compute.create_server(
                name=name, flavor_id=flavor.id, image_id=image.id,
                networks=[{"port": port.id}], availability_zone=f"nova:{host}")
        booted[host] = (server.id, port.id)
    deadline = started + p["server_timeout"]
    views = {}
    while True:
        views = {h: server_view(dconn, sid) for h, (sid, _) in booted.items()}
        if all(v["status"] in ("ACTIVE", "ERROR") for v in views.values()) \
                or time.time() + p["delay"] > deadline:
            break
        time.sleep(p["delay"])
    servers = []
    for host in hosts:
        view = views[host]
        done = view["status"] == "ACTIVE"
        records.append(server_record(node, host, view, started,
                                     waited=None if done else p["server_timeout"]))
        port = dconn.network.get_port(booted[host][1])
        guest = expected_from_neutron(as_dict(port), as_dict(subnet), as_dict(network))
        servers.append(dict(guest, host=host, server_id=view["id"], name=view["name"],
                            hostname=view["hostname"], port_id=port.id, active=done,
                            chassis=(contract.get("chassis") or {}).get(host)))
    return records, servers


def sbctl(module, timeout, *args):
    rc, out, err = module.run_command(["ovn-sbctl", f"--timeout={timeout}", "--format=json",
                                       *args])
    if rc != 0:
        raise RuntimeError(f"ovn-sbctl {' '.join(args)} failed (rc={rc}): {err.strip()[:300]}")
    return parse_ovsdb_json(out)


def bindings(module, conn, p, node):
    contract = p["contract"]
    records = []
    for host in contract.get("compute_hosts") or []:
        if p["hosts"] and host not in p["hosts"]:
            records.append(skip_record(f"port-bound-ovn:{host}", node, time.time(),
                                       f"no server on {host} (see server-active:{host})"))
            continue
        started = time.time()
        deadline = started + p["bind_timeout"]
        chassis = (contract.get("chassis") or {}).get(host)
        while True:
            port = conn.network.find_port(f"{PREFIX}-port-{host}")
            port_d = as_dict(port)
            if port_d is not None:
                port_d["binding_host_id"] = port.binding_host_id
            try:
                rows = sbctl(module, p["command_timeout"], "--columns=logical_port,chassis,up",
                             "find", "Port_Binding", f"logical_port={port.id}") if port else []
                chassis_rows = sbctl(module, p["command_timeout"],
                                     "--columns=_uuid,name,hostname", "list", "Chassis")
            except RuntimeError as exc:
                module.fail_json(msg=str(exc))
            rec = port_bound_record(node, host, port_d, chassis, rows, chassis_rows, started)
            if rec["status"] == "pass" or time.time() + p["delay"] > deadline:
                break
            time.sleep(p["delay"])
        if rec["status"] != "pass":
            rec = port_bound_record(node, host, port_d, chassis, rows, chassis_rows, started,
                                    waited=p["bind_timeout"])
        records.append(rec)
    return records


def icmp_rule(conn, openstack, p):
    project = demo_project(conn, openstack, p["demo_cloud"])
    sg = conn.network.find_security_group(SG_NAME, project_id=project.id, ignore_missing=False)
    rules = icmp_rules(conn, sg)
    changed = False
    if p["rule_state"] == "absent":
        for r in rules:
            conn.network.delete_security_group_rule(r, ignore_missing=True)
            changed = True
    elif not rules:
        conn.network.create_security_group_rule(security_group_id=sg.id,
                                                project_id=project.id, **ICMP_RULE)
        changed = True
    return changed, dict(ICMP_RULE, security_group=sg.id, state=p["rule_state"])


def absent(conn, p):
    """Delete all the checks made; return what was deleted."""
    gone = []
    servers = [s for s in conn.compute.servers(all_projects=True)
               if (s.name or "").startswith(PREFIX)]
    for s in servers:
        conn.compute.delete_server(s, ignore_missing=True)
        gone.append(f"server {s.name}")
    for s in servers:
        conn.compute.wait_for_delete(s, interval=p["delay"], wait=p["server_timeout"])
    for port in conn.network.ports():
        if (port.name or "").startswith(PREFIX):
            conn.network.delete_port(port, ignore_missing=True)
            gone.append(f"port {port.name}")
    for sg in conn.network.security_groups():
        if sg.name == SG_NAME:
            conn.network.delete_security_group(sg, ignore_missing=True)
            gone.append(f"security group {sg.id}")
    flavor = conn.compute.find_flavor(f"{PREFIX}-flavor")
    if flavor is not None:
        conn.compute.delete_flavor(flavor, ignore_missing=True)
        gone.append(f"flavor {flavor.name}")
    for image in conn.image.images():
        if (image.name or "").startswith(PREFIX):
            conn.image.delete_image(image, ignore_missing=True)
            gone.append(f"image {image.name}")
    state = load_state(p["state_file"])
    if state.get("assigned"):
        a = state.pop("assigned")
        conn.identity.unassign_project_role_from_user(a["project"], a["user"], a["role"])
        gone.append(f"role assignment {a['role']} of {a['user']} on {a['project']}")
        save_state(p["state_file"], state)
    return gone


def main():
    module = AnsibleModule(
        argument_spec=check_argument_spec(
            action=dict(type="str", required=True,
                        choices=["present", "bindings", "icmp-rule", "absent"]),
            cloud=dict(type="str", default="crossgate-admin"),
            demo_cloud=dict(type="str", default="crossgate-demo"),
            contract=dict(type="dict", required=True),
            hosts=dict(type="list", elements="str", default=[]),
            flavor=dict(type="str", default=""),
            image=dict(type="str", default=""),
            rule_state=dict(type="str", default="present", choices=["present", "absent"]),
            server_timeout=dict(type="int", default=180),
            bind_timeout=dict(type="int", default=60),
            delay=dict(type="int", default=2),
            command_timeout=dict(type="int", default=20),
            state_file=dict(type="path", default="/var/lib/crossgate/openstack-check-state.json"),
        ),
        supports_check_mode=False,
    )
    p = module.params
    try:
        import openstack
        import openstack.config
    except ImportError as exc:
        module.fail_json(msg=f"openstacksdk is not importable: {exc}; run the module with the "
                             "contract's client_python")
    conn = openstack.connect(cloud=p["cloud"])
    result = dict(changed=False, records=[], servers=[], rule={})
    try:
        if p["action"] == "present":
            result["records"], result["servers"] = present(conn, openstack, p, p["node"])
            result["changed"] = True
        elif p["action"] == "bindings":
            result["records"] = bindings(module, conn, p, p["node"])
        elif p["action"] == "icmp-rule":
            result["changed"], result["rule"] = icmp_rule(conn, openstack, p)
        else:
            result["deleted"] = absent(conn, p)
            result["changed"] = bool(result["deleted"])
    except Exception as exc:  # an API error: say which action and what the cloud answered
        module.fail_json(msg=f"{p['action']}: {type(exc).__name__}: {str(exc)[:600]}",
                         **result)
    if result["records"]:
        result["results_file"] = write_records(result["records"], p["results_dir"],
                                               RESULTS_NAME)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
