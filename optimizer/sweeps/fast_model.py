"""The model's coefficients as functions of a variant's multipliers (fast re-solves).

Building the model from a scenario takes tens of milliseconds of pandas indexing; a warm
re-solve of a small model takes a few. :class:`ParametricModel` builds the base model
once, remembers where every multiplier acts (which columns, rows and matrix entries, for
which region and sector), and for each :class:`~optimizer.sweeps.overrides.Overrides` computes
the new costs, bounds, right-hand sides and coefficients with numpy, pushes the changes
into the same ``highspy.Highs`` object and re-solves from the previous basis.

The arrays are those :func:`optimizer.model.formulation.build` makes for
``overrides.apply(scenario)`` (``tests/test_parametric.py`` checks them entry by entry),
and the metrics are those of :func:`optimizer.analysis.comparison`.

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

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.errors import DupoptError
from optimizer.model.backends import highs
from optimizer.model.formulation import (
    EXPORT,
    build,
    capital_recovery_factor,
    fiscal_limit,
    oversize,
    supply_costs,
    unmet_penalty,
)
from optimizer.model.results import NON_RESOURCE_TERMS
from optimizer.model.status import Status
from optimizer.scenario.scenario import Scenario
from optimizer.sweeps.overrides import Overrides


class StructureMismatch(DupoptError):
    """The overrides change the model's structure (fiscal limit or minimum plant scale)."""


