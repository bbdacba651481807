"""crossgate-wait-bound-from-variable: every wait takes its bound from a variable.

A wait whose bound is a literal (``retries: 60``) cannot be tuned for a slower cloud, and a wait
with no bound at all hangs a job until Zuul's own timeout kills it with no word on what it
waited for. The rule reports, at the task's line:

1. A retry loop (a task with ``until:``, or with ``retries:``, which Ansible retries until
   it succeeds) whose ``retries:`` or ``delay:`` is missing or is not a template that refers
   to a variable. This includes the short retries on
   a flake (``retries: 2`` around apt): they are a wait too, and a slow mirror is where they
   need tuning.
2. ``wait_for`` and ``wait_for_connection`` without such a ``timeout``.
3. ``uri`` and ``get_url`` without such a ``timeout``.
4. An option of a crossgate module (``crossgate_*``) named ``*timeout``, ``*_delay`` or
   ``*retries`` that is given as a literal.
5. In ``command`` and ``shell`` tasks (free form, ``cmd`` or a literal ``argv`` list), each
   simple command of the script that is known to wait without bound of its own:

   - ``ceph`` (the cluster CLI) without ``--connect-timeout`` from a variable or a ``timeout``
     wrapper from a variable: with no monitor reachable it waits forever. ``ceph daemon``,
     ``--admin-daemon``, ``--version`` and ``--help`` talk to no monitor and pass.
   - ``rbd pool init`` without a ``timeout`` wrapper from a variable: it waits for the pool's
     placement groups, forever if they never go active.
   - ``kubectl wait`` and ``kubectl rollout status`` without ``--timeout`` from a variable
     (``rollout status`` waits forever by default; a wrapper does not count: ``kubectl wait``
     stops at its own 30 s default first, and kubectl's own timeout says what it waited for).
   - ``curl`` without ``--max-time``/``-m`` from a variable or a ``timeout`` wrapper from a
     variable: a stalled transfer never ends.

   A value is "from a variable" when it holds a Jinja expression that names a variable, or a
   shell expansion (``$t``, ``"${t}"``): the rule does not follow shell assignments, and trusts
   them. Commands it cannot see are not checked: an ``argv`` built by a template, a command
   held in a shell variable (``"${ceph[@]}" status``, ``$c``), inside ``$(...)`` within double
   quotes, or in a heredoc.

Not checked, on purpose: ``apt``'s ``lock_timeout`` (bounded by its default, 60 s), ``pause``
(a fixed sleep, not a wait for a state), ``async`` (a bound already), ``cephadm bootstrap``
(it bounds its own waits for the monitor and the manager).
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any

from ansiblelint.rules import AnsibleLintRule

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crossgate_lint_common import from_variable, module_call, template_names

sys.path.pop(0)

if TYPE_CHECKING:
    from ansiblelint.errors import MatchError
    from ansiblelint.file_utils import Lintable
    from ansiblelint.utils import Task

ID = "crossgate-wait-bound-from-variable"
HOW = ("take the bound from a variable of the role, named with its prefix and declared in "
       "defaults/main.yaml, meta/argument_specs.yaml and README.rst")

# Placeholders for Jinja expressions in a command line: one that names a variable, one that
# does not ("{{ 30 }}"). Neither contains a shell metacharacter.
VAR = "\x01VAR\x01"
LIT = "\x01LIT\x01"
_JINJA_EXPR = re.compile(r"{{.*?}}", re.S)
_JINJA_STMT = re.compile(r"{%.*?%}|{#.*?#}", re.S)
_HEREDOC = re.compile(r"(?<!<)<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")  # not <<<
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SEPARATORS = set(";&|()`\n")
# Words that come before the command word of a simple command.
_PREFIX_WORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "time", "exec",
                 "command", "nohup", "nice", "sudo", "env", "{", "}"}


def _jinja_placeholder(match: re.Match[str]) -> str:
    return VAR if template_names(match.group(0)) else LIT


def shell_commands(script: str) -> list[list[str]]:
    """The simple commands of the shell SCRIPT, each as its words with quotes removed.

    Jinja expressions become placeholders (``VAR``/``LIT``); Jinja statements, comments,
    heredoc bodies and line continuations are dropped. Commands inside quotes are not split
    out (``echo "a; ceph"`` is one ``echo``).
    """
    script = _JINJA_STMT.sub("\n", _JINJA_EXPR.sub(_jinja_placeholder, script))
    script = script.replace("\\\n", " ")
    lines: list[str] = []
    heredoc_end: str | None = None
    for line in script.split("\n"):
        if heredoc_end is not None:
            if line.strip() == heredoc_end:
                heredoc_end = None
            continue
        lines.append(line)
        found = _HEREDOC.search(line)
        if found:
            heredoc_end = found.group(2)
    commands: list[list[str]] = []
    words: list[str] = []
    word: list[str] | None = None
    quote = ""
    text = "\n".join(lines)
    i = 0
    while i < len(text):
        c = text[i]
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                word.append(c)  # type: ignore[union-attr]
        elif quote == '"':
            if c == "\\" and i + 1 < len(text):
                i += 1
                word.append(text[i])  # type: ignore[union-attr]
            elif c == '"':
                quote = ""
            else:
                word.append(c)  # type: ignore[union-attr]
        elif c in "'\"":
            quote = c
            word = word if word is not None else []
        elif c == "\\" and i + 1 < len(text):
            i += 1
            word = (word or []) + [text[i]]
        elif c == "#" and word is None:
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif c == "&" and (text[i - 1:i] in {"<", ">"} or text[i + 1:i + 2] == ">"):
            word = (word or []) + [c]  # a redirection: 2>&1, &>f
        elif c.isspace() or c in _SEPARATORS:
            if word is not None:
                words.append("".join(word))
                word = None
            if c in _SEPARATORS and words:
                commands.append(words)
                words = []
        else:
            word = (word or []) + [c]
        i += 1
    if word is not None:
        words.append("".join(word))
    if words:
        commands.append(words)
    return commands


def _variable(word: str) -> bool:
    return VAR in word or "$" in word


def _show(word: str) -> str:
    return word.replace(VAR, "{{ ... }}").replace(LIT, "{{ literal }}")


def _option(words: list[str], *names: str) -> str | None:
    """The value of the first option of NAMES in WORDS (``--x V`` or ``--x=V``), or None."""
    for i, word in enumerate(words):
        for name in names:
            if word == name and i + 1 < len(words):
                return words[i + 1]
            if word.startswith(name + "=") and name.startswith("--"):
                return word[len(name) + 1:]
    return None


def _subcommand(words: list[str]) -> list[str]:
    """The words of kubectl's command line from its subcommand on (global options skipped)."""
    with_value = {"--kubeconfig", "--context", "--cluster", "--user", "-n", "--namespace",
                  "-s", "--server", "--request-timeout", "--as", "--token"}
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in with_value else 1
    return words[i:]


