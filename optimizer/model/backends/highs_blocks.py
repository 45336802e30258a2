"""Large LPs on HiGHS: the reduced LP solved block by block first, then whole from there.

``lp_method="blocks"`` (what ``auto`` picks for large LPs, see
:func:`optimizer.model.backends.highs.lp_strategy`):

1. eliminate the capacity columns and production-limit rows that only restate each other
   (:func:`optimizer.model.reduction.eliminate_implied_columns`; exact, the same optima);
2. split the reduced LP by sector: each sector's columns with the rows that touch no
   other sector. Only the fiscal limits (debt service over all of a region's sectors)
   and other rows spanning sectors link them. Each sector alone is a small LP, solved by
   primal simplex;
3. combine the sector bases, with the linking rows' slacks basic, into a basis of the
   whole reduced LP, and solve it by primal simplex from there: only the linking rows
   that the sector optima break (a few hundred fiscal limits of 1,600 on the benchmark
   grid) are left to repair;
4. map the primal values, duals and basis back to the LP (:class:`ColumnElimination`),
   for the result tables, marginal costs and the tie test.

Measured on the synthetic grids (``benchmarks/bench_large.py``, results in
``benchmarks/results/large.md`` and docs/model.md): at 221,620 columns it is several
times faster than dual simplex or interior point on the LP as built.
"""

from __future__ import annotations

import time

import highspy
import numpy as np
import scipy.sparse as sp

from optimizer.model.backends import Solution
from optimizer.model.lp import LinearProgram
from optimizer.model.reduction import ColumnElimination, LPArrays, eliminate_implied_columns
from optimizer.model.solver_log import captured
from optimizer.model.status import Status
from optimizer.model.ties import OptimalFace, optimal_face

#: The index level whose values split the LP into blocks.
BLOCK_LEVEL = "sector"


def column_blocks(lp: LinearProgram, level: str = BLOCK_LEVEL) -> np.ndarray:
    """Block number of each column: the position of its ``level`` value among the LP's
    values of that level, -1 for a variable block without the level.

    >>> import pandas as pd
    >>> lp = LinearProgram()
    >>> idx = pd.MultiIndex.from_tuples([("a", "pv"), ("a", "steel")], names=["r", "sector"])
    >>> _ = lp.add_variables("x", idx)
    >>> _ = lp.add_variables("y", pd.Index(["z"], name="r"))
    >>> column_blocks(lp).tolist()
    [0, 1, -1]
    """
    blocks = np.full(lp.n_cols, -1, dtype=np.int64)
    labels = [
        b.index.get_level_values(level) for b in lp.variables.values() if level in b.index.names
    ]
    if not labels:
        return blocks
    values = labels[0].append(labels[1:]).unique().sort_values()
    for b in lp.variables.values():
        if level in b.index.names:
            blocks[b.start : b.start + b.size] = values.get_indexer(b.index.get_level_values(level))
    return blocks


def row_blocks(matrix: sp.csc_matrix, blocks: np.ndarray) -> np.ndarray:
    """Block of each row: the one block of all its columns, -1 where its columns span
    several blocks (or a column in none), or it has no entry (a linking row)."""
    csr = sp.csr_matrix(matrix)
    m = csr.shape[0]
    row = np.repeat(np.arange(m), np.diff(csr.indptr))
    block = blocks[csr.indices]
    low = np.full(m, np.iinfo(np.int64).max)
    high = np.full(m, -1)
    np.minimum.at(low, row, block)
    np.maximum.at(high, row, block)
    return np.where(low == high, low, -1)


def n_blocks(lp: LinearProgram) -> int:
    """How many blocks :func:`solve` would split ``lp`` into."""
    blocks = column_blocks(lp)
    return int(blocks.max()) + 1 if blocks.size else 0


def _highs(arrays: LPArrays, *, primal: bool, log: bool, threads: int | None) -> highspy.Highs:
    from optimizer.model.backends import highs

    a = arrays.matrix
    h = highs.new_highs()
    h.setOptionValue("output_flag", log)
    h.setOptionValue("presolve", "off")
    h.setOptionValue("solver", "simplex")
    if primal:
        h.setOptionValue("simplex_strategy", 4)
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    highs.pass_arrays(
        h,
        a.shape[1],
        a.shape[0],
        (
            arrays.cost,
            arrays.lower,
            arrays.upper,
            arrays.row_lower,
            arrays.row_upper,
            a.indptr.astype(np.int32),
            a.indices.astype(np.int32),
            a.data,
            np.zeros(a.shape[1], np.int32),
        ),
    )
    return h


def _statuses(values, n: int) -> np.ndarray:
    return np.fromiter(map(int, values), np.int64, n)


