"""The HTML report of a batch sweep store: distributions, robustness maps, failures.

:func:`render_batch_report` reads a DuckDB store written by
:func:`optimizer.sweeps.driver.run_sweep` (only through
:func:`optimizer.sweeps.store.read_store`), computes the summary tables of
:mod:`optimizer.analysis.sweep_statistics`, draws the figures with the map machinery of
:mod:`geo.maps`, and writes ``report.html`` with ``figures/`` (PNG, each figure laid out
and drawn once; SVG on request) and ``tables/`` (CSV) into one folder. As
:mod:`geo.reports.run_report`, the page extends the shared template of
:mod:`geo.reports.html` and opens offline (no external resources; the sorting script is
inline), and every string from the store is escaped by Jinja2. The
folder is built in a hidden staging folder next to it and swapped in as a whole
(:func:`geo.reports.html.report_folder`), so an interrupted render leaves the
previous report (or none), never a half-written one; a folder that is not a dupopt
report is refused, never replaced.

Examples
--------
>>> # path = render_batch_report(Path("reports/sens.duckdb"))  # -> reports/sens/report.html
"""

from __future__ import annotations

import base64
import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from geo.cjk import font_face_css
from geo.reports.html import REPORT_FILE, report_folder, table, write_page, write_tables
from optimizer.analysis import sweep_statistics as bt
from optimizer.analysis.comparison import CAPACITY_EPS, year_span
from optimizer.output.folders import OutputError
from optimizer.sweeps.store import read_store

__all__ = [
    "REPORT_FILE",
    "debt_maps",
    "driver_figure",
    "headline_sentences",
    "metric_figure",
    "regions_boxplot",
    "render_batch_report",
    "robustness_maps",
    "sector_sentences",
    "ties_note",
]

TEMPLATE = "sweep.html.j2"
#: Draw individual scenarios as points over the boxes up to this many scenarios.
_MAX_POINTS = 400


#: The batch report cannot be written where asked (the folder is not a dupopt report,
#: or holds the store).
BatchReportError = OutputError


# ---------------------------------------------------------------------------------------
# Sentences (computed from the tables, no drawing)
# ---------------------------------------------------------------------------------------


def _money(value: float) -> str:
    return f"{value:,.1f}"


