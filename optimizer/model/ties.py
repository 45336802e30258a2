"""Which quantities of an optimal LP solution are not unique (alternative optima).

At an optimal basic solution, other optima exist when a non-basic variable (a column or
a row activity) that may move has a zero reduced cost: moving it, with the basic
variables following, keeps every constraint and the objective. Each such variable gives
one edge direction of the optimal face; the quantities that change along an edge with a
positive step are *certainly* not unique.

Why this is complete: write the LP as ``A x - r = 0`` with bounds on ``x`` and on the
row activities ``r``. Every direction ``d`` into the optimal face from the current vertex
has ``d_N >= 0`` (away from their bounds) for the non-basic variables, and the objective
changes by ``sum_j rc_j d_j = 0`` with every ``rc_j >= 0``, so only zero-reduced-cost
non-basic variables move. ``d`` is then a non-negative combination of their edge
directions, and a quantity that no such direction touches is the same in every optimum.
At a degenerate vertex an edge may have a zero step (a basic variable already at its
bound), so its quantities are reported as *possibly* not unique (``certain`` False).

The directions come from one sparse LU factorisation of the basis matrix (scipy), so any
backend that reports a basis could use it; HiGHS does.

Examples
--------
A two-column LP, ``min x0 + x1`` with ``x0 + x1 = 1``: every split of the unit is
optimal, so both quantities are not unique, each by up to 1.

>>> import numpy as np, scipy.sparse as sp
>>> a = sp.csc_matrix(np.array([[1.0, 1.0]]))
>>> face = optimal_face(
...     a,
...     x=np.array([1.0, 0.0]),
...     lower=np.zeros(2),
...     upper=np.full(2, np.inf),
...     row_lower=np.ones(1),
...     row_upper=np.ones(1),
...     basic=np.array([True, False, False]),
...     reduced_costs=np.array([0.0, 0.0, 1.0]),
...     tol=1e-9,
... )
>>> face.columns.tolist(), face.max_shift.tolist(), face.certain.tolist()
([0, 1], [1.0, 1.0], [True, True])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: A move smaller than this (model units) is a degenerate (zero) step, not an alternative.
MIN_STEP = 1e-7
#: Entries of a direction below this are numerical noise from the factorisation.
_ZERO = 1e-9
#: Directions solved at once: bounds the dense right-hand side to _CHUNK x rows.
_CHUNK = 256


@dataclass(frozen=True)
class OptimalFace:
    """The columns that differ between optima, with how far each moved.

    Attributes
    ----------
    columns
        Column positions (in the LinearProgram's order) that some edge of the optimal
        face moves, sorted.
    max_shift
        Per column, the largest change along one edge of the face (model units): how
        much of it at least is undetermined. 0 where only zero-step edges move it.
    certain
        Per column, True if an edge with a positive step moves it (it is certainly not
        unique); False if only zero-step edges at a degenerate vertex do (possibly not
        unique).
    directions
        Edges tested (non-basic, movable, zero reduced cost).
    """

    columns: np.ndarray
    max_shift: np.ndarray
    certain: np.ndarray
    directions: int

    @classmethod
    def empty(cls) -> OptimalFace:
        """No alternative optima."""
        return cls(np.zeros(0, int), np.zeros(0), np.zeros(0, bool), 0)


def optimal_face(
    a: sp.spmatrix,
    *,
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    basic: np.ndarray,
    reduced_costs: np.ndarray,
    tol: float,
) -> OptimalFace | None:
    """The columns that are not unique at an optimal basic solution.

    Parameters
    ----------
    a
        Constraint matrix (rows x columns).
    x
        Optimal column values.
    lower, upper, row_lower, row_upper
        Column and row bounds.
    basic
        Basis membership of the columns followed by the rows (length columns + rows).
    reduced_costs
        Reduced costs of the columns followed by the row duals, in the solver's sign
        convention (only their magnitude is used: a tested edge has ``|rc| <= tol``).
    tol
        What counts as a zero reduced cost (the solver's dual feasibility tolerance
        scale: see :func:`optimizer.model.backends.highs.has_ties`).

    Returns
    -------
    OptimalFace or None
        None if the basis matrix is singular (the basis is not usable to tell).
    """
    import scipy.sparse.linalg as sla  # only when ties are looked for

    a = sp.csc_matrix(a)
    m, n = a.shape
    # Variables z = (x, r) with [A, -I] z = 0: row activities are variables too.
    full = sp.hstack([a, -sp.identity(m, format="csc")], format="csc")
    z = np.concatenate([x, a @ x])
    lo = np.concatenate([lower, row_lower])
    up = np.concatenate([upper, row_upper])
    movable = up - lo > MIN_STEP
    edges = np.flatnonzero(~basic & movable & (np.abs(reduced_costs) <= tol))
    if edges.size == 0:
        return OptimalFace.empty()
    in_basis = np.flatnonzero(basic)
    if in_basis.size != m:
        return None
    try:
        lu = sla.splu(full[:, in_basis].tocsc())
    except RuntimeError:  # singular basis matrix
        return None
    # Away from the bound the variable sits on (both ways for a free one at zero: the
    # step test below keeps the feasible way).
    gap_up, gap_low = np.abs(z[edges] - up[edges]), np.abs(z[edges] - lo[edges])
    at_upper = np.isfinite(up[edges]) & (gap_up <= gap_low)
    sigma = np.where(at_upper, -1.0, 1.0)
    shift = np.zeros(n + m)
    moved = np.zeros(n + m, bool)
    certain = np.zeros(n + m, bool)
    for start in range(0, edges.size, _CHUNK):
        e, sg = edges[start : start + _CHUNK], sigma[start : start + _CHUNK]
        # B d_B = -sigma M_q: the basic variables follow the edge variable q.
        d_basic = lu.solve(-(full[:, e].toarray() * sg))
        d = np.zeros((n + m, e.size))
        d[in_basis] = d_basic
        d[e, np.arange(e.size)] = sg
        d[np.abs(d) < _ZERO] = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(
                d > 0,
                (up[:, None] - z[:, None]) / d,
                np.where(d < 0, (z[:, None] - lo[:, None]) / -d, np.inf),
            )
        # inf: an edge no bound stops (an unbounded optimal face).
        step = np.clip(room, 0.0, None).min(axis=0)
        touched = d != 0
        moved |= touched.any(axis=1)
        positive = step > MIN_STEP
        certain |= touched[:, positive].any(axis=1)
        with np.errstate(invalid="ignore"):  # 0 x inf where an unbounded edge leaves d at 0
            along = np.where(touched & positive, np.abs(d) * np.where(positive, step, 0.0), 0.0)
        shift = np.maximum(shift, along.max(axis=1))
    cols = np.flatnonzero(moved[:n])
    return OptimalFace(cols, shift[cols], certain[cols], int(edges.size))
