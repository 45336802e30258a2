"""The batch report of a sweep store: tables against direct computations, files, escaping,
edge cases (no or one done scenario) and the atomic replacement of the report folder."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from geo.reports import sweep_report as batch_report
from geo.reports.sweep_report import BatchReportError, render_batch_report
from optimizer.analysis import sweep_statistics
from optimizer.analysis.comparison import CAPACITY_EPS
from optimizer.sweeps.driver import run_sweep
from optimizer.sweeps.store import read_store
from optimizer.sweeps.sweep_file import load_sweep

SWEEP = """\
name = "t"
[grid]
demand = [0.9, 1.1]
[monte_carlo]
samples = 6
seed = 1
[monte_carlo.vary]
cost_factor = { distribution = "uniform", low = 0.8, high = 1.2, independent = true }
"""


def _run(folder: Path, text: str, name: str = "s") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sweep.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    store = folder / f"{name}.duckdb"
    run_sweep(load_sweep(folder / "sweep.toml"), store, workers=0, progress=False)
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("batch"), SWEEP)


@pytest.fixture(scope="module")
def report(store) -> Path:
    return render_batch_report(store)


@pytest.fixture(scope="module")
def tables(store) -> dict[str, pd.DataFrame]:
    return read_store(store)


def _sql(store: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _text(html: str) -> str:
    """The page's visible text with entities decoded (no styles or scripts)."""
    import html as html_lib

    body = re.sub(r"<style>.*?</style>|<script>.*?</script>", "", html, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", "", body))


def test_report_folder_and_files(store, report):
    """Default folder next to the store; every image and CSV linked from the page exists;
    nothing is loaded from the network."""
    assert report == store.with_suffix("") / "report.html"
    html = report.read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)"', html)
    assert {Path(i).stem for i in images} == {
        "metrics",
        "drivers",
        "regions_with_capacity",
        "robustness",
        "stranded_debt",
    }
    links = re.findall(r'href="([^"#]+)"', html)
    for target in [*images, *links]:
        assert (report.parent / target).stat().st_size > 0, target
    assert any(link.endswith("robustness.csv") for link in links)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert not list(store.parent.glob(".batch-report-*"))  # no temporary folder left


def test_robustness_equals_sql(store, tables):
    """Shares per (region, sector, year) cell equal a direct SQL count over the done
    scenarios."""
    robust = sweep_statistics.robustness(tables)
    n_done = _sql(store, "SELECT count(*) FROM scenarios WHERE status = 'done'")[0][0]
    assert (robust["scenarios"] == n_done).all()
    cells = tables["allocation"][["region", "sector", "year"]].drop_duplicates()
    assert len(robust) == len(cells)
    partial = robust.loc[robust["share_coordinated"].between(0.01, 0.99)]
    assert len(partial) >= 2, "the fixture should give shares strictly between 0 and 1"
    cells = [*partial.iloc[[0, -1]].itertuples(), *robust.iloc[[0]].itertuples()]
    for row in cells:
        for mode in ("coordinated", "observed"):
            expected = _sql(
                store,
                "SELECT count(*) FILTER (WHERE a.capacity > ?) / count(DISTINCT s.scenario) "
                "FROM scenarios s LEFT JOIN allocation a ON a.scenario = s.scenario "
                "AND a.mode = ? AND a.region = ? AND a.sector = ? AND a.year = ? "
                "WHERE s.status = 'done'",
                [CAPACITY_EPS, mode, row.region, row.sector, row.year],
            )[0][0]
            assert getattr(row, f"share_{mode}") == pytest.approx(expected), (row, mode)
    # The observed buildout is fixed: every share is 0 or 1.
    assert set(robust["share_observed"].unique()) <= {0.0, 1.0}


def test_distribution_equals_numpy(tables):
    """Count, mean, extremes and percentiles of each money metric equal numpy's."""
    dist = sweep_statistics.metric_distribution(tables).set_index("metric")
    done = tables["scenarios"].loc[tables["scenarios"]["status"] == "done"]
    assert "cost_of_non_coordination" in dist.index
    assert "unmet_sectors_observed" not in dist.index  # a count, not money
    for metric, row in dist.iterrows():
        values = done[metric].to_numpy(dtype=float)
        assert row["count"] == len(values)
        assert row["mean"] == pytest.approx(values.mean())
        assert row["min"] == values.min() and row["max"] == values.max()
        for column, q in (("p5", 5), ("p25", 25), ("median", 50), ("p75", 75), ("p95", 95)):
            assert row[column] == pytest.approx(np.percentile(values, q)), (metric, column)
        assert row["unit"] in ("CNY bn", "CNY bn/yr")


