"""Magnitude limits, non-finite values, oversized CSV cells, capped error lists, a scenario
without fiscal capacity, and `data check` on a scenario without optional tables."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer
from dupopt.cli import main
from optimizer import Issue, ScenarioError, load_scenario, scenario_from_frames
from optimizer.errors import format_issues
from optimizer.output.results_folder import write_results
from optimizer.scenario.limits import HEADROOM, TOLERANCE, plausible_ranges
from optimizer.scenario.summary import quality_shares

ROOT = Path(__file__).resolve().parents[1]


def only_issue(error: ScenarioError) -> Issue:
    assert len(error.issues) == 1, "\n".join(map(str, error.issues))
    return error.issues[0]


def located(issue: Issue, file: str, line: int, column: str) -> bool:
    return (
        Path(issue.source).name == file and issue.row == f"line {line}" and issue.column == column
    )


# -- non-finite and absurd numbers -------------------------------------------------------


def test_demand_of_1e308_is_refused_with_its_location_and_the_accepted_range(files):
    line = files.set_cell("demand.csv", "value", "1e308", region="320000", sector="cement")
    with pytest.raises(ScenarioError) as info:
        load_scenario(files.folder)
    issue = only_issue(info.value)
    assert located(issue, "demand.csv", line, "value"), issue
    assert "too large" in issue.message
    # The accepted range is stated, in the row's unit: 10,000 Mt plausible x 1e6.
    assert f"up to {1e4 * HEADROOM:,g} Mt" in issue.message
    assert "1e+308" in issue.message


def test_capex_of_1e308_is_refused_with_its_location(files):
    line = files.set_cell(
        "sector_parameters.csv", "value", "1e308", sector="solar_pv", parameter="capex"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(files.folder)
    issue = only_issue(info.value)
    assert located(issue, "sector_parameters.csv", line, "value"), issue
    assert "capex is too large" in issue.message
    assert "CNY bn/(GW/yr)" in issue.message


@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity", "NaN", "nan", "1e400"])
def test_a_non_finite_value_is_refused_with_its_location(files, text):
    line = files.set_cell("demand.csv", "value", text, region="440000", sector="nev")
    with pytest.raises(ScenarioError) as info:
        load_scenario(files.folder)
    issue = only_issue(info.value)
    assert located(issue, "demand.csv", line, "value"), issue
    assert issue.message == f"not a finite number: {text!r}"


def test_an_infinite_optional_value_is_refused_too(files):
    """An empty max_capacity means unlimited; inf must not sneak in as another spelling."""
    files.path("capacity_tranches.csv").write_text(
        "region,sector,tranche,max_capacity,cost_multiplier,unit,source_id,quality,note\n"
        "320000,cement,1,inf,1.0,Mt/yr,,assumed,test\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(files.folder)
    issue = only_issue(info.value)
    assert located(issue, "capacity_tranches.csv", 2, "max_capacity"), issue
    assert "not a finite number" in issue.message


def test_non_finite_values_in_frames_are_named_by_index_label(default_scenario):
    tables = default_scenario.tables()
    demand = tables["demand"].copy()
    demand.loc[3, "value"] = np.inf
    demand.loc[5, "value"] = np.nan
    with pytest.raises(ScenarioError) as info:
        scenario_from_frames(base_year=2023, **{**tables, "demand": demand})
    found = {(i.row, i.column): i.message for i in info.value.issues}
    assert found == {
        ("row 3", "value"): "not a finite number: 'inf'",
        ("row 5", "value"): "is empty; a value is required",
    }


def test_a_non_zero_value_below_the_solver_tolerance_is_refused(files):
    line = files.set_cell("demand.csv", "value", "1e-12", region="320000", sector="cement")
    with pytest.raises(ScenarioError) as info:
        load_scenario(files.folder)
    issue = only_issue(info.value)
    assert located(issue, "demand.csv", line, "value"), issue
    assert f"0 or at least {TOLERANCE:g} Mt" in issue.message


def test_zero_is_accepted_where_it_is_plausible(files):
    files.set_cell("demand.csv", "value", "0", region="320000", sector="cement")
    assert load_scenario(files.folder).warnings == ()


def test_a_huge_model_parameter_is_refused(files):
    files.edit_text(
        "scenario.toml",
        lambda t: t.replace("unmet_penalty_factor = 10.0", "unmet_penalty_factor = 1e308"),
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(files.folder)
    issue = only_issue(info.value)
    assert issue.column == "parameters.unmet_penalty_factor"
    assert Path(issue.source).name == "scenario.toml"
    assert "too large" in issue.message


def test_an_implausible_but_safe_value_warns_and_the_scenario_loads(files):
    line = files.set_cell("demand.csv", "value", "50000", region="320000", sector="cement")
    capex = files.set_cell(
        "sector_parameters.csv", "value", "0", sector="solar_pv", parameter="capex"
    )
    s = load_scenario(files.folder)
    d = s.demand
    assert d.loc[(d["region"] == "320000") & (d["sector"] == "cement"), "value"].item() == 50000
    warned = {(Path(w.source).name, w.row, w.column): w.message for w in s.warnings}
    assert set(warned) == {
        ("demand.csv", f"line {line}", "value"),
        ("sector_parameters.csv", f"line {capex}", "value"),
    }
    assert (
        "outside its plausible range 0 to 10,000 Mt"
        in warned["demand.csv", f"line {line}", "value"]
    )
    # A zero capex is possible for the solver but not plausible (low is 0.1).
    assert "0.1 to 20" in warned["sector_parameters.csv", f"line {capex}", "value"]


def test_the_shipped_scenario_loads_with_no_warnings(default_scenario):
    assert default_scenario.warnings == ()


def test_the_synthetic_scenarios_load_with_no_warnings():
    from optimizer.scenario.synthetic import synthetic_scenario

    for seed in range(3):
        scenario, _ = synthetic_scenario(3, 3, sectors=3, seed=seed)
        assert scenario.warnings == ()


def test_an_implausible_parameter_warns_and_a_later_change_clears_it(default_scenario):
    margin = default_scenario.with_parameters(reserve_margin=3.0)
    assert [w.column for w in margin.warnings] == ["parameters.reserve_margin"]
    assert margin.with_parameters(reserve_margin=0.1).warnings == ()


def test_a_unit_without_its_own_range_is_still_checked(default_scenario):
    """A sector in a unit the ranges do not list gets the generic range: the shipped robot
    figures pass, 1e308 does not."""
    tables = {
        name: frame.replace({"unit": {"k units": "robots", "k units/yr": "robots/yr"}})
        for name, frame in default_scenario.tables().items()
    }
    tables["sectors"] = tables["sectors"].replace("k units", "robots", regex=True)
    tables["sector_parameters"]["unit"] = tables["sector_parameters"]["unit"].str.replace(
        "k units", "robots"
    )
    assert scenario_from_frames(base_year=2023, **tables).warnings == ()
    demand = tables["demand"].copy()
    row = demand.index[demand["sector"] == "industrial_robot"][0]
    demand.loc[row, "value"] = 1e308
    with pytest.raises(ScenarioError) as info:
        scenario_from_frames(base_year=2023, **{**tables, "demand": demand})
    issue = only_issue(info.value)
    assert issue.row == f"row {row}"
    assert "no range is declared for unit 'robots'" in issue.message


def test_the_ranges_table_in_data_readme_matches_the_declared_ranges():
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| `([^`]+)` \| `([^`]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \| (.+) \|$", readme, re.M
    )
    documented = [
        (kind, unit, float(low.replace(",", "")), float(high.replace(",", "")), reason)
        for kind, unit, low, high, _, reason in rows
    ]
    declared = [(r.kind, r.unit, r.low, r.high, r.reason) for r in plausible_ranges().itertuples()]
    assert documented == declared


def test_the_declared_ranges_are_ordered_and_unique():
    r = plausible_ranges()
    assert (r["low"] <= r["high"]).all()
    assert (r["low"] >= 0).all()
    assert not r.duplicated(["kind", "unit"]).any()


# -- a CSV cell over the csv module's limit ----------------------------------------------


def test_a_cell_over_the_field_limit_is_an_input_error_with_its_line(files, capsys):
    line = files.set_cell("demand.csv", "note", "x" * 140_000, region="320000", sector="nev")
    code = main(["data", "check", str(files.folder)])
    _, err = capsys.readouterr()
    assert code == 1
    assert f"demand.csv, line {line}: a value is longer than 131,072 characters" in err
    assert "internal error" not in err
    assert "Traceback" not in err


# -- a capped list of problems ------------------------------------------------------------


def ten_thousand_negative_demands(default_scenario) -> dict[str, pd.DataFrame]:
    """The shipped tables with a demand table of 10,000 rows, every value negative."""
    tables = default_scenario.tables()
    demand = tables["demand"]
    keys = demand.loc[demand["year"] == 2023, ["region", "sector", "unit"]]
    years = np.arange(2100 - 10_000 // len(keys), 2101)
    demand = keys.merge(pd.DataFrame({"year": years}), how="cross").head(10_000)
    demand = demand.assign(value=-1.0, source_id=np.nan, quality="assumed", note="test")
    assert len(demand) == 10_000
    return {**tables, "demand": demand}


def test_ten_thousand_invalid_rows_print_twenty_and_count_the_rest(default_scenario):
    with pytest.raises(ScenarioError) as info:
        scenario_from_frames(base_year=2023, **ten_thousand_negative_demands(default_scenario))
    error = info.value
    # The library keeps every problem ...
    assert len(error.issues) == 10_000
    assert all(i.message == "must be >= 0 (got -1.0)" for i in error.issues)
    # ... the message shows 20 and counts the rest.
    lines = str(error).splitlines()
    assert lines[0] == "10,000 problems in the scenario:"
    assert lines[1:21] == [f"  {i}" for i in error.issues[:20]]
    assert lines[21:] == [
        "  ... and 9,980 more:",
        "    9,980 x demand (DataFrame), column 'value': must be >= 0",
    ]


def test_the_cli_prints_a_capped_list_for_a_generated_invalid_table(
    default_scenario, files, capsys
):
    demand = ten_thousand_negative_demands(default_scenario)["demand"]
    files.write("demand.csv", demand)
    code = main(["data", "check", str(files.folder)])
    _, err = capsys.readouterr()
    assert code == 1
    assert len(err.splitlines()) == 1 + 20 + 2
    assert err.startswith("error: 10,000 problems in the scenario:")
    last = err.splitlines()[-1]
    assert last.startswith("    9,980 x ")
    assert last.endswith("demand.csv, column 'value': must be >= 0")


def test_the_rest_is_counted_by_file_column_and_kind_most_frequent_first():
    issues = [Issue("a.csv", "first", "line 1")]
    issues += [
        Issue("d.csv", f"unknown region '{i}' (not in regions)", f"line {i}", "region")
        for i in range(3)
    ]
    issues += [Issue("d.csv", f"must be >= 0 (got {-i})", f"line {i}", "value") for i in range(5)]
    text = format_issues("head", issues, shown=1)
    assert text.splitlines() == [
        "head",
        "  a.csv, line 1: first",
        "  ... and 8 more:",
        "    5 x d.csv, column 'value': must be >= 0",
        "    3 x d.csv, column 'region': unknown region '…' (not in regions)",
    ]


def test_a_short_list_is_printed_whole():
    issues = [Issue("d.csv", f"must be >= 0 (got {-i})", f"line {i}", "value") for i in range(20)]
    assert "more" not in str(ScenarioError(issues))
    assert len(str(ScenarioError(issues)).splitlines()) == 21


# -- a scenario without fiscal capacity ---------------------------------------------------


def without_fiscal_capacity(scenario: optimizer.Scenario, fiscal_limit: bool) -> optimizer.Scenario:
    """No region takes part in planning (so none needs fiscal capacity) and none has it."""
    tables = scenario.tables()
    tables["regions"] = tables["regions"].assign(in_national_planning=False)
    attrs = tables["region_attributes"]
    tables["region_attributes"] = attrs.loc[attrs["attribute"] != "fiscal_capacity"]
    return scenario_from_frames(base_year=2023, parameters={"fiscal_limit": fiscal_limit}, **tables)


@pytest.mark.parametrize("fiscal_limit", [True, False], ids=["fiscal-limit", "no-fiscal-limit"])
def test_a_scenario_without_fiscal_capacity_solves_compares_and_writes(
    default_scenario, tmp_path, fiscal_limit
):
    s = without_fiscal_capacity(default_scenario, fiscal_limit)
    assert "fiscal_capacity" not in set(s.region_attributes["attribute"])
    coordinated = optimizer.solve(s)
    observed = optimizer.evaluate_observed(s)
    assert coordinated.status.ok and observed.status.ok
    gap = optimizer.compare(observed, coordinated)
    folder = write_results(
        tmp_path / "out", s, {"coordinated": coordinated, "observed": observed}, gap
    )
    assert (folder / "manifest.json").is_file()
    for result in (coordinated, observed):
        debt = result.debt
        assert len(debt) > 0
        assert debt["fiscal_capacity_cny_bn_per_yr"].isna().all()
        assert debt["fiscal_headroom_cny_bn_per_yr"].isna().all()
        assert np.isfinite(debt["debt_service_cny_bn_per_yr"]).all()
    assert np.isfinite(gap.headline.set_index("metric").loc["total_cost", "observed"])


def test_a_planning_region_without_fiscal_capacity_is_a_located_error(files):
    files.edit_frame(
        "region_attributes.csv",
        lambda f: f.loc[~((f["region"] == "320000") & (f["attribute"] == "fiscal_capacity"))],
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(files.folder)
    issue = only_issue(info.value)
    assert Path(issue.source).name == "region_attributes.csv"
    assert "region 320000" in issue.message and "fiscal_capacity" in issue.message


def test_region_table_has_every_attribute_column(default_scenario):
    s = without_fiscal_capacity(default_scenario, False)
    table = s.region_table()
    assert {"gdp", "financing_rate", "fiscal_capacity", "cost_factor"} <= set(table.columns)
    assert table["fiscal_capacity"].isna().all()


# -- data check -----------------------------------------------------------------------------


def test_data_check_without_capacity_tranches_shows_no_nan(capsys):
    assert main(["data", "check"]) == 0
    out, err = capsys.readouterr()
    assert not re.search(r"\bnan\b", out, re.IGNORECASE), out
    shares = out.split("value rows by quality flag")[1].split("Priority")[0]
    assert "capacity_tranches" not in shares
    assert err == ""


def test_quality_shares_leave_out_tables_without_rows(default_scenario):
    shares = quality_shares(default_scenario)
    assert "capacity_tranches" not in shares.index
    assert shares.notna().all().all()
    assert shares.loc["demand"].sum() == pytest.approx(1.0)


def test_data_check_lists_warnings_on_stderr_and_succeeds(files, capsys):
    line = files.set_cell("demand.csv", "value", "50000", region="320000", sector="cement")
    assert main(["data", "check", str(files.folder)]) == 0
    out, err = capsys.readouterr()
    assert "is valid (1 warning on stderr)" in out
    assert err.startswith("warning: 1 value outside the plausible range:")
    assert f"demand.csv, line {line}, column 'value': demand is outside" in err


def test_run_lists_warnings_on_stderr_and_writes_results(files, tmp_path, capsys):
    files.set_cell("demand.csv", "value", "50000", region="320000", sector="cement")
    code = main(["run", str(files.folder), "-o", str(tmp_path / "out"), "--no-report"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "warning: 1 value outside the plausible range:" in err
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_frames_with_repeated_index_labels_are_checked_row_by_row(default_scenario):
    """pd.concat without ignore_index repeats labels; each bad row is still reported once."""
    tables = default_scenario.tables()
    attrs = tables["region_attributes"]
    halves = [attrs.iloc[: len(attrs) // 2], attrs.iloc[len(attrs) // 2 :]]
    repeated = pd.concat([h.reset_index(drop=True) for h in halves])
    assert not repeated.index.is_unique
    assert scenario_from_frames(base_year=2023, **{**tables, "region_attributes": repeated})
    bad = repeated.copy()
    position = len(halves[0]) + 1  # a row whose label also names a row of the first half
    bad.iloc[position, bad.columns.get_loc("unit")] = "USD"
    bad.iloc[position, bad.columns.get_loc("source_id")] = "no-such-source"
    with pytest.raises(ScenarioError) as info:
        scenario_from_frames(base_year=2023, **{**tables, "region_attributes": bad})
    found = sorted((i.row, i.column) for i in info.value.issues)
    assert found == [("row 1", "source_id"), ("row 1", "unit")]
