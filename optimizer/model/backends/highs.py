"""The fast path: the LinearProgram's arrays passed straight to HiGHS (highspy)."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import highspy
import numpy as np

from optimizer.model.backends import LP_METHODS, Solution, highs_blocks
from optimizer.model.lp import LinearProgram
from optimizer.model.solver_log import captured
from optimizer.model.status import Status
from optimizer.model.ties import OptimalFace, optimal_face

STATUS = {
    "kOptimal": Status.OPTIMAL,
    "kInfeasible": Status.INFEASIBLE,
    "kUnbounded": Status.UNBOUNDED,
    "kUnboundedOrInfeasible": Status.INFEASIBLE_OR_UNBOUNDED,
    "kTimeLimit": Status.TIME_LIMIT,
    "kIterationLimit": Status.TIME_LIMIT,
    "kInterrupt": Status.INTERRUPTED,
    "kSolveError": Status.NUMERICAL,
    "kPostsolveError": Status.NUMERICAL,
}


@functools.cache
def version() -> str:
    """``HiGHS <version>`` of the HiGHS library highspy links."""
    with captured():  # the first Highs object of a process prints a banner
        return f"HiGHS {highspy.Highs().version()}"


#: Columns from which ``lp_method="auto"`` solves an LP block by block (``blocks``,
#: :mod:`optimizer.model.backends.highs_blocks`) where it splits into at least two
#: sectors. Measured on synthetic grids (benchmarks/bench_large.py --quick, one run under
#: load): 1,700 columns dual simplex 0.03 s vs blocks 0.04 s; 5,838: 0.18 vs 0.06 s; the
#: full run's sizes in benchmarks/results/large.md and docs/model.md.
BLOCKS_MIN_COLUMNS = 5_000
#: Columns from which ``lp_method="auto"`` solves an LP that does not split into blocks
#: by interior point (with crossover) instead of dual simplex. Measured on synthetic
#: grids (same benchmark; presolve off): 27,410 columns simplex 0.48 s vs interior point
#: 0.72 s; 75,670: 3.9 vs 2.5-3.9 s; 221,620: 53 vs 32 s. They break even between 27k and
#: 76k columns.
IPM_MIN_COLUMNS = 50_000


def lp_strategy(lp: LinearProgram, lp_method: str | None = None) -> str:
    """The LP algorithm HiGHS is told to use for ``lp``: ``simplex`` (dual), ``ipm``
    (interior point, then crossover to a basic optimal solution) or ``blocks`` (the
    reduced LP sector by sector, then whole from the combined basis by primal simplex).

    ``lp_method`` ``None`` or ``"auto"`` chooses by size: ``blocks`` from
    :data:`BLOCKS_MIN_COLUMNS` columns where the LP has two sectors or more, else
    interior point from :data:`IPM_MIN_COLUMNS` columns; dual simplex below. A MILP is
    left to HiGHS's MIP solver whatever is asked (``"mip"``): telling HiGHS to use simplex
    or interior point on a MILP would make it drop the integrality.

    All reach the same optimum with a basis, so the duals (marginal costs) and the tie
    test (:func:`has_ties`) work the same whichever ran.

    >>> from optimizer.model.lp import LinearProgram
    >>> import pandas as pd
    >>> lp = LinearProgram()
    >>> _ = lp.add_variables("x", pd.RangeIndex(3))
    >>> lp_strategy(lp), lp_strategy(lp, "ipm")
    ('simplex', 'ipm')
    """
    if lp_method is None:
        lp_method = "auto"
    if lp_method not in LP_METHODS:
        raise ValueError(f"unknown lp_method {lp_method!r} (use one of {', '.join(LP_METHODS)})")
    if lp.integrality().any():
        return "mip"
    if lp_method == "auto":
        if lp.n_cols >= BLOCKS_MIN_COLUMNS and highs_blocks.n_blocks(lp) >= 2:
            return "blocks"
        return _whole_lp_method(lp)
    return lp_method


def _whole_lp_method(lp: LinearProgram) -> str:
    """Interior point from :data:`IPM_MIN_COLUMNS` columns, dual simplex below: the LP
    as built, solved in one piece."""
    return "ipm" if lp.n_cols >= IPM_MIN_COLUMNS else "simplex"


def render(
    lp: LinearProgram,
    *,
    threads: int | None = None,
    presolve: bool | None = None,
    time_limit: float | None = None,
    mip_rel_gap: float | None = None,
    lp_method: str | None = None,
    log: bool = False,
) -> highspy.Highs:
    """A ``highspy.Highs`` object holding the model (kept for re-solves with new data).

    ``lp_method`` (``auto``, ``simplex`` or ``ipm``; None: ``auto``) is the LP algorithm
    (:func:`lp_strategy`). ``presolve=None`` (default) chooses by measurement: off for LPs
    (either algorithm), on for MILPs.
    ``log=True`` turns HiGHS's log on (it writes to descriptor 1: run the model inside
    :func:`optimizer.model.solver_log.captured` to keep it off stdout, as :func:`solve` does).
    """
    a = lp.matrix("csc")
    integer = lp.integrality()
    arrays = (
        lp.cost(),
        *lp.bounds(),
        *lp.row_bounds(),
        a.indptr.astype(np.int32),
        a.indices.astype(np.int32),
        a.data,
        integer.astype(np.int32),  # HighsVarType: 0 continuous, 1 integer
    )
    # HiGHS prints its banner when the first Highs object is made (1.8: when the model is
    # passed with the log on): keep it off stdout.
    with captured():
        h = new_highs()
        h.setOptionValue("output_flag", log)
        strategy = lp_strategy(lp, lp_method)
        if strategy == "blocks":
            # A rendered model is the LP as built (kept for re-solves and extension);
            # the reduced, block-wise solve is solve()'s.
            strategy = _whole_lp_method(lp)
        if presolve is None:
            # Measured (benchmarks/bench_model.py): presolve off solves these LPs faster
            # by dual simplex (0.55x on the default scenario, 0.87-0.95x on the 221k-column
            # instance); interior point gains nothing from it (one run each: 2.5 s off vs
            # 3.7 s on at 76k columns, 42 s vs 59 s at 222k; bench_large.py: within the
            # run-to-run spread). MILPs keep it on, where it matters most.
            presolve = bool(integer.any())
        h.setOptionValue("presolve", "on" if presolve else "off")
        if strategy != "mip":
            h.setOptionValue("solver", strategy)
        if strategy == "ipm":
            # Crossover to a vertex: dupopt reads a basis (tie test, optimal face) and
            # exact duals (marginal costs) from every LP solution.
            h.setOptionValue("run_crossover", "on")
        if threads is not None:
            h.setOptionValue("threads", int(threads))
        if time_limit is not None:
            h.setOptionValue("time_limit", float(time_limit))
        if mip_rel_gap is not None:
            h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        pass_arrays(h, lp.n_cols, lp.n_rows, arrays)
    return h


def new_highs() -> highspy.Highs:
    """A new ``highspy.Highs`` object with highspy's Python callbacks switched off.

    highspy registers its Python callback dispatcher on every new object, and HiGHS then
    takes the GIL during a solve, which waits for whichever thread holds it. dupopt
    subscribes to none of them, and a sweep solves on a thread of its own: with them on,
    each warm re-solve of the shipped LP took 2.79 ms against 2.55 ms off while another
    thread ran Python (median of 600; ``benchmarks/bench_batch.py`` measures the sweep).
    ``h.enableCallbacks()`` turns them back on for a user's own callback.
    """
    h = highspy.Highs()
    h.disableCallbacks()
    return h


def pass_arrays(h: highspy.Highs, n_cols: int, n_rows: int, arrays: tuple[np.ndarray, ...]) -> None:
    """Pass the model as arrays (cost, column bounds, row bounds, CSC start, index,
    value, integrality), replacing any model ``h`` held. An LP goes in as its rows and
    then its columns (two array calls, 0.009-0.017 s at 222k columns); a MILP in one
    ``passModel`` call where highspy has it (0.007-0.009 s): filling a ``HighsLp`` field
    by field converts each array element by element (0.2 s of 0.25 s at 222k columns)."""
    cost, lower, upper, row_lower, row_upper, start, index, value, integrality = arrays
    if not integrality.any():
        # An LP: its rows, then its columns with their entries, so that HiGHS holds no
        # integrality at all. Passed a vector of zeros, HiGHS logs "WARNING: No
        # semi-integer/integer variables in model with non-empty integrality" on every
        # solve, which a reader of the solver log would take for a problem. (highspy's
        # array passModel needs the vector; an empty one reads past its end.)
        h.clearModel()
        none_i, none_f = np.zeros(0, np.int32), np.zeros(0)
        _check(h.addRows(n_rows, row_lower, row_upper, 0, none_i, none_i, none_f), "addRows")
        _check(
            h.addCols(n_cols, cost, lower, upper, len(value), start[:-1], index, value), "addCols"
        )
        return
    try:
        h.passModel(
            n_cols,
            n_rows,
            len(value),
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize),
            0.0,
            cost,
            lower,
            upper,
            row_lower,
            row_upper,
            start,
            index,
            value,
            integrality,
        )
        return
    except TypeError:  # a highspy without the array overload
        pass
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n_cols, n_rows
    model.col_cost_ = cost
    model.col_lower_, model.col_upper_ = lower, upper
    model.row_lower_, model.row_upper_ = row_lower, row_upper
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_, model.a_matrix_.index_, model.a_matrix_.value_ = start, index, value
    if integrality.any():
        model.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in integrality
        ]
    h.passModel(model)


def _check(status: highspy.HighsStatus, call: str) -> None:
    if status == highspy.HighsStatus.kError:
        raise RuntimeError(f"HiGHS refused the model ({call} returned {status.name})")


#: Threads of HiGHS's process-wide task scheduler as dupopt last started it (None: not
#: started by dupopt in this process; 0: HiGHS's automatic choice).
_scheduler_threads: int | None = None


def run_model(h: highspy.Highs) -> tuple[Status, float]:
    """Run HiGHS on ``h`` in place; return the status and the solve's wall seconds.

    HiGHS keeps one task scheduler per process, sized by the ``threads`` option of the
    first solve. Since HiGHS 1.16 a later solve asking for another thread count fails
    before it starts (``kError``, model status ``kNotset``; 1.15 and earlier only
    warned), so a cold solve with the default threads followed by a one-thread sweep
    model in the same process failed. Restart the scheduler when the count changes.
    """
    global _scheduler_threads
    threads = _option(h, "threads")
    if _scheduler_threads is not None and threads != _scheduler_threads:
        highspy.Highs.resetGlobalScheduler(True)
    t0 = time.perf_counter()
    run_status = h.run()
    if run_status == highspy.HighsStatus.kError and h.getModelStatus().name == "kNotset":
        # The scheduler was started elsewhere in this process (a user's own highspy
        # model) with another thread count: restart it once and try again.
        highspy.Highs.resetGlobalScheduler(True)
        h.run()
    solve_s = time.perf_counter() - t0
    _scheduler_threads = threads
    return model_status(h), solve_s


def change_rows_bounds(
    h: highspy.Highs, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> None:
    """Set the bounds of ``rows`` in place (one call where highspy has it, >= 1.13)."""
    if hasattr(h, "changeRowsBounds"):
        h.changeRowsBounds(len(rows), rows, lower, upper)
    else:
        for row, lo, up in zip(rows, lower, upper, strict=True):
            h.changeRowBounds(int(row), float(lo), float(up))


def _option(h: highspy.Highs, name: str):
    value = h.getOptionValue(name)
    # highspy >= 1.16 returns (HighsStatus, value); earlier versions the value alone.
    return value[1] if isinstance(value, tuple) else value


def model_status(h: highspy.Highs) -> Status:
    """The dupopt :class:`~optimizer.model.status.Status` of HiGHS's last solve of ``h``."""
    return STATUS.get(h.getModelStatus().name, Status.ERROR)


