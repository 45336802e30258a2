"""The quantities named as not unique are exactly those that differ between optima.

Checked against brute force on small scenarios: every column's range over the optimal
face, found by minimising and maximising it with the objective held at its optimum.
"""

from __future__ import annotations

import highspy
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import optimizer
from optimizer.model.backends import highs as hb
from optimizer.model.formulation import build
from optimizer.model.ties import optimal_face
from optimizer.scenario.synthetic import synthetic_scenario

#: Slack on the optimal objective for the brute force (CNY bn/yr, relative).
SLACK = 1e-12


def _scenario(cost_factors: tuple[float, ...], transport_cost: float, plant_size=None):
    """The 2 x 2 synthetic grid, one sector; regions differ only by ``cost_factors`` (one
    financing rate) and their demand; lumpy plants of ``plant_size`` if given."""
    scenario, arcs = synthetic_scenario(2, 2, sectors=1, seed=3)
    t = scenario.tables()
    sp_ = t["sector_parameters"]
    sp_.loc[sp_["parameter"] == "transport_cost", "value"] = transport_cost
    parameters = {"fiscal_limit": False}
    if plant_size is not None:
        unit = t["sectors"]["capacity_unit"].iloc[0]
        plants = pd.DataFrame(
            {
                "sector": sp_["sector"].iloc[0],
                "parameter": ["plant_size", "scale_exponent"],
                "value": [plant_size, 0.6],
                "unit": [unit, "dimensionless"],
            }
        ).assign(quality="assumed", note="test value")
        t["sector_parameters"] = pd.concat([sp_, plants], ignore_index=True)
        parameters["min_plant_scale"] = True
    ra = t["region_attributes"]
    regions = list(t["regions"]["region"])
    rows = ra["attribute"] == "cost_factor"
    factor = dict(zip(regions, cost_factors, strict=True))
    ra.loc[rows, "value"] = ra.loc[rows, "region"].map(factor)
    ra.loc[ra["attribute"] == "financing_rate", "value"] = 0.04
    s = optimizer.scenario_from_frames(base_year=scenario.base_year, parameters=parameters, **t)
    return s, arcs


def _ranges(lp) -> tuple[np.ndarray, np.ndarray]:
    """Brute force: each column's minimum and maximum over the optimal face."""
    h = hb.render(lp)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    best = h.getInfo().objective_function_value
    cost = lp.cost()
    cols = np.flatnonzero(cost)
    h.addRow(-np.inf, best + SLACK * max(1.0, abs(best)), cols.size, cols, cost[cols])
    n = lp.n_cols
    low, high = np.empty(n), np.empty(n)
    for j in range(n):
        for sign, out in ((1.0, low), (-1.0, high)):
            objective = np.zeros(n)
            objective[j] = sign
            h.changeColsCost(n, np.arange(n), objective)
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
            if status == highspy.HighsModelStatus.kUnbounded:
                out[j] = -sign * np.inf  # an unbounded optimal face (e.g. free circulation)
                continue
            assert status == highspy.HighsModelStatus.kOptimal
            out[j] = h.getSolution().col_value[j]
    return low, high


@pytest.mark.parametrize(
    ("cost_factors", "transport_cost"),
    [
        ((1.0, 1.0, 1.0, 1.0), 0.0),
        ((1.0, 1.0, 1.0, 1.0), 0.05),
        ((1.0, 1.0, 1.2, 1.2), 0.05),
        ((1.0, 1.1, 1.2, 1.3), 0.05),
    ],
    ids=["identical-free-transport", "identical", "two-cheapest", "all-different"],
)
def test_the_named_quantities_are_exactly_those_that_differ_between_optima(
    cost_factors, transport_cost
):
    scenario, arcs = _scenario(cost_factors, transport_cost)
    lp, _ = build(scenario, "coordinated", arcs)
    result = optimizer.solve(scenario, arcs=arcs)
    assert result.status.ok
    low, high = _ranges(lp)
    spread = high - low
    table = result.non_unique
    named = np.zeros(lp.n_cols, bool)
    shift = np.zeros(lp.n_cols)
    for name, block in lp.variables.items():
        rows = table.loc[table["variable"] == name]
        if rows.empty:
            continue
        if name == "shipment":
            rows = rows.rename(columns={"region": "from_region"})
        labels = pd.MultiIndex.from_frame(rows[list(block.index.names)])
        pos = block.start + block.index.get_indexer(labels)
        named[pos], shift[pos] = True, rows["max_shift"].to_numpy()
    assert table["certain"].all()
    # Named: really moves, at least as far as reported. Not named: the same in every optimum.
    # (1e-4: what the objective's slack and HiGHS's tolerances let a unique value wobble.)
    assert (spread[named] >= shift[named] - 1e-6).all()
    assert (shift[named] > 1e-3).all()
    assert (spread[~named] <= 1e-4).all(), np.flatnonzero(~named & (spread > 1e-4))
    assert result.alternative_optima == bool(named.any())


def test_identical_regions_leave_the_plan_open_and_different_costs_settle_it():
    """Identical regions with free transport: which region builds is open (every
    capacity cell named); all costs different: a unique plan, an empty table."""
    scenario, arcs = _scenario((1.0, 1.0, 1.0, 1.0), 0.0)
    tied = optimizer.solve(scenario, arcs=arcs)
    assert tied.alternative_optima
    assert set(tied.non_unique.query("variable == 'capacity'")["region"]) == set(
        tied.allocation["region"]
    )
    scenario, arcs = _scenario((1.0, 1.1, 1.2, 1.3), 0.05)
    unique = optimizer.solve(scenario, arcs=arcs)
    assert unique.alternative_optima is False
    assert unique.non_unique.empty


