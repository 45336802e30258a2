"""Tests of the shipped scenario, its provenance, and how bad input is reported."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer import Issue, ScenarioError, load_scenario, scenario_from_frames
from optimizer.model.data import ModelData
from optimizer.scenario.summary import (
    designations,
    headline_lines,
    headline_ratios,
    national_balance,
)

# Written out rather than derived from optimizer.scenario.schema, so a schema change shows up here.
TABLES = (
    "regions",
    "sectors",
    "sector_parameters",
    "region_attributes",
    "demand",
    "markets",
    "buildout",
    "priorities",
    "sources",
    "capacity_tranches",
)
VALUE_TABLES = (
    "sector_parameters",
    "region_attributes",
    "demand",
    "markets",
    "buildout",
    "priorities",
    "capacity_tranches",
    "priority_counts",
    "ports",
    "sea_distances",
    "export_destinations",
)
SECTORS = {
    "solar_pv",
    "li_ion_battery",
    "nev",
    "industrial_robot",
    "crude_steel",
    "cement",
    "flat_glass",
    "aluminium",
}


def split_ids(value: object) -> list[str]:
    """Source ids of a ``source_id`` cell (``a;b``); none for an empty cell."""
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(";") if part.strip()]


def is_blank(value: object) -> bool:
    return not isinstance(value, str) or not value.strip()


def describe(issues: list[Issue]) -> str:
    return "\n".join(f"  {issue!r}" for issue in issues)


# -- the shipped scenario ------------------------------------------------------------------


def test_shipped_scenario_counts(default_scenario):
    """34 regions, 31 of them in national planning, 8 sectors, base year 2023."""
    s = default_scenario
    assert s.name == "default"
    assert s.base_year == 2023
    assert len(s.regions) == 34
    assert s.regions["region"].is_unique
    assert len(s.planning_regions) == 31
    assert int(s.regions["in_national_planning"].sum()) == 31
    assert len(s.sectors) == 8
    assert set(s.sectors["sector"]) == SECTORS


def test_shipped_tables_are_typed(default_scenario):
    """Values are floats, years ints and flags bools after loading."""
    s = default_scenario
    for name in VALUE_TABLES:
        frame = s.tables()[name]
        if "value" in frame:
            assert frame["value"].dtype == np.float64, name
        if "year" in frame:
            assert frame["year"].dtype == np.int64, name
    assert s.regions["in_national_planning"].dtype == bool
    assert s.priorities["designated"].dtype == bool


def test_solar_pv_designated_by_31_of_34_regions_and_by_7_provincial_documents(
    default_scenario,
):
    """Liu (2024): 31 of China's 34 provincial-level divisions designated solar PV in
    2010-2012; provincial documents are shipped for 6 (3 naming PV, 3 an umbrella term),
    the other 25 rest on the national count, and the summary says which is which."""
    d = designations(default_scenario).loc[("solar_pv", "2010-2012")]
    assert (int(d["count_designated"]), int(d["count_regions"])) == (31, 34)
    assert int(d["designated"]) == 31 and int(d["regions"]) == 34
    assert (d["by_name"], d["by_umbrella_term"], d["national_count_only"]) == (3, 3, 25)
    # The summary agrees with a direct count on the table.
    p = default_scenario.priorities
    pv = p.loc[(p["sector"] == "solar_pv") & (p["period"] == "2010-2012")]
    assert pv.loc[pv["designated"], "region"].nunique() == 31
    documented = pv.loc[pv["basis"] != "national count only"]
    assert documented["source_id"].ne("liu-2024").all()


def test_pv_capacity_is_roughly_twice_global_demand(default_scenario):
    """National PV manufacturing capacity is about twice global PV demand (2023)."""
    nb = national_balance(default_scenario)
    ratio = nb.loc["solar_pv", "capacity"] / nb.loc["solar_pv", "global_demand"]
    assert 1.8 <= ratio <= 2.6
    assert nb.loc["solar_pv", "capacity_to_global_demand"] == pytest.approx(ratio)


def test_battery_output_roughly_equals_global_demand(default_scenario):
    """2023 Li-ion battery output is about equal to global battery demand."""
    nb = national_balance(default_scenario)
    ratio = nb.loc["li_ion_battery", "output"] / nb.loc["li_ion_battery", "global_demand"]
    assert 0.8 <= ratio <= 1.25
    assert nb.loc["li_ion_battery", "output_to_global_demand"] == pytest.approx(ratio)


def test_national_balance_sums_the_buildout(default_scenario):
    """National capacity and output are the base-year sums of the provincial rows."""
    s = default_scenario
    nb = national_balance(s)
    b = s.buildout[s.buildout["year"] == s.base_year]
    for variable in ("capacity", "output"):
        totals = b[b["variable"] == variable].groupby("sector")["value"].sum()
        pd.testing.assert_series_equal(
            nb.loc[totals.index, variable], totals, check_names=False, check_index=False
        )


# -- provenance ----------------------------------------------------------------------------


def test_value_tables_are_the_tables_with_a_quality_column(default_scenario):
    """The provenance tests below cover every table that carries a quality flag."""
    with_quality = {n for n, f in default_scenario.tables().items() if "quality" in f}
    assert with_quality == set(VALUE_TABLES)


@pytest.mark.parametrize("table", VALUE_TABLES)
def test_every_value_row_is_sourced_or_an_explained_assumption(default_scenario, table):
    """Cited ids exist; reported/estimated rows cite a source; assumed rows explain why."""
    known = set(default_scenario.sources["source_id"])
    frame = default_scenario.tables()[table]
    problems = []
    for idx, row in frame.iterrows():
        ids = split_ids(row["source_id"])
        unknown = [sid for sid in ids if sid not in known]
        if unknown:
            problems.append(f"row {idx}: unknown source(s) {unknown}")
        if row["quality"] not in ("reported", "estimated", "assumed"):
            problems.append(f"row {idx}: quality {row['quality']!r}")
        elif row["quality"] == "assumed":
            if is_blank(row["note"]):
                problems.append(f"row {idx}: assumed without a note")
        elif not ids:
            problems.append(f"row {idx}: {row['quality']} without a source_id")
        if row["quality"] == "estimated" and is_blank(row["note"]):
            problems.append(f"row {idx}: estimated without a method note")
    assert not problems, f"{table}:\n" + "\n".join(problems)


def test_region_sources_exist(default_scenario):
    """Every region row cites at least one source, and every cited id is in sources."""
    known = set(default_scenario.sources["source_id"])
    for _, row in default_scenario.regions.iterrows():
        ids = split_ids(row["source_id"])
        assert ids, f"region {row['region']} cites no source"
        assert set(ids) <= known, f"region {row['region']}: {set(ids) - known}"


def test_sources_are_unique_and_complete(default_scenario):
    """Source ids are unique and every source names its publisher, title and location."""
    sources = default_scenario.sources
    assert sources["source_id"].is_unique
    for column in ("publisher", "title", "location"):
        assert not sources[column].map(is_blank).any(), column


# -- copies of the shipped data ------------------------------------------------------------


def test_copy_loads_like_the_shipped_scenario(scenario_dir, default_scenario):
    """The test copy (and the TOML file path form) load to the shipped scenario."""
    assert not list(scenario_dir.glob("*.gpkg"))
    for path in (scenario_dir, scenario_dir / "scenario.toml", str(scenario_dir)):
        assert load_scenario(path).fingerprint() == default_scenario.fingerprint()


def test_rewriting_a_csv_unchanged_keeps_the_scenario(files, default_scenario):
    """The test helper's read/write round trip does not alter what the loader sees."""
    for name in ("markets.csv", "regions.csv", "sector_parameters.csv", "sources.csv"):
        files.edit_frame(name, lambda frame: frame)
    assert load_scenario(files.folder).fingerprint() == default_scenario.fingerprint()


