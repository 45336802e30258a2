"""A solve that did not reach optimality never yields a number.

Each non-optimal status is injected after a real solve (so the solver does hold a
solution) through every path: the cold solve with each backend, the hot sweep model, the
batch worker and its store, and the command line. No figure may come out of any of them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import optimizer
from dupopt.cli import main
from optimizer.model.backends import BACKENDS, highs
from optimizer.model.backends import pulp as pulp_backend
from optimizer.model.backends import pyomo as pyomo_backend
from optimizer.model.status import SolveError, Status
from optimizer.scenario.synthetic import synthetic_scenario
from optimizer.sweeps.fast_model import ParametricModel
from optimizer.sweeps.overrides import Overrides
from optimizer.sweeps.store import Store, read_store
from optimizer.sweeps.sweep_file import Job
from optimizer.sweeps.worker import SCENARIO_METRICS, run_chunk

NOT_OPTIMAL = [s for s in Status if not s.ok]


class _Always(dict):
    """A backend's status map that answers one status whatever the solver said."""

    def __init__(self, status: Status) -> None:
        super().__init__()
        self.status = status

    def get(self, key, default=None):
        return self.status


@pytest.fixture(scope="module")
def small():
    return synthetic_scenario(3, 3, sectors=2, seed=4)


def inject(monkeypatch, backend: str, status: Status) -> None:
    if backend == "highs":
        monkeypatch.setattr(highs, "model_status", lambda h: status)
    else:
        module = pyomo_backend if backend == "pyomo" else pulp_backend
        monkeypatch.setattr(module, "STATUS", _Always(status))


def assert_no_figures(result: optimizer.Result, status: Status) -> None:
    assert result.status is status
    assert math.isnan(result.objective) and math.isnan(result.total_cost)
    assert result.tables == {}
    with pytest.raises(SolveError, match=status.value.replace("_", " ")):
        _ = result.allocation
    with pytest.raises(SolveError):
        result.raise_for_status()


@pytest.mark.parametrize("status", NOT_OPTIMAL, ids=lambda s: s.value)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cold_solve_that_is_not_optimal_has_no_figures(small, monkeypatch, backend, status):
    scenario, arcs = small
    inject(monkeypatch, backend, status)
    plan = optimizer.solve(scenario, arcs=arcs, backend=backend)
    assert_no_figures(plan, status)
    observed = optimizer.evaluate_observed(scenario, arcs=arcs, backend=backend)
    assert_no_figures(observed, status)
    with pytest.raises(SolveError):
        optimizer.compare(observed, plan)


@pytest.mark.parametrize("status", NOT_OPTIMAL, ids=lambda s: s.value)
def test_the_hot_sweep_model_gives_no_figures_and_recovers(small, monkeypatch, status):
    scenario, arcs = small
    model = ParametricModel(scenario, "coordinated", arcs)
    with monkeypatch.context() as m:
        m.setattr(highs, "model_status", lambda h: status)
        bad = model.solve(Overrides.from_mapping({"demand": 1.1}))
    assert bad.status is status
    assert math.isnan(bad.objective) and math.isnan(bad.total_cost)
    assert bad.terms == {} and bad.capacity is None and bad.stranded_debt_cny_bn is None
    good = model.solve(Overrides.from_mapping({"demand": 1.1}))
    assert good.status.ok and np.isfinite(good.total_cost)


@pytest.mark.parametrize("status", NOT_OPTIMAL, ids=lambda s: s.value)
def test_the_batch_worker_records_the_status_and_stores_no_figure(
    small, monkeypatch, tmp_path, status
):
    scenario, arcs = small
    jobs = [Job("fails", "named", Overrides.from_mapping({"demand": 1.2}))]
    with monkeypatch.context() as m:
        m.setattr(highs, "model_status", lambda h: status)
        chunk = run_chunk(scenario, jobs, base_key=f"inject-{status.value}", arcs=arcs)
    row = chunk.scenarios.iloc[0]
    assert row["status"] == status.value
    assert status.value.replace("_", " ") in row["message"]
    for name, _, _ in SCENARIO_METRICS:
        assert name not in chunk.scenarios or math.isnan(row[name])
    assert chunk.costs.empty and chunk.sectors.empty and chunk.allocation.empty
    path = tmp_path / "s.duckdb"
    with Store.open(path, {"dataset_sha256": "x", "model_version": "y", "sweep": "z"}) as st:
        st.start_run("sha", "", "z", "", None, "in-process", 0)
        st.commit(chunk)
    tables = read_store(path)
    stored = tables["scenarios"].set_index("scenario").loc["fails"]
    assert stored["status"] == status.value
    assert all(math.isnan(stored[name]) for name, _, _ in SCENARIO_METRICS)
    for name in ("costs", "sectors", "allocation"):
        assert "fails" not in set(tables[name]["scenario"])


@pytest.mark.parametrize("status", NOT_OPTIMAL, ids=lambda s: s.value)
def test_the_command_line_exits_4_prints_no_figure_and_writes_nothing(
    monkeypatch, tmp_path, capsys, status
):
    inject(monkeypatch, "highs", status)
    out = tmp_path / "out"
    assert main(["run", "-o", str(out)]) == 4
    captured = capsys.readouterr()
    assert captured.out == ""
    assert status.value.replace("_", " ") in captured.err
    assert "No results were written" in captured.err and "Traceback" not in captured.err
    assert not out.exists()


def test_an_optimal_status_with_non_finite_numbers_is_numerical_trouble(small, monkeypatch):
    scenario, arcs = small
    real = highs.run

    def overflowing(h, backend="highs"):
        sol = real(h, backend)
        sol.objective = float("inf")
        return sol

    monkeypatch.setattr(highs, "run", overflowing)
    assert_no_figures(optimizer.solve(scenario, arcs=arcs), Status.NUMERICAL)
