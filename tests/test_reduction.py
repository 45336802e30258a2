"""Eliminating the columns that only cost (capacity through its production limit) leaves
an LP with the same optima, and the way back recovers every column, row dual and the
basis of the LP as built."""

from __future__ import annotations

import highspy
import numpy as np
import pytest
import scipy.sparse as sp

from optimizer.model.backends import highs
from optimizer.model.backends.highs_blocks import _highs
from optimizer.model.formulation import build
from optimizer.model.reduction import LPArrays, eliminate_implied_columns
from optimizer.scenario.synthetic import synthetic_scenario


@pytest.fixture(scope="module")
def grid():
    scenario, arcs = synthetic_scenario(8, 8, sectors=4, seed=2)
    lp, _ = build(scenario, "coordinated", arcs)
    return lp, highs.solve(lp, lp_method="simplex")


@pytest.fixture(scope="module")
def reduced(grid):
    lp, _ = grid
    elimination = eliminate_implied_columns(LPArrays.from_lp(lp), lp.integrality(), 1e-6)
    h = _highs(elimination.reduced, primal=False, log=False, threads=None)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return lp, elimination, h


def test_every_planned_capacity_column_and_its_production_limit_are_eliminated(reduced):
    lp, elimination, _ = reduced
    capacity = lp.variables["capacity"]
    limit = lp.constraints["production_limit"]
    planned = capacity.columns[np.isposinf(capacity.upper)]
    assert planned.size > 0
    np.testing.assert_array_equal(np.sort(elimination.eliminated), planned)
    assert set(elimination.defining_rows) <= set(limit.rows)
    shape = elimination.reduced.matrix.shape
    assert shape == (lp.n_rows - planned.size, lp.n_cols - planned.size)


def test_the_reduced_lp_has_the_optimum_of_the_lp_as_built(grid, reduced):
    _, full = grid
    _, elimination, h = reduced
    assert h.getInfo().objective_function_value == pytest.approx(full.objective, rel=1e-12)
    x = elimination.expand_primal(np.asarray(h.getSolution().col_value))
    # A unique optimum (continuous random data): the same capacity, production and flows.
    np.testing.assert_allclose(x, full.x, atol=1e-8)


def test_the_duals_mapped_back_price_every_column_of_the_lp_as_built(reduced):
    """Reduced costs c - A'y of the original LP from the mapped-back duals: zero on every
    basic column (the eliminated ones included), the reduced LP's elsewhere."""
    _, elimination, h = reduced
    sol = h.getSolution()
    y, d = elimination.expand_duals(np.asarray(sol.row_dual), np.asarray(sol.col_dual))
    original = elimination.original
    np.testing.assert_allclose(original.cost - original.matrix.T @ y, d, atol=1e-9)
    assert np.all(d[elimination.eliminated] == 0)
    # A defining row binds at every optimum: its dual is strictly negative (a <= row).
    assert np.all(y[elimination.defining_rows] < 0)


def test_the_basis_mapped_back_has_one_basic_variable_per_row(reduced):
    _, elimination, h = reduced
    basic_kept = highs.basic_mask(
        h, h.getBasis(), elimination.reduced.n_cols, elimination.reduced.n_rows
    )
    basic = elimination.expand_basic(basic_kept)
    assert basic.sum() == elimination.original.n_rows
    n = elimination.original.n_cols
    assert basic[elimination.eliminated].all()
    assert not basic[n + elimination.defining_rows].any()


def _one_column(**changes) -> LPArrays:
    """min c K + X s.t. X - K <= 0, X >= 1 (K is column 0)."""
    arrays = {
        "cost": np.array([2.0, 1.0]),
        "lower": np.zeros(2),
        "upper": np.full(2, np.inf),
        "row_lower": np.array([-np.inf, 1.0]),
        "row_upper": np.array([0.0, np.inf]),
        "matrix": sp.csc_matrix(np.array([[-1.0, 1.0], [0.0, 1.0]])),
    }
    arrays.update(changes)
    return LPArrays(**arrays)


def test_a_column_that_only_costs_through_its_defining_row_is_eliminated():
    assert eliminate_implied_columns(_one_column()).eliminated.tolist() == [0]


@pytest.mark.parametrize(
    "why, changes",
    [
        ("free of cost: any larger value is optimal too", {"cost": np.array([0.0, 1.0])}),
        ("an upper bound", {"upper": np.array([5.0, np.inf])}),
        (
            "it helps another row (positive in a >= row)",
            {
                "matrix": sp.csc_matrix(np.array([[-1.0, 1.0], [1.0, 1.0]])),
            },
        ),
        (
            "the row defines it as an equality",
            {"row_lower": np.array([0.0, 1.0])},
        ),
        (
            "the defining row's other column may be negative",
            {"lower": np.array([0.0, -1.0])},
        ),
    ],
)
def test_a_column_that_might_not_sit_on_its_defining_row_is_kept(why, changes):
    assert eliminate_implied_columns(_one_column(**changes)).eliminated.size == 0, why


def test_an_integer_column_is_never_eliminated():
    red = eliminate_implied_columns(_one_column(), integer=np.array([True, False]))
    assert red.eliminated.size == 0


def test_a_cost_within_the_tie_tolerance_keeps_the_column():
    """Its defining row's dual could be within the tie tolerance of zero: eliminating it
    could hide a tie the LP as built reports."""
    cheap = _one_column(cost=np.array([1e-7, 1.0]))
    assert eliminate_implied_columns(cheap, min_cost=1e-6).eliminated.size == 0
    assert eliminate_implied_columns(cheap).eliminated.tolist() == [0]
