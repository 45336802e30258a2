"""What the formulation is built from: index sets and tables (:class:`ModelData`), and
the numbers every coefficient is a function of, aligned on them (:class:`Inputs`).

:class:`ModelData` fixes the model's *structure*: which regions produce, which sectors,
years, arcs, demand cells and cost tranches exist. :class:`Inputs` holds its *numbers* as
plain numpy arrays in the order of those sets. The formulation declares structure from
the first and values as functions of the second, so a sweep that varies numbers builds a
new :class:`Inputs` (:meth:`optimizer.sweeps.overrides.Overrides.scale`) and re-evaluates.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_array
from scipy.sparse.csgraph import shortest_path

from optimizer.errors import Issue, ScenarioError
from optimizer.model.economics import capital_recovery_factor
from optimizer.scenario.parameters import MODES, ModelParameters
from optimizer.scenario.scenario import Scenario

RTY = ["region", "sector", "year"]
#: Label of export absorption where tables are indexed by region (unmet demand, penalties).
EXPORT = "export"


def take(values: np.ndarray, positions: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``values[positions]``, with ``fill`` where a position is -1 (absent).

    Examples
    --------
    >>> take(np.array([5.0, 6.0]), np.array([1, -1, 0])).tolist()
    [6.0, 0.0, 5.0]
    """
    positions = np.asarray(positions)
    out = np.full(positions.shape, fill, dtype=float)
    ok = positions >= 0
    out[ok] = np.asarray(values, dtype=float)[positions[ok]]
    return out


def level_positions(labels: pd.Index, index: pd.MultiIndex, level: str) -> np.ndarray:
    """Position in ``labels`` of each entry's value of level ``level`` of ``index``; -1
    where a value is not in ``labels`` (or missing).

    The same as ``labels.get_indexer(index.get_level_values(level))``, but looked up once
    per distinct value of the level and spread by the level's codes: at 200k entries of
    Arrow strings the lookup of every entry took most of a model's index work.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_tuples([("b", 1), ("a", 2), ("c", 1)], names=["r", "t"])
    >>> level_positions(pd.Index(["a", "b"]), idx, "r").tolist()
    [1, 0, -1]
    """
    i = list(index.names).index(level)
    codes = np.asarray(index.codes[i])
    distinct = labels.get_indexer(index.levels[i])
    out = distinct[codes] if len(distinct) else np.full(len(codes), -1, dtype=np.intp)
    return np.where(codes >= 0, out, -1)


def product_positions(
    factors: list[pd.Index], index: pd.MultiIndex, levels: list[str]
) -> np.ndarray:
    """Position in ``pd.MultiIndex.from_product(factors)`` of each entry of ``index``
    (its levels ``levels``, one per factor); -1 where a value is in no factor.

    Integer arithmetic on :func:`level_positions` (the factors must be unique, as a
    product index's are), instead of building the target labels and hashing tuples.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_tuples([("b", 2), ("a", 1), ("z", 1)], names=["r", "t"])
    >>> product_positions([pd.Index(["a", "b"]), pd.Index([1, 2])], idx, ["r", "t"]).tolist()
    [3, 0, -1]
    """
    out = np.zeros(len(index), dtype=np.intp)
    found = np.ones(len(index), dtype=bool)
    for labels, level in zip(factors, levels, strict=True):
        pos = level_positions(labels, index, level)
        found &= pos >= 0
        out = out * len(labels) + pos
    return np.where(found, out, -1)


