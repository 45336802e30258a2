"""Build and solve times and peak memory: HiGHS arrays vs Pyomo vs PuLP, side by side.

Each (instance, backend) runs in its own subprocess, one after the other in this run, so
peak memory (``ru_maxrss``) is the backend's own and all are measured under the same load.

- ``build_s``: formulation (`optimizer.model.formulation.build`) + rendering into the backend's
  model; ``render_s`` the rendering alone.
- ``solve_s``: the solver call (all three solve with HiGHS).
- ``peak_rss_mb``: peak resident memory of the subprocess; ``base_rss_mb`` the same
  process after loading the scenario, before building.

Usage::

    python benchmarks/bench_model.py                 # default + large, all backends
    python benchmarks/bench_model.py --quick         # default + a small grid (seconds)

Writes ``benchmarks/results/model.json`` and ``benchmarks/results/model.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTANCES = {
    "default": None,  # the shipped scenario
    "large": (40, 40, 20),  # grid rows, cols, sectors: >= 200k columns
    "small": (8, 8, 4),
}


def _load(instance: str):
    import optimizer
    from optimizer.scenario.synthetic import synthetic_scenario

    if INSTANCES[instance] is None:
        # The shipped data as an LP: the default's MILP is measured by bench_milp.py.
        return optimizer.load_scenario(optimizer.default_data_dir() / "divisible.toml"), None
    rows, cols, sectors = INSTANCES[instance]
    return synthetic_scenario(rows, cols, sectors=sectors, seed=0)


def child(instance: str, backend: str, presolve: bool) -> dict:
    """Measure one backend on one instance (runs inside the subprocess)."""
    from optimizer.model.backends import get_backend
    from optimizer.model.formulation import build

    scenario, arcs = _load(instance)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    lp, _ = build(scenario, "coordinated", arcs)
    formulate_s = time.perf_counter() - t0
    # Presolve is set explicitly here so that on and off are both measured.
    options = {"presolve": presolve} if backend == "highs" else {}
    sol = get_backend(backend).solve(lp, **options)
    return {
        "instance": instance,
        "backend": backend,
        "presolve": presolve,
        "rows": lp.n_rows,
        "columns": lp.n_cols,
        "nonzeros": int(lp.matrix().nnz),
        "status": sol.status.value,
        "objective": sol.objective,
        "formulate_s": formulate_s,
        "render_s": sol.timings["render_s"],
        "build_s": formulate_s + sol.timings["render_s"],
        "solve_s": sol.timings["solve_s"],
        "base_rss_mb": base,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _spawn(instance: str, backend: str, presolve: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", instance, backend, str(int(presolve))]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="default + small grid only")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        instance, backend, presolve = args.child
        print(json.dumps(child(instance, backend, bool(int(presolve)))))
        return
    from optimizer.model.backends import BACKENDS

    instances = ["default", "small"] if args.quick else ["default", "large"]
    runs = []
    for instance in instances:
        for backend in BACKENDS:
            runs.append(_spawn(instance, backend, True))
            print(_line(runs[-1]), flush=True)
        runs.append(_spawn(instance, "highs", False))
        print(_line(runs[-1]), flush=True)
    report = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": _cpus(),
        },
        "date": time.strftime("%Y-%m-%d"),
        "runs": runs,
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    suffix = "-quick" if args.quick else ""
    (out / f"model{suffix}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"model{suffix}.md").write_text(_markdown(runs))
    print(_markdown(runs))


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _line(r: dict) -> str:
    return (
        f"{r['instance']:8s} {r['backend']:6s} presolve={r['presolve']!s:5s} "
        f"{r['columns']:>8,d} cols  build {r['build_s']:8.3f} s  solve {r['solve_s']:8.3f} s"
        f"  peak {r['peak_rss_mb']:7.0f} MB  {r['status']}"
    )


def _markdown(runs: list[dict]) -> str:
    lines = [
        "| instance | backend | presolve | rows | columns | build s | solve s | peak MB | "
        "objective |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        lines.append(
            f"| {r['instance']} | {r['backend']} | {'on' if r['presolve'] else 'off'} | "
            f"{r['rows']:,} | {r['columns']:,} | {r['build_s']:.3f} | {r['solve_s']:.3f} | "
            f"{r['peak_rss_mb']:.0f} | {r['objective']:.6g} |"
        )
    lines.append("")
    for inst in dict.fromkeys(r["instance"] for r in runs):
        by = {r["backend"]: r for r in runs if r["instance"] == inst and r["presolve"]}
        off = next(r for r in runs if r["instance"] == inst and not r["presolve"])
        h = by["highs"]
        lines.append(
            f"- {inst}: HiGHS-path build is {by['pyomo']['build_s'] / h['build_s']:.1f}x "
            f"faster than Pyomo and {by['pulp']['build_s'] / h['build_s']:.1f}x faster than "
            f"PuLP; build/solve on the HiGHS path = {h['build_s'] / h['solve_s']:.3f}; "
            f"presolve off/on solve time = {off['solve_s'] / h['solve_s']:.2f}."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
