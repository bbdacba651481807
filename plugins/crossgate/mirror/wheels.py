"""The pip half of the mirror: build or download wheels for requirement specs into a wheelhouse
with the nodes' Python version, and write a PEP 503 simple index over it.

Nodes use it as ``index-url = URL/wheels/simple/`` or ``find-links = URL/wheels/``. A sync first
tries the wheelhouse alone (``--no-index``): when it satisfies every requirement nothing is
fetched and no registry is asked. Otherwise pip resolves against the host's configured indexes,
with the wheelhouse as extra links, so wheels already there are not fetched again.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .locking import locked
from .model import InvalidInput, Layout, SyncFailure, WheelReport

NODE_PYTHON = "3.11"
SAVED_RE = re.compile(r"^\s*(?:Saved|File was already downloaded) (?P<path>\S+\.whl)\s*$")
HASH_CACHE = ".sha256"


def validate_requirements(specs: list[str], option: str = "--requirement") -> list[str]:
    """Requirement specs as pip takes them (``name``, ``name==1.2``, ``name[extra]>=1``)."""
    from packaging.requirements import InvalidRequirement, Requirement

    out = []
    for raw in specs:
        spec = raw.strip()
        try:
            if spec.startswith("-"):
                raise InvalidRequirement(spec)
            Requirement(spec)
        except InvalidRequirement:
            raise InvalidInput(
                option, raw, "a PEP 508 requirement such as 'six' or 'keystone==27.0.0'"
            ) from None
        out.append(spec)
    return out


def normalize(name: str) -> str:
    """PEP 503 project name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_project(filename: str) -> str:
    """The normalised project name of a wheel file name (``Foo_Bar-1.0-py3-none-any.whl``)."""
    if not filename.endswith(".whl") or filename.count("-") < 4:
        raise ValueError(f"not a wheel file name: {filename}")
    return normalize(filename.split("-", 1)[0])


def parse_pip_wheel_output(text: str) -> list[str]:
    """File names of the wheels a ``pip wheel`` run saved or found already downloaded."""
    seen: dict[str, None] = {}
    for line in text.splitlines():
        m = SAVED_RE.match(line)
        if m:
            seen[os.path.basename(m["path"])] = None
    return list(seen)


def unknown_distribution(output: str) -> str | None:
    """The requirement pip found no distribution for (``No matching distribution found``)."""
    m = re.search(r"No matching distribution found for (\S+)", output)
    return m[1] if m else None


def simple_index(files: dict[str, str]) -> dict[str, str]:
    """PEP 503 pages for a wheelhouse: ``{relative path: html}`` from ``{wheel: sha256}``.

    Pages live in ``simple/``; links point at the wheels one or two levels up."""
    projects: dict[str, list[str]] = {}
    for name in sorted(files):
        projects.setdefault(wheel_project(name), []).append(name)
    pages: dict[str, str] = {}
    root_links = "".join(
        f'    <a href="{html.escape(p)}/">{html.escape(p)}</a>\n' for p in sorted(projects)
    )
    pages["index.html"] = _page("Simple index", root_links)
    for project, names in projects.items():
        links = "".join(
            f'    <a href="../../{html.escape(n)}#sha256={files[n]}">{html.escape(n)}</a>\n'
            for n in names
        )
        pages[f"{project}/index.html"] = _page(f"Links for {project}", links)
    return pages


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html>\n  <head><meta name="pypi:repository-version" '
        f'content="1.0"><title>{html.escape(title)}</title></head>\n  <body>\n'
        f"{body}  </body>\n</html>\n"
    )


def pip_conf(index_url: str | None, find_links: str | None, trusted_hosts: list[str]) -> str:
    """The pip.conf a node needs to use the mirror (what roles/configure-mirrors writes)."""
    lines = ["[global]"]
    if index_url:
        lines.append(f"index-url = {index_url}")
    if find_links:
        lines.append(f"find-links = {find_links}")
    if trusted_hosts:
        lines.append("trusted-host = " + " ".join(trusted_hosts))
    return "\n".join(lines) + "\n"


# -- on the host --------------------------------------------------------------------------------


def python_version(python: str) -> str:
    """``major.minor`` of an interpreter, or InvalidInput naming ``--python``."""
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        raise InvalidInput("--python", python, "a Python interpreter that runs") from None
    return out.stdout.strip()


def pick_python(python: str | None, want: str = NODE_PYTHON) -> str:
    """The interpreter to run pip with: ``python`` if given, else this one or ``python<want>``;
    its version must be the nodes' (``want``) so that wheels match their ABI."""
    if python is None:
        current = f"{sys.version_info[0]}.{sys.version_info[1]}"
        python = sys.executable if current == want else shutil.which(f"python{want}")
        if python is None:
            raise InvalidInput("--python", None, f"a Python {want} interpreter (the nodes' Python)")
    version = python_version(python)
    if version != want:
        raise InvalidInput("--python", python, f"a Python {want} interpreter (found {version})")
    return python