@dataclass
class VariantResult:
    """One mode's solution of one variant, reduced to what sweeps keep.

    Arrays are aligned on :attr:`ParametricModel.index` (region, sector, year): capacity
    and production in sector units, stranded capacity, its capital value and the debt tied
    to it in CNY bn. ``unmet`` is aligned on :attr:`ParametricModel.sector_years` and
    ``year_terms`` on :attr:`ParametricModel.years`. A solve that did not reach optimality (``status`` says why) has no
    figures: ``objective`` and ``total_cost`` are NaN, ``terms`` is empty and the arrays
    are None.
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


class ParametricModel:
    """One mode of the model, kept in HiGHS and re-solved for many overrides.

    Parameters
    ----------
    scenario
        The base scenario. Its structural parameters (``fiscal_limit``,
        ``min_plant_scale``) are fixed for this model; overrides may change the others.
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
        self.h = highs.render(lp, threads=threads, presolve=presolve)
        self._cost = lp.cost()
        self._lower, self._upper = lp.bounds()
        self._row_lower, self._row_upper = lp.row_bounds()
        self._coeffs: dict[str, np.ndarray] = {}
        self._index_arrays()
        self.build_s = time.perf_counter() - t0

    # -- where the multipliers act ---------------------------------------------------------
    def _index_arrays(self) -> None:
        lp, d = self.lp, self.data
        self.regions = pd.Index(d.regions.index)
        self.sectors = pd.Index(d.sectors.index)
        sec = d.sectors
        self._sector = {
            c: sec[c].to_numpy(float)
            for c in (
                "capex",
                "asset_life",
                "fixed_om",
                "variable_cost",
                "max_utilisation",
                "debt_share",
                "transport_cost",
            )
        }
        regions = d.regions
        self._region = {
            c: (regions[c].to_numpy(float) if c in regions else np.full(len(regions), np.nan))
            for c in ("financing_rate", "cost_factor", "fiscal_capacity")
        }
        cap = lp.variables["capacity"]
        self.index = cap.index
        self.years = pd.Index(d.years, name="year")
        self.sector_years = pd.MultiIndex.from_product(
            [self.sectors, self.years], names=["sector", "year"]
        )
        self._cap = self._where(cap.index, cap.columns)
        self._prod_cols = lp.variables["production"].columns
        self._unmet = {
            name: self._where(lp.variables[name].index, lp.variables[name].columns)
            for name in ("unmet", "unmet_export")
        }
        # Where each unmet column's demand arises (its column of ``reach_km``).
        reach = d.reach_km.columns
        self._unmet["unmet"]["node"] = reach.get_indexer(
            lp.variables["unmet"].index.get_level_values("region")
        )
        self._unmet["unmet_export"]["node"] = np.full(
            lp.variables["unmet_export"].size, reach.get_loc(EXPORT)
        )
        self._observed = d.observed.reindex(cap.index).fillna(0.0).to_numpy(float)
        self._balance = self._rows("demand_balance")
        self._absorption = self._rows("export_absorption")
        self._fiscal = self._rows("fiscal_limit")
        if self._fiscal is not None:
            ry = pd.MultiIndex.from_arrays(
                [cap.index.get_level_values("region"), cap.index.get_level_values("year")]
            )
            pos = lp.constraints["fiscal_limit"].index.get_indexer(ry)
            keep = pos >= 0
            self._fiscal["cell_row"] = pos
            self._fiscal_entries = (
                lp.constraints["fiscal_limit"].start + pos[keep],
                cap.columns[keep],
                np.flatnonzero(keep),
            )
        limit = lp.constraints["production_limit"]
        self._limit_rows = limit.rows
        self._tranche = None
        if "tranche" in lp.variables:
            block = lp.variables["tranche"]
            mult = d.tranches.set_index(["region", "sector", "tranche"])["cost_multiplier"]
            key = pd.MultiIndex.from_arrays(
                [block.index.get_level_values(k) for k in ("region", "sector", "tranche")]
            )
            where = self._where(block.index, block.columns)
            where["premium"] = mult.reindex(key).to_numpy(float) - 1.0
            self._tranche = where
        self._build = None
        if "build_link" in lp.constraints:
            block = lp.variables["build"]
            where = self._where(block.index, block.columns)
            where["rows"] = lp.constraints["build_link"].rows
            where["scale"] = sec["min_scale"].to_numpy(float)[where["s"]]
            where["held"] = d.observed.reindex(block.index).fillna(0.0).to_numpy(float)
            self._build = where
        # Penalty: producers x sectors supply costs; distances and tranches are not varied.
        grid = d.grid()
        self._grid = {
            "r": self.regions.get_indexer(grid.get_level_values(0)),
            "s": self.sectors.get_indexer(grid.get_level_values(1)),
            "shape": (len(d.producers), len(self.sectors)),
            "premium": d.premium().ravel(),
            "reach_km": d.reach_km.to_numpy(float),
            "min_scale": d.min_scale(),
        }
        self._transport = lp.objective_terms["transport"]
        # Position in :attr:`years` of every column (each block is indexed by year).
        self._column_year = np.concatenate(
            [
                self.years.get_indexer(b.index.get_level_values("year"))
                for b in lp.variables.values()
            ]
        )
        self._demand0 = self._total(d.demand)
        self._exports0 = self._total(d.exports)

    @property
    def cell_sectors(self) -> np.ndarray:
        """Position in :attr:`sectors` of each (region, sector) cell of :attr:`index`."""
        return self._cap["s"]

    @property
    def cell_sector_years(self) -> np.ndarray:
        """Position in :attr:`sector_years` of each cell of :attr:`index`."""
        return self._cap["s"] * len(self.years) + self._cap["t"]

    def _where(self, index: pd.MultiIndex, columns: np.ndarray) -> dict[str, np.ndarray]:
        names = index.names
        out = {"cols": columns, "s": self.sectors.get_indexer(index.get_level_values("sector"))}
        if "region" in names:
            out["r"] = self.regions.get_indexer(index.get_level_values("region"))
        out["t"] = self.years.get_indexer(index.get_level_values("year"))
        return out

    def _rows(self, name: str) -> dict[str, np.ndarray] | None:
        block = self.lp.constraints.get(name)
        if block is None:
            return None
        out = {"rows": block.rows, "rhs": block.rhs.copy()}
        names = block.index.names
        if "sector" in names:
            out["s"] = self.sectors.get_indexer(block.index.get_level_values("sector"))
        if "region" in names:
            out["r"] = self.regions.get_indexer(block.index.get_level_values("region"))
        return out

    def _total(self, series: pd.Series) -> np.ndarray:
        by_sector = series.groupby(level="sector").sum() if len(series) else series
        return pd.Series(by_sector).reindex(self.sectors).fillna(0.0).to_numpy(float)

    # -- the arrays of a variant -------------------------------------------------------------
    def arrays(self, overrides: Overrides) -> dict[str, np.ndarray | dict]:
        """Costs (and each objective term), column upper bounds, row bounds and varied
        matrix coefficients of the model of ``overrides.apply(scenario)``."""
        structure = overrides.structure(self.scenario.parameters)
        base = self.scenario.parameters
        if structure != (bool(base.fiscal_limit), bool(base.min_plant_scale)):
            raise StructureMismatch(
                "overrides change fiscal_limit or min_plant_scale; use a model built with them"
            )
        p = {**base.__dict__, **overrides.parameters}
        S, R = self._sector, self._region
        capex = S["capex"] * overrides.multiplier("capex", self.sectors)
        rate = np.nan_to_num(
            R["financing_rate"] * overrides.multiplier("financing_rate", self.regions), nan=0.0
        )
        cf0 = R["cost_factor"]
        cf = np.where(np.isnan(cf0), 1.0, cf0 * overrides.multiplier("cost_factor", self.regions))
        fiscal = R["fiscal_capacity"] * overrides.multiplier("fiscal_capacity", self.regions)
        dm = overrides.multiplier("demand", self.sectors)
        em = overrides.multiplier("export", self.sectors)

        def ann(r: np.ndarray, s: np.ndarray) -> np.ndarray:
            return capex[s] * capital_recovery_factor(rate[r], S["asset_life"][s])

        terms: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}

        def add(term: str, cols: np.ndarray, coef: np.ndarray) -> None:
            terms.setdefault(term, []).append((cols, np.asarray(coef, float)))

        c = self._cap
        a_cap = ann(c["r"], c["s"])
        if self._tranche is not None:
            t = self._tranche
            add("capital", t["cols"], t["premium"] * ann(t["r"], t["s"]))
            add("fixed_om", t["cols"], t["premium"] * S["fixed_om"][t["s"]] * cf[t["r"]])
        add("capital", c["cols"], a_cap)
        add("fixed_om", c["cols"], S["fixed_om"][c["s"]] * cf[c["r"]])
        add("variable", self._prod_cols, S["variable_cost"][c["s"]] * cf[c["r"]])
        add("transport", *self._transport)
        upper = self._upper.copy()
        for name, scale in (("unmet", dm), ("unmet_export", em)):
            u = self._unmet[name]
            upper[u["cols"]] = self.lp.variables[name].upper * scale[u["s"]]
        g = self._grid
        per_output, per_capacity = supply_costs(
            ann(g["r"], g["s"]),
            S["fixed_om"][g["s"]],
            cf[g["r"]],
            S["max_utilisation"][g["s"]],
            S["variable_cost"][g["s"]],
            S["debt_share"][g["s"]],
            g["premium"],
            reserve_margin=p["reserve_margin"],
            stranded_weight=p["stranded_weight"],
            debt_weight=p["debt_weight"],
        )
        u, x = self._unmet["unmet"], self._unmet["unmet_export"]
        cols = np.concatenate([u["cols"], x["cols"]])
        s_pos = np.concatenate([u["s"], x["s"]])
        extra = oversize(
            g["min_scale"][s_pos], upper[cols], S["max_utilisation"][s_pos], p["reserve_margin"]
        )
        penalty = unmet_penalty(
            per_output.reshape(g["shape"]),
            per_capacity.reshape(g["shape"]),
            S["transport_cost"],
            g["reach_km"],
            np.concatenate([u["node"], x["node"]]),
            s_pos,
            extra,
            p["unmet_penalty_factor"],
        )
        add("unmet_penalty", u["cols"], penalty[: u["cols"].size])
        add("unmet_penalty", x["cols"], penalty[u["cols"].size :])
        w, wd = p["stranded_weight"], p["debt_weight"]
        if w > 0:
            add("stranded", c["cols"], w * a_cap)
            add("stranded", self._prod_cols, -w * a_cap / S["max_utilisation"][c["s"]])
        if wd > 0:
            add("debt", c["cols"], wd * S["debt_share"][c["s"]] * a_cap)
        merged = {
            t: (np.concatenate([x[0] for x in parts]), np.concatenate([x[1] for x in parts]))
            for t, parts in terms.items()
        }
        cost = np.zeros(len(self._cost))
        for cols, coef in merged.values():
            np.add.at(cost, cols, coef)

        row_lower, row_upper = self._row_lower.copy(), self._row_upper.copy()
        for rows, scale in ((self._balance, dm), (self._absorption, em)):
            if rows is not None:
                rhs = rows["rhs"] * scale[rows["s"]]
                row_lower[rows["rows"]] = rhs
                row_upper[rows["rows"]] = rhs
        coeffs: dict[str, np.ndarray] = {
            "production_limit": np.full(len(self._limit_rows), 1.0 + p["reserve_margin"])
        }
        if self._fiscal is not None:
            f = self._fiscal
            service = S["debt_share"][c["s"]] * a_cap
            row_upper[f["rows"]] = fiscal_limit(
                fiscal[f["r"]], service, self._observed, f["cell_row"], f["rows"].size
            )
            _, _, k = self._fiscal_entries
            coeffs["fiscal_limit"] = service[k]
        if self._build is not None:
            b = self._build
            need = dm * self._demand0 + em * self._exports0
            big = (1.0 + p["reserve_margin"]) * need[b["s"]] / S["max_utilisation"][b["s"]]
            coeffs["build_link"] = -np.maximum(np.maximum(big, b["scale"]), b["held"])
        return {
            "cost": cost,
            "terms": merged,
            "upper": upper,
            "row_lower": row_lower,
            "row_upper": row_upper,
            "coeffs": coeffs,
            "capex": capex,
        }

    def matrix_entries(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, columns) of the varied coefficients ``arrays()["coeffs"][name]``."""
        if name == "production_limit":
            return self._limit_rows, self._prod_cols
        if name == "fiscal_limit":
            rows, cols, _ = self._fiscal_entries
            return rows, cols
        if name == "build_link":
            return self._build["rows"], self._build["cols"]
        raise KeyError(name)

    # -- solving ------------------------------------------------------------------------------
    def solve(self, overrides: Overrides, *, ties: bool = True) -> VariantResult:
        """Push the variant's arrays into HiGHS, re-solve warm, and reduce the solution."""
        new = self.arrays(overrides)
        h = self.h
        changed = np.flatnonzero(new["cost"] != self._cost)
        if changed.size:
            h.changeColsCost(changed.size, changed, new["cost"][changed])
        changed = np.flatnonzero(new["upper"] != self._upper)
        if changed.size:
            h.changeColsBounds(changed.size, changed, self._lower[changed], new["upper"][changed])
        changed = np.flatnonzero(
            (new["row_lower"] != self._row_lower) | (new["row_upper"] != self._row_upper)
        )
        if changed.size:
            highs.change_rows_bounds(
                h, changed, new["row_lower"][changed], new["row_upper"][changed]
            )
        for name, values in new["coeffs"].items():
            old = self._coeffs.get(name)
            if old is None:
                old = self._initial_coeffs(name)
            rows, cols = self.matrix_entries(name)
            for k in np.flatnonzero(values != old):
                h.changeCoeff(int(rows[k]), int(cols[k]), float(values[k]))
            self._coeffs[name] = values
        self._cost, self._upper = new["cost"], new["upper"]
        self._row_lower, self._row_upper = new["row_lower"], new["row_upper"]
        status, solve_s = highs.run_model(h)
        if not status.ok:
            # Start the next variant from scratch rather than from a failed basis.
            h.clearSolver()
            return VariantResult(self.mode, status, float("nan"), solve_s=solve_s)
        x = np.asarray(h.getSolution().col_value)
        return self._reduce(x, new, h.getInfo().objective_function_value, solve_s, ties)

    def _initial_coeffs(self, name: str) -> np.ndarray:
        rows, cols = self.matrix_entries(name)
        a = self.lp.matrix("csr")
        return np.asarray(a[rows, cols]).ravel()

    def _reduce(self, x, new, objective: float, solve_s: float, ties: bool) -> VariantResult:
        S, c = self._sector, self._cap
        cap, prod = x[c["cols"]], x[self._prod_cols]
        umax = S["max_utilisation"][c["s"]]
        stranded = np.clip(cap - prod / umax, 0.0, None)
        capex = new["capex"][c["s"]]
        share = S["debt_share"][c["s"]]
        n_t = len(self.years)
        unmet = np.zeros(len(self.sector_years))
        for name in ("unmet", "unmet_export"):
            u = self._unmet[name]
            np.add.at(unmet, u["s"] * n_t + u["t"], x[u["cols"]])
        year_of = self._column_year
        year_terms = {}
        for t, (cols, coef) in new["terms"].items():
            year_terms[t] = np.bincount(year_of[cols], coef * x[cols], minlength=n_t)
        return VariantResult(
            mode=self.mode,
            status=Status.OPTIMAL,
            objective=float(objective),
            terms={t: float(np.dot(coef, x[cols])) for t, (cols, coef) in new["terms"].items()},
            capacity=cap,
            production=prod,
            stranded_capacity=stranded,
            capital_cny_bn=capex * cap,
            stranded_capital_cny_bn=capex * stranded,
            stranded_debt_cny_bn=share * capex * stranded,
            unmet=unmet,
            year_terms=year_terms,
            alternative_optima=(
                highs.has_ties(
                    self.h,
                    bounds=(self._lower, self._upper, self._row_lower, self._row_upper),
                )
                if ties
                else None
            ),
            solve_s=solve_s,
        )
