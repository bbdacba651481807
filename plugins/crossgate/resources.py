"""Where the files crossgate hands to Ansible at run time live.

One resolved location, ``data_root()``, holds the same layout as a checkout:
``roles/`` (the roles the built-in base and the report step use), ``plugins/action``,
``plugins/callback``, ``plugins/schemas`` and ``playbooks/image`` (what ``crossgate nodes
image`` runs). An installed crossgate (wheel or
``pip install .``) carries them as package data in ``crossgate/_data`` (setup.py copies
them there at build time); an editable install or a checkout uses the checkout itself.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
BUNDLED = PACKAGE / "_data"
CHECKOUT = PACKAGE.parent.parent  # plugins/crossgate -> the checkout, in a source tree

# What data_root() must hold; setup.py copies exactly these.
DATA_DIRS = ("roles", "plugins/action", "plugins/callback", "plugins/schemas", "playbooks/image")


class ResourceError(RuntimeError):
    pass


def _complete(root: Path) -> bool:
    return all((root / d).is_dir() for d in DATA_DIRS)


@cache
def data_root() -> Path:
    """The folder with roles/ and plugins/{action,callback,schemas}."""
    for root in (BUNDLED, CHECKOUT):
        if _complete(root):
            return root
    raise ResourceError(
        f"crossgate's data files are missing: neither {BUNDLED} nor {CHECKOUT} holds "
        + ", ".join(DATA_DIRS) + "; reinstall crossgate (pip install crossgate)")


def roles_dir() -> Path:
    return data_root() / "roles"


def plugin_dir(kind: str) -> Path:
    """plugins/action, plugins/callback or plugins/schemas."""
    return data_root() / "plugins" / kind
