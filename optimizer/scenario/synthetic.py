"""Synthetic scenarios: a grid of regions with random data, for tests and benchmarks.

Every value is flagged ``assumed`` with the note "synthetic", so a synthetic scenario can
never be mistaken for data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.scenario.scenario import Scenario, scenario_from_frames
from optimizer.scenario.schema import SECTOR_PARAMETERS

_NOTE = "synthetic value drawn at random (optimizer.scenario.synthetic)"


def grid_arcs(
    rows: int, cols: int, cell_km: float, codes: list[str], rng: np.random.Generator
) -> pd.DataFrame:
    """Directed arcs between 4-neighbours of a ``rows x cols`` grid, about ``cell_km``
    apart (each edge drawn in 0.8-1.2 x ``cell_km``, the same in both directions)."""
    grid = np.arange(rows * cols).reshape(rows, cols)
    pairs = [
        (grid[:, :-1].ravel(), grid[:, 1:].ravel()),
        (grid[:-1, :].ravel(), grid[1:, :].ravel()),
    ]
    a = np.concatenate([p[0] for p in pairs])
    b = np.concatenate([p[1] for p in pairs])
    code = np.asarray(codes)
    frm = np.concatenate([code[a], code[b]])
    to = np.concatenate([code[b], code[a]])
    km = cell_km * rng.uniform(0.8, 1.2, len(a))
    return pd.DataFrame(
        {"from_region": frm, "to_region": to, "distance_km": np.concatenate([km, km])}
    )


def synthetic_scenario(
    rows: int = 3,
    cols: int = 3,
    sectors: int = 2,
    seed: int = 0,
    *,
    cell_km: float = 300.0,
    base_year: int = 2023,
    parameters: dict | None = None,
) -> tuple[Scenario, pd.DataFrame]:
    """A random but well-posed scenario on a grid, and its network arcs.

    Costs, rates and cost factors are drawn from continuous distributions, so the
    optimum is unique with probability one (useful to compare backends).

    Examples
    --------
    >>> scenario, arcs = synthetic_scenario(2, 2, sectors=1, seed=1)
    >>> len(scenario.regions), len(arcs)
    (4, 8)
    """
    rng = np.random.default_rng(seed)
    n = rows * cols
    codes = [f"{100000 + 100 * i:06d}" for i in range(n)]
    coastal = np.zeros(n, bool)
    coastal[np.arange(0, n, cols)] = True  # the first column of the grid is the coast
    regions = pd.DataFrame(
        {
            "region": codes,
            "iso_code": "CN-XX",
            "name_en": [f"Region {i}" for i in range(n)],
            "name_zh": [f"地区{i}" for i in range(n)],
            "kind": "province",
            "macro_region": "east",
            "in_national_planning": True,
            "coastal": coastal,
            "source_id": "synthetic",
        }
    )
    names = [f"sector_{k}" for k in range(sectors)]
    sector_frame = pd.DataFrame(
        {
            "sector": names,
            "name": [f"Sector {k}" for k in range(sectors)],
            "capacity_unit": "Mt/yr",
            "output_unit": "Mt",
        }
    )
    draws = {
        "capex": lambda: rng.uniform(1.0, 10.0),
        "fixed_om": lambda: rng.uniform(0.01, 0.3),
        "variable_cost": lambda: rng.uniform(0.5, 5.0),
        "asset_life": lambda: float(rng.integers(10, 31)),
        "max_utilisation": lambda: rng.uniform(0.8, 0.95),
        "transport_cost": lambda: rng.uniform(0.05, 0.5),
        "debt_share": lambda: rng.uniform(0.1, 0.5),
    }
    units = {
        "capex": "CNY bn/(Mt/yr)",
        "fixed_om": "CNY bn/(Mt/yr)/yr",
        "variable_cost": "CNY bn/Mt",
        "asset_life": "yr",
        "max_utilisation": "fraction",
        "transport_cost": "CNY bn/Mt/1000km",
        "debt_share": "fraction",
    }
    params = pd.DataFrame(
        [(s, p, draws[p](), units[p]) for s in names for p in SECTOR_PARAMETERS],
        columns=["sector", "parameter", "value", "unit"],
    )
    gdp = rng.uniform(100.0, 5000.0, n)
    attrs = pd.concat(
        [
            pd.DataFrame({"region": codes, "attribute": "gdp", "value": gdp, "unit": "CNY bn"}),
            pd.DataFrame(
                {
                    "region": codes,
                    "attribute": "financing_rate",
                    "value": rng.uniform(0.02, 0.06, n),
                    "unit": "1/yr",
                }
            ),
            pd.DataFrame(
                {
                    "region": codes,
                    "attribute": "fiscal_capacity",
                    "value": 0.05 * gdp,
                    "unit": "CNY bn/yr",
                }
            ),
            pd.DataFrame(
                {
                    "region": codes,
                    "attribute": "cost_factor",
                    "value": rng.uniform(0.8, 1.2, n),
                    "unit": "index",
                }
            ),
        ]
    ).assign(year=base_year)
    demand = pd.DataFrame(
        [(r, s, base_year, rng.uniform(0.0, 10.0), "Mt") for r in codes for s in names],
        columns=["region", "sector", "year", "value", "unit"],
    )
    total = demand.groupby("sector")["value"].sum()
    markets = pd.DataFrame(
        [(s, base_year, "export", 0.2 * total[s], "Mt") for s in names]
        + [(s, base_year, "global", 3.0 * total[s], "Mt") for s in names],
        columns=["sector", "year", "market", "value", "unit"],
    )
    # Observed buildout: capacity in a random half of the regions, 1.5x what is needed.
    rows_b = []
    for s in names:
        hosts = rng.choice(codes, size=max(1, n // 2), replace=False)
        share = rng.dirichlet(np.ones(len(hosts)))
        need = 1.2 * total[s] * 1.5
        for r, w in zip(hosts, share, strict=True):
            rows_b.append((r, s, base_year, "capacity", need * w, "Mt/yr"))
            rows_b.append((r, s, base_year, "output", need * w / 1.5, "Mt"))
    buildout = pd.DataFrame(
        rows_b, columns=["region", "sector", "year", "variable", "value", "unit"]
    )
    priorities = pd.DataFrame(
        {"region": codes, "sector": names[0], "period": "synthetic", "designated": True}
    )
    provenance = {"source_id": np.nan, "quality": "assumed", "note": _NOTE}
    tables = {
        "regions": regions,
        "sectors": sector_frame,
        "sector_parameters": params.assign(**provenance),
        "region_attributes": attrs.assign(**provenance),
        "demand": demand.assign(**provenance),
        "markets": markets.assign(**provenance),
        "buildout": buildout.assign(**provenance),
        "priorities": priorities.assign(**provenance),
        "sources": pd.DataFrame(
            {
                "source_id": ["synthetic"],
                "publisher": ["dupopt"],
                "title": ["optimizer.scenario.synthetic"],
                "year": [base_year],
                "location": ["optimizer/scenario/synthetic.py"],
                "note": [_NOTE],
            }
        ),
    }
    scenario = scenario_from_frames(
        base_year=base_year,
        name=f"synthetic-{rows}x{cols}-{seed}",
        parameters=parameters or {},
        **tables,
    )
    return scenario, grid_arcs(rows, cols, cell_km, codes, rng)
