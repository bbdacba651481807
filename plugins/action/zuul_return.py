"""zuul_return for local runs: Zuul's own action plugin, unchanged.

`crossgate run` points ZUUL_JOBDIR at the build directory, so the data lands in
work/results.json exactly where a Zuul executor collects it.
"""

from zuul.ansible.base.action.zuul_return import ActionModule  # noqa: F401