def check_command(words: list[str]) -> str | None:
    """Why the simple command WORDS waits without a bound from a variable, or None."""
    bound: str | None = None  # the duration of a `timeout` wrapper
    i = 0
    while i < len(words):
        word = words[i]
        if _ASSIGNMENT.match(word) or word in _PREFIX_WORDS or (
                i > 0 and words[i - 1] in {"sudo", "env"} and word.startswith("-")):
            i += 1
        elif word == "timeout":
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in {"-s", "-k"} else 1
            if i < len(words):
                bound = words[i]
            i += 1
        else:
            break
    if i >= len(words):
        return None
    program, args = os.path.basename(words[i]), words[i + 1:]
    wrapped = bound is not None and _variable(bound)
    wrapper = ("" if bound is None or wrapped
               else f" (its `timeout {_show(bound)}` wrapper is a literal)")

    def need(command: str, option: str, value: str | None) -> str | None:
        if value is None:
            return f"`{command}` has no {option}{wrapper}"
        if not _variable(value):
            return f"`{command}` has a literal {option} ({_show(value)})"
        return None

    if program == "ceph":
        if wrapped or {"daemon", "--version", "-v", "--help", "-h"} & set(args) or any(
                a.startswith("--admin-daemon") for a in args):
            return None
        return need("ceph", "--connect-timeout", _option(args, "--connect-timeout"))
    if program == "rbd":
        if any(args[j:j + 2] == ["pool", "init"] for j in range(len(args))) and not wrapped:
            return ("`rbd pool init` (it waits for the pool's placement groups) has no `timeout` "
                    f"wrapper{wrapper}")
        return None
    if program == "kubectl":
        sub = _subcommand(args)
        if sub[:1] == ["wait"] or sub[:2] == ["rollout", "status"]:
            why = need("kubectl " + " ".join(sub[:1 if sub[0] == "wait" else 2]), "--timeout",
                       _option(args, "--timeout"))
            if why and wrapped:
                why += (" (a `timeout` wrapper does not count: " + (
                    "kubectl wait stops at its own 30 s default first)" if sub[0] == "wait"
                    else "kubectl's own timeout says what it waited for)"))
            return why
        return None
    if program == "curl" and not wrapped:
        return need("curl", "--max-time", _option(args, "--max-time", "-m"))
    return None


