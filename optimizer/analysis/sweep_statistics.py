"""Summary tables of a batch sweep store, for the batch report (pure pandas, no drawing).

Every function takes the dict of DataFrames that :func:`optimizer.sweeps.store.read_store`
returns and gives one DataFrame with ``attrs`` ``name`` and ``unit`` (as
:func:`optimizer.model.results.named` does). Only scenarios with status ``done`` have results;
statistics across scenarios are over those. Percentiles are numpy's default (linear
interpolation between order statistics).

Statistics of the store's per-year tables (``sectors``, ``allocation``) are per year:
every table they give is keyed by ``year`` too (today the model has one year, the base
scenario's ``base_year``). The scenario metrics of ``scenarios`` are one figure per
variant, as the store defines them (its ``columns`` table).

Examples
--------
>>> import pandas as pd
>>> tables = {"scenarios": pd.DataFrame({"scenario": ["a", "b", "c"],
...     "status": ["done", "done", "failed"], "message": ["", "", "bad draw"],
...     "cost_of_non_coordination": [10.0, 30.0, float("nan")]})}
>>> dist = metric_distribution(tables).set_index("metric")
>>> dist.loc["cost_of_non_coordination", ["count", "median", "unit"]].to_dict()
{'count': 2, 'median': 20.0, 'unit': 'CNY bn/yr'}
>>> status_counts(tables)[["status", "scenarios"]].values.tolist()
[['done', 2], ['failed', 1]]
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from geo.regions import REGION_NAMES
from optimizer.analysis.comparison import CAPACITY_EPS
from optimizer.model.results import named
from optimizer.sweeps.worker import SCENARIO_METRICS

__all__ = [
    "DONE",
    "MODES",
    "QUANTILES",
    "done_scenarios",
    "failures",
    "metric_distribution",
    "money_metrics",
    "one_year",
    "regional_ranges",
    "regions_by_scenario",
    "robustness",
    "scenario_table",
    "sector_info",
    "sector_order",
    "sector_regions",
    "sector_units",
    "status_counts",
    "store_years",
    "stranded_capacity_ranges",
    "ties",
]

#: Status of a solved scenario.
DONE = "done"
#: The two modes of every solved scenario, in display order.
MODES = ("observed", "coordinated")
#: The keys of a cell of the store's ``allocation`` (besides scenario and mode).
CELL = ["region", "sector", "year"]
#: Percentiles of :func:`metric_distribution`: column -> quantile.
QUANTILES = {"p5": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95}


def _frame(tables: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    frame = tables.get(name)
    return frame if frame is not None else pd.DataFrame()


def store_years(tables: dict[str, pd.DataFrame]) -> list[int]:
    """The model years in the store's per-year tables (``sectors``, ``allocation``,
    ``costs``), sorted; empty when they have no rows.

    Examples
    --------
    >>> store_years({"costs": pd.DataFrame({"year": [2030, 2023, 2030]})})
    [2023, 2030]
    """
    years: set[int] = set()
    for name in ("sectors", "allocation", "costs"):
        frame = _frame(tables, name)
        if "year" in frame.columns:
            years.update(int(y) for y in frame["year"].dropna().unique())
    return sorted(years)


def one_year(frame: pd.DataFrame, year: int | None = None) -> tuple[pd.DataFrame, int | None]:
    """The rows of ``frame`` in ``year`` (default: its last year) and that year; a frame
    without rows is returned as it is, with ``None``. Figures drawn from a per-year table
    show one year, named in their title.

    Examples
    --------
    >>> rows, year = one_year(pd.DataFrame({"year": [2023, 2030], "x": [1, 2]}))
    >>> year, rows["x"].tolist()
    (2030, [2])
    """
    if frame.empty:
        return frame, None
    chosen = int(frame["year"].max()) if year is None else int(year)
    return frame.loc[frame["year"] == chosen], chosen


def money_metrics() -> list[tuple[str, str, str]]:
    """The scenario metrics in money (``CNY bn`` or ``CNY bn/yr``): (column, unit, text).

    Examples
    --------
    >>> [m for m, _, _ in money_metrics()][:3]
    ['cost_observed', 'cost_coordinated', 'cost_of_non_coordination']
    """
    return [(n, u, d) for n, u, d in SCENARIO_METRICS if u.startswith("CNY")]


def done_scenarios(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``scenarios`` whose status is ``done``, sorted by scenario name.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["b", "a"], "status": ["done", "error"]})
    >>> done_scenarios({"scenarios": s})["scenario"].tolist()
    ['b']
    """
    s = _frame(tables, "scenarios")
    if s.empty or "status" not in s.columns:
        return s.iloc[0:0]
    return s.loc[s["status"] == DONE].sort_values("scenario").reset_index(drop=True)


