"""Load a repository's Zuul configuration with the `zuul` package's own parser.

Zuul reads the first of zuul.yaml, zuul.d/, .zuul.yaml, .zuul.d/ (and reports
more than one as an error), plus a tenant's extra-config-paths. Directories are
read recursively, `.yaml` files only, sorted, pruning folders that hold a
`.zuul.ignore` file. Each file goes through Zuul's ZuulSafeLoader, its
UnparsedConfig and TenantParser.parseConfig, exactly as a scheduler does; the
raw stanzas are kept for the reference checks that the parser leaves open.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import yamlfile
from .findings import ERROR, WARNING, Finding, relpath
from .projects import DEFAULT_HOSTNAME

CONFIG_ROOTS = ("zuul.yaml", "zuul.d", ".zuul.yaml", ".zuul.d")
STANZA_ATTRS = {
    "pragma": "pragmas",
    "pipeline": "pipelines",
    "job": "jobs",
    "project-template": "project_templates",
    "project": "projects",
    "nodeset": "nodesets",
    "secret": "secrets",
    "semaphore": "semaphores",
    "queue": "queues",
    "image": "images",
    "flavor": "flavors",
    "label": "labels",
    "section": "sections",
    "provider": "providers",
}


class NotAZuulRepo(Exception):
    pass


class Unreadable(Exception):
    """A repository folder or config folder that cannot be listed."""


@dataclass
class Stanza:
    kind: str
    conf: dict[str, Any]
    path: Path
    repo: Repo

    # The same stanza loaded by crossgate's line-keeping loader: key lines.
    lines: Any = None
    # What Zuul's parser reported about this stanza: its references are not
    # resolved further (no follow-on findings).
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.conf.get("name", ""))

    @property
    def line(self) -> int:
        mark = self.conf.get("_start_mark")
        return mark.line + 1 if mark is not None else 1

    def key_line(self, *path: str | int) -> int:
        """Line of a (nested) key of this stanza; the stanza's line if not found."""
        node, line = self.lines, self.line
        for key in path:
            in_dict = isinstance(node, dict) and key in node
            in_list = isinstance(node, list) and isinstance(key, int) and key < len(node)
            if in_dict or in_list:
                line = node.line_of(key) if hasattr(node, "line_of") else line
                node = node[key]
            else:
                break
        return line

    def where(self) -> str:
        return relpath(self.path)


@dataclass
class Repo:
    name: str                  # the project's name without host, e.g. zuul/zuul-jobs
    root: Path
    files: list[Path] = field(default_factory=list)
    stanzas: list[Stanza] = field(default_factory=list)
    # file -> number of objects it defined (0: empty or comments only)
    object_count: dict[Path, int] = field(default_factory=dict)
    canonical_hostname: str = DEFAULT_HOSTNAME
    # stanza kinds loaded from it (a tenant's include/exclude); None: all
    include: frozenset[str] | None = None
    # extra config paths it was loaded with (a tenant's extra-config-paths)
    config_paths: list[str] = field(default_factory=list)

    @property
    def short_name(self) -> str:
        return self.name.split("/")[-1]

    def of_kind(self, kind: str) -> list[Stanza]:
        return [s for s in self.stanzas if s.kind == kind]


def _yaml_files(root: Path, entry: str) -> list[Path]:
    """The .yaml files Zuul reads from one config path; OSError if it cannot be read."""
    path = root / entry
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []

    def fail(exc: OSError) -> None:
        raise exc

    found: list[Path] = []
    ignored: list[Path] = []
    for top, _dirs, files in os.walk(path, onerror=fail):
        here = Path(top)
        if ".zuul.ignore" in files:
            ignored.append(here)
        found += [here / f for f in files if f.endswith(".yaml")]
    return sorted(p for p in found
                  if p.is_file() and not any(p.is_relative_to(d) for d in ignored))


def config_files(root: Path, extra_paths: list[str]) -> tuple[list[Path], list[Finding]]:
    """Files Zuul would read from the repository at `root`."""
    findings: list[Finding] = []
    present = [e for e in CONFIG_ROOTS if (root / e).exists()]
    if len(present) > 1:
        findings.append(Finding(
            relpath(root / present[1]), 1, "multiple-config-roots",
            f"Zuul reads one configuration root per branch; found {', '.join(present)}. "
            "Keep one of zuul.yaml, zuul.d/, .zuul.yaml, .zuul.d/ and load others through "
            "the tenant's extra-config-paths"))
    files: list[Path] = []
    for entry in present[:1] + list(extra_paths):
        if not (root / entry).exists():
            findings.append(Finding(
                relpath(root / entry), 0, "unreadable-input",
                f"extra config path {entry!r} does not exist under {relpath(root)}"))
            continue
        try:
            files.extend(_yaml_files(root, entry))
        except OSError as exc:
            raise Unreadable(
                f"{relpath(Path(exc.filename or root / entry))}: cannot be read "
                f"({exc.strerror or exc}); crossgate check reads every file Zuul would") from exc
    return files, findings


