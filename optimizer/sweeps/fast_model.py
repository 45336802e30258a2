"""Fast re-solves of one built model for many variants (the sweep fast path).

Building the model from a scenario takes tens of milliseconds of pandas indexing; a warm
re-solve of a small model takes a few. :class:`ParametricModel` builds the base model
once (:func:`optimizer.model.formulation.build`, the same families as every other path)
and, for each :class:`~optimizer.sweeps.overrides.Overrides`, scales the model's inputs
(:meth:`~optimizer.sweeps.overrides.Overrides.scale`), re-evaluates the formulation's
value functions on them (:meth:`~optimizer.model.lp.LinearProgram.update`), pushes the
costs, bounds, right-hand sides and matrix coefficients that changed into the same
``highspy.Highs`` object and re-solves from the previous basis. No coefficient is
computed here: a family added to the formulation is varied here without a change.

The arrays equal those of a cold build of ``overrides.apply(scenario)``
(``tests/test_parametric.py`` checks them entry by entry), and the metrics are those of
:func:`optimizer.analysis.comparison`.

Examples
--------
>>> from optimizer import load_scenario
>>> from optimizer.sweeps.overrides import Overrides
>>> model = ParametricModel(load_scenario())
>>> base = model.solve(Overrides())
>>> more = model.solve(Overrides.from_mapping({"demand": 1.1}))
>>> more.objective > base.objective
True
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd

from optimizer.errors import DupoptError
from optimizer.model.backends import SWEEP_MIP_REL_GAP, highs
from optimizer.model.data import Inputs
from optimizer.model.economics import capacity_metrics
from optimizer.model.formulation import STRUCTURAL, active_families, build
from optimizer.model.results import NON_RESOURCE_TERMS
from optimizer.model.status import Status
from optimizer.scenario.parameters import ModelParameters
from optimizer.scenario.scenario import Scenario
from optimizer.sweeps.overrides import Overrides

#: HiGHS ``simplex_strategy`` of an LP's warm re-solves once it holds an optimal basis: 4,
#: primal simplex. A variant changes costs and right-hand sides a little, and primal
#: simplex repaired the previous basis faster than dual (1): on the LP of the shipped data
#: (data/divisible.toml, one process, 119 variants) 2.9 vs 5.6 ms per coordinated
#: re-solve and 2.2-2.5 vs 2.5-2.7 ms per observed one, the same optima (objectives within
#: 1e-12 relative; tests/test_parametric.py compares them with cold solves).
#: ``benchmarks/bench_batch.py`` measures both (``bare`` rows).
WARM_SIMPLEX_STRATEGY = 4
#: HiGHS's dual simplex (its default for an LP): the first solve of a kept model.
COLD_SIMPLEX_STRATEGY = 1


class StructureMismatch(DupoptError):
    """The overrides change the model's structure (fiscal limit or minimum plant scale)."""


@dataclass
class VariantResult:
    """One mode's solution of one variant, reduced to what sweeps keep.

    Arrays are aligned on :attr:`ParametricModel.index` (region, sector, year): capacity
    and production in sector units, stranded capacity, its capital value and the debt tied
    to it in CNY bn. ``unmet`` is aligned on :attr:`ParametricModel.sector_years` and
    ``year_terms`` on :attr:`ParametricModel.years`. A solve that did not reach
    optimality (``status`` says why) has no figures: ``objective`` and ``total_cost`` are
    NaN, ``terms`` is empty and the arrays are None.
    """

    mode: str
    status: Status
    objective: float
    terms: dict[str, float] = field(default_factory=dict)
    capacity: np.ndarray | None = None
    production: np.ndarray | None = None
    stranded_capacity: np.ndarray | None = None
    capital_cny_bn: np.ndarray | None = None
    stranded_capital_cny_bn: np.ndarray | None = None
    stranded_debt_cny_bn: np.ndarray | None = None
    unmet: np.ndarray | None = None  # by (sector, year), output units
    year_terms: dict[str, np.ndarray] = field(default_factory=dict)  # CNY bn/yr by year
    alternative_optima: bool | None = None
    solve_s: float = 0.0

    @property
    def total_cost(self) -> float:
        """Resource cost (CNY bn/yr): every objective term but the unmet-demand penalty and
        the stranded and debt weights (as :attr:`optimizer.Result.total_cost`); NaN unless
        optimal."""
        if not self.status.ok:
            return float("nan")
        return float(sum(v for t, v in self.terms.items() if t not in NON_RESOURCE_TERMS))


