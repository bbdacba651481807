"""A trivial 2-node job end to end with crossgate run, warm image.

Prints the wall time of the whole build, of node start-up, of each playbook, the
number of tasks and the mean per-task overhead (playbook time / tasks run).

With --compare, the same job also runs without the Ansible settings crossgate run takes from
Zuul's executor for speed (pipelining, SSH connection reuse), set back to Ansible's behaviour
without them through ANSIBLE_* environment variables (which take precedence over the build's
ansible.cfg), and both are printed side by side with the ratio.
Run as root: python bench/bench_run.py [--runs N] [--compare]
"""

from __future__ import annotations

import argparse
import json
import os
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


# What crossgate run's ansible.cfg sets as Zuul's executor does for speed, undone: no pipelining
# (each module is copied to the node, then run in a second step) and a new SSH connection per
# task. The fact cache stays: jobs rely on it (a fact set in one playbook is read in the next),
# as they do in Zuul.
WITHOUT_ZUUL_SETTINGS = {
    "ANSIBLE_PIPELINING": "False",
    "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o UserKnownHostsFile=/dev/null "
                        "-o StrictHostKeyChecking=no -o LogLevel=ERROR",
}


def one_run(root: Path, env: dict[str, str] | None = None) -> dict[str, float]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "crossgate.cli", "run", JOB, "--extra-config-path",
         "zuul-tests.d", "--build-root", str(root)], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, **(env or {})})
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


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--compare", action="store_true",
                    help="also run without Zuul's Ansible settings, side by side")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="crossgate-bench-run-") as tmp:
        one_run(Path(tmp))  # warm the image and pip caches
        runs = [one_run(Path(tmp)) for _ in range(args.runs)]
        plain = ([one_run(Path(tmp), WITHOUT_ZUUL_SETTINGS) for _ in range(args.runs)]
                 if args.compare else [])
    med = medians(runs)
    if plain:
        other = medians(plain)
        print(f"job {JOB} on 2 local nodes, {args.runs} warm run(s) each (median):")
        print(f"  {'':34}{'Zuul settings':>14}{'without':>10}{'without/Zuul':>14}")
        for key, label, unit in (("wall", "wall, whole build", "s"),
                                 ("playbooks", "playbooks", "s"),
                                 ("tasks", "tasks run", ""),
                                 ("per_task", "per-task overhead", "s/task")):
            ratio = other[key] / med[key] if med[key] else 0.0
            fmt = ".0f" if key == "tasks" else ".2f"
            print(f"  {label + (f' ({unit})' if unit else ''):34}{med[key]:>14{fmt}}"
                  f"{other[key]:>10{fmt}}{ratio:>13.2f}x")
        print("  without = " + ", ".join(f"{k}={v}" for k, v in WITHOUT_ZUUL_SETTINGS.items()))
        return 0
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
