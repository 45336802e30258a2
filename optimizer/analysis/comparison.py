"""The gap between the observed buildout and the coordinated plan.

:func:`compare` returns tables (each with ``attrs`` name and unit):

- ``regional_gap``: per region x sector x year, observed vs coordinated capacity and
  the gap;
- ``sector_summary``: per sector and year, regions with capacity, national utilisation,
  stranded capacity (units and CNY bn), debt tied to it, and capacity concentration
  (HHI);
- ``region_summary``: per region and year, Krugman specialisation index and
  industrial-structure similarity to the other regions, observed vs coordinated;
- ``decomposition``: the cost of non-coordination in named parts (carrying capacity
  beyond the plan's, producing in costlier places, sub-scale plants, transport) by
  sector and year, summing to the total (:func:`decomposition`);
- ``headline``: the cost of non-coordination and national totals, the unmet demand of
  each mode (quantities) and the fiscal limits exceeded: one figure per metric, over the
  model's years (column ``years``; see :func:`headline`);
- ``unmet``: unmet demand by region, sector and year in each mode, with its cause;
- ``fiscal_limits_exceeded``: regions and years whose debt service exceeds the fiscal
  capacity in either mode, and by how much.

Every table but the headline is keyed by ``year`` (a column, or an index level of the
summaries); today the model has one year, the scenario's ``base_year``.

Both modes obey the same rules (``docs/model.md``, "Comparing like with like"): where the
observed buildout breaks a fiscal limit, a regional capacity limit or the minimum plant
scale, the plan is held to what the observed buildout did there, no more, so the observed
buildout is always a feasible plan. The cost of non-coordination is a difference of
resource costs (capital, fixed O&M, variable cost, transport): it contains no
unmet-demand penalty; unmet demand is stated as quantities beside it.

Capacities of different sectors are made comparable by their capital value
(capacity x capex, CNY bn) wherever sectors are added up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.errors import DupoptError
from optimizer.model.results import NON_RESOURCE_TERMS, Result, named

#: Capacity below this (in the sector's capacity unit) counts as none.
CAPACITY_EPS = 1e-6
REGION_YEAR = ["region", "year"]


@dataclass
class Comparison:
    """Gap tables between an observed evaluation and a coordinated plan."""

    regional_gap: pd.DataFrame
    sector_summary: pd.DataFrame
    region_summary: pd.DataFrame
    headline: pd.DataFrame
    unmet: pd.DataFrame | None = None
    fiscal_limits_exceeded: pd.DataFrame | None = None
    decomposition: pd.DataFrame | None = None
    #: Quantities that differ between optimal solutions, by mode and sector
    #: (:func:`non_unique_summary`); None where the backend does not tell.
    non_unique: pd.DataFrame | None = None
    #: The headline over draws of the uncertain inputs, and those inputs
    #: (:mod:`optimizer.analysis.uncertainty`; set by ``dupopt run``).
    headline_range: pd.DataFrame | None = None
    uncertain_inputs: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {
            "regional_gap": self.regional_gap,
            "sector_summary": self.sector_summary,
            "region_summary": self.region_summary,
            "headline": self.headline,
        }
        for name in (
            "unmet",
            "fiscal_limits_exceeded",
            "decomposition",
            "non_unique",
            "headline_range",
            "uncertain_inputs",
        ):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


def compare(observed: Result, coordinated: Result) -> Comparison:
    """Compare the observed buildout with the coordinated plan, on equal terms.

    Parameters
    ----------
    observed
        Result of :func:`optimizer.evaluate_observed`.
    coordinated
        Result of :func:`optimizer.solve` on the same scenario.

    Examples
    --------
    >>> import optimizer
    >>> s = optimizer.load_scenario()
    >>> gap = compare(optimizer.evaluate_observed(s), optimizer.solve(s))
    >>> int(gap.sector_summary.loc[("solar_pv", 2023), "regions_observed"])
    31
    """
    for result, mode in ((observed, "observed"), (coordinated, "coordinated")):
        if result.mode != mode:
            raise DupoptError(
                f"compare() expects the {mode} result in that place, got a {result.mode} result"
            )
        result.raise_for_status()
    obs, coo = observed.allocation, coordinated.allocation
    gap = regional_gap(obs, coo)
    return Comparison(
        regional_gap=gap,
        sector_summary=sector_summary(obs, coo),
        region_summary=region_summary(obs, coo, gap),
        headline=headline(observed, coordinated),
        unmet=unmet_comparison(observed, coordinated),
        fiscal_limits_exceeded=fiscal_comparison(observed, coordinated),
        decomposition=decomposition(observed, coordinated),
        non_unique=non_unique_summary(observed, coordinated),
    )


def _pair(obs: pd.DataFrame, coo: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    keys = ["region", "sector", "year"]
    merged = obs[keys + columns].merge(
        coo[keys + columns], on=keys, how="outer", suffixes=("_observed", "_coordinated")
    )
    return merged.set_index(keys).fillna(0.0)


def regional_gap(obs: pd.DataFrame, coo: pd.DataFrame) -> pd.DataFrame:
    """Observed and coordinated capacity per region and sector; gap = observed - coordinated
    (capacity units; positive where the observed buildout exceeds the plan)."""
    pair = _pair(obs, coo, ["capacity", "capital_cny_bn"])
    quality = obs.set_index(["region", "sector", "year"])["observed_quality"]
    pair["observed_quality"] = quality.reindex(pair.index).fillna("none")
    pair["gap"] = pair["capacity_observed"] - pair["capacity_coordinated"]
    pair["gap_capital_cny_bn"] = (
        pair["capital_cny_bn_observed"] - pair["capital_cny_bn_coordinated"]
    )
    units = pd.concat([obs, coo]).drop_duplicates("sector").set_index("sector")["capacity_unit"]
    frame = pair.reset_index()
    frame["capacity_unit"] = units.reindex(frame["sector"]).to_numpy()
    return named(frame, "capacity gap by region and sector", "capacity units; CNY bn")


def hhi(capacity: pd.Series) -> float:
    """Herfindahl-Hirschman index of capacity shares (0..1; 1 = one region holds all).

    Examples
    --------
    >>> hhi(pd.Series([1.0, 1.0]))
    0.5
    """
    total = capacity.sum()
    return float(((capacity / total) ** 2).sum()) if total > 0 else float("nan")


def sector_summary(obs: pd.DataFrame, coo: pd.DataFrame) -> pd.DataFrame:
    """Per sector and year (the index), observed vs coordinated: regions with capacity,
    national capacity, production and utilisation, stranded capacity
    (``cap - prod / max_utilisation``) in units and CNY bn, debt tied to stranded
    capacity (CNY bn) and HHI of capacity."""
    keys = ["sector", "year"]
    rows = {}
    for label, frame in (("observed", obs), ("coordinated", coo)):
        g = frame.groupby(keys)
        built = frame.loc[frame["capacity"] > CAPACITY_EPS]
        rows[f"regions_{label}"] = built.groupby(keys)["region"].nunique()
        rows[f"capacity_{label}"] = g["capacity"].sum()
        rows[f"production_{label}"] = g["production"].sum()
        rows[f"stranded_capacity_{label}"] = g["stranded_capacity"].sum()
        rows[f"stranded_capital_cny_bn_{label}"] = g["stranded_capital_cny_bn"].sum()
        rows[f"stranded_debt_cny_bn_{label}"] = g["stranded_debt_cny_bn"].sum()
        rows[f"hhi_{label}"] = g["capacity"].apply(hhi)
    table = pd.DataFrame(rows)
    for label in ("observed", "coordinated"):
        table[f"regions_{label}"] = table[f"regions_{label}"].fillna(0).astype(int)
        with np.errstate(divide="ignore", invalid="ignore"):
            table[f"utilisation_{label}"] = (
                table[f"production_{label}"] / table[f"capacity_{label}"]
            )
    units = obs.drop_duplicates("sector").set_index("sector")["capacity_unit"]
    table["capacity_unit"] = units.reindex(table.index.get_level_values("sector")).to_numpy()
    table.index.names = keys
    return named(
        table,
        "sector summary, observed vs coordinated",
        "regions; capacity units; CNY bn; fraction",
    )


def _shares(frame: pd.DataFrame) -> pd.DataFrame:
    """Region x sector matrix of capital value (CNY bn)."""
    return frame.pivot_table(
        index="region", columns="sector", values="capital_cny_bn", aggfunc="sum", fill_value=0.0
    )


def krugman_index(values: pd.DataFrame) -> pd.Series:
    """Krugman specialisation index per region: sum_s |v_rs / v_r - v_-r,s / v_-r|,
    comparing a region's sector mix with that of all other regions (0 = same mix,
    2 = no sector in common). ``values`` is region x sector (capital value, CNY bn).

    Examples
    --------
    >>> v = pd.DataFrame({"a": [1.0, 0.0], "b": [0.0, 1.0]}, index=["r1", "r2"])
    >>> krugman_index(v).tolist()
    [2.0, 2.0]
    """
    x = values.to_numpy(dtype=float)
    rest = x.sum(axis=0)[None, :] - x  # every other region's values, per region
    own, others = x.sum(axis=1), rest.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.abs(x / own[:, None] - rest / others[:, None]).sum(axis=1)
    return pd.Series(
        np.where((own > 0) & (others > 0), gap, np.nan), index=values.index, name="krugman"
    )


def similarity_index(values: pd.DataFrame) -> pd.Series:
    """Industrial-structure similarity per region: mean cosine similarity of its sector
    vector with every other region that has capacity (0 = nothing in common, 1 = the same
    mix). ``values`` is region x sector (capital value, CNY bn)."""
    x = values.to_numpy(dtype=float)
    norm = np.linalg.norm(x, axis=1)
    active = norm > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = x / norm[:, None]
    cos = unit @ unit.T
    out = {}
    for i, region in enumerate(values.index):
        others = active.copy()
        others[i] = False
        out[region] = float(cos[i, others].mean()) if active[i] and others.any() else np.nan
    return pd.Series(out, name="similarity")


def _per_year(frame: pd.DataFrame, index) -> pd.Series:
    """An index of the region x sector capital mix (:func:`krugman_index`,
    :func:`similarity_index`), computed within each year: by (region, year)."""
    parts = {year: index(_shares(part)) for year, part in frame.groupby("year")}
    if not parts:
        return pd.Series(dtype=float, index=pd.MultiIndex.from_tuples([], names=REGION_YEAR))
    out = pd.concat(parts, names=["year", "region"]).swaplevel()
    return out.rename_axis(REGION_YEAR)


def region_summary(
    obs: pd.DataFrame, coo: pd.DataFrame, gap: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per region and year (the index), observed vs coordinated: capital in place (CNY
    bn), stranded capital and the debt tied to it (CNY bn), number of sectors with
    capacity, Krugman index and structure similarity (of the year's capital mix); and
    ``sectors_duplicated``, the number of sectors in which the region's observed capacity
    exceeds the coordinated plan that year (it duplicates capacity the plan puts
    elsewhere or does not need)."""
    gap = regional_gap(obs, coo) if gap is None else gap
    over = gap.loc[gap["gap"] > CAPACITY_EPS].groupby(REGION_YEAR)["sector"].nunique()
    cols = {}
    for label, frame in (("observed", obs), ("coordinated", coo)):
        g = frame.groupby(REGION_YEAR)
        cols[f"capital_cny_bn_{label}"] = g["capital_cny_bn"].sum()
        cols[f"stranded_capital_cny_bn_{label}"] = g["stranded_capital_cny_bn"].sum()
        cols[f"stranded_debt_cny_bn_{label}"] = g["stranded_debt_cny_bn"].sum()
        cols[f"sectors_{label}"] = (
            frame.loc[frame["capacity"] > CAPACITY_EPS].groupby(REGION_YEAR)["sector"].nunique()
        )
        cols[f"krugman_{label}"] = _per_year(frame, krugman_index)
        cols[f"similarity_{label}"] = _per_year(frame, similarity_index)
    table = pd.DataFrame(cols)
    for label in ("observed", "coordinated"):
        table[f"sectors_{label}"] = table[f"sectors_{label}"].fillna(0).astype(int)
    table["sectors_duplicated"] = over.reindex(table.index).fillna(0).astype(int)
    table.index.names = REGION_YEAR
    return named(
        table, "region summary, observed vs coordinated", "CNY bn; sectors; index (dimensionless)"
    )