def test_editing_one_value_changes_the_fingerprint(files, default_scenario):
    """The fingerprint sees a changed value (so equal fingerprints mean something)."""
    files.set_cell("markets.csv", "value", "448.0", sector="solar_pv", market="global")
    changed = load_scenario(files.folder)
    assert changed.fingerprint() != default_scenario.fingerprint()
    assert changed.market("global")["solar_pv"] == 448.0


# -- bad input -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """An issue the loader must report: file basename, CSV line, column, message fragment.

    ``count`` is the number of issues the loader must report in all (one mistake should be
    reported once, not drown the user in follow-on messages).
    """

    file: str
    line: int | None
    column: str | None
    fragment: str
    count: int = 1

    @property
    def row(self) -> str | None:
        return None if self.line is None else f"line {self.line}"

    def matches(self, issue: Issue) -> bool:
        return (
            Path(issue.source).name == self.file
            and issue.row == self.row
            and issue.column == self.column
            and self.fragment in issue.message
        )


def assert_reported(error: ScenarioError, expected: Expect) -> None:
    found = [issue for issue in error.issues if expected.matches(issue)]
    assert found, f"no issue matches {expected}; got:\n{describe(error.issues)}"
    assert len(error.issues) == expected.count, describe(error.issues)
    # The rendered message carries the location too.
    assert expected.file in str(error)
    if expected.line is not None:
        assert f"{expected.file}, line {expected.line}" in str(error)


def missing_column(files):
    files.edit_frame("demand.csv", lambda f: f.drop(columns="unit"))
    return Expect("demand.csv", None, "unit", "required column is missing")


def duplicate_key(files):
    frame = files.read("markets.csv")
    twin = frame[(frame["sector"] == "nev") & (frame["market"] == "global")]
    files.write("markets.csv", pd.concat([frame, twin.assign(value="15.0")], ignore_index=True))
    # Both rows are reported; the appended one is the last line of the file.
    return Expect("markets.csv", len(frame) + 2, "sector, year, market", "duplicate key", count=2)


def unknown_region(files):
    line = files.set_cell("demand.csv", "region", "990000", region="440000", sector="nev")
    return Expect("demand.csv", line, "region", "unknown region '990000'")


def unknown_sector(files):
    line = files.set_cell(
        "buildout.csv", "sector", "wind_turbine", region="320000", sector="solar_pv"
    )
    return Expect("buildout.csv", line, "sector", "unknown sector 'wind_turbine'")


def negative_value(files):
    line = files.set_cell("demand.csv", "value", "-1.5", region="320000", sector="cement")
    return Expect("demand.csv", line, "value", "must be >= 0")


def empty_value(files):
    line = files.set_cell("region_attributes.csv", "value", "", region="420000", attribute="gdp")
    return Expect("region_attributes.csv", line, "value", "is empty")


def non_numeric_value(files):
    # A decimal comma, as a spreadsheet in a Chinese or European locale may write it.
    line = files.set_cell(
        "sector_parameters.csv", "value", "1,304", sector="solar_pv", parameter="capex"
    )
    return Expect("sector_parameters.csv", line, "value", "not a number: '1,304'")


def unit_mismatch(files):
    line = files.set_cell(
        "buildout.csv", "unit", "GW", region="320000", sector="solar_pv", variable="capacity"
    )
    return Expect("buildout.csv", line, "unit", "expected 'GW/yr'")


def non_utf8_file(files):
    line = files.row("sectors.csv", sector="cement") + 2
    text = files.line("sectors.csv", line).replace("Cement", "Cément")
    files.replace_line("sectors.csv", line, text, encoding="latin-1")
    return Expect("sectors.csv", line, None, "is not UTF-8")


def extra_field(files):
    line = files.row("markets.csv", sector="solar_pv", market="export") + 2
    files.replace_line("markets.csv", line, files.line("markets.csv", line) + ",oops")
    return Expect("markets.csv", line, None, "has 10 fields but the header has 9")


def missing_table_file(files):
    files.path("priorities.csv").unlink()
    return Expect("priorities.csv", None, None, "file not found")


def unknown_source(files):
    line = files.set_cell(
        "markets.csv", "source_id", "miit-pv-2023;no-such-report", sector="solar_pv"
    )
    return Expect("markets.csv", line, "source_id", "'no-such-report' is not in sources")


def assumed_without_note(files):
    line = files.set_cell("sector_parameters.csv", "note", "", sector="nev", parameter="asset_life")
    assert files.read("sector_parameters.csv").loc[line - 2, "quality"] == "assumed"
    return Expect("sector_parameters.csv", line, "note", "assumed value must explain")


def fraction_above_one(files):
    line = files.set_cell(
        "sector_parameters.csv", "value", "1.5", sector="cement", parameter="max_utilisation"
    )
    return Expect("sector_parameters.csv", line, "value", "must be <= 1")


def bad_region_code(files):
    line = files.set_cell(
        "region_attributes.csv", "region", "11000", region="110000", attribute="gdp"
    )
    return Expect("region_attributes.csv", line, "region", "6-digit GB/T 2260 code")


def invalid_toml(files):
    line = files.line_number("scenario.toml", "base_year")
    files.edit_text("scenario.toml", lambda t: t.replace("base_year = 2023", "base_year = = 2023"))
    return Expect("scenario.toml", None, None, f"not valid TOML: Invalid value (at line {line}")


def unknown_parameter(files):
    files.edit_text(
        "scenario.toml",
        lambda t: t.replace("[parameters]\n", "[parameters]\nstranded_wieght = 1\n"),
    )
    return Expect("scenario.toml", None, "parameters.stranded_wieght", "unknown parameter")


def negative_parameter(files):
    files.edit_text("scenario.toml", lambda t: t.replace("debt_weight = 0.0", "debt_weight = -0.5"))
    return Expect("scenario.toml", None, "parameters.debt_weight", "must be a finite number >= 0")


def unservable_sector(files):
    line = files.set_cell(
        "sector_parameters.csv", "value", "0", sector="cement", parameter="max_utilisation"
    )
    return Expect(
        "sector_parameters.csv", line, "value", "sector 'cement' has demand in 2023 that no region"
    )


def base_year_without_data(files):
    files.edit_text("scenario.toml", lambda t: t.replace("base_year = 2023", "base_year = 2030"))
    # demand.csv and buildout.csv are both reported.
    return Expect(
        "demand.csv", None, "year", "has no rows for base_year 2030 (years present: 2019", count=2
    )


def base_year_with_output_but_no_capacity(files):
    # The shipped buildout has 2024 output (the NBS series) but capacity only for 2023.
    files.edit_text("scenario.toml", lambda t: t.replace("base_year = 2023", "base_year = 2024"))
    return Expect(
        "buildout.csv",
        None,
        "year",
        "has no capacity rows for base_year 2024 (years with capacity: 2023)",
    )


def sector_missing_parameter(files):
    files.edit_frame(
        "sector_parameters.csv",
        lambda f: f[~((f["sector"] == "nev") & (f["parameter"] == "debt_share"))],
    )
    return Expect("sector_parameters.csv", None, None, "sector 'nev' has no row for debt_share")


def fractional_year(files):
    line = files.set_cell("demand.csv", "year", "2023.5", region="110000", sector="nev")
    return Expect("demand.csv", line, "year", "must be a whole number")


def bad_boolean(files):
    line = files.set_cell("regions.csv", "in_national_planning", "maybe", region="460000")
    return Expect("regions.csv", line, "in_national_planning", "must be true or false")


def unknown_quality_flag(files):
    line = files.set_cell(
        "markets.csv", "quality", "guessed", sector="li_ion_battery", market="global"
    )
    return Expect("markets.csv", line, "quality", "must be one of reported, estimated, assumed")


def reported_without_source(files):
    line = files.set_cell("markets.csv", "source_id", "", sector="li_ion_battery", market="global")
    return Expect("markets.csv", line, "source_id", "a reported value must cite a source_id")


def unknown_market(files):
    line = files.set_cell("markets.csv", "market", "global_dc", sector="solar_pv", market="global")
    return Expect("markets.csv", line, "market", "must be one of export, global, global_alt")


def unknown_priority_basis(files):
    line = files.set_cell(
        "priorities.csv", "basis", "rumour", region="360000", sector="solar_pv", period="2010-2012"
    )
    return Expect("priorities.csv", line, "basis", "must be one of provincial document")


def min_scale_above_plant_size(files):
    files.set_cell("sector_parameters.csv", "value", "1.2", sector="cement", parameter="plant_size")
    line = files.line_number("sector_parameters.csv", "cement,min_scale,")
    return Expect("sector_parameters.csv", line, "value", "min_scale of cement (1.32) exceeds")


BAD_INPUTS = [
    missing_column,
    duplicate_key,
    unknown_region,
    unknown_sector,
    negative_value,
    empty_value,
    non_numeric_value,
    unit_mismatch,
    non_utf8_file,
    extra_field,
    missing_table_file,
    unknown_source,
    assumed_without_note,
    fraction_above_one,
    bad_region_code,
    invalid_toml,
    unknown_parameter,
    negative_parameter,
    unservable_sector,
    base_year_without_data,
    base_year_with_output_but_no_capacity,
    sector_missing_parameter,
    fractional_year,
    bad_boolean,
    unknown_quality_flag,
    reported_without_source,
    min_scale_above_plant_size,
    unknown_priority_basis,
    unknown_market,
]


@pytest.mark.parametrize("breaker", BAD_INPUTS, ids=[f.__name__ for f in BAD_INPUTS])
def test_bad_input_is_reported_with_its_location(files, breaker):
    """Each kind of mistake raises ScenarioError naming its file, line, column and cause."""
    expected = breaker(files)
    with pytest.raises(ScenarioError) as info:
        load_scenario(files.folder)
    assert_reported(info.value, expected)


def test_line_numbers_count_blank_lines(files):
    """A blank line inside a CSV file does not shift the reported line numbers."""
    line = files.set_cell("markets.csv", "value", "-447", sector="solar_pv", market="global")
    files.edit_text("markets.csv", lambda t: t.replace("\n", "\n\n", 1))
    with pytest.raises(ScenarioError) as info:
        load_scenario(files.folder)
    assert_reported(info.value, Expect("markets.csv", line + 1, "value", "must be >= 0"))


def test_line_numbers_count_lines_inside_quoted_values(files):
    """A note spanning two lines (Alt+Enter in a spreadsheet) counts as two file lines."""
    frame = files.read("markets.csv")
    last = len(frame) - 1
    frame.loc[0, "note"] = "first line\nsecond line"
    frame.loc[last, "value"] = "-1"
    files.write("markets.csv", frame)
    # Header, one line per row, and the extra line inside the first row's note: the bad
    # row is the last line of the file.
    line = last + 3
    assert len(files.path("markets.csv").read_text(encoding="utf-8").splitlines()) == line
    with pytest.raises(ScenarioError) as info:
        load_scenario(files.folder)
    assert_reported(info.value, Expect("markets.csv", line, "value", "must be >= 0"))


def test_several_problems_in_several_files_are_all_reported(files):
    """Loading does not stop at the first problem: every file's problems are listed."""
    expected = [
        negative_value(files),
        fraction_above_one(files),
        unknown_source(files),
        bad_boolean(files),
        missing_table_file(files),
        negative_parameter(files),
        Expect(
            "demand.csv",
            files.set_cell("demand.csv", "value", "lots", region="510000", sector="nev"),
            "value",
            "not a number",
        ),
    ]
    with pytest.raises(ScenarioError) as info:
        load_scenario(files.folder)
    issues = info.value.issues
    for expect in expected:
        assert any(expect.matches(issue) for issue in issues), f"{expect}\n{describe(issues)}"
    assert len(issues) == len(expected), describe(issues)
    assert str(info.value).startswith(f"{len(expected)} problems in the scenario:")


