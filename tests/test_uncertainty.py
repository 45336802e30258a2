"""The headline carries its range: draws of the uncertain inputs (data, each with a
reason) solved on the sweep fast path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import optimizer
from dupopt.cli import main
from optimizer.analysis.uncertainty import headline_range, range_sentence, uncertain_inputs
from optimizer.errors import ScenarioError
from optimizer.sweeps.overrides import Overrides
from optimizer.sweeps.sweep_file import load_sweep

SHIPPED = optimizer.default_data_dir() / "sweeps" / "uncertainty.toml"


def _sweep_file(tmp_path: Path, vary: str, samples: int = 6) -> Path:
    path = tmp_path / "uncertainty.toml"
    path.write_text(
        f'name = "u"\ninclude_base = false\n[monte_carlo]\nsamples = {samples}\nseed = 7\n'
        f"[monte_carlo.vary]\n{vary}\n",
        encoding="utf-8",
    )
    return path


def test_the_shipped_uncertain_inputs_each_give_a_reason(default_scenario):
    table = uncertain_inputs(load_sweep(SHIPPED, default_scenario))
    assert len(table) >= 4
    assert table["reason"].str.len().min() > 40


def test_an_uncertain_input_without_a_reason_is_refused_naming_its_key(tmp_path, default_scenario):
    path = _sweep_file(tmp_path, 'demand = { distribution = "uniform", low = 0.9, high = 1.1 }')
    with pytest.raises(ScenarioError) as err:
        headline_range(default_scenario, load_sweep(path, default_scenario))
    assert "monte_carlo.vary.demand.reason" in str(err.value)


def test_the_range_is_that_of_the_draws_and_the_base_is_the_headline(tmp_path, divisible_scenario):
    """Base = the deterministic headline; each percentile is that of cold solves of the
    same draws (checked on the median of three draws; as an LP, whose optima are exact)."""
    default_scenario = divisible_scenario
    path = _sweep_file(
        tmp_path,
        'demand = { distribution = "uniform", low = 0.8, high = 1.2, reason = "test range" }',
        samples=3,
    )
    sweep = load_sweep(path, default_scenario)
    table = headline_range(default_scenario, sweep).set_index("metric")
    gap = optimizer.compare(
        optimizer.evaluate_observed(default_scenario), optimizer.solve(default_scenario)
    ).headline.set_index("metric")
    row = table.loc["cost_of_non_coordination"]
    assert row["base"] == pytest.approx(gap.loc["total_cost", "difference"], rel=1e-9)
    cold = []
    for job in sweep.jobs:
        varied = job.overrides.apply(default_scenario)
        cold.append(
            optimizer.evaluate_observed(varied).total_cost - optimizer.solve(varied).total_cost
        )
    assert row["p50"] == pytest.approx(pd.Series(cold).median(), rel=1e-9)
    assert row["min"] == pytest.approx(min(cold), rel=1e-9)
    assert row["max"] == pytest.approx(max(cold), rel=1e-9)
    assert row["samples"] == 3 and row["failed"] == 0
    assert row["base_percentile"] == pytest.approx(100 * sum(c <= row["base"] for c in cold) / 3)


def test_a_demand_only_range_brackets_the_base_case(tmp_path, default_scenario):
    """Symmetric demand draws around 1: the base case lies inside the range."""
    path = _sweep_file(
        tmp_path,
        'demand = { distribution = "uniform", low = 0.9, high = 1.1, reason = "test range" }',
        samples=12,
    )
    row = (
        headline_range(default_scenario, load_sweep(path, default_scenario))
        .set_index("metric")
        .loc["cost_of_non_coordination"]
    )
    assert row["min"] <= row["base"] <= row["max"]
    assert 0 < row["base_percentile"] < 100


def test_run_states_the_headline_with_its_range_and_writes_it(tmp_path, capsys):
    code = main(["run", "--no-report", "--samples", "4", "-o", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert "90 % of 4 draws of the uncertain inputs" in out
    saved = pd.read_parquet(tmp_path / "out" / "comparison" / "headline_range.parquet")
    assert int(saved.set_index("metric").loc["cost_of_non_coordination", "samples"]) == 4
    assert (tmp_path / "out" / "comparison" / "uncertain_inputs.parquet").exists()


def test_run_with_no_samples_gives_no_range(tmp_path, capsys):
    code = main(["run", "--no-report", "--samples", "0", "-o", str(tmp_path / "out")])
    assert code == 0
    assert "draws of the uncertain inputs" not in capsys.readouterr().out
    assert not (tmp_path / "out" / "comparison" / "headline_range.parquet").exists()


def test_the_range_sentence_names_draws_that_did_not_solve():
    t = pd.DataFrame(
        {
            "metric": ["cost_of_non_coordination"],
            "base": [1.0],
            "p05": [0.5],
            "p50": [1.0],
            "p95": [2.0],
            "base_percentile": [50.0],
            "samples": [8],
            "failed": [2],
            "unit": ["CNY bn/yr"],
        }
    )
    assert "(2 draws did not solve)" in range_sentence(t)


def test_overrides_of_a_draw_are_multipliers_on_the_scenario(default_scenario):
    """The draws are the sweep's Monte-Carlo jobs: multipliers of the scenario's figures,
    never absolute values; a model parameter (port headroom) is drawn as its value."""
    sweep = load_sweep(SHIPPED, default_scenario)
    job = next(j for j in sweep.jobs if j.kind == "monte_carlo")
    assert isinstance(job.overrides, Overrides)
    factors = {k: v for k, v in job.values.items() if not k.startswith("parameters.")}
    assert factors and all(0.5 < v < 2.0 for v in factors.values())
    assert 1.0 <= job.values["parameters.port_headroom"] <= 3.0


def test_run_refuses_an_uncertainty_file_without_reasons_before_solving(tmp_path, capsys):
    path = _sweep_file(tmp_path, 'demand = { distribution = "uniform", low = 0.9, high = 1.1 }')
    code = main(["run", "--uncertainty", str(path), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "monte_carlo.vary.demand.reason" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_with_lumpy_plants_the_range_sits_beside_the_printed_headline(tmp_path):
    """A MILP's plan may differ within its gap between two solves, so the range takes the
    base case from the headline it is printed with: the table's base is that headline to
    the last bit, and every draw's plan is within the file's gap of a cold solve of it."""
    from optimizer.analysis.uncertainty import base_metrics

    lumpy = optimizer.load_scenario()  # the shipped default: lumpy plants
    path = _sweep_file(
        tmp_path,
        'demand = { distribution = "uniform", low = 0.9, high = 1.1, reason = "test range" }\n'
        "[solver]\nmip_rel_gap = 0.001\ntime_limit = 60",
        samples=3,
    )
    sweep = load_sweep(path, lumpy)
    gap = optimizer.compare(optimizer.evaluate_observed(lumpy), optimizer.solve(lumpy))
    table = headline_range(lumpy, sweep, base=base_metrics(gap.headline)).set_index("metric")
    row = table.loc["cost_coordinated"]
    assert row["base"] == gap.headline.set_index("metric").loc["total_cost", "coordinated"]
    assert row["mip_rel_gap"] == 0.001 and row["failed"] == 0
    # Cold solves of the same draws to the same gap (at HiGHS's default 0.01 % some take
    # minutes): each plan is within 0.1 % of the optimum, so the two within 0.2 %.
    cold = []
    for job in sweep.jobs:
        h = optimizer.to_highs(job.overrides.apply(lumpy))
        h.setOptionValue("mip_rel_gap", 1e-3)
        h.run()
        assert h.getModelStatus().name == "kOptimal"
        cold.append(h.getInfo().objective_function_value)
    # No unmet demand and no weights in the shipped data: the objective is the cost.
    assert row["max"] == pytest.approx(max(cold), rel=2e-3)
    assert row["min"] == pytest.approx(min(cold), rel=2e-3)
    assert "solved to within 0.1% of its optimal cost" in range_sentence(table.reset_index())
