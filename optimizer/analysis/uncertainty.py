"""The headline with its range: the cost of non-coordination and stranded capital over
draws of the uncertain inputs.

The uncertain inputs and their ranges are data: a sweep file with a ``[monte_carlo]``
table whose every ``vary`` entry gives its ``reason`` (the shipped one is
``data/sweeps/uncertainty.toml``). Each draw is solved in both modes on the sweep fast
path (:func:`optimizer.sweeps.worker.run_chunk`: one kept model per mode, warm
re-solves), so a range of 50 draws takes seconds.

Examples
--------
>>> import optimizer
>>> from optimizer.sweeps.sweep_file import load_sweep
>>> s = optimizer.load_scenario()
>>> sweep = load_sweep(optimizer.default_data_dir() / "sweeps" / "uncertainty.toml", s)
>>> r = headline_range(s, sweep, samples=5)
>>> int(r.set_index("metric").loc["cost_of_non_coordination", "samples"])
5
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from optimizer.errors import Issue, ScenarioError
from optimizer.model.backends import SWEEP_MIP_REL_GAP
from optimizer.model.results import named
from optimizer.scenario.scenario import Scenario
from optimizer.sweeps.overrides import Overrides
from optimizer.sweeps.sweep_file import Job, Sweep

#: The headline metrics given a range: (store column, unit, what it is).
METRICS = (
    ("cost_of_non_coordination", "CNY bn/yr", "observed minus coordinated resource cost"),
    ("cost_observed", "CNY bn/yr", "resource cost of the observed buildout"),
    ("cost_coordinated", "CNY bn/yr", "resource cost of the coordinated plan"),
    ("stranded_capital_observed", "CNY bn", "capital value of stranded capacity, observed"),
    ("stranded_debt_observed", "CNY bn", "debt tied to stranded capacity, observed"),
)


#: How the metrics are named in sentences.
LABELS = {
    "cost_of_non_coordination": "Cost of non-coordination",
    "stranded_capital_observed": "Stranded capital of the observed buildout",
    "stranded_debt_observed": "Debt tied to stranded capacity",
}


def uncertain_inputs(sweep: Sweep) -> pd.DataFrame:
    """The sweep's Monte-Carlo inputs: key, distribution and parameters, and reason.

    Raises :class:`~optimizer.errors.ScenarioError` (naming the file and key) where the
    sweep has no Monte-Carlo draws or an input has no reason: an uncertainty range whose
    inputs are not explained cannot be defended."""
    issues = []
    if not sweep.monte_carlo:
        issues.append(
            Issue(sweep.source, "has no [monte_carlo] draws to give the headline a range")
        )
    for key, spec in sweep.monte_carlo.items():
        if not str(spec.get("reason", "")).strip():
            issues.append(
                Issue(
                    sweep.source,
                    "every uncertain input needs a reason (why this range)",
                    column=f"monte_carlo.vary.{key}.reason",
                )
            )
    if issues:
        raise ScenarioError(issues)
    rows = [
        (
            key,
            spec["distribution"],
            ", ".join(
                f"{p} {v:g}"
                for p, v in spec.items()
                if p not in ("distribution", "reason", "independent")
            )
            + (", per sector or region" if spec.get("independent") else ""),
            spec["reason"],
        )
        for key, spec in sweep.monte_carlo.items()
    ]
    frame = pd.DataFrame(rows, columns=["input", "distribution", "parameters", "reason"])
    return named(frame, "uncertain inputs (multipliers on the scenario's values)", "")


def base_metrics(headline: pd.DataFrame) -> dict[str, float]:
    """The :data:`METRICS` of a comparison's ``headline`` table (the printed figures).

    Examples
    --------
    >>> import optimizer
    >>> s = optimizer.load_scenario()
    >>> gap = optimizer.compare(optimizer.evaluate_observed(s), optimizer.solve(s))
    >>> round(base_metrics(gap.headline)["cost_of_non_coordination"], 1)
    295.8
    """
    h = headline.set_index("metric")
    return {
        "cost_of_non_coordination": float(h.loc["total_cost", "difference"]),
        "cost_observed": float(h.loc["total_cost", "observed"]),
        "cost_coordinated": float(h.loc["total_cost", "coordinated"]),
        "stranded_capital_observed": float(h.loc["stranded_capital", "observed"]),
        "stranded_debt_observed": float(h.loc["stranded_debt", "observed"]),
    }


def headline_range(
    scenario: Scenario,
    sweep: Sweep,
    *,
    samples: int | None = None,
    arcs: pd.DataFrame | None = None,
    base: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The headline metrics over the sweep's Monte-Carlo draws, beside the base case.

    Parameters
    ----------
    scenario
        The base scenario (the draws are multipliers on it).
    sweep
        A sweep file with ``[monte_carlo]`` (:func:`optimizer.sweeps.sweep_file.load_sweep`).
    samples
        Use the first ``samples`` draws (default: all the file asks for).
    arcs
        Transport network, as for :func:`optimizer.solve`.
    base
        The base case's metrics as already solved (:func:`base_metrics` of a
        comparison's headline), so the range sits beside the very figures printed; a
        MILP's plan may differ within its gap between two solves. Default: solved here.

    Returns
    -------
    DataFrame
        One row per metric (:data:`METRICS`): ``base``, ``p05``, ``p50``, ``p95``,
        ``min``, ``max`` over the draws that solved, ``base_percentile`` (the share of
        draws at or below the base case, in %), ``samples`` (draws solved) and
        ``failed`` (draws that did not reach optimality: they give no number), ``unit``,
        ``mip_rel_gap`` (the gap the draws' plans were solved to where plants are lumpy,
        the sweep file's ``[solver] mip_rel_gap``, else
        :data:`~optimizer.model.backends.SWEEP_MIP_REL_GAP`; NaN for an LP).
    """
    uncertain_inputs(sweep)  # every input explained, or a located error
    draws = [j for j in sweep.jobs if j.kind == "monte_carlo"]
    if samples is not None:
        if samples < 1:
            raise ScenarioError([Issue("headline_range()", "must be >= 1", column="samples")])
        draws = draws[:samples]
    # Imported here: the report imports this module for range_sentence alone.
    from optimizer.sweeps.worker import run_chunk

    key = f"headline-range:{scenario.fingerprint}"
    # The draws with the sweep file's [solver] options: for a MILP (lumpy plants) the
    # shipped file loosens the gap to 0.1 % and bounds each solve (at the 0.01 % default,
    # 7 of 8 draws took 0.7-4.8 s and the eighth had not closed its gap after 60 s).
    chunks = [run_chunk(scenario, draws, base_key=key, arcs=arcs, ties=False, **sweep.solver)]
    if base is None:
        chunks.append(
            run_chunk(
                scenario, [Job("base", "base", Overrides())], base_key=key, arcs=arcs, ties=False
            )
        )
    out = pd.concat([c.scenarios for c in chunks], ignore_index=True).set_index("scenario")
    if base is None:
        solved = out.loc["base"]
        if solved["status"] != "done":
            raise ScenarioError(
                [Issue("headline_range()", f"the base case did not solve: {solved['message']}")]
            )
        base = {metric: float(solved[metric]) for metric, _unit, _what in METRICS}
        out = out.drop(index="base")
    done = out.loc[out["status"] == "done"]
    rows = []
    for metric, unit, _what in METRICS:
        values = done[metric].to_numpy(float)
        b = float(base[metric])
        if values.size:
            p05, p50, p95 = np.percentile(values, [5, 50, 95])
            low, high = values.min(), values.max()
            where = 100.0 * float(np.mean(values <= b))
        else:
            p05 = p50 = p95 = low = high = where = float("nan")
        rows.append(
            (
                metric,
                b,
                p05,
                p50,
                p95,
                low,
                high,
                where,
                values.size,
                len(draws) - values.size,
                unit,
            )
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "metric",
            "base",
            "p05",
            "p50",
            "p95",
            "min",
            "max",
            "base_percentile",
            "samples",
            "failed",
            "unit",
        ],
    )
    milp = bool(scenario.parameters.min_plant_scale)
    gap = sweep.solver.get("mip_rel_gap", SWEEP_MIP_REL_GAP)
    frame["mip_rel_gap"] = gap if milp else float("nan")
    return named(
        frame,
        f"headline over {len(draws)} draws of the uncertain inputs ({sweep.source})",
        "see unit column; base_percentile in %",
    )


