"""Rules for a job library such as crossgate itself (on with --library).

- every job has a description; every role has README.rst and
  meta/argument_specs.yaml;
- each role's argument_specs, README.rst rolevars and defaults/main.yaml agree:
  same variables, same defaults;
- no secrets in the public config: no secret stanzas, no encrypted values, no
  literal passwords, tokens or keys in vars;
- `.yaml`, not `.yml` (Zuul ignores `.yml` files in zuul.d/ silently).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crossgate.config import yamlfile
from crossgate.config.findings import Finding, relpath
from crossgate.config.repo import CONFIG_ROOTS, Repo

SECRET_NAME = re.compile(
    r"(passw(or)?d|secret|token|private_?key|api_?key|access_?key|credential)", re.I)
VARS_KEYS = ("vars", "host-vars", "group-vars", "extra-vars")
# File names that their tools require with a .yml ending.
YML_REQUIRED_BY_TOOL = {"molecule.yml"}
SKIP_DIRS = {".git", ".tox", ".venv", "node_modules", "__pycache__", ".cache", "build", "dist"}
ROLEVAR = re.compile(r"^(?P<indent>\s*)\.\.\s+zuul:rolevar::\s+(?P<name>\S+)")
ROLEVAR_DEFAULT = re.compile(r"^\s+:default:\s*(?P<value>.*?)\s*$")


def check_library(repo: Repo) -> list[Finding]:
    out: list[Finding] = []
    out += _job_descriptions(repo)
    out += _secrets(repo)
    out += _yml_files(repo)
    roles = repo.root / "roles"
    if roles.is_dir():
        for role in sorted(p for p in roles.iterdir() if p.is_dir()):
            out += check_role(role)
    return out


def _job_descriptions(repo: Repo) -> list[Finding]:
    return [Finding(st.where(), st.line, "job-description",
                    f"job {st.name!r} has no description; every job of the library says "
                    "what it runs and on which nodes")
            for st in repo.of_kind("job")
            if not str(st.conf.get("description") or "").strip()]


# --- secrets -----------------------------------------------------------------

def _is_public_config(repo: Repo, path: Path) -> bool:
    rel = path.relative_to(repo.root).parts
    return bool(rel) and rel[0] in CONFIG_ROOTS


def _secrets(repo: Repo) -> list[Finding]:
    out = []
    for st in repo.stanzas:
        if not _is_public_config(repo, st.path):
            continue
        if st.kind == "secret":
            out.append(Finding(st.where(), st.line, "secret-in-library",
                               f"secret {st.name!r} in the library's public config; a library "
                               "holds no secrets: a tenant passes its own through a job "
                               "variant's 'secrets'"))
            continue
        for key in VARS_KEYS:
            if key in st.conf:
                for line, dotted, why in _secret_values(st.conf[key], key, st.key_line(key)):
                    out.append(Finding(st.where(), line, "secret-in-library",
                                       f"{st.kind} {st.name!r} sets {dotted} to {why}; the "
                                       "library's config must not carry secrets (use a "
                                       "Zuul secret in the tenant, or generate it on the node)"))
    return out


def _secret_values(value: Any, dotted: str, line: int) -> Iterator[tuple[int, str, str]]:
    if type(value).__name__.startswith("Encrypted"):
        yield line, dotted, "an encrypted value"
    elif isinstance(value, dict):
        for k, v in value.items():
            kline = k.line + 1 if hasattr(k, "line") else line
            sub = f"{dotted}.{k}"
            if (SECRET_NAME.search(str(k)) and isinstance(v, str) and v.strip()
                    and "{{" not in v):
                yield kline, sub, "a literal value"
            else:
                yield from _secret_values(v, sub, kline)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _secret_values(v, f"{dotted}[{i}]", line)


# --- .yml --------------------------------------------------------------------

def _yml_files(repo: Repo) -> list[Finding]:
    """`.yml` files where Zuul looks for its config (the config roots and the
    extra config paths): Zuul reads only `.yaml` there and skips these silently."""
    out = []
    for entry in (*CONFIG_ROOTS, "zuul.yml", ".zuul.yml", *repo.config_paths):
        path = repo.root / entry
        if path.is_file() and path.suffix == ".yml":
            found = [path]
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*.yml") if p.is_file())
        else:
            continue
        out += [Finding(relpath(p), 1, "yaml-extension",
                        f"{p.name} ends in .yml; Zuul reads only .yaml files from its "
                        "config paths and skips this one without a word")
                for p in found if p.name not in YML_REQUIRED_BY_TOOL]
    return sorted(set(out))


# --- roles -------------------------------------------------------------------

@dataclass
class RoleVar:
    name: str
    line: int
    default: str | None
    default_line: int


def readme_rolevars(text: str) -> list[RoleVar]:
    """Top-level `.. zuul:rolevar::` entries of a README.rst with their :default:."""
    out: list[RoleVar] = []
    lines = text.splitlines()
    top: int | None = None
    for i, line in enumerate(lines):
        m = ROLEVAR.match(line)
        if not m:
            continue
        indent = len(m["indent"])
        top = indent if top is None else min(top, indent)
        if indent != top:
            continue  # a nested rolevar documents a key of a dict variable
        default, default_line = None, 0
        for j in range(i + 1, len(lines)):
            nxt = lines[j]
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            if ROLEVAR.match(nxt):
                break
            d = ROLEVAR_DEFAULT.match(nxt)
            if d:
                default, default_line = d["value"], j + 1
                break
        out.append(RoleVar(m["name"], i + 1, default, default_line))
    return out


def _parse_rst_default(text: str) -> Any:
    text = text.strip()
    if text.startswith("``") and text.endswith("``"):
        text = text[2:-2]
    try:
        return yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return text


def _load(path: Path) -> tuple[Any, Finding | None]:
    try:
        return yamlfile.load(path.read_text(encoding="utf-8")), None
    except yamlfile.YamlError as exc:
        return None, Finding(relpath(path), exc.line, "yaml-syntax", f"not valid YAML: {exc}")
    except (OSError, UnicodeDecodeError) as exc:
        return None, Finding(relpath(path), 0, "unreadable-input", f"cannot read: {exc}")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def check_role(role: Path) -> list[Finding]:
    out: list[Finding] = []
    name = role.name
    readme = role / "README.rst"
    specs_path = role / "meta" / "argument_specs.yaml"
    defaults_path = role / "defaults" / "main.yaml"
    if not readme.is_file():
        out.append(Finding(relpath(role), 0, "undocumented-role",
                           f"role {name!r} has no README.rst; every role says what it does and "
                           "documents each variable with '.. zuul:rolevar::'"))
    if not specs_path.is_file():
        out.append(Finding(relpath(role), 0, "missing-argument-specs",
                           f"role {name!r} has no meta/argument_specs.yaml; it is the role's "
                           "contract, checked by Ansible on entry"))
        return out
    specs, err = _load(specs_path)
    if err:
        return [*out, err]
    options: dict[str, Any] = {}
    try:
        options = specs["argument_specs"]["main"].get("options") or {}
    except (KeyError, TypeError, AttributeError):
        out.append(Finding(relpath(specs_path), 1, "rolevar-mismatch",
                           "expected argument_specs.main.options (a mapping of variables)"))
        return out
    defaults: dict[str, Any] = {}
    if defaults_path.is_file():
        loaded, err = _load(defaults_path)
        if err:
            return [*out, err]
        defaults = loaded or {}
    rolevars = readme_rolevars(readme.read_text(encoding="utf-8")) if readme.is_file() else []
    documented = {rv.name: rv for rv in rolevars}
    spath, dpath, rpath = relpath(specs_path), relpath(defaults_path), relpath(readme)

    for var, spec in options.items():
        line = options.line_of(var) if hasattr(options, "line_of") else 1
        if readme.is_file() and var not in documented:
            out.append(Finding(spath, line, "undocumented-rolevar",
                               f"role {name!r} variable {var!r} is in argument_specs but has no "
                               f"'.. zuul:rolevar:: {var}' in README.rst"))
        spec = spec or {}
        if "default" in spec:
            if var not in defaults:
                out.append(Finding(spath, spec.line_of("default"), "rolevar-mismatch",
                                   f"role {name!r} variable {var!r} has a default in "
                                   "argument_specs but none in defaults/main.yaml; keep them "
                                   "equal"))
            elif _plain(spec["default"]) != _plain(defaults[var]):
                out.append(Finding(dpath, defaults.line_of(var), "rolevar-mismatch",
                                   f"role {name!r} variable {var!r} defaults to "
                                   f"{_plain(defaults[var])!r} in defaults/main.yaml but to "
                                   f"{_plain(spec['default'])!r} in argument_specs"))
    for var in defaults:
        if var not in options:
            out.append(Finding(dpath, defaults.line_of(var), "rolevar-mismatch",
                               f"role {name!r} sets {var!r} in defaults/main.yaml, but "
                               "argument_specs has no such option; add it there (and to "
                               "README.rst) or remove it"))
    for rv in rolevars:
        if rv.name not in options:
            out.append(Finding(rpath, rv.line, "rolevar-mismatch",
                               f"role {name!r} README documents {rv.name!r}, which is not an "
                               "option in meta/argument_specs.yaml"))
            continue
        if rv.name in defaults:
            want = _plain(defaults[rv.name])
            if rv.default is None:
                out.append(Finding(rpath, rv.line, "rolevar-mismatch",
                                   f"role {name!r} README gives no ':default:' for {rv.name!r}; "
                                   f"defaults/main.yaml sets {want!r}"))
            elif _parse_rst_default(rv.default) != want:
                out.append(Finding(rpath, rv.default_line, "rolevar-mismatch",
                                   f"role {name!r} README says {rv.name!r} defaults to "
                                   f"{rv.default!r}, defaults/main.yaml sets {want!r}"))
    return out
