"""The LP algorithm chosen by size (dual simplex, interior point + crossover, or the
reduced LP block by block) changes the time only: the same optimum, allocation, duals and
tie verdict whichever ran."""

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
        for method in ("simplex", "ipm", "blocks")
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
    monkeypatch.setattr(highs, "BLOCKS_MIN_COLUMNS", lp.n_cols + 1)
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


def test_blocks_reach_the_same_objective_allocation_and_marginal_costs(both):
    simplex, blocks = both["simplex"], both["blocks"]
    assert blocks.status.ok and blocks.options["lp_method"] == "blocks"
    assert blocks.objective == pytest.approx(simplex.objective, rel=1e-9)
    assert blocks.alternative_optima is False
    for table in ("allocation", "shipments", "marginal_costs"):
        a, b = simplex.tables[table], blocks.tables[table]
        assert len(a) == len(b) > 0
        np.testing.assert_allclose(
            b.select_dtypes("number").to_numpy(),
            a.select_dtypes("number").to_numpy(),
            rtol=1e-6,
            atol=1e-7,
        )


@pytest.mark.parametrize("mode", ["coordinated", "observed"])
def test_blocks_find_the_same_ties_and_agree_on_every_unique_quantity(mode):
    """The shipped data as an LP has alternative optima: blocks and simplex may stop at
    different optimal vertices, but they see the same optimal face, and every column
    outside it has one value."""
    scenario = optimizer.load_scenario("data/divisible.toml")
    lp, _ = build(scenario, mode)
    simplex = highs.solve(lp, lp_method="simplex")
    blocks = highs.solve(lp, lp_method="blocks")
    assert simplex.alternative_optima is True and blocks.alternative_optima is True
    assert blocks.objective == pytest.approx(simplex.objective, rel=1e-10)
    assert set(blocks.face.columns) == set(simplex.face.columns)
    unique = np.ones(lp.n_cols, bool)
    unique[simplex.face.columns] = False
    np.testing.assert_allclose(blocks.x[unique], simplex.x[unique], atol=1e-8)


def test_auto_solves_large_lps_that_split_by_sector_block_by_block(moderate, monkeypatch):
    scenario, arcs = moderate
    lp, _ = build(scenario, "coordinated", arcs)
    monkeypatch.setattr(highs, "BLOCKS_MIN_COLUMNS", lp.n_cols)
    assert highs.lp_strategy(lp) == "blocks"
    assert optimizer.solve(scenario, arcs=arcs).options["lp_method"] == "blocks"
    monkeypatch.setattr(highs, "BLOCKS_MIN_COLUMNS", lp.n_cols + 1)
    assert highs.lp_strategy(lp) == "simplex"


def test_an_lp_of_one_sector_is_not_solved_by_blocks(monkeypatch):
    scenario, arcs = synthetic_scenario(6, 6, sectors=1, seed=0)
    lp, _ = build(scenario, "coordinated", arcs)
    monkeypatch.setattr(highs, "BLOCKS_MIN_COLUMNS", 1)
    monkeypatch.setattr(highs, "IPM_MIN_COLUMNS", 1)
    assert highs.lp_strategy(lp) == "ipm"


def test_a_rendered_model_is_the_lp_as_built_even_where_blocks_would_solve_it(moderate):
    scenario, arcs = moderate
    lp, _ = build(scenario, "coordinated", arcs)
    h = highs.render(lp, lp_method="blocks")
    assert h.getNumCol() == lp.n_cols and h.getNumRow() == lp.n_rows


def test_a_blocks_solve_out_of_time_yields_no_number(moderate):
    scenario, arcs = moderate
    lp, _ = build(scenario, "coordinated", arcs)
    sol = highs.solve(lp, lp_method="blocks", time_limit=1e-9)
    assert not sol.status.ok
    assert np.isnan(sol.objective) and sol.row_duals is None


def test_an_infeasible_sector_makes_the_blocks_solve_infeasible():
    """Sector b's demand exceeds its only column's bound; a's is fine."""
    idx = pd.MultiIndex.from_tuples([("r", "a"), ("r", "b")], names=["region", "sector"])
    lp = LinearProgram()
    _ = lp.add_variables("x", idx, upper=np.array([10.0, 1.0]))
    lp.add_constraints("demand", idx, [("x", np.arange(2), np.arange(2), 1.0)], ">=", 2.0)
    lp.add_objective("cost", "x", np.arange(2), 1.0)
    sol = highs.solve(lp, lp_method="blocks")
    assert sol.status.value == "infeasible"
    assert np.isnan(sol.objective)
