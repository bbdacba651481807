#!/usr/bin/python
"""crossgate_ceph_io: RBD and RADOS write/read round trips through a consumer's key."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_ceph_io
short_description: Write data into Ceph and read it back, through RBD or RADOS, as a consumer
description:
  - Writes O(size_kb) KiB of random data and reads it back with the ceph client tools and the
    key of O(client) (its keyring from /etc/ceph), then removes what it wrote. O(kind) C(rbd)
    imports the data as an RBD image into O(pool) and exports it (librbd, as Cinder and Nova
    use it); C(rados) puts it as an object and gets it back.
  - Records one check (layer C(ceph), check C(rbd-roundtrip:POOL) or C(rados-roundtrip:POOL))
    that passes when the SHA-256 of what was read equals that of what was written; the
    evidence has both checksums and every command with its exit status.
  - Records are written as JSON lines to O(results_dir) (not in check mode) and returned.
options:
  node:
    description: Inventory name of this node.
    type: str
    required: true
  kind:
    description: Which interface to go through.
    type: str
    choices: [rbd, rados]
    required: true
  pool:
    description: Pool to write into.
    type: str
    required: true
  client:
    description: Ceph client id (without C(client.)) whose key is used.
    type: str
    default: admin
  size_kb:
    description: KiB of random data to write.
    type: int
    default: 4096
  command_timeout:
    description: Seconds each command may take.
    type: int
    default: 60
  results_dir:
    description: Folder on the node for the check records.
    type: path
    default: /var/lib/crossgate/results
author:
  - crossgate
"""

EXAMPLES = r"""
- name: RBD round trip as Cinder
  crossgate_ceph_io:
    node: "{{ inventory_hostname }}"
    kind: rbd
    pool: volumes
    client: cinder
"""

RETURN = r"""
record:
  description: The check record.
  returned: always
  type: dict
results_file:
  description: The JSON lines file the record was appended to.
  returned: when not in check mode
  type: str
"""

import hashlib
import os
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_ceph import (
    RESULTS_NAME,
    roundtrip_record,
    sha256_bytes,
    tail,
)
from ansible.module_utils.crossgate_records import check_argument_spec, write_records


def commands(kind, pool, client, name, src, dst):
    """(step, argv) of one round trip: write, read back, remove."""
    if kind == "rbd":
        base = ["rbd", "--id", client]
        spec = f"{pool}/{name}"
        return [("write", [*base, "import", "--no-progress", src, spec]),
                ("read", [*base, "export", "--no-progress", spec, dst]),
                ("remove", [*base, "rm", "--no-progress", spec])]
    base = ["rados", "--id", client, "-p", pool]
    return [("write", [*base, "put", name, src]),
            ("read", [*base, "get", name, dst]),
            ("remove", [*base, "rm", name])]


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    module = AnsibleModule(
        argument_spec=check_argument_spec(
            kind=dict(type="str", required=True, choices=["rbd", "rados"]),
            pool=dict(type="str", required=True),
            client=dict(type="str", default="admin"),
            size_kb=dict(type="int", default=4096),
            command_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=False,
    )
    p = module.params
    if not 1 <= p["size_kb"] <= 1048576:
        module.fail_json(msg=f"size_kb: {p['size_kb']} is not allowed; give 1 to 1048576")
    started = time.time()
    work = tempfile.mkdtemp(prefix="crossgate-ceph-io-")
    name = f"crossgate-check-{os.getpid()}-{int(started)}"
    src, dst = os.path.join(work, "written"), os.path.join(work, "read")
    steps, error, read_sum = [], None, None
    try:
        data = os.urandom(p["size_kb"] * 1024)
        with open(src, "wb") as f:
            f.write(data)
        written_sum = sha256_bytes(data)
        for step, argv in commands(p["kind"], p["pool"], p["client"], name, src, dst):
            rc, out, err = module.run_command(["timeout", str(p["command_timeout"]), *argv])
            steps.append({"step": step, "command": " ".join(argv[:1] + argv[3:]), "rc": rc,
                          "output": tail(out + err, 600)})
            if rc != 0 and error is None:
                error = f"{step} failed (rc={rc}) as client.{p['client']}: {tail(err or out, 300)}"
                if step == "write":
                    break
            if step == "read" and rc == 0:
                read_sum = file_sha256(dst)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    check = "rbd-roundtrip" if p["kind"] == "rbd" else "rados-roundtrip"
    record = roundtrip_record(p["node"], check, p["pool"], written_sum, read_sum,
                              p["size_kb"] * 1024, started, steps, error)
    record["evidence"]["client"] = f"client.{p['client']}"
    result = dict(changed=False, record=record)
    result["results_file"] = write_records([record], p["results_dir"], RESULTS_NAME)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
