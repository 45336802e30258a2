"""Lumpy plants (MILP) against the LP, on the shipped data, in one run.

Measures, for the LP (the shipped default) and the MILP (``min_plant_scale = true``):

- ``solve_s``: a cold ``optimizer.solve`` of the coordinated plan (HiGHS; min and median
  of ``--repeat`` runs), and its objective;
- ``sweep_per_s``: variants per second on the sweep fast path (``ParametricModel`` in
  both modes, warm re-solves) over ``--scenarios`` random variants (demand, export,
  financing rate, regional cost factors; the ``bench_batch.py`` distribution).

The shipped data have no plant sizes yet (issue: provincial data), so the MILP uses the
scenario's own ``plant_size`` and ``scale_exponent`` where it has them and otherwise the
BENCHMARK ASSUMPTION below (typical plant sizes, six-tenths rule). It measures how the
solver copes with integer plant counts at this size; its objective is not a result.

Usage::

    python benchmarks/bench_milp.py [--repeat 5] [--scenarios 100]

Writes ``benchmarks/results/milp.json`` and ``benchmarks/results/milp.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _variants import random_overrides  # benchmarks/ is on sys.path when run as a script

import optimizer
from optimizer.sweeps.fast_model import ParametricModel
from optimizer.sweeps.overrides import Overrides

HERE = Path(__file__).resolve().parent
#: BENCHMARK ASSUMPTION (not data): a reference plant size per sector in its capacity
#: unit, and the six-tenths scale exponent, used only where the scenario has none.
PLANT_SIZE = {
    "solar_pv": 10.0,
    "li_ion_battery": 20.0,
    "nev": 0.2,
    "industrial_robot": 10.0,
    "crude_steel": 3.4,
    "cement": 1.65,
    "flat_glass": 0.18,
    "aluminium": 0.5,
}
SCALE_EXPONENT = 0.6


def milp_scenario(base: optimizer.Scenario) -> optimizer.Scenario:
    """The scenario with lumpy plants switched on (plant data added where missing)."""
    t = base.tables()
    sp = t["sector_parameters"]
    units = t["sectors"].set_index("sector")["capacity_unit"]
    have = set(zip(sp["sector"], sp["parameter"], strict=True))
    rows = []
    for sector, size in PLANT_SIZE.items():
        if sector not in units.index:
            continue
        if (sector, "plant_size") not in have:
            rows.append((sector, "plant_size", size, units[sector]))
        if (sector, "scale_exponent") not in have:
            rows.append((sector, "scale_exponent", SCALE_EXPONENT, "dimensionless"))
    extra = pd.DataFrame(rows, columns=["sector", "parameter", "value", "unit"]).assign(
        source_id=np.nan, quality="assumed", note="benchmark assumption (bench_milp.py)"
    )
    t["sector_parameters"] = pd.concat([sp, extra], ignore_index=True)
    params = {**base.parameters.__dict__, "min_plant_scale": True}
    return optimizer.scenario_from_frames(base_year=base.base_year, parameters=params, **t)


def variants(scenario: optimizer.Scenario, n: int) -> list[Overrides]:
    return random_overrides(Overrides, list(scenario.planning_regions), n)


def measure(scenario: optimizer.Scenario, repeat: int, draws: list[Overrides]) -> dict:
    times, objective = [], float("nan")
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = optimizer.solve(scenario)
        times.append(time.perf_counter() - t0)
        result.raise_for_status()
        objective = result.objective
    models = [ParametricModel(scenario, mode) for mode in ("observed", "coordinated")]
    t0 = time.perf_counter()
    failed = 0
    for ov in draws:
        for model in models:
            failed += not model.solve(ov, ties=False).status.ok
    rate = len(draws) / (time.perf_counter() - t0)
    return {
        "solve_s_min": min(times),
        "solve_s_median": statistics.median(times),
        "objective": objective,
        "lp_relaxation": result.lp_relaxation,
        "sweep_per_s": rate,
        "sweep_failed": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scenarios", type=int, default=100)
    parser.add_argument("--out", default=str(HERE / "results" / "milp"))
    args = parser.parse_args()
    base = optimizer.load_scenario()
    draws = variants(base, args.scenarios)
    runs = {
        "lp": measure(base, args.repeat, draws),
        "milp": measure(milp_scenario(base), args.repeat, draws),
    }
    report = {"repeat": args.repeat, "scenarios": args.scenarios, "runs": runs}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    text = _markdown(report)
    out.with_suffix(".md").write_text(text)
    print(text)


def _markdown(report: dict) -> str:
    lp, milp = report["runs"]["lp"], report["runs"]["milp"]
    lines = [
        f"LP vs MILP (lumpy plants) on the shipped data, one run "
        f"(`python benchmarks/bench_milp.py`; {report['repeat']} cold solves each, "
        f"{report['scenarios']} fast-path variants in both modes). MILP plant sizes: "
        "benchmark assumption where the data have none.",
        "",
        "| model | cold solve s (min) | (median) | objective CNY bn/yr | LP relaxation "
        "| sweep variants/s | failed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in (("LP", lp), ("MILP", milp)):
        lines.append(
            f"| {name} | {r['solve_s_min']:.3f} | {r['solve_s_median']:.3f} | "
            f"{r['objective']:,.1f} | {r['lp_relaxation']:,.1f} | {r['sweep_per_s']:.1f} | "
            f"{r['sweep_failed']} |"
        )
    lines += [
        "",
        f"- MILP / LP cold solve (median): {milp['solve_s_median'] / lp['solve_s_median']:.1f}x",
        f"- MILP / LP sweep throughput: {milp['sweep_per_s'] / lp['sweep_per_s']:.3g}x "
        f"(the LP fast path is {lp['sweep_per_s'] / milp['sweep_per_s']:.0f}x faster)",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
