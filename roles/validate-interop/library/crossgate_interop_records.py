"""crossgate_interop_records: Tempest's results as one check record per capability."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_interop_records
short_description: Turn a Tempest subunit stream into interop records, one per capability
description:
  - Reads the subunit v2 stream of a Tempest run (C(stestr last --subunit)) and the listing of
    crossgate_interop_list, and records each capability of the target as a check of layer
    C(interop): C(pass) when every test of it that counts (not flagged) passed, C(fail) when
    one failed (its traceback is the evidence) or was not run at all, C(skip) when none failed
    but some were skipped (with Tempest's reasons).
  - Runs with the Python of Tempest's virtual environment, which has python-subunit and
    testtools.
options:
  node:
    description: Inventory name of this node.
    type: str
    required: true
  listing:
    description: The listing written by crossgate_interop_list.
    type: path
    required: true
  subunit:
    description: The subunit v2 stream of the run.
    type: path
    required: true
  duration:
    description: Seconds the Tempest run took (spread over the records).
    type: float
    default: 0
  started:
    description: When the run started (seconds since the epoch); now when 0.
    type: float
    default: 0
  results_dir:
    description: Folder on the node for the check records.
    type: path
    default: /var/lib/crossgate/results
author:
  - crossgate
"""

EXAMPLES = r"""
- name: One record per capability
  crossgate_interop_records:
    node: "{{ inventory_hostname }}"
    listing: /opt/crossgate/interop/listing.json
    subunit: /opt/crossgate/interop/results.subunit
  vars:
    ansible_python_interpreter: /opt/crossgate/tempest/bin/python
"""

RETURN = r"""
records:
  description: One record per capability.
  returned: always
  type: list
summary:
  description: Tests listed, passed, failed, skipped, not run and flagged.
  returned: always
  type: dict
results_file:
  description: Where the records were written.
  returned: when there are records
  type: str
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_interop import (
    RESULTS_NAME,
    capability_records,
    outcomes,
    summary,
)
from ansible.module_utils.crossgate_records import (
    check_argument_spec,
    make_record,
    write_records,
)


def read_subunit(path):
    """The tests of a subunit v2 stream: id, status, details (traceback or skip reason)."""
    import subunit
    import testtools

    out = []

    def on_test(test):
        text = []
        for name in ("traceback", "reason"):
            content = test["details"].get(name)
            if content is not None:
                text.append(b"".join(content.iter_bytes()).decode("utf-8", "replace"))
        out.append({"id": test["id"], "status": test["status"], "details": "\n".join(text)})

    with open(path, "rb") as stream:
        case = subunit.ByteStreamToStreamResult(stream, non_subunit_name="stdout")
        result = testtools.StreamToDict(on_test)
        result.startTestRun()
        try:
            case.run(result)
        finally:
            result.stopTestRun()
    return out


def main():
    module = AnsibleModule(
        argument_spec=check_argument_spec(
            listing=dict(type="path", required=True),
            subunit=dict(type="path", required=True),
            duration=dict(type="float", default=0),
            started=dict(type="float", default=0),
        ),
        supports_check_mode=False,
    )
    p = module.params
    try:
        with open(p["listing"], encoding="utf-8") as f:
            listing = json.load(f)
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"listing: cannot read {p['listing']}: {exc}")
    try:
        raw = read_subunit(p["subunit"])
    except ImportError as exc:
        module.fail_json(msg=f"python-subunit is not importable ({exc}); run the module with "
                             "the Python of Tempest's virtual environment")
    except OSError as exc:
        module.fail_json(msg=f"subunit: cannot read {p['subunit']}: {exc}")
    results = outcomes(raw)
    started = p["started"] or time.time()
    records = capability_records(listing, results, p["node"], started, max(p["duration"], 0.0),
                                 make_record)
    out = dict(changed=True, records=records, summary=summary(listing, results))
    if records:
        out["results_file"] = write_records(records, p["results_dir"], RESULTS_NAME)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
