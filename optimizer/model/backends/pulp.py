"""The formulation rendered as a PuLP ``LpProblem``.

Variables are named ``<block>_<labels>`` (e.g. ``capacity_110000_solar_pv_2023``) and
constraints ``<block>_<labels>``, so a modeller can find and extend them by name.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pulp

from optimizer.model.backends import Solution, within_bounds
from optimizer.model.lp import LinearProgram
from optimizer.model.solver_log import captured
from optimizer.model.status import Status

STATUS = {
    pulp.LpStatusOptimal: Status.OPTIMAL,
    pulp.LpStatusInfeasible: Status.INFEASIBLE,
    pulp.LpStatusUnbounded: Status.UNBOUNDED,
    pulp.LpStatusNotSolved: Status.ERROR,
    pulp.LpStatusUndefined: Status.INFEASIBLE_OR_UNBOUNDED,
}
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def _name(block: str, label: tuple) -> str:
    return _UNSAFE.sub("_", "_".join([block, *map(str, label)]))


def render(lp: LinearProgram) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """Build the PuLP problem; also return its variables in column order."""
    prob = pulp.LpProblem("dupopt", pulp.LpMinimize)
    columns: list[pulp.LpVariable] = []
    # PuLP >= 3.3 attaches variables to the problem; older versions construct them freely.
    new_variable = getattr(prob, "add_variable", None) or pulp.LpVariable
    for name, block in lp.variables.items():
        cat = pulp.LpInteger if block.integer else pulp.LpContinuous
        for label, lo, hi in zip(block.index, block.lower, block.upper, strict=True):
            columns.append(
                new_variable(
                    _name(name, label),
                    lowBound=float(lo) if np.isfinite(lo) else None,
                    upBound=float(hi) if np.isfinite(hi) else None,
                    cat=cat,
                )
            )
    cost = lp.cost()
    nz = np.flatnonzero(cost)
    prob.setObjective(pulp.LpAffineExpression([(columns[j], float(cost[j])) for j in nz]))
    a = lp.matrix("csr")
    senses = {"<=": pulp.LpConstraintLE, ">=": pulp.LpConstraintGE, "==": pulp.LpConstraintEQ}
    rows: list[tuple[int, pulp.LpConstraint]] = []
    for name, block in lp.constraints.items():
        for i, label in enumerate(block.index):
            row = block.start + i
            lo, hi = a.indptr[row], a.indptr[row + 1]
            if lo == hi:
                continue
            expr = pulp.LpAffineExpression(
                [
                    (columns[j], float(c))
                    for j, c in zip(a.indices[lo:hi], a.data[lo:hi], strict=True)
                ]
            )
            constraint = pulp.LpConstraint(
                expr, senses[block.sense], _name(name, label), float(block.rhs[i])
            )
            prob += constraint
            rows.append((row, constraint))
    # The constraints by row, for the duals: PuLP 3.0 renames constraints (_C1, ...), so
    # they are kept as objects rather than looked up by name.
    prob._dupopt_rows = rows
    return prob, columns


def _row_duals(lp: LinearProgram, prob: pulp.LpProblem) -> np.ndarray | None:
    """Row duals (``pi``) in the LinearProgram's row order (HiGHS's sign convention; 0 for
    a row without coefficients, which the problem skips); None where this PuLP does not
    read duals back from HiGHS."""
    out = np.zeros(lp.n_rows)
    for row, constraint in prob._dupopt_rows:
        if constraint.pi is None:
            return None
        out[row] = constraint.pi
    return out


def version() -> str:
    return f"PuLP {pulp.__version__} + HiGHS"


def solve(
    lp: LinearProgram,
    *,
    time_limit: float | None = None,
    mip_rel_gap: float | None = None,
    **_: object,
) -> Solution:
    """Render with PuLP and solve with HiGHS through PuLP's ``HiGHS`` interface."""
    t0 = time.perf_counter()
    prob, columns = render(lp)
    render_s = time.perf_counter() - t0
    # The log goes to descriptor 1, which captured() holds. Asked for as a HiGHS option:
    # msg=True in PuLP up to 3.0 calls a log-callback API that highspy >= 1.8 lacks.
    solver = pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=mip_rel_gap, output_flag=True)
    t1 = time.perf_counter()
    with captured() as log:
        prob.solve(solver)
    solve_s = time.perf_counter() - t1
    status = STATUS.get(prob.status, Status.ERROR)
    if status.ok:
        x = within_bounds(lp, [np.nan if v.varValue is None else v.varValue for v in columns])
    else:
        x = np.zeros(lp.n_cols)
    objective = float(pulp.value(prob.objective)) if status.ok else float("nan")
    # A MILP has no duals (optimizer.solve prices it with the fixed-integer LP).
    duals = _row_duals(lp, prob) if status.ok and not lp.integrality().any() else None
    return Solution(
        status,
        objective,
        x,
        duals,
        "HiGHS",
        version(),
        "pulp",
        {"render_s": render_s, "solve_s": solve_s},
        status.explain(),
        log=log.text,
    )
