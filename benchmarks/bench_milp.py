"""Lumpy plants (MILP) against the LP, on the shipped data, in one run.

Measures, for the MILP (the shipped default, ``data/scenario.toml``, lumpy plants) and
the LP (the shipped ``data/divisible.toml``: the same data with ``min_plant_scale =
false``):

- ``solve_s``: a cold ``optimizer.solve`` of the coordinated plan (HiGHS at dupopt's
  default MIP gap, 0.01 %; min and median of ``--repeat`` runs), and its objective;
- ``sweep_per_s``: variants per second on the sweep fast path (``ParametricModel`` in
  both modes, warm re-solves) over ``--scenarios`` random variants (demand, export,
  financing rate, regional cost factors; the ``bench_batch.py`` distribution), the MILP
  at the single-solve default gap (1e-4) and at the sweep default (1e-3, also the
  ``[solver] mip_rel_gap`` of ``data/sweeps/uncertainty.toml``), each variant with a time limit of
  ``--time-limit`` seconds (a variant that hits it counts as failed).

Usage::

    python benchmarks/bench_milp.py [--repeat 5] [--scenarios 20] [--time-limit 60]

Writes ``benchmarks/results/milp.json`` and ``benchmarks/results/milp.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from _variants import random_overrides  # benchmarks/ is on sys.path when run as a script

import optimizer
from optimizer.model.backends import MIP_REL_GAP
from optimizer.sweeps.fast_model import ParametricModel
from optimizer.sweeps.overrides import Overrides
from optimizer.sweeps.sweep_file import load_sweep

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"


def variants(scenario: optimizer.Scenario, n: int) -> list[Overrides]:
    return random_overrides(Overrides, list(scenario.planning_regions), n)


def measure(
    scenario: optimizer.Scenario,
    repeat: int,
    draws: list[Overrides],
    time_limit: float,
    gaps: tuple[float, ...] = (MIP_REL_GAP,),
) -> dict:
    times, objective = [], float("nan")
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = optimizer.solve(scenario)
        times.append(time.perf_counter() - t0)
        result.raise_for_status()
        objective = result.objective
    out = {
        "solve_s_min": min(times),
        "solve_s_median": statistics.median(times),
        "objective": objective,
        "lp_relaxation": result.lp_relaxation,
        "sweeps": {},
    }
    for gap in gaps:
        models = [ParametricModel(scenario, mode) for mode in ("observed", "coordinated")]
        for model in models:
            model.h.setOptionValue("time_limit", float(time_limit))
        t0 = time.perf_counter()
        failed, per_variant = 0, []
        for ov in draws:
            t1 = time.perf_counter()
            for model in models:
                failed += not model.solve(ov, ties=False, mip_rel_gap=gap).status.ok
            per_variant.append(time.perf_counter() - t1)
        out["sweeps"][str(gap)] = {
            "sweep_per_s": len(draws) / (time.perf_counter() - t0),
            "variant_s_median": statistics.median(per_variant),
            "variant_s_max": max(per_variant),
            "failed": failed,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--out", default=str(HERE / "results" / "milp"))
    args = parser.parse_args()
    lumpy = optimizer.load_scenario(DATA / "scenario.toml")
    divisible = optimizer.load_scenario(DATA / "divisible.toml")
    draw_gap = load_sweep(DATA / "sweeps" / "uncertainty.toml", lumpy).solver["mip_rel_gap"]
    draws = variants(lumpy, args.scenarios)
    runs = {
        "lp": measure(divisible, args.repeat, draws, args.time_limit),
        "milp": measure(lumpy, args.repeat, draws, args.time_limit, (1e-4, draw_gap)),
    }
    report = {
        "repeat": args.repeat,
        "scenarios": args.scenarios,
        "time_limit_s": args.time_limit,
        "runs": runs,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    text = _markdown(report)
    out.with_suffix(".md").write_text(text)
    print(text)


def _markdown(report: dict) -> str:
    lp, milp = report["runs"]["lp"], report["runs"]["milp"]
    lines = [
        "MILP with lumpy plants (the default, `data/scenario.toml`) vs LP "
        "(`data/divisible.toml`), one run "
        f"(`python benchmarks/bench_milp.py`; {report['repeat']} cold solves each, "
        f"{report['scenarios']} fast-path variants in both modes, "
        f"{report['time_limit_s']:g} s limit per solve).",
        "",
        "| model | cold solve s (min) | (median) | objective CNY bn/yr | LP relaxation |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in (("LP", lp), ("MILP", milp)):
        lines.append(
            f"| {name} | {r['solve_s_min']:.3f} | {r['solve_s_median']:.3f} | "
            f"{r['objective']:,.1f} | {r['lp_relaxation']:,.1f} |"
        )
    lines += [
        "",
        "| sweep | MIP gap | variants/s | s per variant (median) | (max) | failed |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in (("LP", lp), ("MILP", milp)):
        for gap, w in r["sweeps"].items():
            lines.append(
                f"| {name} | {gap if name == 'MILP' else '-'} | {w['sweep_per_s']:.2f} | "
                f"{w['variant_s_median']:.3f} | {w['variant_s_max']:.3f} | {w['failed']} |"
            )
    lines += [
        "",
        f"- MILP / LP cold solve (median): {milp['solve_s_median'] / lp['solve_s_median']:.1f}x",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
