"""Exact reductions of a LinearProgram's arrays before a large LP is solved, and the way
back (primal values, duals and basis of the original LP).

One reduction: a column that only costs, eliminated through the row that defines it.
A capacity column ``K`` (``0 <= K``, cost ``c_K > 0``) enters its production limit
``(1 + m) X - u K <= 0`` with a negative coefficient and every other row only where more
of it hurts (``sum ds K <= F``, a ``<=`` row with a positive coefficient). At every
optimum the limit then binds (less ``K`` would be cheaper and still feasible), so
``K = (1 + m) X / u`` and the column and the row can go: ``K``'s costs and its entries in
the other rows move onto the columns of the defining row. The reduced LP has the same
optima, one for one; on the 221,620-column benchmark grid it drops 32,000 of 65,620 rows.

Which columns qualify is read off the arrays, not the model's names, so the reduction
does not depend on how a formulation calls its blocks. A column qualifies when:

- it is continuous, ``0 <= x`` with no upper bound, and its cost is above ``min_cost``;
- exactly one of its entries is negative in a ``<= 0`` row (the defining row), and that
  row defines no other eliminated column;
- each of its other entries makes its row harder to meet (positive in a ``<=`` row,
  negative in a ``>=`` row; never in an equality row);
- the defining row's other entries are positive, on columns with ``0 <= x`` that are not
  eliminated, so the implied value ``x_e = sum_k w_k x_k`` is never negative.

The way back: ``x_e = W x_kept``; the eliminated column is basic with a zero reduced cost
and its defining row is at its bound with dual ``y_i = (c_e - sum_r a_re y_r) / a_ie``
(HiGHS's sign convention, reduced cost ``c - A'y``); every kept row and column keeps its
dual. The dual of a defining row is at least ``c_e / |a_ie|`` in size, so with
``min_cost`` at the tie tolerance (per unit of ``|a_ie|``) no eliminated quantity adds or
removes a tie (:mod:`optimizer.model.ties`).

Examples
--------
``min 2 K + X`` with ``X - K <= 0`` and ``X >= 3``: ``K`` goes, and ``X`` costs 3.

>>> import numpy as np, scipy.sparse as sp
>>> a = LPArrays(
...     cost=np.array([2.0, 1.0]),
...     lower=np.zeros(2),
...     upper=np.full(2, np.inf),
...     row_lower=np.array([-np.inf, 3.0]),
...     row_upper=np.array([0.0, np.inf]),
...     matrix=sp.csc_matrix(np.array([[-1.0, 1.0], [0.0, 1.0]])),
... )
>>> red = eliminate_implied_columns(a)
>>> red.eliminated.tolist(), red.reduced.cost.tolist(), red.reduced.matrix.shape
([0], [3.0], (1, 1))
>>> red.expand_primal(np.array([3.0])).tolist()
[3.0, 3.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class LPArrays:
    """``min c'x`` s.t. ``row_lower <= A x <= row_upper``, ``lower <= x <= upper``."""

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    matrix: sp.csc_matrix

    @classmethod
    def from_lp(cls, lp) -> LPArrays:
        """The arrays of a :class:`~optimizer.model.lp.LinearProgram`."""
        return cls(lp.cost(), *lp.bounds(), *lp.row_bounds(), sp.csc_matrix(lp.matrix("csc")))

    @property
    def n_cols(self) -> int:
        return self.matrix.shape[1]

    @property
    def n_rows(self) -> int:
        return self.matrix.shape[0]


