"""Large LPs: the old LP default (dual simplex) vs ``lp_method="auto"``, growth with size,
a ~1M-column instance, and the model build against linopy as a peer, in one run.

Instances are synthetic grids (:func:`optimizer.scenario.synthetic.synthetic_scenario`,
seed 0, coordinated mode, an LP): three sizes for the strategies and the growth exponent,
and ``80 x 80 x 25`` (about 1.1M columns) solved with ``auto`` alone (the old default
would take hours there: simplex time grows about columns^2.3); if that does not solve
within ``--time-limit``, ``56 x 56 x 22`` (about 0.5M columns) is solved as well.

- Solves: each (instance, setting) runs in its own subprocess, one after the other, so
  ``peak_rss_mb`` (``ru_maxrss``) is that solve's own and all run under the same load.
  ``solve_s`` is the whole solve of the built LP: rendering it into HiGHS (for ``auto``
  on a large LP and the ``reduced`` settings: eliminating the capacity columns) and every
  HiGHS call (the min over ``repeats`` solves; the largest sizes are solved once).
  Settings: ``old`` (dual simplex, presolve off: the default before issue 14), ``auto``
  (the default now: ``blocks`` from 5,000 columns), ``simplex+presolve``, ``ipm`` and
  ``ipm+presolve`` on the LP as built (interior point always with crossover), and
  ``reduced+dual``, ``reduced+primal``, ``reduced+ipm``: HiGHS alone on the reduced LP
  (:mod:`optimizer.model.reduction`, the best equivalent formulation found). The largest
  size runs ``LARGE_SETTINGS``. Every setting's objective and allocation are compared
  with ``old``'s.
- Growth: the slope of a least-squares line through log(solve_s) vs log(columns) over the
  three sizes, for ``old`` and ``auto``.
- Build: dupopt's build (``formulation.build`` + rendering into ``highspy``) vs linopy
  building the same LP and exporting it to ``highspy`` (``Model.to_highspy``), min over
  ``--build-repeats``, in one subprocess per size. The linopy peer is handed dupopt's
  finished coefficients (each row block as linopy's own padded ``coeffs``/``vars``
  arrays, the fastest way into linopy), so it skips the data preparation and coefficient
  computation that dupopt's time includes: the comparison favours linopy. Its optimum is
  checked against dupopt's on the smallest size. Needs ``pip install dupopt[bench]``;
  without linopy the build rows say so.

Usage::

    python benchmarks/bench_large.py                  # the full run (about 15 min)
    python benchmarks/bench_large.py --quick          # small grids (a minute)
    python benchmarks/bench_large.py --builds-only    # re-measure the build comparison
    python benchmarks/bench_large.py --fallback-only  # solve only the ~0.5M instance

(``--builds-only`` and ``--fallback-only`` rewrite those parts of the last run's results,
stamped with the time they were measured.)

Writes ``benchmarks/results/large.json`` and ``benchmarks/results/large.md``
(``large-quick.*`` with ``--quick``).
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

import numpy as np

HERE = Path(__file__).resolve().parent
#: name -> (grid rows, grid cols, sectors)
SIZES = {"small": (20, 20, 10), "medium": (28, 28, 14), "large": (40, 40, 20)}
HUGE = ("huge", (80, 80, 25))
#: Solved when ``HUGE`` does not solve within the time limit: about 0.5M columns.
FALLBACK = ("half-huge", (56, 56, 22))
QUICK_SIZES = {"small": (8, 8, 4), "medium": (12, 12, 6), "large": (16, 16, 8)}
QUICK_HUGE = ("huge", (20, 20, 10))
QUICK_FALLBACK = ("half-huge", (16, 16, 8))
#: setting -> solve options (``reduced`` : HiGHS on the LP with the capacity columns
#: eliminated, :mod:`optimizer.model.reduction`, with that ``solver``)
SETTINGS = {
    "old": {"lp_method": "simplex", "presolve": False},
    "auto": {},
    "simplex+presolve": {"lp_method": "simplex", "presolve": True},
    "ipm": {"lp_method": "ipm", "presolve": False},
    "ipm+presolve": {"lp_method": "ipm", "presolve": True},
    "blocks": {"lp_method": "blocks"},
    "reduced+dual": {"reduced": "dual"},
    "reduced+primal": {"reduced": "primal"},
    "reduced+ipm": {"reduced": "ipm"},
}
#: Settings solved on the largest of the three sizes (all of them on the two smaller).
LARGE_SETTINGS = ["old", "auto", "ipm", "reduced+dual", "reduced+primal", "reduced+ipm"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _instance(shape: tuple[int, int, int]):
    from optimizer.model.formulation import build
    from optimizer.scenario.synthetic import synthetic_scenario

    rows, cols, sectors = shape
    scenario, arcs = synthetic_scenario(rows, cols, sectors=sectors, seed=0)
    t0 = time.perf_counter()
    lp, _ = build(scenario, "coordinated", arcs)
    return lp, time.perf_counter() - t0


def child_solve(shape, setting: str, repeats: int, time_limit: float, out: str) -> dict:
    """One setting on one instance (inside the subprocess); saves x for the comparison."""
    from optimizer.model.backends import highs

    base = _rss_mb()
    lp, formulate_s = _instance(shape)
    options = dict(SETTINGS[setting], time_limit=time_limit)
    times, sol = [], None
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(repeats):
        if "reduced" in options:
            sol = _solve_reduced(lp, options["reduced"], time_limit)
        else:
            sol = highs.solve(lp, **options)
        # The whole solve: rendering (for blocks and reduced settings: the reduction)
        # and every HiGHS call.
        times.append(sol.timings["render_s"] + sol.timings["solve_s"])
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    np.save(out, sol.x)
    return {
        "setting": setting,
        "method": sol.method,
        "columns": lp.n_cols,
        "rows": lp.n_rows,
        "nonzeros": int(lp.matrix().nnz),
        "status": sol.status.value,
        "objective": sol.objective,
        "ties": sol.alternative_optima,
        "formulate_s": formulate_s,
        "render_s": sol.timings["render_s"],
        "solve_s": min(times),
        "solve_median_s": float(np.median(times)),
        # CPU seconds per solve (user + system): on a shared machine the wall time of a
        # long solve includes waiting for a core.
        "cpu_s": (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / repeats,
        "repeats": repeats,
        "ties_s": sol.timings.get("ties_s", 0.0),
        "base_rss_mb": base,
        "peak_rss_mb": _rss_mb(),
    }


def _linopy_model(lp):
    """The LP as a linopy Model, each row block from dupopt's coefficients."""
    import linopy
    import pandas as pd
    import xarray as xr

    m = linopy.Model()
    labels = []
    for name, b in lp.variables.items():
        coords = [pd.RangeIndex(b.size, name=f"{name}_i")]
        v = m.add_variables(lower=b.lower, upper=b.upper, coords=coords, name=name)
        labels.append(v.labels.values)
    label = np.concatenate(labels)
    rows, cols = np.concatenate(lp._rows), np.concatenate(lp._cols)
    vals = np.concatenate(lp._vals)
    order = np.argsort(rows, kind="stable")
    rows, cols, vals = rows[order], label[cols[order]], vals[order]
    bounds = np.searchsorted(rows, [c.start for c in lp.constraints.values()] + [lp.n_rows])
    for k, (name, c) in enumerate(lp.constraints.items()):
        r = rows[bounds[k] : bounds[k + 1]] - c.start
        count = np.bincount(r, minlength=c.size)
        width = max(int(count.max()), 1)
        slot = np.arange(len(r)) - np.concatenate([[0], np.cumsum(count)[:-1]])[r]
        var = np.full((c.size, width), -1, dtype=np.int64)
        coef = np.full((c.size, width), np.nan)
        var[r, slot] = cols[bounds[k] : bounds[k + 1]]
        coef[r, slot] = vals[bounds[k] : bounds[k + 1]]
        dim = f"{name}_i"
        data = xr.Dataset(
            {"coeffs": ((dim, "_term"), coef), "vars": ((dim, "_term"), var)},
            coords={dim: pd.RangeIndex(c.size, name=dim)},
        )
        sense = "=" if c.sense == "==" else c.sense
        m.add_constraints(
            linopy.LinearExpression(data, m), sense, xr.DataArray(c.rhs, dims=[dim]), name=name
        )
    cost = lp.cost()
    nz = np.flatnonzero(cost)
    m.add_objective(
        linopy.LinearExpression(
            xr.Dataset({"coeffs": (("_term",), cost[nz]), "vars": (("_term",), label[nz])}), m
        )
    )
    return m


