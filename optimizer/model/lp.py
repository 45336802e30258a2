"""A solver-neutral linear program: named, indexed variable and constraint blocks.

The formulation (:mod:`optimizer.model.formulation`) declares the math once into a
:class:`LinearProgram`; backends (:mod:`optimizer.model.backends`) render it as a HiGHS model,
a Pyomo ``ConcreteModel`` or a PuLP problem. Coefficients are gathered as sparse COO
triplets, so building a large model is a few vectorised numpy operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

SENSES = ("<=", ">=", "==")


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
    objective_terms: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _rows: list[np.ndarray] = field(default_factory=list, repr=False)
    _cols: list[np.ndarray] = field(default_factory=list, repr=False)
    _vals: list[np.ndarray] = field(default_factory=list, repr=False)
    n_cols: int = 0
    n_rows: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_rows, self.n_cols

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
            name,
            index,
            self.n_cols,
            np.broadcast_to(np.asarray(lower, dtype=float), n).copy(),
            np.broadcast_to(np.asarray(upper, dtype=float), n).copy(),
            integer,
            unit,
            doc,
        )
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
        ``row positions[k]`` of this constraint block. Variable positions < 0 and zero
        coefficients are skipped; a row position outside the block raises ``ValueError``.
        """
        if sense not in SENSES:
            raise ValueError(f"sense must be one of {SENSES}, got {sense!r}")
        if len(index) == 0:
            return None
        if name in self.constraints:
            raise ValueError(f"constraint block {name!r} exists already")
        n = len(index)
        block = ConstraintBlock(
            name,
            index,
            self.n_rows,
            sense,
            np.broadcast_to(np.asarray(rhs, dtype=float), n).copy(),
            doc,
        )
        for var, row_pos, var_pos, coef in terms:
            vblock = self.variables[var]
            row_pos, var_pos = np.asarray(row_pos), np.asarray(var_pos)
            coef = np.broadcast_to(np.asarray(coef, dtype=float), row_pos.shape)
            keep = (var_pos >= 0) & (coef != 0)
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
        self.constraints[name] = block
        self.n_rows += n
        return block

    def add_objective(
        self, term: str, var: str, positions: np.ndarray, coefficients: np.ndarray
    ) -> None:
        """Add cost ``coefficients`` on variables ``positions`` of block ``var`` to a term."""
        vblock = self.variables[var]
        cols = np.asarray(positions) + vblock.start
        coef = np.broadcast_to(np.asarray(coefficients, dtype=float), cols.shape)
        if term in self.objective_terms:
            old_cols, old_coef = self.objective_terms[term]
            cols, coef = np.concatenate([old_cols, cols]), np.concatenate([old_coef, coef])
        self.objective_terms[term] = (cols, np.array(coef))

    # -- assembled arrays ---------------------------------------------------------------
    def cost(self) -> np.ndarray:
        """The objective coefficients c (sum over terms)."""
        c = np.zeros(self.n_cols)
        for cols, coef in self.objective_terms.values():
            np.add.at(c, cols, coef)
        return c

    def matrix(self, fmt: str = "csc") -> sp.spmatrix:
        """The constraint matrix A (duplicate entries summed)."""
        if self._rows:
            rows, cols = np.concatenate(self._rows), np.concatenate(self._cols)
            vals = np.concatenate(self._vals)
        else:
            rows = cols = np.zeros(0, dtype=int)
            vals = np.zeros(0)
        a = sp.coo_array((vals, (rows, cols)), shape=self.shape)
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

    def term_values(self, x: np.ndarray) -> dict[str, float]:
        """Value of each objective term at ``x``."""
        return {t: float(np.dot(coef, x[cols])) for t, (cols, coef) in self.objective_terms.items()}
