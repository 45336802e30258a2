"""A solver-neutral linear program: named, indexed variable and constraint blocks.

The formulation (:mod:`optimizer.model.formulation`) declares the math once into a
:class:`LinearProgram`; backends (:mod:`optimizer.model.backends`) render it as a HiGHS model,
a Pyomo ``ConcreteModel`` or a PuLP problem. Coefficients are gathered as sparse COO
triplets, so building a large model is a few vectorised numpy operations.

Structure and numbers are declared together but kept apart: a block's index and sparsity
pattern are fixed when it is added, while any bound, right-hand side, matrix coefficient or
cost may be given as a *value function* of the model's inputs (``f(inputs) -> array``).
The program evaluates those functions once when they are declared and again on
:meth:`LinearProgram.update`, so a re-solve with new inputs re-evaluates the same
functions the cold build used and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

SENSES = ("<=", ">=", "==")

#: A number, an array, or a function of the inputs returning one (a value function).
#: An objective coefficient function may return None: the term is then absent.
Value = float | np.ndarray | Callable[[Any], Any]


def _evaluate(value: Value, inputs: Any) -> Any:
    return value(inputs) if callable(value) else value


def _filled(value: Any, shape: int | tuple[int, ...]) -> np.ndarray:
    """``value`` as a new float array of ``shape`` (broadcast where it is not that shape).

    The same array as ``np.broadcast_to(value, shape).copy()``; a value of the right shape
    is copied directly (``np.broadcast_to`` costs more than the copy, and a sweep runs
    this for every value function of every variant)."""
    array = np.asarray(value, dtype=float)
    if array.shape == (shape if isinstance(shape, tuple) else (shape,)):
        return array.copy()
    return np.broadcast_to(array, shape).copy()


@dataclass
class VariableBlock:
    """Variables sharing a name, indexed by a pandas MultiIndex (e.g. region, sector, year)."""

    name: str
    index: pd.MultiIndex
    start: int
    lower: np.ndarray
    upper: np.ndarray
    integer: bool = False
    unit: str = ""
    doc: str = ""

    @property
    def size(self) -> int:
        return len(self.index)

    @property
    def columns(self) -> np.ndarray:
        return np.arange(self.start, self.start + self.size)

    def positions(self, labels: pd.MultiIndex | pd.Index) -> np.ndarray:
        """Positions (within the block) of the given labels; -1 where absent."""
        return self.index.get_indexer(labels)


@dataclass
class ConstraintBlock:
    """Rows sharing a name and a sense, indexed like variables."""

    name: str
    index: pd.MultiIndex
    start: int
    sense: str
    rhs: np.ndarray
    doc: str = ""

    @property
    def size(self) -> int:
        return len(self.index)

    @property
    def rows(self) -> np.ndarray:
        return np.arange(self.start, self.start + self.size)


@dataclass
class LinearProgram:
    """min c'x subject to blocks of rows ``A x (<=, >=, ==) b`` and ``l <= x <= u``.

    The objective is a sum of named terms (``objective_terms``), each a sparse cost
    vector, so every term can be reported separately after a solve.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_tuples([("a",), ("b",)], names=["region"])
    >>> lp = LinearProgram()
    >>> x = lp.add_variables("x", idx)
    >>> rows = lp.add_constraints(
    ...     "cover", idx, [("x", np.arange(2), np.arange(2), np.ones(2))], ">=", [1.0, 2.0]
    ... )
    >>> lp.add_objective("cost", "x", np.arange(2), np.array([3.0, 4.0]))
    >>> lp.shape
    (2, 2)
    """

    variables: dict[str, VariableBlock] = field(default_factory=dict)
    constraints: dict[str, ConstraintBlock] = field(default_factory=dict)
    #: The inputs value functions are evaluated on (see :meth:`update`).
    inputs: Any = None
    _rows: list[np.ndarray] = field(default_factory=list, repr=False)
    _cols: list[np.ndarray] = field(default_factory=list, repr=False)
    _vals: list[np.ndarray] = field(default_factory=list, repr=False)
    # Per matrix term: which of its declared entries exist (variable position >= 0), the
    # shape its coefficients broadcast to, and its value function (None: constant).
    _keep: list[np.ndarray] = field(default_factory=list, repr=False)
    _coef_fns: list[tuple[int, tuple[int, ...], Callable] | None] = field(
        default_factory=list, repr=False
    )
    # (block, attribute, function): variable bounds and right-hand sides to re-evaluate.
    _array_fns: list[tuple[Any, str, Callable]] = field(default_factory=list, repr=False)
    # Objective contributions: (term, columns, coefficient value, evaluated coefficients).
    _objective: list[list[Any]] = field(default_factory=list, repr=False)
    _entries: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    n_cols: int = 0
    n_rows: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_rows, self.n_cols

    def _array(self, value: Value, n: int, block: Any, attribute: str) -> np.ndarray:
        """Evaluate ``value`` to an array of ``n`` and remember its function for updates."""
        if callable(value):
            self._array_fns.append((block, attribute, value))
        return _filled(_evaluate(value, self.inputs), n)

    def update(self, inputs: Any) -> None:
        """Re-evaluate every value function on ``inputs``, in place (structure unchanged).

        Examples
        --------
        >>> idx = pd.MultiIndex.from_tuples([("a",), ("b",)], names=["region"])
        >>> lp = LinearProgram(inputs={"demand": np.array([1.0, 2.0])})
        >>> _ = lp.add_variables("x", idx)
        >>> rows = lp.add_constraints(
        ...     "cover", idx, [("x", np.arange(2), np.arange(2), 1.0)], ">=",
        ...     lambda inputs: inputs["demand"],
        ... )
        >>> lp.update({"demand": np.array([3.0, 4.0])})
        >>> lp.constraints["cover"].rhs.tolist()
        [3.0, 4.0]
        """
        self.inputs = inputs
        for block, attribute, fn in self._array_fns:
            setattr(block, attribute, _filled(fn(inputs), block.size))
        for k, entry in enumerate(self._coef_fns):
            if entry is not None:
                _, shape, fn = entry
                coef = np.asarray(fn(inputs), dtype=float)
                if coef.shape != shape:
                    coef = np.broadcast_to(coef, shape)
                self._vals[k] = coef[self._keep[k]]
        for item in self._objective:
            item[3] = self._cost_values(item[2], item[1].shape)

    def add_variables(
        self,
        name: str,
        index: pd.MultiIndex,
        lower: float | np.ndarray = 0.0,
        upper: float | np.ndarray = np.inf,
        *,
        integer: bool = False,
        unit: str = "",
        doc: str = "",
    ) -> VariableBlock:
        """Add a block of variables, one per label of ``index``."""
        if name in self.variables:
            raise ValueError(f"variable block {name!r} exists already")
        n = len(index)
        block = VariableBlock(
            name, index, self.n_cols, np.zeros(n), np.zeros(n), integer, unit, doc
        )
        block.lower = self._array(lower, n, block, "lower")
        block.upper = self._array(upper, n, block, "upper")
        self.variables[name] = block
        self.n_cols += n
        return block

    def add_constraints(
        self,
        name: str,
        index: pd.MultiIndex,
        terms: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
        sense: str,
        rhs: float | np.ndarray,
        *,
        doc: str = "",
    ) -> ConstraintBlock | None:
        """Add rows ``sum(terms) sense rhs``; returns None (adds nothing) for an empty index.

        Each term is ``(variable block, row positions, variable positions, coefficients)``:
        coefficient k multiplies variable ``positions[k]`` of the block in row
        ``row positions[k]`` of this constraint block. Variable positions < 0 are skipped
        (zero coefficients are dropped from :meth:`matrix`); a row position outside the
        block raises ``ValueError``. Coefficients and ``rhs`` may be value functions.
        """
        if sense not in SENSES:
            raise ValueError(f"sense must be one of {SENSES}, got {sense!r}")
        if len(index) == 0:
            return None
        if name in self.constraints:
            raise ValueError(f"constraint block {name!r} exists already")
        n = len(index)
        block = ConstraintBlock(name, index, self.n_rows, sense, np.zeros(n), doc)
        block.rhs = self._array(rhs, n, block, "rhs")
        for var, row_pos, var_pos, value in terms:
            vblock = self.variables[var]
            row_pos, var_pos = np.asarray(row_pos), np.asarray(var_pos)
            coef = np.broadcast_to(
                np.asarray(_evaluate(value, self.inputs), dtype=float), row_pos.shape
            )
            keep = var_pos >= 0
            stray = keep & ((row_pos < 0) | (row_pos >= n))
            if stray.any():
                # A row position of -1 would land in the previous block's last row.
                raise ValueError(
                    f"constraint block {name!r}: {int(stray.sum())} coefficients of {var!r} "
                    "have no row in the block"
                )
            self._rows.append(row_pos[keep] + block.start)
            self._cols.append(var_pos[keep] + vblock.start)
            self._vals.append(coef[keep])
            self._keep.append(keep)
            self._coef_fns.append(
                (len(self._vals) - 1, row_pos.shape, value) if callable(value) else None
            )
        self._entries = None
        self.constraints[name] = block
        self.n_rows += n
        return block

    def add_objective(
        self, term: str, var: str, positions: np.ndarray, coefficients: Value
    ) -> None:
        """Add cost ``coefficients`` on variables ``positions`` of block ``var`` to a term.

        ``coefficients`` may be a value function; where it returns None the contribution
        is absent (a term with no contribution is not reported)."""
        cols = np.asarray(positions) + self.variables[var].start
        self._objective.append(
            [term, cols, coefficients, self._cost_values(coefficients, cols.shape)]
        )

    def _cost_values(self, value: Value, shape: tuple[int, ...]) -> np.ndarray | None:
        coef = _evaluate(value, self.inputs)
        if coef is None:
            return None
        return _filled(coef, shape)

    @property
    def objective_terms(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each objective term's (columns, coefficients), in the order terms were added."""
        parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for term, cols, _, coef in self._objective:
            if coef is not None:
                parts.setdefault(term, []).append((cols, coef))
        return {
            t: (np.concatenate([c for c, _ in p]), np.concatenate([v for _, v in p]))
            if len(p) > 1
            else p[0]
            for t, p in parts.items()
        }

    # -- assembled arrays ---------------------------------------------------------------
    def cost(self) -> np.ndarray:
        """The objective coefficients c (sum over terms)."""
        parts = [(cols, coef) for _, cols, _, coef in self._objective if coef is not None]
        if not parts:
            return np.zeros(self.n_cols)
        # One bincount adds each column's contributions in declaration order (as add.at).
        cols = np.concatenate([p[0] for p in parts])
        coef = np.concatenate([p[1] for p in parts])
        return np.bincount(cols, coef, minlength=self.n_cols)

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The matrix's structural entries: (rows, columns, values), one per distinct
        position, values summed over the terms that share it (zeros kept, so positions
        stay aligned across :meth:`update`)."""
        if self._entries is None:
            rows = np.concatenate(self._rows) if self._rows else np.zeros(0, dtype=np.int64)
            cols = np.concatenate(self._cols) if self._cols else np.zeros(0, dtype=np.int64)
            key = rows.astype(np.int64) * max(self.n_cols, 1) + cols
            unique, inverse = np.unique(key, return_inverse=True)
            self._entries = (unique // max(self.n_cols, 1), unique % max(self.n_cols, 1), inverse)
        rows, cols, inverse = self._entries
        vals = np.concatenate(self._vals) if self._vals else np.zeros(0)
        return rows, cols, np.bincount(inverse, vals, minlength=rows.size)

    def matrix(self, fmt: str = "csc") -> sp.spmatrix:
        """The constraint matrix A (duplicate entries summed)."""
        if self._rows:
            rows, cols = np.concatenate(self._rows), np.concatenate(self._cols)
            vals = np.concatenate(self._vals)
        else:
            rows = cols = np.zeros(0, dtype=int)
            vals = np.zeros(0)
        keep = vals != 0
        a = sp.coo_array((vals[keep], (rows[keep], cols[keep])), shape=self.shape)
        return a.asformat(fmt)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Column bounds (l, u)."""
        lower = np.concatenate([b.lower for b in self.variables.values()] or [np.zeros(0)])
        upper = np.concatenate([b.upper for b in self.variables.values()] or [np.zeros(0)])
        return lower, upper

    def row_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Row activity bounds (L, U) with L <= A x <= U."""
        lo, hi = [], []
        for b in self.constraints.values():
            lo.append(np.full(b.size, -np.inf) if b.sense == "<=" else b.rhs)
            hi.append(np.full(b.size, np.inf) if b.sense == ">=" else b.rhs)
        if not lo:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(lo), np.concatenate(hi)

    def integrality(self) -> np.ndarray:
        """Boolean mask of integer columns."""
        return np.concatenate(
            [np.full(b.size, b.integer) for b in self.variables.values()] or [np.zeros(0, bool)]
        )

    def column_positions(self, level: str, labels: pd.Index) -> np.ndarray:
        """Position in ``labels`` of each column's value of index level ``level`` (every
        variable block must have that level; -1 where a value is not in ``labels``).

        Examples
        --------
        >>> idx = pd.MultiIndex.from_tuples([("a", 2023), ("b", 2024)], names=["r", "year"])
        >>> lp = LinearProgram()
        >>> _ = lp.add_variables("x", idx)
        >>> lp.column_positions("year", pd.Index([2023, 2024])).tolist()
        [0, 1]
        """
        if not self.variables:
            return np.zeros(0, dtype=np.intp)
        return np.concatenate(
            [labels.get_indexer(b.index.get_level_values(level)) for b in self.variables.values()]
        )

    def split(self, x: np.ndarray) -> dict[str, pd.Series]:
        """Split a column vector into one Series per variable block (indexed by labels)."""
        return {
            name: pd.Series(x[b.start : b.start + b.size], index=b.index, name=name)
            for name, b in self.variables.items()
        }

    def split_rows(self, y: np.ndarray) -> dict[str, pd.Series]:
        """Split a row vector (e.g. duals) into one Series per constraint block."""
        return {
            name: pd.Series(y[b.start : b.start + b.size], index=b.index, name=name)
            for name, b in self.constraints.items()
        }

    @contextmanager
    def continuous(self, fix: np.ndarray | None = None) -> Iterator[LinearProgram]:
        """This program with its integer blocks made continuous, for the duration of a
        ``with`` block: relaxed (``fix=None``: the LP relaxation, a bound on a MILP's
        optimum) or fixed at ``round(fix)`` (the fixed-integer LP whose duals price a
        MILP's solution).

        Examples
        --------
        >>> idx = pd.MultiIndex.from_tuples([("a",)], names=["region"])
        >>> lp = LinearProgram()
        >>> _ = lp.add_variables("n", idx, 0.0, 5.0, integer=True)
        >>> with lp.continuous(fix=np.array([2.2])):
        ...     bool(lp.integrality().any()), lp.bounds()[1].tolist()
        (False, [2.0])
        >>> bool(lp.integrality().any()), lp.bounds()[1].tolist()
        (True, [5.0])
        """
        blocks = [b for b in self.variables.values() if b.integer]
        saved = [(b.lower, b.upper) for b in blocks]
        try:
            for b in blocks:
                b.integer = False
                if fix is not None:
                    value = np.round(np.asarray(fix)[b.columns])
                    b.lower, b.upper = value, value.copy()
            yield self
        finally:
            for b, (lower, upper) in zip(blocks, saved, strict=True):
                b.integer, b.lower, b.upper = True, lower, upper

    def constraint_text(self, name: str) -> str:
        """Constraint block ``name`` written out row by row, LP-file style (for reading a
        family's equations, and for the golden files in ``tests/golden``).

        Examples
        --------
        >>> idx = pd.MultiIndex.from_tuples([("a",), ("b",)], names=["region"])
        >>> lp = LinearProgram()
        >>> _ = lp.add_variables("x", idx)
        >>> _ = lp.add_constraints(
        ...     "cover", idx, [("x", np.arange(2), np.arange(2), 2.0)], ">=", [1.0, 2.0]
        ... )
        >>> print(lp.constraint_text("cover"))
        cover[a]: +2 x[a] >= 1
        cover[b]: +2 x[b] >= 2
        """
        block = self.constraints[name]
        a = self.matrix("csr")[block.start : block.start + block.size]
        names = np.empty(self.n_cols, dtype=object)
        for var in self.variables.values():
            names[var.start : var.start + var.size] = [
                f"{var.name}[{','.join(map(str, label))}]" for label in var.index
            ]
        lines = []
        for k, label in enumerate(block.index):
            lo, hi = a.indptr[k], a.indptr[k + 1]
            order = np.argsort(a.indices[lo:hi], kind="stable")
            terms = " ".join(f"{a.data[lo + j]:+.10g} {names[a.indices[lo + j]]}" for j in order)
            key = ",".join(map(str, label if isinstance(label, tuple) else (label,)))
            lines.append(f"{name}[{key}]: {terms} {block.sense} {block.rhs[k]:.10g}")
        return "\n".join(lines)

    def term_values(self, x: np.ndarray) -> dict[str, float]:
        """Value of each objective term at ``x``."""
        return {t: float(np.dot(coef, x[cols])) for t, (cols, coef) in self.objective_terms.items()}
