"""The HTML report of a run: the answer first, then the PV case, sectors, regions, method.

The report only consumes result tables (:func:`optimizer.read_results`); it never solves.
It opens offline: images are files in the same folder (or, with ``single_file``, data
URIs inside the page), styles, the sorting and hover scripts and the Chinese font subset
are inline, and every string that comes from data is escaped by Jinja2.

What the page shows, in order:

1. the three numbers that answer the question (cost of non-coordination, stranded
   capital, debt tied to stranded capacity), each with its unit, its range over the
   draws of the uncertain inputs and a comparison that gives it scale;
2. the focus sector (solar PV in the shipped data): what the priorities table supports
   about its designations, capacity against global demand on one basis, where the
   coordinated plan would build;
3. how the numbers are defined and how much of the data is estimated;
4. the sectors ordered by stranded capital, with concentration measured by share
   (:func:`optimizer.analysis.concentration.concentration`);
5. maps whose provinces tell their values on hover, and one section per province;
6. the tables, sources, parameters and the manifest.

Every figure is laid out and drawn once (:func:`geo.maps.save_figure`); on a machine with
two or more cores the figures are drawn by two processes.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import pandas as pd

from geo.reports.html import (
    REPORT_FILE,
    format_number,
    report_folder,
    table,
    write_page,
    write_tables,
)
from optimizer.analysis.comparison import CAPACITY_EPS, PARTS, decomposition_totals, headline_notes
from optimizer.analysis.concentration import DEFAULT_SHARE, concentration
from optimizer.analysis.uncertainty import range_sentence
from optimizer.model.results import NON_RESOURCE_TERMS
from optimizer.output.folders import OutputError, require_kind, staged_output, to_json
from optimizer.output.results_folder import read_results
from optimizer.scenario.readers import display_path
from optimizer.scenario.summary import quality_shares_of

__all__ = [
    "FIGURE_FORMATS",
    "QUALITY",
    "REPORT_ENTRIES",
    "draw_report",
    "early_report",
    "key_numbers",
    "national_sentence",
    "quality_shares",
    "render_report",
    "report_context",
    "sector_order",
    "sector_sentences",
]

#: What a report adds to a folder; the rest of a results folder is results.
REPORT_ENTRIES = frozenset({REPORT_FILE, "figures", "tables"})
QUALITY = ("reported", "estimated", "assumed")
#: ``--figure-format`` choices and the files each writes per figure.
FIGURE_FORMATS = {"png": ("png",), "svg": ("svg",), "both": ("png", "svg")}
#: The sector the page tells first when the results have it (the seed's own case).
FOCUS_SECTOR = "solar_pv"
PART_LABELS = {
    "carrying_capacity": "carrying capacity beyond the plan's",
    "costlier_places": "producing in costlier places",
    "sub_scale_plants": "sub-scale plants (more, smaller plants)",
    "transport": "extra transport",
    "other": "other resource costs",
}


def _names(results: dict, table: str, key: str, column: str) -> dict[str, str]:
    frame = results.get("scenario", {}).get(table)
    if frame is None or column not in frame:
        return {}
    return dict(zip(frame[key].astype(str), frame[column].astype(str), strict=True))


def _last_year(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The rows of a per-year table in its last year, and that year."""
    year = int(frame["year"].max())
    return frame.loc[frame["year"] == year], year


def sector_order(sector_summary: pd.DataFrame) -> list[str]:
    """Sectors by what is at stake: stranded capital of the observed buildout in the last
    year, largest first (ties by name).

    Examples
    --------
    >>> s = pd.DataFrame({"sector": ["a", "b", "c"], "year": 2023,
    ...     "stranded_capital_cny_bn_observed": [5.0, 50.0, 5.0]})
    >>> sector_order(s)
    ['b', 'a', 'c']
    """
    rows, _ = _last_year(sector_summary)
    ordered = rows.assign(_k=-rows["stranded_capital_cny_bn_observed"].astype(float))
    return ordered.sort_values(["_k", "sector"], kind="stable")["sector"].astype(str).tolist()


def sector_sentences(sector_summary: pd.DataFrame, names: dict[str, str]) -> list[str]:
    """One sentence per sector in the last year of the model (named), sectors ordered by
    stranded capital (:func:`sector_order`), numbers taken from ``sector_summary``.

    Examples
    --------
    >>> s = pd.DataFrame({"sector": ["solar_pv"], "year": [2023], "regions_observed": [31],
    ...     "regions_coordinated": [12], "stranded_capacity_observed": [521.8],
    ...     "stranded_capacity_coordinated": [0.0], "stranded_debt_cny_bn_observed": [204.1],
    ...     "stranded_capital_cny_bn_observed": [680.4], "capacity_unit": ["GW/yr"]})
    >>> sector_sentences(s, {"solar_pv": "Solar PV modules"})[0][:68]
    'Solar PV modules in 2023: 31 divisions built capacity; the coordinat'
    """
    rows, year = _last_year(sector_summary)
    rows = rows.set_index(rows["sector"].astype(str)).loc[sector_order(sector_summary)]
    out = []
    for row in rows.itertuples(index=False):
        out.append(
            f"{names.get(row.sector, row.sector)} in {year}: {int(row.regions_observed)} "
            "divisions built "
            f"capacity; the coordinated plan uses {int(row.regions_coordinated)}; "
            f"{row.stranded_capacity_observed:,.1f} {row.capacity_unit} of capacity stranded "
            f"({row.stranded_capacity_coordinated:,.1f} in the plan); CNY "
            f"{row.stranded_debt_cny_bn_observed:,.1f} bn of debt tied to stranded capacity."
        )
    return out


def national_sentence(headline: pd.DataFrame) -> str:
    """The cost of non-coordination and stranded capital, from the ``headline`` table,
    each with the years it covers (its ``years`` column).

    Examples
    --------
    >>> h = pd.DataFrame({"metric": ["total_cost", "stranded_capital", "stranded_debt"],
    ...     "observed": [10.0, 5.0, 2.0], "coordinated": [8.0, 0.0, 0.0],
    ...     "difference": [2.0, 5.0, 2.0], "years": "2023"})
    >>> national_sentence(h)[:61]
    'Cost of non-coordination in 2023: CNY 2.0 bn per year (observ'
    """
    h = headline.set_index("metric")
    cost, stranded, debt = h.loc["total_cost"], h.loc["stranded_capital"], h.loc["stranded_debt"]
    over = "in" if "-" not in str(cost["years"]) else "over"
    return (
        f"Cost of non-coordination {over} {cost['years']}: CNY {cost['difference']:,.1f} bn "
        f"per year (observed buildout CNY {cost['observed']:,.1f} bn/yr vs coordinated plan "
        f"CNY {cost['coordinated']:,.1f} bn/yr). Stranded capital in {stranded['years']}: CNY "
        f"{stranded['observed']:,.1f} bn observed vs CNY {stranded['coordinated']:,.1f} bn in "
        f"the plan; debt tied to it: CNY {debt['observed']:,.1f} bn vs CNY "
        f"{debt['coordinated']:,.1f} bn."
    )