def _done_names(tables: dict[str, pd.DataFrame]) -> list[str]:
    return (
        list(done_scenarios(tables)["scenario"])
        if "scenario" in _frame(tables, "scenarios")
        else []
    )


def _results(tables: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """Rows of a results table (``sectors``, ``allocation``) of done scenarios only."""
    frame = _frame(tables, name)
    if frame.empty or "scenario" not in frame.columns:
        return frame
    return frame.loc[frame["scenario"].isin(_done_names(tables))]


def sector_info(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The sweep's own sectors as its store recorded them (``sector_info``: ``sector``,
    ``position``, ``name``, ``capacity_unit``, ``output_unit``), indexed by sector in the
    base scenario's order; empty for a store that has none."""
    info = _frame(tables, "sector_info")
    columns = ["position", "name", "capacity_unit", "output_unit"]
    if info.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="sector"))
    return info.sort_values("position").set_index("sector")[columns]


def sector_units(
    tables: dict[str, pd.DataFrame], sectors: list[str] | pd.Series | None = None
) -> dict[str, str]:
    """Capacity unit per sector, from the store's own ``sector_info`` (never from the
    shipped dataset: a sweep of another scenario has other sectors and units); ``""``
    for a sector the store does not describe.

    Examples
    --------
    >>> info = pd.DataFrame({"sector": ["solar_pv"], "position": [0], "name": ["PV"],
    ...     "capacity_unit": ["GW/yr"], "output_unit": ["GW"]})
    >>> sector_units({"sector_info": info}, ["solar_pv", "made_up"])
    {'solar_pv': 'GW/yr', 'made_up': ''}
    """
    units = sector_info(tables)["capacity_unit"].to_dict()
    if sectors is None:
        return units
    return {str(s): units.get(str(s), "") for s in sectors}


def sector_order(tables: dict[str, pd.DataFrame], sectors) -> list[str]:
    """``sectors`` in the base scenario's order, then any others alphabetically.

    >>> info = pd.DataFrame({"sector": ["b", "a"], "position": [0, 1], "name": ["B", "A"],
    ...     "capacity_unit": ["t", "t"], "output_unit": ["t", "t"]})
    >>> sector_order({"sector_info": info}, ["a", "c", "b"])
    ['b', 'a', 'c']
    """
    present = {str(s) for s in sectors}
    known = [s for s in sector_info(tables).index if s in present]
    return known + sorted(present - set(known))


