#!/usr/bin/python
"""crossgate_openstack_guest: a stand-in for a server's guest on its compute node, plugged
into br-int as os-vif plugs a VM, and what it sees: DHCP, pings, the metadata service."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_openstack_guest
short_description: Plug a guest stand-in into br-int and check what it gets from OVN
description:
  - Runs on a compute node (system Python; needs ovs-vsctl, ip, busybox udhcpc and ping).
  - O(action=plug) makes a network namespace with an OVS internal port on br-int named as
    os-vif names a VM's tap (C(tap) + 11 characters of the port id), with
    C(external_ids:iface-id), C(attached-mac) and the MAC of the Neutron port, asks for an
    address by DHCP (OVN's native DHCP answers), applies the lease (address, gateway, MTU,
    classless static routes) and records C(guest-dhcp:HOST), comparing the lease with
    O(expected) (Neutron's view).
  - O(action=ping) pings O(target) from the namespace. With O(expect=reply) it tries until a
    reply comes or O(timeout) seconds pass; with O(expect=no-reply) until a ping goes
    unanswered, then confirms with O(count) pings. O(record) names the record it makes
    (C(guest-ping) or C(security-group-icmp), which also takes O(blocked) and O(rule)), or
    C(none) to only return the observation.
  - O(action=metadata) reads meta_data.json from 169.254.169.254 in the namespace (retrying for
    O(timeout) seconds) and records C(guest-metadata:HOST) (the document's uuid and hostname
    are the server's).
  - O(action=unplug) removes the namespace and the OVS port of O(port_id), and with an empty
    O(port_id) every stand-in crossgate made on the node.
options:
  node:
    description: Inventory name of this node.
    type: str
    required: true
  action:
    description: What to do.
    type: str
    choices: [plug, ping, metadata, unplug]
    required: true
  host:
    description: The compute host (hypervisor name) this stand-in belongs to.
    type: str
    default: ""
  port_id:
    description: The Neutron port of the server.
    type: str
    default: ""
  mac:
    description: The port's MAC address.
    type: str
    default: ""
  expected:
    description: What Neutron says the guest gets (ip, prefixlen, gateway, mtu).
    type: dict
    default: {}
  target:
    description: Address to ping (the other guest).
    type: str
    default: ""
  peer:
    description: Host of the guest at O(target), for the record's name.
    type: str
    default: ""
  expect:
    description: Whether the ping should be answered.
    type: str
    choices: [reply, no-reply]
    default: reply
  record:
    description: Which record a ping makes.
    type: str
    choices: [guest-ping, security-group-icmp, none]
    default: guest-ping
  blocked:
    description: For C(security-group-icmp), the observation of the pings with the rule removed.
    type: dict
    default: {}
  rule:
    description: For C(security-group-icmp), the rule that was removed and restored.
    type: dict
    default: {}
  server_id:
    description: For O(action=metadata), the server's id.
    type: str
    default: ""
  hostname:
    description: For O(action=metadata), the server's hostname.
    type: str
    default: ""
  bridge:
    description: The integration bridge.
    type: str
    default: br-int
  count:
    description: Pings of a confirmation.
    type: int
    default: 3
  timeout:
    description: Seconds a DHCP request, a ping wait or a metadata wait may take in all.
    type: int
    default: 30
  skip_reason:
    description: >-
      When not empty, the check of O(action) is not run and is recorded as C(skip) with this
      reason (a behaviour this node cannot have).
    type: str
    default: ""
  results_dir:
    description: Folder on the node for the check records.
    type: path
    default: /var/lib/crossgate/results
author:
  - crossgate
"""

EXAMPLES = r"""
- name: Plug the stand-in of the server on this node
  crossgate_openstack_guest:
    node: "{{ inventory_hostname }}"
    action: plug
    host: compute1
    port_id: "{{ server.port_id }}"
    mac: "{{ server.mac }}"
    expected: "{{ server }}"
"""

RETURN = r"""
record:
  description: The check record, when one was made.
  returned: when a check ran
  type: dict
observation:
  description: For action=ping, what the pings saw.
  returned: always
  type: dict
lease:
  description: For action=plug, the DHCP lease.
  returned: always
  type: dict
"""

import json
import os
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_openstack import (
    PREFIX,
    RESULTS_NAME,
    dhcp_record,
    interface_name,
    metadata_record,
    netns_name,
    parse_lease,
    parse_ping,
    ping_record,
    security_group_record,
    skip_record,
)
from ansible.module_utils.crossgate_records import check_argument_spec, write_records

