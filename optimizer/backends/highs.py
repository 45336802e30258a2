"""The fast path: the LinearProgram's arrays passed straight to HiGHS (highspy)."""

from __future__ import annotations

import time

import highspy
import numpy as np

from optimizer.backends import Solution
from optimizer.lp import LinearProgram
from optimizer.status import Status

_STATUS = {
    "kOptimal": Status.OPTIMAL,
    "kInfeasible": Status.INFEASIBLE,
    "kUnbounded": Status.UNBOUNDED,
    "kUnboundedOrInfeasible": Status.INFEASIBLE_OR_UNBOUNDED,
    "kTimeLimit": Status.TIME_LIMIT,
    "kIterationLimit": Status.TIME_LIMIT,
    "kSolveError": Status.NUMERICAL,
    "kPostsolveError": Status.NUMERICAL,
}


def version() -> str:
    return f"HiGHS {highspy.Highs().version()}"


def render(
    lp: LinearProgram,
    *,
    threads: int | None = None,
    presolve: bool = True,
    time_limit: float | None = None,
    log: bool = False,
) -> highspy.Highs:
    """A ``highspy.Highs`` object holding the model (kept for re-solves with new data)."""
    a = lp.matrix("csc")
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = lp.n_cols, lp.n_rows
    model.col_cost_ = lp.cost()
    model.col_lower_, model.col_upper_ = lp.bounds()
    model.row_lower_, model.row_upper_ = lp.row_bounds()
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = a.indptr
    model.a_matrix_.index_ = a.indices
    model.a_matrix_.value_ = a.data
    integer = lp.integrality()
    if integer.any():
        model.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in integer
        ]
    h = highspy.Highs()
    h.setOptionValue("output_flag", log)
    h.setOptionValue("presolve", "on" if presolve else "off")
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    h.passModel(model)
    return h


def run(h: highspy.Highs, backend: str = "highs") -> Solution:
    """Solve a rendered (or modified) HiGHS model and collect the solution."""
    t0 = time.perf_counter()
    h.run()
    solve_s = time.perf_counter() - t0
    status = _STATUS.get(h.getModelStatus().name, Status.ERROR)
    x = np.asarray(h.getSolution().col_value) if status.ok else np.zeros(h.getNumCol())
    duals = None
    if status.ok and h.getInfo().dual_solution_status == 2:  # kSolutionStatusFeasible
        duals = np.asarray(h.getSolution().row_dual)
    return Solution(
        status=status,
        objective=h.getInfo().objective_function_value if status.ok else float("nan"),
        x=x,
        row_duals=duals,
        solver="HiGHS",
        solver_version=h.version(),
        backend=backend,
        timings={"solve_s": solve_s},
        message=status.explain(),
    )


def solve(lp: LinearProgram, **options) -> Solution:
    """Render and solve with HiGHS."""
    t0 = time.perf_counter()
    h = render(lp, **options)
    build_s = time.perf_counter() - t0
    sol = run(h)
    sol.timings["render_s"] = build_s
    return sol
