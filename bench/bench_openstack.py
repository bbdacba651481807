"""crossgate-openstack-ceph (or, with --job, crossgate-openstack-multinode) end to end with
crossgate run: wall time per phase and memory per node at the end of the run phase, on a warm
mirror, and with --cold first on an empty one, side by side.

--cold: the first run uses a new, empty host mirror (a temporary --mirror-dir), so that every
Debian package and wheel the job declares is downloaded from the registries during the build,
as on a machine that never ran it (the node image stays the cached one); the next run uses the
same mirror, now warm. Both are printed in one table.

Warms the host mirror first, as bench_ceph.py does: the job's own crossgate_mirror_packages,
crossgate_mirror_requirements and crossgate_mirror_constraints (zuul.d/) synced
with crossgate mirror sync (--no-warm skips it); crossgate run syncs again before the nodes boot,
and a warm mirror downloads nothing then. Then runs the job on 3 local nodes with crossgate run
and reads the build, as bench_run.py does: the node boot from the console (1 s resolution), the
phases from the report's phase markers (work/logs/crossgate-results/results.json: setup
multinode, preflight nodes, deploy and validate of each layer, and with Ceph the checks across
the layers; the executor's clock), post from build.json (the post-run playbooks), and the total
from booted nodes to the end of the last validate phase, whose marker is written only once
every check passed.

Memory. crossgate run takes the nodes down when the build ends, and neither the runner nor the
job has a hook to measure inside it (no option keeps the nodes, no job variable adds a task).
So the memory is measured inside the build the way tests/e2e/openstack-ceph-repo adds its
faults: a
child job, bench-openstack-pss, in a temporary project, whose parent is the job and which
adds one post-run playbook. Zuul runs a child's post-run
before its parent's, so the run phase is exactly the job's, and the
measurement comes right after it, before collect-openstack-logs. On every node, as root, as
bench_ceph.py does: the sum of Pss in /proc/*/smaps_rollup, for the whole node (less the
measurement itself and its parents: the script, the Ansible module, sudo, sshd) and for the
layer's systemd units (from /proc/PID/cgroup; the units collect-openstack-logs collects:
crossgate-*, OVN, Open vSwitch, MariaDB, RabbitMQ, and RabbitMQ's epmd). It goes into
~/zuul-output/logs/bench-pss.json, which the base job brings back (work/logs/NODE/), and its
playbook is not counted in the post phase. --no-pss runs the job itself, by name, and prints
the times only.

--baked: each warm run is followed by the same run on the job's baked image
(crossgate-ceph-bookworm, crossgate-openstack-ceph-bookworm: docs/images.rst), mapped with
crossgate run --label debian-bookworm=IMAGE; the image is built first (its build time printed
once) or found cached. Both columns are printed side by side with the ratio warm/baked.
--job crossgate-ceph measures the Ceph layer alone the same way.

Run as root: python bench/bench_openstack.py [--job JOB] [--cold] [--baked] [--runs N]
[--no-pss] [--no-warm] [--by-unit] [--build-root DIR]
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
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
JOBS = ("crossgate-openstack-ceph", "crossgate-openstack-multinode", "crossgate-ceph")
# --baked: the image each job's nodes boot from instead of the bare debian-bookworm
BAKED = {"crossgate-openstack-ceph": "crossgate-openstack-ceph-bookworm",
         "crossgate-ceph": "crossgate-ceph-bookworm"}
CHILD = "bench-openstack-pss"
CHILD_PROJECT = "bench/openstack-pss"
NODES = ("controller", "compute1", "compute2")
PSS_FILE = "bench-pss.json"
STAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \| (.*)")
# (phase, name) of the report's spans, as printed, per job; the last one ends the checks
BASE_PHASES = ((("setup", "multinode"), "multinode (hosts, known hosts, overlay)"),
               (("preflight", "nodes"), "nodes (preflight)"))
OPENSTACK_PHASES = ((("deploy", "openstack"), "openstack deploy"),
                    (("validate", "openstack"), "openstack validate"))
CEPH_PHASES = ((("deploy", "ceph"), "ceph deploy"), (("validate", "ceph"), "ceph validate"))
PHASES = {
    "crossgate-ceph": BASE_PHASES + CEPH_PHASES,
    "crossgate-openstack-multinode": BASE_PHASES + OPENSTACK_PHASES,
    "crossgate-openstack-ceph": (*BASE_PHASES, (("deploy", "ceph"), "ceph deploy"),
                                 (("validate", "ceph"), "ceph validate"), *OPENSTACK_PHASES,
                                 (("validate", "integration"), "checks across openstack and ceph")),
}
JOB = JOBS[0]  # set from --job in main()

CHILD_ZUUL = """\
- job:
    name: {child}
    parent: {job}
    description: >-
      {job}, with the memory of every node measured right after its run phase
      (bench/bench_openstack.py).
    post-run: playbooks/pss.yaml
