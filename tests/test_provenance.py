"""The provenance table: shares of reported / estimated / assumed rows per table and
sector, recomputed from the data and shown as it is in data/README.md."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from optimizer.scenario.summary import provenance, provenance_markdown, quality_shares

README = Path(__file__).parents[1] / "data" / "README.md"


def test_the_data_readme_shows_the_provenance_of_the_shipped_data(default_scenario):
    text = README.read_text(encoding="utf-8")
    shown = text.split("<!-- provenance:start -->\n")[1].split("<!-- provenance:end -->")[0]
    assert shown.strip() == provenance_markdown(provenance(default_scenario)).strip()


def test_provenance_counts_each_base_year_value_row_once(default_scenario):
    p = provenance(default_scenario)
    s = default_scenario
    for name in ("buildout", "demand", "region_attributes"):
        frame = s.tables()[name]
        assert p.loc[name, "rows"].sum() == (frame["year"] == s.base_year).sum()
    assert p.loc["sector_parameters", "rows"].sum() == len(s.sector_parameters)
    shares = p[["reported", "estimated", "assumed"]].sum(axis=1)
    assert shares.round(12).eq(1).all()


def test_the_history_rows_are_the_other_years_and_never_the_base_years(default_scenario):
    s = default_scenario
    history = provenance(s, "history")
    b = s.buildout
    assert (
        history.loc[("buildout", "crude_steel"), "rows"]
        == ((b["sector"] == "crude_steel") & (b["year"] != s.base_year)).sum()
    )
    assert "sector_parameters" not in history.index.get_level_values("table")
    both = provenance(s, "all")["rows"]
    assert both.sum() == provenance(s)["rows"].sum() + history["rows"].sum()


def test_reflagging_one_row_moves_its_share_and_its_method(default_scenario):
    s = default_scenario
    b = s.buildout.copy()
    row = b.index[
        (b["sector"] == "li_ion_battery")
        & (b["year"] == s.base_year)
        & (b["quality"] == "estimated")
        & b["note"].str.startswith("M-")
    ][0]
    code = b.loc[row, "note"].split(":")[0]
    b.loc[row, ["quality", "note"]] = ["reported", "transcribed from a provincial bulletin"]
    before = provenance(s).loc[("buildout", "li_ion_battery")]
    after = provenance(replace(s, buildout=b)).loc[("buildout", "li_ion_battery")]
    assert after["reported"] == pytest.approx(before["reported"] + 1 / before["rows"])
    assert after["estimated"] == pytest.approx(before["estimated"] - 1 / before["rows"])

    def uses(methods: str) -> int:
        tally = dict(item.rsplit(" ", 1) for item in methods.split(", ") if item)
        return int(tally.get(code, 0))

    assert uses(after["methods"]) == uses(before["methods"]) - 1


def test_quality_shares_weight_tables_by_their_rows(default_scenario):
    p = provenance(default_scenario)
    shares = quality_shares(default_scenario)
    rows = p["rows"].groupby(level="table").sum()
    reported = (p["reported"] * p["rows"]).groupby(level="table").sum()
    assert shares.loc["buildout", "reported"] == pytest.approx(
        reported["buildout"] / rows["buildout"]
    )
    assert shares.loc["all", "reported"] == pytest.approx(reported.sum() / rows.sum())


def test_an_unknown_years_choice_is_refused_by_name(default_scenario):
    with pytest.raises(ValueError, match="years must be"):
        provenance(default_scenario, "recent")


def test_an_attribute_of_several_years_takes_the_base_year_else_the_latest_before(
    default_scenario,
):
    s = default_scenario
    ra = s.region_attributes
    gdp = ra.loc[ra["attribute"] == "gdp"]
    assert gdp["year"].nunique() > 1  # the shipped GDP series
    want = gdp.loc[gdp["year"] == s.base_year].set_index("region")["value"]
    table = s.region_table()
    assert table.loc[want.index, "gdp"].tolist() == want.tolist()
    # A rate published for 2022 and 2024 but not 2023: the 2022 rate is in force.
    rate = ra.loc[ra["attribute"] == "financing_rate"]
    moved = pd.concat(
        [
            ra.loc[ra["attribute"] != "financing_rate"],
            rate.assign(year=2022, value=0.01),
            rate.assign(year=2024, value=0.05),
        ]
    )
    assert (
        replace(s, region_attributes=moved).region_table()["financing_rate"].dropna() == 0.01
    ).all()
    # Only a later year: that one.
    later = pd.concat([ra.loc[ra["attribute"] != "financing_rate"], rate.assign(year=2024)])
    got = replace(s, region_attributes=later).region_table()["financing_rate"].dropna()
    assert got.tolist() == rate.set_index("region")["value"].reindex(got.index).tolist()