@dataclass
class PreparedVariant:
    """A variant's arrays (as :meth:`ParametricModel.arrays`) and what reducing its
    solution needs: its inputs and objective terms (columns, coefficients)."""

    arrays: dict[str, np.ndarray]
    inputs: Inputs
    terms: dict[str, tuple[np.ndarray, np.ndarray]]
    #: The HiGHS changes from the arrays of the variant prepared before (``changes[0]``,
    #: compared by identity) to these: :meth:`ParametricModel.run` pushes them as they
    #: are where HiGHS holds those, else works the changes out again.
    changes: tuple[dict[str, np.ndarray], _Changes] | None = None


@dataclass
class SolvedVariant:
    """What HiGHS returned for a variant, copied out as it was: status, objective, the
    column values and the tie test's record (None where not tested).

    :attr:`x` and :attr:`alternative_optima` are computed from them on first use: in a
    pipelined sweep by the thread that reduces the variant, while the solver thread
    re-solves the next one (work on the solver thread delays every solve after it).
    """

    status: Status
    objective: float
    solve_s: float
    col_value: list[float] | None = None
    ties: highs.BasisRecord | None = None
    bounds: tuple[np.ndarray, ...] | None = None
    tie_tolerance: float = 0.0

    @functools.cached_property
    def x(self) -> np.ndarray | None:
        """The column values (None unless optimal)."""
        return None if self.col_value is None else highs.floats(self.col_value)

    @functools.cached_property
    def alternative_optima(self) -> bool | None:
        """Whether other allocations cost the same (:func:`highs.has_ties`); None where
        not tested or without a valid basis."""
        if self.ties is None:
            return None
        return self.ties.has_ties(self.bounds, self.tie_tolerance)


@dataclass
class _Changes:
    """The HiGHS calls that turn one variant's arrays into another's: the costs, column
    bounds, row bounds and matrix entries that differ (positions and new values)."""

    cost: tuple[np.ndarray, np.ndarray]
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray]
    rows: tuple[np.ndarray, np.ndarray, np.ndarray]
    entries: tuple[list[int], list[int], list[float]]

    @classmethod
    def between(
        cls, new: dict, old: dict, entry_rows: np.ndarray, entry_cols: np.ndarray
    ) -> _Changes:
        c = np.flatnonzero(new["cost"] != old["cost"])
        b = np.flatnonzero((new["lower"] != old["lower"]) | (new["upper"] != old["upper"]))
        r = np.flatnonzero(
            (new["row_lower"] != old["row_lower"]) | (new["row_upper"] != old["row_upper"])
        )
        e = np.flatnonzero(new["entries"] != old["entries"])
        return cls(
            cost=(c, new["cost"][c]),
            bounds=(b, new["lower"][b], new["upper"][b]),
            rows=(r, new["row_lower"][r], new["row_upper"][r]),
            # Plain lists: converting numpy scalars one by one cost as much as the calls.
            entries=(entry_rows[e].tolist(), entry_cols[e].tolist(), new["entries"][e].tolist()),
        )

    def push(self, h: highspy.Highs) -> None:
        index, cost = self.cost
        if index.size:
            h.changeColsCost(index.size, index, cost)
        index, lower, upper = self.bounds
        if index.size:
            h.changeColsBounds(index.size, index, lower, upper)
        index, lower, upper = self.rows
        if index.size:
            highs.change_rows_bounds(h, index, lower, upper)
        for r, c, v in zip(*self.entries, strict=True):
            h.changeCoeff(r, c, v)


