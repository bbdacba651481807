"""A trivial 2-node job end to end with crossgate run, warm image.

Prints the wall time of the whole build, of node start-up, of each playbook, the
number of tasks and the mean per-task overhead (playbook time / tasks run).
Run as root: python bench/bench_run.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
JOB = "crossgate-test-write-hosts-file"


def one_run(root: Path) -> dict[str, float]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "crossgate.cli", "run", JOB, "--extra-config-path",
         "zuul-tests.d", "--build-root", str(root)], cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    build_dir = sorted(root.glob(f"*-{JOB}"))[-1]
    build = json.loads((build_dir / "build.json").read_text())
    if build["result"] != "SUCCESS":
        sys.exit(f"{JOB}: {build['result']}\n{proc.stdout[-3000:]}")
    console = (build_dir / "job-output.txt").read_text().splitlines()
    stamps = [(datetime.strptime(ln[:19], "%Y-%m-%d %H:%M:%S"), ln[22:]) for ln in console
              if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| ", ln)]
    asked = next(t for t, text in stamps if text.startswith("NODES: requesting"))
    got = next(t for t, text in stamps if text.startswith("NODES:") and "requesting" not in text)
    tasks = sum(1 for _, text in stamps if text.startswith("TASK ["))
    playbook_time = sum(p["end"] - p["start"] for p in build["playbooks"])
    return {"wall": wall, "nodes": (got - asked).total_seconds(), "playbooks": playbook_time,
            "playbook_count": len(build["playbooks"]), "tasks": tasks,
            "per_task": playbook_time / max(tasks, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="crossgate-bench-run-") as tmp:
        one_run(Path(tmp))  # warm the image and pip caches
        runs = [one_run(Path(tmp)) for _ in range(args.runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"job {JOB} on 2 local nodes, {args.runs} warm runs (median):")
    print(f"  wall, whole build:           {med['wall']:.1f} s")
    print(f"  nodes up (2, parallel):      {med['nodes']:.1f} s (1 s resolution)")
    print(f"  playbooks:                   {med['playbook_count']:.0f}, {med['playbooks']:.1f} s")
    print(f"  tasks run:                   {med['tasks']:.0f}")
    print(f"  per-task overhead:           {med['per_task']:.2f} s/task")
    outside = med["wall"] - med["playbooks"]
    print(f"  outside playbooks (freeze, nodes, teardown): {outside:.1f} s "
          f"({outside / med['wall']:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
