#!/usr/bin/python
"""crossgate_ceph_s3: an S3 round trip through RGW as a dedicated user."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_ceph_s3
short_description: Put an object into RGW over S3 and get it back
description:
  - Makes sure an RGW user O(user) exists (C(radosgw-admin), with the node's admin keyring;
    created once, which is the only change the module makes), then through the S3 API at
    O(endpoint) creates a bucket, puts O(size_kb) KiB of random data, gets it back, and
    deletes the object and the bucket.
  - Records one check (layer C(ceph), check C(s3-roundtrip:ENDPOINT)) that passes when the
    SHA-256 of what was read equals that of what was written; the evidence has the HTTP status
    of every request. The user's keys never leave the module.
options:
  node:
    description: Inventory name of this node.
    type: str
    required: true
  endpoint:
    description: RGW endpoint, C(http://ADDRESS:PORT).
    type: str
    required: true
  user:
    description: RGW user the check works as.
    type: str
    default: crossgate-check
  size_kb:
    description: KiB of random data to put.
    type: int
    default: 1024
  timeout:
    description: Seconds each request and command may take.
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
- name: S3 round trip
  crossgate_ceph_s3:
    node: "{{ inventory_hostname }}"
    endpoint: http://192.0.2.10:8080
"""

RETURN = r"""
record:
  description: The check record.
  returned: always
  type: dict
user_created:
  description: Whether the RGW user was created by this run.
  returned: always
  type: bool
results_file:
  description: The JSON lines file the record was appended to.
  returned: always
  type: str
"""

import http.client
import json
import os
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_ceph import (
    RESULTS_NAME,
    roundtrip_record,
    s3_headers,
    sha256_bytes,
    tail,
)
from ansible.module_utils.crossgate_records import check_argument_spec, write_records


def user_keys(module, user, timeout):
    """(access, secret, created) of the RGW user, creating it when it does not exist."""
    base = ["timeout", str(timeout), "radosgw-admin"]
    rc, out, err = module.run_command([*base, "user", "info", "--uid", user])
    created = False
    if rc != 0:
        rc, out, err = module.run_command(
            [*base, "user", "create", "--uid", user, "--display-name", "crossgate check"])
        if rc != 0:
            raise RuntimeError(f"radosgw-admin user create --uid {user} failed (rc={rc}): "
                               f"{tail(err, 300)}")
        created = True
    info = json.loads(out)
    key = next(k for k in info.get("keys", []) if k.get("user") == user)
    return key["access_key"], key["secret_key"], created


def s3_request(conn, keys, method, path, body=b"", content_type=""):
    headers = s3_headers(keys[0], keys[1], method, path, content_type)
    conn.request(method, path, body=body or None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data


def main():
    module = AnsibleModule(
        argument_spec=check_argument_spec(
            endpoint=dict(type="str", required=True),
            user=dict(type="str", default="crossgate-check"),
            size_kb=dict(type="int", default=1024),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=False,
    )
    p = module.params
    url = urlsplit(p["endpoint"])
    if url.scheme != "http" or not url.hostname:
        module.fail_json(msg=f"endpoint: {p['endpoint']!r} is not allowed; give "
                             "http://ADDRESS:PORT")
    started = time.time()
    steps, error, written, read, created = [], None, None, None, False
    bucket = f"crossgate-check-{os.getpid()}-{int(started)}"
    path = f"/{bucket}/object"
    try:
        keys = user_keys(module, p["user"], p["timeout"])
        created = keys[2]
        data = os.urandom(p["size_kb"] * 1024)
        written = sha256_bytes(data)
        conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=p["timeout"])
        plan = [("create-bucket", "PUT", f"/{bucket}", b"", "", 200),
                ("put", "PUT", path, data, "application/octet-stream", 200),
                ("get", "GET", path, b"", "", 200),
                ("delete-object", "DELETE", path, b"", "", 204),
                ("delete-bucket", "DELETE", f"/{bucket}", b"", "", 204)]
        for step, method, target, body, ctype, want in plan:
            status, answer = s3_request(conn, keys, method, target, body, ctype)
            steps.append({"step": step, "request": f"{method} {target}", "status": status})
            if step == "get" and status == want:
                read = sha256_bytes(answer)
            if status != want and error is None:
                error = (f"{step} ({method} {target}) answered HTTP {status}, expected {want}: "
                         f"{tail(answer.decode(errors='replace'), 300)}")
                if step in ("create-bucket", "put"):
                    break
        conn.close()
    except (OSError, RuntimeError, ValueError, StopIteration, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    record = roundtrip_record(p["node"], "s3-roundtrip", p["endpoint"], written, read,
                              p["size_kb"] * 1024, started, steps, error)
    record["evidence"]["user"] = p["user"]
    result = dict(changed=created, record=record, user_created=created)
    result["results_file"] = write_records([record], p["results_dir"], RESULTS_NAME)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