def run(h: highspy.Highs, backend: str = "highs") -> Solution:
    """Solve a rendered (or modified) HiGHS model and collect the solution; HiGHS's
    output is captured into ``Solution.log``, never printed."""
    with captured() as log:
        status, solve_s = run_model(h)
    x = np.asarray(h.getSolution().col_value) if status.ok else np.zeros(h.getNumCol())
    duals, ties = None, None
    if status.ok and h.getInfo().dual_solution_status == 2:  # kSolutionStatusFeasible
        duals = np.asarray(h.getSolution().row_dual)
        ties = has_ties(h)
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
        alternative_optima=ties,
        log=log.text,
    )


def floats(values: list[float]) -> np.ndarray:
    """A list highspy returns (e.g. ``getSolution().col_value``) as a float array.

    ``np.asarray`` of a list infers the element type first: 0.07 ms for 2,000 values,
    0.03 ms with the type given, which a sweep pays a few times per re-solve."""
    return np.array(values, dtype=np.float64)


def tie_tolerance(h: highspy.Highs) -> float:
    """What counts as a zero reduced cost: ten times HiGHS's dual feasibility tolerance
    (see :func:`has_ties`)."""
    return 10.0 * float(_option(h, "dual_feasibility_tolerance"))


def has_ties(
    h: highspy.Highs,
    tol: float | None = None,
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> bool | None:
    """Dual degeneracy: a non-basic, movable column or row with zero reduced cost means
    the optimum is not unique (other allocations cost the same).

    "Zero" is judged at the solver's own precision: HiGHS accepts a basis as optimal
    while reduced costs are above ``-dual_feasibility_tolerance``, so two solves of the
    same LP (from different warm starts) can stop at different vertices whose costs
    differ by less than that. ``tol`` defaults to ten times that tolerance, so such
    near-ties are reported as ties rather than as a unique allocation that a rerun
    then contradicts (with 1e-9, a sweep scenario moved 8.65 GWh of batteries between
    provinces across two clean runs unflagged).

    ``bounds`` (column lower and upper, row lower and upper) spares copying the model
    out of HiGHS when the caller holds them. None without a valid basis. The same test
    as :meth:`BasisRecord.has_ties` of :func:`record_basis`, at once.
    """
    if tol is None:
        tol = tie_tolerance(h)
    record = record_basis(h)
    if record is None:
        return None
    if bounds is None:
        lp = h.getLp()
        bounds = (lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_)
    return record.has_ties(bounds, tol)


@dataclass(frozen=True)
class BasisRecord:
    """A solved model's basis and reduced costs, copied out of HiGHS as they were.

    Reading them is a few copies; judging them (:meth:`basic_mask`, :meth:`has_ties`) is
    array work that needs no HiGHS. A sweep's solver thread records a solve and re-solves
    the next variant while another thread judges the record: work on the solver thread
    delays every solve after it (``benchmarks/bench_batch.py``).

    ``basic_variables``: the basic indices (HiGHS's ``getBasicVariables``, a row ``i``
    written ``-1 - i``) where HiGHS holds the factorisation, else None and
    ``col_status``/``row_status``, its status lists. ``col_dual``/``row_dual``: the
    reduced costs as HiGHS returns them (None where not recorded).

    Examples
    --------
    >>> record = BasisRecord(2, 1, np.array([-1]), None, None, [0.0, 3.0], [0.0])
    >>> record.basic_mask().tolist()  # row 0 basic
    [False, False, True]
    >>> bounds = (np.zeros(2), np.full(2, 9.0), np.zeros(1), np.ones(1))
    >>> record.has_ties(bounds, tol=1e-6)  # column 0 is free to move at zero cost
    True
    """

    n_cols: int
    n_rows: int
    basic_variables: np.ndarray | None
    col_status: list | None
    row_status: list | None
    col_dual: list[float] | None = None
    row_dual: list[float] | None = None

    def basic_mask(self) -> np.ndarray:
        """Basis membership of the columns followed by the rows."""
        n_cols, n_rows = self.n_cols, self.n_rows
        mask = np.zeros(n_cols + n_rows, bool)
        if self.basic_variables is not None:
            variables = self.basic_variables
            mask[np.where(variables >= 0, variables, n_cols - 1 - variables)] = True
            return mask
        kind = int(highspy.HighsBasisStatus.kBasic)
        mask[:n_cols] = np.fromiter(map(int, self.col_status), int, n_cols) == kind
        mask[n_cols:] = np.fromiter(map(int, self.row_status), int, n_rows) == kind
        return mask

    def has_ties(
        self, bounds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tol: float
    ) -> bool:
        """The test of :func:`has_ties` on this record, with the model's ``bounds``
        (column lower and upper, row lower and upper) and zero tolerance ``tol``."""
        col_lower, col_upper, row_lower, row_upper = (np.asarray(b) for b in bounds)
        basic = self.basic_mask()
        col_tie = ~basic[: self.n_cols] & (col_upper > col_lower)
        col_tie &= np.abs(floats(self.col_dual)) <= tol
        row_tie = ~basic[self.n_cols :] & (row_upper > row_lower)
        row_tie &= np.abs(floats(self.row_dual)) <= tol
        return bool(col_tie.any() or row_tie.any())


def record_basis(
    h: highspy.Highs,
    solution: highspy.HighsSolution | None = None,
    *,
    basis: highspy.HighsBasis | None = None,
    duals: bool = True,
) -> BasisRecord | None:
    """The :class:`BasisRecord` of ``h``'s last solve (with its reduced costs unless not
    ``duals``; from ``solution`` and ``basis`` where the caller has them); None without a
    valid basis.

    The basic indices come from ``getBasicVariables`` (one array) where HiGHS holds the
    basis factorisation: converting the status lists entry by entry took 3.2 ms of a
    ~16 ms sweep scenario (about 5k entries), this 0.16 ms. That is known only after
    simplex without presolve (every sweep re-solve, and LPs below
    :data:`IPM_MIN_COLUMNS`): after interior point and crossover highspy 1.16 crashed in
    ``getBasicVariables`` (no factorisation), so otherwise, and with a highspy without
    it, the record holds the status lists.
    """
    if basis is None:
        basis = h.getBasis()
    if not basis.valid:
        return None
    n_cols, n_rows = h.getNumCol(), h.getNumRow()
    variables = None
    if _option(h, "solver") == "simplex" and _option(h, "presolve") == "off":
        try:
            status, array = h.getBasicVariables()
        except (AttributeError, TypeError, ValueError):  # a highspy without the array form
            status = None
        if status == highspy.HighsStatus.kOk:
            # A copy: the record must outlive HiGHS's next solve.
            array = np.array(array, dtype=np.int64)
            variables = array if array.size == n_rows else None
    col_status = row_status = None
    if variables is None:
        col_status, row_status = list(basis.col_status), list(basis.row_status)
    col_dual = row_dual = None
    if duals:
        if solution is None:
            solution = h.getSolution()
        col_dual, row_dual = solution.col_dual, solution.row_dual
    return BasisRecord(n_cols, n_rows, variables, col_status, row_status, col_dual, row_dual)


def basic_mask(h: highspy.Highs, basis, n_cols: int, n_rows: int) -> np.ndarray:
    """Basis membership of the columns followed by the rows of ``h``'s valid ``basis``
    (``h.getBasis()``, of a model of ``n_cols`` columns and ``n_rows`` rows), as
    :meth:`BasisRecord.basic_mask` of :func:`record_basis`."""
    record = record_basis(h, basis=basis, duals=False)
    if record is None or (record.n_cols, record.n_rows) != (n_cols, n_rows):
        raise ValueError(
            f"no valid basis of {n_cols} columns and {n_rows} rows in this HiGHS model"
        )
    return record.basic_mask()


def solve(lp: LinearProgram, **options) -> Solution:
    """Render and solve with HiGHS (``lp_method="blocks"``: reduced and block by block,
    :func:`optimizer.model.backends.highs_blocks.solve`)."""
    if lp_strategy(lp, options.get("lp_method")) == "blocks":
        return highs_blocks.solve(
            lp, threads=options.get("threads"), time_limit=options.get("time_limit")
        )
    t0 = time.perf_counter()
    h = render(lp, log=True, **options)
    build_s = time.perf_counter() - t0
    sol = run(h)
    sol.method = lp_strategy(lp, options.get("lp_method"))
    sol.timings["render_s"] = build_s
    if sol.alternative_optima:
        t0 = time.perf_counter()
        sol.face = face(h, lp)
        sol.timings["ties_s"] = time.perf_counter() - t0
    elif sol.alternative_optima is False:
        sol.face = OptimalFace.empty()
    return sol


def face(h: highspy.Highs, lp: LinearProgram) -> OptimalFace | None:
    """Which columns of ``h``'s optimal basic solution are not unique
    (:func:`optimizer.model.ties.optimal_face`, at the tolerance of :func:`has_ties`);
    None without a valid basis."""
    basis = h.getBasis()
    if not basis.valid:
        return None
    sol = h.getSolution()
    basic = basic_mask(h, basis, lp.n_cols, lp.n_rows)
    lower, upper = lp.bounds()
    row_lower, row_upper = lp.row_bounds()
    return optimal_face(
        lp.matrix("csc"),
        x=np.asarray(sol.col_value),
        lower=lower,
        upper=upper,
        row_lower=row_lower,
        row_upper=row_upper,
        basic=basic,
        reduced_costs=np.concatenate([sol.col_dual, sol.row_dual]),
        tol=tie_tolerance(h),
    )