def _when(tables: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """How the store's figures are dated, as phrases: costs over the model's years
    (``" in 2023"``, ``" over 2023-2030"``), capital, debt and per-year figures in the
    last year (``" in 2030"``); empty without per-year rows."""
    years = bt.store_years(tables)
    if not years:
        return "", ""
    return f" {'in' if len(years) == 1 else 'over'} {year_span(years)}", f" in {years[-1]}"


def _titled(title: str, year: int | None) -> str:
    """A figure title naming the one year it shows."""
    return title if year is None else f"{title}, {year}"


def headline_sentences(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Headline sentences, every number taken from :func:`optimizer.analysis.sweep_statistics.metric_distribution`.

    Parameters
    ----------
    tables
        From :func:`optimizer.sweeps.store.read_store`.

    Returns
    -------
    list of str
        The cost of non-coordination across scenarios, stranded capital and debt
        (observed vs coordinated), how many scenarios were not solved. The years the
        figures cover are named (costs over the model's years, capital and debt in the
        last year: the store's ``scenarios`` metrics) when the store has per-year rows.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["a", "b", "c"], "status": "done",
    ...     "cost_of_non_coordination": [100.0, 300.0, 250.0]})
    >>> headline_sentences({"scenarios": s})[0]
    'Across 3 done scenarios (of 3 in the store) the cost of non-coordination ranged from CNY 100.0 to CNY 300.0 bn/yr (median 250.0).'
    """  # noqa: E501
    scenarios = tables.get("scenarios", pd.DataFrame())
    total = len(scenarios)
    n = len(bt.done_scenarios(tables))
    failed = total - n
    if n == 0:
        return [
            f"No scenario in this store has results: 0 of {total} scenarios are done"
            + (f" ({failed} failed or not solved; see the failures below)." if failed else ".")
        ]
    dist = bt.metric_distribution(tables).set_index("metric")
    flows, stocks = _when(tables)
    out = []
    if "cost_of_non_coordination" in dist.index:
        c = dist.loc["cost_of_non_coordination"]
        if n == 1:
            out.append(
                f"In the one done scenario (of {total} in the store) the cost of "
                f"non-coordination{flows} is CNY {_money(c['median'])} bn/yr."
            )
        else:
            out.append(
                f"Across {n} done scenarios (of {total} in the store) the cost of "
                f"non-coordination{flows} ranged from CNY {_money(c['min'])} to CNY "
                f"{_money(c['max'])} bn/yr (median {_money(c['median'])})."
            )
    for stem, what in (
        ("stranded_capital", f"Stranded capital{stocks}"),
        ("stranded_debt", f"Debt tied to stranded capacity{stocks}"),
    ):
        obs, coo = f"{stem}_observed", f"{stem}_coordinated"
        if obs not in dist.index or coo not in dist.index:
            continue
        o, k = dist.loc[obs], dist.loc[coo]
        if n == 1:
            out.append(
                f"{what}: CNY {_money(o['median'])} bn for the observed buildout vs CNY "
                f"{_money(k['median'])} bn in the coordinated plan."
            )
        else:
            out.append(
                f"{what}: median CNY {_money(o['median'])} bn for the observed buildout "
                f"(range {_money(o['min'])} to {_money(o['max'])}) vs median CNY "
                f"{_money(k['median'])} bn in the coordinated plan (range "
                f"{_money(k['min'])} to {_money(k['max'])})."
            )
    if failed:
        counts = bt.status_counts(tables)
        bad = counts.loc[counts["status"] != bt.DONE]
        which = ", ".join(f"{r.status} {r.scenarios}" for r in bad.itertuples(index=False))
        out.append(
            f"{failed} of {total} scenario{'s' if failed != 1 else ''} "
            f"{'were' if failed != 1 else 'was'} not solved ({which}); see the failures below."
        )
    return out


def ties_note(tables: dict[str, pd.DataFrame]) -> str:
    """The share of done scenarios whose optimum has ties, and what it means.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["a", "b"], "status": "done",
    ...                   "alternative_optima": [True, False]})
    >>> ties_note({"scenarios": s})[:60]
    'Ties: 1 of 2 done scenarios (50 %) have an optimum that is n'
    """
    k, n = bt.ties(tables)
    if n == 0:
        return "Ties: no scenario is done, so there is nothing to say about ties."
    share = f"{k} of {n} done scenario{'s' if n != 1 else ''} ({100 * k / n:.0f} %)"
    if k == 0:
        return (
            f"Ties: {share} have an optimum that is not unique (alternative_optima in the "
            "store; it is also false when the sweep was run without the tie test)."
        )
    return (
        f"Ties: {share} have an optimum that is not unique in the observed or the "
        "coordinated mode (alternative_optima): other allocations reach exactly the same "
        "cost. Where ties exist the allocation stored is one of several equally cheap "
        "plans, chosen by the solver. Costs are unique, but the regional pattern (which "
        "divisions hold capacity, stranded capacity and debt by region, and their national "
        "sums) may differ between the tied plans, so the robustness shares below partly "
        "reflect the solver's choice among them, not only the scenarios' parameters."
    )


def sector_sentences(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Per sector, in the last year of the model (named): regions used by the
    coordinated plan across scenarios, and how many divisions get capacity in every
    scenario or in none.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["a", "b"], "status": "done"})
    >>> sec = pd.DataFrame({"scenario": ["a", "a", "b", "b"], "year": 2023,
    ...     "mode": ["observed", "coordinated"] * 2, "sector": "nev", "regions": [31, 1, 31, 2]})
    >>> a = pd.DataFrame({"scenario": ["a", "b", "b"], "mode": "coordinated", "year": 2023,
    ...     "region": ["110000", "110000", "120000"], "sector": "nev", "capacity": 1.0})
    >>> sector_sentences({"scenarios": s, "sectors": sec, "allocation": a})[0]
    'New-energy vehicles in 2023: the coordinated plan uses 1 to 2 divisions (median 1.5) vs 31 observed; 1 division gets coordinated capacity in every scenario, 0 in none.'
    """  # noqa: E501
    from geo.maps import sector_name

    summary, year = bt.one_year(bt.sector_regions(tables))
    robust, _ = bt.one_year(bt.robustness(tables), year)
    order = {s: i for i, s in enumerate(_sector_order(summary["sector"]))}
    summary = summary.sort_values("sector", key=lambda c: c.map(order))
    out = []
    for row in summary.itertuples(index=False):
        part = robust.loc[robust["sector"] == row.sector, "share_coordinated"]
        always = int((part >= 1.0 - 1e-12).sum())
        never = int((part <= 1e-12).sum())
        observed = (
            f"{row.observed_min}"
            if row.observed_min == row.observed_max
            else f"{row.observed_min} to {row.observed_max}"
        )
        used = (
            f"{row.coordinated_min} division{'s' if row.coordinated_min != 1 else ''}"
            if row.coordinated_min == row.coordinated_max
            else f"{row.coordinated_min} to {row.coordinated_max} divisions (median "
            f"{row.coordinated_median:g})"
        )
        out.append(
            f"{sector_name(row.sector)} in {year}: the coordinated plan uses {used} vs {observed} "
            f"observed; {always} division{' gets' if always == 1 else 's get'} coordinated "
            f"capacity in every scenario, {never} in none."
        )
    return out


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------


def _jitter(n: int, width: float = 0.12) -> np.ndarray:
    return np.random.default_rng(0).uniform(-width, width, n) if n > 1 else np.zeros(n)