METADATA_URL = "http://169.254.169.254/openstack/latest/meta_data.json"
DHCP_SCRIPT = '#!/bin/sh\n[ "$1" = bound ] && env > "{out}"\nexit 0\n'
READ_METADATA = (
    "import sys, urllib.request\n"
    "print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())\n"
)


class Node:
    def __init__(self, module):
        self.module = module
        self.steps = []

    def run(self, *argv, check=True, timeout=20):
        rc, out, err = self.module.run_command(["timeout", str(timeout), *argv])
        self.steps.append({"command": " ".join(argv)[:200], "rc": rc,
                           "output": (out + err)[-300:]})
        if check and rc != 0:
            raise RuntimeError(f"{' '.join(argv)[:200]} failed (rc={rc}): "
                               f"{(err or out).strip()[-300:]}")
        return rc, out

    def ns(self, netns, *argv, **kw):
        return self.run("ip", "netns", "exec", netns, *argv, **kw)


def unplug(node, bridge, port_id):
    if port_id:
        names = [interface_name(port_id)]
        spaces = [netns_name(port_id)]
    else:
        _, out = node.run("ovs-vsctl", "--bare", "--columns=name", "find", "Interface",
                          f"external_ids:{PREFIX}=1", check=False)
        names = out.split()
        _, out = node.run("ip", "netns", "list", check=False)
        spaces = [w.split()[0] for w in out.splitlines() if w.startswith(PREFIX)]
    changed = False
    for name in names:
        node.run("ovs-vsctl", "--if-exists", "del-port", bridge, name, check=False)
    for ns in spaces:
        if os.path.exists(f"/run/netns/{ns}"):
            node.run("ip", "netns", "delete", ns, check=False)
            changed = True
    return changed or bool(names)


