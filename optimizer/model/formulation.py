"""The coordination model, declared once as a :class:`~optimizer.model.lp.LinearProgram`.

Each variable, constraint and objective family is one ``define_*`` function. It states
the family's *structure* (index set, sparsity pattern) from the :class:`ModelData`, and its
bounds, right-hand sides, coefficients and costs as *value functions* of the model's
:class:`~optimizer.model.data.Inputs` (plain arrays aligned on those index sets). Every
path evaluates the same functions:

- the cold build (:func:`build`) declares the families and evaluates them once;
- ``observed`` mode is the same build with capacity fixed to the observed buildout, so
  stranded capacity, debt and cost are measured on the same terms as the plan;
- the sweep fast path (:class:`optimizer.sweeps.fast_model.ParametricModel`) keeps the
  built program, re-evaluates the value functions on a variant's inputs
  (:meth:`~optimizer.model.lp.LinearProgram.update`) and pushes what changed.

:data:`FAMILIES` lists the families in build order; each declares the structural switch
(a model parameter) and the modes it applies in, so a switch is stated once, next to the
math it turns on. A family added later is one ``define_*`` function and one
:class:`Family` entry. Equations use the symbols of ``docs/model.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.model.data import (
    EXPORT,
    RTY,
    Inputs,
    ModelData,
    level_positions,
    producer_distances,
    product_positions,
    take,
)
from optimizer.model.economics import (
    PENALTY_MARGIN,
    capital_recovery_factor,
    fiscal_limit,
    oversize,
    supply_costs,
    unmet_penalty,
)
from optimizer.model.lp import LinearProgram
from optimizer.scenario.parameters import MODES, ModelParameters
from optimizer.scenario.scenario import Scenario

__all__ = [
    "EXPORT",
    "FAMILIES",
    "PENALTY_MARGIN",
    "RTY",
    "STRUCTURAL",
    "Family",
    "ModelData",
    "active_families",
    "build",
    "capital_recovery_factor",
    "fiscal_limit",
    "formulate",
    "oversize",
    "producer_distances",
    "supply_costs",
    "unmet_penalty",
]


#: Regional input costs of production: (objective term, sector intensity, regional price).
INPUT_COSTS = (
    ("electricity", "electricity_intensity", "electricity_price"),
    ("labour", "labour_intensity", "wage"),
)


# -- shared value functions ---------------------------------------------------------------
def regional(column: str, r: np.ndarray, default: float) -> Callable[[Inputs], np.ndarray]:
    """Value function: a regional attribute at region positions ``r`` (``default`` where a
    region has none)."""
    return lambda x: x.regional(column, default)[r]


def plant_capital_share(x: Inputs) -> np.ndarray | None:
    """Per sector, the share ``1 - e_s`` of a reference plant's capital that is paid per
    plant (scale exponent ``0 < e_s < 1`` and a plant size given; 0 elsewhere); None
    without any scale exponent. Shared by the capital split, the per-plant cost and the
    unmet-demand penalty."""
    e = x.sector.get("scale_exponent")
    if e is None:
        return None

    def compute() -> np.ndarray:
        size = np.nan_to_num(x.sector.get("plant_size", np.zeros(len(e))))
        return np.where(np.isfinite(e) & (e > 0) & (e < 1) & (size > 0), 1.0 - e, 0.0)

    return x.memo("plant_capital_share", compute)


def tranche_premium(data: ModelData) -> Callable[[Inputs], np.ndarray]:
    """Value function: the dearest cost-tranche multiplier per producer x sector cell
    (``producers x sectors``; 1 where a cell has no tranches)."""
    shape = (len(data.producers), len(data.sectors))
    tr = data.tranches
    cell = data.producers.get_indexer(tr["region"]) * shape[1] + data.sectors.index.get_indexer(
        tr["sector"]
    )

    def premium(x: Inputs) -> np.ndarray:
        top = np.full(shape[0] * shape[1], -np.inf)
        np.maximum.at(top, cell, x.tranche_multiplier)
        return np.where(np.isfinite(top), top, 1.0).reshape(shape)

    return premium


def penalties(
    data: ModelData, keys: pd.MultiIndex, exports: pd.MultiIndex | None = None
) -> Callable[[Inputs], np.ndarray]:
    """Value function: the unmet-demand penalty (CNY bn per output unit) of each label of
    ``keys`` (region or ``"export"``, sector, year), from :func:`unmet_penalty`.

    Demand quantities are those of the inputs' ``demand`` (region labels) and ``exports``
    (``"export"``). With ``exports`` (the export variables' index) and a sea-freight
    term, the dearest sea freight per unit of a sector's exports (any port) is added to
    the dearest way of serving it, for every label of the sector (the penalty stays one
    per sector, and still exceeds every way of serving)."""
    producers, sectors = data.producers, data.sectors.index
    pr = data.regions.index.get_indexer(producers)
    s = level_positions(sectors, keys, "sector")
    node = level_positions(data.reach_km.columns, keys, "region")
    domestic = level_positions(pd.Index([EXPORT]), keys, "region") < 0
    # keys are (region, sector, year) labels already; dropping a level keeps the codes.
    demand_pos = np.where(domestic, data.demand.index.get_indexer(keys), -1)
    st = keys.droplevel("region")
    export_pos = np.where(domestic, -1, data.exports.index.get_indexer(st))
    premium = tranche_premium(data)
    sea = None if exports is None else sea_freight(data, exports)
    sea_s = (
        None
        if exports is None
        else data.sectors.index.get_indexer(exports.get_level_values("sector"))
    )

    def penalty(x: Inputs) -> np.ndarray:
        def compute() -> np.ndarray:
            p = x.parameters
            u = x.sector["max_utilisation"]
            per_output, per_capacity = supply_costs(
                x.annualised_capex[pr],
                x.sector["fixed_om"][None, :],
                x.regional("cost_factor", 1.0)[pr][:, None],
                u[None, :],
                x.sector["variable_cost"][None, :],
                x.sector["debt_share"][None, :],
                premium(x),
                reserve_margin=p.reserve_margin,
                stranded_weight=p.stranded_weight,
                debt_weight=p.debt_weight,
            )
            quantity = np.where(domestic, take(x.demand, demand_pos), take(x.exports, export_pos))
            scale = x.sector.get("min_scale") if p.min_plant_scale else None
            scale = np.zeros(len(u)) if scale is None else np.nan_to_num(scale, nan=0.0)
            extra = oversize(scale[s], quantity, u[s], p.reserve_margin)
            share = plant_capital_share(x) if p.min_plant_scale else None
            if share is not None:
                # A plant built for this demand alone adds its per-plant capital, (1 - e)
                # capex P, on top: counted as that much more capacity per unit (capacity is
                # charged at least its annualised capex, so this bounds it from above).
                plant = (share * np.nan_to_num(x.sector.get("plant_size", 0.0)))[s]
                with np.errstate(divide="ignore", invalid="ignore"):
                    extra = extra + np.where(quantity > 0, plant / quantity, 0.0)
            out = unmet_penalty(
                per_output,
                per_capacity,
                x.sector["transport_cost"],
                x.reach_km,
                node,
                s,
                extra,
                p.unmet_penalty_factor,
            )
            per_unit = None if sea is None else sea(x)
            if per_unit is not None:
                dearest = np.zeros(len(u))
                np.maximum.at(dearest, sea_s, per_unit)
                out = out + p.unmet_penalty_factor * (1.0 + PENALTY_MARGIN) * dearest[s]
            return out

        return x.memo("penalty", compute)

    return penalty


def sea_freight(data: ModelData, exports: pd.MultiIndex) -> Callable[[Inputs], np.ndarray | None]:
    """Value function: the sea freight (CNY bn per output unit) of each export column
    (labels ``exports``: region, port, sector, year),

        sf_s * Dbar[p,s,t] / 1000,   Dbar[p,s,t] = sum_m share[s,t,m] dist[p,m] / sum_m share[s,t,m]

    (``sea_freight_cost`` sf_s in CNY bn per output unit per 1000 km; shares of the
    sector's exports by destination m renormalised over the listed destinations; km at
    sea from port p to m). 0 for a sector without shares or without ``sea_freight_cost``;
    None where no column has sea freight (no ports, no shares or no sector priced)."""
    ed, sd = data.export_destinations, data.sea_distances
    if data.ports.empty or ed.empty or "sea_freight_cost" not in data.sectors or not len(exports):
        return lambda x: None
    destinations = pd.Index(sorted(set(ed["destination"])))
    groups = pd.MultiIndex.from_frame(ed[["sector", "year"]]).unique()
    g_row = groups.get_indexer(pd.MultiIndex.from_frame(ed[["sector", "year"]]))
    m_row = destinations.get_indexer(ed["destination"])
    d_port = data.ports.index.get_indexer(sd["port"])
    d_dest = destinations.get_indexer(sd["destination"])
    known = (d_port >= 0) & (d_dest >= 0)
    port = data.ports.index.get_indexer(exports.get_level_values("port"))
    s = data.sectors.index.get_indexer(exports.get_level_values("sector"))
    g = groups.get_indexer(
        pd.MultiIndex.from_arrays(
            [exports.get_level_values("sector"), exports.get_level_values("year")]
        )
    )
    shape = (len(groups), len(destinations))

    def per_unit(x: Inputs) -> np.ndarray | None:
        def compute() -> np.ndarray | None:
            cost = x.sector.get("sea_freight_cost")
            if cost is None or not np.isfinite(cost).any():
                return None
            share = np.zeros(shape)
            np.add.at(share, (g_row, m_row), x.export_shares)
            total = share.sum(axis=1, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(total > 0, share / total, 0.0)
            km = np.zeros((len(data.ports), len(destinations)))
            km[d_port[known], d_dest[known]] = x.sea_distance_km[known]
            # A column of a port group (sector without sea freight) has no port row.
            rows = share[np.maximum(g, 0)] * km[np.maximum(port, 0)]
            mean_km = np.where((g >= 0) & (port >= 0), rows.sum(axis=1), 0.0)
            out = np.nan_to_num(cost, nan=0.0)[s] * mean_km / 1000.0
            return out if out.any() else None

        return x.memo("sea_freight", compute)

    return per_unit


# -- variables ---------------------------------------------------------------------------
def define_capacity(lp: LinearProgram, data: ModelData) -> None:
    """cap[r,s,t] >= 0 (capacity units): decided in coordinated mode for planning regions;
    fixed to the observed buildout Kobs[r,s,t] in observed mode and for non-planning
    regions."""
    idx = pd.MultiIndex.from_product([data.producers, data.sectors.index, data.years], names=RTY)
    obs = data.observed.index.get_indexer(idx)
    planning = data.regions["in_national_planning"].reindex(idx.get_level_values("region"))
    fixed = np.ones(len(idx), bool) if data.mode == "observed" else ~planning.to_numpy(bool)
    lp.add_variables(
        "capacity",
        idx,
        lambda x: np.where(fixed, take(x.observed, obs), 0.0),
        lambda x: np.where(fixed, take(x.observed, obs), np.inf),
        unit="capacity units",
        doc="installed capacity",
    )


def define_production(lp: LinearProgram, data: ModelData) -> None:
    """prod[r,s,t] >= 0 (output units per year)."""
    lp.add_variables(
        "production", lp.variables["capacity"].index, unit="output units", doc="production"
    )


def define_shipments(lp: LinearProgram, data: ModelData) -> None:
    """ship[a,s,t] >= 0 along each arc a = (r -> q) of the transport network."""
    # Arc-major, then sector, then year: the order of the former tuple list, built from
    # positions (a Python tuple per shipment took 0.2-0.35 s at 200k columns).
    # The labels are factorised once per arc and once per (sector, year) and spread by
    # codes, as from_arrays on the full columns would give (same levels and codes).
    sectors, years = pd.Index(data.sectors.index), pd.Index(data.years)
    n_arcs, n_s, n_t = len(data.arcs), len(sectors), len(years)
    names = ["from_region", "to_region", "sector", "year"]
    arcs = pd.MultiIndex.from_arrays(
        [data.arcs["from_region"].to_numpy(object), data.arcs["to_region"].to_numpy(object)]
    )
    cells = pd.MultiIndex.from_arrays(
        [sectors.take(np.repeat(np.arange(n_s), n_t)), years.take(np.tile(np.arange(n_t), n_s))]
    )
    if n_arcs * n_s * n_t:
        arc = np.repeat(np.arange(n_arcs), n_s * n_t)
        cell = np.tile(np.arange(n_s * n_t), n_arcs)
        idx = pd.MultiIndex(
            levels=[*arcs.levels, *cells.levels],
            codes=[
                arcs.codes[0][arc],
                arcs.codes[1][arc],
                cells.codes[0][cell],
                cells.codes[1][cell],
            ],
            names=names,
            verify_integrity=False,
        )
    else:  # no shipments: the empty labels (and level dtypes) from_arrays gives
        none = np.zeros(0, dtype=np.intp)
        idx = pd.MultiIndex.from_arrays(
            [
                data.arcs["from_region"].to_numpy(object)[none],
                data.arcs["to_region"].to_numpy(object)[none],
                sectors.take(none),
                years.take(none),
            ],
            names=names,
        )
    lp.add_variables("shipment", idx, unit="output units", doc="shipments along arcs")


def sea_priced_sectors(data: ModelData) -> pd.Index:
    """Sectors whose exports pay sea freight: a ``sea_freight_cost`` and destination
    shares (the ports of a region differ for them only)."""
    if "sea_freight_cost" not in data.sectors or data.export_destinations.empty:
        return pd.Index([])
    cost = data.sectors["sea_freight_cost"]
    priced = cost.index[np.isfinite(cost.to_numpy(float)) & (cost.to_numpy(float) > 0)]
    return priced.intersection(pd.Index(data.export_destinations["sector"].unique()))


#: Joins the ports of a port group (the ports of one region, for a sector without sea
#: freight) in its ``port`` label.
PORT_GROUP = "+"


def define_exports(lp: LinearProgram, data: ModelData) -> None:
    """exp[r,s,t] >= 0 from coastal regions, for sectors with export absorption; with a
    ``ports`` table, exp[r,p,s,t] >= 0 through each port p instead (r the port's region:
    exports leave through named ports only).

    A sector without sea freight (:func:`sea_priced_sectors`) cannot tell two ports of
    one region apart: it exports through the region's ports together, one variable per
    region labelled with the ports joined by ``+`` (``CNYTN+CNNSA``), so the optimum
    does not split it arbitrarily between them."""
    sectors = data.exports[data.exports > 0].index.get_level_values("sector").unique()
    if data.ports.empty:
        coastal = data.regions.index[data.regions["coastal"]]
        idx = pd.MultiIndex.from_product([coastal, sectors, data.years], names=RTY)
        lp.add_variables("export", idx, unit="output units", doc="exports through ports")
        return
    priced = sectors.isin(sea_priced_sectors(data))
    ports = data.ports
    groups = ports.reset_index().groupby("region", sort=False)["port"].agg(PORT_GROUP.join)
    parts = []
    for labels, regions, chosen in (
        (ports.index.to_numpy(), ports["region"].to_numpy(), sectors[priced]),
        (groups.to_numpy(), groups.index.to_numpy(), sectors[~priced]),
    ):
        grid = pd.MultiIndex.from_product([range(len(labels)), chosen, data.years])
        k = grid.get_level_values(0).to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "region": regions[k],
                    "port": labels[k],
                    "sector": grid.get_level_values(1),
                    "year": grid.get_level_values(2),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    idx = pd.MultiIndex.from_frame(frame)
    lp.add_variables("export", idx, unit="output units", doc="exports through ports")


def define_unmet(lp: LinearProgram, data: ModelData) -> None:
    """0 <= unmet[r,s,t] <= D[r,s,t] domestic demand left unserved;
    0 <= unmet_export[s,t] <= E[s,t]."""
    d = np.flatnonzero(data.demand.to_numpy() > 0)
    lp.add_variables(
        "unmet",
        data.demand.index[d],
        upper=lambda x: x.demand[d],
        unit="output units",
        doc="unserved domestic demand",
    )
    e = np.flatnonzero(data.exports.to_numpy() > 0)
    lp.add_variables(
        "unmet_export",
        data.exports.index[e],
        upper=lambda x: x.exports[e],
        unit="output units",
        doc="unserved export absorption",
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
    src = [
        (r, s, t, int(k), row)
        for row, (r, s, k) in enumerate(tr[["region", "sector", "tranche"]].itertuples(index=False))
        for t in data.years
    ]
    frame = pd.DataFrame(src, columns=["region", "sector", "year", "tranche", "row"])
    frame = frame.sort_values(["region", "sector", "year", "tranche"]).reset_index(drop=True)
    row = frame["row"].to_numpy()
    rst = pd.MultiIndex.from_frame(frame[["region", "sector", "year"]])
    cap_pos = cap.index.get_indexer(rst)
    fixed = cap.lower[cap_pos] == cap.upper[cap_pos]
    last = ~frame.duplicated(["region", "sector", "year"], keep="last").to_numpy()
    group = frame.groupby(["region", "sector", "year"], sort=False).ngroup().to_numpy()
    obs = data.observed.index.get_indexer(rst)

    def upper(x: Inputs) -> np.ndarray:
        g = x.tranche_max[row]
        limits = pd.Series(np.nan_to_num(g, nan=0.0))
        # Capacity the cheaper tranches of the same cell can hold.
        before = (limits.groupby(group).cumsum() - limits).to_numpy(float)
        out = np.where(np.isnan(g), np.inf, g)
        # Decided capacity may reach the observed capacity in the last tranche (same rules
        # as the observed buildout, which always fits); fixed capacity is never limited.
        out = np.where(last, np.maximum(out, take(x.observed, obs) - before), out)
        return np.where(fixed & last, np.inf, out)

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
    r, s = data.positions(rst)

    def premium(x: Inputs) -> np.ndarray:
        return x.tranche_multiplier[row] - 1.0

    lp.add_objective("capital", "tranche", k, lambda x: premium(x) * x.annualised_capex[r, s])
    lp.add_objective(
        "fixed_om",
        "tranche",
        k,
        lambda x: premium(x) * x.sector["fixed_om"][s] * x.regional("cost_factor", 1.0)[r],
    )


# -- constraints -------------------------------------------------------------------------
def define_production_limit(lp: LinearProgram, data: ModelData) -> None:
    """(1 + m) prod[r,s,t] - u_s cap[r,s,t] <= 0: output within usable capacity, keeping a
    reserve margin m."""
    cap = lp.variables["capacity"]
    pos = np.arange(cap.size)
    _, s = data.positions(cap.index)
    lp.add_constraints(
        "production_limit",
        cap.index,
        [
            ("production", pos, pos, lambda x: 1.0 + x.parameters.reserve_margin),
            ("capacity", pos, pos, lambda x: -x.sector["max_utilisation"][s]),
        ],
        "<=",
        0.0,
        doc="production <= max utilisation x capacity",
    )


def define_demand_balance(lp: LinearProgram, data: ModelData) -> None:
    """prod[r,s,t] + sum_q ship[q->r,s,t] - sum_q ship[r->q,s,t] - sum_p exp[r,p,s,t]
    + unmet[r,s,t] = D[r,s,t] for every region r, sector s, year t (p the ports of r;
    without ports, exp[r,s,t])."""
    idx = pd.MultiIndex.from_product([data.nodes, data.sectors.index, data.years], names=RTY)
    d = data.demand.index.get_indexer(idx)
    terms = []
    prod = lp.variables["production"]
    # Rows are the product nodes x sectors x years: a label's row is integer arithmetic on
    # its level positions (idx.get_indexer on 200k shipment labels took 10+ ms each).
    factors = [data.nodes, data.sectors.index, pd.Index(data.years)]

    def row(index: pd.MultiIndex, levels: list[str] = RTY) -> np.ndarray:
        return product_positions(factors, index, levels)

    terms.append(("production", row(prod.index), np.arange(prod.size), 1.0))
    ship = lp.variables["shipment"]
    into, out_of = ["to_region", "sector", "year"], ["from_region", "sector", "year"]
    terms.append(("shipment", row(ship.index, into), np.arange(ship.size), 1.0))
    terms.append(("shipment", row(ship.index, out_of), np.arange(ship.size), -1.0))
    exp = lp.variables["export"]
    # Exports leave from their port's region (the index may carry a ``port`` level).
    terms.append(("export", row(exp.index), np.arange(exp.size), -1.0))
    unmet = lp.variables["unmet"]
    terms.append(("unmet", row(unmet.index), np.arange(unmet.size), 1.0))
    lp.add_constraints(
        "demand_balance",
        idx,
        terms,
        "==",
        lambda x: take(x.demand, d),
        doc="regional balance of supply and demand",
    )


def define_export_absorption(lp: LinearProgram, data: ModelData) -> None:
    """sum_r exp[r,s,t] + unmet_export[s,t] = E[s,t] (with ports, the sum over ports):
    foreign markets absorb E, no more."""
    e = np.flatnonzero(data.exports.to_numpy() > 0)
    if e.size == 0:
        return
    index = data.exports.index[e]
    exp = lp.variables["export"]
    st = pd.MultiIndex.from_arrays(
        [exp.index.get_level_values("sector"), exp.index.get_level_values("year")],
        names=["sector", "year"],
    )
    miss = lp.variables["unmet_export"]
    lp.add_constraints(
        "export_absorption",
        index,
        [
            ("export", index.get_indexer(st), np.arange(exp.size), 1.0),
            ("unmet_export", index.get_indexer(miss.index), np.arange(miss.size), 1.0),
        ],
        "==",
        lambda x: x.exports[e],
        doc="exports equal export absorption",
    )


def define_port_limit(lp: LinearProgram, data: ModelData) -> None:
    """exp[r,p,s,t] <= h w[p,c] E[s,t] for each port p with a throughput row of the
    sector's cargo kind c (``sectors.cargo``): a port exports at most ``port_headroom``
    h (>= 1) times its share of the ports' throughput of that cargo,

        w[p,c] = T[p,c] / sum_q T[q,c]

    (a port group, :func:`define_exports`: the sum of its ports' shares). Ports without
    a throughput row of the cargo are not limited (nor a group with such a port); the
    ports that have one can export h >= 1 times E together, so the limits never make
    exports infeasible."""
    thr = data.port_throughput
    if data.ports.empty or thr.empty or "cargo" not in data.sectors:
        return
    exp = lp.variables["export"]
    # One entry per (export column, member port): a port group's members are its ports.
    members = exp.index.get_level_values("port").str.split(PORT_GROUP, regex=False)
    column = np.repeat(np.arange(exp.size), members.str.len())
    member = np.concatenate(members.to_numpy()) if exp.size else np.array([], dtype=object)
    cargo = data.sectors["cargo"].reindex(exp.index.get_level_values("sector")).to_numpy()
    pc = pd.MultiIndex.from_arrays([member, cargo[column]])
    rated = pd.MultiIndex.from_frame(thr[["port", "cargo"]]).get_indexer(pc)
    # A column is limited only if every member port has a throughput row of its cargo.
    unrated = np.bincount(column, rated < 0, exp.size)
    cols = np.flatnonzero(unrated == 0)
    if cols.size == 0:
        return
    keep = np.isin(column, cols)
    entry_col = np.searchsorted(cols, column[keep])
    entry_row = rated[keep]
    kind = pd.Index(thr["cargo"].unique())
    of_kind = kind.get_indexer(thr["cargo"])
    st = pd.MultiIndex.from_arrays(
        [exp.index.get_level_values("sector")[cols], exp.index.get_level_values("year")[cols]]
    )
    e = data.exports.index.get_indexer(st)

    def limit(x: Inputs) -> np.ndarray:
        total = np.bincount(of_kind, x.port_throughput, len(kind))[of_kind]
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where(total > 0, x.port_throughput / total, 1.0)
        share = np.bincount(entry_col, weight[entry_row], cols.size)
        return x.parameters.port_headroom * share * take(x.exports, e)

    idx = exp.index[cols]
    lp.add_constraints(
        "port_limit",
        idx,
        [("export", np.arange(cols.size), cols, 1.0)],
        "<=",
        limit,
        doc="a port exports at most port_headroom x its throughput share",
    )


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
    row = product_positions([planning, pd.Index(data.years)], cap.index, ["region", "year"])
    r, s = data.positions(cap.index)
    limit_r = data.regions.index.get_indexer(idx.get_level_values("region"))
    obs = data.observed.index.get_indexer(cap.index)
    inside = row >= 0  # capacity of regions outside planning has no fiscal row

    def limit(x: Inputs) -> np.ndarray:
        return fiscal_limit(
            x.regional("fiscal_capacity", np.nan)[limit_r],
            x.debt_service[r, s],
            take(x.observed, obs),
            row,
            len(idx),
        )

    lp.add_constraints(
        "fiscal_limit",
        idx,
        [("capacity", row[inside], np.flatnonzero(inside), lambda x: x.debt_service[r, s][inside])],
        "<=",
        limit,
        doc="debt service within fiscal capacity (or the observed buildout's, if larger)",
    )


def lumpy_sectors(data: ModelData) -> np.ndarray:
    """Sectors whose plants are lumpy: a ``plant_size`` or a ``min_scale`` above 0."""
    lumpy = np.zeros(len(data.sectors), bool)
    for column in ("plant_size", "min_scale"):
        if column in data.sectors:
            values = data.sectors[column].to_numpy(float)
            lumpy |= np.isfinite(values) & (values > 0)
    return lumpy


def define_plants(lp: LinearProgram, data: ModelData) -> None:
    """Lumpy plants (switch ``min_plant_scale``; a MILP), for the capacity of sectors with
    a reference plant size P_s or a minimum efficient scale g_s:

        n[r,s,t] in {0, 1, 2, ...}     plants, where capacity is decided
        h[r,s,t] = N[r,s,t]            plants held, where capacity is fixed
        cap[r,s,t] - P_s n[r,s,t] <= 0     (plant_capacity: a plant holds at most P_s)
        cap[r,s,t] - g_s n[r,s,t] >= 0     (min_scale: each plant at least g_s)

    N is the observed plant count (``buildout`` rows ``plants``) or, where none is given,
    ceil(Kobs / P_s) (one plant without P_s where Kobs > 0). Without P_s a cell has at
    most one plant of any size up to M_s = (1 + m) (sum_r D[r,s,t] + E[s,t]) / u_s, the
    capacity its year could ever use. Where a region holds observed capacity below g_s,
    its minimum is that capacity and M_s is at least it (same rules as the observed
    buildout: it stays a feasible plan).

    Economies of scale: with a scale exponent e_s in (0, 1) (capex of a plant of size S
    proportional to S^e_s, linearised at P_s), the capital cost of capacity splits into
    a part per unit and a part per plant,

        capital += -(1 - e_s) ann[r,s] cap[r,s,t]        (capacity pays e_s ann)
        plant_fixed = (1 - e_s) ann[r,s] P_s (n[r,s,t] + h[r,s,t])

    so a plant of the reference size costs what ``capex`` says and a smaller one more per
    unit of capacity (ann[r,s] = capex_s crf(i_r, L_s), CNY bn/yr per capacity unit)."""
    lumpy = lumpy_sectors(data)
    if not lumpy.any():
        return
    cap = lp.variables["capacity"]
    _, s_all = data.positions(cap.index)
    cells = lumpy[s_all]
    fixed = cap.lower == cap.upper
    sectors = data.sectors
    # -- plants where capacity is decided (integer) ---------------------------------------
    decided = cells & ~fixed
    idx = cap.index[decided]
    pos = np.flatnonzero(decided)
    r, s = data.positions(idx)
    obs = data.observed.index.get_indexer(idx)
    years = pd.Index(data.years)
    n_t = len(years)
    # Each cell's (sector, year) group, and that of every demand and export cell: M_s is
    # the capacity its own year could ever use.
    group = s * n_t + years.get_indexer(idx.get_level_values("year"))
    demand_g = data.demand_sectors * n_t + years.get_indexer(
        data.demand.index.get_level_values("year")
    )
    export_g = data.export_sectors * n_t + years.get_indexer(
        data.exports.index.get_level_values("year")
    )
    n_groups = len(sectors) * n_t

    def column(x: Inputs, name: str) -> np.ndarray:
        values = x.sector.get(name)
        return np.zeros(len(x.sector["capex"])) if values is None else np.nan_to_num(values)

    def usable(x: Inputs) -> np.ndarray:
        """M_s per decided cell (capacity units); the plant bound and the plant size
        both use it, so it is computed once per inputs."""

        def compute() -> np.ndarray:
            need = np.bincount(demand_g, x.demand, n_groups) + np.bincount(
                export_g, x.exports, n_groups
            )
            m = x.parameters.reserve_margin
            most = (1.0 + m) * need[group] / x.sector["max_utilisation"][s]
            return np.maximum(np.maximum(most, column(x, "min_scale")[s]), take(x.observed, obs))

        return x.memo("plants.usable", compute)

    def size(x: Inputs) -> np.ndarray:
        """Capacity one plant may hold: P_s, or M_s without a plant size."""
        p = column(x, "plant_size")[s]
        return np.where(p > 0, p, usable(x))

    def most_plants(x: Inputs) -> np.ndarray:
        p = column(x, "plant_size")[s]
        with np.errstate(divide="ignore", invalid="ignore"):
            count = np.ceil(usable(x) / p - 1e-9)
        return np.where(p > 0, np.maximum(count, 1.0), 1.0)

    if decided.any():
        lp.add_variables(
            "plants",
            idx,
            0.0,
            most_plants,
            integer=True,
            unit="plants",
            doc="plants where capacity is decided (lumpy plants)",
        )
        k = np.arange(len(idx))
        lp.add_constraints(
            "plant_capacity",
            idx,
            [("capacity", k, pos, 1.0), ("plants", k, k, lambda x: -size(x))],
            "<=",
            0.0,
            doc="a plant holds at most the plant size",
        )

        def least(x: Inputs) -> np.ndarray:
            # A region may keep a plant as small as the one it has (same rules as the
            # observed buildout): its minimum is min(g_s, observed capacity) there.
            held, g = take(x.observed, obs), column(x, "min_scale")[s]
            return -np.where(held > 0, np.minimum(g, held), g)

        has_minimum = column(data.inputs, "min_scale")[s] > 0
        if has_minimum.any():
            lp.add_constraints(
                "min_scale",
                idx,
                [("capacity", k, pos, 1.0), ("plants", k, k, least)],
                ">=",
                0.0,
                doc="each plant at least the minimum scale",
            )
    # -- plants where capacity is fixed (the observed count) -----------------------------
    held_cells = cells & fixed
    hidx = cap.index[held_cells]
    hr, hs = data.positions(hidx)
    hobs = data.observed.index.get_indexer(hidx)
    hcount = data.observed_plants.index.get_indexer(hidx)

    def held(x: Inputs) -> np.ndarray:
        k_obs, p = take(x.observed, hobs), column(x, "plant_size")[hs]
        with np.errstate(divide="ignore", invalid="ignore"):
            estimate = np.where(p > 0, np.ceil(k_obs / p - 1e-9), 1.0)
        estimate = np.where(k_obs > 0, estimate, 0.0)
        counted = take(x.observed_plants, hcount, np.nan)
        return np.where(np.isnan(counted), estimate, counted)

    if held_cells.any():
        lp.add_variables(
            "plants_held",
            hidx,
            held,
            held,
            unit="plants",
            doc="plants where capacity is fixed: observed, or ceil(capacity / plant size)",
        )

    # -- economies of scale ---------------------------------------------------------------
    def per_plant(x: Inputs, r_pos: np.ndarray, s_pos: np.ndarray) -> np.ndarray | None:
        share = plant_capital_share(x)
        if share is None:
            return None
        return share[s_pos] * x.annualised_capex[r_pos, s_pos] * column(x, "plant_size")[s_pos]

    cr, cs = data.positions(cap.index[cells])

    def capital_share(x: Inputs) -> np.ndarray | None:
        share = plant_capital_share(x)
        return None if share is None else -share[cs] * x.annualised_capex[cr, cs]

    lp.add_objective("capital", "capacity", np.flatnonzero(cells), capital_share)
    if decided.any():
        lp.add_objective("plant_fixed", "plants", np.arange(len(idx)), lambda x: per_plant(x, r, s))
    if held_cells.any():
        lp.add_objective(
            "plant_fixed", "plants_held", np.arange(len(hidx)), lambda x: per_plant(x, hr, hs)
        )


# -- objective ---------------------------------------------------------------------------
def define_capital_cost(lp: LinearProgram, data: ModelData) -> None:
    """capital = sum capex_s crf(i_r, L_s) cap[r,s,t] (CNY bn/yr)."""
    cap = lp.variables["capacity"]
    r, s = data.positions(cap.index)
    lp.add_objective("capital", "capacity", np.arange(cap.size), lambda x: x.annualised_capex[r, s])


def define_operating_cost(lp: LinearProgram, data: ModelData) -> None:
    """fixed_om = sum fom_s c_r cap[r,s,t];  variable = sum vc_s c_r prod[r,s,t]
    (CNY bn/yr; c_r the regional cost factor, 1 where a region has none)."""
    cap = lp.variables["capacity"]
    r, s = data.positions(cap.index)
    cf = regional("cost_factor", r, 1.0)
    pos = np.arange(cap.size)
    lp.add_objective("fixed_om", "capacity", pos, lambda x: x.sector["fixed_om"][s] * cf(x))
    lp.add_objective("variable", "production", pos, lambda x: x.sector["variable_cost"][s] * cf(x))


def define_input_costs(lp: LinearProgram, data: ModelData) -> None:
    """Regional input costs of production, for sectors with an input intensity and regions
    with the input's price (CNY bn/yr; X = production in output units):

        electricity = sum e_s p_r X[r,s,t] / 1000     (e_s GWh per output unit,
                                                         p_r CNY/kWh: 1 GWh x 1 CNY/kWh
                                                         = CNY 0.001 bn)
        labour = sum l_s w_r X[r,s,t] / 1000          (l_s k person-years per output unit,
                                                         w_r CNY k per person-year)

    A region without the price pays the mean price of the regions that have one (so a
    missing figure makes no region cheap); a sector without the intensity has no such
    term. With these terms, ``variable_cost`` is the other variable cost (the inputs
    priced here taken out of it)."""
    prod = lp.variables["production"]
    r, s = data.positions(prod.index)
    pos = np.arange(prod.size)
    for term, intensity, price in INPUT_COSTS:
        if intensity not in data.sectors or price not in data.regions:
            continue

        def coefficient(x: Inputs, intensity=intensity, price=price) -> np.ndarray | None:
            e = x.sector[intensity]
            p = x.region[price]
            if not (np.isfinite(e).any() and np.isfinite(p).any()):
                return None
            p = np.where(np.isnan(p), np.nanmean(p), p)
            return np.nan_to_num(e)[s] * p[r] / 1000.0

        lp.add_objective(term, "production", pos, coefficient)


def define_transport_cost(lp: LinearProgram, data: ModelData) -> None:
    """transport = sum tc_s d_a / 1000 ship[a,s,t] (CNY bn/yr; d_a in km)."""
    ship = lp.variables["shipment"]
    # Shipments are arc-major (define_shipments): column k is on arc k // (sectors x years).
    arc = np.arange(ship.size) // (len(data.sectors) * len(data.years))
    s = level_positions(data.sectors.index, ship.index, "sector")
    lp.add_objective(
        "transport",
        "shipment",
        np.arange(ship.size),
        lambda x: x.sector["transport_cost"][s] * x.distance_km[arc] / 1000.0,
    )


def define_sea_freight_cost(lp: LinearProgram, data: ModelData) -> None:
    """sea_freight = sum sf_s Dbar[p,s,t] / 1000 exp[r,p,s,t] (CNY bn/yr; with ports,
    for sectors with ``sea_freight_cost`` and export destination shares; see
    :func:`sea_freight`)."""
    exp = lp.variables["export"]
    if data.ports.empty or data.export_destinations.empty or exp.size == 0:
        return
    lp.add_objective("sea_freight", "export", np.arange(exp.size), sea_freight(data, exp.index))


def define_unmet_penalty(lp: LinearProgram, data: ModelData) -> None:
    """unmet_penalty = sum pen_s (unmet[r,s,t] + unmet_export[s,t]) (CNY bn/yr), pen_s
    from :func:`unmet_penalty` (uniform within a sector)."""
    unmet, miss = lp.variables["unmet"], lp.variables["unmet_export"]
    # Appending keeps the unmet labels' codes (from_arrays on the joined columns
    # re-factorised 30k labels).
    keys = unmet.index.append(
        pd.MultiIndex.from_arrays(
            [
                np.full(miss.size, EXPORT),
                miss.index.get_level_values("sector"),
                miss.index.get_level_values("year"),
            ],
            names=RTY,
        )
    )
    exp = lp.variables["export"]
    penalty = penalties(data, keys, exp.index if not data.ports.empty else None)
    n = unmet.size
    lp.add_objective("unmet_penalty", "unmet", np.arange(n), lambda x: penalty(x)[:n])
    lp.add_objective(
        "unmet_penalty", "unmet_export", np.arange(miss.size), lambda x: penalty(x)[n:]
    )


def define_stranded_cost(lp: LinearProgram, data: ModelData) -> None:
    """stranded = w_idle sum capex_s crf(i_r, L_s) (cap[r,s,t] - prod[r,s,t] / u_s)
    (CNY bn/yr; absent where w_idle = 0)."""
    cap = lp.variables["capacity"]
    r, s = data.positions(cap.index)
    pos = np.arange(cap.size)

    def weighted(x: Inputs) -> np.ndarray | None:
        w = x.parameters.stranded_weight
        return w * x.annualised_capex[r, s] if w > 0 else None

    def credit(x: Inputs) -> np.ndarray | None:
        charge = weighted(x)
        return None if charge is None else -charge / x.sector["max_utilisation"][s]

    lp.add_objective("stranded", "capacity", pos, weighted)
    lp.add_objective("stranded", "production", pos, credit)


def define_debt_cost(lp: LinearProgram, data: ModelData) -> None:
    """debt = w_debt sum ds[r,s] cap[r,s,t] (CNY bn/yr; absent where w_debt = 0)."""
    cap = lp.variables["capacity"]
    r, s = data.positions(cap.index)

    def cost(x: Inputs) -> np.ndarray | None:
        w = x.parameters.debt_weight
        return w * x.debt_service[r, s] if w > 0 else None

    lp.add_objective("debt", "capacity", np.arange(cap.size), cost)


# -- the families, in build order ----------------------------------------------------------
@dataclass(frozen=True)
class Family:
    """One family of the model: its ``define_*`` function and when it applies.

    Parameters
    ----------
    name
        The family's name (its blocks and terms are named by its function).
    define
        ``define(lp, data)``: declares the family's blocks with value functions.
    switch
        A boolean :class:`~optimizer.scenario.parameters.ModelParameters` field that turns
        the family on (a *structural* parameter: changing it changes the model's
        structure), or None for a family that is always there.
    modes
        The modes the family applies in.

    Examples
    --------
    >>> fam = Family("fiscal_limit", define_fiscal_limit, "fiscal_limit", ("coordinated",))
    >>> fam.applies(ModelParameters(fiscal_limit=True), "observed")
    False
    """

    name: str
    define: Callable[[LinearProgram, ModelData], None]
    switch: str | None = None
    modes: tuple[str, ...] = MODES

    def applies(self, parameters: ModelParameters, mode: str) -> bool:
        """Whether the family is part of the model for these parameters and mode."""
        on = self.switch is None or bool(getattr(parameters, self.switch))
        return on and mode in self.modes


FAMILIES: list[Family] = [
    Family("capacity", define_capacity),
    Family("production", define_production),
    Family("shipment", define_shipments),
    Family("export", define_exports),
    Family("unmet", define_unmet),
    Family("tranches", define_tranches),
    Family("production_limit", define_production_limit),
    Family("demand_balance", define_demand_balance),
    Family("export_absorption", define_export_absorption),
    Family("port_limit", define_port_limit),
    Family("fiscal_limit", define_fiscal_limit, "fiscal_limit", ("coordinated",)),
    Family("plants", define_plants, "min_plant_scale"),
    Family("capital", define_capital_cost),
    Family("operating", define_operating_cost),
    Family("input_costs", define_input_costs),
    Family("transport", define_transport_cost),
    Family("sea_freight", define_sea_freight_cost),
    Family("unmet_penalty", define_unmet_penalty),
    Family("stranded", define_stranded_cost),
    Family("debt", define_debt_cost),
]


def structural_switches() -> tuple[str, ...]:
    """The parameters that change the model's structure (declared by :data:`FAMILIES`)."""
    return tuple(dict.fromkeys(f.switch for f in FAMILIES if f.switch))


#: The structural parameters of the shipped families (see :func:`structural_switches`).
STRUCTURAL = structural_switches()


def active_families(parameters: ModelParameters, mode: str) -> tuple[str, ...]:
    """Names of the families a model of these parameters and mode has (its structure).

    Examples
    --------
    >>> "fiscal_limit" in active_families(ModelParameters(), "coordinated")
    True
    """
    return tuple(f.name for f in FAMILIES if f.applies(parameters, mode))


def build(
    scenario: Scenario, mode: str = "coordinated", arcs: pd.DataFrame | None = None
) -> tuple[LinearProgram, ModelData]:
    """Build the model of ``scenario`` in ``mode`` (``coordinated`` or ``observed``).

    Declares every family of :data:`FAMILIES` that applies and evaluates its values on
    the scenario's :class:`~optimizer.model.data.Inputs` (``lp.inputs``).

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> lp, data = build(load_scenario())
    >>> sorted(lp.constraints)[:2]
    ['demand_balance', 'export_absorption']
    """
    data = ModelData.from_scenario(scenario, mode, arcs)
    return formulate(data), data


def formulate(data: ModelData) -> LinearProgram:
    """The model of prepared ``data`` (in its mode): every family of :data:`FAMILIES`
    that applies, evaluated on ``data.inputs`` (:func:`build` without the preparation).

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> data = ModelData.from_scenario(load_scenario(), "observed")
    >>> formulate(data).shape == build(load_scenario(), "observed")[0].shape
    True
    """
    lp = LinearProgram(inputs=data.inputs)
    for family in FAMILIES:
        if family.applies(data.parameters, data.mode):
            family.define(lp, data)
    return lp