@dataclass
class Inputs:
    """The scenario's numbers, aligned on the index sets of a :class:`ModelData`.

    Every bound, right-hand side, matrix coefficient and cost of the formulation is a
    function of these arrays (and of nothing else that can vary), so changing a number
    means building new ``Inputs`` and re-evaluating, never rebuilding the structure.

    Attributes
    ----------
    sector
        Per sector (order of ``ModelData.sectors``): each numeric parameter column (capex
        in CNY bn per capacity unit, asset_life in years, ...), NaN where not given.
    region
        Per region (order of ``ModelData.regions``): each numeric attribute
        (financing_rate in 1/yr, cost_factor, fiscal_capacity in CNY bn/yr, ...).
    demand, exports, observed, observed_plants
        Values of ``ModelData.demand``, ``.exports`` (output units), ``.observed``
        (capacity units) and ``.observed_plants`` (plants), in their order.
    tranche_max, tranche_multiplier
        Per row of ``ModelData.tranches`` (capacity units; dimensionless).
    distance_km
        Per arc of ``ModelData.arcs`` (km).
    reach_km
        Producer x (node..., ``export``) shortest-path distances (km; ``inf`` where
        unreachable), as ``ModelData.reach_km``.
    port_throughput, sea_distance_km, export_shares
        Per row of ``ModelData.port_throughput`` (the unit of its cargo's rows),
        ``.sea_distances`` (km) and ``.export_destinations`` (fraction); empty without
        ports.
    parameters
        The model parameters (weights, reserve margin, penalty factor, switches).

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> x = Inputs.from_data(ModelData.from_scenario(load_scenario()))
    >>> x.annualised_capex.shape == (len(x.region["financing_rate"]), len(x.sector["capex"]))
    True
    """

    sector: dict[str, np.ndarray]
    region: dict[str, np.ndarray]
    demand: np.ndarray
    exports: np.ndarray
    observed: np.ndarray
    observed_plants: np.ndarray
    tranche_max: np.ndarray
    tranche_multiplier: np.ndarray
    distance_km: np.ndarray
    reach_km: np.ndarray
    parameters: ModelParameters
    port_throughput: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sea_distance_km: np.ndarray = field(default_factory=lambda: np.zeros(0))
    export_shares: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_data(cls, data: ModelData) -> Inputs:
        """The numbers of ``data``'s tables, as arrays aligned on its index sets."""
        sectors = data.sectors.select_dtypes("number")
        regions = data.regions.select_dtypes("number")
        return cls(
            sector={c: sectors[c].to_numpy(float) for c in sectors},
            region={c: regions[c].to_numpy(float) for c in regions},
            demand=data.demand.to_numpy(float),
            exports=data.exports.to_numpy(float),
            observed=data.observed.to_numpy(float),
            observed_plants=data.observed_plants.to_numpy(float),
            tranche_max=data.tranches["max_capacity"].to_numpy(float),
            tranche_multiplier=data.tranches["cost_multiplier"].to_numpy(float),
            distance_km=data.arcs["distance_km"].to_numpy(float),
            reach_km=data.reach_km.to_numpy(float),
            parameters=data.parameters,
            port_throughput=data.port_throughput["throughput"].to_numpy(float),
            sea_distance_km=data.sea_distances["distance_km"].to_numpy(float),
            export_shares=data.export_destinations["share"].to_numpy(float),
        )

    def replace(self, **changes: Any) -> Inputs:
        """A copy with some fields changed (derived arrays are recomputed)."""
        return replace(self, _memo={}, **changes)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, once per ``Inputs`` (for intermediates several families share)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def regional(self, column: str, default: float) -> np.ndarray:
        """A regional attribute per region, ``default`` where a region has none."""
        values = self.region.get(column)
        if values is None:
            return np.full(len(next(iter(self.region.values()), ())), default)
        return np.where(np.isnan(values), default, values)

    @property
    def annualised_capex(self) -> np.ndarray:
        """``capex_s * crf(i_r, L_s)`` (CNY bn/yr per capacity unit), region x sector;
        a region without a financing rate pays none (``i = 0``)."""

        def compute() -> np.ndarray:
            rate = self.regional("financing_rate", 0.0)
            life = self.sector["asset_life"]
            return self.sector["capex"][None, :] * capital_recovery_factor(
                rate[:, None], life[None, :]
            )

        return self.memo("annualised_capex", compute)

    @property
    def debt_service(self) -> np.ndarray:
        """``debt_share_s * capex_s * crf(i_r, L_s)``: CNY bn/yr of debt service per unit
        of capacity, region x sector."""
        return self.memo(
            "debt_service", lambda: self.sector["debt_share"][None, :] * self.annualised_capex
        )


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
    tranches: pd.DataFrame  # region, sector, tranche, max_capacity, cost_multiplier
    observed_quality: pd.Series  # (region, sector, year) -> reported / estimated / assumed
    # (region, sector, year) -> observed plant count (buildout rows "plants"; may be empty)
    observed_plants: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    parameters: ModelParameters = field(default_factory=ModelParameters)
    # producer x (node..., "export"): shortest-path km from each producer to each node, and
    # to the nearest export port's region (a coastal region without ports); inf where the
    # network has no path.
    reach_km: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Export ports (index ``port``: name, region); empty without a ``ports`` table (each
    # coastal region is then its own port).
    ports: pd.DataFrame = field(default_factory=lambda: _PORTS.copy())
    # port, cargo, throughput: the rows the port limits weigh (see ``_throughput``).
    port_throughput: pd.DataFrame = field(default_factory=lambda: _THROUGHPUT.copy())
    # port, destination, distance_km (ports of ``ports`` only).
    sea_distances: pd.DataFrame = field(default_factory=lambda: _DISTANCES.copy())
    # sector, year, destination, share (model years, shares > 0).
    export_destinations: pd.DataFrame = field(default_factory=lambda: _SHARES.copy())

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
        plants = _by_year(b.loc[b["variable"] == "plants"], ["region", "sector", "year"], years)
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
            tranches,
            quality,
            plants,
            scenario.parameters,
        )
        if not scenario.ports.empty:
            data.ports = (
                scenario.ports.drop_duplicates("port")
                .set_index("port")[["name", "region"]]
                .loc[lambda f: f["region"].isin(nodes)]
            )
            data.port_throughput = _throughput(scenario.ports, scenario.base_year)
            sd = scenario.sea_distances
            data.sea_distances = sd.loc[
                sd["port"].isin(data.ports.index), ["port", "destination", "distance_km"]
            ].reset_index(drop=True)
        ed = scenario.export_destinations
        data.export_destinations = ed.loc[
            ed["year"].isin(years) & (ed["share"] > 0), ["sector", "year", "destination", "share"]
        ].reset_index(drop=True)
        data.reach_km = producer_distances(data)
        return data

    # -- positions and derived numbers ---------------------------------------------------
    @functools.cached_property
    def inputs(self) -> Inputs:
        """This data's own numbers (the base every variant scales)."""
        return Inputs.from_data(self)

    def positions(self, index: pd.MultiIndex) -> tuple[np.ndarray, np.ndarray]:
        """Positions of each label's region in :attr:`regions` and sector in :attr:`sectors`."""
        return (
            level_positions(self.regions.index, index, "region"),
            level_positions(self.sectors.index, index, "sector"),
        )

    def annualised_capex(self, index: pd.MultiIndex) -> np.ndarray:
        """capex_s * crf(i_r, L_s) in CNY bn/yr per unit of capacity, for (r, s, ...) labels."""
        r, s = self.positions(index)
        return self.inputs.annualised_capex[r, s]

    def debt_service(self, index: pd.MultiIndex) -> np.ndarray:
        """debt_share_s * capex_s * crf(i_r, L_s): CNY bn/yr of debt service per unit."""
        r, s = self.positions(index)
        return self.inputs.debt_service[r, s]

    @functools.cached_property
    def sector_codes(self) -> list[str]:
        """The sector codes, in order (a plain list)."""
        return self.sectors.index.tolist()

    @functools.cached_property
    def region_codes(self) -> list[str]:
        """The region codes, in order (a plain list)."""
        return self.regions.index.tolist()

    @functools.cached_property
    def demand_sectors(self) -> np.ndarray:
        """Position in :attr:`sectors` of each demand cell (:attr:`demand`'s order)."""
        return self.sectors.index.get_indexer(self.demand.index.get_level_values("sector"))

    @functools.cached_property
    def export_sectors(self) -> np.ndarray:
        """Position in :attr:`sectors` of each export cell (:attr:`exports`' order)."""
        return self.sectors.index.get_indexer(self.exports.index.get_level_values("sector"))

    def sectoral(self, column: str, index: pd.MultiIndex) -> np.ndarray:
        return self.sectors[column].reindex(index.get_level_values("sector")).to_numpy()


