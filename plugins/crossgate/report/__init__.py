"""`crossgate report`: the post-run results step, on the host.

The logic lives in the module_utils of the crossgate-modules role (crossgate_records,
crossgate_report), where the crossgate_report Ansible module finds it on a node; this
package loads the same files so that the host and the node produce identical reports.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from ..resources import plugin_dir, roles_dir

MODULE_UTILS = roles_dir() / "crossgate-modules" / "module_utils"
RECORD_SCHEMA = plugin_dir("schemas") / "check-record.schema.json"
RESULTS_SCHEMA = Path(__file__).resolve().with_name("results.schema.json")


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, MODULE_UTILS / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {MODULE_UTILS / name}.py", name=name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # crossgate_report imports crossgate_records by this name
    spec.loader.exec_module(module)
    return module


records = _load("crossgate_records")
core = _load("crossgate_report")

__all__ = ["RECORD_SCHEMA", "RESULTS_SCHEMA", "core", "records"]
