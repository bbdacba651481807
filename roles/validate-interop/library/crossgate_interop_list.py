"""crossgate_interop_list: the Tempest tests of an interop guideline's target."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_interop_list
short_description: Turn an interop guideline and a target into Tempest's include list
description:
  - Reads a guideline file of the OpenStack Interop Working Group (schema 2.0: platforms or
    add-ons, components, capabilities with their tests and idempotent ids) and writes, for
    O(target), the include list stestr and C(tempest run) take (one C(id-<uuid>) expression
    per test, so a test renamed since the guideline still matches) and a listing of the
    capabilities and their tests that crossgate_interop_records reads.
  - Flagged tests are left out and returned with their reasons. A file that cannot be used
    (not JSON, a component or capability it names but does not define, a test without an
    idempotent id) or a target it does not have fails naming the place and what is allowed.
options:
  guideline:
    description: Path of the guideline file on the node.
    type: path
    required: true
  target:
    description: A platform of the guideline (or an add-on of an add-on guideline).
    type: str
    required: true
  statuses:
    description: Capability statuses whose tests run.
    type: list
    elements: str
    default: [required]
  tests_per_capability:
    description:
      - With N > 0, only the first N tests (by name) of each capability that are not flagged
        run; a capability is judged by them, and its record lists the others as not sampled.
        0 runs every test.
    type: int
    default: 0
  dest:
    description: Folder on the node for C(include-list.txt) and C(listing.json).
    type: path
    required: true
author:
  - crossgate
"""

EXAMPLES = r"""
- name: The 2020.06 platform's required tests
  crossgate_interop_list:
    guideline: /opt/crossgate/interop/2020.06.json
    target: OpenStack Powered Platform
    dest: /opt/crossgate/interop
"""

RETURN = r"""
guideline:
  description: The guideline's id.
  returned: always
  type: str
capabilities:
  description: Number of capabilities of the target with the given statuses.
  returned: always
  type: int
tests:
  description: Number of tests in the include list.
  returned: always
  type: int
excluded:
  description: Flagged tests left out (test, id, capability, reason).
  returned: always
  type: list
requires:
  description: Platform components an add-on needs from another guideline.
  returned: always
  type: list
include_list:
  description: Path of the include list.
  returned: always
  type: str
listing:
  description: Path of the listing.
  returned: always
  type: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_interop import GuidelineError, load, test_list


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return False
    except OSError:
        pass
    with open(path + ".new", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".new", path)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            guideline=dict(type="path", required=True),
            target=dict(type="str", required=True),
            statuses=dict(type="list", elements="str", default=["required"]),
            tests_per_capability=dict(type="int", default=0),
            dest=dict(type="path", required=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    source = os.path.basename(p["guideline"])
    try:
        with open(p["guideline"], encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        module.fail_json(msg=f"guideline: cannot read {p['guideline']}: {exc.strerror}")
    try:
        listing = test_list(load(text, source), p["target"], source, tuple(p["statuses"]),
                            p["tests_per_capability"])
    except GuidelineError as exc:
        module.fail_json(msg=str(exc))
    include = os.path.join(p["dest"], "include-list.txt")
    listed = os.path.join(p["dest"], "listing.json")
    changed = False
    if not module.check_mode:
        os.makedirs(p["dest"], mode=0o755, exist_ok=True)
        changed |= write_if_changed(include, "".join(f"{r}\n" for r in listing["include"]))
        changed |= write_if_changed(listed, json.dumps(listing, indent=1, sort_keys=True) + "\n")
    module.exit_json(changed=changed, guideline=listing["guideline"],
                     capabilities=len(listing["capabilities"]), tests=len(listing["include"]),
                     excluded=listing["excluded"], requires=listing["requires"],
                     include_list=include, listing=listed)


if __name__ == "__main__":
    main()
