"""zuul_unreachable for local runs: Zuul's own callback, unchanged.

It notes unreachable hosts in $ZUUL_JOBDIR/.ansible/nodes.unreachable, which is
how crossgate run, like a Zuul executor, tells an unreachable node (retry) from
a playbook parse error (ansible-playbook exits 4 for both).
"""

from zuul.ansible.base.callback.zuul_unreachable import CallbackModule  # noqa: F401