def unmet_comparison(observed: Result, coordinated: Result) -> pd.DataFrame:
    """Unmet demand by region (``export`` for export absorption) and sector in each mode,
    in output units, with the cause in each mode (``optimizer.Result.unmet``)."""
    keys = ["region", "sector", "year"]
    cols = ["quantity", "cause"]
    pair = observed.unmet[[*keys, "unit", *cols]].merge(
        coordinated.unmet[[*keys, "unit", *cols]],
        on=keys,
        how="outer",
        suffixes=("_observed", "_coordinated"),
    )
    for mode in ("observed", "coordinated"):
        pair[f"quantity_{mode}"] = pair[f"quantity_{mode}"].astype(float).fillna(0.0)
        pair[f"cause_{mode}"] = pair[f"cause_{mode}"].fillna("")
    pair["unit"] = pair["unit_observed"].fillna(pair["unit_coordinated"])
    pair["difference"] = pair["quantity_observed"] - pair["quantity_coordinated"]
    order = [*keys, "quantity_observed", "quantity_coordinated", "difference", "unit"]
    frame = pair[[*order, "cause_observed", "cause_coordinated"]].sort_values(keys)
    return named(
        frame.reset_index(drop=True), "unmet demand, observed vs coordinated", "output units"
    )


def fiscal_comparison(observed: Result, coordinated: Result) -> pd.DataFrame:
    """Regions whose annual debt service exceeds their fiscal capacity in either mode:
    debt service, fiscal capacity, excess (CNY bn/yr) and the debt beyond what the fiscal
    capacity can service (CNY bn), observed and coordinated."""
    keys = ["region", "year"]
    values = ["debt_service_cny_bn_per_yr", "excess_debt_service_cny_bn_per_yr",
              "debt_beyond_fiscal_capacity_cny_bn"]  # fmt: skip
    obs = observed.tables["fiscal_limits_exceeded"]
    coo = coordinated.tables["fiscal_limits_exceeded"]
    over = pd.concat([obs[keys], coo[keys]]).drop_duplicates()
    debt = {
        mode: r.debt.set_index(keys).reindex(pd.MultiIndex.from_frame(over))
        for mode, r in (("observed", observed), ("coordinated", coordinated))
    }
    frame = over.reset_index(drop=True)
    fiscal = debt["observed"].get("fiscal_capacity_cny_bn_per_yr")
    frame["fiscal_capacity_cny_bn_per_yr"] = np.nan if fiscal is None else fiscal.to_numpy()
    for mode, table in (("observed", obs), ("coordinated", coo)):
        mine = table.set_index(keys).reindex(pd.MultiIndex.from_frame(over))
        frame[f"{values[0]}_{mode}"] = debt[mode][values[0]].to_numpy(float)
        for col in values[1:]:
            frame[f"{col}_{mode}"] = mine[col].fillna(0.0).to_numpy(float)
    frame = frame.sort_values(f"{values[1]}_observed", ascending=False)
    return named(
        frame.reset_index(drop=True),
        "fiscal limits exceeded by region, observed vs coordinated",
        "CNY bn/yr; CNY bn",
    )