def command_texts(module: str, args: dict[str, Any]) -> list[list[str]]:
    """The simple commands of a command or shell task with the arguments ARGS."""
    argv = args.get("argv")
    if isinstance(argv, list):
        return [[_JINJA_EXPR.sub(_jinja_placeholder, str(word)) for word in argv]]
    script = args.get("_raw_params", args.get("cmd"))
    if not isinstance(script, str):
        return []
    if module == "command":
        # command splits its line into words (no shell): one simple command
        return [[word for command in shell_commands(script) for word in command]]
    return shell_commands(script)


def problems(task: dict[str, Any], module: str, args: dict[str, Any]) -> list[str]:
    """What the task (raw keys TASK, resolved MODULE and ARGS) bounds with a literal or not at
    all, each as a sentence."""
    found: list[str] = []
    if "until" in task or "retries" in task:
        for key in ("retries", "delay"):
            if key not in task:
                found.append(f"its retry loop has no `{key}:` (Ansible's default is a literal)")
            elif not from_variable(task[key]):
                found.append(f"`{key}: {task[key]}` is a literal")
    if module in {"wait_for", "wait_for_connection", "uri", "get_url"}:
        if "timeout" not in args:
            found.append(f"`{module}` has no `timeout` (its default is a literal)")
        elif not from_variable(args["timeout"]):
            found.append(f"`{module}` has `timeout: {args['timeout']}`, a literal")
    if module.split(".")[-1].startswith("crossgate_"):
        for key, value in args.items():
            if (key.endswith(("timeout", "_delay", "retries")) and value is not None
                    and not from_variable(value)):
                found.append(f"`{key}: {value}` is a literal")
    if module in {"command", "shell"}:
        for words in command_texts(module, args):
            why = check_command(words)
            if why:
                found.append(why)
    return found


class WaitBoundFromVariableRule(AnsibleLintRule):
    """Every wait takes its bound from a variable."""

    id = ID
    description = __doc__ or ""
    severity = "HIGH"
    tags = ["crossgate", "reliability"]  # noqa: RUF012 (ansible-lint reads a list)
    version_changed = "0.1.0"

    def matchtask(self, task: Task, file: Lintable | None = None) -> list[MatchError]:
        call = module_call(task["action"])
        if call is None:
            return []
        module, args = call
        return [
            self.create_matcherror(
                message=f"{why}: {HOW}", lineno=task.line, filename=file,
                details=f"Task: {task.name or module}")
            for why in problems(task.raw_task, module, args)
        ]