def metric_distribution(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Distribution of each money metric across the done scenarios.

    Parameters
    ----------
    tables
        From :func:`optimizer.sweeps.store.read_store` (only ``scenarios`` is used).

    Returns
    -------
    pandas.DataFrame
        One row per metric of :func:`money_metrics` present in the store: ``metric``,
        ``count`` (finite values), ``mean``, ``min``, ``p5``, ``p25``, ``median``, ``p75``,
        ``p95``, ``max``, ``unit``, ``description``. Statistics are NaN with no values.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": list("abcde"), "status": "done",
    ...                   "stranded_debt_observed": [1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> dist = metric_distribution({"scenarios": s})
    >>> dist[["metric", "p25", "p95", "unit"]].to_dict("records")
    [{'metric': 'stranded_debt_observed', 'p25': 2.0, 'p95': 4.8, 'unit': 'CNY bn'}]
    """
    done = done_scenarios(tables)
    rows = []
    for name, unit, description in money_metrics():
        if name not in done.columns:
            continue
        values = pd.to_numeric(done[name], errors="coerce").to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        stats: dict[str, float] = dict.fromkeys(["mean", "min", *QUANTILES, "max"], np.nan)
        if len(values):
            stats["mean"] = float(np.mean(values))
            stats["min"] = float(np.min(values))
            stats["max"] = float(np.max(values))
            for column, q in QUANTILES.items():
                stats[column] = float(np.quantile(values, q))
        rows.append(
            {
                "metric": name,
                "count": len(values),
                **stats,
                "unit": unit,
                "description": description,
            }
        )
    columns = ["metric", "count", "mean", "min", *QUANTILES, "max", "unit", "description"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["count"] = frame["count"].astype(int)
    return named(frame, "distribution of key metrics across done scenarios", "see unit column")


def robustness(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per region x sector x year: share of done scenarios in which the region holds
    capacity.

    A region holds capacity in a scenario when its capacity exceeds
    :data:`optimizer.analysis.comparison.CAPACITY_EPS` (in the sector's capacity unit).
    Region-sector-year cells absent from a scenario's allocation count as no capacity.

    Returns
    -------
    pandas.DataFrame
        ``region``, ``name``, ``sector``, ``year``, ``share_coordinated`` and
        ``share_observed`` (0..1), ``scenarios`` (done scenarios, the denominator);
        sorted by sector, year and region. Empty when no scenario is done.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["a", "b"], "status": "done"})
    >>> a = pd.DataFrame({"scenario": ["a", "a", "b", "b"], "mode": "coordinated",
    ...     "region": "110000", "sector": ["nev", "cement", "nev", "cement"], "year": 2023,
    ...     "capacity": [1.0, 0.0, 0.0, 0.0]})
    >>> r = robustness({"scenarios": s, "allocation": a})
    >>> r[["sector", "year", "share_coordinated", "share_observed", "scenarios"]].values.tolist()
    [['cement', 2023, 0.0, 0.0, 2], ['nev', 2023, 0.5, 0.0, 2]]
    """
    columns = [
        "region", "name", "sector", "year", "share_coordinated", "share_observed", "scenarios"
    ]  # fmt: skip
    n = len(_done_names(tables))
    alloc = _results(tables, "allocation")
    if n == 0 or alloc.empty:
        return named(pd.DataFrame(columns=columns), "robustness of the allocation", "share")
    alloc = alloc.assign(
        region=alloc["region"].astype(str),
        built=(pd.to_numeric(alloc["capacity"], errors="coerce") > CAPACITY_EPS).astype(int),
    )
    # One count per scenario: max over any duplicate rows of a (scenario, cell).
    per = alloc.groupby(["mode", "scenario", *CELL])["built"].max()
    counts = per.groupby(["mode", *CELL]).sum().unstack("mode")
    counts = counts.reindex(columns=list(MODES)).fillna(0.0)
    frame = (counts / n).reset_index()
    frame = frame.rename(columns={m: f"share_{m}" for m in MODES})
    frame.columns.name = None
    frame.insert(1, "name", frame["region"].map(REGION_NAMES).fillna(frame["region"]))
    frame["scenarios"] = n
    frame = frame.sort_values(["sector", "year", "region"]).reset_index(drop=True)
    return named(frame[columns], "robustness of the allocation", "share of done scenarios (0-1)")


def _quantile_columns(wide: pd.DataFrame, prefix: str, axis: int = 0) -> pd.DataFrame:
    """Min, median and max of ``wide`` along ``axis`` (1: across the scenario columns)."""
    return pd.DataFrame(
        {
            f"{prefix}_min": wide.min(axis=axis),
            f"{prefix}_median": wide.median(axis=axis),
            f"{prefix}_max": wide.max(axis=axis),
        }
    )


def regional_ranges(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per region and year: min / median / max across done scenarios of the debt tied to
    stranded capacity (summed over sectors, CNY bn), observed and coordinated.

    Returns
    -------
    pandas.DataFrame
        ``region``, ``name``, ``year``, ``debt_observed_min`` / ``_median`` / ``_max``,
        ``debt_observed_range`` (max - min), ``debt_coordinated_min`` / ``_median`` /
        ``_max``, ``debt_coordinated_range``; all CNY bn. A region without rows in a
        scenario counts as 0 there. Sorted by region and year; empty when no scenario is
        done.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["a", "b"], "status": "done"})
    >>> a = pd.DataFrame({"scenario": ["a", "a", "b", "b"], "mode": "observed",
    ...     "region": "110000", "sector": ["nev", "cement"] * 2, "year": 2023,
    ...     "stranded_debt_cny_bn": [1.0, 2.0, 0.5, 0.5]})
    >>> r = regional_ranges({"scenarios": s, "allocation": a})
    >>> r[["debt_observed_min", "debt_observed_max", "debt_observed_range"]].to_numpy().tolist()
    [[1.0, 3.0, 2.0]]
    """
    names = _done_names(tables)
    alloc = _results(tables, "allocation")
    stats = ("min", "median", "max", "range")
    columns = ["region", "name", "year", *(f"debt_{m}_{s}" for m in MODES for s in stats)]
    if not names or alloc.empty:
        return named(pd.DataFrame(columns=columns), "stranded debt by region", "CNY bn")
    alloc = alloc.assign(region=alloc["region"].astype(str))
    keys = ["region", "year"]
    cells = pd.MultiIndex.from_frame(alloc[keys].drop_duplicates().sort_values(keys))
    parts = []
    for mode in MODES:
        rows = alloc.loc[alloc["mode"] == mode]
        total = rows.groupby([*keys, "scenario"])["stranded_debt_cny_bn"].sum()
        total = total.unstack("scenario").reindex(index=cells, columns=names).fillna(0.0)
        part = _quantile_columns(total, f"debt_{mode}", axis=1)
        part[f"debt_{mode}_range"] = part[f"debt_{mode}_max"] - part[f"debt_{mode}_min"]
        parts.append(part)
    frame = pd.concat(parts, axis=1).reset_index()
    frame.insert(1, "name", frame["region"].map(REGION_NAMES).fillna(frame["region"]))
    return named(frame[columns], "debt tied to stranded capacity by region", "CNY bn")


def stranded_capacity_ranges(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per region x sector x year: min / median / max of stranded capacity across done
    scenarios.

    Returns
    -------
    pandas.DataFrame
        ``region``, ``name``, ``sector``, ``year``, ``observed_min`` / ``_median`` /
        ``_max``, ``coordinated_min`` / ``_median`` / ``_max`` (in the sector's capacity
        unit) and ``capacity_unit``. Cells absent from a scenario count as 0 there.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["a", "b", "c"], "status": "done"})
    >>> a = pd.DataFrame({"scenario": ["a", "b", "c"], "mode": "observed", "year": 2023,
    ...     "region": "110000", "sector": "solar_pv", "stranded_capacity": [3.0, 1.0, 2.0]})
    >>> info = pd.DataFrame({"sector": ["solar_pv"], "position": [0], "name": ["PV"],
    ...     "capacity_unit": ["GW/yr"], "output_unit": ["GW"]})
    >>> r = stranded_capacity_ranges({"scenarios": s, "allocation": a, "sector_info": info})
    >>> r[["observed_min", "observed_median", "observed_max"]].to_numpy().tolist()
    [[1.0, 2.0, 3.0]]
    >>> r["capacity_unit"].tolist()
    ['GW/yr']
    """
    names = _done_names(tables)
    alloc = _results(tables, "allocation")
    columns = [
        "region",
        "name",
        "sector",
        "year",
        *(f"{m}_{s}" for m in MODES for s in ("min", "median", "max")),
        "capacity_unit",
    ]
    if not names or alloc.empty:
        return named(pd.DataFrame(columns=columns), "stranded capacity ranges", "capacity unit")
    alloc = alloc.assign(region=alloc["region"].astype(str))
    cells = alloc[CELL].drop_duplicates()
    cell_index = pd.MultiIndex.from_frame(cells.sort_values(["sector", "year", "region"]))
    parts = []
    for mode in MODES:
        rows = alloc.loc[alloc["mode"] == mode]
        wide = rows.groupby([*CELL, "scenario"])["stranded_capacity"].sum()
        wide = wide.unstack("scenario").reindex(index=cell_index, columns=names).fillna(0.0)
        parts.append(
            pd.DataFrame(
                {
                    f"{mode}_min": wide.min(axis=1),
                    f"{mode}_median": wide.median(axis=1),
                    f"{mode}_max": wide.max(axis=1),
                }
            )
        )
    frame = pd.concat(parts, axis=1).reset_index()
    frame.insert(1, "name", frame["region"].map(REGION_NAMES).fillna(frame["region"]))
    frame["capacity_unit"] = frame["sector"].map(sector_units(tables, frame["sector"].unique()))
    frame = frame.sort_values(["sector", "year", "region"]).reset_index(drop=True)
    return named(frame[columns], "stranded capacity by region and sector", "capacity unit")


def regions_by_scenario(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Regions holding capacity per done scenario, sector, year and mode (from
    ``sectors``).

    Returns
    -------
    pandas.DataFrame
        ``scenario``, ``sector``, ``year``, ``regions_observed``, ``regions_coordinated``;
        sorted by sector, year and scenario.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["a"], "status": "done"})
    >>> sec = pd.DataFrame({"scenario": "a", "mode": ["observed", "coordinated"],
    ...                     "sector": "nev", "year": 2023, "regions": [31, 4]})
    >>> regions_by_scenario({"scenarios": s, "sectors": sec}).values.tolist()
    [['a', 'nev', 2023, 31, 4]]
    """
    columns = ["scenario", "sector", "year", *(f"regions_{m}" for m in MODES)]
    rows = _results(tables, "sectors")
    if rows.empty:
        return named(pd.DataFrame(columns=columns), "regions with capacity", "regions")
    wide = rows.pivot_table(
        index=["scenario", "sector", "year"], columns="mode", values="regions", aggfunc="sum"
    )
    wide = wide.reindex(columns=list(MODES))
    wide.columns = [f"regions_{m}" for m in wide.columns]
    order = ["sector", "year", "scenario"]
    frame = wide.reset_index().sort_values(order).reset_index(drop=True)
    for m in MODES:
        frame[f"regions_{m}"] = frame[f"regions_{m}"].fillna(0).astype(int)
    return named(frame[columns], "regions with capacity per scenario", "regions")


def sector_regions(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per sector and year: regions with capacity across done scenarios, observed vs
    coordinated.

    Returns
    -------
    pandas.DataFrame
        ``sector``, ``year``, ``observed_min``, ``observed_max``, ``coordinated_min``,
        ``coordinated_median``, ``coordinated_max`` (counts of regions), ``scenarios``.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["a", "b"], "status": "done"})
    >>> sec = pd.DataFrame({"scenario": ["a", "a", "b", "b"], "year": 2023,
    ...     "mode": ["observed", "coordinated"] * 2, "sector": "nev", "regions": [31, 4, 31, 6]})
    >>> row = sector_regions({"scenarios": s, "sectors": sec}).to_dict("records")[0]
    >>> [row[k] for k in ("observed_min", "coordinated_min", "coordinated_median", "scenarios")]
    [31, 4, 5.0, 2]
    """
    long = regions_by_scenario(tables)
    columns = [
        "sector",
        "year",
        "observed_min",
        "observed_max",
        "coordinated_min",
        "coordinated_median",
        "coordinated_max",
        "scenarios",
    ]
    if long.empty:
        return named(pd.DataFrame(columns=columns), "regions with capacity by sector", "regions")
    g = long.groupby(["sector", "year"])
    frame = pd.DataFrame(
        {
            "observed_min": g["regions_observed"].min(),
            "observed_max": g["regions_observed"].max(),
            "coordinated_min": g["regions_coordinated"].min(),
            "coordinated_median": g["regions_coordinated"].median().astype(float),
            "coordinated_max": g["regions_coordinated"].max(),
            "scenarios": g["scenario"].nunique(),
        }
    ).reset_index()
    return named(frame[columns], "regions with capacity by sector", "regions")


