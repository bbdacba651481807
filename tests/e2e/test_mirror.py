"""End-to-end tests of crossgate.mirror: a real apt closure and wheelhouse synced on the host,
served on a real node bridge, used by a real nspawn node without egress, and the
configure-mirrors role applied to that node with ansible-playbook."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from crossgate.mirror import (
    AptReport,
    ServerState,
    WheelReport,
    mirror_urls,
    server_status,
    start_server,
    stop_server,
    sync_apt,
    sync_wheels,
)
from crossgate.mirror.server import alive
from crossgate.nodes import LocalPool, Node, NodeSpec
from crossgate.nodes.state import load_state

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
POOL = "mirror-test"
PORT = 8789
APT_PACKAGES = ["jq", "python3-venv"]
REQUIREMENTS = ["six"]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")


@dataclass
class Env:
    dir: Path
    state_dir: Path
    pool: LocalPool
    node: Node
    server: ServerState
    cold_apt: AptReport
    cold_wheels: WheelReport
    figures: dict[str, float]


def ssh(node: Node, command: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        node.ssh_command(command), capture_output=True, text=True, timeout=timeout, check=False
    )


def ssh_ok(node: Node, command: str, timeout: float = 300) -> str:
    proc = ssh(node, command, timeout)
    assert proc.returncode == 0, f"{command!r} on {node.name}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    work = Path(tempfile.mkdtemp(prefix="crossgate-mirror-e2e-"))
    mirror_dir = work / "mirror"
    state_dir = work / "servers"
    pool = LocalPool(POOL)
    figures: dict[str, float] = {}
    server: ServerState | None = None
    try:
        cold_apt = sync_apt(APT_PACKAGES, mirror_dir)
        cold_wheels = sync_wheels(REQUIREMENTS, mirror_dir)
        node = pool.up([NodeSpec("mirror1")])[0]
        state = load_state(pool.state_path)
        assert state is not None
        server = start_server(mirror_dir, state.host_address, PORT, state_dir, timeout=10)
        yield Env(mirror_dir, state_dir, pool, node, server, cold_apt, cold_wheels, figures)
    finally:
        if server is not None:
            stop_server(server.address, server.port, state_dir)
        pool.down()
        shutil.rmtree(pool.dir, ignore_errors=True)  # keys and logs of this test's pool
        shutil.rmtree(work, ignore_errors=True)
        if figures:
            print("\nmirror e2e figures: " + json.dumps(figures, sort_keys=True))


def test_cold_sync_fetched_the_closure(env: Env) -> None:
    apt = env.cold_apt
    assert apt.lists_updated and apt.indexed
    assert apt.closure == apt.downloaded + apt.present
    assert apt.downloaded == apt.closure > 10  # an empty mirror: everything is fetched
    names = {f.split("_", 1)[0] for f in apt.files}
    # The whole closure for an empty system, not only what the host lacks.
    assert {"jq", "libjq1", "libonig5", "libc6", "python3.11-venv", "python3.11"} <= names
    assert (env.dir / "apt" / "Packages").is_file()
    assert (env.dir / "apt" / "Packages.gz").is_file()
    index = (env.dir / "apt" / "Packages").read_text()
    assert index.count("\nPackage: ") + index.startswith("Package: ") == apt.closure
    wh = env.cold_wheels
    assert wh.downloaded == wh.wheels == 1 and not wh.offline
    assert (env.dir / "wheels" / "simple" / "six" / "index.html").is_file()
    env.figures["cold_apt_seconds"] = apt.seconds
    env.figures["cold_apt_bytes"] = apt.downloaded_bytes
    env.figures["cold_wheel_seconds"] = wh.seconds


def test_second_sync_downloads_nothing(env: Env) -> None:
    apt = sync_apt(APT_PACKAGES, env.dir)
    assert apt.downloaded == 0 and apt.downloaded_bytes == 0
    assert apt.present == apt.closure == env.cold_apt.closure
    assert apt.present_bytes == env.cold_apt.downloaded_bytes
    assert not apt.lists_updated and not apt.indexed
    wh = sync_wheels(REQUIREMENTS, env.dir)
    assert wh.downloaded == 0 and wh.present == 1 and wh.offline
    env.figures["warm_apt_seconds"] = apt.seconds
    env.figures["warm_wheel_seconds"] = wh.seconds


def test_server_bound_to_bridge_address_only(env: Env) -> None:
    assert env.server.address != "0.0.0.0"
    rows = server_status(env.state_dir)
    assert [(r["address"], r["port"], r["running"]) for r in rows] == [
        (env.server.address, PORT, True)
    ]
    listening = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{PORT}"], capture_output=True, text=True, check=True
    ).stdout
    assert f"{env.server.address}:{PORT}" in listening
    assert f"0.0.0.0:{PORT}" not in listening and f"*:{PORT}" not in listening


def test_node_installs_through_mirror(env: Env) -> None:
    """apt and pip in the node reach only the mirror (the node has no egress)."""
    urls = mirror_urls(env.server.address, env.server.port)
    node = env.node
    host = env.server.address
    ssh_ok(node, f"echo 'deb [trusted=yes] {urls['apt']} ./' > /root/mirror.list")
    opts = (
        "-o Dir::Etc::SourceList=/root/mirror.list -o Dir::Etc::SourceParts=/nonexistent "
        "-o Dpkg::Options::=--force-unsafe-io"
    )
    started = time.monotonic()
    ssh_ok(node, f"apt-get {opts} update")
    ssh_ok(
        node,
        f"DEBIAN_FRONTEND=noninteractive apt-get {opts} install -y --no-install-recommends "
        + " ".join(APT_PACKAGES),
    )
    env.figures["node_apt_install_seconds"] = round(time.monotonic() - started, 2)
    assert ssh_ok(node, "echo '{\"a\": 7}' | jq .a").strip() == "7"
    started = time.monotonic()
    ssh_ok(node, "python3 -m venv /root/venv-raw")
    ssh_ok(
        node,
        f"/root/venv-raw/bin/pip install --no-index --find-links {urls['wheels']} "
        f"--trusted-host {host} six",
    )
    env.figures["node_pip_install_seconds"] = round(time.monotonic() - started, 2)
    assert ssh_ok(node, "/root/venv-raw/bin/python -c 'import six; print(six.__version__)'")
    log = Path(env.server.log).read_text()
    assert re.search(r'"GET /apt/(\./)?Packages(\.\w+)? HTTP/1.1" 200', log), log
    assert '"GET /wheels/six-' in log


def _inventory(env: Env, path: Path) -> None:
    node = env.node
    ssh_args = (
        f"-o UserKnownHostsFile={node.known_hosts} -o StrictHostKeyChecking=yes -o ControlMaster=no"
    )
    data = {
        "all": {
            "hosts": {
                node.name: {
                    "ansible_host": node.address,
                    "ansible_user": node.user,
                    "ansible_ssh_private_key_file": node.key_path,
                    "ansible_ssh_common_args": ssh_args,
                    "ansible_python_interpreter": "/usr/bin/python3",
                }
            }
        }
    }
    path.write_text(yaml.safe_dump(data))


PLAYBOOK = """\
- hosts: all
  gather_facts: false
  roles:
    - configure-mirrors
