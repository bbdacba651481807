#!/usr/bin/python
"""crossgate_overlay_matrix: full-size don't-fragment pings from this node to every other node
of the overlay, one check record per pair."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_overlay_matrix
short_description: Prove the overlay between this node and every other node at full MTU
description:
  - Sends don't-fragment ICMP echo requests whose IP packets are exactly the overlay MTU
    from this node to the overlay address of every other node, and records one check per
    pair (layer C(network), check C(overlay-ping:SOURCE->TARGET)) in crossgate's check
    record schema.
  - Records are written as JSON lines to O(results_dir) (not in check mode) and returned.
options:
  node:
    description: Inventory name of this node (the source of the pings).
    type: str
    required: true
  addresses:
    description: Overlay address of every node, by inventory name; this node is skipped.
    type: dict
    required: true
  mtu:
    description: Overlay MTU; the ICMP payload is MTU minus 28 bytes of IP and ICMP headers.
    type: int
    required: true
  count:
    description: Echo requests per pair; a pair passes when none is lost.
    type: int
    default: 3
  timeout:
    description: Seconds to wait for each reply.
    type: int
    default: 2
  results_dir:
    description: Folder on the node for the check records.
    type: path
    default: /var/lib/crossgate/results
  fail_on_failure:
    description: Fail the task, naming every failing pair and the MTU, when a pair fails.
    type: bool
    default: false
author:
  - crossgate
"""

EXAMPLES = r"""
- name: Overlay matrix from this node
  crossgate_overlay_matrix:
    node: "{{ inventory_hostname }}"
    addresses: "{{ configure_overlay_addresses }}"
    mtu: "{{ configure_overlay_mtu_effective }}"
    fail_on_failure: true
"""

RETURN = r"""
records:
  description: One check record per pair.
  returned: always
  type: list
  elements: dict
failed_pairs:
  description: C(SOURCE->TARGET) of every pair that lost packets.
  returned: always
  type: list
  elements: str
results_file:
  description: The JSON lines file the records were appended to.
  returned: when not in check mode
  type: str
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_records import (
    check_argument_spec,
    make_record,
    write_records,
)

IP_ICMP_HEADERS = 28
SUMMARY_RE = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")


def payload_size(mtu):
    """ICMP payload that makes an IPv4 packet of exactly `mtu` bytes."""
    return int(mtu) - IP_ICMP_HEADERS


def ping_command(address, mtu, count, timeout):
    return ["ping", "-n", "-M", "do", "-s", str(payload_size(mtu)), "-c", str(count),
            "-W", str(timeout), "-i", "0.2", address]


def parse_ping(output):
    """(transmitted, received) from ping's summary line; (0, 0) if there is none."""
    m = SUMMARY_RE.search(output or "")
    if not m:
        return 0, 0
    return int(m.group(1)), int(m.group(2))


def pair_record(source, target, address, mtu, count, rc, output, started, duration):
    transmitted, received = parse_ping(output)
    evidence = {
        "source": source, "target": target, "address": address, "mtu": int(mtu),
        "payload": payload_size(mtu), "dont_fragment": True, "sent": transmitted,
        "received": received, "rc": rc, "output": (output or "")[-1500:],
    }
    ok = rc == 0 and transmitted == count and received == count
    reason = None
    if not ok:
        if "message too long" in (output or "").lower():
            why = f"the local interface MTU is below {mtu}"
        elif transmitted == 0:
            why = "ping could not send"
        else:
            why = f"{received} of {transmitted} replies"
        reason = (f"{source} -> {target} ({address}): full-size don't-fragment ping at MTU "
                  f"{mtu} failed: {why}")
    return make_record("network", f"overlay-ping:{source}->{target}", "pass" if ok else "fail",
                       source, started, evidence, reason, duration)


def main():
    module = AnsibleModule(
        argument_spec=check_argument_spec(
            addresses=dict(type="dict", required=True),
            mtu=dict(type="int", required=True),
            count=dict(type="int", default=3),
            timeout=dict(type="int", default=2),
            fail_on_failure=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not 576 <= p["mtu"] <= 9000:
        module.fail_json(msg=f"mtu: {p['mtu']} is not allowed; give 576 to 9000")
    if not 1 <= p["count"] <= 100:
        module.fail_json(msg=f"count: {p['count']} is not allowed; give 1 to 100")
    if not 1 <= p["timeout"] <= 60:
        module.fail_json(msg=f"timeout: {p['timeout']} is not allowed; give 1 to 60 seconds")
    records = []
    for target, address in sorted(p["addresses"].items()):
        if target == p["node"]:
            continue
        started = time.time()
        rc, out, err = module.run_command(
            ping_command(str(address), p["mtu"], p["count"], p["timeout"]))
        records.append(pair_record(p["node"], target, str(address), p["mtu"], p["count"], rc,
                                   out + err, started, time.time() - started))
    failed = [r["check"].split(":", 1)[1] for r in records if r["status"] == "fail"]
    result = dict(changed=False, records=records, failed_pairs=failed)
    if not module.check_mode and records:
        result["results_file"] = write_records(records, p["results_dir"], "overlay-matrix")
    if failed and p["fail_on_failure"]:
        reasons = "; ".join(r["reason"] for r in records if r["status"] == "fail")
        module.fail_json(msg=f"overlay check failed for {', '.join(failed)}: {reasons}",
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
