"""The coordination model: one formulation, three backends, and its properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optimizer
from optimizer.analysis.comparison import compare
from optimizer.errors import ScenarioError
from optimizer.model import evaluate_observed, solve
from optimizer.model.backends import BACKENDS
from optimizer.model.formulation import build, capital_recovery_factor
from optimizer.scenario.synthetic import synthetic_scenario

MODES = ["coordinated", "observed"]


def _run(scenario, mode, backend="highs", arcs=None):
    fn = solve if mode == "coordinated" else evaluate_observed
    result = fn(scenario, backend=backend, arcs=arcs)
    assert result.status.ok, result.message
    return result


def _cap_prod(result) -> pd.DataFrame:
    return result.allocation.set_index(["region", "sector", "year"])[["capacity", "production"]]


@pytest.fixture(scope="module")
def default_runs(default_scenario):
    """Both modes of the shipped default (lumpy plants, a MILP), HiGHS."""
    return {(mode, "highs"): _run(default_scenario, mode) for mode in MODES}


@pytest.fixture(scope="module")
def lp_runs(divisible_scenario):
    """Both modes of the shipped data as an LP, in every backend (exact optima)."""
    return {
        (mode, backend): _run(divisible_scenario, mode, backend)
        for mode in MODES
        for backend in BACKENDS
    }


@pytest.mark.parametrize("backend", ["pyomo", "pulp"])
@pytest.mark.parametrize("mode", MODES)
def test_backends_agree_on_default_objective(lp_runs, mode, backend):
    """Pyomo and PuLP renderings reach the HiGHS-path objective (rel. diff <= 1e-6)."""
    ref, other = lp_runs[(mode, "highs")], lp_runs[(mode, backend)]
    assert other.objective == pytest.approx(ref.objective, rel=1e-6)
    # Each objective term too.
    terms = ref.costs.set_index("term")["value"]
    other_terms = other.costs.set_index("term")["value"]
    pd.testing.assert_series_equal(terms, other_terms, rtol=1e-6, atol=1e-6)
    # National capacity per sector is determined even where regional ties exist.
    national = _cap_prod(ref).groupby(level="sector").sum()
    other_national = _cap_prod(other).groupby(level="sector").sum()
    pd.testing.assert_frame_equal(national, other_national, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("backend", ["pyomo", "pulp"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backends_agree_on_random_scenarios(mode, backend, seed):
    """On random scenarios (unique optimum), the allocation is the same, cell by cell."""
    scenario, arcs = synthetic_scenario(3, 3, sectors=2, seed=seed)
    ref = _run(scenario, mode, "highs", arcs)
    other = _run(scenario, mode, backend, arcs)
    assert other.objective == pytest.approx(ref.objective, rel=1e-6)
    pd.testing.assert_frame_equal(_cap_prod(ref), _cap_prod(other), rtol=1e-6, atol=1e-6)


def test_capital_recovery_factor():
    """CRF matches the annuity formula and 1/n at a zero rate."""
    assert capital_recovery_factor(np.array(0.0), np.array(10.0)) == pytest.approx(0.1)
    # 100 borrowed at 5% over 20 years is repaid by 20 payments of 8.0243.
    assert capital_recovery_factor(np.array(0.05), np.array(20.0)) * 100 == pytest.approx(
        8.0243, abs=1e-4
    )


def test_default_plan_meets_all_demand(default_scenario, default_runs):
    """The coordinated plan serves all demand and exports of the shipped data."""
    plan = default_runs[("coordinated", "highs")]
    assert plan.unmet.empty
    exported = plan.exports.groupby("sector")["quantity"].sum()
    pd.testing.assert_series_equal(
        exported, default_scenario.market("export").loc[exported.index], check_names=False
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_coordinated_strands_no_more_than_observed(seed):
    """Coordinated stranded capacity (capital value) <= observed, sector by sector."""
    scenario, arcs = synthetic_scenario(3, 3, sectors=2, seed=seed)
    gap = compare(_run(scenario, "observed", arcs=arcs), _run(scenario, "coordinated", arcs=arcs))
    s = gap.sector_summary
    assert (
        s["stranded_capital_cny_bn_coordinated"] <= s["stranded_capital_cny_bn_observed"] + 1e-9
    ).all()


def test_default_gap_headline(default_runs):
    """On the shipped data, duplication strands capital and costs more than the plan."""
    gap = compare(default_runs[("observed", "highs")], default_runs[("coordinated", "highs")])
    h = gap.headline.set_index("metric")
    assert h.loc["total_cost", "difference"] > 0
    assert h.loc["stranded_capital", "observed"] > h.loc["stranded_capital", "coordinated"]
    assert gap.sector_summary.loc[("solar_pv", 2023), "regions_observed"] == 31


def _scaled_demand(scenario, factor):
    tables = scenario.tables()
    tables["demand"] = tables["demand"].assign(value=tables["demand"]["value"] * factor)
    return optimizer.scenario_from_frames(
        base_year=scenario.base_year, parameters=scenario.parameters, **tables
    )


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), factor=st.floats(1.0, 3.0))
def test_more_demand_never_lowers_cost(seed, factor):
    """Raising demand cannot lower the optimal cost, in either mode."""
    scenario, arcs = synthetic_scenario(2, 3, sectors=2, seed=seed)
    more = _scaled_demand(scenario, factor)
    for mode in MODES:
        base = _run(scenario, mode, arcs=arcs).objective
        assert _run(more, mode, arcs=arcs).objective >= base - 1e-7 * abs(base)


@pytest.mark.parametrize("seed", [0, 5])
def test_observed_equal_to_plan_has_zero_gap(seed):
    """If the observed buildout is the coordinated plan, the gap and the cost of
    non-coordination are zero."""
    scenario, arcs = synthetic_scenario(3, 3, sectors=2, seed=seed)
    plan = _run(scenario, "coordinated", arcs=arcs)
    tables = scenario.tables()
    cap = plan.allocation.loc[plan.allocation["capacity"] > 0]
    tables["buildout"] = pd.DataFrame(
        {
            "region": cap["region"],
            "sector": cap["sector"],
            "year": cap["year"],
            "variable": "capacity",
            "value": cap["capacity"],
            "unit": cap["capacity_unit"],
            "source_id": np.nan,
            "quality": "assumed",
            "note": "the coordinated plan",
        }
    )
    same = optimizer.scenario_from_frames(base_year=scenario.base_year, **tables)
    observed = _run(same, "observed", arcs=arcs)
    gap = compare(observed, plan)
    assert np.abs(gap.regional_gap["gap"]).max() < 1e-6
    h = gap.headline.set_index("metric")
    assert abs(h.loc["total_cost", "difference"]) < 1e-6 * plan.total_cost


@pytest.mark.parametrize("k", [0.5, 3.0])
def test_scaling_costs_keeps_the_allocation(k):
    """Multiplying every cost by k multiplies the objective by k, allocation unchanged."""
    scenario, arcs = synthetic_scenario(3, 3, sectors=2, seed=7)
    tables = scenario.tables()
    p = tables["sector_parameters"]
    money = p["parameter"].isin(["capex", "fixed_om", "variable_cost", "transport_cost"])
    tables["sector_parameters"] = p.assign(value=np.where(money, p["value"] * k, p["value"]))
    a = tables["region_attributes"]
    fiscal = a["attribute"] == "fiscal_capacity"
    tables["region_attributes"] = a.assign(value=np.where(fiscal, a["value"] * k, a["value"]))
    scaled = optimizer.scenario_from_frames(base_year=scenario.base_year, **tables)
    for mode in MODES:
        ref, other = _run(scenario, mode, arcs=arcs), _run(scaled, mode, arcs=arcs)
        assert other.objective == pytest.approx(k * ref.objective, rel=1e-7)
        pd.testing.assert_frame_equal(_cap_prod(ref), _cap_prod(other), rtol=1e-6, atol=1e-6)


def test_impossible_demand_is_reported_where_it_falls():
    """With no fiscal room and nothing built (the plan may borrow what the observed
    buildout borrows, so that is zero too), nothing can be built: all demand is reported
    unmet, by region, because the fiscal limit binds."""
    scenario, arcs = synthetic_scenario(2, 2, sectors=2, seed=3)
    tables = scenario.tables()
    a = tables["region_attributes"]
    tables["region_attributes"] = a.assign(
        value=np.where(a["attribute"] == "fiscal_capacity", 0.0, a["value"])
    )
    tables["buildout"] = tables["buildout"].assign(value=0.0)
    broke = optimizer.scenario_from_frames(base_year=scenario.base_year, **tables)
    plan = _run(broke, "coordinated", arcs=arcs)
    assert plan.allocation["capacity"].max() == pytest.approx(0.0, abs=1e-9)
    assert (plan.unmet["cause"] == "fiscal_limit").all()
    assert plan.unmet["reason"].str.contains("fiscal limit binding").all()
    unmet = plan.unmet.set_index(["region", "sector"])["quantity"]
    demand = broke.domestic_demand()
    demand = demand[demand > 0]
    pd.testing.assert_series_equal(
        unmet.drop("export", level="region").sort_index(),
        demand.sort_index(),
        check_names=False,
        rtol=1e-7,
    )
    exports = broke.market("export")
    assert unmet.xs("export", level="region").sort_index().to_numpy() == pytest.approx(
        exports.sort_index().to_numpy()
    )


def test_observed_shortfall_is_unmet_not_a_failure():
    """Observed capacity below demand: the run succeeds and reports the shortfall."""
    scenario, arcs = synthetic_scenario(2, 2, sectors=1, seed=4)
    more = _scaled_demand(scenario, 50.0)
    observed = _run(more, "observed", arcs=arcs)
    total = more.domestic_demand().sum() + more.market("export").sum()
    usable = (
        observed.allocation["capacity"] * more.sector_table()["max_utilisation"].iloc[0]
    ).sum()
    assert observed.unmet["quantity"].sum() == pytest.approx(total - usable, rel=1e-6)
    assert (observed.unmet["cause"] == "capacity_exhausted").all()
    assert observed.unmet["reason"].str.contains("fixed capacity fully used").all()


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda s: s.with_parameters(stranded_weight=-1.0), "must be a finite number >= 0"),
        (lambda s: s.with_parameters(debt_weight=-0.1), "must be a finite number >= 0"),
        (lambda s: s.with_parameters(unmet_penalty_factor=0.5), ">= 1"),
        (lambda s: s.with_parameters(fiscal_limit="yes"), "must be true or false"),
        (lambda s: build(s, mode="planned"), "unknown mode 'planned'"),
        (lambda s: solve(s, backend="gurobi"), "unknown backend 'gurobi'"),
        (lambda s: solve(s, time_limit=0), "time_limit must be > 0"),
    ],
    ids=[
        "neg-stranded",
        "neg-debt",
        "penalty-below-cost",
        "bad-switch",
        "mode",
        "backend",
        "time-limit",
    ],
)
def test_bad_parameters_are_rejected(default_scenario, call, fragment):
    """Bad model parameters raise ScenarioError with a clear message."""
    with pytest.raises(ScenarioError) as info:
        call(default_scenario)
    assert fragment in str(info.value)


def test_min_plant_scale_milp(default_scenario, lp_runs):
    """With minimum plant scale, every built capacity is 0 or at least the sector's minimum
    (or, where the region holds a smaller observed plant, at least that: the plan obeys
    the rules the observed buildout obeys), the MILP costs at least the LP, and no more
    regions build than in the LP."""
    assert default_scenario.parameters.min_plant_scale  # the shipped default is lumpy
    milp = solve(default_scenario)
    assert milp.status.ok, milp.message
    lp = lp_runs[("coordinated", "highs")]
    assert milp.objective >= lp.objective - 1e-6 * lp.objective
    scale = default_scenario.sector_table()["min_scale"]
    a = milp.allocation
    built = a.loc[a["capacity"] > 1e-6]
    held = default_scenario.observed("capacity").reindex(
        pd.MultiIndex.from_frame(built[["region", "sector"]])
    )
    g = scale.reindex(built["sector"]).to_numpy()
    least = np.where(held.fillna(0.0) > 0, np.minimum(g, held), g)
    assert (built["capacity"] >= least * (1 - 1e-6)).all()
    assert (built["capacity"] < g * (1 - 1e-6)).any()  # the observed small plants kept
    lp_regions = lp.allocation.loc[lp.allocation["capacity"] > 1e-6].groupby("sector").size()
    assert (built.groupby("sector").size() <= lp_regions).all()


@pytest.mark.parametrize("backend", ["pyomo", "pulp"])
def test_the_backends_agree_on_the_shipped_milp_within_its_gap(
    default_scenario, default_runs, backend
):
    """The shipped default is a MILP solved to a 0.01 % gap: Pyomo's and PuLP's plans cost
    what the HiGHS plan costs, within that gap of either, and no less than the LP
    relaxation."""
    from optimizer.model.backends import MIP_REL_GAP

    ref = default_runs[("coordinated", "highs")]
    assert default_scenario.parameters.min_plant_scale
    other = _run(default_scenario, "coordinated", backend)
    assert other.objective == pytest.approx(ref.objective, rel=2 * MIP_REL_GAP)
    assert other.objective >= ref.lp_relaxation - 1e-9 * abs(ref.objective)


@pytest.mark.parametrize("backend", ["pyomo", "pulp"])
def test_milp_backends_agree(backend):
    """The MILP renders with integer variables in every backend and reaches the same cost."""
    scenario, arcs = synthetic_scenario(2, 3, sectors=2, seed=2)
    tables = scenario.tables()
    extra = tables["sector_parameters"].iloc[:2].copy()
    extra["parameter"], extra["value"], extra["unit"] = "min_scale", 15.0, "Mt/yr"
    extra["sector"] = ["sector_0", "sector_1"]
    tables["sector_parameters"] = pd.concat([tables["sector_parameters"], extra])
    milp = optimizer.scenario_from_frames(
        base_year=2023, parameters={"min_plant_scale": True}, **tables
    )
    ref = solve(milp, arcs=arcs)
    other = solve(milp, arcs=arcs, backend=backend)
    assert ref.status.ok and other.status.ok
    assert other.objective == pytest.approx(ref.objective, rel=1e-6)
    caps = ref.allocation["capacity"]
    assert ((caps < 1e-6) | (caps >= 15.0 - 1e-6)).all()


def _max_violation(lp, x) -> float:
    a = lp.matrix("csr")
    ax = a @ x
    lo, hi = lp.row_bounds()
    cl, cu = lp.bounds()
    rows = np.maximum(np.maximum(lo - ax, ax - hi), 0.0)
    cols = np.maximum(np.maximum(cl - x, x - cu), 0.0)
    scale = 1.0 + np.abs(np.concatenate([lo[np.isfinite(lo)], hi[np.isfinite(hi)]])).max()
    return float(max(rows.max(initial=0.0), cols.max(initial=0.0)) / scale)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", MODES)
def test_each_backends_default_allocation_is_optimal_for_the_one_model(
    divisible_scenario, mode, backend
):
    """The shipped data have ties (uniform regional costs), so the backends may pick
    different optimal allocations; each one must be feasible for the same model and reach
    the same cost (an optimal allocation of that model)."""
    from optimizer.model.backends import get_backend

    lp, _ = build(divisible_scenario, mode)
    ref = get_backend("highs").solve(lp)
    sol = get_backend(backend).solve(lp)
    assert _max_violation(lp, sol.x) < 1e-7
    assert float(lp.cost() @ sol.x) == pytest.approx(ref.objective, rel=1e-7)


def test_ties_are_reported(default_runs):
    """The result says whether other allocations reach the same optimum."""
    assert default_runs[("coordinated", "highs")].alternative_optima is True
    scenario, arcs = synthetic_scenario(3, 3, sectors=2, seed=0)
    assert solve(scenario, arcs=arcs).alternative_optima is False


def _with_tranches(scenario, rows):
    tables = scenario.tables()
    tables["capacity_tranches"] = pd.DataFrame(
        rows, columns=["region", "sector", "tranche", "max_capacity", "cost_multiplier", "unit"]
    ).assign(source_id=np.nan, quality="assumed", note="test tranche")
    return optimizer.scenario_from_frames(base_year=scenario.base_year, **tables)


def test_capacity_limits_and_cost_tranches_spread_the_plan():
    """A regional limit caps capacity there; a dearer second tranche is used only after the
    first is full; the tranche premium shows in the capital term."""
    scenario, arcs = synthetic_scenario(3, 3, sectors=1, seed=9)
    plan = _run(scenario, "coordinated", arcs=arcs)
    a = plan.allocation.set_index("region")["capacity"]
    top = a.idxmax()
    limit = 0.5 * a[top]
    limited = _with_tranches(
        scenario,
        [
            (top, "sector_0", 1, limit, 1.0, "Mt/yr"),
            (top, "sector_0", 2, 0.1 * limit, 1.5, "Mt/yr"),
        ],
    )
    capped = _run(limited, "coordinated", arcs=arcs)
    c = capped.allocation.set_index("region")["capacity"]
    assert c[top] <= 1.1 * limit + 1e-9
    assert capped.objective >= plan.objective - 1e-9
    # Capacity elsewhere grows to serve what the capped region no longer can.
    assert c.drop(top).sum() > a.drop(top).sum()


def test_observed_capacity_beyond_tranches_still_fits():
    """Observed capacity above the tranche limits is evaluated (last tranche relaxed) and
    pays the premium of the tranches it spans."""
    scenario, arcs = synthetic_scenario(3, 3, sectors=1, seed=9)
    cap = scenario.observed("capacity")
    region = cap.idxmax()[0]
    total = cap.max()
    rows = [
        (region, "sector_0", 1, 0.25 * total, 1.0, "Mt/yr"),
        (region, "sector_0", 2, 0.25 * total, 2.0, "Mt/yr"),
    ]
    base = _run(scenario, "observed", arcs=arcs)
    dear = _run(_with_tranches(scenario, rows), "observed", arcs=arcs)
    assert dear.allocation["capacity"].sum() == pytest.approx(base.allocation["capacity"].sum())
    capital = dear.costs.set_index("term")["value"]["capital"]
    assert capital > base.costs.set_index("term")["value"]["capital"]


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        (
            [
                ("100000", "sector_0", 1, 5.0, 2.0, "Mt/yr"),
                ("100000", "sector_0", 2, 5.0, 1.0, "Mt/yr"),
            ],
            "must not be cheaper",
        ),
        (
            [
                ("100000", "sector_0", 1, np.nan, 1.0, "Mt/yr"),
                ("100000", "sector_0", 2, 5.0, 1.5, "Mt/yr"),
            ],
            "only the last tranche",
        ),
        ([("100000", "sector_0", 2, 5.0, 1.0, "Mt/yr")], "numbered 1..1"),
        ([("100000", "sector_0", 1, 5.0, 1.0, "GW/yr")], "expected 'Mt/yr'"),
    ],
    ids=["cheaper-later", "unlimited-first", "numbering", "unit"],
)
def test_bad_tranches_are_rejected(rows, fragment):
    scenario, _ = synthetic_scenario(2, 2, sectors=1, seed=1)
    with pytest.raises(ScenarioError) as info:
        _with_tranches(scenario, rows)
    assert fragment in str(info.value)


def test_time_limit_is_reported_not_raised():
    """Hitting the time limit gives status time_limit, a message, and no tables."""
    scenario, arcs = synthetic_scenario(12, 12, sectors=6, seed=0)
    result = solve(scenario, arcs=arcs, time_limit=0.001)
    assert result.status is optimizer.Status.TIME_LIMIT
    assert "raise time_limit" in result.message
    assert result.tables == {}
