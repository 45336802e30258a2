"""Economies of scale and regional limits give the plans their analytics predict.

The scenarios are built by hand: four identical regions (or regions that differ in one
known way), one sector, no transport cost, so the optimum follows from the cost
structure alone.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import optimizer
from optimizer.analysis.comparison import decomposition, decomposition_totals
from optimizer.model.formulation import build
from optimizer.model.results import NON_RESOURCE_TERMS
from optimizer.scenario.synthetic import synthetic_scenario

DEMAND = 3.0  # Mt per region, four regions
UTILISATION = 0.8
PLANT = 5.0  # Mt/yr per plant


def _scenario(*, cost_factors=(1.0, 1.0, 1.0, 1.0), params=None, tranches=None, extra=()):
    """Four regions, one sector, demand 3 Mt in each, zero transport cost, observed 4 Mt/yr
    in every region; sector parameters fixed (not drawn)."""
    scenario, arcs = synthetic_scenario(2, 2, sectors=1, seed=1)
    t = scenario.tables()
    regions = list(t["regions"]["region"])
    values = {
        "capex": 5.0,
        "fixed_om": 0.1,
        "variable_cost": 1.0,
        "asset_life": 20.0,
        "max_utilisation": UTILISATION,
        "transport_cost": 0.0,
        "debt_share": 0.3,
        **dict(extra),
    }
    sp = t["sector_parameters"]
    units = dict(zip(sp["parameter"], sp["unit"], strict=True))
    units.update(
        {
            "plant_size": "Mt/yr",
            "min_scale": "Mt/yr",
            "scale_exponent": "dimensionless",
            "electricity_intensity": "GWh/Mt",
        }
    )
    t["sector_parameters"] = pd.DataFrame(
        [("sector_0", k, v, units[k]) for k, v in values.items()],
        columns=["sector", "parameter", "value", "unit"],
    ).assign(source_id=np.nan, quality="assumed", note="test value")
    ra = t["region_attributes"].copy()
    for attribute, per_region in (
        ("financing_rate", [0.04] * 4),
        ("cost_factor", list(cost_factors)),
        ("fiscal_capacity", [1e3] * 4),
    ):
        rows = ra["attribute"] == attribute
        ra.loc[rows, "value"] = ra.loc[rows, "region"].map(
            dict(zip(regions, per_region, strict=True))
        )
    t["region_attributes"] = ra
    d = t["demand"].copy()
    d["value"] = DEMAND
    t["demand"] = d
    m = t["markets"].copy()
    m.loc[m["market"] == "export", "value"] = 0.0
    t["markets"] = m
    t["buildout"] = pd.DataFrame(
        [
            (r, "sector_0", 2023, v, val, u)
            for r in regions
            for v, val, u in (("capacity", 4.0, "Mt/yr"), ("output", DEMAND, "Mt"))
        ],
        columns=["region", "sector", "year", "variable", "value", "unit"],
    ).assign(source_id=np.nan, quality="assumed", note="test value")
    if tranches is not None:
        t["capacity_tranches"] = tranches(regions)
    s = optimizer.scenario_from_frames(
        base_year=2023, parameters={"fiscal_limit": False, **(params or {})}, **t
    )
    # Zero transport cost: any region serves any other at no cost.
    return s, arcs


def _plants(result) -> pd.Series:
    a = result.allocation
    return a.set_index("region")["plants"]


def test_identical_regions_with_a_plant_fixed_cost_build_the_fewest_plants():
    """Need = 4 x 3 Mt / 0.8 = 15 Mt/yr of capacity; plants hold 5 Mt/yr each, and a
    plant costs (1 - e) capex P per year beyond its capacity: the plan builds
    ceil(15 / 5) = 3 plants, the fewest that hold the need."""
    scenario, arcs = _scenario(
        params={"min_plant_scale": True}, extra={"plant_size": PLANT, "scale_exponent": 0.6}
    )
    result = optimizer.solve(scenario, arcs=arcs)
    assert result.status.ok, result.message
    need = 4 * DEMAND / UTILISATION
    assert _plants(result).sum() == pytest.approx(math.ceil(need / PLANT))
    assert result.allocation["capacity"].sum() == pytest.approx(need)
    assert (result.unmet["quantity"].sum() if len(result.unmet) else 0.0) == pytest.approx(0)


def test_the_observed_buildout_pays_for_its_plants():
    """Observed: 4 Mt/yr in each of 4 regions, ceil(4 / 5) = 1 plant each (estimated from
    capacity), so 4 plants pay the per-plant capital; the plan's 3 plants pay less."""
    scenario, arcs = _scenario(
        params={"min_plant_scale": True}, extra={"plant_size": PLANT, "scale_exponent": 0.6}
    )
    observed = optimizer.evaluate_observed(scenario, arcs=arcs)
    assert observed.status.ok
    assert _plants(observed).sum() == pytest.approx(4)
    costs = observed.costs.set_index("term")["value"]
    crf = 0.04 * 1.04**20 / (1.04**20 - 1)
    assert costs["plant_fixed"] == pytest.approx(4 * 0.4 * 5.0 * crf * PLANT, rel=1e-9)
    # Capacity pays the rest of the capital: e x annualised capex per unit.
    assert costs["capital"] == pytest.approx(0.6 * 5.0 * crf * 16.0, rel=1e-9)


