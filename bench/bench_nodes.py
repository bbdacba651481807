"""Figures for crossgate.nodes on this machine: image build, node boot, parallel boot, teardown,
memory per idle node. Run as root: ``python bench/bench_nodes.py``. Prints, asserts nothing."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from crossgate.nodes import LocalPool, NodeSpec
from crossgate.nodes.bake import du
from crossgate.nodes.images import DEFAULT_CACHE, cached_image, ensure_image
from crossgate.nodes.labels import RECIPES
from crossgate.nodes.state import load_state


def pss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total


def du_mib(path: Path) -> float:
    return du(path) / 2**20


def boot_times(pool: LocalPool) -> dict[str, float]:
    state = load_state(pool.state_path)
    assert state is not None
    return {n: s.boot_seconds or 0.0 for n, s in state.nodes.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--label", default="debian-bookworm")
    parser.add_argument("--runs", type=int, default=3, help="single-node boots to time")
    parser.add_argument("--parallel", type=int, default=3)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before measuring")
    parser.add_argument("--state-dir", type=Path, default=Path("/var/lib/crossgate/bench-pools"))
    args = parser.parse_args()
    image_name = "debian-bookworm"

    was_cached = cached_image(RECIPES[image_name], DEFAULT_CACHE) is not None
    t = time.monotonic()
    image = ensure_image(image_name)
    took = time.monotonic() - t
    kind = "cached (lookup)" if was_cached else "cold build"
    print(f"image {image_name}: {kind} {took:.2f}s  rootfs {du_mib(image.rootfs):.0f} MiB")
    if was_cached:
        stamp = json.loads((image.rootfs.parent / "stamp.json").read_text())
        if "build_seconds" in stamp:
            print(f"  its cold build took {stamp['build_seconds']:.0f}s")

    pool = LocalPool(f"bench-{os.getpid()}", state_root=args.state_dir)
    try:
        for run in range(1, args.runs + 1):
            t = time.monotonic()
            pool.up([NodeSpec("solo", args.label)])
            up = time.monotonic() - t
            boot = boot_times(pool)["solo"]
            t = time.monotonic()
            pool.down()
            down = time.monotonic() - t
            print(
                f"single node run {run}: up {up:.2f}s (nspawn to SSH login {boot:.2f}s), "
                f"down {down:.2f}s"
            )

        specs = [NodeSpec(f"node{i}", args.label) for i in range(1, args.parallel + 1)]
        t = time.monotonic()
        pool.up(specs)
        up = time.monotonic() - t
        each = ", ".join(f"{n} {s:.2f}s" for n, s in boot_times(pool).items())
        print(f"{args.parallel} nodes in parallel: up {up:.2f}s (nspawn to SSH login: {each})")

        time.sleep(args.idle)
        state = load_state(pool.state_path)
        assert state is not None
        sizes = []
        for name, ns in state.nodes.items():
            kib = pss_kib(pool.node_pids(name))
            upper = du_mib(Path(ns.dir) / "upper")
            sizes.append(kib)
            print(
                f"  {name}: PSS {kib / 1024:.1f} MiB over {len(pool.node_pids(name))} "
                f"processes, overlay upper {upper:.1f} MiB"
            )
        print(
            f"memory per idle node (PSS, after {args.idle:.0f}s idle): "
            f"mean {sum(sizes) / len(sizes) / 1024:.1f} MiB"
        )

        t = time.monotonic()
        pool.down()
        print(f"{args.parallel} nodes down: {time.monotonic() - t:.2f}s")
    finally:
        pool.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
