"""Writing results: every table, a manifest, same input same output, nothing half-written."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dupopt.cli import main
from optimizer.output.results_folder import read_results, write_results


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "default"
    assert main(["run", "-o", str(out), "--no-report"]) == 0
    return out


def test_run_writes_every_table_and_a_manifest(run_dir, default_scenario):
    """`dupopt run` writes both runs, the comparison and a manifest naming the data."""
    tables = read_results(run_dir)
    assert set(tables) == {"coordinated", "observed", "comparison", "scenario"}
    assert len(tables["scenario"]["regions"]) == 34
    assert tables["scenario"]["regions"]["region"].iloc[0] == "110000"
    for mode in ("coordinated", "observed"):
        assert {"allocation", "costs", "debt", "marginal_costs", "unmet"} <= set(tables[mode])
    assert set(tables["comparison"]) == {
        "regional_gap",
        "sector_summary",
        "region_summary",
        "headline",
        "unmet",
        "fiscal_limits_exceeded",
        "decomposition",
        "non_unique",
        "headline_range",
        "uncertain_inputs",
    }
    info = json.loads((run_dir / "manifest.json").read_text())
    assert info["scenario"]["dataset_sha256"] == default_scenario.fingerprint()
    assert info["runs"]["coordinated"]["status"] == "optimal"
    assert info["runs"]["observed"]["solver"].startswith("HiGHS")
    # The headline printed and the table written agree with the objective in the manifest.
    head = tables["comparison"]["headline"].set_index("metric")
    assert head.loc["total_cost", "coordinated"] == pytest.approx(
        info["runs"]["coordinated"]["total_cost_cny_bn_per_yr"]
    )


def test_the_manifest_records_every_solver_library_and_the_log_is_kept(run_dir):
    """Versions of highspy, Pyomo and PuLP as installed; the solver log beside the results."""
    from importlib.metadata import version

    info = json.loads((run_dir / "manifest.json").read_text())
    assert info["solver_libraries"] == {
        name: version(name) for name in ("highspy", "pyomo", "pulp")
    }
    log = (run_dir / "solver.log").read_text()
    assert "=== coordinated (HiGHS" in log and "=== observed (HiGHS" in log
    assert "Objective value" in log


def test_same_input_same_output(run_dir, tmp_path):
    """A second run on the same data gives identical tables."""
    again = tmp_path / "again"
    assert main(["run", "-o", str(again), "--no-report"]) == 0
    first, second = read_results(run_dir), read_results(again)
    for group, tables in first.items():
        for name, frame in tables.items():
            pd.testing.assert_frame_equal(frame, second[group][name])


def test_csv_on_request(tmp_path, capsys):
    """--format csv writes CSV tables."""
    out = tmp_path / "csv"
    assert main(["run", "-o", str(out), "--format", "csv", "--no-report"]) == 0
    assert (out / "comparison" / "sector_summary.csv").is_file()
    assert "cost of non-coordination:" in capsys.readouterr().out


def test_failed_write_leaves_the_old_folder(tmp_path, default_scenario, monkeypatch):
    """If writing fails midway, the previous results stay as they were and no temp is left."""
    from optimizer.model import solve

    out = tmp_path / "keep"
    write_results(out, default_scenario, {"coordinated": solve(default_scenario)}, fmt="csv")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(OSError, match="disk full"):
        write_results(out, default_scenario, {"coordinated": solve(default_scenario)})
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]