def test_a_degenerate_vertex_marks_zero_step_edges_as_only_possibly_open():
    """min x0 + x1 + x2 with x0 + x1 = 1 and x0 <= 1, x1 <= 0 (fixed at 0 by a row):
    x2 has a zero reduced cost but x2 >= 0 is bounded only by cost, so its edge is
    positive; x1 at 0 with a tied cost and a row that already binds has a zero step."""
    a = sp.csc_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]))
    face = optimal_face(
        a,
        x=np.array([1.0, 0.0, 0.0]),
        lower=np.zeros(3),
        upper=np.array([1.0, 1.0, 2.0]),
        row_lower=np.array([1.0, 0.0]),
        row_upper=np.array([1.0, 0.0]),
        basic=np.array([True, False, False, False, True]),
        reduced_costs=np.array([0.0, 0.0, 0.0, 1.0, 0.0]),
        tol=1e-9,
    )
    by_column = dict(zip(face.columns.tolist(), face.certain.tolist(), strict=True))
    assert by_column[2] is True  # x2 moves up to 2 at no cost
    assert face.max_shift[face.columns.tolist().index(2)] == pytest.approx(2.0)
    # x1 would have to leave the row x1 = 0 (basic row activity at its fixed bound).
    assert by_column.get(1) is False


def test_a_milp_names_what_its_plan_leaves_open_with_the_plant_counts_fixed():
    """Lumpy plants: the ties are those of the LP with the plant counts at their optimum,
    so plant counts are never named; the quantities named with certainty do move."""
    scenario, arcs = _scenario((1.0, 1.0, 1.0, 1.0), 0.0, plant_size=50.0)
    result = optimizer.solve(scenario, arcs=arcs)
    assert result.status.ok
    assert result.allocation["plants"].notna().any()
    table = result.non_unique
    assert result.alternative_optima and not table.empty
    assert not table["variable"].isin(["plants", "plants_held"]).any()
    # The plan with fixed plant counts is a degenerate vertex: some edges have no room.
    assert table["certain"].any()
    assert (table.loc[table["certain"], "max_shift"] > 1e-3).all()
    assert (table.loc[~table["certain"], "max_shift"] == 0).all()


def test_dupopt_run_names_the_export_choice_that_the_shipped_optima_leave_open(
    default_scenario,
):
    """Shipped data, uniform regional costs: PV exports pay sea freight, which ranks the
    ports, so they are unique; which port region makes and ships some other sectors'
    exports is open in the plan (with lumpy plants, those whose plants can take more
    output: robots and NEVs). The printed lines say so with region names, one line for
    the sectors open in the same regions, and the comparison table has one row per
    sector."""
    from dupopt.cli import non_unique_lines

    gap = optimizer.compare(
        optimizer.evaluate_observed(default_scenario), optimizer.solve(default_scenario)
    )
    table = gap.non_unique
    plan = table.loc[table["mode"] == "coordinated"]
    exporters = set(default_scenario.markets.query("market == 'export' and value > 0")["sector"])
    assert set(plan["sector"]) and set(plan["sector"]) <= exporters - {"solar_pv"}
    assert (plan["variables"] == "capacity, export, production").all()
    port_regions = set(default_scenario.ports["region"])
    assert set(plan["regions"].iloc[0].split(";")) == port_regions
    text = "\n".join(non_unique_lines(default_scenario, gap))
    assert (
        f"coordinated plan: capacity, export, production in {len(port_regions)} regions (" in text
    )
    assert "solar_pv" not in text


def test_dupopt_run_says_when_both_optima_are_unique():
    from dupopt.cli import non_unique_lines

    scenario, arcs = _scenario((1.0, 1.1, 1.2, 1.3), 0.05)
    gap = optimizer.compare(
        optimizer.evaluate_observed(scenario, arcs=arcs), optimizer.solve(scenario, arcs=arcs)
    )
    assert gap.non_unique.empty
    assert non_unique_lines(scenario, gap)[-1].startswith("Both optima are unique")


class _NoArrayBasis:
    """A Highs stand-in without ``getBasicVariables`` (an older highspy)."""

    def __init__(self, h: highspy.Highs) -> None:
        self._h = h

    def __getattr__(self, name: str):
        if name == "getBasicVariables":
            raise AttributeError(name)
        return getattr(self._h, name)


@pytest.mark.parametrize(
    ("mode", "lp_method"),
    [("coordinated", "simplex"), ("observed", "simplex"), ("coordinated", "ipm")],
)
def test_the_vectorised_basis_is_the_basis_highs_reports(mode, lp_method):
    """The tie test's basis membership from HiGHS's array of basic variables equals the
    one read from the status lists, entry by entry, and so does its fallback; after
    interior point and crossover (where reading the array crashed highspy) it is read
    from the lists."""
    scenario, arcs = synthetic_scenario(3, 3, sectors=2, seed=4)
    lp, _ = build(scenario, mode, arcs)
    h = hb.render(lp, lp_method=lp_method)
    status, _ = hb.run_model(h)
    assert status.ok
    basis = h.getBasis()
    kind = int(highspy.HighsBasisStatus.kBasic)
    expected = np.array([int(s) == kind for s in [*basis.col_status, *basis.row_status]])
    fast = hb.basic_mask(h, basis, lp.n_cols, lp.n_rows)
    assert fast.sum() == lp.n_rows
    assert np.array_equal(fast, expected)
    slow = hb.basic_mask(_NoArrayBasis(h), basis, lp.n_cols, lp.n_rows)
    assert np.array_equal(slow, expected)
    assert hb.has_ties(_NoArrayBasis(h)) == hb.has_ties(h)