"""

PSS_PLAYBOOK = f"""\
---
# The first post-run playbook of the build: Zuul runs a child's post-run before its parent's.
- name: Measure the memory of every node at the end of the run phase
  hosts: all
  gather_facts: false
  tasks:
    - name: Sum of Pss in /proc/*/smaps_rollup, by systemd unit
      ansible.builtin.script:
        cmd: pss.py
        executable: python3
      register: bench_pss
      changed_when: false
      become: true

    - name: Keep it with the node's logs
      ansible.builtin.copy:
        content: "{{{{ bench_pss.stdout }}}}"
        dest: "~/zuul-output/logs/{PSS_FILE}"
        mode: "0644"
"""

PSS = r"""
import fnmatch, json, os
# the units collect-openstack-logs collects (collect_openstack_logs_units), RabbitMQ's epmd,
# and Ceph's daemons
LAYER = ("crossgate-*", "keystone*", "glance*", "placement*", "nova*", "neutron*", "cinder*",
         "ovn*", "openvswitch*", "ovs*", "mariadb*", "rabbitmq*", "epmd*", "ceph*")
skip, pid = set(), os.getpid()
while pid > 1:  # this script and its parents (the Ansible module, sudo, sshd)
    skip.add(pid)
    try:
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        break
units, node, layer = {}, 0, 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) in skip:
        continue
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            pss = sum(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        with open(f"/proc/{pid}/cgroup") as f:
            lines = [ln.split(":", 2) for ln in f.read().splitlines()]
    except (OSError, ValueError, IndexError):
        continue
    path = next((p for h, c, p in lines if h == "0" or c == "name=systemd"), "")
    parts = path.split("/")[::-1]  # innermost first: a node's path may hold the host's part
    unit = next((u for u in parts if u.endswith(".service")), None) \
        or next((u for u in parts if u.endswith(".scope")), path or "-")
    units[unit] = units.get(unit, 0) + pss
    node += pss
    if any(fnmatch.fnmatch(unit, p) for p in LAYER):
        layer += pss
print(json.dumps({"node_kib": node, "layer_kib": layer, "units_kib": units}))
"""


def sh(*cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def job_vars() -> dict[str, Any]:
    """The variables of JOB in zuul.d/."""
    for path in sorted((REPO / "zuul.d").glob("*.yaml")):
        for item in yaml.safe_load(path.read_text()) or []:
            if item.get("job", {}).get("name") == JOB:
                return item["job"].get("vars", {})
    sys.exit(f"{JOB} is not in zuul.d/")


def warm() -> None:
    """Sync the job's packages and wheels into the host mirror, as crossgate run would."""
    v = job_vars()
    cmd = [sys.executable, "-m", "crossgate.cli", "mirror", "sync"]
    cmd += [a for p in v.get("crossgate_mirror_packages", []) for a in ("--package", p)]
    cmd += [a for r in v.get("crossgate_mirror_requirements", []) for a in ("--requirement", r)]
    if v.get("crossgate_mirror_constraints"):
        cmd += ["--constraints", str(REPO / v["crossgate_mirror_constraints"])]
    try:
        sh(*cmd)
    except subprocess.CalledProcessError as exc:
        sys.exit(f"mirror sync failed:\n{exc.stdout[-3000:]}{exc.stderr[-3000:]}")


def child_project(folder: Path) -> Path:
    """The project of bench-openstack-pss: its zuul.yaml, playbook and script."""
    (folder / "playbooks/files").mkdir(parents=True)
    (folder / "zuul.yaml").write_text(CHILD_ZUUL.format(child=CHILD, job=JOB))
    (folder / "playbooks/pss.yaml").write_text(PSS_PLAYBOOK)
    (folder / "playbooks/files/pss.py").write_text(PSS)
    return folder


def epoch(stamp: str) -> float:
    return time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S"))


def one_run(root: Path, project: Path | None, pool: str, mirror_dir: Path | None = None,
            image: str | None = None) -> tuple[dict[str, float], dict]:
    job = CHILD if project else JOB
    cmd = [sys.executable, "-m", "crossgate.cli", "run", job, "--build-root", str(root),
           "--pool", pool]
    if image is not None:
        cmd += ["--label", f"debian-bookworm={image}"]
    if mirror_dir is not None:
        cmd += ["--mirror-dir", str(mirror_dir)]
    if project:
        cmd += ["--path", str(project), "--name", CHILD_PROJECT,
                "--project", f"crossgate/crossgate={REPO}"]
    else:
        cmd += ["--path", str(REPO), "--name", "crossgate/crossgate"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    builds = sorted(root.glob(f"*-{job}"))
    if not builds:
        sys.exit(f"{job}: no build (rc={proc.returncode})\n{proc.stdout[-3000:]}"
                 f"{proc.stderr[-3000:]}")
    build_dir = builds[-1]
    build = json.loads((build_dir / "build.json").read_text())
    if build["result"] != "SUCCESS":
        sys.exit(f"{job}: {build['result']} ({build_dir})\n{proc.stdout[-4000:]}")
    logs = build_dir / "work/logs"
    results = json.loads((logs / "crossgate-results/results.json").read_text())
    records = results["records"]
    layer = "ceph" if JOB == "crossgate-ceph" else "openstack"
    if not any(r["layer"] == layer for r in records) \
            or any(r["status"] != "pass" for r in records):
        sys.exit(f"{job}: not every check passed ({build_dir})")
    spans = {(s["phase"], s["name"]): s for s in results["phases"]}
    missing = [key for key, _ in PHASES[JOB] if spans.get(key, {}).get("end") is None]
    if missing:
        sys.exit(f"{job}: phases without an end in results.json: {missing} ({build_dir})")

    # the last attempt's node request and its answer, as bench_run.py reads them
    stamps = [(epoch(m[1]), m[2]) for ln in (build_dir / "job-output.txt").read_text()
              .splitlines() if (m := STAMP.match(ln))]
    asked = max(i for i, (_, text) in enumerate(stamps) if text.startswith("NODES: requesting"))
    booted = next(t for t, text in stamps[asked + 1:] if text.startswith("NODES:"))
    attempt = [p for p in build["playbooks"] if p["attempt"] == build["attempts"]]
    post = [p for p in attempt if p["phase"] in ("post", "cleanup")]
    multinode, validate = spans[("setup", "multinode")], spans[PHASES[JOB][-1][0]]
    result = {
        "boot": booted - stamps[asked][0],
        "base_pre": multinode["start"] - booted,
        "post": sum(p["end"] - p["start"] for p in post if p["project"] != CHILD_PROJECT),
        "pss_playbook": sum(p["end"] - p["start"] for p in post
                            if p["project"] == CHILD_PROJECT),
        "to_checks": validate["end"] - booted,
        "wall": wall,
        "checks": len(records),
        "attempts": build["attempts"],
    }
    for key, _ in PHASES[JOB]:
        result[":".join(key)] = spans[key]["end"] - spans[key]["start"]
    memory = {}
    if project:
        for node in NODES:
            path = logs / node / PSS_FILE
            if not path.is_file():
                sys.exit(f"{job}: no {PSS_FILE} from {node} ({build_dir})")
            memory[node] = json.loads(path.read_text())
            result[f"layer_mib:{node}"] = memory[node]["layer_kib"] / 1024
            result[f"node_mib:{node}"] = memory[node]["node_kib"] / 1024
    return result, memory


def main() -> int:
    global JOB
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--job", choices=JOBS, default=JOBS[0])
    ap.add_argument("--runs", type=int, default=1, help="warm runs (median)")
    ap.add_argument("--cold", action="store_true",
                    help="first one run on a new, empty mirror, then the warm runs on it")
    ap.add_argument("--no-pss", action="store_true",
                    help="run the job itself and print the times only")
    ap.add_argument("--no-warm", action="store_true", help="do not sync the mirror first")
    ap.add_argument("--by-unit", action="store_true",
                    help="also print the PSS of each systemd unit (last run)")
    ap.add_argument("--baked", action="store_true",
                    help="also run each warm run on the job's baked image (built first, "
                         "timed once), side by side with the bare image")
    ap.add_argument("--build-root", type=Path,
                    help="keep the builds here (default: a temporary folder, removed)")
    args = ap.parse_args()
    JOB = args.job
    if args.baked and JOB not in BAKED:
        ap.error(f"--baked: {JOB} has no baked image; allowed with --job "
                 + ", ".join(BAKED))
    bake = None
    if args.baked:
        proc = subprocess.run([sys.executable, "-m", "crossgate.cli", "nodes", "image",
                               BAKED[JOB], "--format", "json"], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"crossgate nodes image {BAKED[JOB]} failed:\n{proc.stdout}{proc.stderr}")
        bake = json.loads(proc.stdout.strip().splitlines()[-1])
    if not args.no_warm and not args.cold:
        warm()
    columns, memory = {}, {}
    with tempfile.TemporaryDirectory(prefix="crossgate-bench-openstack-") as tmp:
        project = None if args.no_pss else child_project(Path(tmp) / "project")
        root = args.build_root.resolve() if args.build_root else Path(tmp) / "runs"
        root.mkdir(parents=True, exist_ok=True)
        mirror = Path(tmp) / "mirror" if args.cold else None
        if args.cold:
            result, memory = one_run(root, project, f"bench-os-{os.getpid()}-c", mirror)
            columns["cold"] = [result]
        warm_runs, baked_runs = [], []
        for i in range(args.runs):
            result, memory = one_run(root, project, f"bench-os-{os.getpid()}-{i}", mirror)
            warm_runs.append(result)
            if args.baked:
                result, _ = one_run(root, project, f"bench-os-{os.getpid()}-b{i}",
                                               mirror, BAKED[JOB])
                baked_runs.append(result)
        columns["warm"] = warm_runs
        if baked_runs:
            columns["baked"] = baked_runs
    med = {c: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
           for c, runs in columns.items()}
    warm_med = med["warm"]
    driver = "" if JOB == "crossgate-ceph" else " (fake virt driver)"
    print(f"{JOB} on 3 local nodes{driver}; "
          + ("a cold run (empty mirror), then " if args.cold else "")
          + f"{args.runs} warm run(s), median; {warm_med['checks']:.0f} checks passed"
          + (" (retried attempts!)" if any(r["attempts"] > 1 for rs in columns.values()
                                           for r in rs) else "") + ":")
    rows = [("nodes booted (3, parallel; 1 s resolution)", "boot"),
            ("base pre-run (wait, facts, mirrors, sources)", "base_pre")]
    rows += [(label, ":".join(key)) for key, label in PHASES[JOB]]
    rows += [("post (logs, report)", "post"),
             ("booted nodes to every check passed", "to_checks"),
             ("whole build (crossgate run)", "wall")]
    names = list(columns)
    if bake is not None:
        print(f"  image {bake['image']} (key {bake['key']}): "
              + (f"built in {bake['seconds']:.1f} s, once" if bake["built"]
                 else f"cached (found in {bake['seconds']:.1f} s)")
              + "; the 'baked' column boots from it, 'warm' from bare debian-bookworm")
    print(f"  {'':<46} " + " ".join(f"{n:>9}" for n in names)
          + ("  cold/warm" if args.cold else "") + (" warm/baked" if args.baked else ""))
    for label, key in rows:
        line = f"  {label:<46} " + " ".join(f"{med[n][key]:8.1f}s" for n in names)
        if args.cold and med["warm"][key] > 0:
            line += f"  {med['cold'][key] / med['warm'][key]:8.2f}x"
        if args.baked and med["baked"][key] > 0:
            line += f"  {med['warm'][key] / med['baked'][key]:8.2f}x"
        print(line)
    if args.no_pss:
        return 0
    print(f"  (memory measurement after the run phase, not in post: "
          f"{warm_med['pss_playbook']:.1f} s)")
    for name in [n for n in ("warm", "baked") if n in med]:
        print(f"memory (sum of PSS) at the end of the run phase, {name} median:")
        total_layer = total_node = 0.0
        for node in NODES:
            total_layer += med[name][f"layer_mib:{node}"]
            total_node += med[name][f"node_mib:{node}"]
            print(f"  {node:<10} the layers' units {med[name][f'layer_mib:{node}']:6.0f} MiB "
                  f"PSS, whole node {med[name][f'node_mib:{node}']:6.0f} MiB PSS")
        print(f"  {'all nodes':<10} the layers' units {total_layer:6.0f} MiB PSS, "
              f"whole nodes {total_node:6.0f} MiB PSS")
    if args.by_unit:
        for node in NODES:
            print(f"  {node}, by unit (last run, 1 MiB or more):")
            units = sorted(memory[node]["units_kib"].items(), key=lambda kv: -kv[1])
            for unit, kib in units:
                if kib >= 1024:
                    print(f"    {unit:<48} {kib / 1024:6.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
