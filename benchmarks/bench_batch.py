"""Sweep throughput: cold one-by-one solves vs hot start in one process vs Dask workers.

All modes run the same Monte-Carlo sweep of the shipped data as an LP
(``data/divisible.toml``; independent regional
cost factors, demand, export absorption and financing rate), solve every scenario in both
modes (observed and coordinated) and commit the same rows to a DuckDB store through
:func:`optimizer.sweeps.driver.run_sweep`; they differ only in how the model is reused:

- ``cold``: in this process, the model is built, rendered and solved from scratch for
  every scenario and mode (the worker's model cache is switched off);
- ``hot``: in this process, one kept model per mode; each scenario only changes costs,
  bounds, right-hand sides and coefficients and re-solves from the previous basis; on
  two cores HiGHS solves on a thread of its own while the main thread prepares the next
  variants, reduces the solved ones and commits (``run_sweep``'s default);
- ``hot-serial``: the same, all on one thread (``pipeline=False``);
- ``dask-1`` / ``dask-N``: the hot path on a Dask ``LocalCluster`` with 1 and N
  single-threaded workers (the driver commits to the store).

Beside them, the limit and dupopt's model alone, on the same variants:

- ``bare-dual`` / ``bare-primal``: warm re-solves with nothing but HiGHS: every
  variant's arrays computed beforehand, the timed loop pushes only the entries that
  changed and calls ``h.run()`` (dual or primal simplex);
- ``hot-model``: ``ParametricModel.solve`` of both modes (arrays from the overrides,
  push, warm re-solve, reduction, tie test), without the store.

From the Dask runs' fixed costs (start-up) and steady rates the report derives the
sweep size from which N workers beat one in-process model (the break-even behind
``optimizer.sweeps.driver.DASK_MIN_SCENARIOS``).

Rates are scenarios per second over the whole ``run_sweep`` call (``rate``, including
the LocalCluster start) and between the first and the last committed chunk (``steady``,
without start-up). All modes run one after the other in this one process. ``cpu_ms``:
this process's CPU time per scenario (both threads; not the Dask workers'), so a mode
that runs faster by using the second core says so.

Usage::

    python benchmarks/bench_batch.py                    # 1,000 scenarios, every mode
    python benchmarks/bench_batch.py --scenarios 200    # quicker
    python benchmarks/bench_batch.py --scenarios 600 --dask-scenarios 3000  # Dask amortised

Writes ``benchmarks/results/batch.json`` and ``benchmarks/results/batch.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The shipped data as an LP (data/divisible.toml): the figures measure the LP hot path
# (MILP sweeps: benchmarks/bench_milp.py).
SWEEP = """
name = "bench"
scenario = "{scenario}"
include_base = false
[monte_carlo]
samples = {n}
seed = 2010
[monte_carlo.vary]
cost_factor = {{ distribution = "uniform", low = 0.8, high = 1.2, independent = true }}
demand = {{ distribution = "uniform", low = 0.9, high = 1.1 }}
export = {{ distribution = "uniform", low = 0.7, high = 1.1 }}
financing_rate = {{ distribution = "triangular", low = 0.8, mode = 1.0, high = 1.5 }}
"""


def run(mode: str, n: int, folder: Path, workers: int) -> dict:
    from optimizer.sweeps import worker as batch
    from optimizer.sweeps.driver import run_sweep
    from optimizer.sweeps.store import query
    from optimizer.sweeps.sweep_file import load_sweep

    path = folder / f"{mode}.toml"
    path.write_text(
        SWEEP.format(n=n, scenario=(HERE.parent / "data" / "divisible.toml").as_posix())
    )
    sweep = load_sweep(path)
    commits: list[tuple[float, int]] = []
    batch._MODELS.clear()
    keep = batch._KEEP
    if mode == "cold":
        batch._KEEP = 0  # evict every model right after its solve: rebuild each time
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        summary = run_sweep(
            sweep,
            folder / f"{mode}.duckdb",
            workers=0 if mode in ("cold", "hot", "hot-serial") else workers,
            progress=False,
            on_progress=lambda s: commits.append((time.perf_counter(), s.done + s.failed)),
            pipeline=False if mode == "hot-serial" else None,
        )
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        batch._KEEP = keep
        batch._MODELS.clear()
    (t_first, n_first), (t_last, n_last) = commits[0], commits[-1]
    steady = (n_last - n_first) / (t_last - t_first) if t_last > t_first else float("nan")
    stored = int(query(folder / f"{mode}.duckdb", "SELECT count(*) AS n FROM scenarios")["n"][0])
    return {
        "mode": mode,
        "workers": summary.workers,
        "scenarios": n,
        "done": summary.done,
        "failed": summary.failed,
        "stored": stored,
        "wall_s": round(wall, 2),
        "rate": round(n / wall, 2),
        "steady": round(steady, 2),
        "cpu_ms": None if summary.workers else round(1e3 * cpu / n, 2),
    }


def bare(n: int, folder: Path, strategy: int) -> dict:
    """The limit: warm re-solves of both modes with nothing but HiGHS.

    The variants' arrays (the sweep's own jobs) are computed beforehand; the timed loop
    only changes the costs, bounds and coefficients that differ from the previous
    variant's and calls ``h.run()`` (``simplex_strategy`` 1: dual, 4: primal)."""
    from optimizer.model.backends import highs
    from optimizer.sweeps.fast_model import ParametricModel

    jobs = _jobs(n, folder)
    solvers, arrays = [], []
    for mode in ("observed", "coordinated"):
        model = ParametricModel(jobs[0][0], mode, threads=1)
        arrays.append([model.arrays(ov) for _, ov in jobs])
        h = highs.render(model.lp, threads=1, lp_method="simplex")
        h.setOptionValue("simplex_strategy", strategy)
        model.lp.update(model.base)
        highs.run_model(h)  # the base optimum: every variant starts warm
        solvers.append((model, h, model._arrays()))
    t0, c0 = time.perf_counter(), time.process_time()
    for k in range(len(jobs)):
        for m, (model, h, held) in enumerate(solvers):
            new = arrays[m][k]
            model._push(h, new, held)  # the changed entries only
            h.run()
            solvers[m] = (model, h, new)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    name = {1: "bare-dual", 4: "bare-primal"}[strategy]
    return {"mode": name, "workers": 0, "scenarios": len(jobs), "done": len(jobs),
            "wall_s": round(wall, 2), "rate": round(len(jobs) / wall, 2),
            "steady": round(len(jobs) / wall, 2),
            "cpu_ms": round(1e3 * cpu / len(jobs), 2)}  # fmt: skip