def test_a_plant_of_the_reference_size_costs_what_the_capex_says():
    """e ann K + (1 - e) ann P n equals ann K when K = P n: the split adds no cost to a
    full-size plant."""
    scenario, arcs = _scenario(
        params={"min_plant_scale": True}, extra={"plant_size": 4.0, "scale_exponent": 0.6}
    )
    lumpy = optimizer.evaluate_observed(scenario, arcs=arcs).costs.set_index("term")["value"]
    plain = optimizer.evaluate_observed(
        scenario.with_parameters(min_plant_scale=False), arcs=arcs
    ).costs.set_index("term")["value"]
    assert lumpy["capital"] + lumpy["plant_fixed"] == pytest.approx(plain["capital"], rel=1e-12)


def test_the_plant_count_of_the_data_is_used_where_given():
    scenario, arcs = _scenario(
        params={"min_plant_scale": True}, extra={"plant_size": PLANT, "scale_exponent": 0.6}
    )
    t = scenario.tables()
    b = t["buildout"]
    counted = pd.DataFrame(
        [(b["region"].iloc[0], "sector_0", 2023, "plants", 3.0, "plants")],
        columns=["region", "sector", "year", "variable", "value", "unit"],
    ).assign(source_id=np.nan, quality="assumed", note="test value")
    t["buildout"] = pd.concat([b, counted], ignore_index=True)
    s = optimizer.scenario_from_frames(base_year=2023, parameters=scenario.parameters.__dict__, **t)
    observed = optimizer.evaluate_observed(s, arcs=arcs)
    assert _plants(observed).sum() == pytest.approx(3 + 1 + 1 + 1)


def test_without_the_switch_there_are_no_plants():
    scenario, arcs = _scenario(extra={"plant_size": PLANT, "scale_exponent": 0.6})
    lp, _ = build(scenario, "coordinated", arcs)
    assert "plants" not in lp.variables and "plant_fixed" not in lp.objective_terms
    assert optimizer.solve(scenario, arcs=arcs).allocation["plants"].isna().all()