"""


def _playbook(env: Env, work: Path, extra: dict[str, object]) -> subprocess.CompletedProcess[str]:
    inventory = work / "inventory.yaml"
    if not inventory.exists():
        _inventory(env, inventory)
    playbook = work / "configure-mirrors.yaml"
    playbook.write_text(PLAYBOOK)
    environ = dict(
        os.environ,
        ANSIBLE_ROLES_PATH=str(REPO / "roles"),
        ANSIBLE_HOST_KEY_CHECKING="True",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOCAL_TEMP=str(work / "tmp"),
        ANSIBLE_CONFIG=str(work / "none.cfg"),
    )
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(playbook)]
    argv += ["-e", json.dumps(extra)]
    return subprocess.run(
        argv, capture_output=True, text=True, env=environ, timeout=600, check=False
    )


def _recap(output: str, host: str) -> dict[str, int]:
    m = re.search(rf"^{re.escape(host)}\s+:\s+(.*)$", output, re.M)
    assert m, output
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m[1])}


@pytest.fixture(scope="module")
def ansible_work(env: Env) -> Iterator[Path]:
    work = env.dir.parent / "ansible"
    work.mkdir()
    yield work
    shutil.rmtree(work, ignore_errors=True)


def test_role_points_node_at_mirror_and_is_idempotent(env: Env, ansible_work: Path) -> None:
    urls = mirror_urls(env.server.address, env.server.port)
    extra = {
        "configure_mirrors_apt_url": urls["apt"],
        "configure_mirrors_pypi_url": urls["pypi"],
        "configure_mirrors_wheels_url": urls["wheels"],
        "configure_mirrors_disable_other_sources": True,
    }
    first = _playbook(env, ansible_work, extra)
    assert first.returncode == 0, first.stdout + first.stderr
    recap = _recap(first.stdout, env.node.name)
    assert recap["failed"] == 0 and recap["changed"] >= 3, first.stdout
    second = _playbook(env, ansible_work, extra)
    assert second.returncode == 0, second.stdout + second.stderr
    recap2 = _recap(second.stdout, env.node.name)
    assert recap2["changed"] == 0 and recap2["failed"] == 0, second.stdout

    node = env.node
    listing = ssh_ok(node, "ls /etc/apt /etc/apt/sources.list.d")
    assert "sources.list.disabled-by-crossgate" in listing
    assert ssh_ok(node, "cat /etc/apt/sources.list.d/crossgate-mirror.list").strip() == (
        f"deb [trusted=yes] {urls['apt']} ./"
    )
    pip_conf = ssh_ok(node, "cat /etc/pip.conf")
    assert f"index-url = {urls['pypi']}" in pip_conf
    assert f"trusted-host = {env.server.address}" in pip_conf
    # Plain apt-get and pip, configured by the role alone, work through the mirror.
    ssh_ok(node, "apt-get update")
    ssh_ok(node, "DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall jq")
    ssh_ok(node, "python3 -m venv /root/venv-role && /root/venv-role/bin/pip install six")
    assert "/wheels/simple/six/" in Path(env.server.log).read_text()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, "configure_mirrors_apt_url, configure_mirrors_pypi_url and"),
        ({"configure_mirrors_apt_url": "ftp://x/apt"}, "configure_mirrors_apt_url is"),
        ({"configure_mirrors_pypi_url": "pypi.example"}, "configure_mirrors_pypi_url is"),
        (
            {"configure_mirrors_apt_url": "http://x/", "configure_mirrors_apt_update": "maybe"},
            "configure_mirrors_apt_update",
        ),
    ],
)
def test_role_rejects_bad_input(
    env: Env, ansible_work: Path, extra: dict[str, object], expected: str
) -> None:
    before = ssh_ok(env.node, "cat /etc/pip.conf /etc/apt/sources.list.d/*.list")
    proc = _playbook(env, ansible_work, extra)
    assert proc.returncode != 0
    assert expected in proc.stdout, proc.stdout
    assert ssh_ok(env.node, "cat /etc/pip.conf /etc/apt/sources.list.d/*.list") == before


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crossgate.mirror.cli", *argv],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_cli_sync_serve_status_stop(env: Env) -> None:
    proc = _cli(
        "sync",
        "--dir",
        str(env.dir),
        "--package",
        "jq",
        "--requirement",
        "six",
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["apt"]["downloaded"] == 0 and out["apt"]["present"] == out["apt"]["closure"]
    assert out["wheels"]["downloaded"] == 0 and out["wheels"]["offline"] is True

    state_dir = str(env.dir.parent / "cli-servers")  # removed with the test's folder
    where = ["--address", "127.0.0.1", "--port", str(PORT + 1), "--state-dir", state_dir]
    proc = _cli("serve", "--dir", str(env.dir), *where, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    served = json.loads(proc.stdout)
    assert served["urls"]["apt"] == f"http://127.0.0.1:{PORT + 1}/apt/"
    pid, start = served["pid"], served["pid_start"]
    try:
        status = json.loads(_cli("status", "--state-dir", state_dir, "--format", "json").stdout)
        assert [(r["pid"], r["running"]) for r in status] == [(pid, True)]
        with urllib.request.urlopen(served["urls"]["apt"] + "Packages", timeout=5) as resp:
            assert b"Package: jq" in resp.read()
    finally:
        proc = _cli("stop", *where)
    assert proc.returncode == 0 and "stopped" in proc.stdout
    assert not alive(pid, start)
    assert _cli("status", "--state-dir", state_dir).stdout.strip() == "no mirror servers"
    bad = _cli("serve", "--dir", str(env.dir), "--address", "0.0.0.0", "--state-dir", state_dir)
    assert bad.returncode == 2
    assert "--address: invalid value '0.0.0.0'; allowed:" in bad.stderr


def test_teardown_leaves_nothing(env: Env) -> None:
    pid, start = env.server.pid, env.server.pid_start
    assert alive(pid, start)
    assert stop_server(env.server.address, env.server.port, env.state_dir) is True
    assert not alive(pid, start)
    assert not Path(f"/proc/{pid}").exists() or not alive(pid, start)
    assert server_status(env.state_dir) == []
    env.pool.down()
    assert env.pool.list() == []
    assert not env.pool.state_path.exists()
