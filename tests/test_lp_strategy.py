"""The LP algorithm chosen by size (dual simplex or interior point + crossover) changes
the time only: the same optimum, allocation, duals and tie verdict either way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import optimizer
from optimizer.model.backends import highs
from optimizer.model.formulation import build
from optimizer.model.lp import LinearProgram
from optimizer.scenario.synthetic import synthetic_scenario


@pytest.fixture(scope="module")
def moderate():
    """About 2,800 columns; continuous random data, so the optimum is unique."""
    return synthetic_scenario(8, 8, sectors=4, seed=2)


@pytest.fixture(scope="module")
def both(moderate):
    scenario, arcs = moderate
    return {
        method: optimizer.solve(scenario, arcs=arcs, lp_method=method)
        for method in ("simplex", "ipm")
    }


def test_simplex_and_interior_point_reach_the_same_objective(both):
    simplex, ipm = both["simplex"], both["ipm"]
    assert simplex.status.ok and ipm.status.ok
    assert ipm.objective == pytest.approx(simplex.objective, rel=1e-9)
    assert simplex.options["lp_method"] == "simplex"
    assert ipm.options["lp_method"] == "ipm"


def test_simplex_and_interior_point_give_the_same_allocation_and_shipments(both):
    simplex, ipm = both["simplex"], both["ipm"]
    # A unique optimum: crossover ends on the same vertex as simplex.
    assert simplex.alternative_optima is False and ipm.alternative_optima is False
    for table, column in (("allocation", "capacity"), ("allocation", "production")):
        a, b = simplex.tables[table], ipm.tables[table]
        pd.testing.assert_index_equal(a.index, b.index)
        np.testing.assert_allclose(b[column], a[column], rtol=1e-7, atol=1e-7)
    ship_a, ship_b = simplex.tables["shipments"], ipm.tables["shipments"]
    assert len(ship_a) == len(ship_b) > 0
    np.testing.assert_allclose(
        ship_b.select_dtypes("number").to_numpy(),
        ship_a.select_dtypes("number").to_numpy(),
        rtol=1e-7,
        atol=1e-7,
    )


def test_interior_point_keeps_the_marginal_costs_that_need_duals(both):
    simplex, ipm = both["simplex"], both["ipm"]
    a, b = simplex.tables["marginal_costs"], ipm.tables["marginal_costs"]
    assert len(a) == len(b) > 0
    np.testing.assert_allclose(
        b.select_dtypes("number").to_numpy(),
        a.select_dtypes("number").to_numpy(),
        rtol=1e-6,
        atol=1e-8,
    )


def test_auto_switches_to_interior_point_at_the_column_threshold(moderate, monkeypatch):
    scenario, arcs = moderate
    lp, _ = build(scenario, "coordinated", arcs)
    monkeypatch.setattr(highs, "IPM_MIN_COLUMNS", lp.n_cols)
    assert highs.lp_strategy(lp) == "ipm"
    assert optimizer.solve(scenario, arcs=arcs).options["lp_method"] == "ipm"
    monkeypatch.setattr(highs, "IPM_MIN_COLUMNS", lp.n_cols + 1)
    assert highs.lp_strategy(lp, "auto") == "simplex"
    assert optimizer.solve(scenario, arcs=arcs).options["lp_method"] == "simplex"


def test_interior_point_is_rendered_with_crossover_and_without_presolve():
    lp = LinearProgram()
    _ = lp.add_variables("x", pd.RangeIndex(3))
    h = highs.render(lp, lp_method="ipm")
    assert highs._option(h, "solver") == "ipm"
    assert highs._option(h, "run_crossover") == "on"
    assert highs._option(h, "presolve") == "off"
    h = highs.render(lp, lp_method="simplex")
    assert highs._option(h, "solver") == "simplex"
    assert highs._option(h, "presolve") == "off"


def test_a_milp_is_left_to_the_mip_solver_whatever_lp_method_asks():
    """HiGHS told to use simplex or interior point on a MILP would drop the integers."""
    lp = LinearProgram()
    _ = lp.add_variables("n", pd.RangeIndex(2), integer=True)
    assert highs.lp_strategy(lp, "ipm") == "mip"
    assert highs._option(highs.render(lp, lp_method="ipm"), "solver") == "choose"


def test_an_unknown_lp_method_is_refused_naming_the_parameter(moderate):
    scenario, arcs = moderate
    with pytest.raises(optimizer.ScenarioError, match="lp_method"):
        optimizer.solve(scenario, arcs=arcs, lp_method="barrier")


def test_backends_without_a_choice_of_algorithm_refuse_lp_method(moderate):
    scenario, arcs = moderate
    with pytest.raises(optimizer.ScenarioError, match="does not support lp_method"):
        optimizer.solve(scenario, arcs=arcs, backend="pulp", lp_method="ipm")
