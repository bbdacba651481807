"""Figures for crossgate.mirror on this machine: cold and warm sync of the apt closure a
MariaDB + RabbitMQ node needs, and of a wheel set, into a fresh mirror folder; with --node, also
the install of both into one local node through the mirror served on its bridge. Run as root:
``python bench/bench_mirror.py [--node]``. Prints, asserts nothing; the folder (and the node) are
removed afterwards unless --keep is given."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from crossgate.mirror import (
    AptReport,
    WheelReport,
    mirror_urls,
    start_server,
    stop_server,
    sync_apt,
    sync_wheels,
)
from crossgate.mirror.apt import build_index
from crossgate.mirror.cli import format_bytes
from crossgate.mirror.model import Layout

APT_PACKAGES = [
    "mariadb-server",
    "mariadb-client",
    "rabbitmq-server",
    "python3-venv",
    "python3-dev",
    "build-essential",
    "jq",
]
REQUIREMENTS = ["PyMySQL", "SQLAlchemy", "oslo.messaging", "oslo.config", "kombu"]


def apt_row(label: str, r: AptReport) -> str:
    return (
        f"{label:<22} {r.seconds:>7.2f}s  closure {r.closure:>4}  downloaded {r.downloaded:>4} "
        f"({format_bytes(r.downloaded_bytes):>9})  present {r.present:>4} "
        f"({format_bytes(r.present_bytes):>9})  lists {'updated' if r.lists_updated else 'reused'}"
    )


def wheel_row(label: str, r: WheelReport) -> str:
    return (
        f"{label:<22} {r.seconds:>7.2f}s  wheels {r.wheels:>4}  new {r.downloaded:>4} "
        f"({format_bytes(r.downloaded_bytes):>9})  present {r.present:>4}  "
        f"{'wheelhouse only' if r.offline else 'index asked'}"
    )


def node_install(root: Path, packages: list[str], requirements: list[str], port: int) -> None:
    """Install ``packages`` and ``requirements`` into a fresh node through the mirror."""
    from crossgate.nodes import LocalPool, NodeSpec
    from crossgate.nodes.state import load_state

    pool = LocalPool("mirror-bench")
    state_dir = root.parent / (root.name + "-servers")
    server = None
    try:
        started = time.monotonic()
        node = pool.up([NodeSpec("bench1")])[0]
        print(f"{'node up':<22} {time.monotonic() - started:>7.2f}s")
        pstate = load_state(pool.state_path)
        assert pstate is not None
        server = start_server(root, pstate.host_address, port, state_dir)
        urls = mirror_urls(server.address, server.port)
        opts = (
            "-o Dir::Etc::SourceList=/root/mirror.list -o Dir::Etc::SourceParts=/nonexistent "
            "-o Dpkg::Options::=--force-unsafe-io"
        )
        steps = [
            (
                "node apt update",
                f"echo 'deb [trusted=yes] {urls['apt']} ./' > /root/mirror.list"
                f" && apt-get -q {opts} update",
            ),
            (
                "node apt install",
                f"DEBIAN_FRONTEND=noninteractive apt-get -q {opts} install -y "
                "--no-install-recommends " + " ".join(packages),
            ),
            (
                "node venv + pip",
                "python3 -m venv /root/venv && /root/venv/bin/pip install -q "
                f"--index-url {urls['pypi']} --trusted-host {server.address} "
                + " ".join(f"'{r}'" for r in requirements),
            ),
        ]
        for label, command in steps:
            started = time.monotonic()
            proc = subprocess.run(
                node.ssh_command(command),
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
            )
            took = time.monotonic() - started
            result = "ok" if proc.returncode == 0 else f"FAILED: {proc.stderr.strip()[-300:]}"
            print(f"{label:<22} {took:>7.2f}s  {result}")
    finally:
        if server is not None:
            stop_server(server.address, server.port, state_dir)
        pool.down()
        shutil.rmtree(pool.dir, ignore_errors=True)
        shutil.rmtree(state_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--package", action="append", help="apt package (default: a DB+MQ set)")
    parser.add_argument("--requirement", action="append", help="pip requirement")
    parser.add_argument("--dir", type=Path, help="mirror folder (default: a fresh temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the mirror folder")
    parser.add_argument("--node", action="store_true", help="also install into a local node")
    parser.add_argument("--port", type=int, default=8788, help="server port for --node")
    args = parser.parse_args()
    packages = args.package or APT_PACKAGES
    requirements = args.requirement or REQUIREMENTS
    root = args.dir or Path(tempfile.mkdtemp(prefix="crossgate-bench-mirror-"))
    print(f"mirror folder: {root}")
    print(f"apt packages:  {' '.join(packages)}")
    print(f"requirements:  {' '.join(requirements)}")
    try:
        cold = sync_apt(packages, root)
        print(apt_row("apt cold", cold))
        warm = sync_apt(packages, root)
        print(apt_row("apt warm", warm))
        refresh = sync_apt(packages, root, refresh=True)
        print(apt_row("apt warm, lists update", refresh))
        started = time.monotonic()
        build_index(Layout(root), force=True)
        print(f"{'apt index rebuild':<22} {time.monotonic() - started:>7.2f}s")
        wcold = sync_wheels(requirements, root)
        print(wheel_row("wheels cold", wcold))
        wwarm = sync_wheels(requirements, root)
        print(wheel_row("wheels warm", wwarm))
        wref = sync_wheels(requirements, root, refresh=True)
        print(wheel_row("wheels warm, refresh", wref))
        if args.node:
            node_install(root, packages, requirements, args.port)
    finally:
        if args.keep or args.dir:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
