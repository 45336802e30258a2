"""How concentrated each sector's capacity is, observed vs coordinated.

"Regions with capacity" counts any capacity above zero, so a province holding 0.01 % of
national PV counts as much as one holding a third. :func:`concentration` adds the
measures that weigh regions by their share: how many hold at least a stated share of
national capacity, the Herfindahl-Hirschman index and the share of the three largest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.analysis.comparison import CAPACITY_EPS
from optimizer.model.results import named

__all__ = ["DEFAULT_SHARE", "concentration"]

#: Default threshold: a region "holds" a sector when it has at least 5 % of national capacity.
DEFAULT_SHARE = 0.05
MODES = ("observed", "coordinated")


def concentration(
    allocations: dict[str, pd.DataFrame], *, share: float = DEFAULT_SHARE
) -> pd.DataFrame:
    """Per sector, year and mode: regions with any capacity, regions holding at least
    ``share`` of national capacity, the HHI and the top-three share.

    Parameters
    ----------
    allocations
        Mode (``"observed"``, ``"coordinated"``) -> that mode's ``allocation`` table
        (region, sector, year, capacity, capacity_unit), as the results folder holds it.
    share
        The threshold, a fraction of national capacity in (0, 1].

    Returns
    -------
    pandas.DataFrame
        One row per (sector, year, mode): ``regions_with_capacity`` (capacity above
        zero), ``regions_at_or_above_share`` (at least ``share`` of the national total),
        ``share_threshold``, ``hhi`` (sum of squared capacity shares, 0-1; 1 = one region
        holds all), ``top3_share`` (share of the three largest, 0-1), ``top3_regions``
        (their codes, largest first, ``;``-separated) and ``capacity_unit``. Its
        ``attrs`` carry the table's name and unit.

    Raises
    ------
    ValueError
        ``share`` is not in (0, 1].

    Examples
    --------
    >>> alloc = pd.DataFrame({"region": ["a", "b", "c", "d"], "sector": "pv", "year": 2023,
    ...     "capacity": [60.0, 30.0, 9.99, 0.01], "capacity_unit": "GW/yr"})
    >>> row = concentration({"observed": alloc}).iloc[0]
    >>> int(row.regions_with_capacity), int(row.regions_at_or_above_share), row.top3_regions
    (4, 3, 'a;b;c')
    >>> round(float(row.hhi), 4), round(float(row.top3_share), 4)
    (0.46, 0.9999)
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share!r}")
    keys = ["sector", "year"]
    frames = []
    for mode, alloc in allocations.items():
        frame = alloc.loc[:, ["region", *keys, "capacity", "capacity_unit"]].copy()
        frame["capacity"] = (
            frame["capacity"].astype(float).where(frame["capacity"] > CAPACITY_EPS, 0.0)
        )
        total = frame.groupby(keys)["capacity"].transform("sum")
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["share"] = (frame["capacity"] / total).where(total > 0, np.nan)
        frame = frame.sort_values([*keys, "share"], ascending=[True, True, False], kind="stable")
        frame["rank"] = frame.groupby(keys).cumcount()
        top3 = frame.loc[(frame["rank"] < 3) & (frame["capacity"] > 0)]
        g = frame.groupby(keys, sort=True)
        out = pd.DataFrame(
            {
                "regions_with_capacity": g["capacity"].apply(lambda c: int((c > 0).sum())),
                # A hair below the threshold still counts: shares are sums of floats.
                "regions_at_or_above_share": g["share"].apply(
                    lambda s: int((s >= share - 1e-12).sum())
                ),
                "share_threshold": share,
                "hhi": g["share"].apply(
                    lambda s: float((s**2).sum()) if s.notna().any() else np.nan
                ),
                "top3_share": top3.groupby(keys)["share"].sum(),
                "top3_regions": top3.groupby(keys)["region"].agg(lambda r: ";".join(map(str, r))),
                "capacity_unit": g["capacity_unit"].first(),
            }
        )
        out["top3_regions"] = out["top3_regions"].fillna("")
        out.insert(0, "mode", mode)
        frames.append(out.reset_index())
    table = pd.concat(frames, ignore_index=True)
    order = {m: i for i, m in enumerate(MODES)}
    table = table.sort_values(
        ["sector", "year", "mode"], key=lambda c: c.map(order) if c.name == "mode" else c
    ).reset_index(drop=True)
    table = table[["sector", "year", *table.columns.difference(["sector", "year"], sort=False)]]
    return named(
        table,
        f"concentration of capacity: regions holding at least {share:.0%} of national "
        "capacity, HHI and top-three share",
        "regions; fraction (HHI, shares)",
    )