def block_basis(
    arrays: LPArrays, blocks: np.ndarray, *, threads: int | None = None, deadline: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Column and row basis statuses (HighsBasisStatus values) of ``arrays`` combined
    from each block's optimal basis; linking rows basic, columns of no block at a finite
    bound. None where a block does not solve to optimality in time (the whole LP is then
    solved from scratch)."""
    from optimizer.model.backends.highs import run_model

    a = arrays.matrix
    rows = row_blocks(a, blocks)
    basic = int(highspy.HighsBasisStatus.kBasic)
    col_status = np.where(
        np.isfinite(arrays.lower),
        int(highspy.HighsBasisStatus.kLower),
        np.where(
            np.isfinite(arrays.upper),
            int(highspy.HighsBasisStatus.kUpper),
            int(highspy.HighsBasisStatus.kZero),
        ),
    )
    row_status = np.full(arrays.n_rows, basic)
    local = np.zeros(arrays.n_rows, np.int64)
    for k in range(int(blocks.max()) + 1 if blocks.size else 0):
        cols = np.flatnonzero(blocks == k)
        block_rows = np.flatnonzero(rows == k)
        if cols.size == 0:
            continue
        local[block_rows] = np.arange(block_rows.size)
        sub = a[:, cols]
        inside = rows[sub.indices] == k  # drop the entries in linking rows
        matrix = sp.csc_matrix(
            (
                sub.data[inside],
                (
                    local[sub.indices[inside]],
                    np.repeat(np.arange(cols.size), np.diff(sub.indptr))[inside],
                ),
            ),
            shape=(block_rows.size, cols.size),
        )
        part = LPArrays(
            arrays.cost[cols],
            arrays.lower[cols],
            arrays.upper[cols],
            arrays.row_lower[block_rows],
            arrays.row_upper[block_rows],
            matrix,
        )
        h = _highs(part, primal=True, log=False, threads=threads)
        left = deadline - time.perf_counter()
        if left <= 0:
            return None
        h.setOptionValue("time_limit", left)
        status, _ = run_model(h)
        if status is not Status.OPTIMAL:
            return None
        basis = h.getBasis()
        col_status[cols] = _statuses(basis.col_status, cols.size)
        row_status[block_rows] = _statuses(basis.row_status, block_rows.size)
    return col_status, row_status


def solve(
    lp: LinearProgram,
    *,
    threads: int | None = None,
    time_limit: float | None = None,
    tie_tolerance: float | None = None,
) -> Solution:
    """Solve a continuous ``lp`` reduced and block by block (module docstring); the
    :class:`Solution` is in ``lp``'s columns and rows, as from
    :func:`optimizer.model.backends.highs.solve`."""
    from optimizer.model.backends import highs

    if tie_tolerance is None:
        with captured():  # the first Highs object of a process prints a banner
            tie_tolerance = highs.tie_tolerance(highspy.Highs())
    t0 = time.perf_counter()
    deadline = t0 + (time_limit if time_limit is not None else np.inf)
    elimination = eliminate_implied_columns(
        LPArrays.from_lp(lp), lp.integrality(), min_cost=tie_tolerance
    )
    reduced = elimination.reduced
    blocks = column_blocks(lp)[elimination.kept_columns]
    reduce_s = time.perf_counter() - t0
    with captured() as log:
        basis = block_basis(reduced, blocks, threads=threads, deadline=deadline)
        blocks_s = time.perf_counter() - t0 - reduce_s
        h = _highs(reduced, primal=True, log=True, threads=threads)
        if basis is not None:
            start = highspy.HighsBasis()
            start.col_status = [highspy.HighsBasisStatus(int(v)) for v in basis[0]]
            start.row_status = [highspy.HighsBasisStatus(int(v)) for v in basis[1]]
            h.setBasis(start)
        left = deadline - time.perf_counter()
        if left <= 0:
            status, whole_s = Status.TIME_LIMIT, 0.0
        else:
            if np.isfinite(left):
                h.setOptionValue("time_limit", left)
            status, whole_s = highs.run_model(h)
    solve_s = time.perf_counter() - t0 - reduce_s
    x = np.zeros(lp.n_cols)
    duals, ties, face = None, None, None
    if status.ok:
        sol = h.getSolution()
        x = elimination.expand_primal(np.asarray(sol.col_value))
        if h.getInfo().dual_solution_status == 2:  # kSolutionStatusFeasible
            duals, col_duals = elimination.expand_duals(
                np.asarray(sol.row_dual), np.asarray(sol.col_dual)
            )
            ties = highs.has_ties(h, tol=tie_tolerance)
            if ties:
                face = _face(h, lp, elimination, x, duals, col_duals, tie_tolerance)
            elif ties is False:
                face = OptimalFace.empty()
    return Solution(
        status=status,
        objective=h.getInfo().objective_function_value if status.ok else float("nan"),
        x=x,
        row_duals=duals,
        solver="HiGHS",
        solver_version=h.version(),
        backend="highs",
        # render_s: the arrays and the reduction (the other strategies' rendering);
        # solve_s: everything after, the blocks' solves and the whole LP's (whole_s).
        timings={
            "render_s": reduce_s,
            "solve_s": solve_s,
            "blocks_s": blocks_s,
            "whole_s": whole_s,
        },
        message=status.explain(),
        alternative_optima=ties,
        face=face,
        method="blocks",
        log=log.text,
    )


def _face(
    h: highspy.Highs,
    lp: LinearProgram,
    elimination: ColumnElimination,
    x: np.ndarray,
    row_duals: np.ndarray,
    col_duals: np.ndarray,
    tol: float,
) -> OptimalFace | None:
    """The optimal face in ``lp``'s columns, from the reduced LP's basis mapped back."""
    from optimizer.model.backends.highs import basic_mask

    basis = h.getBasis()
    if not basis.valid:
        return None
    reduced = elimination.reduced
    basic = elimination.expand_basic(basic_mask(h, basis, reduced.n_cols, reduced.n_rows))
    original = elimination.original
    return optimal_face(
        original.matrix,
        x=x,
        lower=original.lower,
        upper=original.upper,
        row_lower=original.row_lower,
        row_upper=original.row_upper,
        basic=basic,
        reduced_costs=np.concatenate([col_duals, row_duals]),
        tol=tol,
    )