def test_missing_scenario_file(tmp_path):
    """A folder without scenario.toml is reported as such, not as a crash."""
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path)


def test_failed_load_leaves_the_files_untouched(files):
    """Loading only reads: a failed load changes no byte and creates no file."""
    negative_value(files)
    non_utf8_file(files)
    before = {p.name: p.read_bytes() for p in sorted(files.folder.iterdir())}
    with pytest.raises(ScenarioError):
        load_scenario(files.folder)
    after = {p.name: p.read_bytes() for p in sorted(files.folder.iterdir())}
    assert after == before


# -- scenario_from_frames ------------------------------------------------------------------


def test_frames_round_trip_to_the_same_fingerprint(default_scenario):
    """Building a scenario from the loaded tables and parameters gives the same
    fingerprint."""
    rebuilt = scenario_from_frames(
        base_year=2023, parameters=default_scenario.parameters, **default_scenario.tables()
    )
    assert rebuilt.fingerprint() == default_scenario.fingerprint()


def test_frames_round_trip_keeps_the_tables(default_scenario):
    """Every table comes back equal (values, dtypes and order)."""
    rebuilt = scenario_from_frames(base_year=2023, **default_scenario.tables())
    for name in TABLES:
        pd.testing.assert_frame_equal(
            rebuilt.tables()[name], default_scenario.tables()[name], obj=name
        )


