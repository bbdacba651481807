#!/usr/bin/python
"""Ansible module: turn crossgate check records into results.json, JUnit XML and HTML."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: crossgate_report
short_description: Report on crossgate check records gathered from a job's nodes
description:
  - Reads every C(*.jsonl) file under O(src) (check records, and phase markers in
    files named C(phases.jsonl)), validates each line against the check-record
    schema, and writes C(results.json), C(junit.xml) and C(report.html) into O(dest).
  - Of several records for one layer, check and node, the one that started last counts.
  - Fails, naming the file, the line, the field and what is allowed, when a line is
    invalid. Failed checks do not fail the module; they are returned in RV(failed_checks).
  - Outputs depend only on the records, so a second run over the same records
    changes nothing.
version_added: "0.1.0"
author: crossgate
options:
  src:
    description: Folder tree holding the record files (for example one sub-folder per node).
    type: path
    required: true
  dest:
    description: Folder the outputs are written into; created when missing.
    type: path
    required: true
  files:
    description:
      - Paths relative to O(src) of the files to read. When given, other files under
        O(src) are ignored and a listed file that is missing is an error.
    type: list
    elements: str
  title:
    description: Title of the HTML report.
    type: str
    default: crossgate report
  build:
    description:
      - The build the report belongs to, shown under the title (keys C(job), C(build),
        C(run_result), C(pipeline), each optional) and kept in results.json. A phase marker
        C(report) (record-phase) gives the time the report was written; the waterfall then
        spans the build from its first phase to the report.
    type: dict
    default: {}
notes:
  - Runs on a node; needs only the Python standard library there.
  - Supports check mode (reports whether the outputs would change).
"""

EXAMPLES = r"""
- name: Report on the records copied from every node
  crossgate_report:
    src: ~/crossgate-report/records
    dest: ~/crossgate-report/out
    title: "crossgate report: {{ zuul.job }}"
  register: report

- name: Show what failed
  ansible.builtin.debug:
    var: report.failures
"""

RETURN = r"""
counts:
  description: Checks that count, by status, and how many earlier records they superseded.
  returned: success
  type: dict
  sample: {total: 12, pass: 10, fail: 1, skip: 1, superseded: 0}
result:
  description: C(fail) when any check failed, else C(pass).
  returned: success
  type: str
  sample: fail
failed_checks:
  description: Every failed check with its reason and evidence.
  returned: success
  type: list
  elements: dict
  sample:
    - {layer: ceph, check: "glance-image-in-rbd", node: controller,
       reason: "image not found in pool images", evidence: {rbd_ls: []}}
failures:
  description: One line per failed check, C(<layer>/<check> on <node>) followed by the reason.
  returned: success
  type: list
  elements: str
nodes:
  description: Nodes that records or phase markers came from.
  returned: success
  type: list
  elements: str
files:
  description: Paths of the outputs, by kind (results, junit, html).
  returned: success
  type: dict
  sample: {results: /home/zuul/crossgate-report/out/results.json}
errors:
  description: Every invalid line, as C(file:line) then the problem (on failure).
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_report import ReportError, report


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "files": {"type": "list", "elements": "str"},
            "title": {"type": "str", "default": "crossgate report"},
            "build": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        results, paths, changed = report(p["src"], p["dest"], files=p["files"],
                                         title=p["title"], check_mode=module.check_mode,
                                         build=p["build"])
    except ReportError as exc:
        module.fail_json(msg=f"invalid crossgate records under {p['src']}:\n"
                         + "\n".join(exc.errors),
                         errors=exc.errors)
    except OSError as exc:
        module.fail_json(msg=f"cannot write the report into {p['dest']}: {exc}")
    failed = [{k: r.get(k) for k in ("layer", "check", "node", "reason", "evidence")}
              for r in results["records"] if r["status"] == "fail"]
    module.exit_json(changed=changed, counts=results["summary"], result=results["result"],
                     failed_checks=failed, failures=results["failures"],
                     nodes=results["nodes"], files=paths)


if __name__ == "__main__":
    main()
