"""Run a frozen job: nodes, inventory, playbooks in Zuul's order, result.

Follows zuul.executor.server.AnsibleJob.runPlaybooks:

- pre-run playbooks in order; the job timeout (or pre-timeout) counts from the
  start of pre-run. A failing or unreachable pre-run makes the build retry on
  fresh nodes, up to `attempts` (then RETRY_LIMIT), unless zuul_return said
  `retry: false` (then FAILURE).
- run playbooks until one fails (FAILURE); the rest of the job timeout applies
  (TIMED_OUT when it runs out).
- post-run playbooks always run (also after a timeout), each with the full
  post-timeout, with zuul_success telling them how the job went; a failing one
  makes the result POST_FAILURE unless the run phase timed out or pre-run failed,
  and an unreachable one makes the build retry. Post playbooks of a job deeper in
  the chain than the last pre-run that started are skipped.
- cleanup playbooks last, whatever happened before.

Nodes come only through the Provider interface (crossgate.nodes.provider), and
ansible-playbook only through a launcher: both are given to the Executor, so its
decisions can be tested with a fake provider and a fake launcher.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from crossgate.config.freeze import FrozenJob, Playbook
from crossgate.nodes.model import InvalidInput, NodeFailure, NodeSpec
from crossgate.nodes.provider import Provider

from ..resources import plugin_dir
from . import interrupt
from . import inventory as inv
from .projects import Project, find_project

KEEPALIVE_S = 15
RC_UNREACHABLE = 3  # documented; ansible also exits 4, so the callback's file decides

# Runs one ansible-playbook: (argv, environment, working directory, deadline as a
# time.time() value or None) -> (return code, whether it was stopped at the deadline).
Launcher = Callable[[list[str], dict[str, str], Path, float | None], tuple[int, bool]]


@dataclass
class PlaybookRun:
    phase: str
    path: str
    project: str
    rc: int | None
    status: str           # ok, failed, timed_out, unreachable, skipped
    start: float
    end: float
    attempt: int

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class BuildResult:
    result: str
    job: str
    build_dir: Path
    attempts: int
    playbooks: list[PlaybookRun] = field(default_factory=list)
    return_data: dict[str, Any] = field(default_factory=dict)
    error_detail: str | None = None
    start: float = 0.0
    end: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result, "job": self.job, "build_dir": str(self.build_dir),
            "attempts": self.attempts, "error_detail": self.error_detail,
            "start": self.start, "end": self.end, "duration": round(self.end - self.start, 3),
            "playbooks": [p.to_dict() for p in self.playbooks],
            "artifacts": self.return_data.get("zuul", {}).get("artifacts", []),
            "warnings": self.return_data.get("zuul", {}).get("warnings", []),
            "data": self.return_data,
        }


class Console:
    """Progress to the terminal and the build's console log, with timestamps."""

    def __init__(self, path: Path, quiet: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._stream: IO[str] | None = None if quiet else sys.stdout

    def line(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        for ln in text.rstrip("\n").split("\n"):
            out = f"{stamp} | {ln}\n"
            self._file.write(out)
            if self._stream is not None:
                self._stream.write(out)
        self._file.flush()
        if self._stream is not None:
            self._stream.flush()

    def close(self) -> None:
        self._file.close()


@dataclass
class RunOptions:
    extra_vars: dict[str, Any] = field(default_factory=dict)
    pipeline: str = "local"
    tenant: str = "local"
    verbose: bool = False
    quiet: bool = False
    mirror_dir: Path | None = None    # None: no host mirror
    mirror_port: int = 8780
    unreachable_after: float = 60.0   # SSH keepalives: a node silent this long is unreachable


def archive_project(project: Project, dest: Path) -> None:
    """A tar of the project's tree as it is (tracked and untracked, not ignored
    files, plus .git), for the nodes' ~/src."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    files: list[str] | None = None
    listing = project.git("ls-files", "-co", "--exclude-standard")
    if listing:
        files = [f for f in listing.splitlines() if (project.root / f).exists()]
    with tarfile.open(dest, "w") as tar:
        if files is None:
            skip = {".tox", ".venv", "build", "__pycache__", "node_modules"}
            for child in sorted(project.root.iterdir()):
                if child.name not in skip:
                    tar.add(child, arcname=child.name)
        else:
            for f in files:
                tar.add(project.root / f, arcname=f, recursive=False)
            if (project.root / ".git").exists():
                tar.add(project.root / ".git", arcname=".git")


class Executor:
    def __init__(self, job: FrozenJob, nodeset: inv.Nodeset, projects: list[Project],
                 project: Project, provider_factory: Callable[[int], Provider], build_dir: Path,
                 options: RunOptions | None = None, launcher: Launcher | None = None) -> None:
        self.job = job
        self.nodeset = nodeset
        self.projects = projects
        self.project = project
        self.provider_factory = provider_factory
        self.launcher: Launcher = launcher or self._launch
        self.build_dir = build_dir
        self.options = options or RunOptions()
        self.build_uuid = uuid.uuid4().hex
        # The checkout does not move during a build: ask git once.
        self.branch = project.branch()
        self.commit = project.commit()
        self.oldrev = project.parent_commit()
        self.work = build_dir / "work"
        self.log_root = self.work / "logs"
        self.ansible_dir = build_dir / "ansible"
        # SSH control sockets need a short path (108 bytes for a Unix socket).
        self.control_dir = Path("/tmp") / f"cg-cp-{self.build_uuid[:10]}"
        self.nodes: dict[str, Any] = {}
        self.unreachable: set[str] = set()
        self.site_vars: dict[str, Any] = {}
        self.go_thread: threading.Thread | None = None
        self.go_cancel = threading.Event()
        self.mirror_server: Any = None
        self.mirror_lost = False
        self.console = Console(build_dir / "job-output.txt", quiet=self.options.quiet)

    # --- variables -----------------------------------------------------------

    def required(self) -> list[Project]:
        out = [self.project]
        for name in self.job.required_projects:
            found = find_project(self.projects, name)
            if found is None:
                raise RunError(
                    f"job {self.job.name!r} requires project {name!r}; supply its checkout "
                    f"with --project {name}=PATH")
            if found not in out:
                out.append(found)
        return out

    def ref_item(self, with_src_dir: bool) -> dict[str, Any]:
        """The item under test as Zuul's Ref.toDict gives it (zuul.items) and, with
        the project's src_dir beside it, as in zuul.build_refs."""
        item: dict[str, Any] = {"project": self.project.zuul_dict(), "branch": self.branch,
                                "change_url": ""}
        if self.oldrev:
            item["oldrev"] = self.oldrev
        if self.commit:
            item["newrev"] = self.commit
            item["commit_id"] = self.commit
        if with_src_dir:
            item["src_dir"] = self.project.src_dir
        return item

    def zuul_vars(self, attempt: int, playbook_context: dict[str, Any]) -> dict[str, Any]:
        branch = self.branch
        projects = {}
        required_names = {find_project(self.projects, n).canonical_name  # type: ignore[union-attr]
                          for n in self.job.required_projects}
        for p in self.required():
            d = p.zuul_dict()
            checkout = p.branch()
            # Zuul's words for where a checkout comes from: the item's branch, or
            # the project's own (default) branch when it has no such branch.
            d.update(required=p.canonical_name in required_names, checkout=checkout,
                     checkout_description="zuul branch" if checkout == branch
                     else "project default branch", commit=p.commit())
            projects[p.canonical_name] = d
        ref_item = self.ref_item(with_src_dir=True)
        return {
            "ansible_version": self.job.ansible_version or "11",
            "attempts": attempt, "max_attempts": self.job.attempts,
            "branch": branch, "build": self.build_uuid, "buildset": uuid.uuid4().hex,
            "build_refs": [ref_item], "buildset_refs": [dict(ref_item)],
            "change_url": "", "child_jobs": [], "commit_id": self.commit,
            "deduplicate": self.job.deduplicate,
            "event_id": None, "executor": {
                "hostname": os.uname().nodename, "src_root": str(self.work / "src"),
                "log_root": str(self.log_root), "work_root": str(self.work),
                "result_data_file": str(self.work / "results.json"),
                "inventory_file": str(self.ansible_dir / "inventory.yaml")},
            "image_build_name": None,
            "include_vars": [], "items": [self.ref_item(with_src_dir=False)],
            "job": self.job.name, "jobtags": [], "newrev": self.commit, "oldrev": self.oldrev,
            "pipeline": self.options.pipeline, "playbook_context": playbook_context,
            "post_review": False, "post_timeout": self.job.post_timeout,
            "pre_timeout": self.job.pre_timeout,
            "project": self.project.zuul_dict(), "projects": projects,
            "ref": f"refs/heads/{branch}", "resources": {}, "tenant": self.options.tenant,
            "timeout": self.job.timeout, "voting": self.job.voting,
            "workspace_checkout": self.job.workspace_checkout,
        }

    def write_inventory(self, nodes: dict[str, Any], unreachable: list[str]) -> None:
        names = self.nodeset.node_names
        host_vars_in = {n: dict(self.job.host_vars.get(n, {})) for n in names}
        base: dict[str, dict[str, Any]] = {}
        for host in self.nodeset.hosts:
            for name in host.names:
                node = nodes[name]
                base[name] = {
                    "ansible_host": node.address, "ansible_user": node.user,
                    "ansible_port": getattr(node, "port", 22),
                    "ansible_ssh_private_key_file": node.key_path,
                    "ansible_python_interpreter": "auto",
                    "nodepool": inv.nodepool_vars(host.label, node.address,
                                                  getattr(node, "provider", "local"),
                                                  f"{getattr(node, 'provider', 'local')}-{name}"),
                }
                base[name]["zuul_node"] = dict(base[name]["nodepool"], uuid=None, reuse=False)
                host_vars_in[name].update(base[name])
        squashed = inv.squash_variables([*names, "localhost"], self.nodeset.groups,
                                        host_vars_in, self.job.vars, self.job.group_vars,
                                        self.job.extra_vars)
        # Zuul gives every host (and localhost, whose vars are the inventory's "all")
        # `unsafe_vars`: its squashed variables again, every string marked !unsafe.
        for hvars in squashed.values():
            hvars["unsafe_vars"] = inv.mark_unsafe(dict(hvars))
        all_vars = squashed.pop("localhost")
        data = inv.make_inventory(squashed, self.nodeset.groups, all_vars, unreachable)
        self.ansible_dir.mkdir(parents=True, exist_ok=True)
        (self.ansible_dir / "inventory.yaml").write_text(inv.dump_inventory(data))

    def canonical_name(self, name: str) -> str:
        """A repository's canonical name (host/name), as Zuul names playbooks."""
        project = find_project(self.projects, name)
        return project.canonical_name if project is not None else name

    def role_paths(self, pb: Playbook) -> list[str]:
        paths: list[str] = []
        for source in pb.roles:
            project = find_project(self.projects, source.project)
            if project is None and source.project == pb.repo.name:
                project = Project(pb.repo.name, pb.repo.root)
            if project is None:
                if source.implicit:
                    continue
                raise RunError(
                    f"playbook {pb.path} of job {self.job.name!r} takes roles from "
                    f"{source.project!r}; supply its checkout with --project "
                    f"{source.project}=PATH")
            if (project.root / "roles").is_dir():
                paths.append(str(project.root / "roles"))
            elif (project.root / "tasks").is_dir():
                link_dir = self.ansible_dir / "role-links" / project.short_name
                link_dir.mkdir(parents=True, exist_ok=True)
                link = link_dir / project.short_name
                if not link.exists():
                    link.symlink_to(project.root.resolve())
                paths.append(str(link_dir))
        return paths

    def write_config(self, pb: Playbook, index: int) -> Path:
        cfg = self.ansible_dir / f"ansible-{pb.phase}-{index}.cfg"
        fact_cache = self.ansible_dir / "fact-cache"
        alive_count = max(1, math.ceil(self.options.unreachable_after / KEEPALIVE_S))
        lines = [
            "[defaults]",
            f"inventory = {self.ansible_dir / 'inventory.yaml'}",
            f"roles_path = {':'.join(self.role_paths(pb))}",
            f"action_plugins = {plugin_dir('action')}",
            f"callback_plugins = {plugin_dir('callback')}",
            "callbacks_enabled = zuul_unreachable",
            f"local_tmp = {self.ansible_dir / 'tmp'}",
            "retry_files_enabled = False",
            "host_key_checking = False",
            "gathering = smart",
            "fact_caching = jsonfile",
            f"fact_caching_connection = {fact_cache}",
            "interpreter_python = auto_silent",
            "timeout = 30",
            "forks = 10",
            "nocows = True",
            "",
            "[ssh_connection]",
            "pipelining = True",
            f"control_path_dir = {self.control_dir}",
            "control_path = %(directory)s/%%C",
            "ssh_args = -o ControlMaster=auto -o ControlPersist=60s "
            "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR "
            # a node that dies mid-task (no RST, no FIN) is noticed by keepalives, not by TCP's
            # retransmissions (about a quarter of an hour)
            f"-o ServerAliveInterval={KEEPALIVE_S} -o ServerAliveCountMax={alive_count}",
        ]
        cfg.write_text("\n".join(lines) + "\n")
        return cfg

    # --- playbooks -----------------------------------------------------------

    def _take_unreachable(self) -> set[str]:
        """Hosts Zuul's zuul_unreachable callback noted; later playbooks see them in
        the zuul_unreachable group, as in Zuul."""
        path = self.build_dir / ".ansible" / "nodes.unreachable"
        if not path.exists():
            return set()
        hosts = {h.strip() for h in path.read_text().splitlines() if h.strip()}
        path.unlink()
        self.unreachable |= hosts
        self.write_inventory(self.nodes, sorted(self.unreachable))
        return hosts

    def run_playbook(self, pb: Playbook, index: int, timeout: float | None,
                     attempt: int, success: bool | None = None,
                     will_retry: bool | None = None) -> PlaybookRun:
        cfg = self.write_config(pb, index)
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-v" if not
               self.options.verbose else "-vvv", str(pb.file),
               # Zuul runs cleanup playbooks among the post playbooks, as phase post.
               "-e", f"zuul_execution_phase={'post' if pb.phase == 'cleanup' else pb.phase}",
               "-e", f"zuul_execution_phase_index={index}",
               "-e", f"zuul_execution_trusted={pb.builtin}",
               "-e", "zuul_execution_canonical_name_and_path="
                     f"{self.canonical_name(pb.repo.name)}/{pb.path}",
               "-e", f"zuul_execution_branch={self.branch}"]
        if success is not None:
            cmd += ["-e", f"zuul_success={success}"]
        if will_retry is not None:
            cmd += ["-e", f"zuul_will_retry={will_retry}"]
        cmd += ["-e", f"@{self.ansible_dir / 'zuul_vars.yaml'}"]
        if self.site_vars:
            site = self.ansible_dir / "site_vars.yaml"
            site.write_text(yaml.safe_dump(self.site_vars))
            cmd += ["-e", f"@{site}"]
        if self.options.extra_vars:
            cmd += ["-e", f"@{self.ansible_dir / 'cli_extra_vars.yaml'}"]
        env = dict(os.environ, ANSIBLE_CONFIG=str(cfg), ZUUL_JOBDIR=str(self.build_dir),
                   ANSIBLE_FORCE_COLOR="0", PYTHONUNBUFFERED="1")
        env.pop("ANSIBLE_ROLES_PATH", None)
        (self.build_dir / ".ansible").mkdir(parents=True, exist_ok=True)
        label = f"{pb.phase} playbook {pb.repo.name}/{pb.path}"
        self.console.line(f"PLAYBOOK START: {label} (attempt {attempt}"
                          + (f", timeout {int(timeout)} s)" if timeout else ")"))
        start = time.time()
        status, rc = "ok", None
        if timeout is not None and timeout <= 0:
            status = "timed_out"
        else:
            deadline = None if timeout is None else start + timeout
            rc, timed_out = self.launcher(cmd, env, pb.repo.root, deadline)
            newly = self._take_unreachable()
            if timed_out:
                status = "timed_out"
            elif rc == RC_UNREACHABLE or newly:
                status = "unreachable"
                self.console.line(f"UNREACHABLE: {', '.join(sorted(newly)) or 'a host'}")
            elif rc != 0:
                status = "failed"
            if status != "ok":
                self.check_mirror()
        end = time.time()
        self.console.line(f"PLAYBOOK END: {label}: {status.upper()} "
                          f"(rc={rc}, {end - start:.1f} s)")
        return PlaybookRun(pb.phase, pb.path, pb.repo.name, rc, status, start, end, attempt)

    def _launch(self, cmd: list[str], env: dict[str, str], cwd: Path,
                deadline: float | None) -> tuple[int, bool]:
        """ansible-playbook in its own process group, its output streamed to the console."""
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env, cwd=str(cwd), start_new_session=True)
        return self._stream(proc, deadline)

    def _stream(self, proc: subprocess.Popen[str], deadline: float | None) -> tuple[int, bool]:
        import selectors

        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        try:
            return self._read(proc, sel, deadline)
        except BaseException:
            # interrupted: ansible-playbook (its own process group) stops with the build
            _kill_group(proc)
            raise
        finally:
            sel.close()

    def _read(self, proc: subprocess.Popen[str], sel: Any,
              deadline: float | None) -> tuple[int, bool]:
        assert proc.stdout is not None
        timed_out = False
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.time())
            if wait is not None and wait <= 0:
                timed_out = True
                self.console.line("TIMEOUT: stopping ansible-playbook (its process group)")
                _kill_group(proc)
                break
            events = sel.select(timeout=min(wait, 1.0) if wait is not None else 1.0)
            if events:
                line = proc.stdout.readline()
                if line == "":
                    break
                self.console.line(line)
            elif proc.poll() is not None:
                rest = proc.stdout.read()
                if rest:
                    self.console.line(rest)
                break
        proc.wait()
        return proc.returncode, timed_out

    # --- the build -----------------------------------------------------------

    def playbook_context(self) -> dict[str, Any]:
        def pbs(items: list[Playbook]) -> list[dict[str, Any]]:
            return [{"path": str(p.file), "roles": [
                {"role_path": r} for r in self._safe_role_paths(p)]} for p in items]
        return {"playbook_projects": {}, "pre_playbooks": pbs(self.job.pre_run),
                "playbooks": pbs(self.job.run),
                "post_playbooks": pbs(post_playbooks(self.job))}

    def _safe_role_paths(self, pb: Playbook) -> list[str]:
        try:
            return self.role_paths(pb)
        except RunError:
            return []

    def prepare(self) -> None:
        self.log_root.mkdir(parents=True, exist_ok=True)
        (self.work / "src").mkdir(parents=True, exist_ok=True)
        # The executor creates the zuul_return file empty; Zuul's plugin expects it.
        (self.work / "results.json").touch()
        for p in self.required():
            archive_project(p, self.work / "archives" / (p.canonical_name.replace("/", "__")
                                                         + ".tar"))
            link = self.work / p.src_dir
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(p.root.resolve())
        if self.options.extra_vars:
            self.ansible_dir.mkdir(parents=True, exist_ok=True)
            (self.ansible_dir / "cli_extra_vars.yaml").write_text(
                yaml.safe_dump(self.options.extra_vars))

    def write_zuul_vars(self, attempt: int) -> None:
        self.ansible_dir.mkdir(parents=True, exist_ok=True)
        data = {"zuul": self.zuul_vars(attempt, self.playbook_context()),
                "zuul_user_dir": "{{ inventory_hostname == 'localhost' and "
                                 "zuul.executor.work_root or ansible_user_dir }}"}
        (self.ansible_dir / "zuul_vars.yaml").write_text(yaml.safe_dump(data))

    def return_data(self) -> dict[str, Any]:
        path = self.work / "results.json"
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text() or "{}").get("data", {})
        except (OSError, ValueError):
            return {}

    def execute(self) -> BuildResult:
        build = BuildResult("ERROR", self.job.name, self.build_dir, 0, start=time.time())
        try:
            self.prepare()
            self.sync_mirror()
            self._attempts(build)
        except RunError as exc:
            build.result, build.error_detail = "ERROR", str(exc)
            self.console.line(f"ERROR: {exc}")
        except KeyboardInterrupt as exc:
            # SIGINT or SIGTERM (crossgate run's handler): the nodes and the mirror server
            # are down by now (each attempt's finally); the build is aborted, as Zuul says
            why = str(exc) or "SIGINT"
            build.result = "ABORTED"
            build.error_detail = f"interrupted by {why}; nodes and mirror server stopped"
            self.console.line(f"INTERRUPTED: {why}: the build is aborted; nodes and mirror "
                              "server stopped")
            self.go_cancel.set()
        finally:
            self.wait_go_sync()
            shutil.rmtree(self.control_dir, ignore_errors=True)
        build.end = time.time()
        build.return_data = self.return_data()
        (self.build_dir / "build.json").write_text(json.dumps(build.to_dict(), indent=2,
                                                              default=str))
        self.console.line(f"RESULT: {build.result} ({build.end - build.start:.1f} s, "
                          f"{build.attempts} attempt(s)); build directory: {self.build_dir}")
        for w in build.to_dict()["warnings"]:
            self.console.line(f"WARNING: {w}")
        for a in build.to_dict()["artifacts"]:
            self.console.line(f"ARTIFACT: {a.get('name')}: {a.get('url')}")
        self.console.close()
        # Where a Zuul build keeps its console log: beside the nodes' logs.
        self.log_root.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.build_dir / "job-output.txt", self.log_root / "job-output.txt")
        return build

    def _attempts(self, build: BuildResult) -> None:
        max_attempts = max(1, int(self.job.attempts))
        for attempt in range(1, max_attempts + 1):
            build.attempts = attempt
            if attempt > 1:
                # Each attempt is a new build in Zuul, with a fresh work directory.
                self.work.rename(self.build_dir / f"attempt-{attempt - 1}")
                self.prepare()
            result, detail = self._one_attempt(build, attempt, attempt == max_attempts)
            interrupt.check()  # a signal that came during the attempt's teardown
            if self.mirror_lost:
                detail = (f"{detail}; " if detail else "") + "the host mirror stopped answering"
            build.error_detail = detail
            if result is not None:
                build.result = result
                return
            self.console.line(f"RETRY: attempt {attempt} of {max_attempts} will be retried"
                              + (f" ({detail})" if detail else ""))
        build.result = "RETRY_LIMIT"

    # --- the host mirror -----------------------------------------------------

    def sync_mirror(self) -> None:
        """Fetch what the job declares it needs into the host mirror, as a CI site's
        mirror already holds it: `crossgate_mirror_packages` (apt) and
        `crossgate_mirror_requirements` (pip). A warm mirror downloads nothing."""
        if self.options.mirror_dir is None:
            return
        from crossgate.mirror import MirrorError, sync_apt, sync_wheels

        packages = [str(p) for p in self.job.vars.get("crossgate_mirror_packages") or []]
        reqs = [str(r) for r in self.job.vars.get("crossgate_mirror_requirements") or []]
        go_sets = self.job.vars.get("crossgate_mirror_go_sets") or []
        if not isinstance(go_sets, list) or not all(isinstance(n, str) for n in go_sets):
            raise RunError(f"job variable crossgate_mirror_go_sets={go_sets!r}: allowed: a "
                           "list of program set names of crossgate_mirror_go_pins")
        try:
            if packages:
                rep = sync_apt(packages, self.options.mirror_dir)
                self.console.line(
                    f"MIRROR: apt {len(packages)} package(s), closure {rep.closure}: "
                    f"{rep.downloaded} downloaded ({rep.downloaded_bytes} bytes), "
                    f"{rep.present} present, {rep.seconds:.1f} s")
            if reqs:
                wrep = sync_wheels(reqs, self.options.mirror_dir,
                                   constraints=self.mirror_constraints())
                self.console.line(
                    f"MIRROR: pip {len(reqs)} requirement(s), {wrep.wheels} wheel(s): "
                    f"{wrep.downloaded} downloaded ({wrep.downloaded_bytes} bytes), "
                    f"{wrep.present} present, {wrep.seconds:.1f} s")
            if go_sets:
                self.start_go_sync(go_sets)
        except MirrorError as exc:
            raise RunError(f"host mirror: {exc}") from exc

    def start_go_sync(self, go_sets: list[str]) -> None:
        """Build (or find built) the job's Go program sets in the background while the nodes
        boot and the first playbooks run: a cold build takes minutes. Each set's index
        (go/SET.json) is withdrawn first and written again when the set of these pins is
        ready, so a node never fetches a build of other pins; deploy-kubernetes waits for the
        index (deploy_kubernetes_programs_wait_timeout)."""
        pins = self.checkout_file("crossgate_mirror_go_pins",
                                  "roles/deploy-kubernetes/files/programs.yaml")
        root = Path(self.options.mirror_dir or ".")
        for name in go_sets:
            (root / "go" / f"{name}.json").unlink(missing_ok=True)
        self.console.line("MIRROR: go " + ", ".join(go_sets) + ": building or finding built "
                          "in the background; the nodes wait for each set's index")
        self.go_thread = threading.Thread(target=self._sync_go, args=(pins, go_sets, root),
                                          name="crossgate-go-sync", daemon=True)
        self.go_thread.start()

    def _sync_go(self, pins: Path, go_sets: list[str], root: Path) -> None:
        from crossgate.mirror.gobuild import sync_go

        for name in go_sets:
            try:
                grep = sync_go(pins, name, root,
                               progress=lambda line: self.console.line(f"MIRROR: {line}"),
                               cancel=self.go_cancel)
            except Exception as exc:  # the nodes' wait for the set names it; say why here
                self.console.line(f"MIRROR: go {name}: FAILED: {exc}")
                return
            self.console.line(
                f"MIRROR: go {name}: {len(grep.programs)} program(s) in go/{name}-{grep.key}: "
                + ("built" if grep.built else "built before") + f", {grep.seconds:.1f} s")

    def wait_go_sync(self) -> None:
        """A build started by this run finishes before the run ends (its caches stay whole);
        an interrupted run stops it (its go processes) instead."""
        if self.go_thread is not None and self.go_thread.is_alive():
            if self.go_cancel.is_set():
                self.console.line("MIRROR: go: stopping the background build")
                self.go_thread.join(timeout=60)
                return
            self.console.line("MIRROR: go: waiting for the background build to finish")
            self.go_thread.join()

    def mirror_constraints(self) -> Path | None:
        """`crossgate_mirror_constraints`: a constraints file for the wheel sync, as a path
        inside one of the build's project checkouts (the job's own project first), the way
        a site's mirror is built from a release's upper-constraints."""
        if not self.job.vars.get("crossgate_mirror_constraints"):
            return None
        return self.checkout_file("crossgate_mirror_constraints",
                                  "roles/deploy-openstack/files/constraints/2026.2.txt")

    def checkout_file(self, var: str, example: str) -> Path:
        """The file job variable VAR names, a relative path inside one of the build's project
        checkouts (the job's own project first)."""
        rel = self.job.vars.get(var)
        if not rel or not isinstance(rel, str) or Path(rel).is_absolute() \
                or ".." in Path(rel).parts:
            raise RunError(f"job variable {var}={rel!r}: allowed: a relative path inside a "
                           f"project checkout, such as {example}")
        roots = [self.project.root] + [p.root for p in self.projects if p is not self.project]
        for root in roots:
            if (root / rel).is_file():
                return root / rel
        raise RunError(f"job variable {var}={rel!r}: no such file in the checkouts of "
                       + ", ".join(str(r) for r in roots) + "; allowed: a file of one of them")

    def start_mirror(self, provider: Provider) -> Any:
        """Serve the mirror on the pool's host address; the URLs reach the playbooks
        as site variables (extra vars, as Zuul passes its site-variables)."""
        self.site_vars = {}
        root = self.options.mirror_dir
        if root is None:
            return None
        if not ((root / "apt" / "Packages").exists() or (root / "wheels").is_dir()
                or (root / "go").is_dir()):
            return None
        host_address = provider.host_address()
        if host_address is None:
            return None
        from crossgate.mirror import MirrorError, mirror_urls, site_vars, start_server

        try:
            server = start_server(root, host_address, self.options.mirror_port,
                                  state_dir=self.ansible_dir / "mirror")
        except MirrorError as exc:
            raise RunError(f"host mirror: {exc}") from exc
        self.site_vars = site_vars(root, mirror_urls(server.address, server.port))
        self.mirror_server, self.mirror_lost = server, False
        self.console.line("MIRROR: serving " + ", ".join(
            f"{k}={v}" for k, v in sorted(self.site_vars.items())))
        return server

    def check_mirror(self) -> None:
        """After a failed playbook: say so when the host mirror this build serves stopped
        answering (its packages, wheels and programs are what the nodes install from)."""
        server = self.mirror_server
        if server is None or self.mirror_lost:
            return
        import socket

        try:
            with socket.create_connection((server.address, server.port), timeout=3):
                return
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
        self.mirror_lost = True
        self.console.line(f"MIRROR: unreachable: the host mirror {server.url} stopped answering "
                          f"during the build ({why}); the nodes' installs from it fail (its "
                          f"log: {server.log})")

    def stop_mirror(self, server: Any) -> None:
        self.mirror_server = None
        if server is None:
            return
        from crossgate.mirror import stop_server
        try:
            with interrupt.shielded():
                stop_server(server.address, server.port, self.ansible_dir / "mirror")
        except Exception as exc:  # the build's result matters more
            self.console.line(f"MIRROR: stop failed: {exc}")

    def _one_attempt(self, build: BuildResult, attempt: int,
                     last: bool) -> tuple[str | None, str | None]:
        provider = self.provider_factory(attempt)
        specs = [NodeSpec(h.names[0], h.label) for h in self.nodeset.hosts]
        try:
            nodes: dict[str, Any] = {}
            if specs:
                self.console.line(f"NODES: requesting {len(specs)} node(s): "
                                  + ", ".join(f"{s.name} ({s.label})" for s in specs))
                up = provider.up(specs)
                state = provider.state_path
                if state is not None and Path(state).exists():
                    # Kept so that anyone can verify the teardown left nothing behind.
                    self.ansible_dir.mkdir(parents=True, exist_ok=True)
                    shutil.copy(state, self.ansible_dir / f"pool-state-{attempt}.json")
                by_name = {n.name: n for n in up}
                for host in self.nodeset.hosts:
                    for name in host.names:
                        nodes[name] = by_name[host.names[0]]
                self.console.line("NODES: " + ", ".join(
                    f"{n} {nodes[n].address}" for n in self.nodeset.node_names))
        except (NodeFailure, InvalidInput) as exc:
            # Zuul reports a node request it cannot fill (unknown label, a node that
            # does not boot) as NODE_FAILURE, without running any playbook.
            self.console.line(f"NODE_FAILURE: {exc}")
            _down(provider, self.console)
            return "NODE_FAILURE", str(exc)
        self.nodes, self.unreachable = nodes, set()
        server = None
        try:
            server = self.start_mirror(provider)
            self.write_inventory(nodes, [])
            self.write_zuul_vars(attempt)
            return self._phases(build, attempt, last)
        finally:
            self.stop_mirror(server)
            _down(provider, self.console)

    def _phases(self, build: BuildResult, attempt: int,
                last: bool) -> tuple[str | None, str | None]:
        """One attempt's playbooks, as zuul.executor.server.AnsibleJob.runPlaybooks
        (Zuul 14.3) runs them. Returns (result, error detail); result None means
        that the build is to be retried."""
        job = self.job
        started = time.time()
        result: str | None = None
        detail: str | None = None
        should_retry = False   # a retryable failure happened
        pre_failed = False
        allow_post_result = True   # whether a failing post-run may set POST_FAILURE
        success = False
        nesting_achieved: int | None = None
        pre_timeout = job.pre_timeout or job.timeout
        for i, pb in enumerate(job.pre_run):
            nesting_achieved = self._nesting(pb)
            run = self.run_playbook(pb, i, _remaining(started, pre_timeout), attempt)
            build.playbooks.append(run)
            if run.status != "ok":
                pre_failed, should_retry, allow_post_result = True, True, False
                detail = {"unreachable": "Host unreachable",
                          "timed_out": "pre-run timed out"}.get(run.status)
                break
        if not pre_failed:
            # All the way down the chain: no post-run is skipped.
            nesting_achieved = None
            for i, pb in enumerate(job.run):
                # Every run playbook must succeed for the job to succeed.
                success = False
                run = self.run_playbook(pb, i, _remaining(started, job.timeout), attempt)
                build.playbooks.append(run)
                if run.status == "timed_out":
                    result, allow_post_result = "TIMED_OUT", False
                    break
                if run.status == "unreachable":
                    allow_post_result, should_retry, detail = False, True, "Host unreachable"
                    break
                success = run.status == "ok"
                result = "SUCCESS" if success else "FAILURE"
                if not success:
                    break
            if not job.run:
                success, result = True, "SUCCESS"
        data = self.return_data()
        if pre_failed and data.get("zuul", {}).get("retry") is False:
            result, allow_post_result, should_retry = "FAILURE", False, False
        post = post_playbooks(job)
        for i, pb in enumerate(post):
            if nesting_achieved is not None and self._nesting(pb) > nesting_achieved:
                build.playbooks.append(PlaybookRun(pb.phase, pb.path, pb.repo.name, None,
                                                   "skipped", time.time(), time.time(),
                                                   attempt))
                continue
            run = self.run_playbook(pb, i, job.post_timeout, attempt, success=success,
                                    will_retry=should_retry and not last)
            build.playbooks.append(run)
            if run.status == "unreachable" and not pb.cleanup:
                # The build is retried, but every post playbook still gets its
                # chance to collect logs.
                detail = "Host unreachable"
                if allow_post_result:
                    should_retry = True
            if run.status != "ok" and not pb.ignore_result:
                success = False
                if allow_post_result:
                    result = "POST_FAILURE"
        if should_retry:
            return None, detail
        return result, detail

    @staticmethod
    def _nesting(pb: Playbook) -> int:
        return pb.nesting


def post_playbooks(job: FrozenJob) -> list[Playbook]:
    """The post playbooks in Zuul's order (executor's preparePlaybooks): post-run
    child first, each deprecated cleanup-run playbook put before the first post-run
    playbook of a lower nesting level, or last."""
    post = list(job.post_run)
    for pb in job.cleanup_run:
        at = next((i for i, other in enumerate(post) if pb.nesting > other.nesting),
                  len(post))
        post.insert(at, pb)
    return post


class RunError(Exception):
    """The build cannot run as configured (missing project, bad role source, ...)."""


def _remaining(started: float, timeout: float | None) -> float | None:
    if not timeout:
        return None
    return started + float(timeout) - time.time()


def _kill_group(proc: subprocess.Popen[str], grace: float = 10.0) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _down(provider: Provider, console: Console) -> None:
    try:
        with interrupt.shielded():
            provider.down()
    except Exception as exc:  # teardown must not hide the build's result
        console.line(f"NODES: teardown failed: {exc}")
