"""Figures for crossgate.mirror on this machine: cold and warm sync of the apt closure a
MariaDB + RabbitMQ node needs, and of a wheel set, into a fresh mirror folder. Run as root:
``python bench/bench_mirror.py``. Prints, asserts nothing; the folder is removed afterwards
unless --keep is given."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from crossgate.mirror import AptReport, WheelReport, sync_apt, sync_wheels
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--package", action="append", help="apt package (default: a DB+MQ set)")
    parser.add_argument("--requirement", action="append", help="pip requirement")
    parser.add_argument("--dir", type=Path, help="mirror folder (default: a fresh temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the mirror folder")
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
    finally:
        if args.keep or args.dir:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