def test_frames_keep_the_given_name(default_scenario):
    """The ``name`` argument names the scenario."""
    rebuilt = scenario_from_frames(base_year=2023, name="policy-run", **default_scenario.tables())
    assert rebuilt.name == "policy-run"


@pytest.mark.parametrize("shift", [0, 100], ids=["range-index", "shifted-index"])
def test_bad_frame_names_table_and_index_label(default_scenario, shift):
    """A negative demand value is reported at its DataFrame index label."""
    demand = default_scenario.demand.copy()
    demand.index = demand.index + shift
    label = demand.index[7]
    demand.loc[label, "value"] = -2.0
    with pytest.raises(ScenarioError) as info:
        scenario_from_frames(base_year=2023, **{**default_scenario.tables(), "demand": demand})
    issues = info.value.issues
    assert len(issues) == 1, describe(issues)
    assert issues[0].source == "demand (DataFrame)"
    assert issues[0].row == f"row {label}"
    assert issues[0].column == "value"
    assert "must be >= 0" in issues[0].message
    assert f"demand (DataFrame), row {label}, column 'value'" in str(info.value)


def test_bad_frame_is_not_modified(default_scenario):
    """Validation works on a copy: the caller's DataFrame is left as it was."""
    demand = default_scenario.demand.copy()
    demand.loc[3, "value"] = -2.0
    snapshot = demand.copy()
    with pytest.raises(ScenarioError):
        scenario_from_frames(base_year=2023, **{**default_scenario.tables(), "demand": demand})
    pd.testing.assert_frame_equal(demand, snapshot)


