"""Sweep files: expansion into jobs, reproducible draws, located errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from optimizer import load_scenario
from optimizer.errors import ScenarioError
from optimizer.sweeps.sweep_file import load_sweep

SWEEP = """
name = "t"
[overrides]
"parameters.debt_weight" = 0.2
[[scenarios]]
name = "pv-boom"
"demand.solar_pv" = 1.5
[grid]
demand = [0.9, 1.1]
"parameters.stranded_weight" = [0.0, 0.5, 1.0]
[monte_carlo]
samples = 5
seed = 11
[monte_carlo.vary]
export = { distribution = "uniform", low = 0.5, high = 1.0 }
cost_factor = { distribution = "lognormal", median = 1.0, sigma = 0.1, independent = true }
"""


def _write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def sweep(tmp_path, default_scenario):
    return load_sweep(_write(tmp_path, SWEEP), scenario=default_scenario)


def test_jobs_are_base_named_grid_and_samples(sweep, default_scenario):
    names = [j.name for j in sweep.jobs]
    assert names[:2] == ["base", "pv-boom"]
    assert names[2:8] == [f"grid-{k:04d}" for k in range(1, 7)]
    assert names[8:] == [f"mc-{k:04d}" for k in range(1, 6)]
    kinds = {j.kind for j in sweep.jobs}
    assert kinds == {"base", "named", "grid", "monte_carlo"}
    # the sweep-wide overrides reach every job
    assert all(j.overrides.parameters.get("debt_weight") == 0.2 for j in sweep.jobs)
    grid = {j.name: j.values for j in sweep.jobs if j.kind == "grid"}
    assert grid["grid-0001"] == {"demand": 0.9, "parameters.stranded_weight": 0.0}
    assert grid["grid-0006"] == {"demand": 1.1, "parameters.stranded_weight": 1.0}
    # independent draws: one multiplier per planning region
    mc = sweep.jobs[-1]
    cf = {k for k in mc.values if k.startswith("cost_factor.")}
    assert len(cf) == len(default_scenario.planning_regions)
    assert len({mc.values[k] for k in cf}) == len(cf)
    assert sweep.seed == 11


def test_draws_repeat_and_do_not_depend_on_the_sample_count(tmp_path, sweep, default_scenario):
    again = load_sweep(_write(tmp_path, SWEEP, "again.toml"), scenario=default_scenario)
    more = load_sweep(
        _write(tmp_path, SWEEP.replace("samples = 5", "samples = 9"), "more.toml"),
        scenario=default_scenario,
    )
    first = [j.values for j in sweep.jobs if j.kind == "monte_carlo"]
    assert first == [j.values for j in again.jobs if j.kind == "monte_carlo"]
    assert first == [j.values for j in more.jobs if j.kind == "monte_carlo"][:5]
    other = load_sweep(
        _write(tmp_path, SWEEP.replace("seed = 11", "seed = 12"), "other.toml"),
        scenario=default_scenario,
    )
    assert first != [j.values for j in other.jobs if j.kind == "monte_carlo"]
    exports = [v["export"] for v in first]
    assert all(0.5 <= e <= 1.0 for e in exports)


def test_a_negative_draw_becomes_a_failed_job_not_an_error(tmp_path, default_scenario):
    text = """
    [monte_carlo]
    samples = 40
    seed = 1
    [monte_carlo.vary]
    demand = { distribution = "normal", mean = 1.0, sd = 0.6 }
    """
    s = load_sweep(_write(tmp_path, text), scenario=default_scenario)
    bad = [j for j in s.jobs if j.error]
    assert bad and all("demand drawn -" in j.error for j in bad)
    good = [j for j in s.jobs if j.kind == "monte_carlo" and not j.error]
    assert all(j.values["demand"] >= 0 for j in good)
    assert np.isclose(np.mean([j.values["demand"] for j in s.jobs[1:]]), 1.0, atol=0.3)


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("nme = 'x'\n[grid]\ndemand = [1.0]", "nme", "unknown key"),
        ("[[scenarios]]\n'demand.solar_pv' = 1.2", "scenarios[1].name", "needs a name"),
        ("[[scenarios]]\nname = 'base'\ndemand = 1.1", "scenarios[1]", "reserved"),
        (
            "[[scenarios]]\nname = 'a'\ndemand = 1.1\n[[scenarios]]\nname = 'a'\ndemand = 1.2",
            "name",
            "more than once",
        ),
        (
            "[[scenarios]]\nname = 'a'\n'demand.solar' = 1.2",
            "scenarios[1].demand.solar",
            "unknown sector",
        ),
        ("[grid]\ndemand = [1.0, -2.0]", "grid.demand", ">= 0"),
        ("[grid]\ndemand = []", "grid.demand", "non-empty list"),
        (
            "[monte_carlo]\nsamples = 3\nseed = 1\n[monte_carlo.vary]\n"
            "demand = { distribution = 'gauss', mean = 1.0, sd = 0.1 }",
            "monte_carlo.vary.demand.distribution",
            "unknown distribution",
        ),
        (
            "[monte_carlo]\nsamples = 3\nseed = 1\n[monte_carlo.vary]\n"
            "demand = { distribution = 'uniform', low = 1.2, high = 1.0 }",
            "monte_carlo.vary.demand",
            "low <= high",
        ),
        (
            "[monte_carlo]\nsamples = 3\n[monte_carlo.vary]\n"
            "demand = { distribution = 'uniform', low = 0.9, high = 1.0 }",
            "monte_carlo.seed",
            "recorded",
        ),
        (
            "[monte_carlo]\nsamples = 3\nseed = 1\n[monte_carlo.vary]\n"
            "'demand.solar_pv' = { distribution = 'uniform', low = 0.9, high = 1.0, "
            "independent = true }",
            "monte_carlo.vary.demand.solar_pv",
            "whole target",
        ),
        ("include_base = false", None, "no scenarios"),
        ("[solver]\ngap = 0.1", "solver.gap", "unknown key (known: mip_rel_gap, time_limit)"),
        ("[solver]\ntime_limit = 0", "solver.time_limit", "must be a number > 0"),
        ("[solver]\nmip_rel_gap = 2.0", "solver.mip_rel_gap", "<= 1"),
        ("[solver]\nmip_rel_gap = 'tight'", "solver.mip_rel_gap", "must be a number"),
        ("solver = 3", "solver", "must be a table"),
    ],
)
def test_bad_sweep_files_name_file_and_key(tmp_path, default_scenario, text, column, fragment):
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_sweep(path, scenario=default_scenario)
    issues = info.value.issues
    assert any(i.column == column and fragment in i.message for i in issues), issues
    assert all(i.source.endswith("sweep.toml") for i in issues)


def test_toml_syntax_errors_give_the_line(tmp_path, default_scenario):
    path = _write(tmp_path, "name = 't'\n[grid\ndemand = [1.0]\n")
    with pytest.raises(ScenarioError) as info:
        load_sweep(path, scenario=default_scenario)
    assert "line 2" in str(info.value)


def test_solver_options_reach_every_variant(tmp_path):
    """[solver] applies to each variant's solve: a lumpy-plant MILP given 1 ms cannot
    prove its plan, so every variant is recorded as stopped by the time limit (with no
    figure); the same variant without the limit solves."""
    from optimizer.sweeps.worker import run_chunk

    lumpy = load_scenario()  # the shipped default: lumpy plants
    path = _write(
        tmp_path, "[solver]\ntime_limit = 0.001\nmip_rel_gap = 0.01\n[grid]\ndemand = [0.9, 1.1]"
    )
    sweep = load_sweep(path, scenario=lumpy)
    assert sweep.solver == {"time_limit": 0.001, "mip_rel_gap": 0.01}
    out = run_chunk(lumpy, sweep.jobs, base_key="solver-test", ties=False, **sweep.solver)
    rows = out.scenarios.set_index("scenario")
    assert set(rows["status"]) == {"time_limit"}
    free = run_chunk(lumpy, sweep.jobs[:1], base_key="solver-test", ties=False, mip_rel_gap=0.01)
    assert (free.scenarios["status"] == "done").all()
