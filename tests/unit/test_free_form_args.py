"""Every free-form shell or command task of the library splits the way Ansible splits it.

Ansible parses a free-form ``shell``/``command`` string with its own splitter before it runs,
and a single quote in a shell comment (an apostrophe) or an unbalanced Jinja block fails the
task at run time with "failed at splitting arguments", which no syntax check or linter
reports. A linter in test form, over the roles, the playbooks and the e2e test repositories.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.splitter import split_args

ROOT = Path(__file__).resolve().parents[2]
FREE_FORM = {"ansible.builtin.shell", "ansible.builtin.command", "shell", "command"}
FILES = sorted({*ROOT.glob("roles/*/tasks/*.yaml"), *ROOT.glob("roles/*/molecule/*/*.yaml"),
                *ROOT.glob("playbooks/**/*.yaml"), *ROOT.glob("tests/e2e/*-repo/**/*.yaml"),
                *ROOT.glob("plugins/crossgate/runner/base/playbooks/*.yaml")})


def free_form(node: Any) -> Iterator[tuple[str, str]]:
    """(task name, free-form string) of every shell or command task under NODE."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in FREE_FORM and isinstance(value, str):
                yield str(node.get("name", "?")), value
            else:
                yield from free_form(value)
    elif isinstance(node, list):
        for item in node:
            yield from free_form(item)


def test_there_are_files_to_check() -> None:
    assert any("deploy-openstack" in str(f) for f in FILES)
    assert sum(1 for f in FILES for _ in free_form(yaml.safe_load(f.read_text()))) > 10


@pytest.mark.parametrize("path", FILES, ids=[str(f.relative_to(ROOT)) for f in FILES])
def test_free_form_arguments_split(path: Path) -> None:
    broken = []
    for name, text in free_form(yaml.safe_load(path.read_text())):
        try:
            split_args(text)
        except Exception as exc:  # Ansible's own error, as the task would fail with it
            broken.append(f"{name}: {str(exc).splitlines()[0]}")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)


def test_an_apostrophe_in_a_shell_comment_is_caught() -> None:
    with pytest.raises(Exception, match="failed at splitting arguments"):
        split_args("set -e\n# the build's files\necho done\n")