def test_missing_frame_is_reported(default_scenario):
    """Leaving a table out names the missing table."""
    tables = {k: v for k, v in default_scenario.tables().items() if k != "markets"}
    with pytest.raises(ScenarioError) as info:
        scenario_from_frames(base_year=2023, **tables)
    assert [(i.source, i.column, i.message) for i in info.value.issues] == [
        ("scenario_from_frames()", "markets", "required table is missing")
    ]


def test_frames_report_every_problem(default_scenario):
    """A missing table, a bad frame and a bad parameter are reported together."""
    tables = {k: v for k, v in default_scenario.tables().items() if k != "sources"}
    regions = default_scenario.regions.copy()
    regions.loc[2, "region"] = "13000"
    with pytest.raises(ScenarioError) as info:
        scenario_from_frames(
            base_year=2023,
            parameters={"reserve_margin": -0.1},
            **{**tables, "regions": regions},
        )
    found = {(i.source, i.row, i.column) for i in info.value.issues}
    assert ("scenario_from_frames()", None, "sources") in found
    assert ("regions (DataFrame)", "row 2", "region") in found
    assert ("scenario_from_frames()", None, "parameters.reserve_margin") in found


def test_parquet_tables_are_accepted_and_located(scenario_dir):
    """A table given as Parquet loads like its CSV; its bad rows are named by index."""
    demand = pd.read_csv(scenario_dir / "demand.csv", dtype={"region": str})
    demand.to_parquet(scenario_dir / "demand.parquet", index=False)
    toml = scenario_dir / "scenario.toml"
    toml.write_text(toml.read_text().replace('"demand.csv"', '"demand.parquet"'))
    (scenario_dir / "demand.csv").unlink()
    loaded = load_scenario(scenario_dir)
    assert loaded.demand["value"].sum() == pytest.approx(demand["value"].sum())

    demand.loc[5, "value"] = -1.0
    demand.to_parquet(scenario_dir / "demand.parquet", index=False)
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_dir)
    [issue] = info.value.issues
    assert (Path(issue.source).name, issue.row, issue.column) == (
        "demand.parquet",
        "row 5",
        "value",
    )