def child_build(shape, repeats: int, check: bool) -> dict:
    """dupopt's build vs linopy's on one instance (inside the subprocess).

    Per repeat: dupopt's whole build from the scenario (shortest paths computed, as for
    a run's first model), the same again on the same network (shortest paths
    remembered, as for a run's second model), the data preparation alone, dupopt from
    the prepared ``ModelData`` (coefficient formulas and rendering) and the rendering
    alone; then linopy from dupopt's finished coefficients. Every step to a HiGHS model.
    """
    from optimizer.model.backends import highs
    from optimizer.model.data import ModelData, clear_paths_cache
    from optimizer.model.formulation import build, formulate
    from optimizer.scenario.synthetic import synthetic_scenario

    rows, cols, sectors = shape
    scenario, arcs = synthetic_scenario(rows, cols, sectors=sectors, seed=0)
    names = ("dupopt", "dupopt_cached", "data", "from_data", "render", "linopy")
    times: dict[str, list[float]] = {name: [] for name in names}
    lp = None
    for _ in range(repeats):
        clear_paths_cache()
        t0 = time.perf_counter()
        ModelData.from_scenario(scenario, "coordinated", arcs)
        times["data"].append(time.perf_counter() - t0)
        clear_paths_cache()
        t0 = time.perf_counter()
        lp, _ = build(scenario, "coordinated", arcs)
        highs.render(lp)
        times["dupopt"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        lp, data = build(scenario, "coordinated", arcs)
        highs.render(lp)
        times["dupopt_cached"].append(time.perf_counter() - t0)
        data = ModelData.from_scenario(scenario, "coordinated", arcs)  # fresh Inputs
        t0 = time.perf_counter()
        lp = formulate(data)
        t1 = time.perf_counter()
        highs.render(lp)
        t2 = time.perf_counter()
        times["from_data"].append(t2 - t0)
        times["render"].append(t2 - t1)
    result = {"columns": lp.n_cols}
    try:
        import linopy
    except ImportError:
        result["linopy"] = "not installed (pip install dupopt[bench])"
    else:
        result["linopy"] = linopy.__version__
        _linopy_model(lp).to_highspy()  # first use: imports and caches outside the timing
        for _ in range(repeats):
            t0 = time.perf_counter()
            h = _linopy_model(lp).to_highspy()
            times["linopy"].append(time.perf_counter() - t0)
        if check:
            h.setOptionValue("output_flag", False)
            h.run()
            ours = highs.solve(lp).objective
            result["linopy_objective_rel_diff"] = abs(
                h.getInfo().objective_function_value - ours
            ) / abs(ours)
    for name, t in times.items():
        if t:
            result[f"{name}_s"], result[f"{name}_median_s"] = min(t), float(np.median(t))
    return result


def measure_builds(sizes: dict, repeats: int) -> list[dict]:
    """The build comparison on every size, one subprocess each."""
    builds = []
    for i, (name, shape) in enumerate(sizes.items()):
        b = _spawn("build", {"shape": shape, "repeats": repeats, "check": i == 0}, 1800)
        b.update(instance=name, shape=list(shape))
        builds.append(b)
        print(json.dumps(b), flush=True)
    return builds


def _spawn(kind: str, payload: dict, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, json.dumps(payload)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"killed after {timeout:.0f} s"}
    except subprocess.CalledProcessError as exc:
        return {"status": "failed", "stderr": exc.stderr[-2000:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _solve_auto(name: str, shape, time_limit: float, tmp: Path) -> dict:
    """One solve with ``auto`` in its own subprocess (the instances beyond the three sizes)."""
    payload = {
        "shape": shape,
        "setting": "auto",
        "repeats": 1,
        "limit": time_limit,
        "out": str(tmp / f"{name}-auto.npy"),
    }
    r = _spawn("solve", payload, timeout=time_limit * 3 + 600)
    r.update(instance=name, shape=list(shape))
    print(_solve_line(r), flush=True)
    return r


def slope(columns: list[float], seconds: list[float]) -> float:
    """Growth exponent: slope of log(seconds) on log(columns) (least squares)."""
    return float(np.polyfit(np.log(columns), np.log(seconds), 1)[0])


def _solve_reduced(lp, solver: str, time_limit: float):
    """HiGHS alone (``solver``: dual, primal or ipm with crossover; presolve off) on the
    LP with the capacity columns eliminated; x mapped back to the LP's columns."""
    from optimizer.model.backends import Solution, highs
    from optimizer.model.backends.highs_blocks import _highs
    from optimizer.model.reduction import LPArrays, eliminate_implied_columns
    from optimizer.model.solver_log import captured

    t0 = time.perf_counter()
    elimination = eliminate_implied_columns(LPArrays.from_lp(lp), lp.integrality(), 1e-6)
    with captured():
        h = _highs(elimination.reduced, primal=solver == "primal", log=False, threads=None)
        if solver == "ipm":
            h.setOptionValue("solver", "ipm")
            h.setOptionValue("run_crossover", "on")
        h.setOptionValue("time_limit", time_limit)
        render_s = time.perf_counter() - t0
        status, solve_s = highs.run_model(h)
    x = np.zeros(lp.n_cols)
    if status.ok:
        x = elimination.expand_primal(np.asarray(h.getSolution().col_value))
    return Solution(
        status=status,
        objective=h.getInfo().objective_function_value if status.ok else float("nan"),
        x=x,
        timings={"render_s": render_s, "solve_s": solve_s},
        method=f"reduced {solver}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grids only")
    parser.add_argument("--repeat", type=int, default=3, help="solves per setting below 50k cols")
    parser.add_argument("--build-repeats", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=600.0, help="per solve, seconds")
    parser.add_argument(
        "--builds-only",
        action="store_true",
        help="re-measure only the build comparison, into the last run's results",
    )
    parser.add_argument(
        "--fallback-only",
        action="store_true",
        help="solve only the ~0.5M-column fallback instance, into the last run's results",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, payload = args.child
        p = json.loads(payload)
        if kind == "solve":
            r = child_solve(tuple(p["shape"]), p["setting"], p["repeats"], p["limit"], p["out"])
        else:
            r = child_build(tuple(p["shape"]), p["repeats"], p["check"])
        print(json.dumps(r))
        return

    import tempfile

    sizes, huge = (QUICK_SIZES, QUICK_HUGE) if args.quick else (SIZES, HUGE)
    out = HERE / "results"
    suffix = "-quick" if args.quick else ""
    if args.fallback_only:
        # Solve only the fallback instance (auto), into the last full run's report.
        path = out / f"large{suffix}.json"
        report = json.loads(path.read_text())
        name, shape = QUICK_FALLBACK if args.quick else FALLBACK
        r = _solve_auto(name, shape, args.time_limit, Path(tempfile.mkdtemp()))
        r["date"] = time.strftime("%Y-%m-%d %H:%M")
        report["solves"] = [x for x in report["solves"] if x["instance"] != name] + [r]
        path.write_text(json.dumps(report, indent=2) + "\n")
        (out / f"large{suffix}.md").write_text(_markdown(report))
        print(_markdown(report))
        return
    if args.builds_only:
        # Re-measure the build comparison alone (dupopt and linopy side by side, as in
        # the full run) into the last full run's report.
        path = out / f"large{suffix}.json"
        report = json.loads(path.read_text())
        report["builds"] = measure_builds(sizes, args.build_repeats)
        report["builds_date"] = time.strftime("%Y-%m-%d %H:%M")
        path.write_text(json.dumps(report, indent=2) + "\n")
        (out / f"large{suffix}.md").write_text(_markdown(report))
        print(_markdown(report))
        return
    solves = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_large_"))
    plan = [(name, shape) for name, shape in sizes.items()] + [huge]
    for i, (name, shape) in enumerate(plan):
        if name == huge[0]:
            settings = ["auto"]
        elif i < 2:
            settings = list(SETTINGS)
        else:
            settings = LARGE_SETTINGS
        ref = None
        for setting in settings:
            x_path = tmp / f"{name}-{setting}.npy"
            payload = {
                "shape": shape,
                "setting": setting,
                "repeats": 1 if name in ("large", "huge") else args.repeat,
                "limit": args.time_limit,
                "out": str(x_path),
            }
            r = _spawn("solve", payload, timeout=args.time_limit * 3 + 600)
            r.update(instance=name, shape=list(shape))
            if "objective" in r:
                if ref is None:
                    ref = r, np.load(x_path)
                else:
                    r["objective_rel_diff"] = abs(r["objective"] - ref[0]["objective"]) / abs(
                        ref[0]["objective"]
                    )
                    r["max_abs_x_diff"] = float(np.abs(np.load(x_path) - ref[1]).max())
            solves.append(r)
            print(_solve_line(r), flush=True)
    if solves[-1].get("status") != "optimal":
        name, shape = QUICK_FALLBACK if args.quick else FALLBACK
        solves.append(_solve_auto(name, shape, args.time_limit, tmp))
    builds = measure_builds(sizes, args.build_repeats)
    growth = {}
    for setting in ("old", "auto"):
        rows = [r for r in solves if r.get("setting") == setting and r["instance"] in sizes]
        if len(rows) == 3 and all(r.get("status") == "optimal" for r in rows):
            growth[setting] = slope([r["columns"] for r in rows], [r["solve_s"] for r in rows])
    report = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": _cpus(),
        },
        "date": time.strftime("%Y-%m-%d"),
        "highs": _highs_version(),
        "solves": solves,
        "growth_exponent": growth,
        "builds": builds,
    }
    out.mkdir(exist_ok=True)
    (out / f"large{suffix}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"large{suffix}.md").write_text(_markdown(report))
    print(_markdown(report))


def _highs_version() -> str:
    from optimizer.model.backends import highs

    return highs.version()


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _solve_line(r: dict) -> str:
    if "solve_s" not in r:
        return f"{r['instance']:7s} {r.get('setting', '?'):17s} {r.get('status')}"
    return (
        f"{r['instance']:7s} {r['setting']:17s} ({r['method']:7s}) {r['columns']:>9,d} cols "
        f"solve {r['solve_s']:8.2f} s  peak {r['peak_rss_mb']:6.0f} MB  {r['status']}  "
        f"obj {r['objective']:.10g}  dx {r.get('max_abs_x_diff', 0.0):.1e}"
    )


def _markdown(report: dict) -> str:
    solves, builds = report["solves"], report["builds"]
    lines = [
        f"Synthetic grids, seed 0, coordinated LP; {report['highs']}, "
        f"{report['machine']['cpus']} CPUs, {report['date']}.",
        "",
        "| instance | setting | method | columns | nonzeros | solve s (min) | median | "
        "peak MB | objective | rel. diff vs old | max abs x diff |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in solves:
        if "solve_s" not in r:
            lines.append(f"| {r['instance']} | {r.get('setting', '')} | {r['status']} |" + " |" * 8)
            continue
        diff = r.get("objective_rel_diff")
        dx = r.get("max_abs_x_diff")
        lines.append(
            f"| {r['instance']} | {r['setting']} | {r['method']} | {r['columns']:,} | "
            f"{r['nonzeros']:,} | {r['solve_s']:.2f} | {r['solve_median_s']:.2f} | "
            f"{r['peak_rss_mb']:.0f} | {r['objective']:.10g} | "
            f"{'' if diff is None else f'{diff:.1e}'} | {'' if dx is None else f'{dx:.1e}'} |"
        )
    lines.append("")
    by = {(r["instance"], r.get("setting")): r for r in solves}
    for name in dict.fromkeys(r["instance"] for r in solves):
        old, auto = by.get((name, "old")), by.get((name, "auto"))
        if old and auto and "solve_s" in old and "solve_s" in auto:
            best = min(
                (
                    r
                    for (n, setting), r in by.items()
                    # auto's own algorithm under its own name is auto, not a peer
                    if n == name and r.get("method") != auto["method"] and "solve_s" in r
                ),
                key=lambda r: r["solve_s"],
            )
            lines.append(
                f"- {name} ({auto['columns']:,} columns): auto ({auto['method']}) is "
                f"{old['solve_s'] / auto['solve_s']:.2f}x faster than the old default; "
                f"the best other HiGHS setting on either formulation: {best['setting']} "
                f"({best['solve_s']:.2f} s); auto / best = "
                f"{auto['solve_s'] / best['solve_s']:.2f}."
            )
        elif auto and "solve_s" in auto:
            when = f" (measured {auto['date']})" if "date" in auto else ""
            lines.append(
                f"- {name} ({auto['columns']:,} columns, {auto['rows']:,} rows): auto "
                f"({auto['method']}) {auto['status']} in {auto['solve_s']:.1f} s wall, "
                f"{auto.get('cpu_s', float('nan')):.1f} s CPU (model "
                f"build {auto['formulate_s']:.1f} s), peak memory "
                f"{auto['peak_rss_mb']:.0f} MB{when}."
            )
        elif auto:
            lines.append(f"- {name}: auto {auto['status']}.")
    for setting, g in report["growth_exponent"].items():
        lines.append(f"- growth over the three sizes, {setting}: solve time ~ columns^{g:.2f}.")
    if builds:
        when = f" (measured {report['builds_date']})" if "builds_date" in report else ""

        def t(b: dict, name: str) -> str:
            if f"{name}_s" not in b:
                return ""  # a measurement from before the column existed
            median = b.get(f"{name}_median_s")
            return f"{b[f'{name}_s']:.3f}" + ("" if median is None else f" ({median:.3f})")

        lines += [
            "",
            f"Model build in seconds, min (median) of the repeats{when}:",
            "",
            "| instance | columns | dupopt whole: scenario to HiGHS model | same network "
            "again | of it data prep. | dupopt: prepared data to HiGHS model | of it "
            "rendering | linopy: finished coefficients to HiGHS model | dupopt from "
            "prepared data / linopy | dupopt whole / linopy |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for b in builds:
            if "dupopt_s" not in b:
                lines.append(f"| {b['instance']} | {b.get('status')} |" + " |" * 8)
                continue
            if "linopy_s" in b:
                ratio = b["from_data_s"] / b["linopy_s"] if "from_data_s" in b else None
                lino = (
                    f"{t(b, 'linopy')} | {'' if ratio is None else f'{ratio:.2f}'} | "
                    f"{b['dupopt_s'] / b['linopy_s']:.2f} |"
                )
            else:
                lino = f"{b['linopy']} | | |"
            lines.append(
                f"| {b['instance']} | {b['columns']:,} | {t(b, 'dupopt')} | "
                f"{t(b, 'dupopt_cached')} | {t(b, 'data')} | {t(b, 'from_data')} | "
                f"{t(b, 'render')} | {lino}"
            )
        checked = [b for b in builds if "linopy_objective_rel_diff" in b]
        if checked:
            lines.append(
                f"\nlinopy {checked[0]['linopy']}'s model solves to dupopt's objective on "
                f"{checked[0]['instance']} (relative difference "
                f"{checked[0]['linopy_objective_rel_diff']:.1e})."
            )
        lines.append(
            "\nWhat each column includes. *dupopt whole*: scenario to HiGHS model, "
            "everything (aligned inputs, the all-pairs shortest paths the unmet-demand "
            "penalty needs, every coefficient formula, rendering). *Same network again*: "
            "the same, with the shortest paths remembered from the previous build (as for "
            "the second model of a run: observed and coordinated share the network). "
            "*Data prep.*: the prepared ModelData alone (shortest paths computed). "
            "*dupopt: prepared data to HiGHS model*: from that ModelData, every "
            "coefficient formula and the rendering. *linopy*: dupopt's finished "
            "coefficients, each row block handed over as linopy's own padded "
            "coeffs/vars arrays, to `Model.to_highspy()`; it evaluates no formula, so "
            "it does less than the dupopt column beside it (the like-for-like comparison "
            "favours linopy). Ratios are of the minima; below 1 dupopt is faster."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