def model_loop(n: int, folder: Path) -> dict:
    """dupopt's hot path without the store: ``ParametricModel.solve`` (arrays from the
    overrides, push, warm re-solve, reduction, tie test) of both modes per variant."""
    from optimizer.sweeps.fast_model import ParametricModel

    jobs = _jobs(n, folder)
    models = [ParametricModel(jobs[0][0], mode, threads=1) for mode in ("observed", "coordinated")]
    for model in models:
        model.solve(type(jobs[0][1])())
    t0, c0 = time.perf_counter(), time.process_time()
    for _, ov in jobs:
        for model in models:
            model.solve(ov)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"mode": "hot-model", "workers": 0, "scenarios": len(jobs), "done": len(jobs),
            "wall_s": round(wall, 2), "rate": round(len(jobs) / wall, 2),
            "steady": round(len(jobs) / wall, 2),
            "cpu_ms": round(1e3 * cpu / len(jobs), 2)}  # fmt: skip


def _jobs(n: int, folder: Path) -> list:
    """(base scenario, overrides) of the sweep's variants, as ``run`` solves them."""
    from optimizer.sweeps.sweep_file import load_sweep

    path = folder / "bare.toml"
    path.write_text(
        SWEEP.format(n=n, scenario=(HERE.parent / "data" / "divisible.toml").as_posix())
    )
    sweep = load_sweep(path)
    return [(sweep.scenario, job.overrides) for job in sweep.jobs]