def test_a_priorities_file_without_a_basis_column_still_loads(files):
    """The basis column is optional: an older file loads, and the summary says the basis
    of its flags is not given rather than crediting documents."""
    files.edit_frame("priorities.csv", lambda f: f.drop(columns="basis"))
    scenario = load_scenario(files.folder)
    d = designations(scenario).loc[("solar_pv", "2010-2012")]
    assert (int(d["designated"]), int(d["basis_not_given"]), int(d["by_name"])) == (31, 31, 0)
    from optimizer.scenario.summary import designation_lines

    line = next(t for t in designation_lines(scenario) if t.startswith("solar_pv 2010"))
    assert "31 of 34 regions designate it (no basis given)" in line


def _market_row(scenario, sector: str, market: str) -> pd.Series:
    m = scenario.markets
    return m.loc[(m["sector"] == sector) & (m["market"] == market)].squeeze()


def test_headline_ratios_state_each_basis_and_recompute_from_the_rows(default_scenario):
    """PV capacity is set against global demand on DC and on AC, batteries' output in the
    scope of the demand figure; every printed ratio is the quotient of its rows."""
    s = default_scenario
    h = headline_ratios(s)
    nb = national_balance(s)
    dc = _market_row(s, "solar_pv", "global")
    ac = _market_row(s, "solar_pv", "global_alt")
    assert (dc["basis"], ac["basis"]) == ("DC", "AC")
    pv_capacity = nb.loc["solar_pv", "capacity"]
    assert h.loc["solar_pv", "capacity_to_global_demand"] == pytest.approx(
        pv_capacity / dc["value"]
    )
    assert h.loc["solar_pv", "capacity_to_global_alt"] == pytest.approx(pv_capacity / ac["value"])
    demand = _market_row(s, "li_ion_battery", "global")
    consumer = _market_row(s, "li_ion_battery", "output_outside_global_scope")
    in_scope = nb.loc["li_ion_battery", "output"] - consumer["value"]
    assert in_scope == pytest.approx(860.0)  # MIIT: power 675 + storage 185 GWh
    assert h.loc["li_ion_battery", "output_in_scope_to_global_demand"] == pytest.approx(
        in_scope / demand["value"]
    )
    lines = headline_lines(s)
    assert f"= {pv_capacity / dc['value']:.2f}x" in lines[0] and "(DC, " in lines[0]
    ac_line = next(t for t in lines if t.startswith("solar_pv: global demand on another"))
    assert f"capacity {pv_capacity / ac['value']:.2f}x" in ac_line and "(AC, " in ac_line
    scope = next(t for t in lines if t.startswith("li_ion_battery: output in the scope"))
    assert scope.endswith(f"= {in_scope / demand['value']:.2f}x")


def test_a_markets_file_without_basis_still_loads_and_says_so(files):
    """The basis column is optional: older files load, and the lines say it is not stated."""
    frame = files.read("markets.csv").drop(columns="basis")
    files.write("markets.csv", frame)
    s = load_scenario(files.folder)
    line = next(t for t in headline_lines(s) if t.startswith("solar_pv: capacity"))
    assert "(basis not stated, SolarPower Europe)" in line


def test_reference_market_rows_do_not_reach_the_model(files, default_scenario):
    """Rows other than ``export`` (global demand on any basis, consumer cells) leave the
    model's inputs unchanged: dropping them gives the same exports."""
    frame = files.read("markets.csv")
    files.write("markets.csv", frame.loc[frame["market"] == "export"])
    trimmed = load_scenario(files.folder)
    before = ModelData.from_scenario(default_scenario).exports
    after = ModelData.from_scenario(trimmed).exports
    pd.testing.assert_series_equal(before, after)
