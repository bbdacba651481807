"""How long `crossgate check` takes on the whole library, next to Zuul's
configloader alone on the same files.

Prints wall times (best of N runs, each in a fresh process so imports count)
and the ratio. Run: python bench/bench_check.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

ZUUL_ONLY = r"""
import sys
from pathlib import Path
from zuul import configloader, model
from zuul.lib.ansible import AnsibleManager

class Connections:
    connections = {}

ctx = configloader.ParseContext(Connections(), model.SystemAttributes(),
                                model.SystemAttributes(), AnsibleManager())
parser = configloader.TenantParser(None, None, None, None, None, None, None, None)
root = Path(sys.argv[1])
errors = 0
for path in sys.argv[2:]:
    source = model.SourceContext("crossgate", "crossgate", "git", "master", path)
    with ctx.errorContext(source_context=source):
        parsed = parser.loadProjectYAML((root / path).read_text(), source, ctx)
    errors += sum(len(getattr(parsed, a)) for a in dir(parsed) if a.endswith("_errors"))
print(errors)
"""


def timed(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=False, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    files = sorted(str(p.relative_to(REPO)) for d in ("zuul.d", "zuul-tests.d")
                   for p in (REPO / d).rglob("*.yaml"))
    check = timed([sys.executable, "-m", "crossgate.cli", "check", "--extra-config-path",
                   "zuul-tests.d", "."], args.runs)
    zuul = timed([sys.executable, "-c", ZUUL_ONLY, str(REPO), *files], args.runs)
    best_c, best_z = min(check), min(zuul)
    print(f"files: {len(files)} Zuul config files, {len(list((REPO / 'roles').iterdir()))} roles")
    print(f"crossgate check (whole library):  best {best_c:.3f} s  "
          f"median {statistics.median(check):.3f} s  over {args.runs} runs")
    print(f"zuul configloader alone:          best {best_z:.3f} s  "
          f"median {statistics.median(zuul):.3f} s  over {args.runs} runs")
    print(f"ratio check / configloader: {best_c / best_z:.2f}x (goal: check <= 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
