"""Summaries of a scenario's data, as DataFrames that carry their name and unit.

``dupopt data check`` prints these; tests and reports consume the same frames.
"""

from __future__ import annotations

import pandas as pd

from optimizer.model.results import named as _named
from optimizer.scenario.scenario import Scenario
from optimizer.scenario.schema import QUALITY_FLAGS


def table_rows(scenario: Scenario) -> pd.DataFrame:
    """Rows per table.

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> int(table_rows(load_scenario()).loc["regions", "rows"])
    34
    """
    rows = {name: len(frame) for name, frame in scenario.tables().items()}
    return _named(pd.DataFrame({"rows": pd.Series(rows)}), "rows per table", "rows")


def quality_shares(scenario: Scenario) -> pd.DataFrame:
    """Share of value rows flagged reported / estimated / assumed, per table and overall.

    Tables without rows (an optional table left out) are not listed: they have no shares.

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> shares = quality_shares(load_scenario())
    >>> "capacity_tranches" in shares.index, bool(shares.notna().all().all())
    (False, True)
    """
    counts = {}
    for name, frame in scenario.tables().items():
        if "quality" in frame.columns and len(frame):
            counts[name] = frame["quality"].value_counts().reindex(QUALITY_FLAGS, fill_value=0)
    table = pd.DataFrame(counts).T
    table.loc["all"] = table.sum()
    shares = table.div(table.sum(axis=1), axis=0)
    return _named(shares, "share of value rows by quality flag", "fraction")


def designations(scenario: Scenario) -> pd.DataFrame:
    """Per sector and plan period: what the documents support, beside any national count.

    Columns: ``designated`` (regions whose row says designated), ``regions`` (all
    regions), then by basis (``priorities.basis``): ``by_name`` (the region's own document
    names the sector), ``by_umbrella_term`` (only an umbrella term such as "new energy"),
    ``national_count_only`` (no provincial document; the flag follows a national count),
    ``basis_not_given`` (a file without the ``basis`` column),
    ``not_designated`` (documents saying no); and the national count where one is shipped
    (``priority_counts``): ``count_designated`` of ``count_regions`` (NaN without).

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> d = designations(load_scenario())
    >>> d.loc[("solar_pv", "2010-2012"), ["designated", "by_name", "by_umbrella_term",
    ...     "national_count_only", "count_designated", "count_regions"]].astype(int).tolist()
    [31, 3, 3, 25, 31, 34]
    """
    p = scenario.priorities
    # Scenario files from before the basis column: every flag's basis is unknown.
    basis = p["basis"] if "basis" in p else pd.Series(None, index=p.index, dtype=object)
    yes = p["designated"].astype(bool)
    keys = [p["sector"], p["period"]]

    def count(mask: pd.Series) -> pd.Series:
        return mask.groupby(keys).sum().astype(int)

    out = pd.DataFrame(
        {
            "designated": count(yes),
            "regions": len(scenario.regions),
            "by_name": count(yes & basis.eq("provincial document")),
            "by_umbrella_term": count(yes & basis.eq("umbrella term")),
            "national_count_only": count(yes & basis.eq("national count only")),
            "basis_not_given": count(yes & basis.isna()),
            # Documented "no" (a plan's full list leaves it out); regions outside a national
            # count's scope are not counted here.
            "not_designated": count(~yes & basis.isin(["provincial document", "plan list"])),
        }
    )
    out.index.names = ["sector", "period"]
    counts = scenario.priority_counts.set_index(["sector", "period"])
    out = out.join(
        counts[["designated", "regions"]].rename(
            columns={"designated": "count_designated", "regions": "count_regions"}
        ),
        how="outer",
    )
    for column in (
        "designated",
        "by_name",
        "by_umbrella_term",
        "national_count_only",
        "basis_not_given",
    ):
        out[column] = out[column].fillna(0).astype(int)
    out["not_designated"] = out["not_designated"].fillna(0).astype(int)
    out["regions"] = len(scenario.regions)
    return _named(out, "regions designating each sector a priority, by basis", "regions")


def designation_lines(scenario: Scenario) -> list[str]:
    """The ``data check`` lines: per sector and period, the national count (where one is
    shipped) and what provincial documents support.

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> import textwrap
    >>> lines = designation_lines(load_scenario())
    >>> print(textwrap.fill(next(t for t in lines if t.startswith("solar_pv 2010")), 80))
    solar_pv 2010-2012: national count 31 of 34; provincial documents name it in 3
    regions and an umbrella term in 3; 25 rest on the national count only
    """
    lines = []
    for r in designations(scenario).reset_index().itertuples(index=False):
        parts = []
        if pd.notna(r.count_designated):
            parts.append(f"national count {int(r.count_designated)} of {int(r.count_regions)}")
        if r.basis_not_given:
            parts.append(f"{r.designated} of {r.regions} regions designate it (no basis given)")
        else:
            plural = "s" * (r.by_name != 1)
            documented = f"provincial documents name it in {r.by_name} region{plural}"
            if r.by_umbrella_term:
                documented += f" and an umbrella term in {r.by_umbrella_term}"
            parts.append(documented)
        if r.national_count_only:
            parts.append(f"{r.national_count_only} rest on the national count only")
        if r.not_designated:
            parts.append(f"{r.not_designated} documented as not designating it")
        lines.append(f"{r.sector} {r.period}: " + "; ".join(parts))
    return lines


def national_balance(scenario: Scenario) -> pd.DataFrame:
    """Per sector, national totals for the base year in the sector's units.

    Columns: capacity and output (observed), domestic demand, export absorption, global
    demand, and the ratios capacity / global demand, output / global demand and
    capacity utilisation (output / capacity).
    """
    sectors = scenario.sectors.set_index("sector")
    out = pd.DataFrame(index=sectors.index)
    out["capacity_unit"] = sectors["capacity_unit"]
    out["capacity"] = scenario.observed("capacity").groupby(level="sector").sum()
    out["output"] = scenario.observed("output").groupby(level="sector").sum()
    out["domestic_demand"] = scenario.domestic_demand().groupby(level="sector").sum()
    out["export"] = scenario.market("export")
    out["global_demand"] = scenario.market("global")
    out["capacity_to_global_demand"] = out["capacity"] / out["global_demand"]
    out["output_to_global_demand"] = out["output"] / out["global_demand"]
    out["utilisation"] = out["output"] / out["capacity"]
    return _named(out, f"national balance {scenario.base_year}", "sector units (see capacity_unit)")