class _Connections:
    """The parser asks for connections only for pipelines; a repository check has none."""

    connections: dict[str, Any] = {}  # noqa: RUF012 - read-only, mirrors zuul's attribute

    def getSource(self, name: str) -> Any:
        raise Exception(f"connection {name!r} is not known to crossgate check")

    getTrigger = getReporter = getSource


class ZuulParser:
    """A reusable parse context around zuul.configloader."""

    def __init__(self) -> None:
        from zuul import configloader, model
        from zuul.lib.ansible import AnsibleManager

        self._configloader = configloader
        self._model = model
        self.context = configloader.ParseContext(
            _Connections(), model.SystemAttributes(), model.SystemAttributes(),
            AnsibleManager())
        self.tenant_parser = configloader.TenantParser(
            None, None, None, None, None, None, None, None)

    def allowed_keys(self, kind: str) -> list[str]:
        """Top-level keys Zuul's schema accepts for a stanza kind."""
        parser = getattr(self.context, kind.replace("-", "_") + "_parser", None)
        schema = getattr(getattr(parser, "schema", None), "schema", None)
        if not isinstance(schema, dict):
            return []
        return sorted(str(k) for k in schema if isinstance(k, str) and not k.startswith("_"))

    def load_file(self, repo: Repo, path: Path) -> list[Finding]:
        cl, model = self._configloader, self._model
        rel = str(path.relative_to(repo.root))
        shown = relpath(path)
        source = model.SourceContext(repo.name, repo.name, "crossgate", "master", rel)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return [Finding(shown, 0, "unreadable-input", f"cannot read: {exc}")]
        if not text.strip() or _only_comments(text):
            repo.object_count[path] = 0
            return []
        try:
            data = cl.safe_load_yaml(text, source)
        except cl.YAMLDuplicateKeyError as exc:
            mark = exc.start_mark
            key = re.search(r'key "([^"]+)"', str(exc))
            line = _find_duplicate_key_line(text, mark.line, mark.end_line, key and key[1])
            return [Finding(shown, line, "yaml-syntax",
                            f"duplicate key {key[1] if key else ''!r} in one mapping; "
                            "each key may appear once")]
        except Exception as exc:  # yaml.MarkedYAMLError and friends
            mark = getattr(exc, "problem_mark", None)
            context_mark = getattr(exc, "context_mark", None)
            if mark is None or (context_mark is not None
                                and mark.line >= len(text.rstrip("\n").splitlines())):
                mark = context_mark  # the problem is at the end: show where it began
            line = mark.line + 1 if mark is not None else 1
            problem = getattr(exc, "problem", None) or str(exc)
            context = getattr(exc, "context", None)
            msg = f"{context}: {problem}" if context else problem
            return [Finding(shown, line, "yaml-syntax", f"not valid YAML: {msg}")]
        unparsed = model.UnparsedConfig()
        try:
            unparsed.extend(data)
        except Exception as exc:
            line, item = _bad_item(text)
            said = _one_line(getattr(exc, "zuul_error_message", str(exc))).split(".")[0]
            return [Finding(shown, line, "zuul-syntax",
                            f"{item}: Zuul's parser says: {said}; a Zuul config file is a "
                            "list of one-key mappings of a kind: "
                            + ", ".join(STANZA_ATTRS))]
        by_kind = _line_stanzas(text)
        count = 0
        for kind, attr in STANZA_ATTRS.items():
            for i, conf in enumerate(getattr(unparsed, attr)):
                found = by_kind.get(kind, [])
                repo.stanzas.append(Stanza(kind, conf, path, repo,
                                           found[i] if i < len(found) else None))
                count += 1
        repo.object_count[path] = count
        ctx = self.context
        ctx.error_list.clear()
        with ctx.errorContext(source_context=source):
            parsed = self.tenant_parser.parseConfig(unparsed, ctx)
        errors = list(ctx.error_list)
        for attr in dir(parsed):
            if attr.endswith("_errors"):
                errors.extend(getattr(parsed, attr))
        mine = [st for st in repo.stanzas if st.path == path]
        return [self._finding(shown, err, mine) for err in errors]

    def _finding(self, shown: str, err: Any, stanzas: list[Stanza]) -> Finding:
        mark = err.key.mark
        line = mark.line + 1 if mark is not None else 1
        text = err.short_error or err.error
        severity = WARNING if getattr(err, "severity", "error") == "warning" else ERROR
        stanza = next((st for st in stanzas
                       if mark is not None and st.line == mark.line + 1), None)
        if stanza is not None and severity == ERROR:
            stanza.errors.append(text)
        at = re.search(r"@ data((?:\[[^\]]+\])+)", text)
        path: list[str | int] = []
        if at:
            keys = re.findall(r"\['([^']*)'\]|\[(\d+)\]", at[1])
            path = [k or int(i) for k, i in keys]
            if stanza is not None:
                line = stanza.key_line(*path)
        if at and "extra keys not allowed" in text:
            kind = stanza.kind if stanza is not None else None
            keys = self.allowed_keys(kind) if kind and len(path) == 1 else []
            allowed = f": allowed keys of a {kind} are {', '.join(keys)}" if keys else ""
            close = difflib.get_close_matches(str(path[-1]), keys, n=1)
            if close:
                allowed = f" (did you mean {close[0]!r}?)" + allowed
            return Finding(shown, line, "unknown-key",
                           f"unknown key {'.'.join(str(p) for p in path)!r}: "
                           f"Zuul's parser says: {_one_line(text)}{allowed}", severity)
        who = f"{stanza.kind} {stanza.name!r}: " if stanza is not None and stanza.name else ""
        return Finding(shown, line, "zuul-syntax", who + _one_line(text), severity)


