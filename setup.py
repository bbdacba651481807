"""Packaging: setup.cfg holds the metadata; this file only bundles the run-time data.

crossgate run hands Ansible the roles of this repository (configure-mirrors,
crossgate-modules, report-results, ...) and the action and callback plugins, and the
report reads the JSON Schemas. They live outside the Python package (Zuul needs roles/ at
the repository root), so the build copies them into crossgate/_data, where
crossgate.resources finds them in an installed crossgate.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA_DIRS = ("roles", "plugins/action", "plugins/callback", "plugins/schemas", "playbooks/image")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "molecule", ".cache")


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return  # an editable install reads the checkout itself
        target = Path(self.build_lib) / "crossgate" / "_data"
        for rel in DATA_DIRS:
            src = HERE / rel
            if not src.is_dir():  # building from an sdist: the tree is its contents
                raise SystemExit(f"setup.py: {src} is missing; build from a crossgate checkout")
            dest = target / rel
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(src, dest, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithData})
