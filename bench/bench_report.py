"""How long the results step takes on a large job: N check records spread over
nodes and layers, with phase markers, through collect, build, render and write.

Prints wall times per stage (best of N runs) and the output sizes; a job with a
few hundred checks is far below these figures. Run:
python bench/bench_report.py [--records N] [--nodes N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from crossgate.report import core
from crossgate.report.schema import validate_tree

LAYERS = ("network", "ceph", "openstack", "kubernetes")


def make_tree(root: Path, records: int, nodes: int) -> None:
    t0 = 1764064800.0
    for n in range(nodes):
        node = f"node{n + 1}"
        lines = []
        for i in range(n, records, nodes):
            status = "fail" if i % 97 == 0 else "skip" if i % 31 == 0 else "pass"
            rec = {"layer": LAYERS[i % len(LAYERS)], "check": f"check-{i}", "status": status,
                   "node": node, "started": t0 + i * 0.1, "duration": 0.05,
                   "evidence": {"output": "x" * 200, "i": i}}
            if status != "pass":
                rec["reason"] = f"reason {i}"
            lines.append(json.dumps(rec))
        folder = root / node
        folder.mkdir(parents=True)
        (folder / "checks.jsonl").write_text("\n".join(lines) + "\n")
        phases = [{"phase": "deploy", "name": layer, "event": event, "node": node,
                   "time": t0 - 100 + k * 20 + (15 if event == "end" else 0)}
                  for k, layer in enumerate(LAYERS) for event in ("start", "end")]
        (folder / "phases.jsonl").write_text("\n".join(json.dumps(p) for p in phases) + "\n")


def best(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, out = Path(tmp) / "records", Path(tmp) / "out"
        make_tree(root, args.records, args.nodes)
        t_collect, collected = best(lambda: core.collect(str(root)), args.runs)
        t_build, results = best(lambda: core.build_results(*collected), args.runs)
        t_render, rendered = best(lambda: core.render_all(results), args.runs)
        fresh = iter(range(args.runs))
        t_write, _ = best(lambda: core.write_outputs(rendered, f"{out}-{next(fresh)}"),
                          args.runs)
        t_same, _ = best(lambda: core.write_outputs(rendered, f"{out}-0"), args.runs)
        t_schema, _ = best(lambda: validate_tree(root), args.runs)
        print(f"{args.records} records on {args.nodes} nodes, best of {args.runs}:")
        for name, t in (("collect+validate (stdlib)", t_collect), ("build", t_build),
                        ("render json+junit+html", t_render), ("write", t_write),
                        ("write again (no change)", t_same),
                        ("jsonschema validation (host)", t_schema)):
            print(f"  {name:30s} {t * 1000:8.1f} ms")
        for name in ("results.json", "junit.xml", "report.html"):
            size = Path(f"{out}-0", name).stat().st_size
            print(f"  {name:30s} {size / 1024:8.0f} KiB")
        print(f"  jsonschema / stdlib validation: {t_schema / t_collect:.1f}x")


if __name__ == "__main__":
    main()