def quality_shares(scenario: dict[str, pd.DataFrame], base_year: int) -> pd.DataFrame:
    """Share of the base year's value rows by quality flag per scenario table (from the
    saved inputs, tables in alphabetical order), as ``dupopt data check`` prints them."""
    return quality_shares_of(dict(sorted(scenario.items())), base_year)


# ---------------------------------------------------------------------------------------
# The answer: key numbers with range and scale
# ---------------------------------------------------------------------------------------


def _attribute_total(scenario: Mapping[str, pd.DataFrame], attribute: str, year: int) -> float:
    """National total of a region attribute (``gdp``) in ``year`` (or the latest before)."""
    frame = scenario.get("region_attributes")
    if frame is None or frame.empty:
        return float("nan")
    rows = frame.loc[(frame["attribute"] == attribute) & (frame["year"] <= year)]
    if rows.empty:
        return float("nan")
    return float(rows.loc[rows["year"] == rows["year"].max(), "value"].astype(float).sum())


def _share(part: float, whole: float) -> str:
    """``part`` as a share of ``whole``, with a precision that keeps two digits."""
    if not np.isfinite(whole) or whole == 0 or not np.isfinite(part):
        return ""
    share = 100 * part / whole
    return f"{share:.2f} %" if abs(share) < 1 else f"{share:.1f} %"


def key_numbers(results: dict) -> list[dict]:
    """The three numbers that answer the question, each with its range and its scale.

    Parameters
    ----------
    results
        As :func:`optimizer.read_results` returns them.

    Returns
    -------
    list of dict
        Per number: ``metric`` (the ``headline`` row it comes from), ``label``, ``value``
        (the table's figure), ``shown`` (formatted as the page shows it), ``unit``,
        ``range`` (the 5th-95th percentile over the draws of the uncertain inputs, with
        the median and how many draws; empty without draws), ``range_values`` (p05, p95),
        ``scale`` (sentences giving the number a size: share of GDP, of the system cost,
        of capital in place, of fiscal capacity) and ``detail``.

    Examples
    --------
    >>> h = pd.DataFrame({"metric": ["total_cost", "stranded_capital", "stranded_debt",
    ...     "capital_in_place"], "observed": [110.0, 20.0, 6.0, 200.0],
    ...     "coordinated": [100.0, 0.0, 0.0, 180.0], "difference": [10.0, 20.0, 6.0, 20.0],
    ...     "unit": ["CNY bn/yr", "CNY bn", "CNY bn", "CNY bn"], "years": "2023"})
    >>> [(k["metric"], k["shown"]) for k in key_numbers({"comparison": {"headline": h}})]
    [('total_cost', '10.0'), ('stranded_capital', '20.0'), ('stranded_debt', '6.0')]
    """
    comp = results["comparison"]
    scenario = results.get("scenario", {})
    h = comp["headline"].set_index("metric")
    year = int(str(h.loc["stranded_capital", "years"]).split("-")[-1])
    gdp = _attribute_total(scenario, "gdp", year)
    ranges = (
        comp["headline_range"].set_index("metric") if "headline_range" in comp else pd.DataFrame()
    )
    fiscal = float("nan")
    debt_table = results.get("observed", {}).get("debt")
    if debt_table is not None and "fiscal_capacity_cny_bn_per_yr" in debt_table:
        rows, _ = _last_year(debt_table)
        fiscal = float(rows["fiscal_capacity_cny_bn_per_yr"].sum())

    def spread(metric: str) -> tuple[str, tuple[float, float] | None]:
        if metric not in ranges.index:
            return "", None
        r = ranges.loc[metric]
        below = float(r["base_percentile"])
        where = (
            "every draw is above the base case"
            if below == 0
            else "every draw is at or below the base case"
            if below == 100
            else f"{below:.0f} % of the draws are at or below the base case"
        )
        text = (
            f"Range: {format_number(r['p05'], 'money')}–{format_number(r['p95'], 'money')}, "
            f"90 % of {int(r['samples'])} draws of the uncertain inputs (median "
            f"{format_number(r['p50'], 'money')}; {where})"
        )
        return text, (float(r["p05"]), float(r["p95"]))

    def gdp_scale(value: float) -> list[str]:
        if not np.isfinite(gdp):
            return []
        return [f"{_share(value, gdp)} of the provinces' combined GDP (CNY {gdp:,.0f} bn, {year})"]

    def card(
        metric: str,
        label: str,
        value: float,
        unit: object,
        range_metric: str,
        scale: list[str],
        detail: str,
    ) -> dict:
        text, values = spread(range_metric)
        return {
            "metric": metric,
            "label": label,
            "value": float(value),
            "shown": format_number(value, "money"),
            "unit": str(unit),
            "range": text,
            "range_values": values,
            "scale": [*scale, *gdp_scale(float(value))],
            "detail": detail,
        }

    cost = h.loc["total_cost"]
    stranded = h.loc["stranded_capital"]
    debt = h.loc["stranded_debt"]
    parts = ""
    if "decomposition" in comp:
        totals = decomposition_totals(comp["decomposition"])
        parts = (
            "Of which "
            + "; ".join(
                f"{PART_LABELS.get(p, p)} {format_number(v, 'money')}" for p, v in totals.items()
            )
            + "."
        )
    capital = []
    if "capital_in_place" in h.index:
        capital = [
            f"{_share(stranded['observed'], h.loc['capital_in_place', 'observed'])} of the "
            f"capital in place (CNY {h.loc['capital_in_place', 'observed']:,.0f} bn)"
        ]
    years_of_fiscal = []
    if np.isfinite(fiscal) and fiscal > 0:
        years_of_fiscal = [
            f"{debt['observed'] / fiscal:.2f} years of the provinces' combined fiscal capacity "
            f"(CNY {fiscal:,.0f} bn/yr)"
        ]
    return [
        card(
            "total_cost",
            "Cost of non-coordination",
            cost["difference"],
            cost["unit"],
            "cost_of_non_coordination",
            [
                f"{_share(cost['difference'], cost['observed'])} of the observed buildout's "
                f"system cost (CNY {cost['observed']:,.0f} bn/yr)"
            ],
            parts,
        ),
        card(
            "stranded_capital",
            "Stranded capital of the observed buildout",
            stranded["observed"],
            stranded["unit"],
            "stranded_capital_observed",
            capital,
            f"The coordinated plan strands CNY {stranded['coordinated']:,.1f} bn.",
        ),
        card(
            "stranded_debt",
            "Debt tied to stranded capacity",
            debt["observed"],
            debt["unit"],
            "stranded_debt_observed",
            years_of_fiscal,
            f"The coordinated plan: CNY {debt['coordinated']:,.1f} bn.",
        ),
    ]


# ---------------------------------------------------------------------------------------
# The focus sector (PV)
# ---------------------------------------------------------------------------------------


def _rebuilt_scenario(results: dict, manifest: dict):
    """The scenario rebuilt from the inputs saved with the results (for the data
    summaries of :mod:`optimizer.scenario.summary`); ``None`` where that fails."""
    from optimizer import scenario_from_frames
    from optimizer.errors import DupoptError

    tables = results.get("scenario")
    if not tables:
        return None
    try:
        return scenario_from_frames(
            base_year=int(manifest["scenario"]["base_year"]),
            name=str(manifest["scenario"].get("name", "results")),
            **tables,
        )
    except (DupoptError, KeyError, TypeError, ValueError):
        return None


