"""The public model API: solve the coordinated plan, evaluate the observed buildout, or
hand the model over to Pyomo, PuLP or HiGHS to extend.

Examples
--------
>>> import optimizer
>>> scenario = optimizer.load_scenario()
>>> plan = optimizer.solve(scenario)
>>> observed = optimizer.evaluate_observed(scenario)
>>> plan.status.value, observed.status.value
('optimal', 'optimal')
>>> observed.total_cost > plan.total_cost
True
"""

from __future__ import annotations

import time

import pandas as pd

from optimizer.errors import Issue, ScenarioError
from optimizer.model.backends import BACKENDS, LP_METHODS, MIP_REL_GAP, REGISTRY, get_backend
from optimizer.model.formulation import build
from optimizer.model.results import Result, collect
from optimizer.scenario.scenario import Scenario


def solve(
    scenario: Scenario,
    *,
    backend: str = "highs",
    arcs: pd.DataFrame | None = None,
    time_limit: float | None = None,
    mip_rel_gap: float | None = None,
    presolve: bool | None = None,
    threads: int | None = None,
    lp_method: str | None = None,
) -> Result:
    """Solve the coordinated allocation: where should capacity be?

    Parameters
    ----------
    scenario
        A validated scenario (:func:`optimizer.load_scenario`).
    backend
        ``highs`` (default, fastest), ``pyomo`` or ``pulp``; all solve with HiGHS and give
        the same optimum.
    arcs
        Transport network (``from_region``, ``to_region``, ``distance_km``); default: the
        shipped province network from :mod:`geo`.
    time_limit
        Seconds before the solver stops (status ``time_limit``).
    mip_rel_gap
        With lumpy plants (a MILP): stop once the plan's cost is proven within this
        fraction of the optimum; default :data:`~optimizer.model.backends.MIP_REL_GAP`
        (1e-4), recorded in ``Result.options``. Ignored for an LP.
    presolve, threads
        HiGHS options (highs backend only). ``presolve=None`` chooses by measurement:
        off for LPs, on for MILPs.
    lp_method
        HiGHS's LP algorithm (highs backend only): ``simplex`` (dual simplex), ``ipm``
        (interior point, then crossover to a basic solution), ``blocks`` (capacity
        columns eliminated, each sector alone, then the whole LP from the combined
        basis) or ``auto`` (None: by size,
        :func:`~optimizer.model.backends.highs.lp_strategy`). The optimum is the same;
        only the time differs. A MILP's own solve ignores it (its fixed
        and relaxed LPs use it).

    Returns
    -------
    Result
        Status, objective and tidy result tables.
    """
    return _run(
        scenario,
        "coordinated",
        backend,
        arcs,
        time_limit,
        mip_rel_gap,
        presolve,
        threads,
        lp_method,
    )


def evaluate_observed(
    scenario: Scenario,
    *,
    backend: str = "highs",
    arcs: pd.DataFrame | None = None,
    time_limit: float | None = None,
    mip_rel_gap: float | None = None,
    presolve: bool | None = None,
    threads: int | None = None,
    lp_method: str | None = None,
) -> Result:
    """Run the same model with capacity fixed to the observed buildout.

    The LP finds the best use of the capacity that exists, so stranded capacity, debt
    and cost are measured on the same terms as the coordinated plan (the options are
    those of :func:`solve`). Fixed capacity cannot
    be held to the fiscal limit: observed debt service may exceed it (the
    ``fiscal_limits_exceeded`` table says where and by how much), and the plan may then
    borrow as much as the observed buildout in that region, so both obey the same rules.
    """
    return _run(
        scenario,
        "observed",
        backend,
        arcs,
        time_limit,
        mip_rel_gap,
        presolve,
        threads,
        lp_method,
    )