def test_rising_tranches_spread_the_plan_as_their_limits_predict():
    """Regions ordered by cost factor (1.00 < 1.01 < 1.02 < 1.03); each region's first
    5 Mt/yr cost the base capex, more costs 3x. The need of 15 Mt/yr fills the cheapest
    region's tranche, then the next: 5, 5, 5, 0. Without tranches the cheapest region
    takes it all."""

    def tranches(regions):
        rows = [
            (r, "sector_0", k, g, mult, "Mt/yr")
            for r in regions
            for k, g, mult in ((1, 5.0, 1.0), (2, np.nan, 3.0))
        ]
        return pd.DataFrame(
            rows, columns=["region", "sector", "tranche", "max_capacity", "cost_multiplier", "unit"]
        ).assign(source_id=np.nan, quality="assumed", note="test tranche")

    factors = (1.0, 1.01, 1.02, 1.03)
    scenario, arcs = _scenario(cost_factors=factors, tranches=tranches)
    result = optimizer.solve(scenario, arcs=arcs)
    assert result.status.ok, result.message
    regions = list(scenario.regions["region"])
    cap = result.allocation.set_index("region")["capacity"].reindex(regions)
    assert cap.to_numpy() == pytest.approx([5.0, 5.0, 5.0, 0.0], abs=1e-6)
    alone = optimizer.solve(_scenario(cost_factors=factors)[0], arcs=arcs)
    cap = alone.allocation.set_index("region")["capacity"].reindex(regions)
    assert cap.to_numpy() == pytest.approx([15.0, 0.0, 0.0, 0.0], abs=1e-6)


def test_the_decomposition_names_the_extra_plant_and_the_extra_capacity():
    """Observed: 16 Mt/yr in 4 plants; plan: 15 Mt/yr in 3. Identical regions and no
    transport cost, so the cost of non-coordination is one plant's per-plant capital
    (sub-scale plants) plus 1 Mt/yr of capacity at the plan's unit cost (carrying
    capacity), and nothing else."""
    scenario, arcs = _scenario(
        params={"min_plant_scale": True}, extra={"plant_size": PLANT, "scale_exponent": 0.6}
    )
    observed = optimizer.evaluate_observed(scenario, arcs=arcs)
    plan = optimizer.solve(scenario, arcs=arcs)
    parts = decomposition_totals(decomposition(observed, plan))
    crf = 0.04 * 1.04**20 / (1.04**20 - 1)
    ann = 5.0 * crf
    assert parts["sub_scale_plants"] == pytest.approx(0.4 * ann * PLANT, rel=1e-9)
    assert parts["carrying_capacity"] == pytest.approx(1.0 * (0.6 * ann + 0.1), rel=1e-9)
    assert parts["transport"] == pytest.approx(0.0, abs=1e-9)
    assert parts["costlier_places"] == pytest.approx(0.0, abs=1e-9)
    assert parts.sum() == pytest.approx(observed.total_cost - plan.total_cost, rel=1e-12)


def test_the_decomposition_adds_up_to_the_cost_of_non_coordination_by_sector():
    """On a synthetic scenario with uneven costs every part can be non-zero; per sector
    and in total the parts add up to the resource-cost difference."""
    scenario, arcs = synthetic_scenario(3, 3, sectors=2, seed=4)
    observed, plan = (
        optimizer.evaluate_observed(scenario, arcs=arcs),
        optimizer.solve(scenario, arcs=arcs),
    )
    table = decomposition(observed, plan)
    by_sector = table.groupby("sector")["value"].sum()
    resource = {
        mode: r.sector_costs.loc[~r.sector_costs["term"].isin(NON_RESOURCE_TERMS)]
        .groupby("sector")["value"]
        .sum()
        for mode, r in (("observed", observed), ("plan", plan))
    }
    assert by_sector.to_numpy() == pytest.approx(
        (resource["observed"] - resource["plan"]).reindex(by_sector.index).to_numpy(), rel=1e-9
    )
    assert table["value"].sum() == pytest.approx(observed.total_cost - plan.total_cost, rel=1e-9)
    parts = decomposition_totals(table)
    assert parts["costlier_places"] != pytest.approx(0.0)
    assert parts["transport"] != pytest.approx(0.0)


def _priced(prices, *, intensity=2.0):
    """The four-region scenario with an electricity intensity (GWh per Mt) and regional
    electricity prices (CNY/kWh; None: no row)."""
    scenario, arcs = _scenario(extra={"electricity_intensity": intensity})
    t = scenario.tables()
    regions = list(t["regions"]["region"])
    rows = [
        (r, "electricity_price", 2023, p, "CNY/kWh")
        for r, p in zip(regions, prices, strict=True)
        if p is not None
    ]
    extra = pd.DataFrame(rows, columns=["region", "attribute", "year", "value", "unit"]).assign(
        source_id=np.nan, quality="assumed", note="test price"
    )
    if len(extra):  # (pandas 2.1 warns on concatenating an empty frame)
        t["region_attributes"] = pd.concat([t["region_attributes"], extra], ignore_index=True)
    s = optimizer.scenario_from_frames(base_year=2023, parameters={"fiscal_limit": False}, **t)
    return s, arcs, regions