def test_headline_numbers_equal_the_tables(store, report, tables):
    """The headline states the range and median of the cost of non-coordination, the
    stranded debt medians and the tie share, as computed from the store."""
    text = _text(report.read_text(encoding="utf-8"))
    cost = np.array([r[0] for r in _sql(store, "SELECT cost_of_non_coordination FROM scenarios")])
    sentence = (
        f"Across {len(cost)} done scenarios (of {len(cost)} in the store) the cost of "
        f"non-coordination in 2023 ranged from CNY {cost.min():,.1f} to CNY "
        f"{cost.max():,.1f} bn/yr (median {np.median(cost):,.1f})."
    )
    assert sentence in text
    debt = np.array([r[0] for r in _sql(store, "SELECT stranded_debt_observed FROM scenarios")])
    assert f"Debt tied to stranded capacity in 2023: median CNY {np.median(debt):,.1f} bn" in text
    tied = _sql(store, "SELECT count(*) FILTER (WHERE alternative_optima) FROM scenarios")[0][0]
    assert f"Ties: {tied} of {len(cost)} done scenarios" in text
    # The sweep file is shown, and the distribution table's CSV matches the function.
    assert 'cost_factor = { distribution = "uniform"' in text
    csv = pd.read_csv(report.parent / "tables" / "distribution.csv")
    expected = sweep_statistics.metric_distribution_by_kind(tables)
    np.testing.assert_allclose(csv["median"], expected["median"])
    assert list(csv["kind"].unique()) == [
        k for k in sweep_statistics.KINDS if k in set(tables["scenarios"]["kind"])
    ]


def test_regional_ranges_equal_pandas(tables):
    """Per region and year, min / median / max of the stranded debt summed over sectors,
    across done scenarios."""
    ranges = sweep_statistics.regional_ranges(tables).set_index(["region", "year"])
    alloc = tables["allocation"]
    per = (
        alloc.loc[alloc["mode"] == "observed"]
        .groupby(["region", "year", "scenario"])["stranded_debt_cny_bn"]
        .sum()
        .unstack()
    )
    for region in ("130000", "440000"):
        values = per.loc[(region, 2023)].to_numpy()
        row = ranges.loc[(region, 2023)]
        assert row["debt_observed_min"] == pytest.approx(values.min())
        assert row["debt_observed_median"] == pytest.approx(np.median(values))
        assert row["debt_observed_range"] == pytest.approx(values.max() - values.min())


def test_markup_from_the_store_is_escaped(store, tmp_path):
    """A failure message, sweep text and sweep name with markup appear escaped only."""
    evil = tmp_path / "evil.duckdb"
    shutil.copy(store, evil)
    con = duckdb.connect(str(evil))
    try:
        con.execute(
            "UPDATE scenarios SET status = 'error', message = ? WHERE scenario = 'mc-0006'",
            ["<script>alert('x')</script> & more"],
        )
        for table in ("sectors", "allocation", "costs"):
            con.execute(f"DELETE FROM {table} WHERE scenario = 'mc-0006'")
        con.execute("UPDATE sweep_files SET text = text || '# </pre><b onmouseover=x>hi</b>'")
        con.execute("UPDATE meta SET value = '<i>t</i>' WHERE key = 'sweep'")
    finally:
        con.close()
    report = render_batch_report(evil, tmp_path / "out")
    html = report.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in html
    assert "# &lt;/pre&gt;&lt;b onmouseover=x&gt;hi&lt;/b&gt;" in html
    assert "Batch sweep: &lt;i&gt;t&lt;/i&gt;" in html
    assert "<script>alert" not in html and "<b onmouseover" not in html and "<i>t" not in html
    text = _text(html)
    assert "1 of 9 scenario was not solved (error 1)" in text
    failures = pd.read_csv(report.parent / "tables" / "failures.csv")
    assert failures["scenario"].tolist() == ["mc-0006"]
    robust = pd.read_csv(report.parent / "tables" / "robustness.csv")
    assert (robust["scenarios"] == 8).all()


def test_store_without_done_scenarios(tmp_path):
    """Every variant fails (negative draws): the report renders, says so, draws no maps."""
    store = _run(
        tmp_path,
        """\
        name = "none"
        include_base = false
        [monte_carlo]
        samples = 3
        seed = 0
        [monte_carlo.vary]
        demand = { distribution = "normal", mean = -1.0, sd = 0.1 }
        """,
    )
    report = render_batch_report(store)
    html = report.read_text(encoding="utf-8")
    assert "<img" not in html
    assert not list((report.parent / "figures").iterdir())
    text = _text(html)
    assert "No scenario in this store has results: 0 of 3 scenarios are done" in text
    failures = pd.read_csv(report.parent / "tables" / "failures.csv")
    assert len(failures) == 3 and failures["message"].str.contains("invalid draw").all()
    assert len(pd.read_csv(report.parent / "tables" / "robustness.csv")) == 0


def test_store_with_one_done_scenario(tmp_path):
    """One scenario: shares are 0 or 1, the headline says 'the one done scenario'."""
    store = _run(tmp_path, 'name = "one"\n')
    tables = read_store(store)
    robust = sweep_statistics.robustness(tables)
    alloc = tables["allocation"]
    keys = ["region", "sector", "year"]
    built = alloc.loc[alloc["mode"] == "coordinated"].set_index(keys)["capacity"]
    got = robust.set_index(keys)["share_coordinated"]
    pd.testing.assert_series_equal(
        got.sort_index(), (built > CAPACITY_EPS).astype(float).sort_index(), check_names=False
    )
    report = render_batch_report(store, tmp_path / "one-report")
    text = _text(report.read_text(encoding="utf-8"))
    cost = tables["scenarios"]["cost_of_non_coordination"].iloc[0]
    assert (
        "In the one done scenario (of 1 in the store) the cost of non-coordination in 2023 "
        f"is CNY {cost:,.1f} bn/yr." in text
    )
    assert (report.parent / "figures" / "robustness.png").stat().st_size > 0