def _box_strip(ax, groups: Sequence[tuple[str, np.ndarray]], colours: Sequence[str]) -> None:
    """Vertical boxes (quartiles, whiskers to 1.5 IQR) with the scenarios as points."""
    data = [v[np.isfinite(v)] for _, v in groups]
    positions = np.arange(1, len(groups) + 1)
    keep = [i for i, d in enumerate(data) if len(d)]
    if keep:
        boxes = ax.boxplot(
            [data[i] for i in keep],
            positions=positions[keep],
            widths=0.5,
            patch_artist=True,
            showfliers=False,
            medianprops={"color": "#111111", "linewidth": 1.0},
            whiskerprops={"linewidth": 0.7},
            capprops={"linewidth": 0.7},
        )
        for patch, i in zip(boxes["boxes"], keep, strict=True):
            patch.set_facecolor(colours[i])
            patch.set_alpha(0.35)
            patch.set_edgecolor(colours[i])
    for i, d in enumerate(data):
        if 0 < len(d) <= _MAX_POINTS:
            ax.scatter(
                positions[i] + _jitter(len(d)),
                d,
                s=9,
                color=colours[i],
                edgecolor="white",
                linewidth=0.3,
                zorder=3,
            )
    ax.set_xticks(positions, [label for label, _ in groups])
    ax.set_xlim(0.4, len(groups) + 0.6)
    ax.grid(axis="y", linewidth=0.4, color="#dddddd")
    ax.set_axisbelow(True)


#: How each kind of scenario is drawn in the distribution of the cost of non-coordination.
KIND_STYLE = {
    "named": {"marker": "v", "color": "#CC79A7", "label": "named variants"},
    "grid": {"marker": "|", "color": "#009E73", "label": "grid points"},
}
BASE_COLOUR = "#D55E00"


def metric_figure(scenarios: pd.DataFrame):
    """Across scenarios: cost of non-coordination (histogram of the Monte-Carlo draws,
    named variants and grid points marked apart, the base case as a line), stranded
    capital and the debt tied to it (boxes and points, observed vs coordinated, the base
    case as a diamond).

    Parameters
    ----------
    scenarios
        The done rows of the store's ``scenarios`` table (with ``kind``: base, named,
        grid, monte_carlo; without it every row is one of the distribution).

    Returns
    -------
    matplotlib.figure.Figure
        Three axes.

    Examples
    --------
    >>> s = pd.DataFrame({"cost_of_non_coordination": [280.0, 330.0, 800.0],
    ...     "kind": ["base", "monte_carlo", "monte_carlo"],
    ...     "stranded_capital_observed": [2181.0, 2911.0, 1491.0],
    ...     "stranded_capital_coordinated": [0.0, 0.0, 0.0],
    ...     "stranded_debt_observed": [654.0, 873.0, 447.0],
    ...     "stranded_debt_coordinated": [0.0, 0.0, 0.0]})
    >>> fig = metric_figure(s)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['scenarios (count)', 'CNY bn', 'CNY bn']
    >>> fig.get_suptitle()
    'Cost of non-coordination: base case 280.0, 2 draws 330.0-800.0 CNY bn/yr'
    """
    import matplotlib as mpl
    from matplotlib.ticker import MaxNLocator

    from geo import maps

    kind = (
        scenarios["kind"].astype(str)
        if "kind" in scenarios.columns
        else pd.Series("monte_carlo", index=scenarios.index)
    )
    cost_all = pd.to_numeric(scenarios.get("cost_of_non_coordination"), errors="coerce")
    if cost_all is None:
        cost_all = pd.Series(np.nan, index=scenarios.index)
    base = cost_all[kind == "base"].dropna()
    draws = cost_all[~kind.isin(["base", *KIND_STYLE])].dropna().to_numpy(dtype=float)
    title = f"Key metrics across {len(scenarios)} scenario{'s' if len(scenarios) != 1 else ''}"
    if len(draws):
        title = (
            "Cost of non-coordination: "
            + (f"base case {base.iloc[0]:,.1f}, " if len(base) else "")
            + f"{len(draws)} draws {draws.min():,.1f}-{draws.max():,.1f} CNY bn/yr"
        )
    with mpl.rc_context(maps.STYLE):
        fig = maps.new_figure((10, 3.8), title)
        ax_cost, ax_cap, ax_debt = fig.subplots(1, 3, width_ratios=[1.4, 1, 1])
        if len(draws):
            bins = int(np.clip(math.ceil(math.sqrt(len(draws))), 1, 40))
            ax_cost.hist(
                draws,
                bins=bins,
                color="#0072B2",
                alpha=0.8,
                edgecolor="white",
                label=f"Monte-Carlo draws ({len(draws)})",
            )
            median = float(np.median(draws))
            ax_cost.axvline(median, color="#111111", linestyle="--", linewidth=0.8)
            ax_cost.annotate(
                f"median {median:,.1f}",
                (median, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -3),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=7,
            )
        for name, style in KIND_STYLE.items():
            values = cost_all[kind == name].dropna().to_numpy(dtype=float)
            if len(values):
                ax_cost.scatter(
                    values,
                    np.zeros(len(values)),
                    marker=style["marker"],
                    s=40,
                    color=style["color"],
                    label=f"{style['label']} ({len(values)})",
                    zorder=4,
                    clip_on=False,
                )
        if len(base):
            ax_cost.axvline(
                float(base.iloc[0]),
                color=BASE_COLOUR,
                linewidth=1.6,
                label=f"base case ({base.iloc[0]:,.1f})",
            )
        ax_cost.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax_cost.set_xlabel("cost of non-coordination (CNY bn/yr)")
        ax_cost.set_ylabel("scenarios (count)")
        ax_cost.set_title("(a) Cost of non-coordination", loc="left")
        ax_cost.grid(axis="y", linewidth=0.4, color="#dddddd")
        ax_cost.set_axisbelow(True)
        if ax_cost.get_legend_handles_labels()[0]:
            ax_cost.legend(loc="upper left", fontsize=6.5, frameon=False, bbox_to_anchor=(0, 0.93))
        colours = [maps.MODE_COLOURS[m] for m in bt.MODES]
        others = scenarios.loc[kind != "base"]
        for ax, stem, heading in (
            (ax_cap, "stranded_capital", "(b) Stranded capital"),
            (ax_debt, "stranded_debt", "(c) Debt tied to stranded capacity"),
        ):
            groups = []
            for mode in bt.MODES:
                col = f"{stem}_{mode}"
                values = (
                    pd.to_numeric(others[col], errors="coerce").to_numpy(dtype=float)
                    if col in others.columns
                    else np.array([])
                )
                groups.append((mode, values))
            _box_strip(ax, groups, colours)
            for i, mode in enumerate(bt.MODES, start=1):
                col = f"{stem}_{mode}"
                if col in scenarios.columns and (kind == "base").any():
                    value = pd.to_numeric(scenarios.loc[kind == "base", col], errors="coerce")
                    ax.scatter(
                        [i + 0.32],
                        value.iloc[:1],
                        marker="D",
                        s=22,
                        color=BASE_COLOUR,
                        zorder=5,
                        label="base case" if i == 1 else None,
                    )
            ax.set_ylabel("CNY bn")
            ax.set_ylim(bottom=0)
            ax.set_title(heading, loc="left")
        if (kind == "base").any():
            ax_cap.legend(loc="upper right", fontsize=6.5, frameon=False)
    return fig