def focus_sector(sector_summary: pd.DataFrame) -> str:
    """The sector the page tells first: solar PV when present, else the one with the most
    stranded capital."""
    sectors = set(sector_summary["sector"].astype(str))
    return FOCUS_SECTOR if FOCUS_SECTOR in sectors else sector_order(sector_summary)[0]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def sector_title(name: str, n_observed: int, n_coordinated: int) -> str:
    """What a sector's maps show, in numbers.

    Examples
    --------
    >>> sector_title("PV", 31, 4)
    'Coordination puts PV in 4 provinces, not 31'
    >>> sector_title("Cement", 31, 31)
    'Cement: capacity in 31 provinces in both the observed buildout and the plan'
    """
    if n_coordinated < n_observed:
        return f"Coordination puts {name} in {_plural(n_coordinated, 'province')}, not {n_observed}"
    if n_coordinated > n_observed:
        return (
            f"Coordination spreads {name} over {_plural(n_coordinated, 'province')}, "
            f"not {n_observed}"
        )
    both = "in both the observed buildout and the plan"
    return f"{name}: capacity in {_plural(n_observed, 'province')} {both}"


def focus_case(
    results: dict,
    scenario,
    concentration_table: pd.DataFrame,
    sector_names: Mapping[str, str],
    region_names: Mapping[str, str],
) -> dict:
    """The focus sector's story: its designations, capacity against global demand, and
    where the coordinated plan builds (every number from the tables)."""
    comp = results["comparison"]
    summary, year = _last_year(comp["sector_summary"])
    sector = focus_sector(comp["sector_summary"])
    name = sector_names.get(sector, sector)
    row = summary.set_index(summary["sector"].astype(str)).loc[sector]
    unit = str(row["capacity_unit"])
    conc = concentration_table.loc[
        (concentration_table["sector"] == sector) & (concentration_table["year"] == year)
    ].set_index("mode")
    gap = comp["regional_gap"]
    rows = gap.loc[(gap["sector"].astype(str) == sector) & (gap["year"] == year)]
    built = rows.loc[rows["capacity_coordinated"] > CAPACITY_EPS].sort_values(
        "capacity_coordinated", ascending=False
    )
    total = float(built["capacity_coordinated"].sum())
    where = [
        {
            "region": str(r.region),
            "name": region_names.get(str(r.region), str(r.region)),
            "capacity": format_number(r.capacity_coordinated),
            "share": format_number(r.capacity_coordinated / total, "percent") if total else "",
            "observed": format_number(r.capacity_observed),
        }
        for r in built.itertuples(index=False)
    ]
    facts = []
    n_obs, n_coo = int(row["regions_observed"]), int(row["regions_coordinated"])
    threshold = float(conc["share_threshold"].iloc[0]) if len(conc) else DEFAULT_SHARE
    if {"observed", "coordinated"} <= set(conc.index):
        facts.append(
            f"Holding at least {threshold:.0%} of national capacity: "
            f"{int(conc.loc['observed', 'regions_at_or_above_share'])} provinces in the "
            f"observed buildout, {int(conc.loc['coordinated', 'regions_at_or_above_share'])} "
            f"in the plan (HHI {conc.loc['observed', 'hhi']:.3f} vs "
            f"{conc.loc['coordinated', 'hhi']:.3f}; the top three hold "
            f"{conc.loc['observed', 'top3_share']:.0%} vs "
            f"{conc.loc['coordinated', 'top3_share']:.0%})."
        )
    designations: list[str] = []
    demand: list[str] = []
    if scenario is not None:
        from optimizer.scenario import summary as data_summary

        d = data_summary.designations(scenario)
        if sector in d.index.get_level_values("sector"):
            for period, r in d.xs(sector, level="sector").iterrows():
                parts = []
                if pd.notna(r["count_designated"]):
                    parts.append(
                        f"{int(r['count_designated'])} of {int(r['count_regions'])} "
                        "provincial-level divisions designated it a priority (national count)"
                    )
                documented = (
                    f"provincial documents name it in {_plural(int(r['by_name']), 'region')}"
                )
                if r["by_umbrella_term"]:
                    documented += f" and an umbrella term in {int(r['by_umbrella_term'])}"
                parts.append(documented)
                if r["national_count_only"]:
                    parts.append(f"{int(r['national_count_only'])} rest on the national count only")
                if r["not_designated"]:
                    parts.append(f"{int(r['not_designated'])} documented as not designating it")
                designations.append(f"{period}: " + "; ".join(parts) + ".")
        ratios = data_summary.headline_ratios(scenario)
        if sector in ratios.index:
            r = ratios.loc[sector]
            basis = r["global_basis"] if isinstance(r["global_basis"], str) else "basis not stated"
            demand.append(
                f"Capacity {format_number(r['capacity'])} {unit} against global demand of "
                f"{format_number(r['global_demand'])} {r['unit']} ({basis}, "
                f"{r['global_source']}): {r['capacity_to_global_demand']:.2f} times; output "
                f"{format_number(r['output'])}: {r['output_to_global_demand']:.2f} times."
            )
            if pd.notna(r.get("global_alt")):
                demand.append(
                    f"On another basis ({r['global_alt_basis']}, {r['global_alt_source']}) "
                    f"global demand is {format_number(r['global_alt'])} {r['unit']}: "
                    f"capacity {r['capacity_to_global_alt']:.2f} times (mixed bases)."
                )
    return {
        "sector": sector,
        "name": name,
        "year": year,
        "unit": unit,
        "title": sector_title(name, n_obs, n_coo),
        "n_observed": n_obs,
        "n_coordinated": n_coo,
        "stranded_capital": format_number(row["stranded_capital_cny_bn_observed"], "money"),
        "stranded_debt": format_number(row["stranded_debt_cny_bn_observed"], "money"),
        "utilisation_observed": format_number(row["utilisation_observed"], "percent"),
        "utilisation_coordinated": format_number(row["utilisation_coordinated"], "percent"),
        "designations": designations,
        "demand": demand,
        "facts": facts,
        "where": where,
    }


# ---------------------------------------------------------------------------------------
# Hover texts and per-province sections
# ---------------------------------------------------------------------------------------


def money(value: float) -> str:
    """CNY bn as the page shows it (:func:`geo.reports.html.format_number`)."""
    return format_number(value, "money")


def _region_label(code: str, names_en: Mapping[str, str], names_zh: Mapping[str, str]) -> str:
    zh = names_zh.get(code, "")
    en = names_en.get(code, code)
    return f"{en} {zh}".strip()


