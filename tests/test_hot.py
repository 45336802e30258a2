"""Hot start: one HiGHS object re-solved for scenario variants gives the cold answers."""

from __future__ import annotations

import numpy as np
import pytest

import optimizer
from optimizer.hot import HotModel, StructureChanged
from optimizer.synthetic import synthetic_scenario


def _variant(scenario, seed: int):
    """Random demand, financing rates and utilisation (costs, bounds, rhs and matrix)."""
    rng = np.random.default_rng(seed)
    tables = scenario.tables()
    d = tables["demand"]
    tables["demand"] = d.assign(value=d["value"] * rng.uniform(0.7, 1.3, len(d)))
    a = tables["region_attributes"]
    rate = a["attribute"] == "financing_rate"
    tables["region_attributes"] = a.assign(
        value=np.where(rate, a["value"] * rng.uniform(0.5, 1.5, len(a)), a["value"])
    )
    p = tables["sector_parameters"]
    util = p["parameter"] == "max_utilisation"
    tables["sector_parameters"] = p.assign(
        value=np.where(util, np.clip(p["value"] * rng.uniform(0.9, 1.05), 0, 1), p["value"])
    )
    return optimizer.scenario_from_frames(base_year=scenario.base_year, **tables)


@pytest.mark.parametrize("mode", ["coordinated", "observed"])
def test_hot_equals_cold(mode):
    """Re-solving the kept model matches a fresh solve for every variant."""
    scenario, arcs = synthetic_scenario(3, 3, sectors=2, seed=11)
    hot = HotModel(scenario, mode, arcs)
    fn = optimizer.solve if mode == "coordinated" else optimizer.evaluate_observed
    for seed in range(5):
        variant = _variant(scenario, seed)
        warm, cold = hot.solve(variant), fn(variant, arcs=arcs)
        assert warm.status.ok and cold.status.ok
        assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
        cap_w = warm.allocation["capacity"].to_numpy()
        cap_c = cold.allocation["capacity"].to_numpy()
        assert cap_w == pytest.approx(cap_c, rel=1e-6, abs=1e-6)


def test_structure_change_is_refused():
    """A variant with other sectors cannot be pushed into the kept model."""
    scenario, arcs = synthetic_scenario(3, 3, sectors=2, seed=1)
    other, _ = synthetic_scenario(3, 3, sectors=3, seed=1)
    hot = HotModel(scenario, "coordinated", arcs)
    with pytest.raises(StructureChanged):
        hot.solve(other)
