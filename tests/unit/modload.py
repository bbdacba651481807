"""Import crossgate's Ansible modules and module_utils in unit tests.

The files live in roles/crossgate-modules (the only place a Zuul executor checks
them out) and import each other as ``ansible.module_utils.<name>``, so a test
loads them from their paths under the names Ansible gives them."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

ROLES = Path(__file__).resolve().parents[2] / "roles"
MODULES = ROLES / "crossgate-modules"


def module_util(name: str, role: str = "crossgate-modules") -> types.ModuleType:
    """Load roles/ROLE/module_utils/NAME.py as ansible.module_utils.NAME (a layer's validate
    role carries its own, beside crossgate-modules' shared ones)."""
    return _load(f"ansible.module_utils.{name}", ROLES / role / "module_utils" / f"{name}.py")


def module(name: str, role: str = "crossgate-modules") -> types.ModuleType:
    """Load roles/ROLE/library/NAME.py as NAME."""
    return _load(name, ROLES / role / "library" / f"{name}.py")


def _load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {name} from {path}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded
