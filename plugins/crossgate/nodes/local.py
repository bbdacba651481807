"""The ``local`` provider: systemd-nspawn nodes booting systemd on a per-pool Linux bridge.

Per pool (``<state root>/<pool>/``)::

    state.json          what exists now (see state.py); written before each step
    lock                serialises up/down of this pool
    ssh/id_ed25519      the pool's login key (made once, authorised for root on every node)
    ssh/hostkeys/NAME   each node's ed25519 host key (made once), ssh/known_hosts lists them
    nodes/NAME/{upper,work,root}   the node's overlayfs (lower layer: the cached image)
    logs/NAME.console.log          the node's console (systemd-nspawn output)

Each node runs in its own cgroup (crossgate-<pool id>-<node> in the v2 and the named systemd
hierarchies): the launcher moves itself there and then execs systemd-nspawn, so every process
of the node can be found and killed through the cgroup, even after nspawn itself died.

A node whose label has the "containers" feature (labels.LABEL_FEATURES) can run a container
runtime. Its launcher also joins a cgroup of the node in every v1 controller hierarchy, made
beside the launching process's own (else the containers' cgroups land in the host's and outlive
the node); a unit in the node remounts those controllers writable before containerd starts;
nspawn lets the keyring system calls through, keeps all of the host's capabilities, shows
/dev/kmsg, and binds nodes/NAME/containerd as /var/lib/containerd (overlayfs snapshots cannot
live on the node's overlay root). Ordinary nodes get none of it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from crossgate.locks import LockTimeout, acquire

from . import network, system
from .images import DEFAULT_CACHE, resolve_image
from .labels import LABEL_FEATURES, LABELS, features_for_label, image_for_label
from .model import (
    InvalidInput,
    Node,
    NodeFailure,
    NodesError,
    NodeSpec,
    WaitTimeout,
    validate_specs,
)
from .provider import Provider
from .ssh import ensure_keypair, wait_for_ssh
from .state import NodeState, PoolState, StateError, load_state, save_state

DEFAULT_STATE_ROOT = Path("/var/lib/crossgate/pools")
CGROUP_PREFIX = "crossgate-"

# The launcher joins the node's cgroups, then becomes systemd-nspawn (same PID).
LAUNCHER = 'set -e; for f in $CROSSGATE_CGROUP_PROCS; do echo $$ > "$f"; done; exec "$@"'

# systemd-nspawn options of a node with the "containers" feature.
CONTAINER_NSPAWN_ARGS = (
    # containerd and runc create a session keyring per container
    "--system-call-filter=add_key keyctl request_key",
    "--capability=all",
    # the kubelet's OOM watcher reads the kernel log
    "--bind-ro=/dev/kmsg",
)
CGROUP_RW_UNIT = "crossgate-cgroup-rw.service"
CGROUP_RW = """[Unit]
Description=Make the v1 cgroup controllers writable for the container runtime (crossgate)
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target containerd.service kubelet.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for d in $(findmnt -rn -t cgroup -o TARGET); do \\
    mount -o remount,bind,rw "$d"; done'