def sector_tips(
    gap: pd.DataFrame,
    allocation: pd.DataFrame,
    sector: str,
    year: int,
    labels: Mapping[str, str],
    outside: set[str],
) -> dict[str, str]:
    """Hover text per region of a sector's maps: name, observed and coordinated capacity,
    the gap, the stranded share and the data quality."""
    rows = gap.loc[(gap["sector"].astype(str) == sector) & (gap["year"] == year)]
    rows = rows.set_index(rows["region"].astype(str))
    alloc = allocation.loc[
        (allocation["sector"].astype(str) == sector) & (allocation["year"] == year)
    ]
    alloc = alloc.set_index(alloc["region"].astype(str))
    unit = str(rows["capacity_unit"].iloc[0]) if len(rows) else ""
    out = {}
    for code, label in labels.items():
        if code in outside:
            out[code] = f"{label}\noutside national planning"
            continue
        if code not in rows.index:
            out[code] = f"{label}\nno data"
            continue
        r = rows.loc[code]
        capacity = float(alloc["capacity"].get(code, np.nan))
        stranded = float(alloc["stranded_capacity"].get(code, np.nan))
        share = stranded / capacity if capacity > CAPACITY_EPS else np.nan
        lines = [
            label,
            f"observed: {format_number(r['capacity_observed'])} {unit}",
            f"coordinated: {format_number(r['capacity_coordinated'])} {unit}",
            f"gap: {'+' if r['gap'] > CAPACITY_EPS else ''}{format_number(r['gap'])} {unit}",
        ]
        if np.isfinite(share):
            lines.append(f"stranded share: {format_number(share, 'percent')}")
        lines.append(f"data: {r['observed_quality']}")
        out[code] = "\n".join(lines)
    return out


def region_tips(
    region_summary: pd.DataFrame,
    debt: pd.DataFrame | None,
    year: int,
    labels: Mapping[str, str],
    outside: set[str],
) -> dict[str, str]:
    """Hover text per region of the regions' maps: stranded capital and debt, duplicated
    sectors, specialisation, debt service against fiscal capacity."""
    rows = region_summary.loc[region_summary["year"] == year]
    rows = rows.set_index(rows["region"].astype(str))
    fiscal = pd.DataFrame()
    if debt is not None and not debt.empty:
        fiscal = debt.loc[debt["year"] == year].set_index(debt["region"].astype(str))
    out = {}
    for code, label in labels.items():
        if code in outside or code not in rows.index:
            out[code] = f"{label}\n" + (
                "outside national planning" if code in outside else "no data"
            )
            continue
        r = rows.loc[code]
        lines = [
            label,
            f"debt tied to stranded capacity: CNY {money(r['stranded_debt_cny_bn_observed'])} bn",
            f"stranded capital: CNY {money(r['stranded_capital_cny_bn_observed'])} bn",
            f"sectors above the plan: {int(r['sectors_duplicated'])}",
            f"Krugman index: {r['krugman_observed']:.2f} observed, "
            f"{r['krugman_coordinated']:.2f} plan",
        ]
        if code in fiscal.index:
            f = fiscal.loc[code]
            lines.append(
                f"debt service CNY {format_number(f['debt_service_cny_bn_per_yr'], 'money')} "
                f"of {money(f['fiscal_capacity_cny_bn_per_yr'])} bn/yr fiscal capacity"
            )
        out[code] = "\n".join(lines)
    return out


def province_sections(
    results: dict,
    year: int,
    sector_names: Mapping[str, str],
    names_en: Mapping[str, str],
    names_zh: Mapping[str, str],
    order: Sequence[str],
) -> list[dict]:
    """One section per division in national planning: its sectors, stranded capital,
    debt against its fiscal capacity and the sources of its observed figures."""
    comp = results["comparison"]
    scenario = results.get("scenario", {})
    gap = comp["regional_gap"].loc[lambda g: g["year"] == year]
    alloc = results["observed"]["allocation"].loc[lambda a: a["year"] == year]
    summary = comp["region_summary"].loc[lambda s: s["year"] == year]
    summary = summary.set_index(summary["region"].astype(str))
    debt = results["observed"].get("debt")
    debt = (
        debt.loc[debt["year"] == year].set_index(
            debt.loc[debt["year"] == year, "region"].astype(str)
        )
        if debt is not None
        else pd.DataFrame()
    )
    sources = scenario.get("sources", pd.DataFrame(columns=["source_id", "publisher"]))
    publisher = dict(
        zip(sources["source_id"].astype(str), sources["publisher"].astype(str), strict=True)
    )
    buildout = scenario.get("buildout")
    cited: dict[tuple[str, str], str] = {}
    if buildout is not None and not buildout.empty:
        cap = buildout.loc[buildout["variable"] == "capacity"]
        for r in cap.itertuples(index=False):
            ids = [s.strip() for s in str(r.source_id).split(";") if s.strip()]
            cited[(str(r.region), str(r.sector))] = "; ".join(publisher.get(i, i) for i in ids)
    rank = {s: i for i, s in enumerate(order)}
    merged = gap.merge(
        alloc[
            [
                "region",
                "sector",
                "stranded_capacity",
                "stranded_capital_cny_bn",
                "stranded_debt_cny_bn",
            ]
        ],
        on=["region", "sector"],
        how="left",
    )
    out = []
    for code in sorted(summary.index, key=lambda c: names_en.get(c, c)):
        rows = merged.loc[merged["region"].astype(str) == code].copy()
        rows = rows.sort_values("sector", key=lambda s: s.astype(str).map(rank).fillna(len(rank)))
        rows["source"] = [cited.get((code, str(s)), "") for s in rows["sector"]]
        frame = rows[
            [
                "sector",
                "capacity_observed",
                "capacity_coordinated",
                "gap",
                "capacity_unit",
                "stranded_capacity",
                "stranded_capital_cny_bn",
                "stranded_debt_cny_bn",
                "observed_quality",
                "source",
            ]
        ]
        t = table(
            frame,
            f"province-{code}",
            "",
            "",
            labels={
                "capacity_unit": "Unit",
                "stranded_capacity": "Stranded capacity, observed",
                "stranded_capital_cny_bn": "Stranded capital, observed (CNY bn)",
                "stranded_debt_cny_bn": "Debt tied to stranded capacity, observed (CNY bn)",
                "observed_quality": "Data quality",
                "source": "Source of the observed capacity",
            },
            values={"sector": dict(sector_names)},
        )
        s = summary.loc[code]
        fiscal = ""
        if code in debt.index:
            d = debt.loc[code]
            service, capacity = (
                float(d["debt_service_cny_bn_per_yr"]),
                float(d["fiscal_capacity_cny_bn_per_yr"]),
            )
            fiscal = (
                f"Debt financing its capacity CNY {money(d['debt_cny_bn'])} bn; its "
                f"service CNY {format_number(service, 'money')} bn/yr is "
                f"{_share(service, capacity) or 'n/a'} of its fiscal capacity (CNY "
                f"{format_number(capacity, 'money')} bn/yr)."
            )
        out.append(
            {
                "region": code,
                "label": _region_label(code, names_en, names_zh),
                "stranded_capital": format_number(s["stranded_capital_cny_bn_observed"], "money"),
                "stranded_debt": format_number(s["stranded_debt_cny_bn_observed"], "money"),
                "duplicated": int(s["sectors_duplicated"]),
                "fiscal": fiscal,
                "table": t,
            }
        )
    return out


# ---------------------------------------------------------------------------------------
# Figures: jobs drawn once each, in parallel where that helps
# ---------------------------------------------------------------------------------------


