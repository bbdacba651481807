"""Note unreachable hosts the way a Zuul executor does.

Zuul's executor tells an unreachable node (the build is retried) from a playbook
parse error (ansible-playbook exits 4 for both) by a callback that lists each
unreachable host once in $ZUUL_JOBDIR/.ansible/nodes.unreachable. This callback
writes the same file and prints nothing, so it runs beside any output callback.
"""

from __future__ import annotations

import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: zuul_unreachable
    type: aggregate
    short_description: List unreachable hosts in $ZUUL_JOBDIR/.ansible/nodes.unreachable
    description:
      - Appends each unreachable host once to $ZUUL_JOBDIR/.ansible/nodes.unreachable.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "zuul_unreachable"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.output_path = os.path.join(os.environ.get("ZUUL_JOBDIR", "."), ".ansible",
                                        "nodes.unreachable")
        self.unreachable_hosts: set[str] = set()

    def v2_runner_on_unreachable(self, result) -> None:
        host = result._host.get_name()
        if host in self.unreachable_hosts:
            return
        self.unreachable_hosts.add(host)
        os.makedirs(os.path.dirname(self.output_path), exist_ok=True)
        with open(self.output_path, "a", encoding="utf-8") as f:
            f.write(f"{host}\n")
