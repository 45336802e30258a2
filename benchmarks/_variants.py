"""The random variants the benchmarks share (the ``bench_batch.py`` distribution): every
sector's demand x U(0.9, 1.1), export x U(0.7, 1.1), financing rate x triangular(0.8, 1.0,
1.5) and each region's cost factor x U(0.8, 1.2)."""

from __future__ import annotations

import numpy as np


def random_overrides(overrides_cls, regions: list[str], n: int, seed: int = 2010) -> list:
    """``n`` variants as ``overrides_cls`` objects (passed in, so a benchmark can build
    them with the Overrides of the tree it measures)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        values = {
            "demand": rng.uniform(0.9, 1.1),
            "export": rng.uniform(0.7, 1.1),
            "financing_rate": rng.triangular(0.8, 1.0, 1.5),
        }
        values.update({f"cost_factor.{r}": rng.uniform(0.8, 1.2) for r in regions})
        out.append(overrides_cls.from_mapping(values))
    return out
