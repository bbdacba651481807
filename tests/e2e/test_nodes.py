"""End-to-end tests of crossgate.nodes: real systemd-nspawn nodes on a real bridge."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from crossgate.nodes import (
    InventoryPool,
    LocalPool,
    Node,
    NodeFailure,
    NodeSpec,
    WaitTimeout,
    system,
)
from crossgate.nodes.images import ImageError, cached_image, ensure_image, recipe_hash
from crossgate.nodes.labels import Recipe
from crossgate.nodes.local import leftovers
from crossgate.nodes.state import PoolState, load_state

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def ssh(node: Node, command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        node.ssh_command(command), capture_output=True, text=True, timeout=timeout, check=False
    )


def ssh_ok(node: Node, command: str, timeout: float = 30) -> str:
    proc = ssh(node, command, timeout)
    assert proc.returncode == 0, f"{command!r} on {node.name}: {proc.stderr}"
    return proc.stdout



@pytest.fixture(scope="module")
def state_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pools")


def make_pool(state_root: Path, name: str, **kw: object) -> LocalPool:
    return LocalPool(f"{name}-{os.getpid()}", state_root=state_root, **kw)  # type: ignore[arg-type]


class Pair(NamedTuple):
    pool: LocalPool
    nodes: list[Node]
    state: PoolState


@pytest.fixture(scope="module")
def pair(state_root: Path) -> Iterator[Pair]:
    pool = make_pool(state_root, "pair", boot_timeout=60)
    try:
        nodes = pool.up([NodeSpec("node1", "debian-bookworm"), NodeSpec("node2", "ubuntu-noble")])
        state = load_state(pool.state_path)
        assert state is not None
        yield Pair(pool, nodes, state)
    finally:
        pool.down()


def test_nodes_answer_with_their_names_and_addresses(pair: Pair) -> None:
    _pool, nodes, state = pair
    assert [n.name for n in nodes] == ["node1", "node2"]
    assert nodes[1].labels == ["ubuntu-noble"]
    for node in nodes:
        assert ssh_ok(node, "hostname").strip() == node.name
        addr = ssh_ok(node, "ip -4 -o addr show dev host0")
        assert f"inet {node.address}/24" in addr
        mac = ssh_ok(node, "cat /sys/class/net/host0/address").strip()
        assert mac == state.nodes[node.name].mac
        hosts = ssh_ok(node, "cat /etc/hosts")
        for other in nodes:
            assert f"{other.address}\t{other.name}" in hosts
        assert ssh_ok(node, "systemctl is-system-running --wait || true").strip() == "running"


def test_nodes_reach_each_other(pair: Pair) -> None:
    _pool, nodes, _state = pair
    node1 = nodes[0]
    out = ssh_ok(node1, "ping -c 2 -W 2 node2")
    assert "2 received" in out
    # Node-to-node SSH with the pool's key and known_hosts.
    key = Path(node1.key_path).read_text()
    known = Path(node1.known_hosts or "").read_text()
    ssh_ok(node1, f"umask 077; cat > /root/.ssh/id_ed25519 <<'EOF'\n{key}EOF")
    ssh_ok(node1, f"cat > /root/.ssh/known_hosts <<'EOF'\n{known}EOF")
    out = ssh_ok(node1, "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes node2 hostname")
    assert out.strip() == "node2"


def test_host_reaches_nodes_over_the_bridge(pair: Pair) -> None:
    _pool, nodes, state = pair
    for node in nodes:
        proc = subprocess.run(
            ["ping", "-c", "1", "-W", "2", node.address], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout
        # The host address is known to the node as crossgate-host.
        assert "1 received" in ssh_ok(node, "ping -c 1 -W 2 crossgate-host")
    assert sorted(system.bridge_ports(state.bridge)) == sorted(
        ns.veth for ns in state.nodes.values()
    )


def test_dns_lookups_fail_fast(pair: Pair) -> None:
    _pool, nodes, _state = pair
    node = nodes[0]
    start = time.monotonic()
    proc = ssh(node, "getent hosts pypi.org; getent hosts example.invalid; echo done")
    assert "done" in proc.stdout
    script = (
        "import socket\ntry:\n socket.getaddrinfo('deb.debian.org', 80)\n"
        "except OSError as e:\n print('fail', e)"
    )
    out = ssh_ok(node, f'python3 -c "{script}"')
    assert out.startswith("fail")
    assert time.monotonic() - start < 5, "DNS lookups in a node must not hang"
    assert ssh_ok(node, "getent hosts node2").split()[0] == nodes[1].address


def test_each_node_has_its_own_cgroup(pair: Pair) -> None:
    pool, _nodes, state = pair
    for ns in state.nodes.values():
        for path in system.cgroup_paths(ns.cgroups[0]):
            assert path.is_dir()
        pids = pool.node_pids(ns.name)
        assert ns.pid in pids
        assert len(pids) > 3  # nspawn, the node's systemd and its services
    assert not set(pool.node_pids("node1")) & set(pool.node_pids("node2"))


# add_key(2) of a "user" key to the session keyring, from Python (no keyutils in the image).
ADD_KEY = (
    "import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
    "r = libc.syscall(248, b'user', b'crossgate', b'x', 1, -3); "
    "print(r if r >= 0 else os.strerror(ctypes.get_errno()))"
)


def test_only_a_container_label_can_run_containers(state_root: Path) -> None:
    """A node of a label with the "containers" feature gets writable v1 controllers with its
    own cgroup in each (a cgroup made inside it is under the node's on the host), keyring calls
    and /var/lib/containerd outside its overlay root; an ordinary node beside it gets none of
    it; down removes the node's cgroups in every hierarchy, with what the node made in them."""
    pool = make_pool(state_root, "ctr")
    nodes = pool.up([NodeSpec("k", "crossgate-kubernetes-bookworm"), NodeSpec("plain")])
    state = load_state(pool.state_path)
    assert state is not None
    try:
        k, plain = nodes
        dirs = [Path(d) for d in state.nodes["k"].cgroup_dirs]
        assert len(dirs) == len(system.own_v1_cgroup_parents()) > 0
        assert state.nodes["plain"].cgroup_dirs == []
        memory = next(d for d in dirs if d.parts[4] == "memory")
        assert ssh_ok(k, "systemctl is-active crossgate-cgroup-rw.service").strip() == "active"
        ssh_ok(k, "mkdir /sys/fs/cgroup/memory/pod1 && echo 67108864 > "
               "/sys/fs/cgroup/memory/pod1/memory.limit_in_bytes")
        assert (memory / "pod1/memory.limit_in_bytes").read_text().strip() == "67108864"
        refused = ssh(plain, "mkdir /sys/fs/cgroup/memory/pod1")
        assert refused.returncode != 0 and "Read-only file system" in refused.stderr
        assert ssh_ok(k, f'python3 -c "{ADD_KEY}"').strip().isdigit()
        assert ssh_ok(plain, f'python3 -c "{ADD_KEY}"').strip() == "Operation not permitted"
        ssh_ok(k, "touch /var/lib/containerd/probe")
        assert (Path(state.nodes["k"].dir) / "containerd/probe").is_file()
        assert ssh_ok(k, "findmnt -n -o FSTYPE /").strip() == "overlay"
        assert ssh_ok(k, "findmnt -n -o FSTYPE /var/lib/containerd").strip() != "overlay"
        assert ssh_ok(plain, "test -r /dev/kmsg || echo none").strip() == "none"
    finally:
        pool.down()
    assert leftovers(pool, state) == []
    assert not any(d.exists() for d in dirs)


def test_up_again_with_the_same_nodes_reuses_the_pool(pair: Pair) -> None:
    pool, nodes, state = pair
    start = time.monotonic()
    again = pool.up([NodeSpec("node1", "debian-bookworm"), NodeSpec("node2", "ubuntu-noble")])
    assert time.monotonic() - start < 1
    assert again == nodes
    after = load_state(pool.state_path)
    assert after is not None
    assert {n: s.pid for n, s in after.nodes.items()} == {n: s.pid for n, s in state.nodes.items()}
    assert [n.name for n in pool.list()] == ["node1", "node2"]


def test_down_leaves_nothing_behind(state_root: Path) -> None:
    pool = make_pool(state_root, "down")
    nodes = pool.up([NodeSpec("a"), NodeSpec("b")])
    state = load_state(pool.state_path)
    assert state is not None
    assert ssh_ok(nodes[0], "hostname").strip() == "a"
    assert leftovers(pool, state) != []  # the check below sees real things
    start = time.monotonic()
    pool.down()
    assert time.monotonic() - start < 15
    assert leftovers(pool, state) == []
    assert pool.list() == []
    pool.down()  # twice is fine
    # The console logs and the pool's key stay for diagnosis and reuse.
    assert (pool.dir / "logs/a.console.log").is_file()
    assert (pool.dir / "ssh/id_ed25519").is_file()


def test_a_node_that_does_not_power_off_is_killed_after_the_grace_period(
    state_root: Path,
) -> None:
    pool = make_pool(state_root, "grace", grace=1.0)
    (node,) = pool.up([NodeSpec("stubborn")])
    state = load_state(pool.state_path)
    assert state is not None
    # A unit whose stop hangs: the node's poweroff would wait for it for 90 s.
    unit = "[Service]\nExecStart=/bin/sleep infinity\nExecStop=/bin/sleep 600\nTimeoutStopSec=600\n"
    ssh_ok(node, f"cat > /etc/systemd/system/hang.service <<'EOF'\n{unit}EOF")
    ssh_ok(node, "systemctl daemon-reload && systemctl start hang.service")
    start = time.monotonic()
    pool.down()
    took = time.monotonic() - start
    assert took < 8, f"down took {took:.1f}s with grace 1s"
    assert leftovers(pool, state) == []


def _crash_up(pool: LocalPool, count: int) -> PoolState:
    """Run ``nodes up`` in a child process and SIGKILL it once its nodes were launched."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "plugins"))
    argv = [
        sys.executable,
        "-m",
        "crossgate.nodes.cli",
        "nodes",
        "up",
        "--pool",
        pool.name,
        "--state-dir",
        str(pool.state_root),
        "--count",
        str(count),
    ]
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    state = None
    while time.monotonic() < deadline:
        try:
            state = load_state(pool.state_path)
        except Exception:
            state = None
        if state and len(state.nodes) == count and all(n.pid for n in state.nodes.values()):
            break
        time.sleep(0.02)
    child.kill()
    child.wait()
    assert state is not None, "the child never launched its nodes"
    return state


def test_down_after_a_crash_cleans_up(state_root: Path) -> None:
    pool = make_pool(state_root, "crash")
    state = _crash_up(pool, 2)
    # Kill one node's nspawn uncleanly: the node dies with it, its mount, cgroups, the bridge
    # and the firewall rules stay; the other node keeps running.
    first, second = state.nodes.values()
    os.kill(first.pid, signal.SIGKILL)  # type: ignore[arg-type]
    assert system.wait_dead(first.pid, first.pid_start, 10)
    left = leftovers(pool, state)
    assert f"mount {first.root}" in left
    assert f"bridge {state.bridge}" in left
    assert f"nspawn pid {second.pid}" in left
    assert any(item.startswith("cgroup ") and item.endswith(first.cgroups[0]) for item in left)
    pool.down()
    assert leftovers(pool, state) == []


def test_up_after_a_crash_replaces_the_leftovers(state_root: Path) -> None:
    pool = make_pool(state_root, "recover")
    old = _crash_up(pool, 2)
    for ns in old.nodes.values():
        os.kill(ns.pid, signal.SIGKILL)  # type: ignore[arg-type]
    try:
        nodes = pool.up([NodeSpec("node1"), NodeSpec("node2")])
        new = load_state(pool.state_path)
        assert new is not None
        assert all(not system.alive(o.pid, o.pid_start) for o in old.nodes.values())
        assert ssh_ok(nodes[1], "ping -c 1 -W 2 node1 >/dev/null && hostname").strip() == "node2"
    finally:
        pool.down()
    assert leftovers(pool, old) == []
    assert leftovers(pool, new) == []


def test_a_broken_image_is_a_node_failure(state_root: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken-rootfs"
    (broken / "etc").mkdir(parents=True)
    (broken / "usr/lib").mkdir(parents=True)
    (broken / "usr/lib/os-release").write_text("ID=broken\n")
    labels = {"debian-bookworm": "debian-bookworm", "broken": str(broken)}
    pool = make_pool(state_root, "broken", labels=labels, boot_timeout=20)
    with pytest.raises(NodeFailure) as info:
        pool.up([NodeSpec("good"), NodeSpec("bad", "broken")])
    message = str(info.value)
    assert "node bad" in message
    assert "systemd-nspawn exited" in message
    assert str(pool.dir / "logs/bad.console.log") in message
    assert info.value.node == "bad"
    assert not pool.state_path.exists()
    assert system.mounts_under(pool.dir) == []
    assert not list((pool.dir / "nodes").glob("*")) if (pool.dir / "nodes").exists() else True
    assert pool.list() == []


def test_a_node_without_ssh_times_out_with_a_clear_message(state_root: Path) -> None:
    # sshd cannot be executed in this node: it boots but never accepts SSH.
    pool = make_pool(
        state_root, "nossh", boot_timeout=6, nspawn_args=("--bind-ro=/dev/null:/usr/sbin/sshd",)
    )
    start = time.monotonic()
    with pytest.raises(WaitTimeout) as info:
        pool.up([NodeSpec("mute")])
    assert time.monotonic() - start < 20
    message = str(info.value)
    assert "node mute: timed out after 6s waiting for an SSH login on 10." in message
    assert "last state: " in message
    assert str(pool.dir / "logs/mute.console.log") in message
    assert isinstance(info.value, NodeFailure)
    assert not pool.state_path.exists()
    assert system.mounts_under(pool.dir) == []


def test_inventory_provider_uses_a_running_node(state_root: Path, tmp_path: Path) -> None:
    local = make_pool(state_root, "inv")
    try:
        (node,) = local.up([NodeSpec("target")])
        inventory = tmp_path / "inventory.yaml"
        state = load_state(local.state_path)
        assert state is not None
        unused = state.subnet.replace(".0/24", ".200")  # on our bridge, nobody there
        inventory.write_text(
            yaml.safe_dump(
                {
                    "nodes": [
                        {
                            "name": "target",
                            "address": node.address,
                            "key": node.key_path,
                            "known_hosts": node.known_hosts,
                            "labels": ["debian-bookworm"],
                        },
                        {
                            "name": "gone",
                            "address": unused,
                            "key": node.key_path,
                            "labels": ["other"],
                        },
                    ]
                }
            )
        )
        inv = InventoryPool("inv", inventory, ssh_timeout=3)
        (got,) = inv.up([NodeSpec("controller", "debian-bookworm")])
        assert got.name == "controller" and got.address == node.address
        assert ssh_ok(got, "hostname").strip() == "target"
        start = time.monotonic()
        with pytest.raises(NodeFailure) as info:
            inv.up([NodeSpec("gone", "other")])
        assert time.monotonic() - start < 10
        assert f"waiting for an SSH login on {unused}:22" in str(info.value)
        inv.down()  # leaves the machine alone
        assert ssh_ok(node, "hostname").strip() == "target"
        assert [m.name for m in inv.list()] == ["target", "gone"]
    finally:
        local.down()


def test_cli_up_list_down(state_root: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "plugins"))
    pool = f"cli-{os.getpid()}"
    base = [sys.executable, "-m", "crossgate.nodes.cli", "nodes"]
    common = ["--pool", pool, "--state-dir", str(state_root)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args, *common], env=env, capture_output=True, text=True, timeout=120
        )

    try:
        up = run("up", "--node", "web", "--node", "db:ubuntu-jammy", "--format", "json")
        assert up.returncode == 0, up.stderr
        nodes = json.loads(up.stdout)
        assert [(n["name"], n["labels"]) for n in nodes] == [
            ("web", ["debian-bookworm"]),
            ("db", ["ubuntu-jammy"]),
        ]
        listed = run("list")
        assert listed.returncode == 0
        assert "web" in listed.stdout and "db" in listed.stdout and "up" in listed.stdout
    finally:
        down = run("down")
    assert down.returncode == 0, down.stderr
    assert run("list").stdout.strip() == "no nodes"
    bad = run("up", "--node", "x:windows-11")
    assert bad.returncode == 2
    assert "--node: invalid value 'x:windows-11'; allowed: a known label:" in bad.stderr


def test_a_failed_image_build_leaves_no_half_built_image(tmp_path: Path) -> None:
    recipe = Recipe(
        name="cg-test-broken",
        suite="bookworm",
        variant="minbase",
        packages=("crossgate-no-such-package",),
    )
    cache = tmp_path / "images"
    with pytest.raises(ImageError) as info:
        ensure_image(recipe.name, cache, timeout=300, recipes={recipe.name: recipe})
    message = str(info.value)
    assert "debootstrap of image cg-test-broken failed" in message
    assert f"log: {cache}/cg-test-broken/build-" in message
    assert isinstance(info.value, NodeFailure)
    assert [p.name for p in (cache / recipe.name).iterdir()] == [f"build-{recipe_hash(recipe)}.log"]
    assert cached_image(recipe, cache) is None


def test_image_builds_wait_for_the_lock_with_a_timeout(tmp_path: Path) -> None:
    recipe = Recipe(name="cg-test-locked", suite="bookworm", variant="minbase", packages=())
    cache = tmp_path / "images"
    cache.mkdir()
    with (cache / "cg-test-locked.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(WaitTimeout) as info:
            ensure_image(recipe.name, cache, timeout=1, recipes={recipe.name: recipe})
    assert f"waiting for the lock {cache}/cg-test-locked.lock (build of image cg-test-locked)" in (
        str(info.value)
    )
    assert not (cache / recipe.name).exists()