def test_refuses_to_replace_other_files(store, tmp_path):
    """A folder with other files, or the store's own folder, is never replaced."""
    other = tmp_path / "busy"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(BatchReportError, match=r"notes\.txt"):
        render_batch_report(store, other)
    assert (other / "notes.txt").read_text() == "keep me"
    with pytest.raises(BatchReportError, match="store"):
        render_batch_report(store, store.parent)
    assert store.is_file()


def test_interrupted_render_keeps_the_previous_report(report, tmp_path, monkeypatch):
    """A render that fails half-way leaves the previous report as it was, and no
    temporary folder."""
    out = tmp_path / "rep"
    shutil.copytree(report.parent, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise RuntimeError("killed while drawing")

    monkeypatch.setattr(batch_report, "robustness_maps", broken)
    store = report.parent.with_suffix(".duckdb")
    with pytest.raises(RuntimeError, match="killed"):
        render_batch_report(store, out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_a_sweep_of_another_scenario_is_reported_with_its_own_sectors(tmp_path):
    """The store records the base scenario's sector names and units; statistics and the
    report use them, not the shipped dataset's."""
    from optimizer.scenario.synthetic import synthetic_scenario
    from optimizer.sweeps.sweep_file import load_sweep

    scenario, arcs = synthetic_scenario(2, 2, sectors=2, seed=1)
    import optimizer

    tables = scenario.tables()
    tables["sectors"] = tables["sectors"].assign(name=["Widgets", "Gadgets"])
    own = optimizer.scenario_from_frames(base_year=2023, **tables)
    sweep_file = tmp_path / "own.toml"
    sweep_file.write_text('name = "own"\n[grid]\ndemand = [0.9, 1.1]\n')
    store = tmp_path / "own.duckdb"
    run_sweep(load_sweep(sweep_file, own), store, workers=0, progress=False, arcs=arcs)
    stored = read_store(store)
    assert sweep_statistics.sector_units(stored) == {"sector_0": "Mt/yr", "sector_1": "Mt/yr"}
    ranges = sweep_statistics.stranded_capacity_ranges(stored)
    assert len(ranges) and set(ranges["capacity_unit"]) == {"Mt/yr"}
    html = render_batch_report(store).read_text(encoding="utf-8")
    assert "Widgets" in html and "Gadgets" in html
    assert "shipped dataset" not in html


def test_distributions_split_by_kind_with_the_base_case_marked(tables):
    """The histogram counts the Monte-Carlo draws only; grid points are marked apart and
    the base case is a line at its own value."""
    done = sweep_statistics.done_scenarios(tables)
    fig = batch_report.metric_figure(done)
    ax = fig.axes[0]
    counted = sum(p.get_height() for p in ax.patches)
    assert counted == (done["kind"] == "monte_carlo").sum()
    base = float(done.loc[done["kind"] == "base", "cost_of_non_coordination"].iloc[0])
    lines = {line.get_label(): line.get_xdata()[0] for line in ax.get_lines()}
    assert lines[f"base case ({base:,.1f})"] == pytest.approx(base)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"grid points ({(done['kind'] == 'grid').sum()})" in labels
    assert fig.get_suptitle().startswith(f"Cost of non-coordination: base case {base:,.1f}")


def test_drivers_rank_the_inputs_by_how_far_they_move_the_headline(tables, report):
    """The driver table fits the Monte-Carlo draws: its swings are ordered by size, and
    the tornado chart and its table are on the page."""
    table = sweep_statistics.drivers(tables)
    assert not table.empty
    assert table["draws"].iloc[0] == (tables["scenarios"]["kind"] == "monte_carlo").sum()
    swings = table["swing"].abs().to_numpy()
    assert (np.diff(swings) <= 1e-12).all()
    assert np.allclose(table["metric_high"] - table["metric_low"], table["swing"])
    assert set(table["input"]) == {"cost_factor", "cost_factor (spread across 31 draws)"}
    html = report.read_text(encoding="utf-8")
    assert 'id="drivers"' in html and "figures/drivers.png" in html
    saved = pd.read_csv(report.parent / "tables" / "drivers.csv")
    np.testing.assert_allclose(saved["swing"], table["swing"])


def test_single_file_sweep_report(store, tmp_path):
    out = render_batch_report(store, tmp_path / "one", single_file=True)
    html = out.read_text(encoding="utf-8")
    assert not (out.parent / "figures").exists()
    images = re.findall(r'<img src="([^"]+)"', html)
    assert images and all(i.startswith("data:image/png;base64,") for i in images)
    assert all(h.startswith("data:") for h in re.findall(r'href="([^"#][^"]*)"', html))