def _run(
    scenario, mode, backend, arcs, time_limit, mip_rel_gap, presolve, threads, lp_method=None
) -> Result:
    if backend not in BACKENDS:
        raise ScenarioError(
            [
                Issue(
                    "solve()",
                    f"unknown backend {backend!r} (use one of {', '.join(BACKENDS)})",
                    None,
                    "backend",
                )
            ]
        )
    if time_limit is not None and not time_limit > 0:
        raise ScenarioError(
            [
                Issue(
                    "solve()",
                    f"time_limit must be > 0 seconds, got {time_limit!r}",
                    None,
                    "time_limit",
                )
            ]
        )
    if lp_method is not None and lp_method not in LP_METHODS:
        raise ScenarioError(
            [
                Issue(
                    "solve()",
                    f"unknown lp_method {lp_method!r} (use one of {', '.join(LP_METHODS)})",
                    None,
                    "lp_method",
                )
            ]
        )
    if mip_rel_gap is None:
        mip_rel_gap = MIP_REL_GAP
    elif not 0 <= mip_rel_gap < 1:
        raise ScenarioError(
            [
                Issue(
                    "solve()",
                    f"mip_rel_gap must be in [0, 1), got {mip_rel_gap!r}",
                    None,
                    "mip_rel_gap",
                )
            ]
        )
    try:
        options = REGISTRY[backend].options(
            time_limit=time_limit,
            mip_rel_gap=mip_rel_gap,
            presolve=presolve,
            threads=threads,
            lp_method=lp_method,
        )
    except ValueError as exc:
        raise ScenarioError([Issue("solve()", str(exc), None, "backend")]) from None
    t0 = time.perf_counter()
    lp, data = build(scenario, mode, arcs)
    build_s = time.perf_counter() - t0
    module = get_backend(backend)
    sol = module.solve(lp, **options)
    sol.timings["build_s"] = build_s
    relaxation = float("nan")
    if lp.integrality().any() and sol.status.ok:
        relaxation = _price_milp(lp, sol, module, options)
    result = collect(lp, data, sol)
    result.options = {"backend": backend, **options}
    if sol.method:
        result.options["lp_method"] = sol.method  # what ran: auto resolved
    result.lp_relaxation = relaxation if result.status.ok else float("nan")
    return result


def _price_milp(lp, sol, module, options) -> float:
    """For an optimal MILP solution: duals and ties from the LP with the integers fixed
    at their optimum (marginal costs of that plan, quantities it leaves open), and the
    LP relaxation's objective (a lower bound on the MILP's optimum; NaN if it did not
    solve).

    The fixed LP's optimum must equal the MILP's (the MILP solution is feasible for it);
    its duals are used only where it is optimal."""
    t0 = time.perf_counter()
    with lp.continuous(fix=sol.x):
        fixed = module.solve(lp, **options)
    if fixed.status.ok and fixed.row_duals is not None:
        sol.row_duals = fixed.row_duals
    if fixed.status.ok:
        # Ties among the continuous quantities with the plant counts as they are; other
        # plant counts of the same cost are not searched (docs/model.md).
        sol.alternative_optima, sol.face = fixed.alternative_optima, fixed.face
    with lp.continuous():
        relaxed = module.solve(lp, **options)
    sol.timings["milp_pricing_s"] = time.perf_counter() - t0
    return relaxed.objective if relaxed.status.ok else float("nan")


def to_highs(scenario: Scenario, mode: str = "coordinated", arcs: pd.DataFrame | None = None):
    """The model as a ``highspy.Highs`` object, ready to ``run()`` or modify."""
    lp, _ = build(scenario, mode, arcs)
    return get_backend("highs").render(lp)


def to_pyomo(scenario: Scenario, mode: str = "coordinated", arcs: pd.DataFrame | None = None):
    """The model as a Pyomo ``ConcreteModel`` with named sets, variables and constraints.

    Examples
    --------
    >>> import optimizer
    >>> m = to_pyomo(optimizer.load_scenario())
    >>> sorted(m.sector)[:2]
    ['aluminium', 'cement']
    >>> m.capacity["320000", "solar_pv", 2023].lb
    0.0
    """
    lp, _ = build(scenario, mode, arcs)
    return get_backend("pyomo").render(lp)


def to_pulp(scenario: Scenario, mode: str = "coordinated", arcs: pd.DataFrame | None = None):
    """The model as a ``pulp.LpProblem`` (variables named ``capacity_<region>_<sector>_<year>``)."""
    lp, _ = build(scenario, mode, arcs)
    prob, _columns = get_backend("pulp").render(lp)
    return prob
