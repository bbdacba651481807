"""crossgate-no-log-secret: a task that touches a password, token, secret or key has no_log.

Ansible prints a task's arguments, loop items and result when it fails or runs with -v; a
secret that gets there ends in the job's logs, which Zuul publishes. The rule reports, at the
task's line, a task without ``no_log`` (``no_log: true`` on the task, on a block that encloses
it or on its play; a templated ``no_log`` is trusted) that:

- refers, in any Jinja of its module arguments, ``args``, ``loop``/``with_*``, ``loop_control``,
  ``vars``, ``environment``, ``when``/``until``/``changed_when``/``failed_when``, ``assert``'s
  ``that`` or ``debug``'s ``var``, to a secret name: a variable, an attribute
  (``item.password``), a constant subscript (``hostvars[h]['x_token']``) or a
  ``map(attribute=...)``;
- defines a secret name: ``register:``, a ``vars:`` key, a ``set_fact`` key;
- gives a module option with a secret name a templated value (``password: "{{ x }}"``).

A name is a secret name when one of its words (split at ``_``, case folded) is ``password``,
``passwd``, ``passphrase``, ``token``, ``secret`` or ``key`` (or their plurals), or ``apikey``
or ``privkey``; except:

- ``key`` and ``keys`` alone: the field of ``dict2items`` and the dict method;
- a name whose last word says it holds something about the secret rather than the secret:
  ``path``, ``paths``, ``files``, ``dir``, ``name``, ``names``, ``uuid``, ``id``, ``ids``,
  ``url``, ``checking`` (``deploy_openstack_secrets_path``, ``verify_secret_files``: the
  ``stat`` of files, ``ceph_secret_uuid``, ``key_name``, ``ssh_host_key_checking``). Not
  ``file``, singular: a ``slurp`` result is registered under such a name
  (``deploy_openstack_secrets_file`` holds the passwords), so ``x_key_file`` counts as the key;
- public keys: a name with the word ``pub`` or ``public``, or ``known`` followed by ``hosts``
  (``write_known_hosts_keys``).

``keyring`` is not a secret word: in this library the variables so named hold keyring paths
and their ``stat`` results; a keyring's content is read into a ``*_keys`` variable. A task's
``name`` is not checked (``no_log`` does not hide it), nor are template files a ``template``
task renders.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ansiblelint.rules import AnsibleLintRule

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crossgate_lint_common import (
    EXPRESSION_KEYS,
    ancestors,
    expression_names,
    is_templated,
    module_call,
    template_names,
)

sys.path.pop(0)

if TYPE_CHECKING:
    from ansiblelint.errors import MatchError
    from ansiblelint.file_utils import Lintable
    from ansiblelint.utils import Task

ID = "crossgate-no-log-secret"
SECRET_WORD = re.compile(
    r"(pass(word|wd|phrase)|token|secret|key)s?|apikey|privkey")
NOT_THE_SECRET = frozenset({"path", "paths", "files", "dir", "name", "names", "uuid", "id", "ids",
                            "url", "checking"})
# Task keys that are not looked into: what no_log does not hide, or holds no Jinja.
SKIPPED_KEYS = frozenset({"name", "no_log", "register", "tags", "notify", "listen", "action",
                          "local_action", "args", "block", "rescue", "always"})


def is_secret_name(name: str) -> bool:
    """Whether NAME (a variable, attribute or key) names a password, token, secret or key."""
    words = [w for w in name.lower().split("_") if w]
    if not words or words in (["key"], ["keys"]) or words[-1] in NOT_THE_SECRET:
        return False
    if {"pub", "public"} & set(words) or any(
            a == "known" and b == "hosts" for a, b in itertools.pairwise(words)):
        return False
    return any(SECRET_WORD.fullmatch(w) for w in words)


def _names(value: Any, expression: bool = False) -> Iterator[str]:
    """Every name the Jinja in VALUE (nested lists and mappings) refers to."""
    if isinstance(value, str):
        yield from expression_names(value) if expression else template_names(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _names(item, expression)
    elif isinstance(value, list):
        for item in value:
            yield from _names(item, expression)


def secret_names(task: dict[str, Any], module: str, args: dict[str, Any]) -> list[str]:
    """The secret names the task (raw keys TASK, resolved MODULE and ARGS) touches, sorted."""
    touched: set[str] = set()
    for key, value in task.items():
        if key.startswith("__") or key in SKIPPED_KEYS or key == module or (
                key.startswith(("ansible.builtin.", "ansible.legacy."))):
            continue
        touched.update(_names(value, expression=key in EXPRESSION_KEYS))
        if key == "vars" and isinstance(value, dict):
            touched.update(str(k) for k in value)
    for key, value in args.items():
        touched.update(_names(value, expression=(
            (module == "assert" and key == "that") or (module == "debug" and key == "var"))))
        if module == "set_fact" or (is_templated(value) and is_secret_name(str(key))):
            touched.add(str(key))
    if isinstance(task.get("register"), str):
        touched.add(task["register"])
    return sorted(name for name in touched if is_secret_name(name))


def _no_log(value: Any) -> bool:
    if isinstance(value, str):
        return is_templated(value) or value.strip().lower() in {"true", "yes", "on", "1"}
    return bool(value)


def hidden(task: dict[str, Any], enclosing: list[Any]) -> bool:
    """Whether no_log hides the task: its own, else the nearest enclosing block's or play's."""
    for node in [task, *reversed(enclosing)]:
        if "no_log" in node:
            return _no_log(node["no_log"])
    return False


class NoLogSecretRule(AnsibleLintRule):
    """A task that touches a password, token, secret or key has no_log."""

    id = ID
    description = __doc__ or ""
    severity = "HIGH"
    tags = ["crossgate", "security"]  # noqa: RUF012 (ansible-lint reads a list)
    version_changed = "0.1.0"

    def matchtask(self, task: Task, file: Lintable | None = None) -> list[MatchError]:
        call = module_call(task["action"])
        if call is None:
            return []
        module, args = call
        raw = task.raw_task
        data = file.data if file is not None else None
        if hidden(raw, ancestors(data, task.position)):
            return []
        names = secret_names(raw, module, args)
        if not names:
            return []
        return [self.create_matcherror(
            message=(f"the task touches {', '.join(names)}: add `no_log: true` to it (or to its "
                     "block), so that a failure or -v does not print the secret"),
            lineno=task.line, filename=file, details=f"Task: {task.name or module}")]