def _draw_job(job: dict, folder: str, formats: tuple[str, ...], names: dict[str, str]) -> dict:
    """Build one figure, save it (laid out and drawn once) and return its page record."""
    from geo import maps

    with maps.sector_names(names):
        fig = getattr(maps, job["builder"])(*job["args"], **job["kwargs"])
        paths = maps.save_figure(fig, Path(folder) / "figures" / job["stem"], formats)
        overlays = maps.map_overlays(fig) if job.get("tips") else []
    record = {k: job[k] for k in ("stem", "section", "title", "caption", "alt")}
    record["files"] = {p.suffix.lstrip("."): f"figures/{p.name}" for p in paths}
    for overlay, tips in zip(overlays, job.get("tips") or [], strict=False):
        overlay["tips"] = tips
    record["overlays"] = overlays
    return record


def _workers(n_jobs: int) -> int:
    """Processes to draw with: two where there are two cores (drawing is CPU-bound and
    each figure independent), one otherwise; ``DUPOPT_REPORT_WORKERS`` overrides."""
    env = os.environ.get("DUPOPT_REPORT_WORKERS", "")
    if env.strip().isdigit():
        return max(1, min(int(env), n_jobs))
    if sys.platform != "linux":  # forking is the cheap start; elsewhere draw in-process
        return 1
    return max(1, min(2, os.cpu_count() or 1, n_jobs))


@contextmanager
def drawing(
    jobs: list[dict], folder: Path, formats: tuple[str, ...], names: Mapping[str, str]
) -> Iterator[Callable[[], list[dict]]]:
    """Start drawing every figure job into ``folder/figures``; yields a function that
    waits for them and returns their records in job order.

    With two workers the figures are drawn in forked processes while the caller goes on
    (the page's tables and text); with one, they are drawn when the records are asked for.
    """
    (folder / "figures").mkdir(exist_ok=True)
    names = dict(names)
    workers = _workers(len(jobs))
    if workers == 1:
        yield lambda: [_draw_job(j, str(folder), formats, names) for j in jobs]
        return
    import multiprocessing

    from geo import maps

    maps.map_layers()  # project the boundaries once, before the workers fork
    maps.map_layers(simplify_m=2.5 * maps.SIMPLIFY_M)
    # Largest first, so the two workers finish together.
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].get("weight", 1))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {i: pool.submit(_draw_job, jobs[i], str(folder), formats, names) for i in order}
        yield lambda: [futures[i].result() for i in range(len(jobs))]


def figure_jobs(results: dict, context: dict) -> list[dict]:
    """What to draw, with titles that say what each figure shows (from the numbers);
    ``context`` is :func:`report_base`."""
    comp = results["comparison"]
    gap, summary = comp["regional_gap"], comp["sector_summary"]
    rows, year = _last_year(summary)
    rows = rows.set_index(rows["sector"].astype(str))
    regions = results["scenario"]["regions"]
    names = context["sector_names"]
    labels, outside = context["region_labels"], context["outside"]
    alloc = results["observed"]["allocation"]
    order = context["sector_order"]
    tips = {s: sector_tips(gap, alloc, s, year, labels, outside) for s in order}
    jobs = []
    for sector in order:
        r = rows.loc[sector]
        name = names.get(sector, sector)
        title = (
            sector_title(name, int(r["regions_observed"]), int(r["regions_coordinated"]))
            + f" ({r['capacity_unit']}, {year})"
        )
        jobs.append(
            {
                "stem": f"sector_{sector}",
                "section": "focus" if sector == context["focus_sector"] else "sector",
                "sector": sector,
                "title": title,
                "alt": f"{name}: maps of observed and coordinated capacity, the gap and the "
                "stranded share",
                "caption": (
                    f"{name}, {year}: (a) observed and (b) coordinated capacity on one colour "
                    f"scale, (c) the gap observed − coordinated, (d) the stranded share of "
                    f"observed capacity. Point at a province for its figures; click it for its "
                    "section."
                ),
                "builder": "sector_figure",
                "args": (gap, alloc, sector, regions),
                "kwargs": {"year": year, "title": title},
                "tips": [tips[sector]] * 4,
                "weight": 4,
            }
        )
    over = int((rows["regions_coordinated"] < rows["regions_observed"]).sum())
    # No page of small gap maps: each sector's panel (c) and the hover texts show the gap,
    # and a 13th figure would add an eighth to the drawing time.
    rs = comp["region_summary"].loc[lambda s: s["year"] == year]
    top = rs.sort_values("stranded_debt_cny_bn_observed", ascending=False).iloc[0]
    top_name = context["names_en"].get(str(top["region"]), str(top["region"]))
    dup = int((rs["sectors_duplicated"] > 0).sum())
    title = (
        f"{top_name} carries the most debt tied to stranded capacity (CNY "
        f"{top['stranded_debt_cny_bn_observed']:,.0f} bn); {dup} provinces hold more than the "
        "plan in at least one sector"
    )
    jobs.append(
        {
            "stem": "regions",
            "section": "regions",
            "title": title,
            "alt": "Maps of debt tied to stranded capacity, duplicated sectors and specialisation",
            "caption": (
                "(a) Debt tied to stranded capacity (observed), (b) sectors in which a "
                "province's observed capacity exceeds the plan, (c, d) the Krugman "
                f"specialisation index observed and coordinated, in {year}."
            ),
            "builder": "region_figure",
            "args": (rs, regions),
            "kwargs": {"year": year, "title": title},
            "tips": [region_tips(rs, results["observed"].get("debt"), year, labels, outside)] * 4,
            "weight": 4,
        }
    )
    ordered = summary.loc[summary["year"] == year].set_index("sector").loc[order].reset_index()
    fewer = [
        f"{names.get(s, s)} {int(rows.loc[s, 'regions_coordinated'])} not "
        f"{int(rows.loc[s, 'regions_observed'])}"
        for s in order
        if rows.loc[s, "regions_coordinated"] < rows.loc[s, "regions_observed"]
    ]
    jobs.append(
        {
            "stem": "regions_with_capacity",
            "section": "chart",
            "title": f"Coordination uses fewer provinces in {over} of {len(order)} sectors"
            + (f": {', '.join(fewer[:3])}" if fewer else ""),
            "alt": "Bar chart of provinces with capacity per sector",
            "caption": f"Provinces with any capacity per sector in {year}, observed vs "
            "coordinated (the concentration table below also counts those holding a real share).",
            "builder": "regions_bar",
            "args": (ordered,),
            "kwargs": {
                "year": year,
                "title": f"Coordination uses fewer provinces in {over} of {len(order)} sectors",
            },
        }
    )
    obs_total = float(ordered["stranded_capital_cny_bn_observed"].sum())
    coo_total = float(ordered["stranded_capital_cny_bn_coordinated"].sum())
    first = names.get(order[0], order[0])
    title = (
        f"Stranded capital: CNY {obs_total:,.0f} bn observed, {coo_total:,.0f} bn in the plan; "
        f"{first} strands the most"
    )
    jobs.append(
        {
            "stem": "stranded",
            "section": "chart",
            "title": title,
            "alt": "Bar charts of stranded capital and debt per sector",
            "caption": f"Stranded capital and the debt tied to it per sector in {year} (CNY bn), "
            "sectors ordered by stranded capital.",
            "builder": "stranded_chart",
            "args": (ordered,),
            "kwargs": {"year": year, "title": title},
        }
    )
    # Resource costs only, as the headline: the unmet-demand penalty is no cost (unmet
    # demand is stated as quantities) and the stranded and debt weights only steer.
    costs = {
        mode: results[mode]["costs"].loc[lambda c: ~c["term"].isin(NON_RESOURCE_TERMS)]
        for mode in ("observed", "coordinated")
    }
    h = comp["headline"].set_index("metric").loc["total_cost"]
    title = (
        f"The observed buildout costs CNY {h['difference']:,.1f} bn/yr more than the plan "
        f"({_share(h['difference'], h['observed'])} of its system cost)"
    )
    jobs.append(
        {
            "stem": "costs",
            "section": "chart",
            "title": title,
            "alt": "Cost by term, observed vs coordinated",
            "caption": f"Resource cost by term in {year} (CNY bn/yr); no unmet-demand penalty "
            "or weights.",
            "builder": "cost_chart",
            "args": (costs["observed"], costs["coordinated"]),
            "kwargs": {"year": year, "title": title},
        }
    )
    return jobs


