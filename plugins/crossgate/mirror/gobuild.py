"""Programs built from Go modules into the mirror (``go/``), for layers whose components have
no package here (Kubernetes, cloud-provider-openstack, CSI sidecars, etcd).

A *program set* is pinned in a YAML file: a mapping of set names to groups; a group is one Go
module at one version and the programs (main packages) built from it::

    kubernetes-1.34:
      kubernetes:
        module: k8s.io/kubernetes
        version: v1.34.4
        local-replaces: v0.34.4        # its staging modules are released as v0.X.Y
        version-ldflags: true          # stamp the components' version (as its own build does)
        version-variables: []          # other string variables set to the version (-X)
        programs:
          kube-apiserver: cmd/kube-apiserver
      etcd:
        module: go.etcd.io/etcd/server/v3
        version: v3.6.6
        programs:
          etcd: .
        files:                         # files a program set serves beside its programs
          volumesnapshots.yaml: example.com/module/v8/config/crd/volumesnapshots.yaml

Each group is built in a module of its own made for it: it requires the group's module at its
pinned version and nothing else, so Go's version selection gives the dependency versions that
module was released with, and it repeats the module's ``replace`` directives, which apply only
inside that module's own tree: a replacement by another module is copied; a replacement by a
local folder (a module kept in the same repository, such as Kubernetes' staging modules)
becomes that module at ``local-replaces`` (default: the group's version). Programs are built
with ``-trimpath`` into ``go/<set>-<key>/bin`` with a ``manifest.json`` (sha256 and size of
each); a group's ``files`` are copied from its module or from a module of its build (the longest
module path the reference starts with, at the version the group's build selected) into
``go/<set>-<key>/files`` and listed in the manifest the same way. The key is a digest of the
Go version and the generated modules, so a set is built once per version set, and a changed
pin builds a new one. Go's module and build caches stay under
the mirror's ``.state/go`` (cached like images). ``go/<set>.json`` names the current build.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crossgate.locks import LockTimeout, acquire

from .model import InvalidInput, SyncFailure

GROUP_KEYS = {"module", "version", "programs", "local-replaces", "version-ldflags", "follow",
              "version-variables", "path", "files"}
VARIABLE = re.compile(r"^[A-Za-z0-9._/-]+\.[A-Za-z_][A-Za-z0-9_]*$")
VERSION = re.compile(r"^v\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MODULE = re.compile(r"^[a-z0-9.-]+\.[a-z]+(/[A-Za-z0-9._~-]+)*$")
PACKAGE = re.compile(r"^(\.|[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)$")
FILE_REF = re.compile(r"^[a-z0-9.-]+\.[a-z]+(/[A-Za-z0-9._~-]+)+$")


@dataclass(frozen=True)
class Group:
    name: str
    module: str
    version: str
    programs: dict[str, str]
    local_replaces: str
    version_ldflags: bool = False
    follow: str = ""
    version_variables: tuple[str, ...] = ()
    # a module of a folder beside the pin file (a program of the library's own), not the proxy's
    path: str = ""
    # file name -> MODULE/PATH: files served beside the programs
    files: tuple[tuple[str, str], ...] = ()

    def package(self, program: str) -> str:
        rel = self.programs[program]
        return self.module if rel == "." else f"{self.module}/{rel}"


def binary_name(package: str) -> str:
    """The file name go build gives a main package (a major-version suffix is skipped)."""
    parts = package.split("/")
    if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
        return parts[-2]
    return parts[-1]


@dataclass
class GoReport:
    set: str
    key: str
    bin_dir: str
    programs: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    built: bool = False
    seconds: float = 0.0
    group_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_sets(path: Path) -> dict[str, list[Group]]:
    """Every program set of a pin file; InvalidInput naming the place of a bad entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput("go pins", str(path), f"a readable YAML file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise InvalidInput("go pins", str(path), f"valid YAML ({exc})") from exc
    if not isinstance(data, dict) or not data:
        raise InvalidInput(f"{path}", type(data).__name__, "a mapping of set names to groups")
    return {str(name): parse_set(f"{path}: {name}", name, groups, path.parent)
            for name, groups in data.items()}


def module_of(gomod: str) -> str:
    m = re.search(r"^module\s+(\S+)\s*$", gomod, re.M)
    return m.group(1) if m else ""


def source_digest(folder: Path) -> str:
    """A digest of every file of a local module's folder (its source is part of a set's key)."""
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(folder)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def parse_set(where: str, name: object, groups: object,
              base: Path | None = None) -> list[Group]:
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput(where, name, "a set name of lower-case letters, digits, '.', '_', '-'")
    if not isinstance(groups, dict) or not groups:
        raise InvalidInput(where, groups, "a mapping of group names to groups")
    out = []
    for gname, g in groups.items():
        at = f"{where}.{gname}"
        if not isinstance(gname, str) or not NAME.match(gname):
            raise InvalidInput(at, gname,
                               "a group name of lower-case letters, digits, '.', '_', '-'")
        if not isinstance(g, dict):
            raise InvalidInput(at, g, "a mapping with module, version and programs")
        unknown = sorted(set(g) - GROUP_KEYS)
        if unknown:
            raise InvalidInput(f"{at}.{unknown[0]}", g[unknown[0]],
                               "one of the keys " + ", ".join(sorted(GROUP_KEYS)))
        for key in ("module", "version", "programs"):
            if key not in g:
                raise InvalidInput(f"{at}.{key}", None, "a value (module, version and programs "
                                   "are required)")
        if not isinstance(g["module"], str) or not MODULE.match(g["module"]):
            raise InvalidInput(f"{at}.module", g["module"], "a Go module path such as "
                               "k8s.io/kubernetes")
        for key in ("version", "local-replaces"):
            if key in g and (not isinstance(g[key], str) or not VERSION.match(g[key])):
                raise InvalidInput(f"{at}.{key}", g[key], "a semantic version such as v1.34.4")
        programs = g["programs"]
        followed = any(isinstance(o, dict) and o.get("follow") == gname for o in groups.values())
        if not isinstance(programs, dict) or (not programs and not followed):
            raise InvalidInput(f"{at}.programs", programs,
                               "a mapping of program names to package folders ('.' for the "
                               "module's root); empty only in a group another group follows")
        for prog, rel in programs.items():
            if not isinstance(prog, str) or not NAME.match(prog):
                raise InvalidInput(f"{at}.programs", prog, "a program name of lower-case "
                                   "letters, digits, '.', '_', '-'")
            if not isinstance(rel, str) or not PACKAGE.match(rel) or ".." in rel.split("/"):
                raise InvalidInput(f"{at}.programs.{prog}", rel, "a package folder inside the "
                                   "module, such as cmd/kubelet, or '.'")
        if not isinstance(g.get("version-ldflags", False), bool):
            raise InvalidInput(f"{at}.version-ldflags", g["version-ldflags"], "true or false")
        variables = g.get("version-variables", [])
        if not isinstance(variables, list) or not all(
                isinstance(v, str) and VARIABLE.match(v) for v in variables):
            raise InvalidInput(f"{at}.version-variables", variables,
                               "a list of Go string variables such as main.version or "
                               "k8s.io/cloud-provider-openstack/pkg/version.Version")
        if "follow" in g and (g["follow"] not in groups or g["follow"] == gname):
            raise InvalidInput(f"{at}.follow", g["follow"], "another group of the set: "
                               + ", ".join(str(n) for n in groups if n != gname))
        files = g.get("files", {})
        if not isinstance(files, dict):
            raise InvalidInput(f"{at}.files", files, "a mapping of file names to files of a "
                               "module, such as crds.yaml: example.com/m/v8/config/crds.yaml")
        if files and not programs:
            raise InvalidInput(f"{at}.files", sorted(files)[0], "files only in a group that "
                               "builds programs (its build selects the modules they come from)")
        for fname, ref in files.items():
            if not isinstance(fname, str) or not NAME.match(fname):
                raise InvalidInput(f"{at}.files", fname, "a file name of lower-case letters, "
                                   "digits, '.', '_', '-'")
            if not isinstance(ref, str) or not FILE_REF.match(ref) or ".." in ref.split("/"):
                raise InvalidInput(f"{at}.files.{fname}", ref, "a module path followed by a "
                                   "file's path inside that module, such as "
                                   "example.com/m/v8/config/crds.yaml")
        folder = ""
        if "path" in g:
            rel = g["path"]
            if not isinstance(rel, str) or not PACKAGE.match(rel) or rel == "." \
                    or ".." in rel.split("/") or base is None:
                raise InvalidInput(f"{at}.path", rel, "a folder beside the pin file, holding a "
                                   "Go module (its go.mod)")
            gomod = base / rel / "go.mod"
            try:
                declared = module_of(gomod.read_text(encoding="utf-8"))
            except OSError:
                raise InvalidInput(f"{at}.path", rel, f"a folder with a go.mod ({gomod} cannot "
                                   "be read)") from None
            if declared != g["module"]:
                raise InvalidInput(f"{at}.module", g["module"], f"the module {gomod} declares "
                                   f"({declared or 'none'})")
            folder = str((base / rel).resolve())
        out.append(Group(gname, g["module"], g["version"], dict(programs),
                         g.get("local-replaces", g["version"]), g.get("version-ldflags", False),
                         g.get("follow", ""), tuple(variables), folder,
                         tuple(sorted(files.items()))))
    by_name = {g.name: g for g in out}
    for g in out:
        if g.follow and by_name[g.follow].follow:
            raise InvalidInput(f"{where}.{g.name}.follow", g.follow,
                               "a group that follows no other group")
    for kind, names in (("programs", [p for g in out for p in g.programs]),
                        ("files", [f for g in out for f, _ in g.files])):
        dup = sorted({p for p in names if names.count(p) > 1})
        if dup:
            raise InvalidInput(f"{where}.{kind}", dup[0], f"{kind[:-1]} names unique within "
                               "a set")
    return out


def replaces(gomod: str) -> list[tuple[str, str, str]]:
    """The replace directives of a go.mod: (old, new, new version or '' for a folder)."""
    out = []
    block = False
    for raw in gomod.splitlines():
        line = raw.split("//", 1)[0].strip()
        if block:
            if line == ")":
                block = False
                continue
            body = line
        elif line.startswith("replace"):
            body = line[len("replace"):].strip()
            if body == "(":
                block = True
                continue
        else:
            continue
        if "=>" not in body:
            continue
        left, right = (s.split() for s in body.split("=>", 1))
        if not left or not right:
            continue
        out.append((left[0], right[0], right[1] if len(right) > 1 else ""))
    return out


def go_directive(gomod: str) -> str:
    m = re.search(r"^go\s+(\d+\.\d+(\.\d+)?)\s*$", gomod, re.M)
    return m.group(1) if m else "1.22"


def module_file(group: Group, upstream: str, followed: str = "",
                leader: Group | None = None) -> str:
    """The go.mod of the module made to build GROUP, given the go.mod of its module. With
    FOLLOWED (the go.mod made for the group it follows), every module that one replaces is
    replaced the same way here too: e.g. a CSI sidecar built against the Kubernetes staging
    modules of the set's Kubernetes release (same minor), whose packages are then compiled once
    for the whole set; the followed group's module itself (LEADER) is taken at its version."""
    lines = [f"module crossgate.invalid/build/{group.name}", "",
             f"go {go_directive(upstream)}", "", f"require {group.module} {group.version}", ""]
    reps = []
    for old, new, ver in replaces(upstream):
        if ver:
            reps.append(f"\t{old} => {new} {ver}")
        elif new.startswith(("./", "../")) and "FORBIDDEN" not in new and old != group.module:
            reps.append(f"\t{old} => {old} {group.local_replaces}")
        # anything else (a folder that is not a module of the same repository) is left out
    if group.path:
        reps.append(f"\t{group.module} => {group.path}")
    if followed:
        theirs = {old: f"\t{old} => {new} {ver}" for old, new, ver in replaces(followed)
                  if ver and old != group.module}
        if leader is not None:
            theirs[leader.module] = f"\t{leader.module} => {leader.module} {leader.version}"
        reps = [r for r in reps if r.split()[0] not in theirs] + list(theirs.values())
    if reps:
        lines += ["replace (", *sorted(set(reps)), ")", ""]
    lines += ["tool (", *(f"\t{group.package(p)}" for p in group.programs), ")", ""]
    return "\n".join(lines)


def ldflags(group: Group) -> str:
    flags = ["-s", "-w"]
    if group.version_ldflags:
        m = re.match(r"v(\d+)\.(\d+)", group.version)
        major, minor = m.groups() if m else ("", "")
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
            flags += [f"-X {pkg}.gitVersion={group.version}", f"-X {pkg}.gitMajor={major}",
                      f"-X {pkg}.gitMinor={minor}", f"-X {pkg}.gitTreeState=clean"]
    flags += [f"-X {v}={group.version}" for v in group.version_variables]
    return " ".join(flags)


class GoBuilder:
    """Builds program sets into ROOT/go with the go command GO."""

    def __init__(self, root: Path, go: str = "go", timeout: float = 3600.0,
                 progress: Callable[[str], None] | None = None,
                 lock_timeout: float | None = None,
                 cancel: threading.Event | None = None) -> None:
        self.root = root
        self.cancel = cancel or threading.Event()
        self.go = go
        self.timeout = timeout
        self.lock_timeout = timeout if lock_timeout is None else lock_timeout
        self.progress = progress or (lambda _line: None)
        self.state = root / ".state" / "go"
        self.env = dict(os.environ, GOMODCACHE=str(self.state / "mod"),
                        GOCACHE=str(self.state / "build"), GOFLAGS="-modcacherw",
                        GOTOOLCHAIN="local", CGO_ENABLED="0")

    def run(self, args: list[str], cwd: Path, what: str) -> str:
        """go ARGS in CWD, in a process group of its own: stopped (the group) on timeout or
        when the build is cancelled."""
        if self.cancel.is_set():
            raise SyncFailure(f"{what}: cancelled")
        try:
            proc = subprocess.Popen([self.go, *args], cwd=cwd, env=self.env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except FileNotFoundError as exc:
            raise SyncFailure(f"{what}: the go command {self.go!r} is not installed") from exc
        deadline = time.monotonic() + self.timeout
        out = err = ""
        try:
            while True:
                try:
                    out, err = proc.communicate(timeout=1.0)
                    break
                except subprocess.TimeoutExpired:
                    if self.cancel.is_set():
                        raise SyncFailure(f"{what}: cancelled") from None
                    if time.monotonic() >= deadline:
                        raise SyncFailure(f"{what}: 'go {' '.join(args)}' took longer than "
                                          f"{self.timeout:.0f} s (timeout)") from None
        except BaseException:
            _stop_group(proc)
            raise
        if proc.returncode != 0:
            tail = "\n".join((err or out).strip().splitlines()[-15:])
            raise SyncFailure(f"{what}: 'go {' '.join(args)}' failed (rc {proc.returncode}) "
                              f"in {cwd}:\n{tail}")
        return out

    def go_version(self) -> str:
        return self.run(["env", "GOVERSION"], self.root, "go version").strip()

    def upstream_gomod(self, group: Group) -> str:
        if group.path:
            return (Path(group.path) / "go.mod").read_text(encoding="utf-8")
        out = self.run(["mod", "download", "-json", f"{group.module}@{group.version}"],
                       self.root, f"group {group.name}: download {group.module}@{group.version}")
        return Path(json.loads(out)["GoMod"]).read_text(encoding="utf-8")

    def build(self, set_name: str, groups: list[Group]) -> GoReport:
        """Build SET_NAME once; one build at a time per mirror (another process's build of the
        same set is waited for, at most lock_timeout seconds, then found built)."""
        started = time.monotonic()
        lock = self.state / "build.lock"
        try:
            fd = acquire(lock, 0)
        except LockTimeout:
            # another process is building: a set already built for these pins needs no lock
            # (reading the key and pointing the index are safe beside a build)
            try:
                found = self._found(set_name, groups, started)
            except SyncFailure:
                found = None  # the build under the lock says what is wrong
            if found is not None:
                return found
            self.progress(f"go: {set_name}: waiting for another Go build of this mirror "
                          f"(lock {lock}, at most {self.lock_timeout:.0f} s)")
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fd = acquire(lock, max(0.0, min(2.0, deadline - time.monotonic())))
                    break
                except LockTimeout:
                    if self.cancel.is_set():
                        raise SyncFailure(f"go: {set_name}: cancelled while waiting for "
                                          f"another Go build of this mirror (lock {lock})"
                                          ) from None
                    if time.monotonic() >= deadline:
                        raise SyncFailure(f"go: {set_name}: timed out after "
                                          f"{self.lock_timeout:.0f} s waiting for another Go "
                                          f"build of this mirror (lock {lock})") from None
        try:
            return self._build(set_name, groups, started)
        finally:
            os.close(fd)

    def _key(self, set_name: str, groups: list[Group]) -> tuple[str, dict[str, str], Path, str]:
        """The set's key for these pins and this Go, the module files, the build folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        gover = self.go_version()
        files: dict[str, str] = {}
        for g in sorted(groups, key=lambda g: bool(g.follow)):
            leader = next((x for x in groups if x.name == g.follow), None)
            files[g.name] = module_file(g, self.upstream_gomod(g), files.get(g.follow, ""),
                                        leader)
        digest = hashlib.sha256(json.dumps(
            # a local module's folder counts by its content, not by where the checkout is
            [gover, {g.name: [files[g.name].replace(g.path, "<folder>") if g.path
                              else files[g.name], ldflags(g), g.programs]
                     + ([source_digest(Path(g.path))] if g.path else [])
                     + ([dict(g.files)] if g.files else []) for g in groups}],
            sort_keys=True).encode()).hexdigest()[:12]
        return digest, files, self.root / "go" / f"{set_name}-{digest}", gover

    def _found(self, set_name: str, groups: list[Group], started: float) -> GoReport | None:
        """The report of a build of these pins made before (its index pointed at it), or None."""
        digest, _, out, _ = self._key(set_name, groups)
        return self._found_at(set_name, digest, out, started)

    def _found_at(self, set_name: str, digest: str, out: Path,
                  started: float) -> GoReport | None:
        manifest = out / "manifest.json"
        if not manifest.is_file():
            return None
        report = GoReport(set_name, digest, str(out / "bin"))
        data = json.loads(manifest.read_text())
        report.programs = data["programs"]
        report.files = data.get("files", {})
        report.seconds = time.monotonic() - started
        self.progress(f"go: {set_name}: {len(report.programs)} programs built before "
                      f"({out.name})")
        self.point(set_name, out)
        return report

    def _build(self, set_name: str, groups: list[Group], started: float) -> GoReport:
        digest, files, out, gover = self._key(set_name, groups)
        found = self._found_at(set_name, digest, out, started)
        if found is not None:
            return found
        report = GoReport(set_name, digest, str(out / "bin"))
        manifest = out / "manifest.json"
        work = self.state / "work" / f"{set_name}-{digest}"
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        (out / "bin").mkdir(parents=True)
        for g in groups:
            if not g.programs:  # only followed: its modules, no programs of its own
                continue
            t0 = time.monotonic()
            d = work / g.name
            d.mkdir(parents=True)
            (d / "go.mod").write_text(files[g.name], encoding="utf-8")
            self.progress(f"go: {set_name}: {g.name}: {g.module}@{g.version}: resolving")
            self.run(["mod", "tidy"], d, f"group {g.name}: go mod tidy")
            self.progress(f"go: {set_name}: {g.name}: building "
                          + ", ".join(g.programs) + " (minutes when not cached)")
            self.run(["build", "-trimpath", "-ldflags", ldflags(g), "-o", str(d / "bin") + "/",
                      "tool"], d, f"group {g.name}: go build")
            for prog in g.programs:
                built = d / "bin" / binary_name(g.package(prog))
                if not built.is_file():
                    raise SyncFailure(f"group {g.name}: go build made no {built.name} for "
                                      f"{prog} ({g.package(prog)})")
                target = out / "bin" / prog
                shutil.move(str(built), target)
                data = target.read_bytes()
                report.programs[prog] = {"sha256": hashlib.sha256(data).hexdigest(),
                                         "size": len(data), "module": g.module,
                                         "version": g.version, "package": g.package(prog)}
            if g.files:
                report.files.update(self._copy_files(g, d, out / "files"))
            report.group_seconds[g.name] = round(time.monotonic() - t0, 1)
            self.progress(f"go: {set_name}: {g.name}: done in {report.group_seconds[g.name]} s")
        manifest.write_text(json.dumps({"set": set_name, "key": digest, "go": gover,
                                        "programs": report.programs,
                                        "files": report.files, "modules": files},
                                       indent=1, sort_keys=True))
        shutil.rmtree(work, ignore_errors=True)
        self.point(set_name, out)
        report.built = True
        report.seconds = round(time.monotonic() - started, 1)
        return report

    def _copy_files(self, g: Group, d: Path, dest: Path) -> dict[str, dict[str, Any]]:
        """Copy G's files from the modules of its build (made in D) into DEST."""
        listing = self.run(["list", "-m", "-json", "all"], d, f"group {g.name}: go list -m")
        selected = {m["Path"]: m.get("Version", "") for m in _json_stream(listing)}
        dest.mkdir(parents=True, exist_ok=True)
        out: dict[str, dict[str, Any]] = {}
        for fname, ref in g.files:
            module = max((m for m in selected if ref.startswith(m + "/")), key=len, default="")
            if not module:
                raise SyncFailure(f"group {g.name}: file {fname}: {ref} is in no module of the "
                                  "group's build (modules: " + ", ".join(sorted(selected)[:8])
                                  + (", ..." if len(selected) > 8 else "") + ")")
            version = selected[module]
            info = json.loads(self.run(["mod", "download", "-json", f"{module}@{version}"], d,
                                       f"group {g.name}: download {module}@{version}"))
            rel = ref[len(module) + 1:]
            src = Path(info["Dir"]) / rel
            if not src.is_file():
                raise SyncFailure(f"group {g.name}: file {fname}: {module}@{version} has no "
                                  f"file {rel}")
            data = src.read_bytes()
            (dest / fname).write_bytes(data)
            out[fname] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                          "module": module, "version": version, "path": rel}
        return out

    def point(self, set_name: str, out: Path) -> None:
        """go/<set>.json names the set's current build (what nodes fetch)."""
        index = self.root / "go" / f"{set_name}.json"
        tmp = index.with_suffix(".json.new")
        tmp.write_text(json.dumps({"set": set_name, "path": f"{out.name}/bin"}, indent=1))
        tmp.replace(index)


def _stop_group(proc: subprocess.Popen[str], grace: float = 10.0) -> None:
    """SIGTERM to the process group of PROC, SIGKILL after GRACE seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def _json_stream(text: str) -> list[dict[str, Any]]:
    """The objects of a stream of JSON values (go list -json prints one after another)."""
    decoder = json.JSONDecoder()
    out, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        obj, pos = decoder.raw_decode(text, pos)
        out.append(obj)


def sync_go(pins: Path, set_name: str, root: Path, go: str = "go", timeout: float = 3600.0,
            progress: Callable[[str], None] | None = None,
            lock_timeout: float | None = None,
            cancel: threading.Event | None = None) -> GoReport:
    """Build (or find built) the programs of SET_NAME in the pin file PINS into ROOT/go; a set
    CANCEL event stops the build (its go processes) with SyncFailure."""
    sets = load_sets(pins)
    if set_name not in sets:
        raise InvalidInput("go set", set_name, "one of " + ", ".join(sorted(sets))
                           + f" (the sets of {pins})")
    return GoBuilder(root, go, timeout, progress, lock_timeout, cancel).build(set_name,
                                                                           sets[set_name])
