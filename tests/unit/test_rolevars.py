"""The names each role knows (crossgate.config.rolevars): every role's
tasks/known-variables.yaml is what the module makes of the tree (a stale file fails here), every
role imports it first, and the variables the jobs, playbooks and scenarios set with a role's
prefix are names that role knows (else its entry check would refuse them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from crossgate.config import rolevars

ROOT = Path(__file__).resolve().parents[2]
ROLES = rolevars.roles(ROOT)
# Where jobs, playbooks and scenarios set variables for the roles.
SETTERS = ("zuul.d/*.yaml", "zuul-tests.d/*.yaml", "playbooks/**/*.yaml",
           "test-playbooks/**/*.yaml", "roles/*/molecule/**/*.yaml", "roles/*/tasks/*.yaml")
INCLUDES = ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role",
            "import_role")


def test_every_role_has_its_file() -> None:
    assert len(ROLES) == len(list(ROOT.glob("roles/*/tasks/main.yaml")))


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return rolevars.generate(ROOT)


@pytest.mark.parametrize("role", ROLES)
def test_the_known_names_are_current(role: str, generated: dict[str, str]) -> None:
    path = ROOT / "roles" / role / rolevars.OUTPUT
    assert path.exists() and path.read_text() == generated[role], (
        f"{path.relative_to(ROOT)} is stale: run python -m crossgate.config.rolevars --write")


@pytest.mark.parametrize("role", ROLES)
def test_the_check_is_the_first_task(role: str) -> None:
    tasks = yaml.safe_load((ROOT / "roles" / role / "tasks/main.yaml").read_text())
    assert tasks[0].get("ansible.builtin.import_tasks") == "known-variables.yaml", tasks[0]


def _set_vars(node: Any, in_role_tasks: bool) -> set[str]:
    """Variable names NODE sets for roles: job and play vars, host and group vars, the vars of
    a role's inclusion (in a role's tasks, only those: a task's own vars are its own)."""
    out: set[str] = set()
    if isinstance(node, list):
        for item in node:
            out |= _set_vars(item, in_role_tasks)
    elif isinstance(node, dict):
        include = next((node[k] for k in INCLUDES if k in node), None)
        from_main = not (isinstance(include, dict) and "tasks_from" in include)
        # (an inclusion of another entry point than main does not meet the check)
        if isinstance(node.get("vars"), dict) and from_main and (include is not None
                                                                 or not in_role_tasks):
            out |= set(node["vars"])
        for key in ("host-vars", "group-vars", "host_vars", "group_vars"):
            if isinstance(node.get(key), dict):
                out |= {n for v in node[key].values() if isinstance(v, dict) for n in v}
        for value in node.values():
            out |= _set_vars(value, in_role_tasks)
    return out


def test_variables_set_for_roles_are_known() -> None:
    all_set: set[str] = set()
    for path in rolevars.task_files(ROOT):
        all_set |= rolevars.set_names(yaml.safe_load(path.read_text()))
    known = {r: set(rolevars.known_names(ROOT, r, all_set)) for r in ROLES}
    by_prefix = sorted(((rolevars.prefix_of(r), r) for r in ROLES), key=lambda p: -len(p[0]))
    unknown = []
    for pattern in SETTERS:
        for path in sorted(ROOT.glob(pattern)):
            in_role_tasks = path.parent.name == "tasks"
            for name in _set_vars(yaml.safe_load(path.read_text()), in_role_tasks):
                role = next((r for p, r in by_prefix if name.startswith(p)), None)
                if role and name not in known[role]:
                    unknown.append(f"{path.relative_to(ROOT)}: {name} (not a variable of {role})")
    assert not unknown, "\n".join(unknown)


def test_names_set_registered_and_looped() -> None:
    tasks = [{"name": "a", "register": "r_one", "loop_control": {"loop_var": "r_item"}},
             {"block": [{"ansible.builtin.set_fact": {"r_two": 1, "cacheable": True}}],
              "rescue": [{"set_fact": {"r_three": 2}}]},
             {"hosts": "all", "tasks": [{"register": "r_four"}]}]
    assert rolevars.set_names(tasks) == {"r_one", "r_item", "r_two", "r_three", "r_four"}


def test_longer_prefixes_belong_to_their_role() -> None:
    assert rolevars.longer_prefixes(ROOT, "configure-overlay") == ("configure_overlay_firewall_",)
    assert rolevars.longer_prefixes(ROOT, "validate-openstack") == ("validate_openstack_ceph_",)
    known = rolevars.known_names(ROOT, "configure-overlay", {"configure_overlay_firewall_x"})
    assert "configure_overlay_firewall_x" not in known
    assert "configure_overlay_bridge" in known


def test_stale_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    role = tmp_path / "roles" / "say-hello"
    (role / "meta").mkdir(parents=True)
    (role / "tasks").mkdir()
    (role / "meta/argument_specs.yaml").write_text(yaml.safe_dump(
        {"argument_specs": {"main": {"options": {"say_hello_name": {"type": "str"}}}}}))
    (role / "tasks/main.yaml").write_text(yaml.safe_dump(
        [{"name": "x", "ansible.builtin.debug": {}, "register": "say_hello_out"}]))
    assert rolevars.main([str(tmp_path)]) == 1
    assert "stale:" in capsys.readouterr().out
    assert rolevars.main(["--write", str(tmp_path)]) == 0
    text = (role / rolevars.OUTPUT).read_text()
    assert "      - say_hello_name\n" in text and "      - say_hello_out\n" in text
    assert rolevars.main([str(tmp_path)]) == 0


@pytest.mark.parametrize(("argv", "said"), [
    (["--wirte"], "option '--wirte' is not allowed; allowed: --write, and a ROOT folder"),
    (["a", "b"], "ROOT: 2 folders given (a, b); allowed: one"),
    (["/nonexistent-root"], "ROOT: '/nonexistent-root' is not a folder; allowed: the "
                            "repository's folder"),
])
def test_generators_refuse_arguments_they_do_not_take(
        argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    from crossgate.config import variants

    for name, module in (("rolevars", rolevars), ("variants", variants)):
        assert module.main(argv) == 2
        assert capsys.readouterr().err == f"crossgate {name}: {said}\n"
