"""Results of one solve as tidy DataFrames, each carrying its name and unit.

Money is in CNY bn (stocks) or CNY bn/yr (flows); quantities in each sector's units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.backends import Solution
from optimizer.formulation import ModelData
from optimizer.lp import LinearProgram
from optimizer.solver_log import tail
from optimizer.status import SolveError, Status

TERM_UNITS = "CNY bn/yr"
#: The tables of an optimal result (``fiscal_values`` only with the fiscal limit, the
#: dual tables only where the backend gives duals).
TABLES = (
    "allocation",
    "shipments",
    "exports",
    "unmet",
    "debt",
    "costs",
    "marginal_costs",
    "capacity_values",
    "fiscal_values",
)


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
        A :class:`~optimizer.status.Status`. A solve that did not reach optimality has
        no figures: ``objective`` and ``total_cost`` are NaN, ``tables`` is empty, and
        asking for a table (``result.allocation``) raises
        :class:`~optimizer.status.SolveError` naming the status and what to do.
    objective
        Objective value, CNY bn/yr.
    tables
        ``allocation`` (region x sector: capacity, production, utilisation, idle capacity
        ``cap - prod``, stranded capacity ``cap - prod / max_utilisation`` (not needed even
        at full usable output), their capital value and the debt tied to them),
        ``shipments``, ``exports``, ``unmet``, ``debt`` (by region), ``costs`` (one row
        per objective term), ``marginal_costs`` (duals of the demand balance),
        ``capacity_values`` and ``fiscal_values`` (duals of the limits).
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

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        if name in TABLES and "status" in self.__dict__:
            self.raise_for_status()
        raise AttributeError(name)

    def raise_for_status(self) -> None:
        """Raise :class:`~optimizer.status.SolveError` unless the solve was optimal."""
        if not self.status.ok:
            raise SolveError(self.mode, self.status, tail(self.log))

    @property
    def total_cost(self) -> float:
        """Resource cost (CNY bn/yr): capital, O&M, transport and unmet-demand penalty,
        without the stranded and debt weights; NaN unless the solve was optimal."""
        if not self.status.ok:
            return float("nan")
        c = self.tables["costs"].set_index("term")["value"]
        return float(c.drop(["stranded", "debt"], errors="ignore").sum())


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
    capex = sectors["capex"].reindex(s).to_numpy()
    share = sectors["debt_share"].reindex(s).to_numpy()
    umax = sectors["max_utilisation"].reindex(s).to_numpy()
    idle = np.clip(cap.to_numpy() - prod.to_numpy(), 0.0, None)
    # Stranded: capacity not needed even at maximum utilisation (idle beyond maintenance).
    stranded = np.clip(cap.to_numpy() - prod.to_numpy() / umax, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(cap.to_numpy() > 0, prod.to_numpy() / cap.to_numpy(), np.nan)
    alloc = pd.DataFrame(
        {
            "capacity": cap.to_numpy(),
            "production": prod.to_numpy(),
            "utilisation": util,
            "idle_capacity": idle,
            "stranded_capacity": stranded,
            "capital_cny_bn": capex * cap.to_numpy(),
            "stranded_capital_cny_bn": capex * stranded,
            "debt_cny_bn": share * capex * cap.to_numpy(),
            "stranded_debt_cny_bn": share * capex * stranded,
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
        "exports": _quantities(v["export"], data, "exports through coastal regions"),
        "unmet": _unmet(v, data, alloc),
        "debt": _debt(alloc, cap, data),
        "costs": named(
            pd.DataFrame(
                [(t, val, TERM_UNITS) for t, val in lp.term_values(sol.x).items()],
                columns=["term", "value", "unit"],
            ),
            "objective terms",
            TERM_UNITS,
        ),
    }
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
            tables["fiscal_values"] = named(
                f.assign(unit="CNY bn/yr per CNY bn/yr"),
                "value of one more unit of fiscal capacity",
                "dimensionless",
            )
    result.tables = tables
    return result


def _quantities(series: pd.Series, data: ModelData, name: str) -> pd.DataFrame:
    frame = series.rename("quantity").reset_index()
    frame = frame.loc[frame["quantity"] > 1e-9].reset_index(drop=True)
    frame["unit"] = data.sectors["output_unit"].reindex(frame["sector"]).to_numpy()
    return named(frame, name, "output units")


def _unmet(v: dict[str, pd.Series], data: ModelData, alloc: pd.DataFrame) -> pd.DataFrame:
    """Unserved demand by region (``export`` for export absorption), with the reason."""
    dom = v["unmet"].rename("quantity").reset_index()
    exp = v["unmet_export"].rename("quantity").reset_index().assign(region="export")
    frame = pd.concat([dom, exp[dom.columns]], ignore_index=True)
    frame = frame.loc[frame["quantity"] > 1e-9].reset_index(drop=True)
    frame["unit"] = data.sectors["output_unit"].reindex(frame["sector"]).to_numpy()
    frame["reason"] = [_why_unmet(s, data, alloc) for s in frame["sector"]]
    return named(frame, "unmet demand", "output units")


def _why_unmet(sector: str, data: ModelData, alloc: pd.DataFrame) -> str:
    a = alloc.loc[alloc["sector"] == sector]
    usable = float((a["capacity"] * data.sectors.loc[sector, "max_utilisation"]).sum())
    need = (
        float(data.demand.xs(sector, level="sector").sum())
        if sector in set(data.demand.index.get_level_values("sector"))
        else 0.0
    )
    need += float(data.exports.get((sector, data.years[0]), 0.0))
    if data.mode == "observed":
        return (
            f"observed capacity can supply at most {usable:,.4g} of the {need:,.4g} "
            "demanded (domestic plus export); the rest cannot be served"
        )
    return (
        f"capacity that can be financed within the regions' fiscal limits supplies "
        f"{usable:,.4g} of the {need:,.4g} demanded; the fiscal limits bind (see the "
        "debt table), so the rest is unserved"
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