def _wheels(folder: Path) -> dict[str, int]:
    return {
        e.name: e.stat().st_size
        for e in os.scandir(folder)
        if e.name.endswith(".whl") and e.is_file()
    }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_index(layout: Layout) -> None:
    """Rewrite ``wheels/simple/`` for the wheels present (hashes cached by name and size)."""
    cache_path = layout.state / "wheel-hashes"
    known: dict[str, str] = {}
    if cache_path.is_file():
        for line in cache_path.read_text().splitlines():
            key, _, digest = line.rpartition(" ")
            known[key] = digest
    hashes: dict[str, str] = {}
    lines = []
    for name, size in sorted(_wheels(layout.wheels).items()):
        key = f"{name}:{size}"
        digest = known.get(key) or _sha256(layout.wheels / name)
        hashes[name] = digest
        lines.append(f"{key} {digest}")
    cache_path.write_text("\n".join(lines) + "\n")
    tmp = layout.wheels / ".simple.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for rel, text in simple_index(hashes).items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    old = layout.wheels / ".simple.old"
    shutil.rmtree(old, ignore_errors=True)
    if layout.simple.exists():
        os.replace(layout.simple, old)
    os.replace(tmp, layout.simple)
    shutil.rmtree(old, ignore_errors=True)


def _pip_wheel(
    python: str,
    layout: Layout,
    specs: list[str],
    requirement_files: list[Path],
    constraints: Path | None,
    offline: bool,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    argv = [python, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-input"]
    argv += ["--wheel-dir", str(layout.wheels), "--find-links", str(layout.wheels)]
    argv += ["--cache-dir", str(layout.pip_cache)]
    if offline:
        argv.append("--no-index")
    if constraints is not None:
        argv += ["--constraint", str(constraints)]
    for path in requirement_files:
        argv += ["--requirement", str(path)]
    argv += specs
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=dict(os.environ, LC_ALL="C.UTF-8"),
        )
    except subprocess.TimeoutExpired:
        raise SyncFailure(f"pip wheel: timed out after {timeout:.0f}s: {' '.join(argv)}") from None


def sync_wheels(
    requirements: list[str],
    root: Path,
    requirement_files: list[Path] | None = None,
    constraints: Path | None = None,
    python: str | None = None,
    refresh: bool = False,
    timeout: float = 1800.0,
    lock_timeout: float = 600.0,
) -> WheelReport:
    """Put wheels for ``requirements`` (and ``requirement_files``) into ``<root>/wheels``.

    Without ``refresh`` the wheelhouse alone is tried first; with it, pip always asks the
    registry (for newer versions of unpinned requirements)."""
    specs = validate_requirements(requirements)
    files = [Path(p) for p in requirement_files or []]
    if not specs and not files:
        raise InvalidInput("--requirement", "", "at least one requirement or requirements file")
    for path in files:
        if not path.is_file():
            raise InvalidInput("--requirements-file", str(path), "an existing requirements file")
    if constraints is not None and not Path(constraints).is_file():
        raise InvalidInput("--constraints", str(constraints), "an existing constraints file")
    python = pick_python(python)
    layout = Layout(Path(root))
    started = time.monotonic()
    report = WheelReport(requirements=specs + [f"-r {p}" for p in files])
    with locked(layout.state / "wheels.lock", lock_timeout, "wheel sync of " + str(layout.root)):
        layout.wheels.mkdir(parents=True, exist_ok=True)
        layout.pip_cache.mkdir(parents=True, exist_ok=True)
        before = _wheels(layout.wheels)
        proc = None
        if not refresh and before:
            proc = _pip_wheel(python, layout, specs, files, constraints, True, timeout)
            report.offline = proc.returncode == 0
        if not report.offline:
            proc = _pip_wheel(python, layout, specs, files, constraints, False, timeout)
        assert proc is not None
        if proc.returncode != 0:
            missing = unknown_distribution(proc.stdout + proc.stderr)
            if missing:
                raise InvalidInput(
                    "--requirement",
                    missing,
                    "a requirement that the host's package indexes can satisfy",
                )
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise SyncFailure(f"pip wheel failed (exit {proc.returncode}):\n{tail}")
        after = _wheels(layout.wheels)
        used = parse_pip_wheel_output(proc.stdout + proc.stderr)
        report.files = sorted(used)
        report.wheels = len(used)
        for name in used:
            size = after.get(name, 0)
            if name in before:
                report.present += 1
                report.present_bytes += size
            else:
                report.downloaded += 1
                report.downloaded_bytes += size
        if after != before or not layout.simple.is_dir():
            write_index(layout)
    report.seconds = round(time.monotonic() - started, 3)
    return report
