"""Re-solving one HiGHS model for many scenarios of the same shape (hot start).

Batch runs change demand, costs, rates or limits, not the index sets. :class:`HotModel`
builds and renders the model once; :meth:`HotModel.solve` takes a scenario variant,
pushes only the costs, bounds, right-hand sides and matrix entries that differ into the
same ``highspy.Highs`` object, and re-solves from the previous basis.

Examples
--------
>>> import optimizer
>>> s = optimizer.load_scenario()
>>> hot = HotModel(s)
>>> base = hot.solve(s)
>>> tables = s.tables()
>>> tables["demand"] = tables["demand"].assign(value=tables["demand"]["value"] * 1.05)
>>> more = hot.solve(optimizer.scenario_from_frames(base_year=2023, **tables))
>>> more.objective > base.objective
True
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from optimizer.backends import highs
from optimizer.errors import DupoptError
from optimizer.formulation import build
from optimizer.lp import LinearProgram
from optimizer.results import Result, collect
from optimizer.scenario import Scenario


class StructureChanged(DupoptError):
    """The scenario variant has other index sets than the model: rebuild instead."""


class HotModel:
    """A HiGHS model kept alive across scenario variants of the same structure.

    Parameters
    ----------
    scenario
        The base scenario; its index sets (regions, sectors, arcs, years) are fixed.
    mode
        ``coordinated`` or ``observed``.
    arcs
        Transport network, as for :func:`optimizer.solve`.
    threads
        HiGHS threads (1 per worker in batches).
    """

    def __init__(
        self,
        scenario: Scenario,
        mode: str = "coordinated",
        arcs: pd.DataFrame | None = None,
        *,
        threads: int | None = 1,
        presolve: bool | None = None,
    ) -> None:
        self.mode, self.arcs = mode, arcs
        t0 = time.perf_counter()
        self.lp, self.data = build(scenario, mode, arcs)
        self.h = highs.render(self.lp, threads=threads, presolve=presolve)
        self._arrays = _arrays(self.lp)
        self.build_s = time.perf_counter() - t0

    def solve(self, scenario: Scenario | None = None) -> Result:
        """Solve ``scenario`` (default: the current data) on the kept model."""
        t0 = time.perf_counter()
        lp, data = (
            (self.lp, self.data) if scenario is None else build(scenario, self.mode, self.arcs)
        )
        if lp is not self.lp:
            self._update(lp)
            self.lp, self.data = lp, data
        update_s = time.perf_counter() - t0
        sol = highs.run(self.h)
        sol.timings["update_s"] = update_s
        return collect(self.lp, self.data, sol)

    def _update(self, lp: LinearProgram) -> None:
        if (
            lp.shape != self.lp.shape
            or any(not lp.variables[k].index.equals(b.index) for k, b in self.lp.variables.items())
            or list(lp.constraints) != list(self.lp.constraints)
        ):
            raise StructureChanged(
                "the scenario variant changes the model's index sets (regions, sectors, "
                "arcs, years or which demands and exports are positive); build a new model"
            )
        new = _arrays(lp)
        old = self._arrays
        h = self.h
        changed = np.flatnonzero(new["cost"] != old["cost"])
        if changed.size:
            h.changeColsCost(changed.size, changed, new["cost"][changed])
        changed = np.flatnonzero((new["lower"] != old["lower"]) | (new["upper"] != old["upper"]))
        if changed.size:
            h.changeColsBounds(changed.size, changed, new["lower"][changed], new["upper"][changed])
        changed = np.flatnonzero(
            (new["row_lower"] != old["row_lower"]) | (new["row_upper"] != old["row_upper"])
        )
        if changed.size:
            h.changeRowsBounds(
                changed.size, changed, new["row_lower"][changed], new["row_upper"][changed]
            )
        a_old, a_new = old["a"], new["a"]
        if not (
            np.array_equal(a_old.indptr, a_new.indptr)
            and np.array_equal(a_old.indices, a_new.indices)
        ):
            raise StructureChanged("the constraint matrix has another sparsity pattern")
        diff = np.flatnonzero(a_old.data != a_new.data)
        if diff.size:
            cols = np.searchsorted(a_new.indptr, diff, side="right") - 1
            for k, col in zip(diff, cols, strict=True):
                h.changeCoeff(int(a_new.indices[k]), int(col), float(a_new.data[k]))
        self._arrays = new


def _arrays(lp: LinearProgram) -> dict:
    lower, upper = lp.bounds()
    row_lower, row_upper = lp.row_bounds()
    a = lp.matrix("csc")
    a.sort_indices()
    return {
        "cost": lp.cost(),
        "lower": lower,
        "upper": upper,
        "row_lower": row_lower,
        "row_upper": row_upper,
        "a": a,
    }