def test_production_moves_to_the_region_with_the_cheapest_input():
    """Electricity at 2 GWh per Mt: CNY 0.30/kWh in the second region against 0.60
    elsewhere saves CNY 0.6 bn per Mt there, so with no transport cost it makes
    everything; the electricity term is reported and priced region by region."""
    scenario, arcs, regions = _priced([0.6, 0.3, 0.6, 0.6])
    plan = optimizer.solve(scenario, arcs=arcs)
    production = plan.allocation.set_index("region")["production"].reindex(regions)
    assert production.to_numpy() == pytest.approx([0.0, 4 * DEMAND, 0.0, 0.0], abs=1e-6)
    costs = plan.costs.set_index("term")["value"]
    assert costs["electricity"] == pytest.approx(2.0 * 0.3 * 4 * DEMAND / 1000.0, rel=1e-9)
    observed = optimizer.evaluate_observed(scenario, arcs=arcs)
    parts = decomposition_totals(decomposition(observed, plan))
    # Observed, the cheap region can make only 4 Mt/yr x 0.8 = 3.2 Mt: the other 8.8 Mt
    # pay the dearer power.
    saved = 2.0 * (0.6 - 0.3) * (4 * DEMAND - 4.0 * UTILISATION) / 1000.0
    assert parts["costlier_places"] == pytest.approx(saved, rel=1e-6)


def test_a_region_without_a_price_pays_the_mean_of_the_others():
    scenario, arcs, regions = _priced([0.4, None, 0.6, 0.8])
    observed = optimizer.evaluate_observed(scenario, arcs=arcs)
    production = observed.allocation.groupby("region")["production"].sum()
    mean = (0.4 + 0.6 + 0.8) / 3
    expected = 2.0 * sum(
        p * production[r] for r, p in zip(regions, [0.4, mean, 0.6, 0.8], strict=True)
    )
    cost = observed.costs.set_index("term")["value"]["electricity"]
    assert cost == pytest.approx(expected / 1000.0, rel=1e-9)


def test_no_price_anywhere_means_no_electricity_term():
    scenario, arcs, _ = _priced([None, None, None, None])
    assert "electricity" not in set(optimizer.solve(scenario, arcs=arcs).costs["term"])


def test_the_shipped_default_prices_duplication_as_sub_scale_plants(default_scenario):
    """The shipped default has lumpy plants. The plan builds whole plants
    no larger than the reference size, the observed buildout pays for more of them, and
    the sub-scale part of the cost of non-coordination is positive; the parts add up."""
    scenario = default_scenario
    assert scenario.parameters.min_plant_scale
    plan, observed = optimizer.solve(scenario), optimizer.evaluate_observed(scenario)
    assert plan.status.ok and observed.status.ok
    assert plan.objective >= plan.lp_relaxation - 1e-6
    size = scenario.sector_parameters.query("parameter == 'plant_size'")
    size = size.set_index("sector")["value"]
    a = plan.allocation.loc[plan.allocation["sector"].isin(size.index)]
    plants = a["plants"].to_numpy()
    assert np.allclose(plants, np.round(plants))
    assert (a["capacity"] <= size.reindex(a["sector"]).to_numpy() * plants + 1e-6).all()
    held = observed.allocation.loc[observed.allocation["sector"].isin(size.index), "plants"]
    assert held.sum() > plants.sum()
    gap = optimizer.compare(observed, plan)
    parts = decomposition_totals(gap.decomposition)
    assert parts["sub_scale_plants"] > 0
    difference = gap.headline.set_index("metric").loc["total_cost", "difference"]
    assert parts.sum() == pytest.approx(difference, rel=1e-9)