def driver_figure(table: pd.DataFrame, base: float | None = None, top: int = 10):
    """Tornado chart: how far each uncertain input moves the cost of non-coordination
    from its 5th to its 95th percentile (:func:`optimizer.analysis.sweep_statistics.drivers`),
    the largest on top; the title names the largest.

    Examples
    --------
    >>> t = pd.DataFrame({"input": ["demand", "export"], "low": [0.9, 0.8],
    ...     "high": [1.1, 1.2], "metric_low": [700.0, 640.0], "metric_high": [600.0, 660.0],
    ...     "swing": [-100.0, 20.0], "r2": 0.9, "draws": 40, "unit": "CNY bn/yr"})
    >>> driver_figure(t, base=300.0).get_suptitle()
    'Demand moves the cost of non-coordination most: 700 to 600 CNY bn/yr across its range'
    """
    import matplotlib as mpl

    from geo import maps

    rows = table.head(top).iloc[::-1]
    first = table.iloc[0]
    name = str(first["input"]).replace("_", " ")
    title = (
        f"{name[:1].upper()}{name[1:]} moves the cost of "
        f"non-coordination most: {first['metric_low']:,.0f} to {first['metric_high']:,.0f} "
        "CNY bn/yr across its range"
    )
    with mpl.rc_context(maps.STYLE):
        fig = maps.new_figure((8, 0.45 * len(rows) + 1.6), title)
        ax = fig.add_subplot()
        y = np.arange(len(rows))
        lo = np.minimum(rows["metric_low"], rows["metric_high"]).to_numpy(dtype=float)
        hi = np.maximum(rows["metric_low"], rows["metric_high"]).to_numpy(dtype=float)
        colour = np.where(rows["swing"].to_numpy(dtype=float) >= 0, "#D55E00", "#0072B2")
        ax.barh(y, hi - lo, left=lo, color=colour, height=0.6)
        labels = [
            f"{str(r.input).replace('_', ' ')}\n({r.low:.2f}–{r.high:.2f})"
            for r in rows.itertuples(index=False)
        ]
        ax.set_yticks(y, labels)
        for yi, (a, b, r) in enumerate(zip(lo, hi, rows.itertuples(index=False), strict=True)):
            ax.annotate(
                f"{r.swing:+,.0f}",
                (b, yi),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
            )
            del a
        centre = float(rows[["metric_low", "metric_high"]].to_numpy().mean())
        ax.axvline(
            centre, color="#444444", linewidth=0.7, linestyle=":", label="fit at the inputs' means"
        )
        if base is not None and np.isfinite(base):
            ax.axvline(base, color=BASE_COLOUR, linewidth=1.4, label=f"base case ({base:,.1f})")
        # Where the bars leave room: they cluster around the draws' mean, which may lie far
        # from the base case (a fixed corner put the legend over a bar).
        ax.legend(loc="best", fontsize=7, frameon=True, framealpha=0.9, edgecolor="none")
        ax.set_xlabel(
            "cost of non-coordination (CNY bn/yr), fitted at the input's 5th and 95th "
            "percentile, others at their means"
        )
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="x", linewidth=0.4, color="#dddddd")
        ax.set_axisbelow(True)
    return fig


