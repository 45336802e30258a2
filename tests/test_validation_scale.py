"""Validation of large tables: linear in rows, the same problems as before on small
inputs, and a capped list (the first KEPT problems located, the rest counted by kind)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer
from dupopt.cli import main
from optimizer import Issue, ScenarioError, load_scenario, scenario_from_frames
from optimizer.errors import KEPT, MoreIssues, count_issues
from optimizer.scenario.readers import read_table
from optimizer.scenario.table_validation import Origin


def where(error: ScenarioError) -> list[tuple[str, str | None, str | None, str]]:
    return [(Path(i.source).name, i.row, i.column, i.message) for i in error.issues]


# -- the same problems as before on small inputs -------------------------------------------


def test_mistakes_across_tables_are_reported_in_the_same_order_as_before(files):
    """Cross-table checks (references, units, provenance, ranges), several in one row."""
    region = files.set_cell("demand.csv", "region", "990000", region="440000", sector="nev")
    unit = files.set_cell("demand.csv", "unit", "kt", region="110000", sector="nev")
    ids = files.set_cell(
        "demand.csv", "source_id", "x;;y; caam-2023", region="120000", sector="nev"
    )
    assumed = files.set_cell("demand.csv", "quality", "assumed", region="130000", sector="nev")
    files.set_cell("demand.csv", "note", "", region="130000", sector="nev")
    estimated = files.set_cell("demand.csv", "quality", "estimated", region="140000", sector="nev")
    files.set_cell("demand.csv", "note", "", region="140000", sector="nev")
    files.set_cell("demand.csv", "source_id", "", region="140000", sector="nev")
    gdp = files.set_cell(
        "region_attributes.csv", "unit", "USD bn", region="110000", attribute="gdp"
    )
    share = files.set_cell(
        "sector_parameters.csv", "value", "1.5", sector="cement", parameter="max_utilisation"
    )
    bogus = files.set_cell("regions.csv", "source_id", "bogus", region="110000")
    with pytest.raises(ScenarioError) as info:
        load_scenario(files.folder)
    usd = "unit 'USD bn' does not match; expected 'CNY bn'"
    kt = "unit 'kt' does not match; expected 'M vehicles'"
    assumption = "an assumed value must explain the assumption in note"
    method = "an estimated value must state its method in note"
    above_one = "max_utilisation is a share and must be <= 1 (got 1.5)"
    assert where(info.value) == [
        ("demand.csv", f"line {region}", "region", "unknown region '990000' (not in regions)"),
        ("region_attributes.csv", f"line {gdp}", "unit", usd),
        ("demand.csv", f"line {unit}", "unit", kt),
        ("demand.csv", f"line {ids}", "source_id", "source 'x' is not in sources"),
        ("demand.csv", f"line {ids}", "source_id", "source 'y' is not in sources"),
        ("demand.csv", f"line {assumed}", "note", assumption),
        ("demand.csv", f"line {estimated}", "source_id", "a estimated value must cite a source_id"),
        ("demand.csv", f"line {estimated}", "note", method),
        ("regions.csv", f"line {bogus}", "source_id", "source 'bogus' is not in sources"),
        ("sector_parameters.csv", f"line {share}", "value", above_one),
    ]
    assert info.value.count == 10
    assert not info.value.omitted


def test_tranche_problems_are_reported_group_by_group_as_before(default_scenario):
    """Misnumbered tranches, a cheaper later tranche and an unlimited tranche before the
    last, in three groups given out of order and under shuffled index labels."""
    tranches = pd.DataFrame(
        {
            "region": ["320000"] * 3 + ["110000"] * 3 + ["440000"] * 2,
            "sector": ["cement"] * 3 + ["nev"] * 3 + ["cement"] * 2,
            "tranche": [2, 1, 3, 1, 2, 4, 1, 2],
            "max_capacity": [np.nan, 5.0, np.nan, 1.0, np.nan, 3.0, 2.0, 2.0],
            "cost_multiplier": [1.5, 1.2, 1.1, 1.0, 0.9, 2.0, 1.0, 0.5],
            "unit": ["Mt/yr"] * 3 + ["M vehicles/yr"] * 3 + ["Mt/yr"] * 2,
            "source_id": np.nan,
            "quality": "assumed",
            "note": "test",
        },
        index=[10, 3, 7, 1, 2, 0, 5, 4],
    )
    tables = {**default_scenario.tables(), "capacity_tranches": tranches}
    with pytest.raises(ScenarioError) as info:
        scenario_from_frames(base_year=2023, **tables)
    source = "capacity_tranches (DataFrame)"
    cheaper = "a later tranche must not be cheaper than the one before (cost_multiplier falls)"
    unlimited = "only the last tranche may be unlimited (empty max_capacity)"
    assert where(info.value) == [
        (source, "row 7", "cost_multiplier", cheaper),
        (source, "row 10", "max_capacity", unlimited),
        (source, "row 1", "tranche", "tranches of 110000/nev must be numbered 1..3"),
        (source, "row 2", "cost_multiplier", cheaper),
        (source, "row 2", "max_capacity", unlimited),
        (source, "row 4", "cost_multiplier", cheaper),
    ]


# -- the cap ---------------------------------------------------------------------------------


def test_a_check_lists_the_first_problems_and_counts_the_rest_by_kind():
    """Past the limit, messages are made once per kind, not once per row."""
    origin = Origin("t.csv", lines=tuple(range(2, 12)))
    values = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
    made = []

    def message(p: int) -> str:
        made.append(p)
        kind = "odd" if p % 2 else "even"
        return f"{kind} value {values[p]!r} (got {p})"

    positions = np.array([9, 0, 1, 2, 3, 4, 5, 6])
    found = origin.issues(pd.RangeIndex(10), positions, "v", message, keys=positions % 2, limit=3)
    assert found[:3] == [
        Issue("t.csv", "odd value 'j' (got 9)", "line 11", "v"),
        Issue("t.csv", "even value 'a' (got 0)", "line 2", "v"),
        Issue("t.csv", "odd value 'b' (got 1)", "line 3", "v"),
    ]
    assert found[3:] == [
        MoreIssues("t.csv", "even value '…'", None, "v", count=3),
        MoreIssues("t.csv", "odd value '…'", None, "v", count=2),
    ]
    assert made == [9, 0, 1, 2, 3]  # the three listed, then the first of each kind


def test_a_scenario_error_keeps_the_first_problems_and_counts_them_all():
    listed = [
        Issue("d.csv", f"must be >= 0 (got {-i})", f"line {i}", "value") for i in range(KEPT + 5)
    ]
    more = MoreIssues("d.csv", "must be >= 0", column="value", count=1_000_000)
    other = MoreIssues("s.csv", "source '…' is not in sources", column="source_id", count=7)
    error = ScenarioError([*listed[:10], more, *listed[10:], other])
    assert error.issues == listed[:KEPT]
    assert error.count == KEPT + 5 + 1_000_000 + 7
    assert error.omitted == {
        ("d.csv", "value", "must be >= 0"): 1_000_005,
        ("s.csv", "source_id", "source '…' is not in sources"): 7,
    }
    lines = str(error).splitlines()
    assert lines[0] == "1,010,012 problems in the scenario:"
    assert lines[1:21] == [f"  {i}" for i in listed[:20]]
    assert lines[21:] == [
        "  ... and 1,009,992 more:",
        "    1,009,985 x d.csv, column 'value': must be >= 0",
        "    7 x s.csv, column 'source_id': source '…' is not in sources",
    ]


def test_bad_cells_of_several_kinds_keep_the_first_in_row_order_and_count_the_rest(
    default_scenario,
):
    """Non-numbers (the parser) and negative values (the schema) in 25,000 rows: the
    problems kept are the first KEPT in row order, whichever check found them."""
    tables = default_scenario.tables()
    demand = tables["demand"]
    keys = demand.loc[demand["year"] == 2023, ["region", "sector", "unit"]]
    years = pd.DataFrame({"year": np.arange(1990, 2101)})
    demand = keys.merge(years, how="cross").head(25_000)
    rng = np.random.default_rng(0)
    kind = rng.choice(["ok", "text", "negative"], size=len(demand), p=[0.1, 0.45, 0.45])
    value = np.where(kind == "text", "lots", np.where(kind == "negative", "-2", "1.5"))
    demand = demand.assign(value=value, source_id=np.nan, quality="assumed", note="test")
    with pytest.raises(ScenarioError) as info:
        scenario_from_frames(base_year=2023, **{**tables, "demand": demand})
    error = info.value
    bad = np.flatnonzero(kind != "ok")
    assert error.count == len(bad)
    expected = [
        (
            f"row {i}",
            "not a number: 'lots'" if kind[i] == "text" else "must be >= 0 (got -2.0)",
        )
        for i in bad[:KEPT]
    ]
    assert [(i.row, i.message) for i in error.issues] == expected
    text_kept = sum(kind[i] == "text" for i in bad[:KEPT])
    source = "demand (DataFrame)"
    assert error.omitted == {
        (source, "value", "not a number: '…'"): int((kind == "text").sum()) - text_kept,
        (source, "value", "must be >= 0"): int((kind == "negative").sum()) - (KEPT - text_kept),
    }


def test_records_with_the_wrong_number_of_fields_are_listed_then_counted(tmp_path):
    good, short, long = "1,2,3\n", "1,2\n", "1,2,3,4\n"
    body = [good if i % 3 == 0 else short if i % 3 == 1 else long for i in range(30_000)]
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n" + "".join(body), encoding="utf-8")
    frame, issues = read_table(path)
    assert frame is None
    listed = [i for i in issues if not isinstance(i, MoreIssues)]
    assert len(listed) == KEPT

    def fields(n: int) -> str:
        hint = "(a stray comma or an unquoted comma inside a value?)"
        return f"has {n} fields but the header has 3 {hint}"

    assert listed[:2] == [
        Issue(str(path), fields(2), "line 3"),
        Issue(str(path), fields(4), "line 4"),
    ]
    more = {i.message: i.count for i in issues if isinstance(i, MoreIssues)}
    assert more == {fields(2): 5_000, fields(4): 5_000}


# -- a large table ---------------------------------------------------------------------------


def big_scenario(folder: Path, rows: int) -> np.ndarray:
    """The shipped scenario with a demand table of ``rows`` rows over extra (non-planning)
    regions, every 5 rows: 3 in a wrong unit, 1 citing an unknown source, 1 valid.
    Returns each row's mistake ("unit", "source", "")."""
    source = optimizer.default_data_dir()
    folder.mkdir()
    for path in [source / "scenario.toml", *source.glob("*.csv")]:
        shutil.copy2(path, folder / path.name)
    regions = pd.read_csv(source / "regions.csv", dtype=str, keep_default_na=False)
    sectors = pd.read_csv(source / "sectors.csv", dtype=str, keep_default_na=False)
    years = np.arange(2004, 2024)
    per_region = len(sectors) * len(years)
    codes = np.array([f"{900000 + i:06d}" for i in range(-(-rows // per_region))])
    extra = regions.iloc[[0] * len(codes)].assign(
        region=codes, name_en="Test", in_national_planning="false", coastal="false"
    )
    pd.concat([regions, extra]).to_csv(folder / "regions.csv", index=False)
    i = np.arange(rows)
    mistake = np.array(["unit", "unit", "unit", "source", ""])[i % 5]
    unit = sectors["output_unit"].to_numpy()[i % len(sectors)]
    demand = pd.DataFrame(
        {
            "region": codes[i // per_region],
            "sector": sectors["sector"].to_numpy()[i % len(sectors)],
            "year": years[(i // len(sectors)) % len(years)],
            "value": 1.0,
            "unit": np.where(mistake == "unit", "kt", unit),
            "source_id": np.where(mistake == "source", "no-such-source", "gbt2260"),
            "quality": "estimated",
            "note": "test",
        }
    )
    base = pd.read_csv(source / "demand.csv", dtype=str, keep_default_na=False)
    pd.concat([base, demand.astype(str)]).to_csv(folder / "demand.csv", index=False)
    return np.r_[np.full(len(base), ""), mistake]


def test_a_200k_row_invalid_table_is_validated_quickly_with_its_problems_counted(tmp_path):
    mistake = big_scenario(tmp_path / "big", 200_000)
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "big")
    elapsed = time.perf_counter() - start
    error = info.value
    units, sources = int((mistake == "unit").sum()), int((mistake == "source").sum())
    assert error.count == units + sources
    # Units are checked first: the problems kept are the first KEPT wrong units.
    lines = np.flatnonzero(mistake == "unit")[:KEPT] + 2
    assert [i.row for i in error.issues] == [f"line {n}" for n in lines]
    assert {i.column for i in error.issues} == {"unit"}
    label = error.issues[0].source
    assert error.omitted == {
        (label, "unit", "unit '…' does not match; expected '…'"): units - KEPT,
        (label, "source_id", "source '…' is not in sources"): sources,
    }
    message = str(error).splitlines()
    assert message[0] == f"{units + sources:,} problems in the scenario:"
    assert message[21:] == [
        f"  ... and {units + sources - 20:,} more:",
        f"    {units - 20:,} x {label}, column 'unit': unit '…' does not match; expected '…'",
        f"    {sources:,} x {label}, column 'source_id': source '…' is not in sources",
    ]
    # Linear in rows (it took minutes when it was quadratic); generous for a busy machine.
    assert elapsed < 60


def test_implausible_values_past_the_cap_are_counted_and_the_scenario_loads(default_scenario):
    tables = default_scenario.tables()
    demand = tables["demand"]
    keys = demand.loc[demand["year"] == 2023, ["region", "sector", "unit"]]
    years = pd.DataFrame({"year": np.arange(1990, 2101)})
    demand = keys.merge(years, how="cross").head(12_000)
    demand = demand.assign(value=50_000.0, source_id=np.nan, quality="assumed", note="test")
    scenario = scenario_from_frames(base_year=2023, **{**tables, "demand": demand})
    warnings = scenario.warnings
    assert count_issues(warnings) == 12_000
    listed = [w for w in warnings if not isinstance(w, MoreIssues)]
    assert [w.row for w in listed] == [f"row {i}" for i in range(KEPT)]
    more = [w for w in warnings if isinstance(w, MoreIssues)]
    assert sum(w.count for w in more) == 12_000 - KEPT
    # One kind per unit (its plausible range is in the message), none with a row.
    units = set(demand["unit"].iloc[KEPT:])
    assert len(more) == len(units)
    assert all(sum(f" {unit} (" in w.message for w in more) == 1 for unit in units)
    assert all(w.row is None and w.column == "value" for w in more)


def test_the_cli_counts_every_implausible_value_past_the_cap(default_scenario, files, capsys):
    demand = default_scenario.demand
    keys = demand.loc[demand["year"] == 2023, ["region", "sector", "unit"]]
    years = pd.DataFrame({"year": np.arange(1990, 2101)})
    demand = keys.merge(years, how="cross").head(12_000)
    demand = demand.assign(value=50_000.0, source_id="", quality="assumed", note="test")
    files.write("demand.csv", demand)
    assert main(["data", "check", str(files.folder)]) == 0
    out, err = capsys.readouterr()
    assert "(12,000 warnings on stderr)" in out
    assert err.startswith("warning: 12,000 values outside the plausible range:\n")
    assert "  ... and 11,980 more:" in err
