"""The formulation is declared once: a family added in one place (here, this test module)
is part of the cold build, the observed evaluation and the sweep fast path alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import optimizer
from optimizer.model import formulation
from optimizer.model.data import Inputs, ModelData
from optimizer.model.formulation import FAMILIES, Family, active_families, build
from optimizer.model.lp import LinearProgram
from optimizer.scenario.parameters import ModelParameters
from optimizer.scenario.synthetic import synthetic_scenario
from optimizer.sweeps.fast_model import ParametricModel
from optimizer.sweeps.overrides import Overrides

SHARE = 0.9  # the toy family lets national production reach 90% of what the sector needs


def define_national_cap(lp: LinearProgram, data: ModelData) -> None:
    """sum_r prod[r,s,t] <= SHARE (sum_r D[r,s,t] + E[s,t]): a toy constraint family."""
    prod = lp.variables["production"]
    idx = pd.MultiIndex.from_product([data.sectors.index, data.years], names=["sector", "year"])
    st = pd.MultiIndex.from_arrays(
        [prod.index.get_level_values("sector"), prod.index.get_level_values("year")]
    )
    n = len(data.sectors)

    def cap(x: Inputs) -> np.ndarray:
        need = np.bincount(data.demand_sectors, x.demand, n)
        need += np.bincount(data.export_sectors, x.exports, n)
        return SHARE * need

    lp.add_constraints(
        "national_cap",
        idx,
        [("production", idx.get_indexer(st), np.arange(prod.size), 1.0)],
        "<=",
        cap,
    )


@pytest.fixture
def with_toy_family(monkeypatch):
    monkeypatch.setattr(
        formulation, "FAMILIES", [*FAMILIES, Family("national_cap", define_national_cap)]
    )


@pytest.fixture(scope="module")
def plain():
    return synthetic_scenario(3, 3, sectors=2, seed=4)


def _needed(scenario) -> pd.Series:
    demand = scenario.demand.groupby("sector")["value"].sum()
    m = scenario.markets
    exports = m.loc[m["market"] == "export"].groupby("sector")["value"].sum()
    return demand.add(exports, fill_value=0.0)


def _unserved(result) -> pd.Series:
    return result.unmet.groupby("sector")["quantity"].sum()


@pytest.mark.parametrize("mode", ["coordinated", "observed"])
def test_a_family_added_in_one_module_is_in_the_cold_build_of_both_modes(
    plain, with_toy_family, mode
):
    scenario, arcs = plain
    lp, _ = build(scenario, mode, arcs)
    assert "national_cap" in lp.constraints
    assert "national_cap" in active_families(scenario.parameters, mode)
    solve = optimizer.solve if mode == "coordinated" else optimizer.evaluate_observed
    result = solve(scenario, arcs=arcs)
    assert result.status.ok
    need = _needed(scenario)
    # At most 90% is produced, so at least 10% of every sector's need goes unserved.
    assert (_unserved(result).reindex(need.index) >= (1 - SHARE) * need - 1e-6).all()


@pytest.mark.parametrize("mode", ["coordinated", "observed"])
def test_the_fast_path_varies_a_family_added_in_one_module(plain, with_toy_family, mode):
    """Its right-hand side moves with the demand multiplier, with no change to the fast
    path, and the warm optimum is the cold optimum of the varied scenario."""
    scenario, arcs = plain
    model = ParametricModel(scenario, mode, arcs)
    ov = Overrides.from_mapping({"demand": 1.2, "export": 0.5})
    hot = model.solve(ov)
    varied = ov.apply(scenario)
    row = model.lp.constraints["national_cap"]
    need = _needed(varied).reindex(row.index.get_level_values("sector"))
    assert row.rhs == pytest.approx(SHARE * need.to_numpy(), rel=1e-12)
    solve = optimizer.solve if mode == "coordinated" else optimizer.evaluate_observed
    cold = solve(varied, arcs=arcs)
    assert hot.status.ok and cold.status.ok
    assert hot.objective == pytest.approx(cold.objective, rel=1e-9)
    assert hot.unmet.sum() == pytest.approx(_unserved(cold).sum(), rel=1e-9)


def test_without_the_toy_family_demand_is_served(plain):
    """The toy family's effect is its own: the shipped model serves the synthetic need."""
    scenario, arcs = plain
    result = optimizer.solve(scenario, arcs=arcs)
    assert _unserved(result).sum() < (1 - SHARE) * _needed(scenario).sum()


def test_structural_switches_are_those_the_families_declare(monkeypatch):
    """A switch is structural because a family says so, and only then."""
    assert formulation.structural_switches() == ("fiscal_limit", "min_plant_scale")
    unswitched = [f for f in FAMILIES if f.switch != "min_plant_scale"]
    monkeypatch.setattr(formulation, "FAMILIES", unswitched)
    assert formulation.structural_switches() == ("fiscal_limit",)
    toy = Family("toy", define_national_cap, "fiscal_limit", ("observed",))
    assert toy.applies(ModelParameters(fiscal_limit=True), "observed")
    assert not toy.applies(ModelParameters(fiscal_limit=False), "observed")
    assert not toy.applies(ModelParameters(fiscal_limit=True), "coordinated")
