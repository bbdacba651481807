"""The apt half of the mirror: download the whole .deb closure of some packages on the host and
index it as a flat repository that nodes use as ``deb [trusted=yes] URL ./``.

apt runs with its own state (lists, package cache) under ``.state/apt/`` and an empty dpkg
status, so it resolves the closure as for an empty system: every package a minimal node might
lack is fetched, not only what the host lacks. The sources are the host's own (``/etc/apt``).
The .deb files land in ``apt/``, which is apt's archive cache: a package already there is not
fetched again.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .locking import locked
from .model import AptReport, InvalidInput, Layout, SyncFailure

# name[:arch][=version | /release], as apt-get install accepts them.
PACKAGE_RE = re.compile(
    r"^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?(?:=[A-Za-z0-9.+~:-]+|/[A-Za-z0-9.-]+)?$"
)
URI_RE = re.compile(r"^'(?P<uri>[^']+)' (?P<file>\S+) (?P<size>\d+)(?: \S+)?$")
INDEX_STAMP = "Packages.stamp"
UPDATE_STAMP = "updated"


@dataclass(frozen=True)
class Fetch:
    """One file apt would download (``--print-uris``)."""

    uri: str
    filename: str
    size: int


def validate_packages(packages: list[str], option: str = "--package") -> list[str]:
    """The package names, stripped; InvalidInput on an empty list or a malformed name."""
    if not packages:
        raise InvalidInput(option, "", "at least one Debian package name")
    out = []
    for raw in packages:
        name = raw.strip()
        if not PACKAGE_RE.match(name):
            raise InvalidInput(
                option,
                raw,
                "a Debian package name (lower-case letters, digits, '+', '-', '.'), optionally "
                "with :ARCH and =VERSION or /RELEASE",
            )
        out.append(name)
    return out


def parse_print_uris(text: str) -> list[Fetch]:
    """The files an ``apt-get install --print-uris`` run would download."""
    out = []
    for line in text.splitlines():
        m = URI_RE.match(line.strip())
        if m and m["file"].endswith(".deb"):
            out.append(Fetch(m["uri"], m["file"], int(m["size"])))
    return out


def apt_options(layout: Layout, recommends: bool = False) -> list[str]:
    """``-o`` options that give apt its own state and an empty dpkg status, and make the
    mirror's ``apt/`` folder its archive cache. Sources and keyrings stay the host's."""
    state = layout.apt_state
    opts = {
        "Dir::State": f"{state}/",
        "Dir::State::status": f"{state}/status",
        "Dir::Cache": f"{state}/cache/",
        "Dir::Cache::archives": f"{layout.apt}/",
        # Keep apt's binary package cache (some hosts switch it off): warm syncs reuse it.
        "Dir::Cache::pkgcache": "pkgcache.bin",
        "Dir::Cache::srcpkgcache": "srcpkgcache.bin",
        "Acquire::Languages": "none",
        "APT::Install-Recommends": "true" if recommends else "false",
        "APT::Install-Suggests": "false",
        "APT::Get::Assume-Yes": "true",
        "quiet": "1",
    }
    argv = []
    for key, value in opts.items():
        argv += ["-o", f"{key}={value}"]
    return argv


def index_key(entries: list[tuple[str, int, int]]) -> str:
    """A digest of (file name, size, mtime) of every .deb: the index is rebuilt when it changes."""
    h = hashlib.sha256()
    for name, size, mtime in sorted(entries):
        h.update(f"{name}\0{size}\0{mtime}\n".encode())
    return h.hexdigest()


def sources_line(url: str) -> str:
    """The sources.list line a node uses for the flat repository at ``url``."""
    return f"deb [trusted=yes] {url.rstrip('/')}/ ./"


# -- on the host --------------------------------------------------------------------------------


def prepare(layout: Layout) -> None:
    """Create the folders apt needs and an empty dpkg status (rewritten only if it is not empty:
    a new mtime would make apt rebuild its package cache)."""
    for path in (
        layout.apt / "partial",
        layout.apt_state / "lists" / "partial",
        layout.apt_state / "cache",
        layout.apt_state / "no-archives" / "partial",
    ):
        path.mkdir(parents=True, exist_ok=True)
    status = layout.apt_state / "status"
    if not status.is_file() or status.stat().st_size:
        status.write_text("")


def shown(argv: list[str]) -> str:
    """A command line without its ``-o KEY=VALUE`` pairs, for messages."""
    out: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "-o":
            skip = True
        else:
            out.append(word)
    return " ".join(out)


def unknown_package(output: str) -> str | None:
    """The package apt could not find, from its ``Unable to locate package`` error."""
    m = re.search(r"^E: Unable to locate package (\S+)", output, re.M)
    return m[1] if m else None


def conflicts(output: str) -> list[tuple[str, str]]:
    """The pairs of packages apt cannot install together, from its ``unmet dependencies`` report
    (`` busybox : Conflicts: busybox-static but 1:1.35 is to be installed``, further relations of
    the same package on indented lines below), each pair once, in the order apt reports them."""
    out: list[tuple[str, str]] = []
    current = None
    for line in output.splitlines():
        head = re.match(r"^\s+(\S+) : (.*)$", line)
        rest = line
        if head:
            current, rest = head[1], head[2]
        m = re.match(r"^\s*(?:Conflicts|Breaks): (\S+)", rest)
        if current and m:
            pair = (current, m[1])
            if pair not in out and pair[::-1] not in out:
                out.append(pair)
    return out


def _run(argv: list[str], timeout: float, what: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LC_ALL="C", DEBIAN_FRONTEND="noninteractive")
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise SyncFailure(f"{what}: timed out after {timeout:.0f}s: {shown(argv)}") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise SyncFailure(f"{what} failed (exit {proc.returncode}): {shown(argv)}\n{tail}")
    return proc


def lists_age(layout: Layout) -> float | None:
    """Seconds since apt's lists were last updated for this mirror, None if never."""
    try:
        return time.time() - (layout.apt_state / UPDATE_STAMP).stat().st_mtime
    except OSError:
        return None


