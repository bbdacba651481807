#!/usr/bin/python
"""crossgate_ceph_cluster: health, OSDs and PGs of a Ceph cluster as check records."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_ceph_cluster
short_description: Check the state of a Ceph cluster and record it
description:
  - Asks the cluster (with the ceph CLI and the admin keyring of the node) for its health,
    its OSDs and its placement groups, and records three checks (layer C(ceph)) --
    C(health) (HEALTH_OK, or HEALTH_WARN raised only by checks in O(allowed_warnings)),
    C(osds-up-in) (O(expected_osds) OSDs, every one up and in; the evidence names each OSD
    and its host) and C(pgs-active-clean) (every PG active+clean).
  - Looks again every O(delay) seconds until all three pass or O(timeout) seconds have
    passed, and records the last observation.
  - Records are written as JSON lines to O(results_dir) (not in check mode) and returned.
options:
  node:
    description: Inventory name of this node.
    type: str
    required: true
  expected_osds:
    description: Number of OSDs the cluster should have.
    type: int
    required: true
  allowed_warnings:
    description: Health check codes that may be raised without failing C(health).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for a passing state before recording the last one.
    type: int
    default: 60
  delay:
    description: Seconds between two looks.
    type: int
    default: 2
  command_timeout:
    description: Seconds each ceph command may wait for the monitors.
    type: int
    default: 30
  results_dir:
    description: Folder on the node for the check records.
    type: path
    default: /var/lib/crossgate/results
author:
  - crossgate
"""

EXAMPLES = r"""
- name: Health, OSDs and PGs
  crossgate_ceph_cluster:
    node: "{{ inventory_hostname }}"
    expected_osds: 2
    allowed_warnings: [POOL_NO_REDUNDANCY]
"""

RETURN = r"""
records:
  description: The three check records.
  returned: always
  type: list
  elements: dict
failed_checks:
  description: Names of the checks that failed.
  returned: always
  type: list
  elements: str
results_file:
  description: The JSON lines file the records were appended to.
  returned: when not in check mode
  type: str
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_ceph import (
    RESULTS_NAME,
    health_record,
    osds_record,
    pgs_record,
)
from ansible.module_utils.crossgate_records import check_argument_spec, write_records


def ceph_json(module, args, command_timeout):
    rc, out, err = module.run_command(
        ["ceph", "--connect-timeout", str(command_timeout), *args, "--format", "json"])
    if rc != 0:
        raise RuntimeError(f"ceph {' '.join(args)} failed (rc={rc}): {(err or out)[-500:]}")
    return json.loads(out)


def observe(module, p, started):
    health = ceph_json(module, ["health", "detail"], p["command_timeout"])
    dump = ceph_json(module, ["osd", "dump"], p["command_timeout"])
    tree = ceph_json(module, ["osd", "tree"], p["command_timeout"])
    pg_stat = ceph_json(module, ["pg", "stat"], p["command_timeout"])
    elapsed = time.time() - started
    return [
        health_record(p["node"], health, p["allowed_warnings"], started, elapsed),
        osds_record(p["node"], dump, tree, p["expected_osds"], started, elapsed),
        pgs_record(p["node"], pg_stat, started, elapsed),
    ]


def main():
    module = AnsibleModule(
        argument_spec=check_argument_spec(
            expected_osds=dict(type="int", required=True),
            allowed_warnings=dict(type="list", elements="str", default=[]),
            timeout=dict(type="int", default=60),
            delay=dict(type="int", default=2),
            command_timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["expected_osds"] < 1:
        module.fail_json(msg=f"expected_osds: {p['expected_osds']} is not allowed; give 1 or more")
    if p["timeout"] < 0 or p["delay"] < 1:
        module.fail_json(msg=f"timeout={p['timeout']}, delay={p['delay']}: give timeout >= 0 "
                             "and delay >= 1 seconds")
    started = time.time()
    deadline = started + p["timeout"]
    while True:
        try:
            records = observe(module, p, started)
        except (RuntimeError, ValueError) as exc:
            if time.time() >= deadline:
                module.fail_json(msg=f"waited {p['timeout']} s for the cluster to answer; "
                                     f"last: {exc}")
            time.sleep(p["delay"])
            continue
        if all(r["status"] == "pass" for r in records) or time.time() >= deadline:
            break
        time.sleep(p["delay"])
    for r in records:
        if r["status"] == "fail":
            r["reason"] += f" (after waiting up to {p['timeout']} s)"
    failed = [r["check"] for r in records if r["status"] == "fail"]
    result = dict(changed=False, records=records, failed_checks=failed)
    if not module.check_mode:
        result["results_file"] = write_records(records, p["results_dir"], RESULTS_NAME)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