class ParametricModel:
    """One mode of the model, kept in HiGHS and re-solved for many overrides.

    Parameters
    ----------
    scenario
        The base scenario. Its structural parameters (``fiscal_limit``,
        ``min_plant_scale``: :data:`optimizer.model.formulation.STRUCTURAL`) are fixed
        for this model; overrides may change the others.
    mode
        ``coordinated`` or ``observed``.
    arcs
        Transport network, as for :func:`optimizer.solve`.
    threads, presolve
        HiGHS options (one thread per worker in batches).
    """

    def __init__(
        self,
        scenario: Scenario,
        mode: str = "coordinated",
        arcs: pd.DataFrame | None = None,
        *,
        threads: int | None = 1,
        presolve: bool | None = None,
    ) -> None:
        t0 = time.perf_counter()
        self.scenario, self.mode = scenario, mode
        lp, data = build(scenario, mode, arcs)
        self.lp, self.data = lp, data
        self.base: Inputs = lp.inputs
        self.structure = active_families(data.parameters, mode)
        # Simplex whatever the size: the model is re-solved warm from its basis, which
        # interior point would not use. The first solve (no basis) is dual simplex; the
        # warm re-solves primal (see WARM_SIMPLEX_STRATEGY).
        self.h = highs.render(lp, threads=threads, presolve=presolve, lp_method="simplex")
        self._tie_tolerance = highs.tie_tolerance(self.h)
        self._warm = False
        self.integer = bool(lp.integrality().any())
        # MILPs: the LP relaxation, kept warm beside the MILP, for a rounded start.
        self._relaxed: highspy.Highs | None = None
        self._integer_cols = np.flatnonzero(lp.integrality())
        if self.integer:
            with lp.continuous():
                self._relaxed = highs.render(lp, threads=threads, lp_method="simplex")
        # What HiGHS holds now: every push is the difference from these.
        self._held = self._arrays()
        self._prepared = self._held  # the arrays prepare() made last
        # The matrix's structure (fixed): :meth:`run` reads it, never the kept program,
        # which the next variant's :meth:`prepare` may be changing meanwhile.
        self._entry_rows, self._entry_cols, _ = lp.entries()
        self.regions = pd.Index(data.regions.index)
        self.sectors = pd.Index(data.sectors.index)
        cap = lp.variables["capacity"]
        self.index = cap.index
        self.years = pd.Index(data.years, name="year")
        self.sector_years = pd.MultiIndex.from_product(
            [self.sectors, self.years], names=["sector", "year"]
        )
        self._cap_cols = cap.columns
        self._prod_cols = lp.variables["production"].columns
        _, self._cell_s = data.positions(cap.index)
        self._cell_t = self.years.get_indexer(cap.index.get_level_values("year"))
        self._last_year = self._cell_t == int(np.argmax(self.years.to_numpy()))
        self._unmet = []
        for name in ("unmet", "unmet_export"):
            block = lp.variables[name]
            s = self.sectors.get_indexer(block.index.get_level_values("sector"))
            t = self.years.get_indexer(block.index.get_level_values("year"))
            self._unmet.append((block.columns, s * len(self.years) + t))
        # Position in :attr:`years` of every column (each block is indexed by year).
        self._column_year = lp.column_positions("year", self.years)
        self.build_s = time.perf_counter() - t0

    @property
    def cell_sectors(self) -> np.ndarray:
        """Position in :attr:`sectors` of each (region, sector, year) cell of :attr:`index`."""
        return self._cell_s

    @property
    def last_year(self) -> np.ndarray:
        """Whether each cell of :attr:`index` is in the model's last year (computed once:
        reading a MultiIndex level per variant cost more than the metrics)."""
        return self._last_year

    @property
    def cell_sector_years(self) -> np.ndarray:
        """Position in :attr:`sector_years` of each cell of :attr:`index`."""
        return self._cell_s * len(self.years) + self._cell_t

    # -- the arrays of a variant -------------------------------------------------------------
    def inputs(self, overrides: Overrides) -> Inputs:
        """The model inputs of ``overrides.apply(scenario)``, from the base arrays.

        Raises :class:`StructureMismatch` where the overrides switch a family on or off."""
        if overrides.parameters:
            self._check_structure(overrides)
        return overrides.scale(self.base, self.data)

    def _check_structure(self, overrides: Overrides) -> None:
        params = ModelParameters(**{**self.scenario.parameters.__dict__, **overrides.parameters})
        if active_families(params, self.mode) != self.structure:
            changed = [
                name
                for name in STRUCTURAL
                if bool(getattr(params, name)) != bool(getattr(self.scenario.parameters, name))
            ]
            raise StructureMismatch(
                f"overrides change the model's structure ({', '.join(changed)}); "
                "use a model built with them"
            )

    def _arrays(self) -> dict[str, np.ndarray]:
        lp = self.lp
        lower, upper = lp.bounds()
        row_lower, row_upper = lp.row_bounds()
        return {
            "cost": lp.cost(),
            "lower": lower,
            "upper": upper,
            "row_lower": row_lower,
            "row_upper": row_upper,
            "entries": lp.entries()[2],
        }

    def arrays(self, overrides: Overrides) -> dict[str, np.ndarray]:
        """Costs, column and row bounds and matrix entry values (aligned on
        ``lp.entries()``) of the model of ``overrides.apply(scenario)``.

        Evaluates the formulation on the variant's inputs: the kept program holds the
        variant's numbers afterwards (HiGHS does not, until :meth:`solve`)."""
        self.lp.update(self.inputs(overrides))
        return self._arrays()

    # -- solving ------------------------------------------------------------------------------
    def solve(
        self,
        overrides: Overrides,
        *,
        ties: bool = True,
        mip_rel_gap: float | None = None,
        time_limit: float | None = None,
    ) -> VariantResult:
        """Push the variant's arrays into HiGHS, re-solve warm, and reduce the solution.

        ``mip_rel_gap``: for a MILP (lumpy plants), stop once the plan is proven within this
        share of the optimal cost (:data:`~optimizer.model.backends.SWEEP_MIP_REL_GAP`,
        0.1 %, where None). ``time_limit``:
        seconds for this solve (none where None); one that hits it has no figures.

        The three stages, :meth:`prepare`, :meth:`run` and :meth:`reduce`, may also be
        called apart (:func:`optimizer.sweeps.worker.solve_chunks` runs HiGHS on one
        thread while it prepares the next variant and reduces the last on another)."""
        prepared = self.prepare(overrides)
        solved = self.run(prepared, ties=ties, mip_rel_gap=mip_rel_gap, time_limit=time_limit)
        return self.reduce(prepared, solved)

    def prepare(self, overrides: Overrides) -> PreparedVariant:
        """Evaluate the formulation on the variant's inputs: its arrays and what its
        reduction needs (HiGHS is not touched).

        The result is a snapshot: preparing the next variant before this one is run and
        reduced leaves it unchanged. Raises :class:`StructureMismatch` where the
        overrides switch a family on or off."""
        arrays = self.arrays(overrides)
        # Worked out here rather than in run(): a pipelined sweep prepares on one thread
        # while HiGHS solves on another, and run() delays every solve after it.
        before, self._prepared = self._prepared, arrays
        changes = (before, self._changes(arrays, before))
        return PreparedVariant(arrays, self.lp.inputs, self.lp.objective_terms, changes)

    def run(
        self,
        prepared: PreparedVariant,
        *,
        ties: bool = True,
        mip_rel_gap: float | None = None,
        time_limit: float | None = None,
    ) -> SolvedVariant:
        """Push a prepared variant's arrays into HiGHS and re-solve warm (arguments as
        :meth:`solve`). Reads nothing of the kept program but its fixed structure, so the
        next variant may be prepared meanwhile. Each push is the difference from the
        variant run last: run in the order prepared, it is the one :meth:`prepare`
        worked out; otherwise it is worked out here. Copies the solution out and
        returns; the :class:`SolvedVariant` judges it on first use."""
        new = prepared.arrays
        h = self.h
        if prepared.changes is not None and prepared.changes[0] is self._held:
            changes = prepared.changes[1]
        else:  # prepared out of order (or by hand): from what HiGHS holds
            changes = self._changes(new, self._held)
        changes.push(h)
        if self._relaxed is not None:
            changes.push(self._relaxed)
        self._held = new
        start_s = 0.0
        if self.integer:
            gap = SWEEP_MIP_REL_GAP if mip_rel_gap is None else float(mip_rel_gap)
            h.setOptionValue("mip_rel_gap", gap)
            start_s = self._start_from_rounding(new)
        h.setOptionValue("time_limit", math.inf if time_limit is None else float(time_limit))
        status, solve_s = highs.run_model(h)
        solve_s += start_s
        if not status.ok:
            # Start the next variant from scratch rather than from a failed basis.
            h.clearSolver()
            self._set_warm(False)
            return SolvedVariant(status, float("nan"), solve_s)
        self._set_warm(True)
        # Only copies here: the conversions and the tie test wait for the reducing
        # thread (SolvedVariant), so that HiGHS starts the next variant sooner.
        solution = h.getSolution()
        record = highs.record_basis(h, solution) if ties else None
        return SolvedVariant(
            status,
            float(h.getInfo().objective_function_value),
            solve_s,
            col_value=solution.col_value,
            ties=record,
            bounds=(new["lower"], new["upper"], new["row_lower"], new["row_upper"]),
            tie_tolerance=self._tie_tolerance,
        )

    def reduce(self, prepared: PreparedVariant, solved: SolvedVariant) -> VariantResult:
        """The :class:`VariantResult` of a variant :meth:`run` solved (no figures unless
        optimal)."""
        if not solved.status.ok:
            return VariantResult(self.mode, solved.status, float("nan"), solve_s=solved.solve_s)
        return self._reduce(prepared, solved)

    def _set_warm(self, warm: bool) -> None:
        """Re-solve an LP by primal simplex once HiGHS holds an optimal basis, by dual
        simplex from scratch (:data:`WARM_SIMPLEX_STRATEGY`). MILPs keep HiGHS's choice."""
        if self.integer or warm == self._warm:
            return
        strategy = WARM_SIMPLEX_STRATEGY if warm else COLD_SIMPLEX_STRATEGY
        self.h.setOptionValue("simplex_strategy", strategy)
        self._warm = warm

    def _changes(self, new: dict, old: dict) -> _Changes:
        """What differs between the arrays ``old`` and ``new``, as HiGHS calls."""
        return _Changes.between(new, old, self._entry_rows, self._entry_cols)

    def _push(self, h: highspy.Highs, new: dict, old: dict) -> None:
        """Change in ``h`` only what differs between the arrays ``old`` and ``new``."""
        self._changes(new, old).push(h)

    def _start_from_rounding(self, new: dict) -> float:
        """Give the MILP a feasible plan to start from: the LP relaxation (kept warm), its
        plant counts rounded up, the continuous part re-solved with those counts fixed.
        HiGHS then needs only to prove the gap; on the lumpy default's uncertainty draws
        at a 0.1 % gap this cut the median solve from 0.72 to 0.05 s (8 draws, cold).
        Returns the seconds it took; gives no start where either LP does not solve."""
        t0 = time.perf_counter()
        r, ints = self._relaxed, self._integer_cols
        status, _ = highs.run_model(r)
        if status.ok:
            x = np.asarray(r.getSolution().col_value)
            counts = np.ceil(x[ints] - 1e-6)
            counts = np.clip(counts, new["lower"][ints], new["upper"][ints])
            r.changeColsBounds(ints.size, ints, counts, counts)
            fixed, _ = highs.run_model(r)
            if fixed.ok:
                start = highspy.HighsSolution()
                start.col_value = list(r.getSolution().col_value)
                start.value_valid = True
                self.h.setSolution(start)
            # The relaxation again, as the next variant's warm start.
            r.changeColsBounds(ints.size, ints, new["lower"][ints], new["upper"][ints])
        return time.perf_counter() - t0

    def _reduce(self, prepared: PreparedVariant, solved: SolvedVariant) -> VariantResult:
        inputs, s, x = prepared.inputs, self._cell_s, solved.x
        cap, prod = x[self._cap_cols], x[self._prod_cols]
        metrics = capacity_metrics(
            cap,
            prod,
            inputs.sector["capex"][s],
            inputs.sector["debt_share"][s],
            inputs.sector["max_utilisation"][s],
        )
        n_t = len(self.years)
        unmet = np.zeros(len(self.sector_years))
        for cols, pos in self._unmet:
            np.add.at(unmet, pos, x[cols])
        terms = prepared.terms
        totals = {t: float(np.dot(coef, x[cols])) for t, (cols, coef) in terms.items()}
        if n_t == 1:  # the same numbers as the totals, bit for bit
            year_terms = {t: np.array([v]) for t, v in totals.items()}
        else:
            year_terms = {
                t: np.bincount(self._column_year[cols], coef * x[cols], minlength=n_t)
                for t, (cols, coef) in terms.items()
            }
        return VariantResult(
            mode=self.mode,
            status=Status.OPTIMAL,
            objective=solved.objective,
            terms=totals,
            capacity=cap,
            production=prod,
            stranded_capacity=metrics["stranded_capacity"],
            capital_cny_bn=metrics["capital_cny_bn"],
            stranded_capital_cny_bn=metrics["stranded_capital_cny_bn"],
            stranded_debt_cny_bn=metrics["stranded_debt_cny_bn"],
            unmet=unmet,
            year_terms=year_terms,
            alternative_optima=solved.alternative_optima,
            solve_s=solved.solve_s,
        )
