"""Building a Go program set into the mirror: cold, after one pin changed, and built before.

Three builds of one set of a pin file (default: the Kubernetes layer's set) into a scratch
mirror folder, printed side by side per group:
  cold       empty Go module and build caches (every module downloaded, every package compiled)
  re-pinned  the build directory removed, Go's caches kept (what a changed pin costs the
             groups it did not change: nothing is downloaded or compiled, each program is
             still linked)
  before     the same pins again: the build is found by its key, nothing runs
and the size of the caches and binaries. Needs the go command and the Go module proxy.
Run: python bench/bench_gobuild.py [--pins FILE] [--set NAME] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "plugins"))

from crossgate.mirror import gobuild  # noqa: E402

PINS = REPO / "roles/deploy-kubernetes/files/programs.yaml"


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=False)
    return int(out.stdout.split()[0]) if out.returncode == 0 and out.stdout else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pins", type=Path, default=PINS)
    ap.add_argument("--set", default="kubernetes-1.34")
    ap.add_argument("--keep", type=Path, help="mirror folder to build in and keep")
    args = ap.parse_args()
    groups = gobuild.load_sets(args.pins)[args.set]
    root = args.keep or Path(tempfile.mkdtemp(prefix="crossgate-bench-go-"))
    shutil.rmtree(root / ".state" / "go", ignore_errors=True)
    shutil.rmtree(root / "go", ignore_errors=True)

    def build(label: str) -> gobuild.GoReport:
        t0 = time.monotonic()
        report = gobuild.GoBuilder(root, progress=lambda line: print(
            f"  [{label} {time.monotonic() - t0:6.1f}s] {line}", flush=True)).build(
                args.set, groups)
        return report

    try:
        cold = build("cold")
        # the build removed, Go's caches kept: what a changed pin costs the other groups
        shutil.rmtree(Path(cold.bin_dir).parent)
        repinned = build("re-pinned")
        before = build("before")
        caches = {k: du(root / ".state" / "go" / k) for k in ("mod", "build")}
        binaries = sum(p["size"] for p in cold.programs.values())
        print()
        print(f"{args.set}: {len(cold.programs)} programs from {len(groups)} Go modules "
              f"({args.pins.name}), one run each:")
        print(f"  {'group':<28}{'cold':>10}{'re-pinned':>12}")
        for g in groups:
            print(f"  {g.name:<28}{cold.group_seconds[g.name]:>9.1f}s"
                  f"{repinned.group_seconds[g.name]:>11.1f}s")
        print(f"  {'whole set':<28}{cold.seconds:>9.1f}s{repinned.seconds:>11.1f}s"
              f"   built before: {before.seconds:.1f}s")
        print(f"  cold/re-pinned {cold.seconds / max(repinned.seconds, 0.1):.1f}x; "
              f"binaries {binaries / 2**20:.0f} MiB; module cache {caches['mod'] / 2**20:.0f} "
              f"MiB; build cache {caches['build'] / 2**20:.0f} MiB")
        print(json.dumps({"cold": cold.seconds, "repinned": repinned.seconds,
                          "before": before.seconds, "groups_cold": cold.group_seconds,
                          "groups_repinned": repinned.group_seconds}))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
