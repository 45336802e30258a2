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
    """Per sector and plan period: regions that designated it a priority, of all regions.

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> d = designations(load_scenario())
    >>> d.loc["solar_pv", ["designated", "regions"]].tolist()
    [31, 34]
    """
    p = scenario.priorities
    total = len(scenario.regions)
    out = (
        p.groupby(["sector", "period"])["designated"]
        .sum()
        .astype(int)
        .reset_index()
        .assign(regions=total)
        .set_index("sector")
    )
    return _named(out, "regions designating each sector a priority", "regions")


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
