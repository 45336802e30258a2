"""The model checked against the world: utilisation by sector and the number of provinces
holding each industry, beside published figures (``reference_figures.csv``: NBS and IEA,
each with publisher, title, year and where it was read).

``docs/validation.md`` shows :func:`validation_table` of the shipped data; a test
recomputes it, so the page cannot drift from the data.

Examples
--------
>>> import optimizer
>>> s = optimizer.load_scenario()
>>> t = validation_table(s, optimizer.evaluate_observed(s), optimizer.solve(s))
>>> int(t.set_index("sector").loc["solar_pv", "provinces_observed"])
31
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.analysis.comparison import CAPACITY_EPS
from optimizer.model.results import Result, named
from optimizer.scenario.scenario import Scenario

REFERENCE_FILE = Path(__file__).with_name("reference_figures.csv")


def reference_figures() -> pd.DataFrame:
    """Published figures the model is compared with (``sector`` ``*``: all industry)."""
    return pd.read_csv(REFERENCE_FILE, dtype={"sector": str})


def validation_table(scenario: Scenario, observed: Result, coordinated: Result) -> pd.DataFrame:
    """Per sector, in the base year: utilisation (output / capacity) in the shipped data,
    in the observed evaluation and in the plan; the provinces with capacity (data and
    plan); the stranded capital of the observed buildout (CNY bn); how the data's
    capacity was estimated (``capacity_method``, the method code of its ``note``); and
    the published utilisation figures for the sector (``reference``: value, what it is,
    publisher, year).
    """
    b = scenario.buildout
    base = b.loc[b["year"] == scenario.base_year]
    data = base.pivot_table(index="sector", columns="variable", values="value", aggfunc="sum")
    held = base.loc[(base["variable"] == "capacity") & (base["value"] > CAPACITY_EPS)]
    year = scenario.base_year

    def model(result: Result) -> pd.DataFrame:
        a = result.allocation.loc[result.allocation["year"] == year]
        g = a.groupby("sector")[["capacity", "production", "stranded_capital_cny_bn"]].sum()
        g["provinces"] = a.loc[a["capacity"] > CAPACITY_EPS].groupby("sector").size()
        return g.fillna({"provinces": 0})

    obs, plan = model(observed), model(coordinated)
    sectors = pd.Index(scenario.sectors["sector"], name="sector")
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame(
            {
                "utilisation_data": (data["output"] / data["capacity"]).reindex(sectors),
                "utilisation_observed": (obs["production"] / obs["capacity"]).reindex(sectors),
                "utilisation_plan": (plan["production"] / plan["capacity"]).reindex(sectors),
                "provinces_observed": held.groupby("sector").size().reindex(sectors).fillna(0),
                "provinces_plan": plan["provinces"].reindex(sectors).fillna(0),
                "stranded_capital_observed_cny_bn": obs["stranded_capital_cny_bn"].reindex(sectors),
            }
        )
    table = table.astype({"provinces_observed": int, "provinces_plan": int})
    # How the data's capacity was made: a capacity derived from a published utilisation
    # (M-CAP-UTIL) restates that figure, so its comparison is not a test.
    method = held["note"].fillna("").str.extract(r"^(M-[A-Z-]+)", expand=False)
    table["capacity_method"] = (
        method.groupby(held["sector"]).agg(lambda m: "; ".join(sorted(set(m.dropna()))))
    ).reindex(sectors)
    ref = reference_figures()
    ref = ref.loc[ref["sector"].isin(sectors)]
    ref = ref.assign(
        reference=ref["value"].map("{:.1%}".format)
        + " "
        + ref["figure"]
        + " ("
        + ref["publisher"]
        + ", "
        + ref["year"].astype(str)
        + ")"
    )
    table["reference"] = ref.groupby("sector")["reference"].agg("; ".join).reindex(sectors)
    return named(
        table.reset_index(),
        f"the model against published figures, {year}",
        "fraction; provinces; CNY bn",
    )


def validation_markdown(table: pd.DataFrame) -> str:
    """The table as the Markdown ``docs/validation.md`` shows (one decimal of a percent)."""
    head = (
        "| sector | utilisation: data | observed evaluation | plan | provinces: data | plan "
        "| stranded capital, observed (CNY bn) | data capacity method | published utilisation |"
    )
    lines = [head, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for r in table.itertuples(index=False):
        lines.append(
            f"| {r.sector} | {r.utilisation_data:.1%} | {r.utilisation_observed:.1%} | "
            f"{r.utilisation_plan:.1%} | {r.provinces_observed} | {r.provinces_plan} | "
            f"{r.stranded_capital_observed_cny_bn:,.1f} | {r.capacity_method} | {r.reference} |"
        )
    return "\n".join(lines)