def _bad_item(text: str) -> tuple[int, str]:
    """Line and description of the first item that is not a one-key mapping of a
    known kind."""
    try:
        data = yamlfile.load(text)
    except yamlfile.YamlError:
        return 1, "this file"
    if not isinstance(data, list):
        return getattr(data, "line", 1) or 1, f"the file holds a {type(data).__name__}"
    for i, item in enumerate(data):
        if isinstance(item, dict) and len(item) == 1:
            kind = next(iter(item))
            if kind not in STANZA_ATTRS:
                return data.line_of(i), f"unknown kind {kind!r}"
        else:
            return data.line_of(i), f"item {i + 1} is not a one-key mapping"
    return 1, "this file"


def _line_stanzas(text: str) -> dict[str, list[Any]]:
    """The file's stanzas per kind, in order, as line-keeping dicts."""
    try:
        data = yamlfile.load(text)
    except yamlfile.YamlError:
        return {}
    out: dict[str, list[Any]] = {}
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and len(item) == 1:
            kind, value = next(iter(item.items()))
            out.setdefault(str(kind), []).append(value)
    return out


def _find_duplicate_key_line(text: str, start: int, end: int, key: str | None) -> int:
    if key is None:
        return start + 1
    lines = text.splitlines()
    seen = 0
    for i in range(start, min(end + 1, len(lines))):
        if re.match(rf"\s*-?\s*{re.escape(key)}\s*:", lines[i]):
            seen += 1
            if seen == 2:
                return i + 1
    return start + 1


def _only_comments(text: str) -> bool:
    return all(not ln.strip() or ln.lstrip().startswith("#") or ln.strip() == "---"
               for ln in text.splitlines())


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def load_repo(parser: ZuulParser, name: str, root: Path,
              extra_paths: list[str] | None = None) -> tuple[Repo, list[Finding]]:
    """Load every config file of a repository; raise NotAZuulRepo if it has none."""
    if not root.is_dir():
        raise NotAZuulRepo(f"{relpath(root)} is not a directory")
    try:
        os.listdir(root)
    except OSError as exc:
        raise Unreadable(f"{relpath(root)}: cannot be read ({exc.strerror or exc})") from exc
    files, findings = config_files(root, extra_paths or [])
    if not files and not any((root / e).exists() for e in CONFIG_ROOTS):
        raise NotAZuulRepo(
            f"{relpath(root)} has no Zuul configuration: expected one of "
            + ", ".join(CONFIG_ROOTS))
    repo = Repo(name=name, root=root, files=files, config_paths=list(extra_paths or []))
    for path in files:
        findings.extend(parser.load_file(repo, path))
    return repo, findings