def range_sentence(table: pd.DataFrame, metric: str = "cost_of_non_coordination") -> str:
    """One sentence: the base figure, its 90 % range and where the base sits in it.

    Examples
    --------
    >>> t = pd.DataFrame({"metric": ["cost_of_non_coordination"], "base": [288.2],
    ...     "p05": [250.0], "p50": [300.0], "p95": [420.0], "base_percentile": [30.0],
    ...     "samples": [50], "failed": [0], "unit": ["CNY bn/yr"]})
    >>> import textwrap
    >>> print(textwrap.fill(range_sentence(t), 80))
    Cost of non-coordination: CNY 288.2 bn/yr; 90 % of 50 draws of the uncertain
    inputs lie in 250.0-420.0 (median 300.0); 30 % of the draws are at or below the
    base case.
    """
    row = table.set_index("metric").loc[metric]
    unit = str(row["unit"]).replace("CNY ", "")
    label = LABELS.get(metric, metric.replace("_", " ").capitalize())
    failed = f" ({int(row['failed'])} draws did not solve)" if row["failed"] else ""
    gap = row.get("mip_rel_gap", float("nan"))
    within = (
        f" Each draw's plan is solved to within {gap:.1%} of its optimal cost (lumpy plants)."
        if pd.notna(gap)
        else ""
    )
    return (
        f"{label}: CNY {row['base']:,.1f} {unit}; 90 % of "
        f"{int(row['samples'])} draws of the uncertain inputs lie in {row['p05']:,.1f}-"
        f"{row['p95']:,.1f} (median {row['p50']:,.1f}); {row['base_percentile']:.0f} % of "
        f"the draws are at or below the base case{failed}.{within}"
    )