def year_span(years) -> str:
    """The years a figure covers, as text: ``"2023"``, or ``"2023-2030"`` for several.

    Examples
    --------
    >>> year_span([2023]), year_span([2030, 2023, 2025])
    ('2023', '2023-2030')
    """
    years = sorted({int(y) for y in years})
    if not years:
        return ""
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


#: The parts of the cost of non-coordination, in the order they are reported.
PARTS = ("carrying_capacity", "costlier_places", "sub_scale_plants", "transport", "other")
#: Resource-cost terms that are paid per unit of capacity, per unit of output, per plant
#: and per shipment (the other resource terms, if any, go to ``other``).
_CAPACITY_TERMS = ("capital", "fixed_om")
_OUTPUT_TERMS = ("variable", "electricity", "labour")
_PLANT_TERMS = ("plant_fixed",)
#: Domestic transport and sea freight from the export ports: both are "extra transport".
_TRANSPORT_TERMS = ("transport", "sea_freight")


def decomposition(observed: Result, coordinated: Result) -> pd.DataFrame:
    """The cost of non-coordination in parts an analyst can quote, by sector and year
    (CNY bn/yr), adding up to the ``total_cost`` difference:

    - ``carrying_capacity``: capacity beyond the plan's, at the plan's capacity cost per
      unit, ``(K_obs - K_coo) (capital + fixed_om)_coo / K_coo`` (the observed unit cost
      where the plan has no capacity of the sector);
    - ``costlier_places``: the rest of the capacity-cost difference (the same amount of
      capacity costing more where it stands: financing, cost factors, tranche premiums)
      plus the difference in variable, electricity and labour cost (producing where it
      costs more);
    - ``sub_scale_plants``: the difference in per-plant capital (``plant_fixed``: more,
      smaller plants than the plan's; 0 without lumpy plants) - the duplication itself;
    - ``transport``: the difference in transport cost, domestic (``transport``) and at
      sea from the export ports (``sea_freight``);
    - ``other``: any other resource-cost term (none in the shipped model).

    Sectors are kept apart: each row is one sector's part in one year. The parts of a
    sector add up to its resource-cost difference, and all rows to the headline's
    cost of non-coordination (summed over years).

    Examples
    --------
    >>> import optimizer
    >>> s = optimizer.load_scenario()
    >>> d = decomposition(optimizer.evaluate_observed(s), optimizer.solve(s))
    >>> sorted(d["part"].unique())[:2]
    ['carrying_capacity', 'costlier_places']
    """
    modes = {"observed": observed, "coordinated": coordinated}
    keys = ["sector", "year"]
    terms = {
        m: r.tables["sector_costs"].pivot_table(
            index=keys, columns="term", values="value", aggfunc="sum", fill_value=0.0
        )
        for m, r in modes.items()
    }
    index = terms["observed"].index.union(terms["coordinated"].index)
    columns = terms["observed"].columns.union(terms["coordinated"].columns)
    obs, coo = (t.reindex(index=index, columns=columns, fill_value=0.0) for t in terms.values())

    def total(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
        return frame[[c for c in names if c in frame]].sum(axis=1)

    capacity = {
        m: r.allocation.groupby(keys)["capacity"].sum().reindex(index, fill_value=0.0)
        for m, r in modes.items()
    }
    k_obs, k_coo = capacity["observed"], capacity["coordinated"]
    cost_obs, cost_coo = total(obs, _CAPACITY_TERMS), total(coo, _CAPACITY_TERMS)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(
            k_coo > CAPACITY_EPS,
            cost_coo / k_coo,
            np.where(k_obs > CAPACITY_EPS, cost_obs / k_obs, 0.0),
        )
    carrying = (k_obs - k_coo) * unit
    known = _CAPACITY_TERMS + _OUTPUT_TERMS + _PLANT_TERMS + _TRANSPORT_TERMS
    others = tuple(c for c in columns if c not in known and c not in NON_RESOURCE_TERMS)
    parts = {
        "carrying_capacity": carrying,
        "costlier_places": (cost_obs - cost_coo - carrying)
        + (total(obs, _OUTPUT_TERMS) - total(coo, _OUTPUT_TERMS)),
        "sub_scale_plants": total(obs, _PLANT_TERMS) - total(coo, _PLANT_TERMS),
        "transport": total(obs, _TRANSPORT_TERMS) - total(coo, _TRANSPORT_TERMS),
        "other": total(obs, others) - total(coo, others),
    }
    frame = pd.concat(
        [pd.DataFrame({"part": name, "value": value}) for name, value in parts.items()]
    ).reset_index()
    frame = frame[["part", "sector", "year", "value"]].assign(unit="CNY bn/yr")
    return named(
        frame.astype({"year": int}),
        "cost of non-coordination by part, sector and year (sums to the total_cost difference)",
        "CNY bn/yr",
    )


def decomposition_totals(table: pd.DataFrame) -> pd.Series:
    """Each part of the cost of non-coordination over all sectors and years (CNY bn/yr),
    in :data:`PARTS` order; ``other`` only where it is not zero."""
    totals = table.groupby("part")["value"].sum().reindex(list(PARTS), fill_value=0.0)
    return totals.drop("other") if totals["other"] == 0 else totals


def headline(observed: Result, coordinated: Result) -> pd.DataFrame:
    """National totals and the cost of non-coordination (``total_cost`` difference).

    ``total_cost`` is the resource cost (capital, fixed O&M, variable cost, transport;
    CNY bn/yr), without the unmet-demand penalty and the stranded and debt weights. The
    unmet demand of each mode is stated as quantities (``unmet_demand_<sector>``, in the
    sector's output unit, domestic plus export), and the fiscal limits exceeded as
    ``fiscal_limit_excess`` (CNY bn/yr of debt service beyond fiscal capacity, summed
    over regions), ``debt_beyond_fiscal_capacity`` (CNY bn) and
    ``regions_over_fiscal_limit``. Where one mode leaves demand unmet that the other
    serves, the two costs cover different output: read them with the unmet rows.

    One figure per metric over the model's years (today one, the base year), and the
    ``years`` column says which: flows (costs in CNY bn/yr, unmet quantities, the debt
    service beyond fiscal capacity) are summed over the years, as the objective sums
    them; stocks (capital, stranded capital, debt, in CNY bn) are those of the last year;
    counts (sectors with unmet demand, regions over the fiscal limit) count each sector
    or region once, in any year. Per year: ``costs``, ``sector_summary``,
    ``region_summary``, ``unmet`` and ``fiscal_limits_exceeded``."""
    modes = {"observed": observed, "coordinated": coordinated}
    years = sorted({int(y) for r in modes.values() for y in r.allocation["year"]})
    span, last = year_span(years), str(years[-1])
    rows: list[tuple] = []

    def add(metric: str, values: dict, unit: str, when: str) -> None:
        rows.append((metric, values["observed"], values["coordinated"], unit, when))

    alloc = {m: r.allocation.loc[r.allocation["year"] == years[-1]] for m, r in modes.items()}
    add("total_cost", {m: r.total_cost for m, r in modes.items()}, "CNY bn/yr", span)
    for metric, column in (
        ("stranded_capital", "stranded_capital_cny_bn"),
        ("stranded_debt", "stranded_debt_cny_bn"),
        ("capital_in_place", "capital_cny_bn"),
    ):
        add(metric, {m: a[column].sum() for m, a in alloc.items()}, "CNY bn", last)
    terms = {m: r.costs.groupby("term", sort=False)["value"].sum() for m, r in modes.items()}
    for term in terms["observed"].index.union(terms["coordinated"].index):
        if term == "unmet_penalty":  # penalty money is no cost: unmet demand is below
            continue
        add(f"cost_{term}", {m: v.get(term, 0.0) for m, v in terms.items()}, "CNY bn/yr", span)
    unmet = {m: r.unmet.groupby(["sector", "unit"])["quantity"].sum() for m, r in modes.items()}
    add("sectors_with_unmet_demand", {m: len(u) for m, u in unmet.items()}, "sectors", span)
    for sector, unit in unmet["observed"].index.union(unmet["coordinated"].index):
        add(f"unmet_demand_{sector}", {m: u.get((sector, unit), 0.0) for m, u in unmet.items()},
            unit, span)  # fmt: skip
    over = {m: r.tables["fiscal_limits_exceeded"] for m, r in modes.items()}
    column = "excess_debt_service_cny_bn_per_yr"
    add("fiscal_limit_excess", {m: f[column].sum() for m, f in over.items()}, "CNY bn/yr", span)
    column = "debt_beyond_fiscal_capacity_cny_bn"
    at_end = {m: f.loc[f["year"] == years[-1], column].sum() for m, f in over.items()}
    add("debt_beyond_fiscal_capacity", at_end, "CNY bn", last)
    add("regions_over_fiscal_limit", {m: f["region"].nunique() for m, f in over.items()},
        "regions", span)  # fmt: skip
    table = pd.DataFrame(rows, columns=["metric", "observed", "coordinated", "unit", "years"])
    table[["observed", "coordinated"]] = table[["observed", "coordinated"]].astype(float)
    table["difference"] = table["observed"] - table["coordinated"]
    table = table[["metric", "observed", "coordinated", "difference", "unit", "years"]]
    return named(
        table,
        "headline: cost of non-coordination = total_cost difference (resource cost; no "
        "unmet-demand penalty, unmet demand as quantities)",
        "see unit column; years: the years each figure covers",
    )


def headline_notes(headline: pd.DataFrame) -> list[str]:
    """Sentences to print beside the cost of non-coordination: the unmet demand of each
    mode (quantities; it is not in the cost) and the fiscal limits exceeded.

    Examples
    --------
    >>> h = pd.DataFrame({"metric": ["unmet_demand_cement"], "observed": [2.5],
    ...                   "coordinated": [0.0], "unit": ["Mt"]})
    >>> headline_notes(h)[0][:62]
    'Unmet demand (a quantity, not in the cost of non-coordination)'
    """
    h = headline.set_index("metric")
    labels = {"observed": "observed buildout", "coordinated": "coordinated plan"}
    notes = []
    unmet = h.loc[h.index.str.startswith("unmet_demand_")]
    if (unmet[["observed", "coordinated"]] > 0).any(axis=None):
        parts = []
        for mode, label in labels.items():
            rows = unmet.loc[unmet[mode] > 0]
            listed = ", ".join(
                f"{m.removeprefix('unmet_demand_')} {q:,.4g} {u}"
                for m, q, u in zip(rows.index, rows[mode], rows["unit"], strict=True)
            )
            parts.append(f"{label}: {listed or 'none'}")
        notes.append(
            "Unmet demand (a quantity, not in the cost of non-coordination): "
            + "; ".join(parts)
            + ". Where the two differ, the two costs pay for different output."
        )
    if (
        "regions_over_fiscal_limit" in h.index
        and h.loc["regions_over_fiscal_limit"][["observed", "coordinated"]].any()
    ):
        parts = []
        for mode, label in labels.items():
            n = int(h.loc["regions_over_fiscal_limit", mode])
            parts.append(
                f"{label} in {n} region{'' if n == 1 else 's'}, by CNY "
                f"{h.loc['fiscal_limit_excess', mode]:,.1f} bn/yr of debt service (CNY "
                f"{h.loc['debt_beyond_fiscal_capacity', mode]:,.1f} bn of debt beyond "
                "fiscal capacity)"
            )
        notes.append(
            "Fiscal limits exceeded (debt service above fiscal capacity): "
            + "; ".join(parts)
            + ". The plan may borrow what the observed buildout borrows in a region, no more."
        )
    return notes


def non_unique_summary(observed: Result, coordinated: Result) -> pd.DataFrame | None:
    """What the optima leave open, by mode, sector and year: the variables and regions
    whose values differ between optimal solutions of the same cost (each result's
    ``non_unique`` table, :mod:`optimizer.model.ties`).

    Columns: ``mode``, ``sector``, ``year``, ``variables`` (e.g. ``capacity, export``),
    ``regions`` (codes, ``;``-joined), ``n_regions``, ``max_shift`` (the largest move of
    one quantity along one edge of the optimal face, in ``unit``: the sector's output unit,
    or its capacity unit where only capacity moves) and ``certain`` (False where only a
    degenerate, zero-step edge moves them). No rows: both optima are unique. None if a
    backend did not tell (Pyomo, PuLP).

    Examples
    --------
    >>> import optimizer
    >>> s = optimizer.load_scenario()
    >>> table = non_unique_summary(optimizer.evaluate_observed(s), optimizer.solve(s))
    >>> sorted(table["mode"].unique())
    ['coordinated', 'observed']
    """
    frames = []
    for result in (observed, coordinated):
        table = result.tables.get("non_unique")
        if table is None:
            return None
        frames.append(table.assign(mode=result.mode))
    t = pd.concat(frames, ignore_index=True)
    columns = ["mode", "sector", "year", "variables", "regions", "n_regions", "max_shift"]
    if t.empty:
        return named(pd.DataFrame(columns=[*columns, "unit", "certain"]), *_NON_UNIQUE)
    key = ["mode", "sector", "year"]
    g = t.groupby(key, sort=True)
    summary = pd.DataFrame(
        {
            "variables": g["variable"].agg(lambda v: ", ".join(sorted(set(v)))),
            "regions": g["region"].agg(lambda v: ";".join(sorted(set(v)))),
            "n_regions": g["region"].nunique(),
            "certain": g["certain"].all(),
        }
    )
    # One shift per sector in one unit: output units where anything but capacity moves
    # (production, shipments, exports), else the capacity unit.
    output = t["variable"] != "capacity"
    shifts = t.loc[output | ~output.groupby([t[k] for k in key]).transform("any")].groupby(key)
    summary["max_shift"] = shifts["max_shift"].max()
    summary["unit"] = shifts["unit"].first()
    out = summary.reset_index()[[*columns, "unit", "certain"]]
    return named(out, *_NON_UNIQUE)


_NON_UNIQUE = ("quantities that differ between optimal solutions", "sector units")
