"""The coordination model, declared once as a :class:`~optimizer.model.lp.LinearProgram`.

One function per variable or constraint family; each docstring states its equation
(symbols and units in ``docs/model.md``). :func:`build` assembles them for a mode:

- ``coordinated``: capacity is decided (where should it be?);
- ``observed``: capacity is fixed to the observed buildout and the LP finds its best use,
  so stranded capacity, debt and cost are measured on the same terms as the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import coo_array
from scipy.sparse.csgraph import shortest_path

from optimizer.errors import Issue, ScenarioError
from optimizer.model.lp import LinearProgram
from optimizer.scenario.parameters import MODES, ModelParameters
from optimizer.scenario.scenario import Scenario

RTY = ["region", "sector", "year"]
#: Label of export absorption where tables are indexed by region (unmet demand, penalties).
EXPORT = "export"
#: Relative margin by which the unmet-demand penalty exceeds the dearest way of serving a
#: unit: at ``unmet_penalty_factor = 1`` serving is then strictly cheaper, not a tie the
#: solver may break either way (1e-4 stays well above HiGHS's 1e-7 dual tolerance).
PENALTY_MARGIN = 1e-4


def capital_recovery_factor(rate: np.ndarray, life: np.ndarray) -> np.ndarray:
    """Annuity factor (1/yr) turning an overnight cost into equal annual payments.

    ``crf = i (1 + i)^n / ((1 + i)^n - 1)``, and ``1 / n`` where ``i = 0``.

    Examples
    --------
    >>> round(float(capital_recovery_factor(np.array(0.05), np.array(20.0))), 5)
    0.08024
    """
    rate, life = np.asarray(rate, dtype=float), np.asarray(life, dtype=float)
    growth = np.power(1.0 + rate, life)
    with np.errstate(divide="ignore", invalid="ignore"):
        crf = np.where(rate > 0, rate * growth / (growth - 1.0), 1.0 / life)
    return crf


@dataclass
class ModelData:
    """The numbers the formulation needs, aligned on its index sets.

    Attributes are pandas objects in model units: money in CNY bn, quantities in each
    sector's units, distances in km.
    """

    mode: str
    years: list[int]
    nodes: pd.Index  # every region (demand and transit)
    producers: pd.Index  # regions where capacity may exist
    sectors: pd.DataFrame  # per sector: capex, fixed_om, ... (sector_table)
    regions: pd.DataFrame  # per region: financing_rate, fiscal_capacity, cost_factor, ...
    arcs: pd.DataFrame  # from_region, to_region, distance_km
    demand: pd.Series  # (region, sector, year) -> output units
    exports: pd.Series  # (sector, year) -> output units
    observed: pd.Series  # (region, sector, year) -> capacity units
    penalty: pd.Series  # (region or "export", sector, year) -> CNY bn per output unit
    tranches: pd.DataFrame  # region, sector, tranche, max_capacity, cost_multiplier
    observed_quality: pd.Series  # (region, sector, year) -> reported / estimated / assumed
    parameters: ModelParameters = field(default_factory=ModelParameters)
    # producer x (node..., "export"): shortest-path km from each producer to each node, and
    # to the nearest coastal region (exports); inf where the network has no path.
    reach_km: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, mode: str = "coordinated", arcs: pd.DataFrame | None = None
    ) -> ModelData:
        """Collect and align the model inputs of a validated scenario."""
        if mode not in MODES:
            raise ScenarioError(
                [
                    Issue(
                        "solve()", f"unknown mode {mode!r} (use {' or '.join(MODES)})", None, "mode"
                    )
                ]
            )
        years = [scenario.base_year]
        regions = scenario.region_table()
        nodes = pd.Index(regions.index, name="region")
        arcs = _arcs(nodes) if arcs is None else arcs
        sectors = scenario.sector_table()
        demand = _by_year(scenario.demand, ["region", "sector", "year"], years)
        markets = scenario.markets
        exports = _by_year(markets.loc[markets["market"] == "export"], ["sector", "year"], years)
        b = scenario.buildout
        observed = _by_year(b.loc[b["variable"] == "capacity"], ["region", "sector", "year"], years)
        planning = regions.index[regions["in_national_planning"]]
        holding = observed[observed > 0].index.get_level_values("region").unique()
        producers = pd.Index(sorted(set(planning) | set(holding)), name="region")
        tranches = scenario.capacity_tranches
        tranches = tranches.loc[tranches["region"].isin(producers)]
        capacity_rows = b.loc[(b["variable"] == "capacity") & b["year"].isin(years)]
        quality = capacity_rows.set_index(["region", "sector", "year"])["quality"]
        data = cls(
            mode,
            years,
            nodes,
            producers,
            sectors,
            regions,
            arcs,
            demand,
            exports,
            observed,
            pd.Series(dtype=float),
            tranches,
            quality,
            scenario.parameters,
        )
        data.reach_km = producer_distances(data)
        data.penalty = _penalties(data)
        return data

    # -- coefficients -------------------------------------------------------------------
    def annualised_capex(self, index: pd.MultiIndex) -> np.ndarray:
        """capex_s * crf(i_r, L_s) in CNY bn/yr per unit of capacity, for (r, s, ...) labels."""
        r, s = index.get_level_values("region"), index.get_level_values("sector")
        rate = self.regions["financing_rate"].reindex(r).fillna(0.0).to_numpy()
        life = self.sectors["asset_life"].reindex(s).to_numpy()
        return self.sectors["capex"].reindex(s).to_numpy() * capital_recovery_factor(rate, life)

    def debt_service(self, index: pd.MultiIndex) -> np.ndarray:
        """debt_share_s * capex_s * crf(i_r, L_s): CNY bn/yr of debt service per unit."""
        s = index.get_level_values("sector")
        return self.sectors["debt_share"].reindex(s).to_numpy() * self.annualised_capex(index)

    def regional(self, column: str, index: pd.MultiIndex, default: float = 1.0) -> np.ndarray:
        r = index.get_level_values("region")
        values = self.regions[column].reindex(r) if column in self.regions else None
        if values is None:
            return np.full(len(index), default)
        return values.fillna(default).to_numpy()

    def sectoral(self, column: str, index: pd.MultiIndex) -> np.ndarray:
        return self.sectors[column].reindex(index.get_level_values("sector")).to_numpy()

    def grid(self) -> pd.MultiIndex:
        """Every producer x sector cell (producer-major)."""
        return pd.MultiIndex.from_product(
            [self.producers, self.sectors.index], names=["region", "sector"]
        )

    def premium(self) -> np.ndarray:
        """Dearest cost-tranche multiplier per producer x sector (1 without tranches)."""
        top = self.tranches.groupby(["region", "sector"])["cost_multiplier"].max()
        shape = (len(self.producers), len(self.sectors))
        return top.reindex(self.grid()).fillna(1.0).to_numpy(float).reshape(shape)

    def min_scale(self) -> np.ndarray:
        """Minimum plant scale per sector (capacity units) where ``min_plant_scale`` is on;
        0 where there is none."""
        if not self.parameters.min_plant_scale or "min_scale" not in self.sectors:
            return np.zeros(len(self.sectors))
        return self.sectors["min_scale"].fillna(0.0).to_numpy(float)

    def supply_costs(self) -> tuple[np.ndarray, np.ndarray]:
        """:func:`supply_costs` of every producer x sector cell (arrays of that shape)."""
        idx, p = self.grid(), self.parameters
        shape = (len(self.producers), len(self.sectors))
        out = supply_costs(
            self.annualised_capex(idx),
            self.sectoral("fixed_om", idx),
            self.regional("cost_factor", idx),
            self.sectoral("max_utilisation", idx),
            self.sectoral("variable_cost", idx),
            self.sectoral("debt_share", idx),
            self.premium().ravel(),
            reserve_margin=p.reserve_margin,
            stranded_weight=p.stranded_weight,
            debt_weight=p.debt_weight,
        )
        return out[0].reshape(shape), out[1].reshape(shape)


def _by_year(frame: pd.DataFrame, keys: list[str], years: list[int]) -> pd.Series:
    sel = frame.loc[frame["year"].isin(years)]
    return sel.groupby(keys)["value"].sum()


def _arcs(nodes: pd.Index) -> pd.DataFrame:
    from geo.network import network  # the shipped province network (no plotting)

    arcs = network()
    missing = sorted(set(nodes) - set(arcs["from_region"]))
    if missing:
        raise ScenarioError(
            [
                Issue(
                    "solve()",
                    f"regions {', '.join(missing)} are not on the shipped "
                    "province network; pass arcs= (from_region, to_region, distance_km)",
                    None,
                    "arcs",
                )
            ]
        )
    keep = arcs["from_region"].isin(nodes) & arcs["to_region"].isin(nodes)
    return arcs.loc[keep, ["from_region", "to_region", "distance_km"]].reset_index(drop=True)


def producer_distances(data: ModelData) -> pd.DataFrame:
    """Shortest-path distance (km) from each producer to each node over the network, plus
    a column ``export``: the distance to the nearest coastal region (where exports leave).

    ``inf`` where no path exists. Only the producers and the paths that leave them count,
    so a node no producer can reach, or a far-away node with nothing to supply, changes
    no other entry.
    """
    nodes, producers = data.nodes, data.producers
    coastal = data.regions["coastal"].reindex(nodes).fillna(False).to_numpy(bool)
    arcs = data.arcs
    if arcs.empty or producers.empty:
        dist = np.full((len(producers), len(nodes)), np.inf)
        dist[np.arange(len(producers)), nodes.get_indexer(producers)] = 0.0
    else:
        # Parallel arcs: the shortest counts (a sparse matrix would add them up).
        a = arcs.groupby(["from_region", "to_region"], as_index=False)["distance_km"].min()
        g = coo_array(
            (
                a["distance_km"].to_numpy(float),
                (nodes.get_indexer(a["from_region"]), nodes.get_indexer(a["to_region"])),
            ),
            shape=(len(nodes), len(nodes)),
        )
        dist = shortest_path(g.tocsr(), directed=True, indices=nodes.get_indexer(producers))
        dist = np.atleast_2d(dist)
    to_coast = dist[:, coastal].min(axis=1) if coastal.any() else np.full(len(producers), np.inf)
    frame = pd.DataFrame(dist, index=producers, columns=nodes)
    frame[EXPORT] = to_coast
    return frame


def supply_costs(
    ann: np.ndarray,
    fixed_om: np.ndarray,
    cost_factor: np.ndarray,
    max_utilisation: np.ndarray,
    variable_cost: np.ndarray,
    debt_share: np.ndarray,
    premium: np.ndarray,
    *,
    reserve_margin: float,
    stranded_weight: float,
    debt_weight: float,
) -> tuple[np.ndarray, np.ndarray]:
    """What the objective charges for new capacity at a producer (arrays over producer x
    sector cells).

    Returns
    -------
    per_output
        CNY bn per output unit served from new capacity, before transport:
        ``(1 + m) / u * per_capacity - w_str * ann / u + vc * c`` (one unit of output needs
        ``(1 + m) / u`` units of capacity; the stranded term charges ``w_str * ann`` on
        capacity and credits ``w_str * ann / u`` on output).
    per_capacity
        CNY bn/yr per unit of capacity: ``premium * (ann + fom * c) + w_debt * ds * ann
        + w_str * ann``, where ``premium`` is the dearest cost-tranche multiplier (1 without
        tranches) and ``ds * ann`` the annual debt service.
    """
    per_capacity = (
        premium * (ann + fixed_om * cost_factor)
        + debt_weight * debt_share * ann
        + stranded_weight * ann
    )
    per_output = (
        (1.0 + reserve_margin) * per_capacity / max_utilisation
        - stranded_weight * ann / max_utilisation
        + variable_cost * cost_factor
    )
    return per_output, per_capacity


def oversize(
    min_scale: np.ndarray, demand: np.ndarray, max_utilisation: np.ndarray, reserve_margin: float
) -> np.ndarray:
    """Capacity a minimum-scale plant has beyond what ``demand`` needs, per unit of demand
    (capacity units per output unit; 0 without a minimum scale): ``max(0, g - (1 + m) D / u)
    / D``. A plant built for this demand alone costs that much capacity on top."""
    need = (1.0 + reserve_margin) * demand / max_utilisation
    with np.errstate(divide="ignore", invalid="ignore"):
        extra = np.maximum(min_scale - need, 0.0) / demand
    return np.where(np.isfinite(extra) & (min_scale > 0) & (demand > 0), extra, 0.0)


def unmet_penalty(
    per_output: np.ndarray,
    per_capacity: np.ndarray,
    transport: np.ndarray,
    distance_km: np.ndarray,
    node: np.ndarray,
    sector: np.ndarray,
    extra: np.ndarray,
    factor: float,
) -> np.ndarray:
    """Penalty per unit of unmet demand (CNY bn per output unit) for each unmet column.

    One value per sector: ``factor * (1 + PENALTY_MARGIN)`` times the dearest way any
    producer can serve one more unit of any of the sector's unmet columns,

        max_c max_p [per_output[p, s] + per_capacity[p, s] * extra[c]
                     + transport[s] * distance_km[p, node[c]] / 1000]

    over the sector's columns ``c`` and the producers ``p`` that reach the column's node
    (``distance_km`` finite). With ``factor >= 1``, leaving a unit unmet costs more than
    serving it from any producer that reaches it and has room to supply more. Only the
    producers and the nodes with demand count, so a node with neither changes nothing.
    The penalty is the same for every region of a sector, so where demand must go unmet
    the plan rations it at least resource cost, whatever the penalty's level. A column
    no producer reaches counts without transport (it cannot be served at all).

    Parameters
    ----------
    per_output, per_capacity
        Producer x sector arrays from :func:`supply_costs`.
    transport
        Transport cost per sector, CNY bn per output unit per 1000 km.
    distance_km
        Producer x node distances (:func:`producer_distances`).
    node, sector, extra
        Per unmet column: its node's column in ``distance_km``, its sector's position and
        its :func:`oversize` (capacity units per output unit).
    factor
        ``unmet_penalty_factor`` (>= 1).
    """
    out = np.zeros(len(node))
    if per_output.shape[0] == 0:
        return out
    farthest: dict[bytes, tuple[np.ndarray, bool]] = {}  # sectors share node sets
    for s in np.unique(sector):
        cols = np.flatnonzero(sector == s)
        if np.any(extra[cols] > 0):  # the oversize differs by column: every pair counts
            base = per_output[:, s, None] + per_capacity[:, s, None] * extra[None, cols]
            d = distance_km[:, node[cols]]
            reach = np.isfinite(d)
            cost = np.where(reach, base + transport[s] * np.where(reach, d, 0.0) / 1000.0, -np.inf)
            best = cost.max(axis=0)
            out[cols] = np.where(np.isfinite(best), best, base.max(axis=0)).max()
            continue
        # Otherwise the dearest pair is each producer's farthest reachable node.
        nodes = np.unique(node[cols])
        key = nodes.tobytes()
        if key not in farthest:
            d = distance_km[:, nodes]
            reach = np.isfinite(d)
            farthest[key] = (
                np.where(reach, d, -np.inf).max(axis=1),
                not reach.any(axis=0).all(),
            )
        far, lonely = farthest[key]
        best = (per_output[:, s] + transport[s] * far / 1000.0).max()
        out[cols] = max(best, per_output[:, s].max()) if lonely else best
    return factor * (1.0 + PENALTY_MARGIN) * out


def _penalties(data: ModelData) -> pd.Series:
    """Unmet-demand penalty (CNY bn per output unit) per (region, sector, year) with
    demand and per ("export", sector, year) with export absorption (:func:`unmet_penalty`)."""
    p = data.parameters
    sec = data.sectors.index
    per_output, per_capacity = data.supply_costs()
    d = data.demand[data.demand > 0]
    e = data.exports[data.exports > 0]
    keys = pd.MultiIndex.from_arrays(
        [
            np.concatenate([d.index.get_level_values("region"), np.full(len(e), EXPORT)]),
            np.concatenate(
                [d.index.get_level_values("sector"), e.index.get_level_values("sector")]
            ),
            np.concatenate([d.index.get_level_values("year"), e.index.get_level_values("year")]),
        ],
        names=RTY,
    )
    s = sec.get_indexer(keys.get_level_values("sector"))
    quantity = np.concatenate([d.to_numpy(float), e.to_numpy(float)])
    u = data.sectors["max_utilisation"].to_numpy(float)
    extra = oversize(data.min_scale()[s], quantity, u[s], p.reserve_margin)
    pen = unmet_penalty(
        per_output,
        per_capacity,
        data.sectors["transport_cost"].to_numpy(float),
        data.reach_km.to_numpy(float),
        data.reach_km.columns.get_indexer(keys.get_level_values("region")),
        s,
        extra,
        p.unmet_penalty_factor,
    )
    return pd.Series(pen, index=keys, name="penalty")


# -- variables ---------------------------------------------------------------------------
def define_capacity(lp: LinearProgram, data: ModelData) -> None:
    """cap[r,s,t] >= 0 (capacity units): decided in coordinated mode for planning regions;
    fixed to the observed buildout in observed mode and for non-planning regions."""
    idx = pd.MultiIndex.from_product([data.producers, data.sectors.index, data.years], names=RTY)
    observed = data.observed.reindex(idx).fillna(0.0).to_numpy()
    planning = data.regions["in_national_planning"].reindex(idx.get_level_values("region"))
    fixed = np.ones(len(idx), bool) if data.mode == "observed" else ~planning.to_numpy(bool)
    lower = np.where(fixed, observed, 0.0)
    upper = np.where(fixed, observed, np.inf)
    lp.add_variables("capacity", idx, lower, upper, unit="capacity units", doc="installed capacity")


def define_production(lp: LinearProgram, data: ModelData) -> None:
    """prod[r,s,t] >= 0 (output units per year)."""
    lp.add_variables(
        "production", lp.variables["capacity"].index, unit="output units", doc="production"
    )


def define_shipments(lp: LinearProgram, data: ModelData) -> None:
    """ship[a,s,t] >= 0 along each arc a = (r -> q) of the transport network."""
    arcs = pd.MultiIndex.from_frame(data.arcs[["from_region", "to_region"]])
    idx = pd.MultiIndex.from_tuples(
        [(f, q, s, t) for f, q in arcs for s in data.sectors.index for t in data.years],
        names=["from_region", "to_region", "sector", "year"],
    )
    lp.add_variables("shipment", idx, unit="output units", doc="shipments along arcs")


def define_exports(lp: LinearProgram, data: ModelData) -> None:
    """exp[r,s,t] >= 0 from coastal regions, for sectors with export absorption."""
    coastal = data.regions.index[data.regions["coastal"]]
    sectors = data.exports[data.exports > 0].index.get_level_values("sector").unique()
    idx = pd.MultiIndex.from_product([coastal, sectors, data.years], names=RTY)
    lp.add_variables("export", idx, unit="output units", doc="exports through ports")


def define_unmet(lp: LinearProgram, data: ModelData) -> None:
    """unmet[r,s,t] >= 0 domestic demand left unserved; unmet_export[s,t] >= 0."""
    d = data.demand[data.demand > 0]
    lp.add_variables(
        "unmet", d.index, upper=d.to_numpy(), unit="output units", doc="unserved domestic demand"
    )
    e = data.exports[data.exports > 0]
    lp.add_variables(
        "unmet_export",
        e.index,
        upper=e.to_numpy(),
        unit="output units",
        doc="unserved export absorption",
    )


# -- constraints -------------------------------------------------------------------------
def define_production_limit(lp: LinearProgram, data: ModelData, reserve_margin: float) -> None:
    """(1 + m) prod[r,s,t] - u_s cap[r,s,t] <= 0: output within usable capacity, keeping a
    reserve margin m."""
    cap = lp.variables["capacity"]
    n = cap.size
    pos = np.arange(n)
    u = data.sectoral("max_utilisation", cap.index)
    lp.add_constraints(
        "production_limit",
        cap.index,
        [("production", pos, pos, 1.0 + reserve_margin), ("capacity", pos, pos, -u)],
        "<=",
        0.0,
        doc="production <= max utilisation x capacity",
    )


def define_demand_balance(lp: LinearProgram, data: ModelData) -> None:
    """prod[r,s,t] + sum_q ship[q->r,s,t] - sum_q ship[r->q,s,t] - exp[r,s,t]
    + unmet[r,s,t] = D[r,s,t] for every region r, sector s, year t."""
    idx = pd.MultiIndex.from_product([data.nodes, data.sectors.index, data.years], names=RTY)
    rhs = data.demand.reindex(idx).fillna(0.0).to_numpy()
    terms = []
    prod = lp.variables["production"]
    terms.append(("production", idx.get_indexer(prod.index), np.arange(prod.size), 1.0))
    ship = lp.variables["shipment"]
    levels = ship.index
    into = pd.MultiIndex.from_arrays(
        [levels.get_level_values(k) for k in ("to_region", "sector", "year")], names=RTY
    )
    out_of = pd.MultiIndex.from_arrays(
        [levels.get_level_values(k) for k in ("from_region", "sector", "year")], names=RTY
    )
    terms.append(("shipment", idx.get_indexer(into), np.arange(ship.size), 1.0))
    terms.append(("shipment", idx.get_indexer(out_of), np.arange(ship.size), -1.0))
    exp = lp.variables["export"]
    terms.append(("export", idx.get_indexer(exp.index), np.arange(exp.size), -1.0))
    unmet = lp.variables["unmet"]
    terms.append(("unmet", idx.get_indexer(unmet.index), np.arange(unmet.size), 1.0))
    lp.add_constraints(
        "demand_balance", idx, terms, "==", rhs, doc="regional balance of supply and demand"
    )


def define_export_absorption(lp: LinearProgram, data: ModelData) -> None:
    """sum_r exp[r,s,t] + unmet_export[s,t] = E[s,t]: foreign markets absorb E, no more."""
    e = data.exports[data.exports > 0]
    if e.empty:
        return
    exp = lp.variables["export"]
    st = pd.MultiIndex.from_arrays(
        [exp.index.get_level_values("sector"), exp.index.get_level_values("year")],
        names=["sector", "year"],
    )
    miss = lp.variables["unmet_export"]
    lp.add_constraints(
        "export_absorption",
        e.index,
        [
            ("export", e.index.get_indexer(st), np.arange(exp.size), 1.0),
            ("unmet_export", e.index.get_indexer(miss.index), np.arange(miss.size), 1.0),
        ],
        "==",
        e.to_numpy(),
        doc="exports equal export absorption",
    )


def fiscal_limit(
    fiscal: np.ndarray, service: np.ndarray, observed: np.ndarray, row: np.ndarray, rows: int
) -> np.ndarray:
    """Right-hand side of the fiscal-limit rows (CNY bn/yr): ``max(F_r, sum_s ds[r,s]
    Kobs[r,s])``, the region's fiscal capacity or, where the observed buildout's debt
    service is larger, that (the plan is never held to a limit the observed buildout
    breaks). ``inf`` where the region has no fiscal capacity.

    ``service`` and ``observed`` are per capacity cell, ``row`` the cell's fiscal row
    (cells with ``row < 0`` have none)."""
    keep = row >= 0
    held = np.bincount(row[keep], weights=(service * observed)[keep], minlength=rows)
    return np.where(np.isnan(fiscal), np.inf, np.maximum(fiscal, held))


def define_fiscal_limit(lp: LinearProgram, data: ModelData) -> None:
    """sum_s ds[r,s] cap[r,s,t] <= max(F_r, sum_s ds[r,s] Kobs[r,s,t]) for planning
    regions r, where ds[r,s] = debt_share_s capex_s crf(i_r, L_s) is the annual debt
    service (CNY bn/yr) of one unit of capacity and F_r the region's fiscal capacity
    (CNY bn/yr). Where the observed buildout's debt service exceeds F_r the plan may reach
    that level and no more: both modes obey the same rules (the observed buildout cannot
    be held to a limit it has broken), and the excess is reported, not hidden."""
    cap = lp.variables["capacity"]
    planning = data.regions.index[data.regions["in_national_planning"]]
    idx = pd.MultiIndex.from_product([planning, data.years], names=["region", "year"])
    ry = pd.MultiIndex.from_arrays(
        [cap.index.get_level_values("region"), cap.index.get_level_values("year")],
        names=["region", "year"],
    )
    row = idx.get_indexer(ry)
    service = data.debt_service(cap.index)
    limit = fiscal_limit(
        data.regional("fiscal_capacity", idx, default=np.nan),
        service,
        data.observed.reindex(cap.index).fillna(0.0).to_numpy(float),
        row,
        len(idx),
    )
    inside = row >= 0  # capacity of regions outside planning has no fiscal row
    lp.add_constraints(
        "fiscal_limit",
        idx,
        [("capacity", row[inside], np.flatnonzero(inside), service[inside])],
        "<=",
        limit,
        doc="debt service within fiscal capacity (or the observed buildout's, if larger)",
    )


def define_tranches(lp: LinearProgram, data: ModelData) -> None:
    """Regional capacity limits and piecewise-linear cost tranches, where
    ``capacity_tranches`` has rows for a region and sector:

        cap[r,s,t] - sum_k tr[r,s,t,k] = 0,   0 <= tr[r,s,t,k] <= G[r,s,k]

    and tranche k costs ``cost_multiplier[r,s,k]`` times the base capital and fixed O&M
    cost (the premium is added to those objective terms). Multipliers never fall with k,
    so the cost curve is convex and cheaper tranches fill first. Where capacity is fixed
    (observed mode, regions outside planning), the last tranche is unlimited so that the
    observed capacity always fits and pays the premiums of the tranches it spans. Where it
    is decided, the last tranche reaches at least the observed capacity: the plan is held
    to a regional limit no more than the observed buildout is."""
    tr = data.tranches
    if tr.empty:
        return
    cap = lp.variables["capacity"]
    rows = [
        (r, s, t, int(k), g, m)
        for r, s, k, g, m in tr[
            ["region", "sector", "tranche", "max_capacity", "cost_multiplier"]
        ].itertuples(index=False)
        for t in data.years
    ]
    frame = pd.DataFrame(rows, columns=["region", "sector", "year", "tranche", "max", "mult"])
    frame = frame.sort_values(["region", "sector", "year", "tranche"]).reset_index(drop=True)
    rst = pd.MultiIndex.from_frame(frame[["region", "sector", "year"]])
    cap_pos = cap.index.get_indexer(rst)
    fixed = cap.lower[cap_pos] == cap.upper[cap_pos]
    last = ~frame.duplicated(["region", "sector", "year"], keep="last").to_numpy()
    upper = frame["max"].fillna(np.inf).to_numpy()
    # Decided capacity may reach the observed capacity in the last tranche (same rules as
    # the observed buildout, which always fits); fixed capacity is never limited.
    limits = frame["max"].fillna(0.0)
    before = limits.groupby([frame["region"], frame["sector"], frame["year"]]).cumsum() - limits
    before = before.to_numpy(float)
    observed = data.observed.reindex(rst).fillna(0.0).to_numpy(float)
    upper = np.where(last, np.maximum(upper, observed - before), upper)
    upper = np.where(fixed & last, np.inf, upper)
    idx = pd.MultiIndex.from_frame(frame[["region", "sector", "year", "tranche"]])
    block = lp.add_variables(
        "tranche", idx, 0.0, upper, unit="capacity units", doc="capacity in each cost tranche"
    )
    groups = pd.MultiIndex.from_frame(frame[["region", "sector", "year"]].drop_duplicates())
    k = np.arange(block.size)
    lp.add_constraints(
        "tranche_sum",
        groups,
        [
            ("capacity", np.arange(len(groups)), cap.index.get_indexer(groups), 1.0),
            ("tranche", groups.get_indexer(rst), k, -1.0),
        ],
        "==",
        0.0,
        doc="capacity is the sum of its cost tranches",
    )
    premium = frame["mult"].to_numpy() - 1.0
    cf = data.regional("cost_factor", rst)
    lp.add_objective("capital", "tranche", k, premium * data.annualised_capex(rst))
    lp.add_objective("fixed_om", "tranche", k, premium * data.sectoral("fixed_om", rst) * cf)


def define_min_plant_scale(lp: LinearProgram, data: ModelData, reserve_margin: float) -> None:
    """Minimum efficient plant scale (MILP), for decided capacity of sectors with a
    ``min_scale`` row: binary build[r,s,t] and

        cap[r,s,t] - g_s build[r,s,t] >= 0     (a region builds at least g_s, or nothing)
        cap[r,s,t] - M_s build[r,s,t] <= 0     (no capacity without a build decision)

    with g_s = min_scale (capacity units) and M_s = (1 + m) (sum_r D + E) / u_s, the
    capacity that could ever be used. Where a region holds observed capacity below g_s,
    its minimum is that capacity and M_s is at least it (same rules as the observed
    buildout: it stays a feasible plan)."""
    if "min_scale" not in data.sectors:
        return
    cap = lp.variables["capacity"]
    scale = data.sectoral("min_scale", cap.index)
    decided = (cap.upper > cap.lower) & np.isfinite(scale) & (scale > 0)
    if not decided.any():
        return
    idx = cap.index[decided]
    pos = np.flatnonzero(decided)
    s = idx.get_level_values("sector")
    # A region may keep a plant as small as the one it has (same rules as the observed
    # buildout): its minimum is min(g_s, observed capacity) where it holds capacity.
    held = data.observed.reindex(idx).fillna(0.0).to_numpy(float)
    least = np.where(held > 0, np.minimum(scale[decided], held), scale[decided])
    need = (
        data.demand.groupby(level="sector")
        .sum()
        .add(data.exports.groupby(level="sector").sum(), fill_value=0.0)
    )
    big = (
        (1.0 + reserve_margin)
        * need.reindex(s).fillna(0.0).to_numpy()
        / data.sectoral("max_utilisation", idx)
    )
    big = np.maximum(np.maximum(big, scale[decided]), held)
    lp.add_variables(
        "build",
        idx,
        0.0,
        1.0,
        integer=True,
        unit="binary",
        doc="build decision (minimum plant scale)",
    )
    k = np.arange(len(idx))
    lp.add_constraints(
        "min_scale",
        idx,
        [("capacity", k, pos, 1.0), ("build", k, k, -least)],
        ">=",
        0.0,
        doc="capacity at least the minimum scale if built",
    )
    lp.add_constraints(
        "build_link",
        idx,
        [("capacity", k, pos, 1.0), ("build", k, k, -big)],
        "<=",
        0.0,
        doc="no capacity without a build decision",
    )


# -- objective ---------------------------------------------------------------------------
def define_objective(
    lp: LinearProgram, data: ModelData, stranded_weight: float, debt_weight: float
) -> None:
    """min capital + fixed_om + variable + transport + unmet_penalty + stranded + debt:

    - capital = sum capex_s crf(i_r, L_s) cap[r,s,t]
    - fixed_om = sum fom_s c_r cap[r,s,t];  variable = sum vc_s c_r prod[r,s,t]
    - transport = sum tc_s d_a / 1000 ship[a,s,t]
    - unmet_penalty = sum pen_s (unmet[r,s,t] + unmet_export[s,t]), pen_s from
      :func:`unmet_penalty` (uniform within a sector)
    - stranded = w_idle sum capex_s crf(i_r, L_s) (cap[r,s,t] - prod[r,s,t] / u_s)
    - debt = w_debt sum ds[r,s] cap[r,s,t]
    (all CNY bn/yr)."""
    cap, prod = lp.variables["capacity"], lp.variables["production"]
    pos = np.arange(cap.size)
    ann = data.annualised_capex(cap.index)
    cf = data.regional("cost_factor", cap.index)
    lp.add_objective("capital", "capacity", pos, ann)
    lp.add_objective("fixed_om", "capacity", pos, data.sectoral("fixed_om", cap.index) * cf)
    lp.add_objective("variable", "production", pos, data.sectoral("variable_cost", prod.index) * cf)
    ship = lp.variables["shipment"]
    dist = data.arcs.set_index(["from_region", "to_region"])["distance_km"]
    arc = pd.MultiIndex.from_arrays(
        [ship.index.get_level_values("from_region"), ship.index.get_level_values("to_region")]
    )
    tc = data.sectors["transport_cost"].reindex(ship.index.get_level_values("sector"))
    lp.add_objective(
        "transport",
        "shipment",
        np.arange(ship.size),
        tc.to_numpy() * dist.reindex(arc).to_numpy() / 1000.0,
    )
    for var in ("unmet", "unmet_export"):
        block = lp.variables[var]
        keys = block.index
        if var == "unmet_export":
            keys = pd.MultiIndex.from_arrays(
                [np.full(block.size, EXPORT), *(keys.get_level_values(k) for k in (0, 1))]
            )
        pen = data.penalty.reindex(keys).to_numpy()
        lp.add_objective("unmet_penalty", var, np.arange(block.size), pen)
    if stranded_weight > 0:
        lp.add_objective("stranded", "capacity", pos, stranded_weight * ann)
        u = data.sectoral("max_utilisation", cap.index)
        lp.add_objective("stranded", "production", pos, -stranded_weight * ann / u)
    if debt_weight > 0:
        lp.add_objective("debt", "capacity", pos, debt_weight * data.debt_service(cap.index))


def build(
    scenario: Scenario, mode: str = "coordinated", arcs: pd.DataFrame | None = None
) -> tuple[LinearProgram, ModelData]:
    """Build the model of ``scenario`` in ``mode`` (``coordinated`` or ``observed``).

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> lp, data = build(load_scenario())
    >>> sorted(lp.constraints)[:2]
    ['demand_balance', 'export_absorption']
    """
    data = ModelData.from_scenario(scenario, mode, arcs)
    p = scenario.parameters
    lp = LinearProgram()
    for define in (
        define_capacity,
        define_production,
        define_shipments,
        define_exports,
        define_unmet,
    ):
        define(lp, data)
    define_tranches(lp, data)
    define_production_limit(lp, data, p.reserve_margin)
    define_demand_balance(lp, data)
    define_export_absorption(lp, data)
    if p.fiscal_limit and mode == "coordinated":
        define_fiscal_limit(lp, data)
    if p.min_plant_scale and mode == "coordinated":
        define_min_plant_scale(lp, data, p.reserve_margin)
    define_objective(lp, data, p.stranded_weight, p.debt_weight)
    return lp, data