# ---------------------------------------------------------------------------------------
# Methodology
# ---------------------------------------------------------------------------------------

#: The definitions the page states up front (docs/model.md, "Reported quantities").
DEFINITIONS = (
    (
        "Idle capacity",
        "K − X: capacity not producing (it also counts each sector's maintenance margin, "
        "so it is not used for the headline).",
    ),
    (
        "Stranded capacity",
        "K − X/u: capacity not needed even at the sector's maximum utilisation u.",
    ),
    ("Stranded capital", "k · (K − X/u): the capital value of stranded capacity (CNY bn)."),
    (
        "Debt tied to stranded capacity",
        "δ · k · (K − X/u): the debt-financed share δ of the capital value of stranded "
        "capacity (CNY bn); what local governments still owe on capacity nobody needs.",
    ),
    (
        "Cost of non-coordination",
        "The total annual resource cost of the observed buildout minus that of the "
        "coordinated plan (CNY bn/yr), both solved in the same model under the same rules; "
        "no unmet-demand penalty and no stranded or debt weights. Its parts add up to it: "
        "carrying capacity beyond the plan's, producing in costlier places, sub-scale "
        "plants (more, smaller plants) and extra transport.",
    ),
    (
        "Range",
        "The 5th to 95th percentile of each number over draws of the uncertain inputs "
        "(the table 'Uncertain inputs' lists each with its reason).",
    ),
)
#: Sections of docs/model.md the page carries (their text, for offline reading).
MODEL_SECTIONS = ("Reported quantities", "The cost of non-coordination, by part", "Uncertainty")


def model_doc() -> Path | None:
    """``docs/model.md``: in a wheel (``optimizer/docs``) or the source checkout."""
    import optimizer

    here = Path(optimizer.__file__).resolve().parent
    for path in (here / "docs" / "model.md", here.parent / "docs" / "model.md"):
        if path.is_file():
            return path
    return None


def model_sections(path: Path | None) -> list[dict]:
    """The :data:`MODEL_SECTIONS` of docs/model.md as ``id``, ``title``, ``text``."""
    if path is None:
        return []
    text = path.read_text(encoding="utf-8")
    out = []
    for title in MODEL_SECTIONS:
        match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
        if match:
            slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
            out.append({"id": f"model-{slug}", "title": title, "text": match.group(1).strip()})
    return out


def provenance(scenario: Mapping[str, pd.DataFrame], gap: pd.DataFrame, year: int) -> dict:
    """What is estimated: the quality shares of all value rows and of the observed
    capacity figures the maps show."""
    shares = quality_shares(scenario, year) if scenario else pd.DataFrame(columns=QUALITY)
    rows = gap.loc[gap["year"] == year]
    counts = rows["observed_quality"].astype(str).value_counts()
    n = len(rows)
    built = int((rows["capacity_observed"] > CAPACITY_EPS).sum())
    return {
        "all": {q: format_number(shares.loc["all", q], "percent") for q in QUALITY}
        if "all" in shares.index
        else {},
        "capacity": {q: int(counts.get(q, 0)) for q in QUALITY},
        "capacity_total": n,
        "capacity_built": built,
        "shares": shares,
    }


# ---------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------


def report_base(results: dict) -> dict:
    """What both the page and the figures need: names, the sector order, the region
    labels and the divisions outside national planning, the last year, the focus sector."""
    summary = results["comparison"]["sector_summary"]
    names_en = _names(results, "regions", "region", "name_en")
    names_zh = _names(results, "regions", "region", "name_zh")
    regions = results.get("scenario", {}).get("regions")
    outside: set[str] = set()
    if regions is not None and "in_national_planning" in regions:
        flag = regions["in_national_planning"]
        if not pd.api.types.is_bool_dtype(flag):
            flag = flag.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
        outside = set(regions.loc[~flag.to_numpy(dtype=bool), "region"].astype(str))
    codes = list(regions["region"].astype(str)) if regions is not None else []
    return {
        "sector_names": _names(results, "sectors", "sector", "name"),
        "names_en": names_en,
        "names_zh": names_zh,
        "region_labels": {c: _region_label(c, names_en, names_zh) for c in codes},
        "outside": outside,
        "sector_order": sector_order(summary),
        "year": _last_year(summary)[1],
        "focus_sector": focus_sector(summary),
    }


