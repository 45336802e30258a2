"""The year in every key: result, comparison, sweep-store and sweep-statistics tables
carry ``year``, so a model with several years writes the same tables.

Today the model has one year (``scenario.base_year``). The two-year tests build a model
with a second year by adding one to the model's inputs (:func:`two_years`), without
changing the formulation: every block is indexed by year already, so the years are two
independent copies, the second with 10 % more demand.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

import optimizer
from dupopt.cli import headline_lines, main, sector_lines
from geo import maps
from geo.reports.run_report import national_sentence, sector_sentences
from optimizer.analysis import sweep_statistics
from optimizer.model import formulation
from optimizer.model.results import NON_RESOURCE_TERMS
from optimizer.sweeps.overrides import Overrides
from optimizer.sweeps.store import STORE_VERSION, Store, StoreError, query, read_store
from optimizer.sweeps.sweep_file import Job
from optimizer.sweeps.worker import run_chunk

IDENTITY = {"dataset_sha256": "d", "model_version": "m", "sweep": "years"}
#: Tables keyed by region, sector, term or arc, and the key columns besides ``year``.
STORE_KEYS = {
    "costs": ["scenario", "mode", "term"],
    "sectors": ["scenario", "mode", "sector"],
    "allocation": ["scenario", "mode", "region", "sector"],
}
STATISTICS = (
    "robustness",
    "regional_ranges",
    "stranded_capacity_ranges",
    "regions_by_scenario",
    "sector_regions",
)


@pytest.fixture(scope="module")
def pair(divisible_scenario):
    """The shipped data's observed evaluation and coordinated plan, as an LP (exact optima:
    the two-year copies below must reproduce them to the last digits)."""
    return optimizer.evaluate_observed(divisible_scenario), optimizer.solve(divisible_scenario)


@pytest.fixture(scope="module")
def chunk(divisible_scenario):
    jobs = [Job("base", "base", Overrides()), Job("more", "named", Overrides.from_mapping(
        {"demand": 1.1}))]  # fmt: skip
    return run_chunk(divisible_scenario, jobs, base_key="years-one")


@pytest.fixture
def store(tmp_path, chunk):
    path = tmp_path / "years.duckdb"
    with Store.open(path, IDENTITY) as st:
        st.start_run("sha", "text", "years", "years.toml", None, "in-process", 0)
        st.commit(chunk)
    return path


# -- one year (the shipped data) ---------------------------------------------------------
def test_every_result_table_has_a_year_column(pair):
    for result in pair:
        assert set(result.tables) >= {"allocation", "costs", "debt", "unmet", "shipments"}
        for name, table in result.tables.items():
            assert "year" in table.columns, (result.mode, name)
            assert set(table["year"]) <= {2023}, (result.mode, name)
        assert set(result.allocation["year"]) == {2023}


def test_costs_give_each_term_by_year_and_add_up_to_the_objective(pair):
    for result in pair:
        costs = result.costs
        assert list(costs.columns) == ["term", "year", "value", "unit"]
        assert not costs.duplicated(["term", "year"]).any()
        assert costs["value"].sum() == pytest.approx(result.objective, rel=1e-12)
        resource = costs.loc[~costs["term"].isin(NON_RESOURCE_TERMS), "value"].sum()
        assert result.total_cost == resource


def test_every_comparison_table_is_keyed_by_year_and_the_headline_names_its_years(pair):
    gap = optimizer.compare(*pair)
    for name, table in gap.tables().items():
        if name == "headline":
            assert (table["years"] == "2023").all()
            continue
        keys = [*table.columns, *(n for n in table.index.names if n is not None)]
        assert "year" in keys, name
    assert gap.sector_summary.index.names == ["sector", "year"]
    assert gap.region_summary.index.names == ["region", "year"]
    # The LP's numbers, which the README documents beside the default's, do not move.
    cost = gap.headline.set_index("metric").loc["total_cost"]
    assert [round(cost[c], 1) for c in ("observed", "coordinated", "difference")] == [
        8293.3,
        8015.6,
        277.7,
    ]


def test_a_results_folder_keeps_the_sector_and_year_of_the_summaries(tmp_path, pair):
    scenario = optimizer.load_scenario()
    results = {r.mode: r for r in pair}
    out = optimizer.write_results(tmp_path / "run", scenario, results, optimizer.compare(*pair))
    comparison = optimizer.read_results(out)["comparison"]
    assert {"sector", "year"} <= set(comparison["sector_summary"].columns)
    assert {"region", "year"} <= set(comparison["region_summary"].columns)
    assert len(comparison["sector_summary"]) == len(scenario.sectors)


def test_a_results_folder_without_years_is_refused_by_the_report_with_what_to_do(
    tmp_path, pair, capsys
):
    scenario = optimizer.load_scenario()
    results = {r.mode: r for r in pair}
    out = optimizer.write_results(tmp_path / "run", scenario, results, optimizer.compare(*pair))
    summary = out / "comparison" / "sector_summary.parquet"
    pd.read_parquet(summary).drop(columns="year").to_parquet(summary)  # as an older dupopt
    assert main(["report", str(out), "-o", str(tmp_path / "rep")]) == 1
    err = capsys.readouterr().err
    assert "no year (comparison/sector_summary)" in err and "dupopt run again" in err


def test_the_printed_sector_table_names_its_year(pair):
    gap = optimizer.compare(*pair)
    lines = sector_lines(gap)
    assert lines[1] == "By sector in 2023 (stranded capacity in the capacity unit):"
    assert headline_lines(optimizer.load_scenario(), gap)[0].endswith("; figures for 2023.")


def test_every_store_table_keyed_by_region_sector_or_term_has_a_year_column(store, chunk):
    for name, keys in STORE_KEYS.items():
        frame = getattr(chunk, name)
        assert set(frame["year"]) == {2023}, name
        assert not frame.duplicated([*keys, "year"]).any(), name
    tables = read_store(store)
    for name, keys in STORE_KEYS.items():
        assert {*keys, "year"} <= set(tables[name].columns), name
        assert len(tables[name]) == len(getattr(chunk, name)), name
    columns = tables["columns"]
    described = set(columns.loc[columns["column_name"] == "year", "table_name"])
    assert described == set(STORE_KEYS)
    meta = tables["meta"].set_index("key")["value"]
    assert meta["store_version"] == STORE_VERSION == "3"


def test_store_costs_by_year_add_up_to_the_scenario_costs(chunk):
    costs = chunk.costs.loc[~chunk.costs["term"].isin(NON_RESOURCE_TERMS)]
    total = costs.groupby(["scenario", "mode"])["value"].sum()
    scenarios = chunk.scenarios.set_index("scenario")
    for (name, mode), value in total.items():
        assert value == pytest.approx(scenarios.loc[name, f"cost_{mode}"], rel=1e-12)


def test_an_older_store_is_refused_with_its_format_and_what_to_do(store, tmp_path, capsys):
    with duckdb.connect(str(store)) as con:
        con.execute("UPDATE meta SET value = '2' WHERE key = 'store_version'")
    expected = r"older dupopt \(store format 2; this dupopt (writes|reads) format 3"
    with pytest.raises(StoreError, match=expected):
        Store.open(store, IDENTITY)
    with pytest.raises(StoreError, match=expected):
        read_store(store)
    assert main(["report", str(store), "-o", str(tmp_path / "rep")]) == 1
    err = capsys.readouterr().err
    assert "store format 2" in err and "new store (-o PATH)" in err
    # Its data can still be read out with SQL.
    assert int(query(store, "SELECT count(*) AS n FROM costs")["n"][0]) > 0


def test_every_sweep_statistic_of_a_per_year_table_is_keyed_by_year(store):
    tables = read_store(store)
    for name in STATISTICS:
        frame = getattr(sweep_statistics, name)(tables)
        assert len(frame) and set(frame["year"]) == {2023}, name
    assert sweep_statistics.store_years(tables) == [2023]


# -- two years (a second year added to the model's inputs) ---------------------------------
def _add_year(series: pd.Series, factor: float = 1.0) -> pd.Series:
    later = series.rename(index={2023: 2024}, level="year")
    return pd.concat([series, later * factor if factor != 1.0 else later]).sort_index()


@pytest.fixture
def two_years(monkeypatch):
    """Models get a second year, 2024: the base year's inputs with 10 % more demand and
    export absorption, the same observed capacity."""
    one_year = formulation.ModelData.from_scenario.__func__

    def from_scenario(cls, scenario, mode="coordinated", arcs=None):
        data = one_year(cls, scenario, mode, arcs)
        data.years = [2023, 2024]
        data.demand = _add_year(data.demand, 1.1)
        data.exports = _add_year(data.exports, 1.1)
        data.observed = _add_year(data.observed)
        data.observed_quality = _add_year(data.observed_quality)
        return data

    monkeypatch.setattr(formulation.ModelData, "from_scenario", classmethod(from_scenario))


@pytest.fixture
def two_year_pair(two_years, divisible_scenario):
    return optimizer.evaluate_observed(divisible_scenario), optimizer.solve(divisible_scenario)


def test_a_two_year_model_reports_every_year_in_every_table(two_year_pair, pair):
    for result, single in zip(two_year_pair, pair, strict=True):
        assert result.status.ok
        for name in ("allocation", "costs", "debt", "marginal_costs", "capacity_values"):
            assert set(result.tables[name]["year"]) == {2023, 2024}, (result.mode, name)
        by_year = result.costs.groupby("year")["value"].sum()
        # The base year is an independent copy of the one-year model: the same cost.
        assert by_year[2023] == pytest.approx(single.objective, rel=1e-9)
        assert by_year.sum() == pytest.approx(result.objective, rel=1e-12)
        # More demand in 2024 needs more production.
        output = result.allocation.groupby("year")["production"].sum()
        assert output[2024] > output[2023]


def test_a_two_year_comparison_sums_costs_and_takes_stocks_in_the_last_year(two_year_pair):
    observed, plan = two_year_pair
    gap = optimizer.compare(observed, plan)
    head = gap.headline.set_index("metric")
    assert head.loc["total_cost", "years"] == "2023-2024"
    assert head.loc["total_cost", "observed"] == observed.total_cost
    costs = observed.costs.loc[~observed.costs["term"].isin(NON_RESOURCE_TERMS)]
    assert observed.total_cost == pytest.approx(costs["value"].sum(), rel=1e-12)
    alloc = observed.allocation
    for metric, column in (
        ("stranded_capital", "stranded_capital_cny_bn"),
        ("capital_in_place", "capital_cny_bn"),
    ):
        assert head.loc[metric, "years"] == "2024"
        last = alloc.loc[alloc["year"] == 2024, column].sum()
        assert head.loc[metric, "observed"] == pytest.approx(last, rel=1e-12)
    # Stranded capital differs between the years, so "the last year" is a real choice.
    by_year = alloc.groupby("year")["stranded_capital_cny_bn"].sum()
    assert by_year[2023] != pytest.approx(by_year[2024], rel=1e-3)
    assert head.loc["sectors_with_unmet_demand", "years"] == "2023-2024"
    for table, level in ((gap.sector_summary, "sector"), (gap.region_summary, "region")):
        years = table.index.to_frame(index=False).groupby(level)["year"].apply(set)
        assert (years == {2023, 2024}).all()
    regions = gap.sector_summary.xs(2024, level="year")["regions_observed"]
    built = alloc.loc[(alloc["year"] == 2024) & (alloc["capacity"] > 1e-6)]
    assert regions.to_dict() == built.groupby("sector")["region"].nunique().to_dict()


def test_two_year_figures_and_sentences_show_the_last_year_by_name(two_year_pair):
    gap = optimizer.compare(*two_year_pair)
    scenario = optimizer.load_scenario()
    assert "; costs over 2023-2024, capital and debt in 2024." in headline_lines(scenario, gap)[0]
    assert sector_lines(gap)[1].startswith("By sector in 2024 ")
    sentence = national_sentence(gap.headline)
    assert sentence.startswith("Cost of non-coordination over 2023-2024: CNY ")
    assert "Stranded capital in 2024: CNY" in sentence
    summary = gap.sector_summary.reset_index()
    sentences = sector_sentences(summary, {})
    assert len(sentences) == summary["sector"].nunique()
    assert all(" in 2024: " in s for s in sentences)
    observed, plan = two_year_pair
    fig = maps.cost_chart(observed.costs, plan.costs)
    assert fig.get_suptitle().endswith(", 2024")
    assert maps.stranded_chart(gap.sector_summary).get_suptitle().endswith(", 2024")


def test_a_two_year_sweep_chunk_keys_every_table_by_year(two_years, divisible_scenario):
    out = run_chunk(divisible_scenario, [Job("base", "base", Overrides())], base_key="years-two")
    row = out.scenarios.iloc[0]
    assert row["status"] == "done", row["message"]
    for name, keys in STORE_KEYS.items():
        frame = getattr(out, name)
        assert set(frame["year"]) == {2023, 2024}, name
        assert not frame.duplicated([*keys, "year"]).any(), name
    # The sectors table is the allocation summed by (sector, year).
    alloc = out.allocation.groupby(["mode", "sector", "year"])["stranded_capacity"].sum()
    sectors = out.sectors.set_index(["mode", "sector", "year"])["stranded_capacity"]
    np.testing.assert_allclose(sectors.sort_index(), alloc.sort_index(), rtol=1e-12)
    # The scenario metrics are defined over the years as the run's headline.
    head = optimizer.compare(
        optimizer.evaluate_observed(divisible_scenario), optimizer.solve(divisible_scenario)
    ).headline.set_index("metric")
    assert row["cost_of_non_coordination"] == pytest.approx(
        head.loc["total_cost", "difference"], rel=1e-9
    )
    assert row["stranded_debt_observed"] == pytest.approx(
        head.loc["stranded_debt", "observed"], rel=1e-6
    )
    unmet = out.sectors.loc[(out.sectors["mode"] == "observed") & (out.sectors["unmet"] > 1e-9)]
    assert row["unmet_sectors_observed"] == unmet["sector"].nunique() > 0
    costs = out.costs.loc[out.costs["mode"] == "observed"].groupby("year")["value"].sum()
    assert costs.sum() == pytest.approx(row["objective_observed"], rel=1e-9)


def test_two_year_sweep_statistics_give_every_year_and_figures_the_last(two_years, tmp_path):
    from geo.reports import sweep_report

    scenario = optimizer.load_scenario()
    jobs = [Job("a", "named", Overrides()), Job("b", "named", Overrides.from_mapping(
        {"demand": 1.05}))]  # fmt: skip
    chunk = run_chunk(scenario, jobs, base_key="years-two-stats")
    path = tmp_path / "two.duckdb"
    with Store.open(path, IDENTITY) as st:
        st.start_run("sha", "text", "years", "years.toml", None, "in-process", 0)
        st.commit(chunk)
    tables = read_store(path)
    assert sweep_statistics.store_years(tables) == [2023, 2024]
    for name in STATISTICS:
        frame = getattr(sweep_statistics, name)(tables)
        assert set(frame["year"]) == {2023, 2024}, name
    headline = sweep_report.headline_sentences(tables)
    assert "the cost of non-coordination over 2023-2024 ranged" in headline[0]
    assert headline[1].startswith("Stranded capital in 2024: median CNY ")
    assert all(" in 2024: " in s for s in sweep_report.sector_sentences(tables))
    fig = sweep_report.regions_boxplot(sweep_statistics.regions_by_scenario(tables))
    assert fig.get_suptitle().endswith(", 2024")