def plug(node, p):
    port_id, bridge, mac = p["port_id"], p["bridge"], p["mac"]
    ifname, ns = interface_name(port_id), netns_name(port_id)
    unplug(node, bridge, port_id)
    node.run("ip", "netns", "add", ns)
    node.run("ovs-vsctl", "--timeout=20", "--", "--may-exist", "add-port", bridge, ifname,
             "--", "set", "Interface", ifname, "type=internal",
             f"external_ids:iface-id={port_id}", f"external_ids:attached-mac={mac}",
             "external_ids:iface-status=active", f"external_ids:{PREFIX}=1",
             f"mac=\"{mac}\"")
    deadline = time.time() + 10
    while node.run("ip", "link", "show", ifname, check=False)[0] != 0:
        if time.time() > deadline:
            raise RuntimeError(f"OVS made no {ifname} device in 10 s")
        time.sleep(0.2)
    node.run("ip", "link", "set", ifname, "address", mac)
    node.run("ip", "link", "set", ifname, "netns", ns)
    node.ns(ns, "ip", "link", "set", "lo", "up")
    node.ns(ns, "ip", "link", "set", ifname, "up")
    work = tempfile.mkdtemp(prefix=f"{PREFIX}-dhcp-")
    try:
        out = os.path.join(work, "lease")
        script = os.path.join(work, "script")
        with open(script, "w", encoding="utf-8") as f:
            f.write(DHCP_SCRIPT.format(out=out))
        os.chmod(script, 0o755)
        tries = max(1, p["timeout"] // 3)
        node.ns(ns, "busybox", "udhcpc", "-i", ifname, "-n", "-q", "-f", "-t", str(tries),
                "-T", "3", "-s", script, "-O", "mtu", "-O", "staticroutes",
                check=False, timeout=p["timeout"] + 5)
        lease = {}
        if os.path.exists(out):
            with open(out, encoding="utf-8") as f:
                lease = parse_lease(f.read())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if lease:
        node.ns(ns, "ip", "addr", "add", f"{lease['ip']}/{lease['prefixlen'] or 32}",
                "dev", ifname)
        if lease.get("mtu"):
            node.ns(ns, "ip", "link", "set", ifname, "mtu", str(lease["mtu"]))
        for dest, via in lease.get("routes") or []:
            if via == "0.0.0.0":
                node.ns(ns, "ip", "route", "replace", dest, "dev", ifname, check=False)
            else:
                node.ns(ns, "ip", "route", "replace", dest, "via", via, check=False)
        if lease.get("router"):
            node.ns(ns, "ip", "route", "replace", "default", "via", lease["router"],
                    check=False)
    return lease


def ping(node, p):
    ns, target = netns_name(p["port_id"]), p["target"]
    started = time.time()
    deadline = started + p["timeout"]
    attempts = 0
    want_reply = p["expect"] == "reply"
    while True:
        attempts += 1
        _, out = node.ns(ns, "ping", "-n", "-c", "1", "-W", "1", target, check=False)
        sent, got = parse_ping(out)
        if (got > 0) == want_reply or time.time() + 1 > deadline:
            break
        time.sleep(0.5)
    obs = {"expect": p["expect"], "attempts": attempts, "waited": round(time.time() - started, 1),
           "first_transmitted": sent, "first_received": got}
    if want_reply:
        obs.update(transmitted=sent, received=got)
    else:
        # the rule is gone when a ping goes unanswered; confirm that none gets through now
        _, out = node.ns(ns, "ping", "-n", "-c", str(p["count"]), "-i", "0.3", "-W", "1",
                         target, check=False, timeout=p["count"] + 5)
        obs["transmitted"], obs["received"] = parse_ping(out)
    obs["output"] = out[-300:]
    return obs


def read_metadata(node, p):
    ns = netns_name(p["port_id"])
    deadline = time.time() + p["timeout"]
    error = None
    while True:
        rc, out = node.ns(ns, "python3", "-c", READ_METADATA, METADATA_URL, check=False,
                          timeout=10)
        if rc == 0:
            try:
                return json.loads(out), None
            except ValueError as exc:
                error = f"not JSON: {exc}: {out[:200]}"
        else:
            error = f"{METADATA_URL} did not answer: {node.steps[-1]['output'][-200:]}"
        if time.time() + 2 > deadline:
            return None, f"{error} (after waiting up to {p['timeout']} s)"
        time.sleep(2)


def check_name(p):
    if p["action"] == "plug":
        return f"guest-dhcp:{p['host']}"
    if p["action"] == "metadata":
        return f"guest-metadata:{p['host']}"
    return f"{p['record']}:{p['host']}->{p['peer'] or 'peer'}"


def main():
    module = AnsibleModule(
        argument_spec=check_argument_spec(
            action=dict(type="str", required=True, choices=["plug", "ping", "metadata",
                                                            "unplug"]),
            host=dict(type="str", default=""),
            port_id=dict(type="str", default=""),
            mac=dict(type="str", default=""),
            expected=dict(type="dict", default={}),
            target=dict(type="str", default=""),
            peer=dict(type="str", default=""),
            expect=dict(type="str", default="reply", choices=["reply", "no-reply"]),
            record=dict(type="str", default="guest-ping",
                        choices=["guest-ping", "security-group-icmp", "none"]),
            blocked=dict(type="dict", default={}),
            rule=dict(type="dict", default={}),
            server_id=dict(type="str", default=""),
            hostname=dict(type="str", default=""),
            bridge=dict(type="str", default="br-int"),
            count=dict(type="int", default=3),
            timeout=dict(type="int", default=30),
            skip_reason=dict(type="str", default=""),
        ),
        supports_check_mode=False,
    )
    p = module.params
    node = Node(module)
    result = dict(changed=False, observation={}, lease={})
    if p["action"] != "unplug" and not p["port_id"] and not p["skip_reason"]:
        module.fail_json(msg=f"action={p['action']} needs port_id")
    rec = None
    started = time.time()
    if p["skip_reason"] and p["action"] != "unplug":
        # record=none is an observation for a later check, never a record of its own
        if not (p["action"] == "ping" and p["record"] == "none"):
            rec = skip_record(check_name(p), p["node"], started, p["skip_reason"])
    elif p["action"] == "unplug":
        result["changed"] = unplug(node, p["bridge"], p["port_id"])
    elif p["action"] == "plug":
        error, lease = None, {}
        try:
            lease = plug(node, p)
        except RuntimeError as exc:
            error = str(exc)
        if not lease and not error:
            error = (f"no DHCP answer to {interface_name(p['port_id'])} (MAC {p['mac']}) in "
                     f"{p['timeout']} s; ovn-controller's log: "
                     "/var/log/ovn/ovn-controller.log")
        result.update(changed=True, lease=lease)
        rec = dhcp_record(p["node"], p["host"], p["expected"], lease, started, error,
                          steps=node.steps[-12:])
    elif p["action"] == "ping":
        obs = ping(node, p)
        result["observation"] = obs
        if p["record"] == "guest-ping":
            rec = ping_record(p["node"], p["host"], p["peer"], p["target"], obs, started)
        elif p["record"] == "security-group-icmp":
            rec = security_group_record(p["node"], p["host"], p["peer"], p["target"], p["rule"],
                                        p["blocked"], obs, started)
    else:
        doc, error = read_metadata(node, p)
        rec = metadata_record(p["node"], p["host"], p["server_id"], p["hostname"], doc, started,
                              error, METADATA_URL)
    if rec is not None:
        result["record"] = rec
        result["results_file"] = write_records([rec], p["results_dir"], RESULTS_NAME)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
