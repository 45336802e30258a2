"""The fast path equals the model: arrays, optimum and metrics of ParametricModel for a
variant are those of build / solve / compare on ``overrides.apply(scenario)``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import optimizer
from optimizer.model.formulation import build
from optimizer.scenario.synthetic import synthetic_scenario
from optimizer.sweeps.fast_model import ParametricModel, StructureMismatch
from optimizer.sweeps.overrides import Overrides
from optimizer.sweeps.sweep_file import Job
from optimizer.sweeps.worker import run_chunk

MODES = ("coordinated", "observed")
VARIANTS = {
    "none": {},
    "demand": {"demand": 1.1, "demand.sector_1": 1.3},
    "export": {"export": 0.6},
    "money": {"financing_rate": 1.4, "capex.sector_0": 0.8, "cost_factor": 1.2},
    "regional": {"financing_rate.100100": 0.5, "cost_factor.100200": 1.3},
    "fiscal": {"fiscal_capacity": 0.3},
    # Below the observed buildout's debt service in most regions: the plan's limit is then
    # the observed debt service, which moves with capex and the financing rate.
    "fiscal_below_observed": {"fiscal_capacity": 0.01, "capex": 1.5, "financing_rate": 1.2},
    "weights": {
        "parameters.stranded_weight": 0.4,
        "parameters.debt_weight": 0.7,
        "parameters.reserve_margin": 0.1,
        "parameters.unmet_penalty_factor": 2.0,
    },
}


def _with_extras(tranches: bool, min_scale: bool):
    scenario, arcs = synthetic_scenario(3, 3, sectors=2, seed=4)
    tables = scenario.tables()
    if tranches:
        tables["capacity_tranches"] = pd.DataFrame(
            [
                ("100100", "sector_0", 1, 5.0, 1.0, "Mt/yr"),
                ("100100", "sector_0", 2, 5.0, 1.4, "Mt/yr"),
                ("100300", "sector_1", 1, 2.0, 1.0, "Mt/yr"),
            ],
            columns=["region", "sector", "tranche", "max_capacity", "cost_multiplier", "unit"],
        ).assign(source_id=np.nan, quality="assumed", note="test tranche")
    if min_scale:
        extra = tables["sector_parameters"].iloc[:1].copy()
        extra["parameter"], extra["value"], extra["unit"] = "min_scale", 4.0, "Mt/yr"
        extra["sector"] = "sector_0"
        tables["sector_parameters"] = pd.concat([tables["sector_parameters"], extra])
    s = optimizer.scenario_from_frames(
        base_year=2023, parameters={"min_plant_scale": min_scale}, **tables
    )
    return s, arcs


@pytest.fixture(scope="module")
def plain():
    return synthetic_scenario(3, 3, sectors=2, seed=4)


@pytest.mark.parametrize("extras", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_arrays_equal_a_rebuild_of_the_varied_scenario(variant, mode, extras):
    scenario, arcs = _with_extras(*extras)
    ov = Overrides.from_mapping(VARIANTS[variant])
    model = ParametricModel(scenario, mode, arcs)
    fast = model.arrays(ov)
    lp, _ = build(ov.apply(scenario), mode, arcs)
    assert fast["cost"] == pytest.approx(lp.cost(), rel=1e-12, abs=0)
    lower, upper = lp.bounds()
    assert np.array_equal(fast["lower"], lower) and np.array_equal(fast["upper"], upper)
    lo, hi = lp.row_bounds()
    assert np.array_equal(fast["row_lower"], lo) and np.array_equal(fast["row_upper"], hi)
    # Same structure, so the matrix entries line up one to one.
    rows, cols, values = lp.entries()
    fast_rows, fast_cols, _ = model.lp.entries()
    assert np.array_equal(rows, fast_rows) and np.array_equal(cols, fast_cols)
    assert fast["entries"] == pytest.approx(values, rel=1e-12, abs=1e-15)
    assert list(model.lp.objective_terms) == list(lp.objective_terms)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_scaled_inputs_equal_the_inputs_of_the_varied_scenario(variant):
    """Overrides.scale (the fast path) and Overrides.apply (the tables) vary the same
    numbers by the same factors."""
    scenario, arcs = _with_extras(True, True)
    ov = Overrides.from_mapping(VARIANTS[variant])
    _, data = build(scenario, "coordinated", arcs)
    scaled = ov.scale(data.inputs, data)
    cold = build(ov.apply(scenario), "coordinated", arcs)[1].inputs
    for field in ("demand", "exports", "observed", "tranche_max", "distance_km"):
        assert getattr(scaled, field) == pytest.approx(getattr(cold, field), rel=1e-12)
    for group in ("sector", "region"):
        a, b = getattr(scaled, group), getattr(cold, group)
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-12, nan_ok=True), (group, key)
    assert scaled.parameters == cold.parameters


@pytest.mark.parametrize("mode", MODES)
def test_hot_solves_reach_the_cold_optimum(plain, mode):
    """A sequence of variants on one kept model gives each variant's cold optimum; the
    synthetic optimum is unique, so the allocation matches cell by cell."""
    scenario, arcs = plain
    model = ParametricModel(scenario, mode, arcs)
    cold_solve = optimizer.solve if mode == "coordinated" else optimizer.evaluate_observed
    for name in ("demand", "money", "none", "weights", "fiscal_below_observed", "export"):
        ov = Overrides.from_mapping(VARIANTS[name])
        hot = model.solve(ov)
        cold = cold_solve(ov.apply(scenario), arcs=arcs)
        assert hot.status.ok and cold.status.ok
        assert hot.objective == pytest.approx(cold.objective, rel=1e-9)
        assert hot.total_cost == pytest.approx(cold.total_cost, rel=1e-9)
        alloc = cold.allocation.set_index(["region", "sector", "year"]).reindex(model.index)
        assert hot.capacity == pytest.approx(alloc["capacity"].to_numpy(), rel=1e-6, abs=1e-7)
        assert hot.stranded_debt_cny_bn == pytest.approx(
            alloc["stranded_debt_cny_bn"].to_numpy(), rel=1e-6, abs=1e-7
        )
        assert hot.alternative_optima == cold.alternative_optima


def test_chunk_metrics_equal_compare_on_the_default_data(divisible_scenario):
    """The store's key metrics are compare()'s headline of the varied scenario (the
    default data has ties, so totals are compared, not cells; as an LP, so the two
    routes reach the same optimum to the last digits)."""
    default_scenario = divisible_scenario
    ov = Overrides.from_mapping({"demand.solar_pv": 1.2, "financing_rate": 1.3})
    out = run_chunk(default_scenario, [Job("v", "named", ov)], base_key="test")
    row = out.scenarios.iloc[0]
    assert row["status"] == "done", row["message"]
    varied = ov.apply(default_scenario)
    head = optimizer.compare(
        optimizer.evaluate_observed(varied), optimizer.solve(varied)
    ).headline.set_index("metric")
    assert row["cost_of_non_coordination"] == pytest.approx(
        head.loc["total_cost", "difference"], rel=1e-9
    )
    for metric, column in (
        ("stranded_capital", "stranded_capital"),
        ("stranded_debt", "stranded_debt"),
    ):
        assert row[f"{column}_observed"] == pytest.approx(head.loc[metric, "observed"], rel=1e-6)
    sectors = out.sectors.set_index(["mode", "sector", "year"])
    assert sectors.loc[("observed", "solar_pv", 2023), "regions"] == 31


def test_structural_overrides_need_their_own_model(plain):
    scenario, arcs = plain
    model = ParametricModel(scenario, "coordinated", arcs)
    with pytest.raises(StructureMismatch):
        model.solve(Overrides.from_mapping({"parameters.fiscal_limit": False}))


def test_warm_re_solves_are_primal_and_a_failed_solve_starts_again_dual(plain, monkeypatch):
    """The kept model's first solve and the one after a failure (no usable basis) run
    dual simplex; re-solves from an optimal basis run primal, to the same optimum."""
    from optimizer.model.backends import highs
    from optimizer.model.backends.highs import _option
    from optimizer.model.status import Status
    from optimizer.sweeps.fast_model import COLD_SIMPLEX_STRATEGY, WARM_SIMPLEX_STRATEGY

    scenario, arcs = plain
    model = ParametricModel(scenario, "coordinated", arcs)
    assert _option(model.h, "simplex_strategy") == COLD_SIMPLEX_STRATEGY
    first = model.solve(Overrides())
    assert _option(model.h, "simplex_strategy") == WARM_SIMPLEX_STRATEGY
    # A solve that stops short (as at a time limit): HiGHS's basis is then dropped.
    with monkeypatch.context() as m:
        m.setattr(highs, "run_model", lambda h: (Status.TIME_LIMIT, 0.0))
        failed = model.solve(Overrides.from_mapping({"demand": 1.2}))
    assert not failed.status.ok
    assert _option(model.h, "simplex_strategy") == COLD_SIMPLEX_STRATEGY
    again = model.solve(Overrides())
    assert again.objective == pytest.approx(first.objective, rel=1e-12)
    assert _option(model.h, "simplex_strategy") == WARM_SIMPLEX_STRATEGY


def test_variants_run_out_of_their_prepared_order_still_reach_their_own_optimum(plain):
    """Each prepared variant carries the changes from the one prepared before it; run in
    another order (or prepared and never run), the changes are worked out again from what
    HiGHS holds, so every variant still gets its own optimum."""
    scenario, arcs = plain
    model = ParametricModel(scenario, "coordinated", arcs)
    names = ("demand", "money", "export")
    prepared = [model.prepare(Overrides.from_mapping(VARIANTS[n])) for n in names]
    solved = {n: model.run(prepared[k]) for k, n in reversed(list(enumerate(names)))}
    skipped = model.prepare(Overrides.from_mapping(VARIANTS["weights"]))  # never run
    again = model.run(model.prepare(Overrides.from_mapping(VARIANTS["demand"])))
    for name in names:
        fresh = ParametricModel(scenario, "coordinated", arcs).solve(
            Overrides.from_mapping(VARIANTS[name])
        )
        assert solved[name].status.ok
        assert solved[name].objective == pytest.approx(fresh.objective, rel=1e-9)
        if name == "demand":
            assert again.objective == pytest.approx(fresh.objective, rel=1e-9)
    assert skipped.changes is not None


def test_a_solved_variant_is_judged_from_its_own_copy_after_highs_moves_on(plain):
    """run() copies the solution and basis out of HiGHS; the values and the tie test read
    later (by the reducing thread) are those of that solve, not of the next one."""
    from optimizer.model.backends import highs

    scenario, arcs = plain
    model = ParametricModel(scenario, "coordinated", arcs)
    first = model.run(model.prepare(Overrides.from_mapping(VARIANTS["demand"])))
    x_then = np.array(model.h.getSolution().col_value)
    ties_then = highs.has_ties(model.h)
    model.run(model.prepare(Overrides.from_mapping(VARIANTS["money"])))
    assert not np.array_equal(np.array(model.h.getSolution().col_value), x_then)
    assert np.array_equal(first.x, x_then)
    assert first.alternative_optima is ties_then
