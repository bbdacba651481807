"""A real Zuul on this machine, for the real-Zuul test of crossgate.

`ZuulEnv` starts, in one temporary folder:

- three crossgate local nodes (pool ``zuul-<id>``) and the host mirror served on
  the pool bridge's host address;
- ZooKeeper (Debian's jars, TLS only, on the bridge's host address), with a CA,
  a server and a client certificate made with openssl;
- PostgreSQL (Debian), Unix socket only;
- bare git repositories served by Zuul's git driver: the tenant's config project
  (tests/zuul/config-project plus the static nodes), crossgate at its committed
  HEAD, and the compare project (tests/zuul/compare-project);
- zuul-scheduler, zuul-web (127.0.0.1), zuul-launcher (static nodes) and
  zuul-executor. The executor runs in a network namespace of its own, joined
  to the pool bridge by a veth pair, so its log-streaming port (which binds
  every interface) is reachable only from the pool's network.

Every wait is bounded (``Timeouts``) and fails naming what it waited for, the
last state it saw and the log to read, followed by the log's last lines.
`stop()` ends what was started (by PID, each service in its own session),
takes the nodes down, deletes the namespace and the folder; it is safe to call
after a failed start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TENANT = "crossgate-test"
PIPELINE = "crossgate-check"
BRANCH = "master"
CONFIG_PROJECT = "crossgate-test-config"
COMPARE_PROJECT = "crossgate-zuul-compare"
# Two jobs of three nodes run at once: crossgate-multinode and crossgate-zuul-compare.
NODE_NAMES = tuple(f"node{i}" for i in range(1, 7))
NODE_LABEL = "debian-bookworm"
ANSIBLE_CACHE = Path(os.environ.get("CROSSGATE_ZUUL_ANSIBLE_ROOT",
                                    "/var/lib/crossgate/zuul-ansible"))
MIRROR_DIR = Path(os.environ.get("CROSSGATE_MIRROR_DIR", "/var/cache/crossgate/mirror"))
ZK_JARS = ("zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-simple", "metrics-core",
           "snappy-java", "commons-cli", "netty-buffer", "netty-codec", "netty-common",
           "netty-handler", "netty-resolver", "netty-transport",
           "netty-transport-native-epoll", "netty-transport-native-unix-common")


@dataclass
class Timeouts:
    """Bounds of every wait, in seconds (environment: CROSSGATE_ZUUL_<NAME>)."""

    service: float = 90.0        # a service answers (ZooKeeper, PostgreSQL, zuul-web)
    tenant: float = 180.0        # the tenant is loaded and the static nodes are ready
    build: float = 900.0         # an enqueued buildset reports every build
    stop: float = 20.0           # a service ends after SIGTERM (then SIGKILL)
    nodes_boot: float = 90.0

    @classmethod
    def from_env(cls) -> Timeouts:
        t = cls()
        for name in t.__dataclass_fields__:
            value = os.environ.get(f"CROSSGATE_ZUUL_{name.upper()}_TIMEOUT")
            if value:
                setattr(t, name, float(value))
        return t


class EnvError(Exception):
    """The environment could not start, or a wait ran out."""


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text[-lines:])


def wait_for(what: str, check: Callable[[], tuple[bool, str]], timeout: float,
             log: Path | None, interval: float = 1.0) -> None:
    """Call `check` until it returns (True, ...) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    state = "not checked yet"
    while True:
        try:
            done, state = check()
        except EnvError:
            raise
        except Exception as exc:  # a wait reports its last observed state, whatever it is
            done, state = False, f"{type(exc).__name__}: {exc}"
        if done:
            return
        if time.monotonic() >= deadline:
            where = f"; log {log}:\n{tail(log)}" if log else ""
            raise EnvError(f"timed out after {timeout:.0f} s waiting for {what}; "
                           f"last state: {state}{where}")
        time.sleep(interval)


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def run(cmd: list[str], timeout: float = 120.0, **kw: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if proc.returncode != 0:
        raise EnvError(f"{' '.join(cmd)} exited {proc.returncode}: "
                       f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
    return proc


@dataclass
class Service:
    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] | None = None
    user: str | None = None
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        try:
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self.env, start_new_session=True, user=self.user,
                group=self.user)
        finally:
            out.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise EnvError(f"{self.name} exited with {self.proc.returncode}; log {self.log}:\n"
                           f"{tail(self.log)}")

    def stop(self, grace: float, sig: int = signal.SIGTERM) -> str | None:
        """SIGTERM to the service's session (its own process group), SIGKILL after
        `grace`; returns a complaint if it is still there."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        pgid = self.proc.pid  # start_new_session: the group is the service's own
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                return f"{self.name} (PID {self.proc.pid}) survived SIGKILL"
        # Children that left the group's leader behind (ansible, bwrap) go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        return None


@dataclass
class ZuulEnv:
    timeouts: Timeouts = field(default_factory=Timeouts.from_env)
    keep: bool = False
    root: Path = field(init=False)
    services: dict[str, Service] = field(default_factory=dict, init=False)
    figures: dict[str, float] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cg-zuul-"))
        os.chmod(self.root, 0o755)  # PostgreSQL runs as its own user below it
        self.id = hashlib.sha256(str(self.root).encode()).hexdigest()[:6]
        self.pool_name = f"zuul-{self.id}"
        self.netns = f"cgz{self.id}"
        self.veth_host, self.veth_ns = f"cgzh{self.id}", f"cgze{self.id}"
        self.pool: Any = None
        self.mirror: Any = None
        self.nodes: list[Any] = []
        self.netns_made = False
        self.web_url = ""
        self._token: str | None = None

    # --- paths ---------------------------------------------------------------

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def log_store(self) -> Path:
        return self.root / "build-logs"

    @property
    def zuul_conf(self) -> Path:
        return self.etc / "zuul.conf"

    def bin(self, name: str) -> str:
        return str(Path(sys.executable).parent / name)

    # --- start ---------------------------------------------------------------

    def start(self) -> None:
        t0 = time.monotonic()
        for d in (self.etc, self.logs, self.log_store, self.root / "state"):
            d.mkdir(parents=True, exist_ok=True)
        self._check_host()
        self._nodes_up()
        self._mirror()
        self._netns()
        self._certs()
        self._zookeeper()
        self._postgres()
        self._repos()
        self._config()
        self._zuul()
        self.figures["environment_start_s"] = round(time.monotonic() - t0, 1)

    def _check_host(self) -> None:
        missing = [t for t in ("java", "bwrap", "openssl", "git", "ip", "systemd-nspawn")
                   if not shutil.which(t)]
        if not self._pg_bin("postgres").exists():
            missing.append("postgresql")
        if not Path("/usr/share/java/zookeeper.jar").exists():
            missing.append("zookeeper")
        if missing:
            raise EnvError(f"missing on the host: {', '.join(missing)}; run "
                           "tools/install-zuul-deps.sh and tools/install-node-deps.sh")
        if os.geteuid() != 0:
            raise EnvError("the real-Zuul environment needs root (nodes, netns, bubblewrap)")
        ansible = ANSIBLE_CACHE / "11" / "bin" / "ansible-playbook"
        if not ansible.exists():
            raise EnvError(f"Zuul's Ansible is not installed in {ANSIBLE_CACHE} ({ansible} is "
                           "missing); run tests/zuul/manage-ansible.sh")

    @staticmethod
    def _pg_bin(name: str) -> Path:
        for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (d / name).exists():
                return d / name
        return Path("/usr/lib/postgresql/15/bin") / name

    def _nodes_up(self) -> None:
        from crossgate.nodes import LocalPool, NodeSpec
        from crossgate.nodes.labels import LABELS
        from crossgate.nodes.state import load_state

        t0 = time.monotonic()
        self.pool = LocalPool(self.pool_name, state_root=self.root / "pools",
                              labels=dict(LABELS), boot_timeout=self.timeouts.nodes_boot)
        self.nodes = self.pool.up([NodeSpec(n, NODE_LABEL) for n in NODE_NAMES])
        state = load_state(self.pool.state_path)
        if state is None:
            raise EnvError(f"pool {self.pool_name}: no state in {self.pool.state_path}")
        self.bridge = state.bridge
        self.host_address = state.host_address
        prefix = self.host_address.rsplit(".", 1)[0]
        self.executor_address = f"{prefix}.250"
        self.figures["nodes_up_s"] = round(time.monotonic() - t0, 1)

    def mirror_packages(self) -> list[str]:
        """What crossgate's jobs say their nodes install (crossgate_mirror_packages)."""
        out: list[str] = []
        for path in sorted((REPO / "zuul.d").glob("*.yaml")):
            for item in yaml.safe_load(path.read_text()) or []:
                job = item.get("job") if isinstance(item, dict) else None
                for pkg in ((job or {}).get("vars") or {}).get("crossgate_mirror_packages") or []:
                    if pkg not in out:
                        out.append(str(pkg))
        return out

    def _mirror(self) -> None:
        from crossgate.mirror import mirror_urls, site_vars, start_server, sync_apt

        t0 = time.monotonic()
        packages = self.mirror_packages()
        if packages:
            sync_apt(packages, MIRROR_DIR)
        port = free_port(self.host_address)
        self.mirror = start_server(MIRROR_DIR, self.host_address, port,
                                   state_dir=self.root / "mirror-state")
        urls = mirror_urls(self.mirror.address, self.mirror.port)
        # what a site gives its jobs, as crossgate run does (the same function)
        self.site_vars: dict[str, Any] = {"crossgate_test_log_store": str(self.log_store)}
        self.site_vars.update(site_vars(MIRROR_DIR, urls))
        self.figures["mirror_s"] = round(time.monotonic() - t0, 1)

    def _netns(self) -> None:
        run(["ip", "netns", "add", self.netns])
        self.netns_made = True
        run(["ip", "link", "add", self.veth_host, "type", "veth", "peer", "name",
             self.veth_ns])
        run(["ip", "link", "set", self.veth_ns, "netns", self.netns])
        run(["ip", "link", "set", self.veth_host, "master", self.bridge, "up"])
        run(["ip", "-n", self.netns, "addr", "add", f"{self.executor_address}/24", "dev",
             self.veth_ns])
        run(["ip", "-n", self.netns, "link", "set", self.veth_ns, "up"])
        run(["ip", "-n", self.netns, "link", "set", "lo", "up"])

    def _certs(self) -> None:
        d = self.etc / "tls"
        d.mkdir()
        days = "2"
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", days,
             "-subj", "/CN=crossgate-test-ca", "-keyout", str(d / "ca.key"),
             "-out", str(d / "ca.pem")])
        for name in ("server", "client"):
            ext = d / f"{name}.ext"
            ext.write_text(f"subjectAltName=IP:127.0.0.1,IP:{self.host_address}\n")
            run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj",
                 f"/CN=crossgate-test-{name}", "-keyout", str(d / f"{name}.key"),
                 "-out", str(d / f"{name}.csr")])
            run(["openssl", "x509", "-req", "-in", str(d / f"{name}.csr"), "-CA",
                 str(d / "ca.pem"), "-CAkey", str(d / "ca.key"), "-CAcreateserial",
                 "-days", days, "-extfile", str(ext), "-out", str(d / f"{name}.pem")])
        (d / "server-keystore.pem").write_text((d / "server.key").read_text()
                                               + (d / "server.pem").read_text())
        for f in d.iterdir():
            f.chmod(0o600)

    def _zookeeper(self) -> None:
        d = self.root / "zookeeper"
        (d / "data").mkdir(parents=True)
        tls = self.etc / "tls"
        self.zk_port = free_port(self.host_address)
        cfg = d / "zoo.cfg"
        cfg.write_text("\n".join([
            "tickTime=2000", "initLimit=10", "syncLimit=5", f"dataDir={d / 'data'}",
            "standaloneEnabled=true", "admin.enableServer=false",
            "4lw.commands.whitelist=ruok,srvr",
            f"secureClientPort={self.zk_port}",
            f"secureClientPortAddress={self.host_address}",
            "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
            f"ssl.keyStore.location={tls / 'server-keystore.pem'}", "ssl.keyStore.type=PEM",
            f"ssl.trustStore.location={tls / 'ca.pem'}", "ssl.trustStore.type=PEM",
            "ssl.clientAuth=need", "authProvider.x509="
            "org.apache.zookeeper.server.auth.X509AuthenticationProvider", ""]))
        jars = []
        for name in ZK_JARS:
            jar = Path("/usr/share/java") / f"{name}.jar"
            if not jar.exists():
                raise EnvError(f"ZooKeeper: {jar} is missing (Debian packages zookeeper, "
                               "libnetty-java, libslf4j-java)")
            jars.append(str(jar))
        svc = Service("zookeeper", [
            "java", "-Xmx256m", "-Dzookeeper.log.dir=" + str(d),
            "-cp", ":".join(jars), "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            str(cfg)], self.logs / "zookeeper.log")
        self.services["zookeeper"] = svc
        svc.start()

        def listening() -> tuple[bool, str]:
            svc.check_alive()
            with socket.create_connection((self.host_address, self.zk_port), timeout=2):
                return True, "port open"
        wait_for(f"ZooKeeper to listen on {self.host_address}:{self.zk_port}", listening,
                 self.timeouts.service, svc.log, 0.5)

    def _postgres(self) -> None:
        import pwd

        d = self.root / "postgres"
        data, sock = d / "data", d / "run"
        sock.mkdir(parents=True)
        pw = pwd.getpwnam("postgres")
        for p in (d, sock):
            os.chown(p, pw.pw_uid, pw.pw_gid)
        self.pg_port = free_port("127.0.0.1")
        self.pg_socket = sock
        init = subprocess.run(
            [str(self._pg_bin("initdb")), "-D", str(data), "-A", "trust", "-U", "zuul",
             "-E", "UTF8", "--no-sync"], capture_output=True, text=True, user="postgres",
            group="postgres", timeout=120, cwd=d)
        if init.returncode != 0:
            raise EnvError(f"initdb failed: {init.stderr[-2000:]}")
        svc = Service("postgres", [
            str(self._pg_bin("postgres")), "-D", str(data), "-p", str(self.pg_port),
            "-k", str(sock), "-c", "listen_addresses=", "-c", "fsync=off",
            "-c", "full_page_writes=off", "-c", "synchronous_commit=off"],
            self.logs / "postgres.log", user="postgres")
        self.services["postgres"] = svc
        svc.start()

        def ready() -> tuple[bool, str]:
            svc.check_alive()
            proc = subprocess.run([str(self._pg_bin("pg_isready")), "-h", str(sock), "-p",
                                   str(self.pg_port), "-U", "zuul"], capture_output=True, text=True,
                                  timeout=10)
            return proc.returncode == 0, proc.stdout.strip()
        wait_for("PostgreSQL to accept connections", ready, self.timeouts.service,
                 svc.log, 0.5)
        run([str(self._pg_bin("createdb")), "-h", str(sock), "-p", str(self.pg_port),
             "-U", "zuul", "zuul"], user="postgres", group="postgres", cwd=d)

    # --- repositories ----------------------------------------------------------

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        env = dict(os.environ, GIT_AUTHOR_NAME="crossgate test", GIT_AUTHOR_EMAIL="test@localhost",
                   GIT_COMMITTER_NAME="crossgate test", GIT_COMMITTER_EMAIL="test@localhost")
        return run(["git", *args], cwd=cwd, env=env).stdout.strip()

    def _publish(self, name: str, tree: Path | None = None, source: Path | None = None) -> str:
        """A bare repository `name` under git/ with branch main: a folder's content
        committed as one commit (tree) or the committed HEAD of a repository (source)."""
        bare = self.root / "git" / name
        bare.parent.mkdir(exist_ok=True)
        self._git("init", "-q", "--bare", "-b", BRANCH, str(bare))
        if tree is not None:
            work = self.root / "work" / name
            shutil.copytree(tree, work)
            self._git("init", "-q", "-b", BRANCH, cwd=work)
            # A parent commit: enqueue-ref asks the merger for the files changed
            # between --oldrev and --newrev.
            self._git("commit", "-q", "--allow-empty", "-m", "Initial commit", cwd=work)
            self._git("add", "-A", cwd=work)
            self._git("commit", "-q", "-m", f"{name}", cwd=work)
            source = work
        assert source is not None
        self._git("push", "-q", str(bare), f"HEAD:refs/heads/{BRANCH}", cwd=source)
        return self._git("rev-parse", "HEAD", cwd=source)

    def _repos(self) -> None:
        config = self.root / "trees" / CONFIG_PROJECT
        shutil.copytree(HERE / "config-project", config)
        (config / "zuul.d" / "nodes.yaml").write_text(
            "# Written by tests/zuul/zuulenv.py: the crossgate local nodes of this run.\n"
            + yaml.safe_dump(self.node_config(), sort_keys=False))
        self.shas: dict[str, str] = {}
        self.shas[CONFIG_PROJECT] = self._publish(CONFIG_PROJECT, tree=config)
        self.shas["crossgate"] = self._publish("crossgate", source=REPO)
        self.shas[COMPARE_PROJECT] = self._publish(COMPARE_PROJECT,
                                                   tree=HERE / "compare-project")

    def node_config(self) -> list[dict[str, Any]]:
        """The static nodes, in Zuul's launcher objects of the config project."""
        known: dict[str, str] = {}
        for node in self.nodes:
            for line in Path(node.known_hosts).read_text().splitlines():
                hosts, _, key = line.partition(" ")
                if node.address in hosts.split(","):
                    known[node.address] = key.strip()
        return [
            {"image": {"name": "crossgate-local", "type": "cloud",
                       "description": "A crossgate local node (debian-bookworm)."}},
            {"flavor": {"name": "crossgate-local"}},
            {"label": {"name": NODE_LABEL, "image": "crossgate-local",
                       "flavor": "crossgate-local"}},
            {"section": {"name": "crossgate-local", "connection": "static",
                         "images": [{"name": "crossgate-local", "username": "root",
                                     "python-path": "auto"}],
                         "flavors": ["crossgate-local"],
                         "labels": [NODE_LABEL]}},
            {"provider": {"name": "crossgate-local", "section": "crossgate-local",
                          "labels": [NODE_LABEL],
                          "nodes": [{"name": n.address, "label": NODE_LABEL,
                                     "host-key": known.get(n.address)}
                                    for n in self.nodes]}},
        ]

    # --- configuration ---------------------------------------------------------

    def _config(self) -> None:
        tls = self.etc / "tls"
        self.auth_secret = secrets.token_hex(24)
        self.web_port = free_port("127.0.0.1")
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        state = self.root / "state"
        base_prefix = Path(sys.base_prefix).resolve()
        ro_paths = ":".join(sorted({str(base_prefix), str(Path(sys.prefix).resolve())}))
        key = self.nodes[0].key_path
        sections: dict[str, dict[str, Any]] = {
            "zookeeper": {"hosts": f"{self.host_address}:{self.zk_port}",
                          "tls_cert": tls / "client.pem", "tls_key": tls / "client.key",
                          "tls_ca": tls / "ca.pem", "session_timeout": 40},
            "keystore": {"password": secrets.token_hex(16)},
            "database": {"dburi": f"postgresql://zuul@/zuul?host={self.pg_socket}"
                                  f"&port={self.pg_port}"},
            "scheduler": {"tenant_config": self.etc / "main.yaml",
                          "state_dir": state / "scheduler",
                          "command_socket": state / "scheduler.socket"},
            "web": {"listen_address": "127.0.0.1", "port": self.web_port,
                    "root": self.web_url + "/", "command_socket": state / "web.socket"},
            "launcher": {"state_dir": state / "launcher",
                         "command_socket": state / "launcher.socket"},
            "merger": {"git_dir": state / "merger-git", "git_user_email": "zuul@localhost",
                       "git_user_name": "zuul"},
            "executor": {"state_dir": state / "executor", "git_dir": state / "executor-git",
                         "job_dir": self.root / "jobs",
                         "command_socket": state / "executor.socket",
                         "private_key_file": key,
                         "ansible_root": ANSIBLE_CACHE, "manage_ansible": "false",
                         "variables": self.etc / "site-variables.yaml",
                         "trusted_ro_paths": ro_paths, "untrusted_ro_paths": ro_paths,
                         "trusted_rw_paths": self.log_store,
                         "load_multiplier": 100, "min_avail_hdd": 0, "min_avail_mem": 0,
                         "min_avail_inodes": 0, "hostname": self.executor_address},
            # Items come from enqueue-ref, not from ref updates: poll rarely.
            'connection "git"': {"driver": "git", "baseurl": f"file://{self.root / 'git'}",
                                 "poll_delay": 120},
            'connection "static"': {"driver": "static"},
            "auth crossgate_test": {"driver": "HS256", "allow_authz_override": "true",
                                    "realm": "crossgate-test", "client_id": "crossgate-test",
                                    "issuer_id": "crossgate-test",
                                    "secret": self.auth_secret},
        }
        (self.root / "jobs").mkdir()
        lines: list[str] = []
        for name, values in sections.items():
            lines.append(f"[{name}]")
            lines += [f"{k}={v}" for k, v in values.items()]
            lines.append("")
        self.zuul_conf.write_text("\n".join(lines))
        self.zuul_conf.chmod(0o600)
        (self.etc / "site-variables.yaml").write_text(yaml.safe_dump(self.site_vars))
        tenant = [{"tenant": {
            "name": TENANT,
            "source": {"git": {
                "config-projects": [CONFIG_PROJECT],
                "untrusted-projects": [
                    {"crossgate": {"include": ["job", "nodeset", "project-template"]}},
                    COMPARE_PROJECT,
                ]}}}}]
        (self.etc / "main.yaml").write_text(yaml.safe_dump(tenant, sort_keys=False))

    # --- Zuul ------------------------------------------------------------------

    def _zuul(self) -> None:
        conf = str(self.zuul_conf)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("ANSIBLE_CONFIG", None)
        specs = {
            "scheduler": [self.bin("zuul-scheduler"), "-f", "-d", "-c", conf],
            "web": [self.bin("zuul-web"), "-f", "-d", "-c", conf],
            "launcher": [self.bin("zuul-launcher"), "-f", "-d", "-c", conf],
            "executor": ["ip", "netns", "exec", self.netns, self.bin("zuul-executor"), "-f",
                         "-d", "-c", conf],
        }
        t0 = time.monotonic()
        for name, argv in specs.items():
            svc = Service(f"zuul-{name}", argv, self.logs / f"zuul-{name}.log", env=env)
            self.services[name] = svc
            svc.start()
        sched = self.services["scheduler"]

        def tenant_loaded() -> tuple[bool, str]:
            for svc in self.services.values():
                svc.check_alive()
            data = self.api(f"/api/tenant/{TENANT}/jobs")
            names = sorted(j["name"] for j in data)
            want = {"crossgate-multinode", "crossgate-zuul-compare", "base"}
            return want <= set(names), f"jobs: {', '.join(names) or 'none'}"
        wait_for(f"tenant {TENANT} to load with crossgate's jobs (zuul-web {self.web_url})",
                 tenant_loaded, self.timeouts.tenant, sched.log, 2)
        self.figures["zuul_start_s"] = round(time.monotonic() - t0, 1)

        def config_errors() -> list[str]:
            return [e.get("error", "")[:500] for e in
                    self.api(f"/api/tenant/{TENANT}/config-errors")]
        errors = config_errors()
        if errors:
            raise EnvError(f"tenant {TENANT} has config errors:\n" + "\n---\n".join(errors))

        def nodes_ready() -> tuple[bool, str]:
            self.services["launcher"].check_alive()
            nodes = self.api(f"/api/tenant/{TENANT}/nodes")
            states = [f"{n.get('name') or n.get('id')}: {n.get('state')}" for n in nodes]
            ready = [n for n in nodes if n.get("state") in ("ready", "in-use", "used")]
            return len(ready) >= len(NODE_NAMES), "; ".join(states) or "no nodes"
        wait_for("the launcher to register the static nodes as ready", nodes_ready,
                 self.timeouts.tenant, self.services["launcher"].log, 2)

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(self.web_url + path, timeout=10) as resp:
            return json.loads(resp.read().decode())

    def token(self) -> str:
        """An admin token for the tenant; never printed."""
        if self._token is None:
            proc = run([self.bin("zuul-admin"), "-c", str(self.zuul_conf),
                        "create-auth-token", "--auth-config", "crossgate_test", "--user",
                        "crossgate-test", "--tenant", TENANT, "--expires-in", "3600"])
            self._token = proc.stdout.strip().removeprefix("Bearer ").strip()
        return self._token

    def zuul_client(self, *args: str, timeout: float = 60.0) -> str:
        argv = [self.bin("zuul-client"), "--zuul-url", self.web_url, *args]
        printable = " ".join(argv)
        if args and args[0] in ("enqueue-ref", "enqueue", "dequeue"):
            argv = [argv[0], "--auth-token", self.token(), *argv[1:]]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise EnvError(f"{printable} exited {proc.returncode}: "
                           f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
        return proc.stdout

    def enqueue(self, project: str) -> str:
        """Enqueue the branch tip of `project` into the test pipeline; returns the SHA."""
        sha = self.shas[project]
        parent = self._git("rev-parse", f"{sha}^", cwd=self.root / "git" / project)
        self.zuul_client("enqueue-ref", "--tenant", TENANT, "--pipeline", PIPELINE,
                         "--project", project, "--ref", f"refs/heads/{BRANCH}",
                         "--oldrev", parent, "--newrev", sha)
        return sha

    def builds(self, project: str, sha: str) -> list[dict[str, Any]]:
        out = self.zuul_client("--format", "JSON", "builds", "--tenant", TENANT,
                               "--project", project, "--newrev", sha)
        return json.loads(out or "[]")

    def wait_builds(self, project: str, sha: str, jobs: set[str]) -> dict[str, dict[str, Any]]:
        """Wait until every job of `jobs` has a result for `sha`; the results are
        then read once more with zuul-client, the way a user reads them."""
        query = urllib.parse.urlencode({"project": project, "newrev": sha})

        def done() -> tuple[bool, str]:
            for svc in self.services.values():
                svc.check_alive()
            found = {b["job_name"] for b in self.api(f"/api/tenant/{TENANT}/builds?{query}")
                     if b.get("result") and b.get("job_name") in jobs}
            status = self.api(f"/api/tenant/{TENANT}/status")
            running = [j.get("name") for q in status.get("pipelines", [])
                       for cq in q.get("change_queues", []) for h in cq.get("heads", [])
                       for item in h for j in item.get("jobs", [])]
            return found >= jobs, (f"finished: {sorted(found) or 'none'}; in the "
                                   f"pipeline: {running or 'none'}")
        wait_for(f"builds {sorted(jobs)} of {project} {sha[:10]} to report", done,
                 self.timeouts.build, self.services["executor"].log, 5)
        return {b["job_name"]: b for b in self.builds(project, sha)
                if b.get("job_name") in jobs and b.get("result")}

    def build_info(self, uuid: str) -> dict[str, Any]:
        return self.api(f"/api/tenant/{TENANT}/build/{uuid}")

    # --- stop ------------------------------------------------------------------

    def stop(self) -> list[str]:
        """End everything this environment started; returns what could not be removed."""
        problems: list[str] = []
        for name in ("web", "scheduler", "launcher", "executor", "zookeeper"):
            svc = self.services.get(name)
            if svc is not None:
                problem = svc.stop(self.timeouts.stop)
                if problem:
                    problems.append(problem)
        pg = self.services.get("postgres")
        if pg is not None:
            problem = pg.stop(self.timeouts.stop, signal.SIGINT)
            if problem:
                problems.append(problem)
        if self.mirror is not None:
            from crossgate.mirror import stop_server
            try:
                stop_server(self.mirror.address, self.mirror.port, self.root / "mirror-state")
            except Exception as exc:
                problems.append(f"mirror server: {exc}")
        if self.netns_made:
            proc = subprocess.run(["ip", "netns", "del", self.netns], capture_output=True,
                                  text=True)
            if proc.returncode != 0:
                problems.append(f"netns {self.netns}: {proc.stderr.strip()}")
        if self.pool is not None:
            try:
                self.pool.down()
            except Exception as exc:
                problems.append(f"pool {self.pool_name}: {exc}")
        if not self.keep and not problems:
            shutil.rmtree(self.root, ignore_errors=True)
        return problems