def update_lists(layout: Layout, timeout: float) -> None:
    _run(["apt-get", *apt_options(layout), "update"], timeout, "apt-get update")
    (layout.apt_state / UPDATE_STAMP).touch()


def _debs(folder: Path) -> list[tuple[str, int, int]]:
    out = []
    for entry in os.scandir(folder):
        if entry.name.endswith(".deb") and entry.is_file():
            st = entry.stat()
            out.append((entry.name, st.st_size, int(st.st_mtime)))
    return out


def indexer() -> list[str]:
    """The command that writes a Packages index of the current folder to stdout."""
    if shutil.which("apt-ftparchive"):
        return ["apt-ftparchive", "packages", "."]
    if shutil.which("dpkg-scanpackages"):
        return ["dpkg-scanpackages", "--multiversion", ".", "/dev/null"]
    raise SyncFailure(
        "no apt indexer on the host: install apt-utils (apt-ftparchive) or dpkg-dev "
        "(dpkg-scanpackages)"
    )


def build_index(layout: Layout, timeout: float = 600.0, force: bool = False) -> bool:
    """Write ``apt/Packages`` and ``apt/Packages.gz`` unless the .deb set is unchanged.

    Returns True when the index was (re)written."""
    folder = layout.apt
    key = index_key(_debs(folder))
    stamp = folder / INDEX_STAMP
    packages = folder / "Packages"
    if not force and packages.is_file() and stamp.is_file() and stamp.read_text() == key:
        return False
    argv = indexer()
    env = dict(os.environ, LC_ALL="C")
    try:
        proc = subprocess.run(
            argv, cwd=folder, capture_output=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise SyncFailure(f"indexing {folder}: timed out after {timeout:.0f}s") from None
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise SyncFailure(f"indexing {folder} failed: {' '.join(argv)}: {err}")
    tmp = folder / "Packages.tmp"
    tmp.write_bytes(proc.stdout)
    with gzip.open(folder / "Packages.gz.tmp", "wb", compresslevel=6) as gz:
        gz.write(proc.stdout)
    os.replace(folder / "Packages.gz.tmp", folder / "Packages.gz")
    os.replace(tmp, packages)
    stamp.write_text(key)
    return True


def _complete(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


def _closure(
    layout: Layout, packages: list[str], recommends: bool, timeout: float, report: AptReport
) -> list[Fetch]:
    """Every file of the closure with its size: apt's ``--print-uris`` against an empty archive
    folder lists them all. Lists are updated once if apt cannot resolve the packages."""
    opts = apt_options(layout, recommends)
    opts += ["-o", f"Dir::Cache::archives={layout.apt_state / 'no-archives'}/"]
    argv = ["apt-get", *opts, "install", "--print-uris", *packages]
    try:
        proc = _run(argv, timeout, "apt-get --print-uris")
    except SyncFailure as exc:
        if report.lists_updated:
            _raise_unknown(exc)
            raise
        update_lists(layout, timeout)
        report.lists_updated = True
        try:
            proc = _run(argv, timeout, "apt-get --print-uris")
        except SyncFailure as again:
            _raise_unknown(again)
            raise
    return parse_print_uris(proc.stdout)


def _raise_unknown(exc: SyncFailure) -> None:
    name = unknown_package(str(exc))
    if name:
        raise InvalidInput(
            "--package", name, "a package of the host's apt sources (see apt-cache policy NAME)"
        ) from exc
    pairs = conflicts(str(exc))
    if pairs:
        named = sorted({name for pair in pairs for name in pair})
        said = "; ".join(f"{a} conflicts with {b}" for a, b in pairs)
        raise InvalidInput(
            "--package", ", ".join(named),
            f"packages apt can install together ({said}): keep one of each pair",
        ) from exc


def sync_apt(
    packages: list[str],
    root: Path,
    recommends: bool = False,
    refresh: bool = False,
    lists_max_age: float = 6 * 3600,
    timeout: float = 1800.0,
    lock_timeout: float = 600.0,
) -> AptReport:
    """Download the closure of ``packages`` into ``<root>/apt`` and index it.

    apt's lists are updated when ``refresh`` is set, when they are older than ``lists_max_age``
    seconds, or when a package is not found in them. Files already present are not fetched.
    """
    packages = validate_packages(packages)
    layout = Layout(Path(root))
    started = time.monotonic()
    report = AptReport(packages=packages)
    with locked(layout.state / "apt.lock", lock_timeout, "apt sync of " + str(layout.root)):
        prepare(layout)
        age = lists_age(layout)
        if refresh or age is None or age > lists_max_age:
            update_lists(layout, timeout)
            report.lists_updated = True
        closure = _closure(layout, packages, recommends, timeout, report)
        missing = [f for f in closure if not _complete(layout.apt / f.filename, f.size)]
        if missing:
            opts = apt_options(layout, recommends)
            _run(["apt-get", *opts, "install", "--download-only", *packages], timeout, "apt-get")
        fetched = {f.filename for f in missing}
        report.closure = len(closure)
        report.files = sorted(f.filename for f in closure)
        for item in closure:
            if item.filename in fetched:
                report.downloaded += 1
                report.downloaded_bytes += item.size
            else:
                report.present += 1
                report.present_bytes += item.size
        absent = [f.filename for f in closure if not _complete(layout.apt / f.filename, f.size)]
        if absent:
            raise SyncFailure(
                f"apt-get reported success but {len(absent)} file(s) are missing from "
                f"{layout.apt}: {', '.join(absent[:5])}"
            )
        report.indexed = build_index(layout, timeout)
    report.seconds = round(time.monotonic() - started, 3)
    return report
