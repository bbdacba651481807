"""What crossgate's ansible-lint rules share: Jinja references, keywords inherited from blocks.

ansible-lint imports every module of this folder (``rulesdir`` in .ansible-lint); this one
defines no rule. Pure functions over plain data, so that tests can call them directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from jinja2 import Environment, nodes
from jinja2.exceptions import TemplateSyntaxError

# Task keys whose value Ansible evaluates as a bare Jinja expression (no braces).
EXPRESSION_KEYS = frozenset({"when", "until", "changed_when", "failed_when"})

_ENV = Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING_LITERAL = re.compile(r"'[^']*'|\"[^\"]*\"")


def is_templated(value: Any) -> bool:
    """Whether VALUE is a string that Ansible templates."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _names_in_ast(tree: nodes.Node) -> Iterator[str]:
    for node in tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Keyword)):
        if isinstance(node, nodes.Name):
            yield node.name
        elif isinstance(node, nodes.Getattr):
            yield node.attr
        elif isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                yield node.arg.value
        elif (node.key == "attribute" and isinstance(node.value, nodes.Const)
              and isinstance(node.value.value, str)):
            yield node.value.value  # map(attribute='x')


def _names_by_regex(text: str) -> set[str]:
    """Fallback for text Jinja cannot parse: identifiers outside string literals."""
    return set(_IDENTIFIER.findall(_STRING_LITERAL.sub(" ", text)))


def template_names(text: str) -> set[str]:
    """Variables, attributes and constant subscripts that the template TEXT refers to.

    ``{{ hostvars[h]['x_password'] }}`` gives {'hostvars', 'h', 'x_password'}; a string with no
    Jinja gives nothing.
    """
    if not is_templated(text):
        return set()
    try:
        return set(_names_in_ast(_ENV.parse(text)))
    except TemplateSyntaxError:
        inner = " ".join(a + b for a, b in re.findall(r"{{(.*?)}}|{%(.*?)%}", text, re.S))
        return _names_by_regex(inner)


def expression_names(text: str) -> set[str]:
    """Names that the bare Jinja expression TEXT (a ``when:``) refers to."""
    if is_templated(text):
        return template_names(text)
    try:
        return set(_names_in_ast(_ENV.parse("{{ " + text + " }}")))
    except TemplateSyntaxError:
        return _names_by_regex(text)


def from_variable(value: Any) -> bool:
    """Whether VALUE is a template that refers to at least one variable (not ``"{{ 5 }}"``)."""
    if not is_templated(value):
        return False
    try:
        tree = _ENV.parse(value)
    except TemplateSyntaxError:
        return True  # unparseable by plain Jinja, but templated: not a literal
    return any(isinstance(node, nodes.Name) for node in tree.find_all(nodes.Name))


def module_name(action: str) -> str:
    """The short name of a builtin module: ``ansible.builtin.uri`` and ``ansible.legacy.uri``
    are ``uri``; any other collection's module keeps its full name."""
    for prefix in ("ansible.builtin.", "ansible.legacy."):
        if action.startswith(prefix):
            return action[len(prefix):]
    return action


def module_call(action: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(module short name, its arguments) of a task's normalized action; None for a block
    (its tasks are matched one by one)."""
    module = module_name(str(action.get("__ansible_module_original__", "")))
    if module == "block/always/rescue":
        return None
    return module, {k: v for k, v in action.items() if not k.startswith("__")}


_POSITION_STEP = re.compile(r"\.?(?P<key>[A-Za-z_]+)?\[(?P<index>\d+)\]")


def ancestors(data: Any, position: str) -> list[Mapping[str, Any]]:
    """The mappings that enclose the task at POSITION (ansible-lint's ``Task.position``, such as
    ``.[0].tasks[3].block[1]``) in the file DATA, outermost first, the task itself excluded:
    the play (in a playbook) and every block."""
    found: list[Mapping[str, Any]] = []
    node = data
    for step in _POSITION_STEP.finditer(position):
        if step["key"]:
            if not isinstance(node, Mapping) or step["key"] not in node:
                return found
            node = node[step["key"]]
        index = int(step["index"])
        if not isinstance(node, list) or index >= len(node):
            return found
        node = node[index]
        if isinstance(node, Mapping):
            found.append(node)
    return found[:-1]