def status_counts(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Scenarios per status (``done`` first, then by count), with their share.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": list("abc"), "status": ["failed", "done", "done"]})
    >>> status_counts({"scenarios": s}).values.tolist()
    [['done', 2, 0.6666666666666666], ['failed', 1, 0.3333333333333333]]
    """
    s = _frame(tables, "scenarios")
    columns = ["status", "scenarios", "share"]
    if s.empty or "status" not in s.columns:
        return named(pd.DataFrame(columns=columns), "scenarios by status", "scenarios; share")
    counts = s["status"].astype(str).value_counts()
    frame = pd.DataFrame({"status": counts.index.astype(str), "scenarios": counts.to_numpy()})
    frame["first"] = frame["status"] != DONE
    frame = frame.sort_values(["first", "scenarios", "status"], ascending=[True, False, True])
    frame["scenarios"] = frame["scenarios"].astype(int)
    frame["share"] = frame["scenarios"] / len(s)
    frame = frame[columns].reset_index(drop=True)
    return named(frame, "scenarios by status", "scenarios; share of all scenarios")


def failures(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The scenarios that were not solved: ``scenario``, ``kind``, ``status``, ``message``.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["a", "b"], "kind": "grid", "status": ["done", "failed"],
    ...                   "message": ["", "invalid draw"]})
    >>> failures({"scenarios": s}).values.tolist()
    [['b', 'grid', 'failed', 'invalid draw']]
    """
    s = _frame(tables, "scenarios")
    columns = ["scenario", "kind", "status", "message"]
    if s.empty or "status" not in s.columns:
        return named(pd.DataFrame(columns=columns), "failed scenarios", "")
    bad = s.loc[s["status"] != DONE].reindex(columns=columns)
    bad = bad.assign(message=bad["message"].fillna("").astype(str))
    return named(bad.sort_values("scenario").reset_index(drop=True), "failed scenarios", "")


def ties(tables: dict[str, pd.DataFrame]) -> tuple[int, int]:
    """(done scenarios whose optimum has ties in either mode, done scenarios).

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": list("abc"), "status": "done",
    ...                   "alternative_optima": [True, False, True]})
    >>> ties({"scenarios": s})
    (2, 3)
    """
    done = done_scenarios(tables)
    if "alternative_optima" not in done.columns:
        return 0, len(done)
    flags = done["alternative_optima"].astype("boolean").fillna(False).astype(bool)
    return int(flags.sum()), len(done)


def scenario_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per scenario: name, kind, status, ties, overrides and the money metrics.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["a"], "kind": "grid", "status": "done",
    ...     "overrides": ['{"demand": 1.1}'], "alternative_optima": [False],
    ...     "cost_of_non_coordination": [12.5]})
    >>> scenario_table({"scenarios": s}).iloc[0]["overrides"]
    'demand=1.1'
    """
    s = _frame(tables, "scenarios")
    metrics = [m for m, _, _ in money_metrics()]
    columns = ["scenario", "kind", "status", "alternative_optima", "overrides", *metrics]
    if s.empty:
        return named(pd.DataFrame(columns=columns), "scenarios", "CNY bn; CNY bn/yr")
    frame = s.reindex(columns=columns).sort_values("scenario").reset_index(drop=True)
    frame["overrides"] = frame["overrides"].map(_overrides_text)
    return named(frame, "scenarios", "metrics in CNY bn/yr (costs) and CNY bn (capital, debt)")


def _overrides_text(value: object) -> str:
    """``{"demand": 1.1}`` as ``demand=1.1``; anything unreadable as it is."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    if not isinstance(parsed, dict):
        return value
    return ", ".join(f"{k}={_short(v)}" for k, v in parsed.items())


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_short(v)}" for k, v in value.items()) + "}"
    return str(value)