def main() -> None:
    from optimizer.sweeps.driver import DASK_MIN_SCENARIOS, auto_workers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument(
        "--dask-scenarios",
        type=int,
        default=None,
        help="scenarios of the Dask runs (default: --scenarios): a larger sweep amortises "
        "the cluster's start without making the cold run longer",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--out", default=str(HERE / "results" / "batch"))
    args = parser.parse_args()
    from _bytecode import cache_bytecode

    cache_bytecode()  # the Dask workers' imports as installed, not compiled anew
    runs = []
    n = args.scenarios
    n_dask = args.dask_scenarios or n
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        steps = [
            lambda: bare(n, folder, 1),
            lambda: bare(n, folder, 4),
            lambda: model_loop(n, folder),
            *(
                lambda mode=mode: run(
                    mode,
                    n_dask if mode.startswith("dask") else n,
                    folder,
                    1 if mode == "dask-1" else args.workers,
                )
                for mode in ("cold", "hot", "hot-serial", "dask-1", f"dask-{args.workers}")
            ),
        ]
        for step in steps:
            r = step()
            print(json.dumps(r), flush=True)
            runs.append(r)
    by = {r["mode"]: r for r in runs}
    n_mode = f"dask-{args.workers}"
    limit = max(by["bare-dual"]["rate"], by["bare-primal"]["rate"])
    ratios = {
        "hot_vs_cold": by["hot"]["rate"] / by["cold"]["rate"],
        "hot_steady_vs_bare": by["hot"]["steady"] / limit,
        "hot_vs_bare": by["hot"]["rate"] / limit,
        "hot_steady_vs_bare_dual": by["hot"]["steady"] / by["bare-dual"]["rate"],
        "hot_serial_steady_vs_bare": by["hot-serial"]["steady"] / limit,
        "model_vs_bare": by["hot-model"]["rate"] / limit,
        "bare_primal_vs_dual": by["bare-primal"]["rate"] / by["bare-dual"]["rate"],
        "dask_n_vs_dask_1": by[n_mode]["rate"] / by["dask-1"]["rate"],
        "dask_n_vs_dask_1_steady": by[n_mode]["steady"] / by["dask-1"]["steady"],
        "dask_n_vs_hot": by[n_mode]["rate"] / by["hot"]["rate"],
        "dask_1_vs_hot": by["dask-1"]["rate"] / by["hot"]["rate"],
    }
    # Fixed costs: the whole run minus its scenarios at the steady rate (model builds; for
    # Dask also the LocalCluster's start and close). Break-even: where N workers' steady
    # gain per scenario pays their extra fixed cost.
    fixed = {
        m: by[m]["wall_s"] - by[m]["scenarios"] / by[m]["steady"] for m in ("hot", "dask-1", n_mode)
    }
    gain = 1 / by["hot"]["steady"] - 1 / by[n_mode]["steady"]
    break_even = (fixed[n_mode] - fixed["hot"]) / gain if gain > 0 else float("inf")
    # The sweep size from which N workers' whole run is 1.6x one worker's: solve
    # S/r1 + f1 = 1.6 (S/rN + fN) for S, with these steady rates r and fixed costs f.
    r1, rn = by["dask-1"]["steady"], by[n_mode]["steady"]
    slack = 1 / r1 - 1.6 / rn
    target_from = max(0.0, (1.6 * fixed[n_mode] - fixed["dask-1"]) / slack) if slack > 0 else None
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
        "ratios": {k: round(v, 2) for k, v in ratios.items()},
        "dask": {
            "fixed_s": {k: round(v, 2) for k, v in fixed.items()},
            "break_even_scenarios": round(break_even) if math.isfinite(break_even) else None,
            "ratio_1_6_from_scenarios": None if target_from is None else round(target_from),
            "dask_min_scenarios": DASK_MIN_SCENARIOS,
            "auto_workers_here": auto_workers(n_dask),
        },
        "targets": {
            "hot_vs_cold": ">= 5",
            "hot_steady_vs_bare": ">= 0.85",
            "dask_n_vs_dask_1": ">= 1.6",
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(_markdown(report, args.workers))
    print(_markdown(report, args.workers))


def _markdown(report: dict, workers: int) -> str:
    n = report["runs"][0]["scenarios"]
    n_dask = next(r["scenarios"] for r in report["runs"] if r["mode"] == "dask-1")
    dask_arg = "" if n_dask == n else f" --dask-scenarios {n_dask}"
    lines = [
        f"Sweep throughput, {n} Monte-Carlo scenarios of the shipped data as an LP "
        + (f"({n_dask} for the Dask runs) " if dask_arg else "")
        + f"(both modes each), {report['machine']['cpus']} cores, "
        f"Python {report['machine']['python']} "
        f"(`python benchmarks/bench_batch.py --scenarios {n}{dask_arg}`), one run.",
        "",
        "`bare-*`: the limit, warm re-solves with nothing but HiGHS (arrays computed "
        "beforehand; only the changed entries pushed, then `h.run()`), dual or primal "
        "simplex. `hot-model`: `ParametricModel.solve` of both modes (no store). `hot`: "
        "the whole in-process sweep into DuckDB (HiGHS on a thread of its own while the "
        "main thread prepares, reduces and commits); `hot-serial`: the same on one thread. "
        "`steady` leaves out the model builds and the cluster's start. CPU: this "
        "process's, both threads (not the Dask workers').",
        "",
        "| mode | workers | done | wall (s) | scenarios/s | steady scenarios/s | "
        "CPU ms/scenario (this process) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report["runs"]:
        cpu = "" if r.get("cpu_ms") is None else f"{r['cpu_ms']:.1f}"
        lines.append(
            f"| {r['mode']} | {r['workers']} | {r['done']} | {r['wall_s']:.1f} | "
            f"{r['rate']:.1f} | {r['steady']:.1f} | {cpu} |"
        )
    q, d = report["ratios"], report["dask"]
    lines += [
        "",
        f"- hot / cold: {q['hot_vs_cold']:.1f}x (target >= 5x)",
        f"- hot sweep / bare limit (the faster bare mode): {q['hot_steady_vs_bare']:.2f} "
        f"steady, {q['hot_vs_bare']:.2f} over the whole run (target >= 0.85); "
        f"/ bare dual simplex: {q['hot_steady_vs_bare_dual']:.2f} steady; "
        f"hot-model / bare limit: {q['model_vs_bare']:.2f}; hot-serial (one thread) / "
        f"bare limit: {q['hot_serial_steady_vs_bare']:.2f} steady",
        f"- bare primal / bare dual: {q['bare_primal_vs_dual']:.2f}x",
        f"- dask-{workers} / dask-1: {q['dask_n_vs_dask_1']:.2f}x over the whole run, "
        f"{q['dask_n_vs_dask_1_steady']:.2f}x steady (target >= 1.6x); over the whole "
        f"run 1.6x from about {d.get('ratio_1_6_from_scenarios')} scenarios (from the "
        "steady rates and fixed costs)",
        f"- dask-{workers} / hot in-process: {q['dask_n_vs_hot']:.2f}x; "
        f"dask-1 / hot in-process: {q['dask_1_vs_hot']:.2f}x",
        f"- fixed costs (s): {d['fixed_s']}; break-even of dask-{workers} over in-process: "
        f"{d['break_even_scenarios']} scenarios; `dupopt batch` starts Dask from "
        f"{d['dask_min_scenarios']} (here: {d['auto_workers_here']} workers)",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
