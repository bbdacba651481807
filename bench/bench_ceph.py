"""Ceph to HEALTH_OK from booted nodes with a warm mirror: wall time and memory.

Starts three local nodes (controller: mon, mgr, RGW; compute1, compute2: one OSD each, as in
crossgate-ceph), serves the host mirror (synced first, so it is warm) and points the nodes at
it, then times deploy-ceph with ansible-playbook until it returns (its last wait is for
HEALTH_OK with every PG active+clean), split into package installation and the rest. Then
measures the memory of the Ceph daemons in each node (sum of PSS, from /proc/PID/smaps_rollup)
and the node's whole memory by the same measure. Stops the RGW, takes the nodes down.
Run as root: python bench/bench_ceph.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = "ceph-common,ceph-mon,ceph-mgr,ceph-osd,radosgw"
NODES = ("controller", "compute1", "compute2")
PORT = 8797
PSS = r"""
import os, sys
daemons = {"ceph-mon", "ceph-mgr", "ceph-osd", "radosgw"}
total = ceph = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        comm = open(f"/proc/{pid}/comm").read().strip()
        pss = sum(int(l.split()[1]) for l in open(f"/proc/{pid}/smaps_rollup")
                  if l.startswith("Pss:"))
    except OSError:
        continue
    total += pss
    if comm in daemons:
        ceph += pss
print(ceph, total)
"""


def sh(*cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def ansible(tmp: Path, playbook: str, env: dict[str, str]) -> float:
    (tmp / "play.yaml").write_text(playbook)
    start = time.perf_counter()
    playbook_cmd = str(Path(sys.executable).parent / "ansible-playbook")
    proc = subprocess.run([playbook_cmd, "-i", str(tmp / "inventory.json"),
                           str(tmp / "play.yaml")], capture_output=True, text=True, env=env)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(proc.stdout[-4000:])
    return took


def one_run(tmp: Path, pool: str) -> dict[str, float]:
    crossgate = [sys.executable, "-m", "crossgate.cli"]
    nodes = json.loads(sh(*crossgate, "nodes", "up", "--pool", pool, "--format", "json",
                          *[a for n in NODES for a in ("--node", n)]).stdout)
    address = ".".join(nodes[0]["address"].split(".")[:3]) + ".1"
    state = tmp / "mirror-state"
    try:
        sh(*crossgate, "mirror", "serve", "--address", address, "--port", str(PORT),
           "--state-dir", str(state))
        hosts = {n["name"]: {"ansible_host": n["address"], "ansible_user": n["user"],
                             "ansible_ssh_private_key_file": n["key_path"],
                             "ansible_ssh_common_args":
                                 f"-o UserKnownHostsFile={n['known_hosts']} "
                                 "-o StrictHostKeyChecking=yes"} for n in nodes}
        inv = {"all": {"hosts": hosts, "children": {
            "ceph_mon": {"hosts": {"controller": {}}}, "ceph_rgw": {"hosts": {"controller": {}}},
            "ceph_osd": {"hosts": {"compute1": {}, "compute2": {}}}}}}
        (tmp / "inventory.json").write_text(json.dumps(inv))
        env = dict(os.environ, ANSIBLE_ROLES_PATH=str(REPO / "roles"), ANSIBLE_PIPELINING="1",
                   ANSIBLE_NOCOLOR="1")
        ansible(tmp, f"""
- hosts: all
  gather_facts: false
  roles:
    - role: configure-mirrors
      configure_mirrors_apt_url: http://{address}:{PORT}/apt/
      configure_mirrors_disable_other_sources: true
""", env)
        install = ansible(tmp, """
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.apt:
        name: "{{ ['ceph-common'] + (['ceph-mon', 'ceph-mgr', 'radosgw']
                   if inventory_hostname == 'controller' else ['ceph-osd']) }}"
        install_recommends: false
        dpkg_options: force-confdef,force-confold,force-unsafe-io
""", env)
        deploy = ansible(tmp, "- hosts: all\n  gather_facts: false\n  roles: [deploy-ceph]\n",
                         env)
        again = ansible(tmp, "- hosts: all\n  gather_facts: false\n  roles: [deploy-ceph]\n",
                        env)
        time.sleep(5)  # let the daemons settle after the last wait
        memory = {}
        for n in nodes:
            out = sh("ssh", "-i", n["key_path"], "-o", f"UserKnownHostsFile={n['known_hosts']}",
                     "-o", "StrictHostKeyChecking=yes", f"{n['user']}@{n['address']}",
                     "python3", "-", input=PSS).stdout.split()
            memory[n["name"]] = (int(out[0]) / 1024, int(out[1]) / 1024)
        sh("ssh", "-i", nodes[0]["key_path"], "-o",
           f"UserKnownHostsFile={nodes[0]['known_hosts']}", "-o", "StrictHostKeyChecking=yes",
           f"{nodes[0]['user']}@{nodes[0]['address']}", "systemctl", "stop",
           "ceph-radosgw.target")
    finally:
        subprocess.run([*crossgate, "mirror", "stop", "--address", address, "--port",
                        str(PORT), "--state-dir", str(state)], capture_output=True)
        subprocess.run([*crossgate, "nodes", "down", "--pool", pool], capture_output=True)
        folder = Path("/var/lib/crossgate/pools") / pool
        if not (folder / "state.json").exists():  # nothing of the pool runs: forget it
            shutil.rmtree(folder, ignore_errors=True)
    result = {"install": install, "deploy": deploy, "to_health_ok": install + deploy,
              "second_run": again}
    for name, (ceph, total) in memory.items():
        result[f"ceph_mib:{name}"] = ceph
        result[f"node_mib:{name}"] = total
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    packages = [a for p in PACKAGES.split(",") for a in ("--package", p)]
    sh(sys.executable, "-m", "crossgate.cli", "mirror", "sync", *packages)  # warm
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="crossgate-bench-ceph-") as tmp:
            runs.append(one_run(Path(tmp), f"bench-ceph-{os.getpid()}-{i}"))
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"Ceph on 3 local nodes (mon+mgr+RGW, 2 OSDs), warm mirror, {args.runs} run(s), "
          "median:")
    print(f"  packages installed (3 nodes, parallel):  {med['install']:.1f} s")
    print(f"  deploy-ceph to HEALTH_OK:                {med['deploy']:.1f} s")
    print(f"  booted nodes to HEALTH_OK:               {med['to_health_ok']:.1f} s")
    print(f"  second deploy-ceph (changes nothing):    {med['second_run']:.1f} s")
    for name in NODES:
        print(f"  memory {name:<10} Ceph daemons {med[f'ceph_mib:{name}']:6.0f} MiB PSS, "
              f"whole node {med[f'node_mib:{name}']:6.0f} MiB PSS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