def report_context(results: dict, manifest: dict, base: dict | None = None, scenario=None) -> dict:
    """Everything the template shows except figures: numbers, sentences, tables, notes.

    ``scenario`` is the run's :class:`~optimizer.Scenario` where the caller has it; else it
    is rebuilt from the inputs saved with the results (for the data summaries)."""
    base = base or report_base(results)
    comp = results["comparison"]
    scenario_tables = results.get("scenario", {})
    sector_names, names_en, names_zh = (
        base["sector_names"],
        base["names_en"],
        base["names_zh"],
    )
    summary = comp["sector_summary"]
    year, order = base["year"], base["sector_order"]
    rank = {s: i for i, s in enumerate(order)}

    def by_stake(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values(
            ["sector", "year"],
            key=lambda c: c.astype(str).map(rank).fillna(len(rank)) if c.name == "sector" else c,
            kind="stable",
        ).reset_index(drop=True)

    allocations = {m: results[m]["allocation"] for m in ("observed", "coordinated")}
    conc = concentration(allocations)
    if scenario is None:
        scenario = _rebuilt_scenario(results, manifest)
    focus = focus_case(results, scenario, conc, sector_names, names_en)
    region_labels = base["region_labels"]
    del region_labels  # the figures' hover texts use them

    region_summary = comp["region_summary"].copy()
    region_summary.insert(1, "name", region_summary["region"].astype(str).map(names_en))
    gap = comp["regional_gap"].copy()
    gap.insert(1, "name", gap["region"].astype(str).map(names_en))
    conc_shown = by_stake(conc)
    conc_shown["top3_regions"] = conc_shown["top3_regions"].map(
        lambda s: ", ".join(names_en.get(c, c) for c in s.split(";") if c)
    )
    sector_values = {"sector": sector_names}
    tables = [
        (comp["headline"], "Headline", "see unit column", "headline"),
        (
            by_stake(summary),
            "Sector summary, observed vs coordinated (sectors by stranded capital)",
            "regions; capacity units; CNY bn; %",
            "sector_summary",
        ),
        (
            conc_shown,
            f"Concentration: provinces holding at least {DEFAULT_SHARE:.0%} of national "
            "capacity, HHI and top-three share, observed vs coordinated",
            "regions; HHI 0-1; share in %",
            "concentration",
        ),
        (
            region_summary,
            "Region summary, observed vs coordinated",
            "CNY bn; sectors; index",
            "region_summary",
        ),
        (
            by_stake(gap),
            "Capacity gap by region and sector (observed - coordinated)",
            "capacity units; CNY bn",
            "regional_gap",
        ),
    ]
    if "decomposition" in comp:  # results written before the decomposition have none
        parts = comp["decomposition"].pivot_table(
            index=["sector", "year"], columns="part", values="value", aggfunc="sum"
        )
        parts = parts[[p for p in PARTS if p in parts]].reset_index()
        tables.insert(
            1,
            (
                by_stake(parts),
                "Cost of non-coordination by part, sector and year (adds up to the total)",
                "CNY bn/yr",
                "decomposition",
            ),
        )
    if "headline_range" in comp:  # dupopt run with uncertain inputs
        tables.insert(
            1,
            (
                comp["headline_range"],
                "Headline over draws of the uncertain inputs (base case, percentiles, range)",
                "see unit column; base_percentile in %",
                "headline_range",
            ),
        )
    if "non_unique" in comp and len(comp["non_unique"]):
        tables.append(
            (
                comp["non_unique"],
                "Not unique: quantities that differ between equally cheap optima, by mode "
                "and sector (max_shift: how far one of them moves along one edge)",
                "sector units",
                "non_unique",
            )
        )
    if "uncertain_inputs" in comp:
        tables.append(
            (
                comp["uncertain_inputs"],
                "Uncertain inputs and why (multipliers on the scenario's values)",
                "",
                "uncertain_inputs",
            )
        )
    # Beside the answer: unmet demand and fiscal limits exceeded (the range is on the cards).
    notes = headline_notes(comp["headline"])
    method_notes = []
    if "headline_range" in comp:
        method_notes.append(range_sentence(comp["headline_range"]))
    runs = manifest.get("runs", {})
    if any(r.get("alternative_optima") for r in runs.values()):
        method_notes.append(
            "Ties: other allocations reach exactly the same cost (the solver found "
            "non-basic variables with zero reduced cost), typically because regional costs "
            "are uniform in the data. Totals and costs are unique; the quantities the "
            "table 'Not unique' names are one choice among equally good ones, and every "
            "other quantity is the same in all optima."
        )
    sources = scenario_tables.get("sources", pd.DataFrame()).fillna("")
    prov = provenance(scenario_tables, comp["regional_gap"], year)
    quality = prov.pop("shares")
    stake = by_stake(summary.loc[summary["year"] == year]).merge(
        conc.pivot_table(
            index=["sector", "year"], columns="mode", values="regions_at_or_above_share"
        )
        .add_prefix("holders_")
        .reset_index(),
        on=["sector", "year"],
        how="left",
    )
    stakes = [
        {
            "sector": r.sector,
            "name": sector_names.get(r.sector, r.sector),
            "stranded_capital": format_number(r.stranded_capital_cny_bn_observed, "money"),
            "stranded_debt": format_number(r.stranded_debt_cny_bn_observed, "money"),
            "regions": f"{int(r.regions_observed)} → {int(r.regions_coordinated)}",
            "holders": f"{int(r.holders_observed)} → {int(r.holders_coordinated)}"
            if pd.notna(getattr(r, "holders_observed", np.nan))
            else "",
            "utilisation": f"{format_number(r.utilisation_observed, 'percent')} → "
            f"{format_number(r.utilisation_coordinated, 'percent')}",
        }
        for r in stake.itertuples(index=False)
    ]
    return {
        "scenario": {**manifest["scenario"], "description": _description(manifest)},
        "manifest": manifest,
        "year": year,
        "key_numbers": key_numbers(results),
        "focus": focus,
        "stakes": stakes,
        "definitions": DEFINITIONS,
        "model_sections": model_sections(model_doc()),
        "provenance": prov,
        "national_sentence": national_sentence(comp["headline"]),
        "sector_sentences": sector_sentences(summary, sector_names),
        "notes": notes,
        "method_notes": method_notes,
        "tables": [
            table(f, stem, title, unit, values=sector_values) for f, title, unit, stem in tables
        ],
        "table_frames": {stem: f for f, _t, _u, stem in tables},
        "quality": table(
            quality.rename_axis("table").reset_index(),
            "quality",
            "Share of value rows by quality flag",
            "%",
            labels={
                "reported": "Reported (%)",
                "estimated": "Estimated (%)",
                "assumed": "Assumed (%)",
            },
        )
        | {"rows": _percent_rows(quality)},
        "sources": table(sources, "sources", "Sources", "", cut={"note": 400}),
        "provinces": province_sections(results, year, sector_names, names_en, names_zh, order),
        "parameters_json": to_json(manifest.get("parameters", {})),
        "manifest_json": to_json(manifest),
        "map_note": (
            "Maps use an Albers equal-area projection for China; the South China Sea "
            "islands are shown in an inset. Sparse faint lines mark provinces whose observed "
            "capacity is estimated, not reported; grey regions are outside national "
            "planning or have no capacity. Point at a province for its figures and data "
            "quality; click it for its section."
        ),
    }


def _percent_rows(quality: pd.DataFrame) -> list[list[dict]]:
    """The quality table's rows with shares shown in % (sortable by the fraction)."""
    rows = []
    for name, values in quality.iterrows():
        cells = [{"shown": str(name), "sort": str(name), "text": True}]
        cells += [
            {"shown": format_number(v, "percent"), "sort": repr(float(v)), "text": False}
            for v in values
        ]
        rows.append(cells)
    return rows


def _require_years(results: dict, folder: Path) -> None:
    """Refuse results whose tables have no ``year`` (written by an older dupopt), with
    what to do, rather than failing half-way through the drawing."""
    comp = results.get("comparison", {})
    keyed = {"sector_summary": "year", "region_summary": "year", "headline": "years"}
    missing = [
        f"comparison/{name}"
        for name, column in keyed.items()
        if name not in comp or column not in comp[name].columns
    ]
    if missing:
        raise OutputError(
            f"{display_path(folder)}: the results have no year ({', '.join(missing)}): "
            "they were written by an older dupopt, or are incomplete. Run dupopt run again "
            "to write them with this version"
        )


def _description(manifest: dict) -> str:
    s = manifest["scenario"]
    return f"Scenario '{s['name']}', base year {s['base_year']}"


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


_MIME = {"png": "image/png", "svg": "image/svg+xml"}


def draw_report(
    results_dir: str | Path,
    folder: str | Path | None = None,
    *,
    figure_format: str = "png",
    single_file: bool = False,
    drawn: tuple | None = None,
) -> Path:
    """Draw the maps and charts and write ``report.html``, ``figures/`` and ``tables/``
    into ``folder`` (default ``results_dir``), in place.

    Meant for a folder being built (such as the staging folder handed over by
    :func:`optimizer.write_results`'s ``report`` hook): ``folder`` must not hold a report
    yet. To (re)draw the report of a finished folder, use :func:`render_report`, which
    stages and swaps.

    Parameters
    ----------
    results_dir, folder
        The results, and where the report goes.
    figure_format
        ``"png"`` (default), ``"svg"`` or ``"both"``: the files written per figure
        (:data:`FIGURE_FORMATS`); the page shows the PNG when there is one.
    single_file
        Write one self-contained ``report.html``: images and the CSV links as data URIs,
        no ``figures/`` folder (the tables are still written to ``tables/``).
    drawn
        Figures already being drawn by :func:`early_report` (internal).

    Returns
    -------
    Path
        The report's HTML file.
    """
    if figure_format not in FIGURE_FORMATS:
        raise ValueError(
            f"figure_format must be one of {sorted(FIGURE_FORMATS)}, got {figure_format!r}"
        )
    from geo import maps
    from geo.cjk import font_face_css

    results_dir = Path(results_dir)
    folder = Path(folder) if folder is not None else results_dir
    manifest = require_kind(results_dir, "run")
    results = read_results(results_dir)
    _require_years(results, results_dir)
    sectors = results.get("scenario", {}).get("sectors")
    names = maps.SECTOR_NAMES if sectors is None else sectors.set_index("sector")["name"]
    formats = FIGURE_FORMATS[figure_format]
    with maps.sector_names(dict(names)):  # the run's own sectors, in its order
        base = report_base(results)
        scenario = None
        if drawn is None:
            jobs = figure_jobs(results, base)
            started = drawing(jobs, folder, formats, dict(names))
        else:  # started before the results were written (early_report)
            jobs, finished, where, scenario = drawn
            started = nullcontext(finished)
        with started as finished:
            # The page's numbers and tables while the figures are drawn.
            context = report_context(results, manifest, base, scenario)
            frames = context.pop("table_frames")
            write_tables(folder, frames)
            # Every string the page shows is in the context or the figure jobs (hover texts).
            shown = [(j["title"], j["caption"], j.get("tips")) for j in jobs]
            font_css = font_face_css(repr(context) + repr(shown))
            hover = maps.hover_paths()
            figures = finished()
    if drawn is not None:
        shutil.copytree(where / "figures", folder / "figures")
    for f in figures:
        shown = "png" if "png" in f["files"] else "svg"
        f["src"] = f["files"][shown]
        if single_file:
            f["src"] = _data_uri(folder / f["src"], _MIME[shown])
            f["files"] = {}
    if single_file:
        shutil.rmtree(folder / "figures", ignore_errors=True)
        for t in context["tables"]:
            t["csv"] = _data_uri(folder / t["csv"], "text/csv")
    return write_page(
        folder,
        "run.html.j2",
        **context,
        figures=figures,
        hover_paths=hover if any(f["overlays"] for f in figures) else {},
        cjk_font_css=font_css,
        single_file=single_file,
    )


def render_report(
    results_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    figure_format: str = "png",
    single_file: bool = False,
) -> Path:
    """Draw the report of a results folder; the output folder is swapped in as a whole.

    Parameters
    ----------
    results_dir
        A folder written by ``dupopt run`` / :func:`optimizer.write_results`.
    out_dir
        Where to put the report. Default (or ``results_dir`` itself): redraw in place,
        a copy of the results plus the new report is staged and swapped for the folder.
        Another folder becomes a report folder (``report.html``, ``figures/``,
        ``tables/`` and a ``manifest.json`` of kind ``"report"``); it may be missing,
        empty or an earlier report folder, anything else is refused
        (:func:`optimizer.output.folders.check_target`).
    figure_format, single_file
        As :func:`draw_report`.

    Returns
    -------
    Path
        The report's HTML file.

    Raises
    ------
    optimizer.output.folders.OutputError
        ``results_dir`` is not a results folder, or ``out_dir`` may not be replaced.
    """
    options = {"figure_format": figure_format, "single_file": single_file}
    results_dir = Path(results_dir)
    require_kind(results_dir, "run")
    if out_dir is None or Path(out_dir).resolve() == results_dir.resolve():
        with staged_output(results_dir, "run") as stage:
            # Everything but the old report (and hidden leftovers) is carried over.
            for entry in sorted(results_dir.iterdir()):
                if entry.name in REPORT_ENTRIES or entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    shutil.copytree(entry, stage / entry.name, symlinks=True)
                else:
                    shutil.copy2(entry, stage / entry.name, follow_symlinks=False)
            draw_report(stage, **options)
        return results_dir / REPORT_FILE
    out_dir = Path(out_dir)
    with report_folder(out_dir, results_dir, "the results folder", "run") as stage:
        draw_report(results_dir, stage, **options)
    return out_dir / REPORT_FILE


def report_hook(figure_format: str = "png", single_file: bool = False) -> Callable[[Path], Path]:
    """The ``report`` hook of :func:`optimizer.write_results` with these options."""

    def hook(stage: Path) -> Path:
        return draw_report(stage, figure_format=figure_format, single_file=single_file)

    return hook


def results_in_memory(scenario, results: Mapping, comparison) -> dict:
    """The tables of a run as :func:`optimizer.read_results` would read them back, without
    writing them (the summaries' keys as columns, the inputs under ``"scenario"``)."""
    out: dict[str, dict[str, pd.DataFrame]] = {m: dict(r.tables) for m, r in results.items()}
    out["comparison"] = {
        name: t.reset_index() if any(n is not None for n in t.index.names) else t
        for name, t in comparison.tables().items()
    }
    out["scenario"] = scenario.tables()
    return out


@contextmanager
def early_report(
    scenario,
    results: Mapping,
    comparison,
    figure_format: str = "png",
    single_file: bool = False,
) -> Iterator[Callable[[Path], Path]]:
    """Start drawing a run's figures now; yield the ``report`` hook that finishes the page.

    ``dupopt run`` enters this before it solves the draws of the headline's range: the
    figures depend only on the two solves and their comparison, so two worker processes
    draw them while the range is solved, and the hook, called once the results are
    written, adds the page's tables and text and takes the finished figures. On one core
    the figures are drawn when the hook runs, as :func:`report_hook` does.
    """
    from geo import maps

    formats = FIGURE_FORMATS[figure_format]
    data = results_in_memory(scenario, results, comparison)
    names = dict(zip(scenario.sectors["sector"], scenario.sectors["name"], strict=True))
    where = Path(tempfile.mkdtemp(prefix="dupopt-figures-"))
    try:
        with maps.sector_names(names):
            jobs = figure_jobs(data, report_base(data))
        with drawing(jobs, where, formats, names) as finished:

            def hook(stage: Path) -> Path:
                return draw_report(
                    stage,
                    figure_format=figure_format,
                    single_file=single_file,
                    drawn=(jobs, finished, where, scenario),
                )

            yield hook
    finally:
        shutil.rmtree(where, ignore_errors=True)
