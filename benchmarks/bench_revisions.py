"""Before/after: model build and sweep fast-path speed of two git revisions, in one run.

Checks out ``--base`` (default ``HEAD~1``) into a temporary git worktree and times the
same work on it and on this working tree, alternating (base, this, base, this, ...) so
that both see the same machine load; reports the min and median of ``--repeat`` rounds:

- ``build_default_s`` / ``build_large_s``: ``optimizer.model.formulation.build`` plus
  rendering into HiGHS, of the shipped scenario and of the 221k-column synthetic instance
  (``bench_model.py``'s ``large``);
- ``fast_default_per_s``: scenarios per second of the sweep fast path
  (``ParametricModel.solve`` in both modes, warm HiGHS) over ``--scenarios`` variants of
  the shipped data with random demand, export, financing-rate and regional cost-factor
  multipliers (the ``bench_batch.py`` distribution), in one process.

Each measurement runs in a fresh subprocess with ``PYTHONPATH`` set to one tree.

Usage::

    python benchmarks/bench_revisions.py --base c314343 --repeat 3

Writes ``benchmarks/results/revisions.json`` and ``benchmarks/results/revisions.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: Run inside a subprocess whose PYTHONPATH is one tree; prints one JSON object.
CHILD = r"""
import json, sys, time
import numpy as np
import optimizer
from optimizer.model.backends import highs
from optimizer.model.formulation import build
from optimizer.scenario.synthetic import synthetic_scenario
try:
    from optimizer.sweeps.fast_model import ParametricModel
    from optimizer.sweeps.overrides import Overrides
except ImportError:  # before the sweeps package existed
    from optimizer.parametric import ParametricModel
    from optimizer.variants import Overrides

what, n = sys.argv[1], int(sys.argv[2])
out = {"tree": optimizer.__file__}
# The shipped data as an LP in every revision: data/divisible.toml where the default has
# lumpy plants (a MILP), the default itself before.
divisible = optimizer.default_data_dir() / "divisible.toml"
shipped = divisible if divisible.exists() else None
if what == "build":
    base = optimizer.load_scenario(shipped)
    large, arcs = synthetic_scenario(40, 40, sectors=20, seed=0)
    for name, (scenario, network) in {"default": (base, None), "large": (large, arcs)}.items():
        best = float("inf")
        for _ in range(3 if name == "default" else 1):
            t0 = time.perf_counter()
            lp, _ = build(scenario, "coordinated", network)
            highs.render(lp)
            best = min(best, time.perf_counter() - t0)
        out[f"build_{name}_s"] = best
else:
    scenario = optimizer.load_scenario(shipped)
    sys.path.insert(0, sys.argv[3])  # this checkout's benchmarks/ (shared variants)
    from _variants import random_overrides
    variants = random_overrides(Overrides, list(scenario.regions["region"]), n)
    models = [ParametricModel(scenario, mode) for mode in ("observed", "coordinated")]
    t0 = time.perf_counter()
    for ov in variants:
        for model in models:
            assert model.solve(ov).status.ok
    out["fast_default_per_s"] = n / (time.perf_counter() - t0)
print(json.dumps(out))
"""

METRICS = ("build_default_s", "build_large_s", "fast_default_per_s")


def measure(tree: Path, what: str, n: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, what, str(n), str(HERE)],
        env=env,
        cwd=tempfile.gettempdir(),  # never this checkout's package by accident
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["tree"].startswith(str(tree)):
        raise RuntimeError(f"measured {result['tree']}, not the tree {tree}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD~1", help="git revision to compare against")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scenarios", type=int, default=300)
    parser.add_argument("--out", default=str(HERE / "results" / "revisions"))
    args = parser.parse_args()
    base_rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    rounds: dict[str, list[dict]] = {"base": [], "this": []}
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(worktree), base_rev],
            check=True,
        )
        try:
            for k in range(args.repeat):
                for label, tree in (("base", worktree), ("this", ROOT)):
                    row = {
                        **measure(tree, "build", 0),
                        **measure(tree, "fast", args.scenarios),
                    }
                    rounds[label].append(row)
                    print(label, k, json.dumps({m: round(row[m], 4) for m in METRICS}))
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)],
                check=False,
            )
    summary = {
        label: {
            m: {
                "min": min(r[m] for r in rows),
                "median": statistics.median(r[m] for r in rows),
            }
            for m in METRICS
        }
        for label, rows in rounds.items()
    }
    report = {"base": base_rev, "repeat": args.repeat, "scenarios": args.scenarios}
    report["summary"] = summary
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(_markdown(report))
    print(_markdown(report))


def _markdown(report: dict) -> str:
    s = report["summary"]
    lines = [
        f"This tree vs `{report['base']}`, alternating, {report['repeat']} rounds "
        f"(`python benchmarks/bench_revisions.py --base {report['base']}`).",
        "",
        "| metric | base min | base median | this min | this median | this / base (median) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in METRICS:
        b, t = s["base"][m], s["this"][m]
        lines.append(
            f"| {m} | {b['min']:.3f} | {b['median']:.3f} | {t['min']:.3f} | "
            f"{t['median']:.3f} | {t['median'] / b['median']:.2f} |"
        )
    lines += ["", "Times (`_s`): lower is better; rates (`_per_s`): higher is better.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