[Install]
WantedBy=sysinit.target
"""


class LocalPool(Provider):
    kind = "local"

    def __init__(
        self,
        name: str,
        state_root: Path = DEFAULT_STATE_ROOT,
        image_cache: Path = DEFAULT_CACHE,
        labels: dict[str, str] | None = None,
        mirror: str | None = None,
        boot_timeout: float = 60.0,
        image_timeout: float = 900.0,
        grace: float = 10.0,
        kill_timeout: float = 10.0,
        lock_timeout: float = 300.0,
        nspawn_args: tuple[str, ...] = (),
        link_mtus: dict[str, int] | None = None,
        keep: dict[str, Path] | None = None,
        features: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        super().__init__(name)
        self.state_root = Path(state_root)
        self.dir = self.state_root / name
        self.state_path = self.dir / "state.json"
        self.image_cache = Path(image_cache)
        self.label_table = dict(LABELS if labels is None else labels)
        self.label_features = dict(LABEL_FEATURES if features is None else features)
        self.mirror = mirror
        self.boot_timeout = boot_timeout
        self.image_timeout = image_timeout
        self.grace = grace
        self.kill_timeout = kill_timeout
        self.lock_timeout = lock_timeout
        self.nspawn_args = tuple(nspawn_args)
        # node name -> MTU of its link to the bridge. The node's interface keeps 1500, as on a
        # cloud network whose path MTU is smaller than what the guest's interface reports.
        self.link_mtus = dict(link_mtus or {})
        # node name -> where down() moves the node's upper layer (crossgate nodes image).
        self.keep = dict(keep or {})
        self._save_mutex = threading.Lock()

    # -- public API ---------------------------------------------------------------------------

    def labels(self) -> list[str]:
        return sorted(self.label_table)

    def up(self, specs: list[NodeSpec]) -> list[Node]:
        """Start ``specs`` as a fresh pool (or return the pool if it already runs exactly them).

        Leftovers of an earlier run are removed first. On any failure everything started here is
        torn down again and NodeFailure is raised.
        """
        validate_specs(specs, self.labels())
        unknown = sorted(set(self.link_mtus) - {s.name for s in specs})
        if unknown:
            raise InvalidInput(
                "--link-mtu",
                f"{unknown[0]}={self.link_mtus[unknown[0]]}",
                "a node of the pool: " + ", ".join(s.name for s in specs),
            )
        with self._locked():
            old = self._load()
            if old is not None and self._running_as(old, specs):
                return self._nodes(old)
            if old is not None:
                self._teardown(old)
            images = self._images(specs)
            state = self._plan(specs, images)
            try:
                self._save(state)
                self._prepare_keys(state)
                self._setup_bridge(state)
                with ThreadPoolExecutor(max_workers=len(specs)) as pool:
                    futures = [
                        pool.submit(self._start_node, state, n) for n in state.nodes.values()
                    ]
                    errors = [f.exception() for f in futures if f.exception() is not None]
                if errors:
                    raise _combine(errors)
                return self._nodes(state)
            except BaseException as exc:
                try:
                    self._teardown(state)
                except NodesError as cleanup_exc:
                    raise NodeFailure(
                        f"{exc}\n(cleanup after it also failed: {cleanup_exc})"
                    ) from exc
                if isinstance(exc, NodesError | KeyboardInterrupt):
                    raise
                raise NodeFailure(f"pool {self.name}: bringing nodes up failed: {exc}") from exc

    def down(self, keep: dict[str, Path] | None = None) -> None:
        """Stop every node of the pool and remove all it made; safe after a crash or twice.

        ``keep`` maps node names to new paths: such a node's overlay upper layer (what it
        changed on its image) is moved there once the node is stopped and unmounted, instead
        of removed; ``crossgate nodes image`` keeps a node's installs that way."""
        with self._locked():
            state = self._load()
            if state is not None:
                self._teardown(state, self.keep if keep is None else keep)
            self._sweep(state)

    def list(self) -> list[Node]:
        state = self._load()
        if state is None:
            return []
        return [
            n
            for n, ns in zip(self._nodes(state), state.nodes.values(), strict=True)
            if ns.status == "up" and system.alive(ns.pid, ns.pid_start)
        ]

    def status(self) -> list[dict[str, object]]:
        """Every node the state file knows, with its recorded status and whether it runs."""
        state = self._load()
        if state is None:
            return []
        out = []
        for node, ns in zip(self._nodes(state), state.nodes.values(), strict=True):
            d = node.to_dict()
            d.update(
                status=ns.status,
                running=system.alive(ns.pid, ns.pid_start),
                pid=ns.pid,
                bridge=state.bridge,
                console_log=str(self._console_log(ns.name)),
            )
            out.append(d)
        return out

    def node_pids(self, name: str) -> list[int]:
        """All PIDs of node ``name`` (from its cgroup), for measurements and diagnostics."""
        state = self._load()
        if state is None or name not in state.nodes:
            return []
        return system.cgroup_pids(system.cgroup_paths(state.nodes[name].cgroups[0])[0])

    # -- state --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.dir / "lock"
        try:
            fd = acquire(lock, self.lock_timeout, poll=0.1)
        except LockTimeout:
            raise WaitTimeout(
                f"pool {self.name}: timed out after {self.lock_timeout:.0f}s waiting "
                f"for the pool lock {lock}; last state: held by another "
                "crossgate process"
            ) from None
        try:
            yield
        finally:
            os.close(fd)

    def _load(self) -> PoolState | None:
        try:
            return load_state(self.state_path)
        except StateError as exc:
            raise NodesError(f"pool {self.name}: cannot read {self.state_path}: {exc}") from None

    def _save(self, state: PoolState) -> None:
        with self._save_mutex:
            save_state(self.state_path, state)

    def _console_log(self, name: str) -> Path:
        return self.dir / "logs" / f"{name}.console.log"

    def _nodes(self, state: PoolState) -> list[Node]:
        key = str(self.dir / "ssh/id_ed25519")
        known = str(self.dir / "ssh/known_hosts")
        return [
            Node(
                name=ns.name,
                address=ns.address,
                user="root",
                key_path=key,
                labels=[ns.label],
                interface="host0",
                known_hosts=known,
                provider=self.kind,
            )
            for ns in state.nodes.values()
        ]

    def _running_as(self, state: PoolState, specs: list[NodeSpec]) -> bool:
        wanted = {(s.name, s.label, self.link_mtus.get(s.name)) for s in specs}
        have = {(n.name, n.label, n.link_mtu) for n in state.nodes.values()}
        return (
            wanted == have
            and system.link_exists(state.bridge)
            and all(
                n.status == "up" and system.alive(n.pid, n.pid_start) for n in state.nodes.values()
            )
        )

    # -- planning -----------------------------------------------------------------------------

    def _images(self, specs: list[NodeSpec]) -> dict[str, str]:
        """label -> rootfs path, building images as needed (before touching the network)."""
        out: dict[str, str] = {}
        for label in sorted({s.label for s in specs}):
            ref = image_for_label(label, self.label_table)
            out[label] = str(resolve_image(ref, self.image_cache, self.mirror, self.image_timeout))
        return out

    def _other_pools_subnets(self) -> list[str]:
        subnets = []
        if self.state_root.is_dir():
            for path in self.state_root.glob("*/state.json"):
                if path.parent == self.dir:
                    continue
                with contextlib.suppress(StateError, OSError):
                    other = load_state(path)
                    if other:
                        subnets.append(other.subnet)
        return subnets

    def _plan(self, specs: list[NodeSpec], images: dict[str, str]) -> PoolState:
        try:
            net = network.choose_pool_net(
                str(self.state_root.resolve()),
                self.name,
                network.host_links(),
                network.host_subnets() + self._other_pools_subnets(),
            )
        except RuntimeError as exc:
            raise NodeFailure(f"pool {self.name}: {exc}") from None
        state = PoolState(self.name, net.pool_id, net.bridge, net.subnet, net.host_address)
        v1_parents = system.own_v1_cgroup_parents()
        for index, spec in enumerate(specs):
            machine = network.machine_name(net.pool_id, index)
            features = features_for_label(spec.label, self.label_features)
            cgroup = f"{CGROUP_PREFIX}{net.pool_id}-{spec.name}"
            v1_dirs = [str(p / cgroup) for p in v1_parents] if "containers" in features else []
            ndir = self.dir / "nodes" / spec.name
            state.nodes[spec.name] = NodeState(
                name=spec.name,
                index=index,
                label=spec.label,
                image=images[spec.label],
                address=network.node_address(net.subnet, index),
                mac=network.node_mac(net.pool_id, index),
                machine=machine,
                dir=str(ndir),
                root=str(ndir / "root"),
                veth=network.host_veth(machine),
                cgroups=[cgroup],
                link_mtu=self.link_mtus.get(spec.name),
                features=features,
                cgroup_dirs=v1_dirs,
            )
        return state

    # -- bring-up -----------------------------------------------------------------------------

    def _prepare_keys(self, state: PoolState) -> None:
        ssh_dir = self.dir / "ssh"
        ensure_keypair(ssh_dir / "id_ed25519", f"crossgate-pool-{self.name}")
        lines = []
        for ns in state.nodes.values():
            key = ensure_keypair(ssh_dir / "hostkeys" / ns.name, f"crossgate-node-{ns.name}")
            pub = key.with_name(key.name + ".pub").read_text().split()
            lines.append(f"{ns.address},{ns.name} {pub[0]} {pub[1]}\n")
        (ssh_dir / "known_hosts").write_text("".join(lines))

    def _setup_bridge(self, state: PoolState) -> None:
        br = state.bridge
        state.bridge_created = True
        comment = f"crossgate:{state.pool_id}"
        state.iptables = [
            ["FORWARD", "-i", br, "-o", br, "-m", "comment", "--comment", comment, "-j", "ACCEPT"],
            ["INPUT", "-i", br, "-m", "comment", "--comment", comment, "-j", "ACCEPT"],
            ["OUTPUT", "-o", br, "-m", "comment", "--comment", comment, "-j", "ACCEPT"],
        ]
        self._save(state)
        prefix = network.PoolNet(state.pool_id, br, state.subnet, state.host_address).prefixlen
        mac = network.bridge_mac(state.pool_id)
        system.run(["ip", "link", "add", "name", br, "address", mac, "type", "bridge"])
        with contextlib.suppress(OSError):
            Path(f"/proc/sys/net/ipv6/conf/{br}/disable_ipv6").write_text("1")
        system.run(["ip", "addr", "add", f"{state.host_address}/{prefix}", "dev", br])
        system.run(["ip", "link", "set", br, "up"])
        # Bridged node-to-node traffic crosses the host's FORWARD chain (bridge netfilter):
        # accept it, and host<->node traffic, whatever the chains' policies are.
        for rule in state.iptables:
            system.run(["iptables", "-I", *rule])
        # The host knows each node's fixed MAC: no ARP round (and no 1 s ARP retry while a
        # node's address is not configured yet) before the first SSH probe. The entries go
        # away with the bridge.
        for ns in state.nodes.values():
            system.run(
                [
                    "ip",
                    "neigh",
                    "replace",
                    ns.address,
                    "lladdr",
                    ns.mac,
                    "dev",
                    br,
                    "nud",
                    "permanent",
                ]
            )

    def _write_node_files(self, state: PoolState, ns: NodeState) -> None:
        root = Path(ns.root)
        prefix = network.PoolNet(
            state.pool_id, state.bridge, state.subnet, state.host_address
        ).prefixlen

        def put(rel: str, text: str, mode: int = 0o644) -> None:
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink() or path.exists():
                path.unlink()
            path.write_text(text)
            path.chmod(mode)

        put("etc/hostname", ns.name + "\n")
        entries = [(n.name, n.address) for n in state.nodes.values()]
        put("etc/hosts", network.hosts_file(entries, (state.host_address, "crossgate-host")))
        put("etc/resolv.conf", network.RESOLV_CONF)
        network_file = network.networkd_file(ns.mac, ns.address, prefix)
        put("etc/systemd/network/10-crossgate.network", network_file)
        pub = (self.dir / "ssh/id_ed25519.pub").read_text()
        (root / "root/.ssh").mkdir(mode=0o700, parents=True, exist_ok=True)
        put("root/.ssh/authorized_keys", pub, 0o600)
        hostkey = self.dir / "ssh/hostkeys" / ns.name
        put("etc/ssh/ssh_host_ed25519_key", hostkey.read_text(), 0o600)
        put(
            "etc/ssh/ssh_host_ed25519_key.pub", hostkey.with_name(hostkey.name + ".pub").read_text()
        )
        if "containers" in ns.features:
            put(f"etc/systemd/system/{CGROUP_RW_UNIT}", CGROUP_RW)
            wants = root / "etc/systemd/system/sysinit.target.wants"
            wants.mkdir(parents=True, exist_ok=True)
            link = wants / CGROUP_RW_UNIT
            if not link.is_symlink():
                link.symlink_to(f"../{CGROUP_RW_UNIT}")

    def _start_node(self, state: PoolState, ns: NodeState) -> None:
        ndir = Path(ns.dir)
        log = self._console_log(ns.name)
        ns.status = "starting"
        shutil.rmtree(ndir, ignore_errors=True)
        for sub in ("upper", "work", "root"):
            (ndir / sub).mkdir(parents=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        ns.mounted = True
        self._save(state)
        opts = f"lowerdir={ns.image},upperdir={ndir / 'upper'},workdir={ndir / 'work'}"
        proc = system.run(["mount", "-t", "overlay", "overlay", "-o", opts, ns.root], check=False)
        if proc.returncode != 0:
            raise NodeFailure(
                f"node {ns.name}: overlay mount failed: {proc.stderr.strip()}", node=ns.name
            )
        self._write_node_files(state, ns)

        env = dict(os.environ)
        paths = system.cgroup_paths(ns.cgroups[0])
        for path in paths:
            path.mkdir(exist_ok=True)
        for path in map(Path, ns.cgroup_dirs):
            system.make_cgroup(path)
            paths.append(path)
        env["CROSSGATE_CGROUP_PROCS"] = " ".join(str(p / "cgroup.procs") for p in paths)
        extra: tuple[str, ...] = ()
        if "containers" in ns.features:
            (ndir / "containerd").mkdir()
            extra = (*CONTAINER_NSPAWN_ARGS, f"--bind={ndir / 'containerd'}:/var/lib/containerd")
        argv = [
            "systemd-nspawn",
            "--quiet",
            f"--directory={ns.root}",
            f"--machine={ns.machine}",
            f"--hostname={ns.name}",
            "--boot",
            "--register=no",
            "--keep-unit",
            "--resolv-conf=off",
            "--timezone=off",
            "--link-journal=no",
            f"--network-bridge={state.bridge}",
            "--console=read-only",
            *extra,
            *self.nspawn_args,
        ]
        with log.open("w") as out:
            out.write("$ " + " ".join(argv) + "\n")
            out.flush()
            child = subprocess.Popen(
                ["sh", "-c", LAUNCHER, "crossgate-launcher", *argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        ns.pid = child.pid
        ns.pid_start = system.proc_start_time(child.pid)
        self._save(state)

        def check() -> None:
            if child.poll() is not None:
                tail = _tail(log)
                raise NodeFailure(
                    f"node {ns.name}: systemd-nspawn exited with status {child.returncode} "
                    f"before the node accepted SSH; console log: {log}\n{tail}",
                    node=ns.name,
                    log=log,
                )

        node = self._nodes(state)[ns.index]
        try:
            ns.boot_seconds = wait_for_ssh(node, self.boot_timeout, str(log), check=check)
        except WaitTimeout as exc:
            ns.status = "failed"
            raise WaitTimeout(f"{exc}\n{_tail(log)}", node=ns.name, log=log) from None
        except NodeFailure:
            ns.status = "failed"
            raise
        if ns.link_mtu is not None:
            # Frames larger than this are dropped between the node and the bridge, both ways;
            # the bridge's own MTU follows its smallest port, so the host's TCP still fits.
            system.run(["ip", "link", "set", "dev", ns.veth, "mtu", str(ns.link_mtu)])
        ns.status = "up"
        self._save(state)

    # -- teardown -----------------------------------------------------------------------------

    def _stop_node(self, ns: NodeState, keep: Path | None = None) -> list[str]:
        """Stop one node and remove its mount, cgroups, veth and files; return what remains.
        With ``keep``, its upper layer is moved there first (once nothing has it mounted)."""
        problems: list[str] = []
        cgroups = [p for name in ns.cgroups for p in system.cgroup_paths(name)]
        cgroups += [Path(d) for d in ns.cgroup_dirs]
        if system.alive(ns.pid, ns.pid_start):
            # SIGTERM makes nspawn ask the node's systemd to power off (SIGRTMIN+3).
            system.signal_pid(ns.pid, ns.pid_start, signal.SIGTERM)
            system.wait_dead(ns.pid, ns.pid_start, self.grace)
        if system.alive(ns.pid, ns.pid_start) or any(system.cgroup_pids(c) for c in cgroups):
            for c in cgroups:
                system.cgroup_kill(c)
            system.signal_pid(ns.pid, ns.pid_start, signal.SIGKILL)
            deadline = time.monotonic() + self.kill_timeout
            while system.alive(ns.pid, ns.pid_start) or any(system.cgroup_pids(c) for c in cgroups):
                if time.monotonic() >= deadline:
                    left = sorted({p for c in cgroups for p in system.cgroup_pids(c)})
                    problems.append(f"node {ns.name}: processes still alive after SIGKILL: {left}")
                    break
                time.sleep(0.05)
        for point in system.mounts_under(Path(ns.dir)):
            system.unmount(point)
        for c in cgroups:
            system.cgroup_remove(c)
            if c.exists():
                problems.append(f"node {ns.name}: cgroup {c} could not be removed")
        system.delete_link(ns.veth)
        if system.mounts_under(Path(ns.dir)):
            problems.append(f"node {ns.name}: still mounted under {ns.dir}")
        else:
            if keep is not None and (Path(ns.dir) / "upper").is_dir():
                shutil.move(str(Path(ns.dir) / "upper"), str(keep))
            shutil.rmtree(ns.dir, ignore_errors=True)
        return problems

    def _teardown(self, state: PoolState, keep: dict[str, Path] | None = None) -> None:
        problems: list[str] = []
        nodes = list(state.nodes.values())
        keep = keep or {}
        if nodes:
            with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
                for result in pool.map(lambda ns: self._stop_node(ns, keep.get(ns.name)), nodes):
                    problems += result
        for rule in state.iptables:
            system.iptables_delete(rule)
        for rule in system.iptables_rules_with_comment(f"crossgate:{state.pool_id}"):
            system.iptables_delete(rule)
        if state.bridge_created:
            for port in system.bridge_ports(state.bridge):
                system.delete_link(port)
            system.delete_link(state.bridge)
            if system.link_exists(state.bridge):
                problems.append(f"bridge {state.bridge} could not be removed")
        if problems:
            self._save(state)
            raise NodesError(f"pool {self.name}: teardown incomplete: " + "; ".join(problems))
        self.state_path.unlink(missing_ok=True)

    def _sweep(self, state: PoolState | None) -> None:
        """Remove leftovers the state file does not (or no longer) list: mounts under the pool
        directory and cgroups named after the pool's id."""
        for point in system.mounts_under(self.dir):
            system.unmount(point)
        ids = {state.pool_id} if state else set()
        for salt in range(3):
            ids.add(network.candidate(str(self.state_root.resolve()), self.name, salt).pool_id)
        for root in [*system.CGROUP_ROOTS, *system.own_v1_cgroup_parents()]:
            if not root.is_dir():
                continue
            for pool_id in ids:
                for path in root.glob(f"{CGROUP_PREFIX}{pool_id}-*"):
                    if system.cgroup_pids(path):
                        system.cgroup_kill(path)
                        _wait_empty(path, self.kill_timeout)
                    system.cgroup_remove(path)
        shutil.rmtree(self.dir / "nodes", ignore_errors=True)


def _wait_empty(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while system.cgroup_pids(path) and time.monotonic() < deadline:
        time.sleep(0.05)


def _tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("  | " + line for line in text[-lines:])


def _combine(errors: list[BaseException]) -> NodeFailure:
    failures = [e for e in errors if isinstance(e, NodeFailure)]
    first = failures[0] if failures else None
    text = "\n".join(str(e) for e in errors)
    if len(errors) > 1:
        text = f"{len(errors)} nodes failed:\n{text}"
    if first is not None and len(errors) == 1:
        return first
    return NodeFailure(text, node=first.node if first else None, log=first.log if first else None)


def leftovers(pool: LocalPool, state: PoolState) -> list[str]:
    """Everything of ``state`` that still exists on the host (empty after a clean down)."""
    found = []
    if system.link_exists(state.bridge):
        found.append(f"bridge {state.bridge}")
    for ns in state.nodes.values():
        if system.link_exists(ns.veth):
            found.append(f"veth {ns.veth}")
        if system.alive(ns.pid, ns.pid_start):
            found.append(f"nspawn pid {ns.pid}")
        if Path(ns.dir).exists():
            found.append(f"node dir {ns.dir}")
    found += [f"mount {m}" for m in system.mounts_under(pool.dir)]
    for root in [*system.CGROUP_ROOTS, *system.own_v1_cgroup_parents()]:
        found += [f"cgroup {p}" for p in root.glob(f"{CGROUP_PREFIX}{state.pool_id}-*")]
    found += [f"cgroup {d}" for ns in state.nodes.values() for d in ns.cgroup_dirs
              if Path(d).exists()]
    found += [
        f"iptables {r}" for r in system.iptables_rules_with_comment(f"crossgate:{state.pool_id}")
    ]
    links = Path("/sys/class/net")
    found += [
        f"link {p.name}" for p in links.iterdir() if p.name.startswith(f"vb-cg{state.pool_id}")
    ]
    # No process of the host may still run with the node's root as its root directory.
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                root = os.readlink(proc / "root")
            except OSError:
                continue
            if root.startswith(str(pool.dir)):
                found.append(f"process {proc.name} rooted at {root}")
    if pool.state_path.exists():
        found.append(f"state file {pool.state_path}")
    return found
