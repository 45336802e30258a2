"""The gap between the observed buildout and the coordinated plan.

:func:`compare` returns tables (each with ``attrs`` name and unit):

- ``regional_gap``: per region x sector, observed vs coordinated capacity and the gap;
- ``sector_summary``: per sector, regions with capacity, national utilisation, stranded
  capacity (units and CNY bn), debt tied to it, and capacity concentration (HHI);
- ``region_summary``: per region, Krugman specialisation index and industrial-structure
  similarity to the other regions, observed vs coordinated;
- ``headline``: the cost of non-coordination and national totals.

Capacities of different sectors are made comparable by their capital value
(capacity x capex, CNY bn) wherever sectors are added up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.errors import DupoptError
from optimizer.results import Result, named

#: Capacity below this (in the sector's capacity unit) counts as none.
CAPACITY_EPS = 1e-6


@dataclass
class Comparison:
    """Gap tables between an observed evaluation and a coordinated plan."""

    regional_gap: pd.DataFrame
    sector_summary: pd.DataFrame
    region_summary: pd.DataFrame
    headline: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "regional_gap": self.regional_gap,
            "sector_summary": self.sector_summary,
            "region_summary": self.region_summary,
            "headline": self.headline,
        }


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
    >>> int(gap.sector_summary.loc["solar_pv", "regions_observed"])
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
    """Per sector, observed vs coordinated: regions with capacity, national capacity,
    production and utilisation, stranded capacity (``cap - prod / max_utilisation``) in
    units and CNY bn, debt tied to stranded capacity (CNY bn) and HHI of capacity."""
    rows = {}
    for label, frame in (("observed", obs), ("coordinated", coo)):
        g = frame.groupby("sector")
        built = frame.loc[frame["capacity"] > CAPACITY_EPS]
        rows[f"regions_{label}"] = built.groupby("sector")["region"].nunique()
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
    table["capacity_unit"] = units.reindex(table.index)
    table.index.name = "sector"
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
    total = values.sum(axis=0)
    out = {}
    for region, row in values.iterrows():
        own = row.sum()
        rest = total - row
        if own <= 0 or rest.sum() <= 0:
            out[region] = np.nan
            continue
        out[region] = float((row / own - rest / rest.sum()).abs().sum())
    return pd.Series(out, name="krugman")


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


def region_summary(
    obs: pd.DataFrame, coo: pd.DataFrame, gap: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per region, observed vs coordinated: capital in place (CNY bn), stranded capital and
    the debt tied to it (CNY bn), number of sectors with capacity, Krugman index and
    structure similarity; and ``sectors_duplicated``, the number of sectors in which the
    region's observed capacity exceeds the coordinated plan (it duplicates capacity the
    plan puts elsewhere or does not need)."""
    gap = regional_gap(obs, coo) if gap is None else gap
    over = gap.loc[gap["gap"] > CAPACITY_EPS].groupby("region")["sector"].nunique()
    cols = {}
    for label, frame in (("observed", obs), ("coordinated", coo)):
        values = _shares(frame)
        g = frame.groupby("region")
        cols[f"capital_cny_bn_{label}"] = g["capital_cny_bn"].sum()
        cols[f"stranded_capital_cny_bn_{label}"] = g["stranded_capital_cny_bn"].sum()
        cols[f"stranded_debt_cny_bn_{label}"] = g["stranded_debt_cny_bn"].sum()
        cols[f"sectors_{label}"] = (
            frame.loc[frame["capacity"] > CAPACITY_EPS].groupby("region")["sector"].nunique()
        )
        cols[f"krugman_{label}"] = krugman_index(values)
        cols[f"similarity_{label}"] = similarity_index(values)
    table = pd.DataFrame(cols)
    for label in ("observed", "coordinated"):
        table[f"sectors_{label}"] = table[f"sectors_{label}"].fillna(0).astype(int)
    table["sectors_duplicated"] = over.reindex(table.index).fillna(0).astype(int)
    table.index.name = "region"
    return named(
        table, "region summary, observed vs coordinated", "CNY bn; sectors; index (dimensionless)"
    )


def headline(observed: Result, coordinated: Result) -> pd.DataFrame:
    """National totals and the cost of non-coordination (observed - coordinated cost)."""
    o, c = observed.allocation, coordinated.allocation
    rows = [
        ("total_cost", observed.total_cost, coordinated.total_cost, "CNY bn/yr"),
        (
            "stranded_capital",
            o["stranded_capital_cny_bn"].sum(),
            c["stranded_capital_cny_bn"].sum(),
            "CNY bn",
        ),
        (
            "stranded_debt",
            o["stranded_debt_cny_bn"].sum(),
            c["stranded_debt_cny_bn"].sum(),
            "CNY bn",
        ),
        ("capital_in_place", o["capital_cny_bn"].sum(), c["capital_cny_bn"].sum(), "CNY bn"),
    ]
    terms_o = observed.costs.set_index("term")["value"]
    terms_c = coordinated.costs.set_index("term")["value"]
    for term in terms_o.index.union(terms_c.index):
        rows.append((f"cost_{term}", terms_o.get(term, 0.0), terms_c.get(term, 0.0), "CNY bn/yr"))
    table = pd.DataFrame(rows, columns=["metric", "observed", "coordinated", "unit"])
    table["difference"] = table["observed"] - table["coordinated"]
    table = table[["metric", "observed", "coordinated", "difference", "unit"]]
    return named(
        table, "headline: cost of non-coordination = total_cost difference", "see unit column"
    )
