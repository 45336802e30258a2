"""Each backend maps its solver's outcome into the one Status enum, with a message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.backends import get_backend
from optimizer.lp import LinearProgram
from optimizer.status import Status

BACKENDS = ["highs", "pyomo", "pulp"]
IDX = pd.MultiIndex.from_tuples([("a",)], names=["region"])


def _infeasible() -> LinearProgram:
    lp = LinearProgram()
    lp.add_variables("x", IDX, 0.0, 1.0)
    lp.add_constraints("at_least_two", IDX, [("x", [0], [0], [1.0])], ">=", 2.0)
    lp.add_objective("cost", "x", np.array([0]), np.array([1.0]))
    return lp


def _unbounded() -> LinearProgram:
    lp = LinearProgram()
    lp.add_variables("x", IDX, 0.0, np.inf)
    lp.add_constraints("at_least_one", IDX, [("x", [0], [0], [1.0])], ">=", 1.0)
    lp.add_objective("gain", "x", np.array([0]), np.array([-1.0]))
    return lp


def _tiny() -> LinearProgram:
    idx = pd.MultiIndex.from_tuples([("a",), ("b",)], names=["region"])
    lp = LinearProgram()
    lp.add_variables("x", idx)
    lp.add_constraints("cover", idx, [("x", [0, 1], [0, 1], [1.0, 1.0])], ">=", [1.0, 2.0])
    lp.add_constraints("cap", IDX, [("x", [0, 0], [0, 1], [1.0, 1.0])], "<=", 10.0)
    lp.add_objective("cost", "x", np.arange(2), np.array([3.0, 4.0]))
    return lp


@pytest.mark.parametrize("backend", BACKENDS)
def test_optimal(backend):
    sol = get_backend(backend).solve(_tiny())
    assert sol.status is Status.OPTIMAL
    assert sol.objective == pytest.approx(11.0)
    assert sol.x == pytest.approx([1.0, 2.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_infeasible(backend):
    sol = get_backend(backend).solve(_infeasible())
    assert sol.status in (Status.INFEASIBLE, Status.INFEASIBLE_OR_UNBOUNDED)
    assert "infeasible" in sol.message


@pytest.mark.parametrize("backend", BACKENDS)
def test_unbounded(backend):
    sol = get_backend(backend).solve(_unbounded())
    assert sol.status in (Status.UNBOUNDED, Status.INFEASIBLE_OR_UNBOUNDED)
    assert not sol.status.ok
    assert np.isnan(sol.objective)


@pytest.mark.parametrize("status", list(Status))
def test_every_status_explains_itself(status):
    assert len(status.explain()) > 15


def test_empty_constraint_block_adds_nothing():
    lp = LinearProgram()
    lp.add_variables("x", IDX)
    empty = pd.MultiIndex.from_tuples([], names=["region"])
    assert lp.add_constraints("none", empty, [], "<=", 0.0) is None
    assert lp.shape == (0, 1)


def test_bad_sense_is_rejected():
    lp = LinearProgram()
    lp.add_variables("x", IDX)
    with pytest.raises(ValueError, match="sense"):
        lp.add_constraints("c", IDX, [("x", [0], [0], [1.0])], "<", 1.0)