@dataclass(frozen=True)
class ColumnElimination:
    """The reduced LP and how to map its solution back (see the module docstring)."""

    original: LPArrays
    reduced: LPArrays
    #: Eliminated columns and the row defining each (original positions).
    eliminated: np.ndarray
    defining_rows: np.ndarray
    #: Columns and rows of the original LP that the reduced one keeps, in its order.
    kept_columns: np.ndarray
    kept_rows: np.ndarray
    #: x_eliminated = weights @ x_kept (one row per eliminated column).
    weights: sp.csr_matrix

    def expand_primal(self, x_kept: np.ndarray) -> np.ndarray:
        """Column values of the original LP from the reduced LP's."""
        x = np.empty(self.original.n_cols)
        x[self.kept_columns] = x_kept
        x[self.eliminated] = self.weights @ x_kept
        return x

    def expand_duals(
        self, row_dual_kept: np.ndarray, col_dual_kept: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row duals and reduced costs of the original LP (HiGHS's signs: reduced cost
        ``c - A'y``) from the reduced LP's."""
        y = np.zeros(self.original.n_rows)
        y[self.kept_rows] = row_dual_kept
        if self.eliminated.size:
            # c_e - a_ie y_i - sum_{r kept} a_re y_r = 0: the eliminated column is basic.
            cols = self.original.matrix[:, self.eliminated]
            others = cols.T @ y  # the defining rows' y is still 0 here
            a_ie = np.asarray(cols[self.defining_rows, np.arange(self.eliminated.size)])
            y[self.defining_rows] = (self.original.cost[self.eliminated] - others) / a_ie.ravel()
        d = np.zeros(self.original.n_cols)
        d[self.kept_columns] = col_dual_kept
        return y, d

    def expand_basic(self, basic_kept: np.ndarray) -> np.ndarray:
        """Basis membership (columns, then rows) of the original LP: the eliminated
        columns are basic, their defining rows at their bound."""
        n_kept = self.kept_columns.size
        basic = np.zeros(self.original.n_cols + self.original.n_rows, bool)
        basic[self.kept_columns] = basic_kept[:n_kept]
        basic[self.original.n_cols + self.kept_rows] = basic_kept[n_kept:]
        basic[self.eliminated] = True
        return basic


def eliminate_implied_columns(
    arrays: LPArrays, integer: np.ndarray | None = None, min_cost: float = 0.0
) -> ColumnElimination:
    """Eliminate every column that only costs through the row that defines it.

    Parameters
    ----------
    arrays
        The LP.
    integer
        Integer columns (never eliminated); None: all continuous.
    min_cost
        A column qualifies only where ``c_e / |a_ie|`` (the least size of its defining
        row's dual) exceeds this; pass the tie tolerance so ties are unchanged.

    Returns
    -------
    ColumnElimination
        With no column eliminated where none qualifies (the reduced LP is then the LP).
    """
    a = arrays.matrix
    n, m = arrays.n_cols, arrays.n_rows
    nnz = np.diff(a.indptr)
    col = np.repeat(np.arange(n), nnz)
    row, val = a.indices, a.data
    le_zero = np.isinf(arrays.row_lower) & (arrays.row_upper == 0)
    defining = (val < 0) & le_zero[row]
    hurts = ((val > 0) & np.isinf(arrays.row_lower)[row]) | (
        (val < 0) & np.isinf(arrays.row_upper)[row]
    )
    n_defining = np.bincount(col, weights=defining, minlength=n)
    n_hurts = np.bincount(col, weights=hurts & ~defining, minlength=n)
    candidate = (
        (arrays.lower == 0)
        & np.isposinf(arrays.upper)
        & (n_defining == 1)
        & (n_defining + n_hurts == nnz)
    )
    if integer is not None:
        candidate &= ~integer
    def_row = np.full(n, -1)
    at = defining & candidate[col]
    def_row[col[at]] = row[at]
    def_coef = np.zeros(n)
    def_coef[col[at]] = val[at]
    with np.errstate(divide="ignore", invalid="ignore"):
        candidate &= arrays.cost / np.abs(np.where(candidate, def_coef, 1.0)) > min_cost
    # A defining row serves one column only.
    candidate &= np.bincount(def_row[candidate], minlength=m)[np.maximum(def_row, 0)] == 1
    # The defining row's other entries: positive, on non-negative kept columns.
    rows_csr = sp.csr_matrix(a)[def_row[candidate]]
    owner = np.repeat(np.flatnonzero(candidate), np.diff(rows_csr.indptr))
    other = rows_csr.indices != owner
    bad = other & (
        (rows_csr.data <= 0) | (arrays.lower[rows_csr.indices] < 0) | candidate[rows_csr.indices]
    )
    candidate[np.unique(owner[bad])] = False

    eliminated = np.flatnonzero(candidate)
    kept_columns = np.flatnonzero(~candidate)
    defining_rows = def_row[eliminated]
    kept_rows = np.setdiff1d(np.arange(m), defining_rows)
    # x_e = sum_k (a_ik / -a_ie) x_k over the defining row's other (kept) columns.
    d = sp.csr_matrix(a)[defining_rows][:, kept_columns]
    weights = sp.csr_matrix(sp.diags(-1.0 / def_coef[eliminated]) @ d)
    kept = a[kept_rows]
    matrix = kept[:, kept_columns] + kept[:, eliminated] @ weights
    matrix = sp.csc_matrix(matrix)
    matrix.sort_indices()
    reduced = LPArrays(
        cost=arrays.cost[kept_columns] + weights.T @ arrays.cost[eliminated],
        lower=arrays.lower[kept_columns],
        upper=arrays.upper[kept_columns],
        row_lower=arrays.row_lower[kept_rows],
        row_upper=arrays.row_upper[kept_rows],
        matrix=matrix,
    )
    return ColumnElimination(
        arrays, reduced, eliminated, defining_rows, kept_columns, kept_rows, weights
    )