#: Kinds of scenario in a store, in the order reports show them.
KINDS = ("base", "named", "grid", "monte_carlo")


def metric_distribution_by_kind(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`metric_distribution` per kind of scenario (base, named, grid, Monte Carlo).

    The kinds answer different questions (the base case is one point, named variants are
    chosen cases, a grid spans a box, Monte-Carlo draws sample a distribution), so they
    are summarised apart; ``kind`` is the first column.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["base", "m1", "m2"], "status": "done",
    ...     "kind": ["base", "monte_carlo", "monte_carlo"],
    ...     "cost_of_non_coordination": [300.0, 500.0, 700.0]})
    >>> d = metric_distribution_by_kind({"scenarios": s})
    >>> d[["kind", "count", "median"]].to_dict("records")
    [{'kind': 'base', 'count': 1, 'median': 300.0}, {'kind': 'monte_carlo', 'count': 2, 'median': 600.0}]
    """  # noqa: E501
    done = done_scenarios(tables)
    if "kind" not in done.columns or done.empty:
        frame = metric_distribution(tables)
        frame.insert(0, "kind", "all")
        return frame
    kinds = [k for k in KINDS if k in set(done["kind"])] + sorted(set(done["kind"]) - set(KINDS))
    frames = []
    for kind in kinds:
        part = metric_distribution({"scenarios": done.loc[done["kind"] == kind]})
        part.insert(0, "kind", kind)
        frames.append(part)
    frame = pd.concat(frames, ignore_index=True)
    return named(
        frame,
        "distribution of key metrics by kind of scenario (done scenarios)",
        "see unit column",
    )


def _override_frame(done: pd.DataFrame) -> pd.DataFrame:
    """One column per override key, one row per scenario (NaN where not set)."""
    import json

    parsed = [json.loads(v) if isinstance(v, str) and v else {} for v in done["overrides"]]
    frame = pd.DataFrame.from_records(parsed, index=done.index)
    return frame.apply(pd.to_numeric, errors="coerce")


def drivers(
    tables: dict[str, pd.DataFrame], metric: str = "cost_of_non_coordination"
) -> pd.DataFrame:
    """Which uncertain input moves ``metric`` most across the Monte-Carlo draws.

    Each input of the draws is one driver: its multiplier, or for an input drawn
    independently per region or sector (``cost_factor.110000``, ...) the mean of its
    multipliers and, separately, their spread (standard deviation: regional cost
    differences act through it). ``metric`` is regressed on all drivers at once
    (ordinary least squares); a driver's swing is its coefficient times the span of its
    draws (5th to 95th percentile), i.e. how far the metric moves when that input goes
    from low to high and the others stay at their means.

    Returns
    -------
    pandas.DataFrame
        One row per driver, largest absolute swing first: ``input``, ``low`` and
        ``high`` (the 5th and 95th percentile of the driver's draws), ``metric_low`` and
        ``metric_high`` (the fitted metric there, others at their means), ``swing``
        (``metric_high - metric_low``), ``r2`` (of the whole fit), ``draws``, ``unit``.
        Empty without at least three more done draws than drivers.

    Examples
    --------
    >>> import json
    >>> rng = np.random.default_rng(0)
    >>> d, e = rng.uniform(0.9, 1.1, 40), rng.uniform(0.8, 1.2, 40)
    >>> s = pd.DataFrame({"scenario": [f"m{i}" for i in range(40)], "status": "done",
    ...     "kind": "monte_carlo", "overrides": [json.dumps({"demand": a, "export": b})
    ...     for a, b in zip(d, e)], "cost_of_non_coordination": 300 - 500 * (d - 1) + 10 * e})
    >>> t = drivers({"scenarios": s})
    >>> t["input"].tolist(), round(float(t["swing"].iloc[0]) / (np.quantile(d, .95) - np.quantile(d, .05)))
    (['demand', 'export'], -500)
    """  # noqa: E501
    columns = ["input", "low", "high", "metric_low", "metric_high", "swing", "r2", "draws", "unit"]
    empty = named(pd.DataFrame(columns=columns), f"drivers of {metric}", "")
    done = done_scenarios(tables)
    if done.empty or metric not in done.columns or "overrides" not in done.columns:
        return empty
    if "kind" in done.columns:
        done = done.loc[done["kind"] == "monte_carlo"]
    y = pd.to_numeric(done[metric], errors="coerce")
    done = done.loc[y.notna()]
    y = y.loc[done.index].to_numpy(dtype=float)
    if done.empty:
        return empty
    raw = _override_frame(done)
    groups: dict[str, list[str]] = {}
    for key in raw.columns:
        head, _, tail = str(key).partition(".")
        # cost_factor.110000: one draw per region (a group); export.solar_pv alone: itself.
        group = (
            head if tail and sum(str(k).startswith(head + ".") for k in raw.columns) > 1 else key
        )
        groups.setdefault(group, []).append(key)
    features = {}
    for group, keys in groups.items():
        values = raw[keys]
        features[group] = values.mean(axis=1)
        if len(keys) > 1:
            features[f"{group} (spread across {len(keys)} draws)"] = values.std(axis=1)
    x = pd.DataFrame(features).dropna(axis=1, how="all")
    x = x.loc[:, x.std() > 0]
    if x.empty or len(x) < x.shape[1] + 3:
        return empty
    design = np.column_stack([np.ones(len(x)), x.to_numpy(dtype=float)])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    fitted = design @ coef
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - float(((y - fitted) ** 2).sum()) / total if total > 0 else np.nan
    mean = x.mean()
    base = coef[0] + float((coef[1:] * mean.to_numpy()).sum())
    rows = []
    for (name, column), c in zip(x.items(), coef[1:], strict=True):
        low, high = (float(v) for v in column.quantile([0.05, 0.95]))
        at_low = base + c * (low - mean[name])
        at_high = base + c * (high - mean[name])
        rows.append([name, low, high, at_low, at_high, at_high - at_low, r2, len(x), "CNY bn/yr"])
    frame = pd.DataFrame(rows, columns=columns)
    frame = frame.reindex(frame["swing"].abs().sort_values(ascending=False).index)
    return named(
        frame.reset_index(drop=True),
        f"drivers of {metric}: swing from the 5th to the 95th percentile of each input "
        "(least-squares fit over the Monte-Carlo draws, other inputs at their means)",
        "multipliers; CNY bn/yr",
    )