_PORTS = pd.DataFrame(
    {"name": pd.Series(dtype=object), "region": pd.Series(dtype=object)},
    index=pd.Index([], dtype=object, name="port"),
)
_THROUGHPUT = pd.DataFrame(
    {"port": pd.Series(dtype=object), "cargo": pd.Series(dtype=object), "throughput": []}
)
_DISTANCES = pd.DataFrame(
    {"port": pd.Series(dtype=object), "destination": pd.Series(dtype=object), "distance_km": []}
)
_SHARES = pd.DataFrame(
    {
        "sector": pd.Series(dtype=object),
        "year": pd.Series(dtype="int64"),
        "destination": pd.Series(dtype=object),
        "share": [],
    }
)


def _throughput(ports: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """The throughput rows the port limits weigh: per cargo kind, those of one year (the
    latest year up to ``base_year`` that has rows of the cargo, else its earliest), so
    the ports of a cargo are compared within one scope."""
    rated = ports.loc[ports["cargo"].notna() & ports["throughput"].notna()]
    if rated.empty:
        return _THROUGHPUT.copy()
    years = rated["year"]
    latest = years.where(years <= base_year).groupby(rated["cargo"]).transform("max")
    earliest = years.groupby(rated["cargo"]).transform("min")
    chosen = latest.fillna(earliest)
    rows = rated.loc[years == chosen, ["port", "cargo", "throughput"]]
    return rows.astype({"throughput": float}).reset_index(drop=True)


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
    a column ``export``: the distance to the nearest region exports leave from (the
    region of an export port; without ports, a coastal region).

    ``inf`` where no path exists. Only the producers and the paths that leave them count,
    so a node no producer can reach, or a far-away node with nothing to supply, changes
    no other entry.
    """
    nodes, producers = data.nodes, data.producers
    if data.ports.empty:
        coastal = data.regions["coastal"].reindex(nodes).fillna(False).to_numpy(bool)
    else:
        coastal = nodes.isin(data.ports["region"])
    arcs = data.arcs
    if arcs.empty or producers.empty:
        dist = np.full((len(producers), len(nodes)), np.inf)
        dist[np.arange(len(producers)), nodes.get_indexer(producers)] = 0.0
    else:
        # Parallel arcs: the shortest counts (a sparse matrix would add them up).
        a = arcs.groupby(["from_region", "to_region"], as_index=False)["distance_km"].min()
        dist = shortest_paths(
            len(nodes),
            nodes.get_indexer(a["from_region"]),
            nodes.get_indexer(a["to_region"]),
            a["distance_km"].to_numpy(float),
            nodes.get_indexer(producers),
        )
    to_coast = dist[:, coastal].min(axis=1) if coastal.any() else np.full(len(producers), np.inf)
    # One block (a column appended to the frame made two, and Inputs' to_numpy then
    # interleaved 1,600 columns one by one: 50 ms at 1,600 regions).
    return pd.DataFrame(
        np.column_stack([dist, to_coast]),
        index=producers,
        columns=nodes.insert(len(nodes), EXPORT),
        copy=False,
    )


#: The last few networks' shortest paths (:func:`shortest_paths`), newest last.
_PATHS: OrderedDict[bytes, np.ndarray] = OrderedDict()
_PATHS_LOCK = threading.Lock()  # models built in threads (a Dask worker) share it
#: How many networks :func:`shortest_paths` remembers at most, and the memory they may
#: hold together beyond the newest (one matrix is sources x nodes floats: 20 MB at 1,600
#: regions, 330 MB at 6,400).
PATHS_CACHED = 2
PATHS_BYTES = 256 * 2**20


def shortest_paths(
    n_nodes: int,
    tail: np.ndarray,
    head: np.ndarray,
    km: np.ndarray,
    sources: np.ndarray,
) -> np.ndarray:
    """Shortest-path distances (km) from each of ``sources`` to every node over the arcs
    ``tail[k] -> head[k]`` of length ``km[k]`` (node positions; one arc per pair): a
    ``len(sources) x n_nodes`` array, ``inf`` where no path exists. Read-only.

    Dijkstra from every source is most of a large model's data preparation (0.2 s at
    1,600 regions), and a run builds several models on one network (observed and
    coordinated, more for ranges), so the last :data:`PATHS_CACHED` networks' results
    are kept (within :data:`PATHS_BYTES`; the newest always), keyed by the arcs,
    lengths and sources themselves: a changed network is a new key, never a stale
    answer.

    Examples
    --------
    >>> d = shortest_paths(3, np.array([0, 1]), np.array([1, 2]), np.array([5.0, 7.0]),
    ...                    np.array([0, 2]))
    >>> d.tolist()
    [[0.0, 5.0, 12.0], [inf, inf, 0.0]]
    """
    arrays = [np.ascontiguousarray(a) for a in (tail, head, sources)]
    arrays = [a.astype(np.int64) for a in arrays]
    km = np.ascontiguousarray(km, dtype=float)
    digest = hashlib.sha256(np.int64(n_nodes).tobytes())
    for a in (*arrays, km):
        digest.update(np.int64(a.size).tobytes())
        digest.update(a.tobytes())
    key = digest.digest()
    with _PATHS_LOCK:
        if key in _PATHS:
            _PATHS.move_to_end(key)
            return _PATHS[key]
    tail, head, sources = arrays
    g = coo_array((km, (tail, head)), shape=(n_nodes, n_nodes))
    dist = np.atleast_2d(shortest_path(g.tocsr(), directed=True, indices=sources))
    dist.setflags(write=False)
    with _PATHS_LOCK:
        _PATHS[key] = dist
        while len(_PATHS) > 1 and (
            len(_PATHS) > PATHS_CACHED or sum(a.nbytes for a in _PATHS.values()) > PATHS_BYTES
        ):
            _PATHS.popitem(last=False)
    return dist


def clear_paths_cache() -> None:
    """Forget the remembered shortest paths (:func:`shortest_paths`), e.g. to time a
    build from scratch."""
    with _PATHS_LOCK:
        _PATHS.clear()
