"""Results of one solve as tidy DataFrames, each carrying its name and unit.

Money is in CNY bn (stocks) or CNY bn/yr (flows); quantities in each sector's units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.model.backends import Solution
from optimizer.model.economics import capacity_metrics
from optimizer.model.formulation import EXPORT, PORT_GROUP, ModelData
from optimizer.model.lp import LinearProgram
from optimizer.model.solver_log import tail
from optimizer.model.status import SolveError, Status

TERM_UNITS = "CNY bn/yr"
#: The tables of an optimal result (``fiscal_values`` only with the fiscal limit, the
#: dual tables only where the backend gives duals).
TABLES = (
    "allocation",
    "shipments",
    "exports",
    "unmet",
    "debt",
    "fiscal_limits_exceeded",
    "costs",
    "sector_costs",
    "marginal_costs",
    "capacity_values",
    "fiscal_values",
    "non_unique",
    "ports",
)
#: Objective terms that are not resource costs: the unmet-demand penalty (a device that
#: makes serving demand pay; unmet demand is reported as quantities) and the weights on
#: stranded capacity and debt (they steer the plan).
NON_RESOURCE_TERMS = ("unmet_penalty", "stranded", "debt")
#: Relative tolerance for "at its limit" when explaining unmet demand.
_AT_LIMIT = 1e-6
RST = ["region", "sector", "year"]


def named(frame: pd.DataFrame, name: str, unit: str) -> pd.DataFrame:
    """Attach a table name and unit (``frame.attrs``); returns the frame."""
    frame.attrs.update(name=name, unit=unit)
    return frame


@dataclass
class Result:
    """The outcome of :func:`optimizer.solve` or :func:`optimizer.evaluate_observed`.

    Attributes
    ----------
    mode
        ``coordinated`` or ``observed``.
    status
        A :class:`~optimizer.model.status.Status`. A solve that did not reach optimality has
        no figures: ``objective`` and ``total_cost`` are NaN, ``tables`` is empty, and
        asking for a table (``result.allocation``) raises
        :class:`~optimizer.model.status.SolveError` naming the status and what to do.
    objective
        Objective value, CNY bn/yr.
    tables
        ``allocation`` (region x sector x year: capacity, production, utilisation, idle
        capacity ``cap - prod``, stranded capacity ``cap - prod / max_utilisation`` (not
        needed even at full usable output), their capital value and the debt tied to
        them), ``shipments`` (arc x sector x year), ``exports``, ``unmet`` (quantities by
        region, sector and year, with the ``cause`` and a ``reason`` in words), ``debt``
        (by region and year), ``fiscal_limits_exceeded`` (regions and years whose debt
        service exceeds the fiscal capacity, and by how much), ``costs`` (one row per
        objective term and year), ``sector_costs`` (each term by sector and year),
        ``marginal_costs`` (duals of the demand balance, by
        region, sector and year), ``capacity_values`` and ``fiscal_values`` (duals of
        the limits, by their rows' region, sector and year), ``non_unique`` (the
        quantities that differ between optimal solutions, :mod:`optimizer.model.ties`;
        HiGHS backend only). Every table carries a
        ``year`` column (today one year, the scenario's ``base_year``), so a model with
        several years has the same tables.
    """

    mode: str
    status: Status
    objective: float
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    solver: str = ""
    backend: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    message: str = ""
    alternative_optima: bool | None = None
    options: dict = field(default_factory=dict)
    #: The solver's output during the solve (kept off stdout).
    log: str = ""
    #: For a MILP (lumpy plants): the LP relaxation's objective, a lower bound on the
    #: optimum (CNY bn/yr); NaN for an LP or where it did not solve.
    lp_relaxation: float = float("nan")

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        if name in TABLES and "status" in self.__dict__:
            self.raise_for_status()
        raise AttributeError(name)

    def raise_for_status(self) -> None:
        """Raise :class:`~optimizer.model.status.SolveError` unless the solve was optimal."""
        if not self.status.ok:
            raise SolveError(self.mode, self.status, tail(self.log))

    @property
    def total_cost(self) -> float:
        """Resource cost (CNY bn/yr): capital, fixed O&M, variable cost and transport.

        Without the unmet-demand penalty (unmet demand is reported as quantities, in the
        ``unmet`` table) and without the stranded and debt weights; summed over the
        model's years, as the objective sums them (by year: the ``costs`` table); NaN
        unless the solve was optimal."""
        if not self.status.ok:
            return float("nan")
        c = self.tables["costs"].set_index("term")["value"]
        return float(c.drop(list(NON_RESOURCE_TERMS), errors="ignore").sum())


def collect(lp: LinearProgram, data: ModelData, sol: Solution) -> Result:
    """Turn a backend's solution into result tables."""
    if sol.status.ok and not (np.isfinite(sol.objective) and np.isfinite(sol.x).all()):
        # An "optimal" answer with overflowing numbers is numerical trouble, not a figure.
        sol.status, sol.message = Status.NUMERICAL, Status.NUMERICAL.explain()
    result = Result(
        mode=data.mode,
        status=sol.status,
        objective=sol.objective,
        solver=f"{sol.solver} {sol.solver_version}".strip(),
        backend=sol.backend,
        timings=dict(sol.timings),
        message=sol.message,
        alternative_optima=sol.alternative_optima,
        log=sol.log,
    )
    if not sol.status.ok:
        result.objective = float("nan")
        return result
    v = lp.split(sol.x)
    cap, prod = v["capacity"], v["production"]
    idx = cap.index
    sectors = data.sectors
    s = idx.get_level_values("sector")
    k, q = cap.to_numpy(), prod.to_numpy()
    # Stranded: capacity not needed even at maximum utilisation (idle beyond maintenance).
    metrics = capacity_metrics(
        k,
        q,
        sectors["capex"].reindex(s).to_numpy(),
        sectors["debt_share"].reindex(s).to_numpy(),
        sectors["max_utilisation"].reindex(s).to_numpy(),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(k > 0, q / k, np.nan)
    alloc = pd.DataFrame(
        {
            "capacity": k,
            "production": q,
            "utilisation": util,
            "idle_capacity": np.clip(k - q, 0.0, None),
            "stranded_capacity": metrics["stranded_capacity"],
            "capital_cny_bn": metrics["capital_cny_bn"],
            "stranded_capital_cny_bn": metrics["stranded_capital_cny_bn"],
            "debt_cny_bn": metrics["debt_cny_bn"],
            "stranded_debt_cny_bn": metrics["stranded_debt_cny_bn"],
            # Plants (lumpy plants switched on; NaN where the sector's plants are not modelled).
            "plants": _plants(v, idx),
            "capacity_unit": sectors["capacity_unit"].reindex(s).to_numpy(),
            # Quality flag of the observed capacity figure (none where nothing was observed).
            "observed_quality": data.observed_quality.reindex(idx).fillna("none").to_numpy(),
            "output_unit": sectors["output_unit"].reindex(s).to_numpy(),
        },
        index=idx,
    ).reset_index()
    tables = {
        "allocation": named(alloc, "allocation by region and sector", "sector units; CNY bn"),
        "shipments": _quantities(v["shipment"], data, "shipments along network arcs"),
        "exports": _quantities(
            v["export"].groupby(level=RST, sort=False).sum(), data, "exports by region"
        ),
        "unmet": _unmet(lp, data, sol),
        "debt": _debt(alloc, cap, data),
        "costs": _costs(lp, data, sol.x),
        "sector_costs": _sector_costs(lp, data, sol.x),
    }
    if not data.ports.empty:
        tables["ports"] = _ports(v["export"], data)
    tables["fiscal_limits_exceeded"] = fiscal_excess(tables["debt"])
    if sol.face is not None:
        tables["non_unique"] = _non_unique(lp, data, sol)
    if sol.row_duals is not None:
        duals = lp.split_rows(sol.row_duals)
        tables["marginal_costs"] = _dual_table(
            duals["demand_balance"],
            data,
            "marginal cost of meeting demand",
            "CNY bn per output unit",
        )
        tables["capacity_values"] = _dual_table(
            -duals["production_limit"],
            data,
            "value of one more unit of usable output",
            "CNY bn per output unit",
        )
        if "fiscal_limit" in duals:
            f = (-duals["fiscal_limit"]).rename("value").reset_index()
            # The limit the row enforces: fiscal capacity, or the observed buildout's debt
            # service where that is larger (docs/model.md).
            f["limit_cny_bn_per_yr"] = lp.constraints["fiscal_limit"].rhs
            tables["fiscal_values"] = named(
                f.assign(unit="CNY bn/yr per CNY bn/yr"),
                "value of one more unit of fiscal capacity",
                "dimensionless",
            )
    result.tables = tables
    return result


def _costs(lp: LinearProgram, data: ModelData, x: np.ndarray) -> pd.DataFrame:
    """Each objective term by year (CNY bn/yr): one row per term and model year, zero
    where the term has no cost in that year. Every variable block is indexed by year, so
    each cost falls in the year of its column; the rows of a term add up to its value."""
    years = pd.Index(data.years, name="year")
    year_of = lp.column_positions("year", years)
    rows = []
    for term, (cols, coef) in lp.objective_terms.items():
        when = year_of[cols]
        for t, year in enumerate(years):
            # A dot product per year, as lp.term_values: one year gives the same bits.
            mine = when == t
            rows.append((term, year, float(np.dot(coef[mine], x[cols[mine]])), TERM_UNITS))
    frame = pd.DataFrame(rows, columns=["term", "year", "value", "unit"])
    return named(frame.astype({"year": int}), "objective terms by year", TERM_UNITS)


def _sector_costs(lp: LinearProgram, data: ModelData, x: np.ndarray) -> pd.DataFrame:
    """Each objective term by sector and year (CNY bn/yr): every variable block is indexed
    by sector and year, so each cost falls in its column's sector and year. The rows of a
    term add up to its value (one row per term, sector and year, zeros included)."""
    years = pd.Index(data.years, name="year")
    sectors = data.sectors.index
    n_t = len(years)
    cell = lp.column_positions("sector", sectors) * n_t + lp.column_positions("year", years)
    n = len(sectors) * n_t
    frames = []
    for term, (cols, coef) in lp.objective_terms.items():
        value = np.bincount(cell[cols], coef * x[cols], minlength=n)
        frames.append(
            pd.DataFrame(
                {
                    "term": term,
                    "sector": np.repeat(sectors.to_numpy(), n_t),
                    "year": np.tile(years.to_numpy(), len(sectors)),
                    "value": value,
                }
            )
        )
    columns = ["term", "sector", "year", "value"]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    frame["unit"] = TERM_UNITS
    return named(frame.astype({"year": int}), "objective terms by sector and year", TERM_UNITS)


#: Units of a variable block by its ``unit`` declaration (lp.add_variables).
_BLOCK_UNITS = {"capacity units": "capacity_unit", "output units": "output_unit"}


def _non_unique(lp: LinearProgram, data: ModelData, sol: Solution) -> pd.DataFrame:
    """The quantities that differ between optimal solutions (:mod:`optimizer.model.ties`):
    one row per variable cell, with its value here, ``max_shift`` (how far one edge of
    the optimal face moves it, in its unit) and ``certain`` (False: only a degenerate,
    zero-step edge touches it, so it may be unique after all). Empty when the optimum
    is unique."""
    face = sol.face
    frames = []
    for name, block in lp.variables.items():
        inside = (face.columns >= block.start) & (face.columns < block.start + block.size)
        if not inside.any():
            continue
        pos = face.columns[inside] - block.start
        labels = block.index[pos].to_frame(index=False)
        labels = labels.rename(columns={"from_region": "region"})
        sector = labels["sector"].to_numpy()
        unit = _BLOCK_UNITS.get(block.unit)
        frames.append(
            labels.assign(
                variable=name,
                value=sol.x[face.columns[inside]],
                max_shift=face.max_shift[inside],
                unit=data.sectors[unit].reindex(sector).to_numpy() if unit else block.unit,
                certain=face.certain[inside],
            )
        )
    columns = ["variable", "region", "to_region", "sector", "year", "value", "max_shift"]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    frame = frame.reindex(columns=[*columns, "unit", "certain"])
    # Export absorption has no region (as in ``unmet``); only shipments have a destination.
    # (as object first: a column no block has is all-NaN floats)
    frame["region"] = frame["region"].astype(object).fillna(EXPORT)
    frame["to_region"] = frame["to_region"].astype(object).fillna("")
    return named(frame, "quantities that differ between optimal solutions", "sector units")


def _plants(v: dict[str, pd.Series], index: pd.MultiIndex) -> np.ndarray:
    """Plant count per capacity cell: decided (``plants``) or held (``plants_held``)."""
    out = np.full(len(index), np.nan)
    for name in ("plants", "plants_held"):
        if name in v:
            out[index.get_indexer(v[name].index)] = v[name].to_numpy()
    return out


def _quantities(series: pd.Series, data: ModelData, name: str) -> pd.DataFrame:
    frame = series.rename("quantity").reset_index()
    frame = frame.loc[frame["quantity"] > 1e-9].reset_index(drop=True)
    frame["unit"] = data.sectors["output_unit"].reindex(frame["sector"]).to_numpy()
    return named(frame, name, "output units")


def _ports(exports: pd.Series, data: ModelData) -> pd.DataFrame:
    """Exports by port, sector and year (output units), with the port's name and region
    and its ``share`` of the sector's exports that year (NaN where the sector exports
    nothing); every port and export sector, zeros included. A sector without sea freight
    has one row per port region, its ``port`` the region's ports joined by ``+``."""
    frame = exports.rename("value").reset_index()
    # A port group (the ports of a region, for a sector without sea freight) is named
    # after its ports.
    names = data.ports["name"]
    frame["name"] = [
        " + ".join(names.get(p, p) for p in label.split(PORT_GROUP)) for label in frame["port"]
    ]
    total = frame.groupby(["sector", "year"])["value"].transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["share"] = np.where(total > 1e-12, frame["value"] / total, np.nan)
    frame["unit"] = data.sectors["output_unit"].reindex(frame["sector"]).to_numpy()
    frame = frame[["port", "name", "region", "sector", "year", "value", "unit", "share"]]
    return named(frame, "exports by port", "output units")


def _unmet(lp: LinearProgram, data: ModelData, sol: Solution) -> pd.DataFrame:
    """Unserved demand by region (``export`` for export absorption), in output units, with
    why it is unserved: ``cause`` (a code, see :func:`_why_unmet`) and ``reason`` (words)."""
    v = lp.split(sol.x)
    dom = v["unmet"].rename("quantity").reset_index()
    exp = v["unmet_export"].rename("quantity").reset_index().assign(region=EXPORT)
    frame = pd.concat([dom, exp[dom.columns]], ignore_index=True)
    frame = frame.loc[frame["quantity"] > 1e-9].reset_index(drop=True)
    frame["unit"] = data.sectors["output_unit"].reindex(frame["sector"]).to_numpy()
    causes = _why_unmet(frame, lp, data, sol)
    frame["cause"], frame["reason"] = causes["cause"], causes["reason"]
    return named(frame, "unmet demand", "output units")


#: Causes of unmet demand (``unmet.cause``; several are joined with "+").
UNMET_CAUSES = {
    "no_producer_reachable": "no producing region can reach it over the transport network",
    "capacity_exhausted": "fixed capacity fully used (max_utilisation x capacity / "
    "(1 + reserve_margin))",
    "fiscal_limit": "fiscal limit binding",
    "capacity_limit": "regional capacity limit reached",
    "min_plant_scale": "no plant built (a new one must reach the minimum plant scale)",
    "penalty_below_cost": "room to supply more, but serving costs more than the penalty",
}


def _producer_state(lp: LinearProgram, data: ModelData, sol: Solution) -> pd.DataFrame:
    """Per capacity cell (producer, sector, year): can it supply one more unit, and if
    not, which limit stops it (boolean columns named after :data:`UNMET_CAUSES`;
    ``absent`` where the region's capacity of the sector is fixed at zero)."""
    x = sol.x
    cap = lp.variables["capacity"]
    k = x[cap.columns]
    prod = x[lp.variables["production"].columns]
    u = data.sectoral("max_utilisation", cap.index)
    usable = u * k / (1.0 + data.parameters.reserve_margin)
    tol = _AT_LIMIT * np.maximum(1.0, np.abs(usable))
    spare = usable - prod > tol
    fixed = cap.lower == cap.upper
    state = pd.DataFrame(index=cap.index)
    # Fixed at zero: the region does not produce the sector (it cannot supply it at all).
    state["absent"] = fixed & (cap.upper <= 0)
    state["capacity_exhausted"] = fixed & ~spare
    fiscal = np.zeros(cap.size, bool)
    block = lp.constraints.get("fiscal_limit")
    if block is not None:
        rows = block.index.get_indexer(
            pd.MultiIndex.from_arrays(
                [cap.index.get_level_values("region"), cap.index.get_level_values("year")]
            )
        )
        activity = lp.matrix("csr")[block.rows] @ x
        binding = activity >= block.rhs - _AT_LIMIT * np.maximum(1.0, np.abs(block.rhs))
        if sol.row_duals is not None:
            binding |= np.abs(np.asarray(sol.row_duals)[block.rows]) > 1e-9
        fiscal = (rows >= 0) & binding[np.maximum(rows, 0)] & (data.debt_service(cap.index) > 0)
    state["fiscal_limit"] = ~fixed & fiscal
    limit = np.full(cap.size, np.inf)
    if "tranche" in lp.variables:
        tr = lp.variables["tranche"]
        rst = pd.MultiIndex.from_arrays([tr.index.get_level_values(n) for n in RST])
        total = pd.Series(tr.upper).groupby(cap.index.get_indexer(rst)).sum()
        limit[total.index.to_numpy()] = total.to_numpy()
    finite = np.isfinite(limit)
    room = np.where(finite, limit, 0.0)
    at_limit = finite & (k >= room - _AT_LIMIT * np.maximum(1.0, room))
    state["capacity_limit"] = ~fixed & at_limit
    no_plant = np.zeros(cap.size, bool)
    if "plants" in lp.variables:
        b = lp.variables["plants"]
        pos = cap.index.get_indexer(b.index)
        no_plant[pos] = x[b.columns] < 0.5
    state["min_plant_scale"] = ~fixed & no_plant
    blocked = state[["fiscal_limit", "capacity_limit", "min_plant_scale"]].any(axis=1)
    state["penalty_below_cost"] = spare | (~fixed & ~blocked.to_numpy())
    return state


def _why_unmet(
    frame: pd.DataFrame, lp: LinearProgram, data: ModelData, sol: Solution
) -> pd.DataFrame:
    """Why each unmet row is unmet, computed from the solution.

    For the producers of the sector (regions whose capacity is not fixed at zero) that
    can reach the row's region over the network (for exports: a region with an export
    port, or any coastal region without a ports table), the limits that stop each one
    from supplying more: ``cause`` is ``no_producer_reachable`` if there is none,
    otherwise the limits found among them (``capacity_exhausted`` for fixed capacity at
    maximum utilisation, ``fiscal_limit`` for a binding fiscal-limit row,
    ``capacity_limit`` for a region at its capacity limit, ``min_plant_scale`` for a
    region without a plant in the MILP), joined with "+"; ``penalty_below_cost`` if some
    producer could still supply more (only where a minimum plant scale or a reshuffle
    makes serving dearer than the penalty).
    """
    if frame.empty:
        return pd.DataFrame({"cause": pd.Series(dtype=str), "reason": pd.Series(dtype=str)})
    state = _producer_state(lp, data, sol)
    region = state.index.get_level_values("region")
    sector = state.index.get_level_values("sector").to_numpy()
    year = state.index.get_level_values("year").to_numpy()
    reach = data.reach_km.reindex(region)
    present = ~state["absent"].to_numpy()
    causes, reasons = [], []
    for r, s, t in frame[["region", "sector", "year"]].itertuples(index=False):
        where = "a region exports leave from" if r == EXPORT else r
        cells = (sector == s) & (year == t)
        near = cells & present & np.isfinite(reach[r].to_numpy(float))
        if not near.any():
            causes.append("no_producer_reachable")
            reasons.append(f"no producing region can reach {where} over the transport network")
            continue
        sub = state.loc[near]
        if sub["penalty_below_cost"].any():
            found = ["penalty_below_cost"]
        else:
            found = [c for c in UNMET_CAUSES if c in sub and sub[c].any()]
        parts = []
        for c in found:
            names = sub.index[sub[c].to_numpy()].get_level_values("region")
            listed = ", ".join(names[:5]) + (f" (+{len(names) - 5} more)" if len(names) > 5 else "")
            parts.append(f"{UNMET_CAUSES[c]} in {listed}")
        n = int(near.sum())
        causes.append("+".join(found))
        reasons.append(
            f"the {n} producing region{'s' if n > 1 else ''} that can reach {where} cannot "
            f"supply more: {'; '.join(parts)}"
        )
    return pd.DataFrame({"cause": causes, "reason": reasons})


def fiscal_excess(debt: pd.DataFrame) -> pd.DataFrame:
    """Regions whose annual debt service exceeds their fiscal capacity, from a ``debt``
    table: the excess (CNY bn/yr) and the debt beyond what the fiscal capacity can
    service, ``debt x excess / debt service`` (CNY bn; the share of the region's debt
    whose service does not fit). Measured whether or not the fiscal limit is imposed."""
    service = debt["debt_service_cny_bn_per_yr"]
    fiscal = debt.get("fiscal_capacity_cny_bn_per_yr", pd.Series(np.nan, index=debt.index))
    excess = service - fiscal.astype(float)
    over = excess > _AT_LIMIT * np.maximum(1.0, service.abs())
    frame = debt.loc[over, ["region", "year", "debt_cny_bn", "debt_service_cny_bn_per_yr"]].copy()
    frame["fiscal_capacity_cny_bn_per_yr"] = fiscal[over].to_numpy(float)
    frame["excess_debt_service_cny_bn_per_yr"] = excess[over].to_numpy(float)
    frame["debt_beyond_fiscal_capacity_cny_bn"] = (
        frame["debt_cny_bn"] * frame["excess_debt_service_cny_bn_per_yr"]
        / frame["debt_service_cny_bn_per_yr"]
    )  # fmt: skip
    return named(
        frame.reset_index(drop=True),
        "fiscal limits exceeded: debt service beyond fiscal capacity, by region",
        "CNY bn/yr; CNY bn",
    )


def _debt(alloc: pd.DataFrame, cap: pd.Series, data: ModelData) -> pd.DataFrame:
    service = pd.Series(data.debt_service(cap.index) * cap.to_numpy(), index=cap.index)
    frame = alloc.groupby(["region", "year"])[["debt_cny_bn", "stranded_debt_cny_bn"]].sum()
    frame["debt_service_cny_bn_per_yr"] = service.groupby(level=["region", "year"]).sum()
    fiscal = data.regions["fiscal_capacity"].reindex(frame.index.get_level_values("region"))
    frame["fiscal_capacity_cny_bn_per_yr"] = fiscal.to_numpy()
    frame["fiscal_headroom_cny_bn_per_yr"] = (
        frame["fiscal_capacity_cny_bn_per_yr"] - frame["debt_service_cny_bn_per_yr"]
    )
    return named(frame.reset_index(), "local debt by region", "CNY bn; CNY bn/yr")


def _dual_table(series: pd.Series, data: ModelData, name: str, unit: str) -> pd.DataFrame:
    frame = series.rename("value").reset_index()
    frame["unit"] = "CNY bn/" + data.sectors["output_unit"].reindex(frame["sector"]).to_numpy()
    return named(frame, name, unit)