def regions_boxplot(regions: pd.DataFrame, year: int | None = None):
    """Per sector: regions holding coordinated capacity across scenarios (boxes and
    points), with the observed count as a diamond, in one year (default the last; named
    in the title).

    Parameters
    ----------
    regions
        :func:`optimizer.analysis.sweep_statistics.regions_by_scenario`.
    year
        The year to draw; default the table's last.

    Returns
    -------
    matplotlib.figure.Figure
        One axes.

    Examples
    --------
    >>> r = pd.DataFrame({"scenario": ["a", "b"] * 2, "sector": ["nev"] * 2 + ["cement"] * 2,
    ...     "year": 2023, "regions_observed": [31, 31, 30, 30],
    ...     "regions_coordinated": [2, 5, 20, 22]})
    >>> fig = regions_boxplot(r)
    >>> fig.axes[0].get_xlabel(), fig.get_suptitle()[-6:]
    ('regions with capacity (count)', ', 2023')
    """
    import matplotlib as mpl
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from geo import maps

    regions, year = bt.one_year(regions, year)
    sectors = _sector_order(regions["sector"].unique())
    coo = maps.MODE_COLOURS["coordinated"]
    obs = maps.MODE_COLOURS["observed"]
    with mpl.rc_context(maps.STYLE):
        fig = maps.new_figure(
            (7.0, 0.45 * len(sectors) + 1.6),
            _titled(
                "Regions holding capacity: coordinated plan across scenarios vs observed", year
            ),
        )
        ax = fig.add_subplot()
        y = np.arange(len(sectors))
        data = [
            regions.loc[regions["sector"] == s, "regions_coordinated"].to_numpy(dtype=float)
            for s in sectors
        ]
        boxes = ax.boxplot(
            data,
            positions=y,
            orientation="horizontal",
            widths=0.55,
            patch_artist=True,
            showfliers=False,
            medianprops={"color": "#111111", "linewidth": 1.0},
            whiskerprops={"linewidth": 0.7},
            capprops={"linewidth": 0.7},
        )
        for patch in boxes["boxes"]:
            patch.set_facecolor(coo)
            patch.set_alpha(0.35)
            patch.set_edgecolor(coo)
        for yi, d in zip(y, data, strict=True):
            if len(d) <= _MAX_POINTS:
                ax.scatter(
                    d,
                    yi + _jitter(len(d), 0.15),
                    s=8,
                    color=coo,
                    edgecolor="white",
                    linewidth=0.3,
                    zorder=3,
                )
        observed = [
            float(regions.loc[regions["sector"] == s, "regions_observed"].median()) for s in sectors
        ]
        ax.scatter(
            observed, y, marker="D", s=30, color=obs, edgecolor="black", linewidth=0.4, zorder=4
        )
        ax.set_yticks(y, [maps.sector_name(s) for s in sectors])
        ax.invert_yaxis()
        top = max([*observed, *(float(d.max()) for d in data if len(d)), 1.0])
        ax.set_xlim(0, top * 1.08 + 0.5)
        ax.set_xlabel("regions with capacity (count)")
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="x", linewidth=0.4, color="#dddddd")
        ax.set_axisbelow(True)
        handles = [
            Patch(facecolor=coo, alpha=0.5, edgecolor=coo, label="coordinated plan (scenarios)"),
            Line2D(
                [],
                [],
                marker="D",
                linestyle="none",
                color=obs,
                markeredgecolor="black",
                label="observed (median over scenarios)",
            ),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
    return fig


def _sector_order(sectors) -> list[str]:
    """Sectors in the order of the sweep's own scenario (see :func:`render_batch_report`)."""
    from geo.maps import sector_order

    return sector_order(sectors)


def _map_legend(fig, *, missing: bool, missing_label: str) -> None:
    from geo import maps

    handles = maps.legend_handles(
        outside=True, missing=missing, estimated=False, missing_label=missing_label
    )
    maps.map_legend(fig, handles)


def robustness_maps(
    robust: pd.DataFrame,
    regions: pd.DataFrame | None = None,
    *,
    provinces=None,
    ncols: int = 4,
    year: int | None = None,
):
    """One small map per sector: the share of scenarios in which each division gets
    coordinated capacity (viridis, fixed 0..1, one colourbar "share of scenarios"), in
    one year (default the last; named in the title).

    All 34 divisions are drawn; Taiwan, Hong Kong and Macau light grey (outside national
    planning), divisions absent from the store's allocation mid grey.

    Parameters
    ----------
    robust
        :func:`optimizer.analysis.sweep_statistics.robustness`.
    regions
        Region table or ``None`` for the shipped one.
    provinces
        Boundaries or prepared :class:`geo.maps.MapLayers`.
    ncols
        Maps per row.
    year
        The year to draw; default the table's last.

    Returns
    -------
    matplotlib.figure.Figure
        One map axes per sector.

    Examples
    --------
    >>> from geo.maps import map_axes
    >>> r = pd.DataFrame({"region": ["110000", "440000"] * 2, "year": 2023,
    ...     "sector": ["nev", "nev", "cement", "cement"], "share_coordinated": [0.2, 1.0, 0, 1]})
    >>> len(map_axes(robustness_maps(r)))
    2
    """
    import matplotlib as mpl
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from geo import maps

    layers = (
        provinces
        if isinstance(provinces, maps.MapLayers)
        else maps.map_layers(provinces, simplify_m=2.5 * maps.SIMPLIFY_M)
    )
    robust, year = bt.one_year(robust, year)
    sectors = _sector_order(robust["sector"].unique())
    if not sectors:
        raise ValueError("the robustness table has no rows")
    ncols = max(1, min(ncols, len(sectors)))
    nrows = -(-len(sectors) // ncols)
    norm = Normalize(0.0, 1.0)
    cmap = mpl.colormaps["viridis"]
    outside = maps.region_info(regions)[1]
    missing = False
    with mpl.rc_context(maps.STYLE):
        fig = maps.new_figure(
            (3.0 * ncols, 2.6 * nrows + 1.0),
            _titled("Share of scenarios in which each division gets coordinated capacity", year),
        )
        axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
        for ax, sector in zip(axes, sectors, strict=False):
            part = robust.loc[robust["sector"] == sector]
            values = pd.Series(
                part["share_coordinated"].to_numpy(dtype=float),
                index=part["region"].astype(str),
            )
            missing |= bool(set(layers.main) - set(values.index) - set(outside))
            maps.china_axes_map(
                ax,
                values,
                cmap=cmap,
                norm=norm,
                label="share of scenarios",
                regions=regions,
                provinces=layers,
                legend=False,
                colorbar=False,
                inset_title=False,
            )
            ax.set_title(maps.sector_name(sector), fontsize=8.5)
        for ax in axes[len(sectors) :]:
            ax.set_visible(False)
        mappable = ScalarMappable(norm=norm, cmap=cmap)
        cbar = fig.colorbar(
            mappable,
            ax=list(axes[: len(sectors)]),
            orientation="horizontal",
            shrink=0.45,
            aspect=40,
            pad=0.01,
        )
        cbar.set_label("share of scenarios")
        cbar.outline.set_linewidth(0.4)
        cbar.ax.tick_params(width=0.5, length=2.5)
        _map_legend(fig, missing=missing, missing_label="not in the store's allocation")
    return fig


def debt_maps(
    ranges: pd.DataFrame,
    regions: pd.DataFrame | None = None,
    *,
    provinces=None,
    year: int | None = None,
):
    """Two maps per division of the debt tied to stranded capacity under the observed
    buildout, across scenarios: (a) the median, (b) the range max − min (CNY bn), in one
    year (default the last; named in the title).

    Parameters
    ----------
    ranges
        :func:`optimizer.analysis.sweep_statistics.regional_ranges`.
    regions
        Region table or ``None`` for the shipped one.
    provinces
        Boundaries or prepared :class:`geo.maps.MapLayers`.
    year
        The year to draw; default the table's last.

    Returns
    -------
    matplotlib.figure.Figure
        Two map axes.

    Examples
    --------
    >>> from geo.maps import map_axes
    >>> r = pd.DataFrame({"region": ["110000", "440000"], "debt_observed_median": [20.0, 5.0],
    ...                   "year": 2023, "debt_observed_range": [3.0, 0.0]})
    >>> len(map_axes(debt_maps(r)))
    2
    """
    import matplotlib as mpl
    from matplotlib.colors import Normalize

    from geo import maps

    layers = provinces if isinstance(provinces, maps.MapLayers) else maps.map_layers(provinces)
    ranges, year = bt.one_year(ranges, year)
    frame = ranges.set_index(ranges["region"].astype(str))
    with mpl.rc_context(maps.STYLE):
        fig = maps.new_figure(
            (10, 4.9),
            _titled("Debt tied to stranded capacity by division, observed buildout", year),
        )
        axes = fig.subplots(1, 2)
        for ax, column, heading, label in (
            (
                axes[0],
                "debt_observed_median",
                "(a) Median across scenarios",
                "debt tied to stranded capacity, median (CNY bn)",
            ),
            (
                axes[1],
                "debt_observed_range",
                "(b) Range across scenarios (max − min)",
                "debt tied to stranded capacity, max − min (CNY bn)",
            ),
        ):
            values = frame[column].astype(float)
            hi = float(np.nanmax([values.max(), 0.0])) if len(values) else 0.0
            maps.china_axes_map(
                ax,
                values,
                cmap="YlOrRd",
                norm=Normalize(0.0, hi if hi > 0 else 1.0),
                label=label,
                regions=regions,
                provinces=layers,
                missing_label="not in the store's allocation",
                annotate=3,
                value_format="{:,.0f}",
            )
            ax.set_title(heading, loc="left")
    return fig


def _figures(
    tables: dict[str, pd.DataFrame], folder: Path, formats: Sequence[str] = ("png",)
) -> list[dict]:
    """Draw and save every figure (none without done scenarios); their HTML records."""
    from geo import maps

    done = bt.done_scenarios(tables)
    if done.empty:
        return []
    out: list[dict] = []
    # Per-year figures show the last year of the model, named in the captions.
    over, when = _when(tables)

    def save(fig, stem: str, title: str, caption: str, section: str) -> None:
        # Laid out and drawn once; PNG unless asked otherwise (map SVGs are ~1 MB each).
        paths = maps.save_figure(fig, folder / "figures" / stem, tuple(formats))
        files = {p.suffix.lstrip("."): f"figures/{p.name}" for p in paths}
        shown = files.get("png", files.get("svg"))
        out.append(
            {
                "stem": stem,
                "title": fig.get_suptitle() or title,
                "alt": title,
                "caption": caption,
                "section": section,
                "files": files,
                "src": shown,
            }
        )

    save(
        metric_figure(done),
        "metrics",
        "Key metrics across scenarios",
        f"(a) Histogram of the cost of non-coordination{over} over the Monte-Carlo draws "
        "(observed minus coordinated total cost, CNY bn/yr; dashed: their median), named "
        "variants and grid points marked below it, the base case as a solid line. (b) "
        f"Stranded capital and (c) the debt tied to it{when} (CNY bn), observed buildout vs "
        "coordinated plan, over the scenarios other than the base case (diamond): boxes span "
        "the quartiles, whiskers 1.5 times the interquartile range, points are scenarios.",
        "distributions",
    )
    driving = bt.drivers(tables)
    if not driving.empty:
        base = done.loc[done.get("kind", pd.Series(dtype=str)) == "base"]
        base_cost = (
            float(base["cost_of_non_coordination"].iloc[0])
            if len(base) and "cost_of_non_coordination" in base
            else None
        )
        save(
            driver_figure(driving, base_cost),
            "drivers",
            "Which uncertain input moves the cost of non-coordination most",
            f"Per uncertain input, the cost of non-coordination{over} fitted at the 5th and "
            "95th percentile of its draws, the other inputs at their means (least squares "
            f"over {int(driving['draws'].iloc[0])} Monte-Carlo draws, R² "
            f"{driving['r2'].iloc[0]:.2f}); red: the cost rises with the input, blue: it "
            "falls. Inputs drawn per region enter twice: their mean and their spread.",
            "drivers",
        )
    regions_long = bt.regions_by_scenario(tables)
    if not regions_long.empty:
        save(
            regions_boxplot(regions_long),
            "regions_with_capacity",
            "Regions with capacity",
            f"Per sector, the number of divisions holding coordinated capacity{when} across "
            "scenarios (boxes and points) and the observed number (diamond).",
            "regions",
        )
    robust = bt.robustness(tables)
    if not robust.empty:
        save(
            robustness_maps(robust),
            "robustness",
            "Robustness of the coordinated allocation",
            f"Share of done scenarios in which each division gets coordinated capacity{when} "
            f"(capacity above {CAPACITY_EPS:g} capacity units), per sector; fixed scale 0 "
            "to 1.",
            "robustness",
        )
    ranges = bt.regional_ranges(tables)
    if not ranges.empty:
        save(
            debt_maps(ranges),
            "stranded_debt",
            "Debt tied to stranded capacity by division",
            f"Debt tied to stranded capacity under the observed buildout{when}, summed over "
            "sectors: median and range (max − min) across done scenarios, CNY bn.",
            "debt",
        )
    return out


# ---------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------


def report_context(tables: dict[str, pd.DataFrame], store: Path) -> dict:
    """Everything the template shows except figures, and the frames to write as CSV.

    Examples
    --------
    >>> # context = report_context(read_store(path), path)
    """
    meta = tables.get("meta", pd.DataFrame(columns=["key", "value"]))
    identity = dict(zip(meta["key"].astype(str), meta["value"].astype(str), strict=True))
    done = bt.done_scenarios(tables)
    frames = {
        "status_counts": (bt.status_counts(tables), "Scenarios by status", None),
        "failures": (bt.failures(tables), "Scenarios that were not solved", ""),
        "distribution": (
            bt.metric_distribution_by_kind(tables),
            "Distribution of the key metrics by kind of scenario (base case, named variants, "
            "grid, Monte-Carlo draws)",
            None,
        ),
        "drivers": (
            bt.drivers(tables),
            "Drivers: how far each uncertain input moves the cost of non-coordination",
            "multipliers; CNY bn/yr",
        ),
        "sector_regions": (
            bt.sector_regions(tables),
            "Regions with capacity per sector across done scenarios",
            "regions (count)",
        ),
        "robustness": (
            bt.robustness(tables),
            "Robustness: share of done scenarios with capacity, by region and sector",
            None,
        ),
        "regional_debt": (
            bt.regional_ranges(tables),
            "Debt tied to stranded capacity by region across done scenarios",
            "CNY bn",
        ),
        "stranded_capacity": (
            bt.stranded_capacity_ranges(tables),
            "Stranded capacity by region and sector across done scenarios",
            "sector capacity unit (see capacity_unit)",
        ),
        "scenarios": (bt.scenario_table(tables), "Scenarios and their key metrics", None),
        "runs": (tables.get("runs", pd.DataFrame()), "Runs (invocations) into this store", ""),
        "columns": (
            tables.get("columns", pd.DataFrame()),
            "Columns of the store and their units",
            "",
        ),
    }
    sweep_files = tables.get("sweep_files", pd.DataFrame())
    sweeps = [
        {
            "name": str(r.get("name", "")),
            "source": str(r.get("source", "")),
            "seed": "" if pd.isna(r.get("seed")) else str(r.get("seed")),
            "sha256": str(r.get("sha256", "")),
            "text": str(r.get("text", "")),
        }
        for r in sweep_files.to_dict("records")
    ]
    return {
        "store_name": store.name,
        "identity": identity,
        "sweep": identity.get("sweep", ""),
        "n_total": len(tables.get("scenarios", [])),
        "n_done": len(done),
        "headline": headline_sentences(tables),
        "sector_sentences": sector_sentences(tables) if len(done) else [],
        "ties_note": ties_note(tables),
        "sweeps": sweeps,
        "tables": {
            stem: table(frame, stem, title, unit, cut={"overrides": 160})
            for stem, (frame, title, unit) in frames.items()
        },
        "table_frames": {stem: frame for stem, (frame, _t, _u) in frames.items()},
        "map_note": (
            "Maps use an Albers equal-area projection for China; the South China Sea "
            "islands are shown in an inset. Light grey: outside national planning (Taiwan, "
            "Hong Kong, Macau); mid grey: no value."
        ),
        "units_note": (
            "Sector names and capacity units are those of the sweep's base scenario, as "
            "recorded in the store (table sector_info)."
        ),
    }


def default_output(store: Path) -> Path:
    """The report folder next to a store: ``reports/sens.duckdb`` -> ``reports/sens``.

    A store without a suffix gets ``<name>-report``.

    Examples
    --------
    >>> default_output(Path("reports/sens.duckdb")).as_posix()
    'reports/sens'
    >>> default_output(Path("reports/sens")).as_posix()
    'reports/sens-report'
    """
    store = Path(store)
    out = store.with_suffix("")
    return out if out != store else store.with_name(f"{store.name}-report")


def render_batch_report(
    store: Path,
    output: Path | None = None,
    *,
    figure_format: str = "png",
    single_file: bool = False,
) -> Path:
    """Write the HTML report of a batch sweep store.

    Parameters
    ----------
    store
        A DuckDB store written by :func:`optimizer.sweeps.driver.run_sweep` (``dupopt batch``).
    output
        The report folder; default ``store.with_suffix('')``, a folder next to the store
        (``reports/sens.duckdb`` -> ``reports/sens/``). It receives ``report.html``,
        ``figures/`` (PNG; SVG on request), ``tables/`` (CSV) and a ``manifest.json``
        of kind ``"report"``. The folder is replaced as a whole once the new report is
        complete; it may be missing, empty or an earlier dupopt report folder, anything
        else (a folder holding other files, the store's folder) is refused.
    figure_format
        ``"png"`` (default), ``"svg"`` or ``"both"``: the files written per figure.
    single_file
        One self-contained ``report.html`` (images and CSV links as data URIs), no
        ``figures/`` folder.

    Returns
    -------
    Path
        The path of ``report.html``.

    Raises
    ------
    optimizer.sweeps.store.StoreError
        The store is missing, locked or not a dupopt store.
    BatchReportError
        The output folder holds other files, or the store itself.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from optimizer.sweeps.driver import run_sweep
    >>> from optimizer.sweeps.sweep_file import load_sweep
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "sweep.toml").write_text('name = "doc"\\n[grid]\\ndemand = [0.9]\\n')
    >>> _ = run_sweep(load_sweep(folder / "sweep.toml"), folder / "doc.duckdb",
    ...               workers=0, progress=False)
    >>> render_batch_report(folder / "doc.duckdb").relative_to(folder).as_posix()
    'doc/report.html'
    """
    from geo import maps

    store = Path(store)
    output = Path(output) if output is not None else default_output(store)
    tables = read_store(store)
    with report_folder(output, store, "the store", "store") as stage:
        info = bt.sector_info(tables)
        # Name and order the sweep's own sectors (shipped names only for an old store).
        formats = {"png": ("png",), "svg": ("svg",), "both": ("png", "svg")}[figure_format]
        with maps.sector_names(info["name"].to_dict() if len(info) else maps.SECTOR_NAMES):
            context = report_context(tables, store)
            figures = _figures(tables, stage, formats)
        (stage / "figures").mkdir(exist_ok=True)
        write_tables(stage, context.pop("table_frames"))
        if single_file:
            mime = {"png": "image/png", "svg": "image/svg+xml"}
            for f in figures:
                kind = f["src"].rsplit(".", 1)[-1]
                data = base64.b64encode((stage / f["src"]).read_bytes()).decode("ascii")
                f["src"], f["files"] = f"data:{mime[kind]};base64,{data}", {}
            shutil.rmtree(stage / "figures")
            for t in context["tables"].values():
                data = base64.b64encode((stage / t["csv"]).read_bytes()).decode("ascii")
                t["csv"] = f"data:text/csv;base64,{data}"
        write_page(
            stage,
            TEMPLATE,
            **context,
            figures=figures,
            cjk_font_css=font_face_css(repr(context) + repr(figures)),
        )
    return output / REPORT_FILE
