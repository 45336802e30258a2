"""The formulation rendered as a Pyomo ``ConcreteModel`` that a policy modeller can extend.

Sets are named after the index levels (``region``, ``sector``, ``year``); each variable
block becomes an indexed ``Var`` (``m.capacity[r, s, t]``), each constraint block an
indexed ``Constraint`` (``m.demand_balance[r, s, t]``), each objective term an
``Expression`` (``m.cost_capital``), and ``m.objective`` minimises their sum.
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo
import pyomo.version
from pyomo.opt import TerminationCondition

from optimizer.model.backends import Solution, within_bounds
from optimizer.model.lp import LinearProgram
from optimizer.model.solver_log import captured
from optimizer.model.status import Status

STATUS = {
    TerminationCondition.optimal: Status.OPTIMAL,
    TerminationCondition.infeasible: Status.INFEASIBLE,
    TerminationCondition.unbounded: Status.UNBOUNDED,
    TerminationCondition.infeasibleOrUnbounded: Status.INFEASIBLE_OR_UNBOUNDED,
    TerminationCondition.maxTimeLimit: Status.TIME_LIMIT,
    TerminationCondition.maxIterations: Status.TIME_LIMIT,
}
_LEVEL_SET = {"from_region": "region", "to_region": "region"}


def render(lp: LinearProgram) -> pyo.ConcreteModel:
    """Build the Pyomo model; ``m._dupopt_columns`` lists its variables in column order."""
    m = pyo.ConcreteModel(name="dupopt")
    labels: dict[str, set] = {}
    for block in [*lp.variables.values(), *lp.constraints.values()]:
        for level, values in zip(block.index.names, block.index.levels, strict=True):
            labels.setdefault(_LEVEL_SET.get(level, level), set()).update(values.tolist())
    for name, values in labels.items():
        m.add_component(name, pyo.Set(initialize=sorted(values), ordered=True))

    columns: list = []
    for name, block in lp.variables.items():
        index = pyo.Set(initialize=list(block.index), dimen=block.index.nlevels, ordered=True)
        m.add_component(f"{name}_index", index)
        lower, upper = block.lower, block.upper
        pos = {label: i for i, label in enumerate(block.index)}

        def bounds(_m, *label, _pos=pos, _lo=lower, _up=upper):
            i = _pos[label]
            return (_finite(_lo[i]), _finite(_up[i]))

        domain = pyo.Integers if block.integer else pyo.Reals
        var = pyo.Var(index, domain=domain, bounds=bounds, doc=block.doc)
        m.add_component(name, var)
        columns.extend(var[label] for label in block.index)

    a = lp.matrix("csr")
    for name, block in lp.constraints.items():
        index = pyo.Set(initialize=list(block.index), dimen=block.index.nlevels, ordered=True)
        m.add_component(f"{name}_index", index)
        pos = {label: i for i, label in enumerate(block.index)}

        def rule(_m, *label, _block=block, _pos=pos):
            i = _pos[label]
            row = _block.start + i
            lo, hi = a.indptr[row], a.indptr[row + 1]
            if lo == hi:
                return pyo.Constraint.Skip
            expr = pyo.quicksum(
                float(c) * columns[j] for c, j in zip(a.data[lo:hi], a.indices[lo:hi], strict=True)
            )
            rhs = float(_block.rhs[i])
            if _block.sense == "<=":
                return expr <= rhs
            if _block.sense == ">=":
                return expr >= rhs
            return expr == rhs

        m.add_component(name, pyo.Constraint(index, rule=rule, doc=block.doc))

    terms = []
    for term, (cols, coef) in lp.objective_terms.items():
        expr = pyo.Expression(
            expr=pyo.quicksum(float(c) * columns[j] for c, j in zip(coef, cols, strict=True))
        )
        m.add_component(f"cost_{term}", expr)
        terms.append(expr)
    m.objective = pyo.Objective(expr=sum(terms), sense=pyo.minimize)
    if not lp.integrality().any():  # a MILP has no duals to import
        m.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    m._dupopt_columns = columns
    return m


def _row_duals(lp: LinearProgram, m: pyo.ConcreteModel) -> np.ndarray:
    """Row duals in the LinearProgram's row order (HiGHS's sign convention; 0 for a row
    without coefficients, which the model skips)."""
    out = np.zeros(lp.n_rows)
    for name, block in lp.constraints.items():
        component = getattr(m, name)
        for i, label in enumerate(block.index):
            if label in component:
                out[block.start + i] = m.dual.get(component[label], 0.0)
    return out


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def version() -> str:
    return f"Pyomo {pyomo.version.version} + appsi_highs"


def solve(
    lp: LinearProgram,
    *,
    time_limit: float | None = None,
    mip_rel_gap: float | None = None,
    **_: object,
) -> Solution:
    """Render with Pyomo and solve with HiGHS through Pyomo's ``appsi_highs`` interface."""
    t0 = time.perf_counter()
    m = render(lp)
    render_s = time.perf_counter() - t0
    opt = pyo.SolverFactory("appsi_highs")
    if time_limit is not None:
        opt.config.time_limit = time_limit
    if mip_rel_gap is not None:
        opt.config.mip_gap = mip_rel_gap
    t1 = time.perf_counter()
    with captured() as log:
        # tee: the log goes to descriptor 1, which captured() holds, not the terminal.
        result = opt.solve(m, load_solutions=False, tee=True)
    solve_s = time.perf_counter() - t1
    status = STATUS.get(result.solver.termination_condition, Status.ERROR)
    x = np.zeros(lp.n_cols)
    objective = float("nan")
    duals = None
    if status.ok:
        m.solutions.load_from(result)
        x = within_bounds(lp, [np.nan if v.value is None else v.value for v in m._dupopt_columns])
        objective = float(pyo.value(m.objective))
        if hasattr(m, "dual"):
            duals = _row_duals(lp, m)
    return Solution(
        status,
        objective,
        x,
        duals,
        "HiGHS",
        version(),
        "pyomo",
        {"render_s": render_s, "solve_s": solve_s},
        status.explain(),
        log=log.text,
    )
