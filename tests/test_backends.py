"""Each backend maps its solver's outcome into the one Status enum, with a message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.model.backends import (
    BACKENDS,
    get_backend,
)
from optimizer.model.lp import LinearProgram
from optimizer.model.status import Status

IDX = pd.MultiIndex.from_tuples([("a",)], names=["region"])


def _infeasible() -> LinearProgram:
    lp = LinearProgram()
    lp.add_variables("x", IDX, 0.0, 1.0)
    lp.add_constraints("at_least_two", IDX, [("x", [0], [0], [1.0])], ">=", 2.0)
    lp.add_objective("cost", "x", np.array([0]), np.array([1.0]))
    return lp


def _unbounded() -> LinearProgram:
    lp = LinearProgram()
    lp.add_variables("x", IDX, 0.0, np.inf)
    lp.add_constraints("at_least_one", IDX, [("x", [0], [0], [1.0])], ">=", 1.0)
    lp.add_objective("gain", "x", np.array([0]), np.array([-1.0]))
    return lp


def _tiny() -> LinearProgram:
    idx = pd.MultiIndex.from_tuples([("a",), ("b",)], names=["region"])
    lp = LinearProgram()
    lp.add_variables("x", idx)
    lp.add_constraints("cover", idx, [("x", [0, 1], [0, 1], [1.0, 1.0])], ">=", [1.0, 2.0])
    lp.add_constraints("cap", IDX, [("x", [0, 0], [0, 1], [1.0, 1.0])], "<=", 10.0)
    lp.add_objective("cost", "x", np.arange(2), np.array([3.0, 4.0]))
    return lp


@pytest.mark.parametrize("backend", BACKENDS)
def test_optimal(backend):
    sol = get_backend(backend).solve(_tiny())
    assert sol.status is Status.OPTIMAL
    assert sol.objective == pytest.approx(11.0)
    assert sol.x == pytest.approx([1.0, 2.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_infeasible(backend):
    sol = get_backend(backend).solve(_infeasible())
    assert sol.status in (Status.INFEASIBLE, Status.INFEASIBLE_OR_UNBOUNDED)
    assert "infeasible" in sol.message


@pytest.mark.parametrize("backend", BACKENDS)
def test_unbounded(backend):
    sol = get_backend(backend).solve(_unbounded())
    assert sol.status in (Status.UNBOUNDED, Status.INFEASIBLE_OR_UNBOUNDED)
    assert not sol.status.ok
    assert np.isnan(sol.objective)


@pytest.mark.parametrize("status", list(Status))
def test_every_status_explains_itself(status):
    assert len(status.explain()) > 15


def test_empty_constraint_block_adds_nothing():
    lp = LinearProgram()
    lp.add_variables("x", IDX)
    empty = pd.MultiIndex.from_tuples([], names=["region"])
    assert lp.add_constraints("none", empty, [], "<=", 0.0) is None
    assert lp.shape == (0, 1)


def test_bad_sense_is_rejected():
    lp = LinearProgram()
    lp.add_variables("x", IDX)
    with pytest.raises(ValueError, match="sense"):
        lp.add_constraints("c", IDX, [("x", [0], [0], [1.0])], "<", 1.0)


@pytest.mark.parametrize(("gap", "tie"), [(0.0, True), (5e-8, True), (1e-3, False)])
def test_optima_closer_than_the_solver_tolerance_count_as_ties(gap, tie):
    """min x1 + (1 + gap) x2, x1 + x2 = 1: with a cost gap below HiGHS's dual feasibility
    tolerance either vertex may come out of a solve, so the optimum is not unique."""
    import highspy

    from optimizer.model.backends import highs

    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 2, 1
    lp.col_cost_ = np.array([1.0, 1.0 + gap])
    lp.col_lower_, lp.col_upper_ = np.zeros(2), np.ones(2)
    lp.row_lower_ = lp.row_upper_ = np.array([1.0])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.array([0, 1, 2])
    lp.a_matrix_.index_ = np.array([0, 0])
    lp.a_matrix_.value_ = np.array([1.0, 1.0])
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    status, _ = highs.run_model(h)
    assert status.ok
    assert highs.has_ties(h) is tie


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_gives_the_tables_its_capabilities_promise(backend):
    """The registry's flags are what the backend does: duals give the marginal-cost
    tables, and every backend honours integer columns (minimum plant scale)."""
    import optimizer
    from optimizer.model.backends import REGISTRY
    from optimizer.scenario.synthetic import synthetic_scenario

    scenario, arcs = synthetic_scenario(2, 2, sectors=1, seed=3)
    result = optimizer.solve(scenario, arcs=arcs, backend=backend)
    assert result.status.ok
    assert ("marginal_costs" in result.tables) is REGISTRY[backend].duals
    assert REGISTRY[backend].milp


@pytest.mark.parametrize(
    ("backend", "option"),
    [(name, option) for name in BACKENDS for option in ("threads", "presolve")],
)
def test_an_option_a_backend_cannot_honour_is_refused_not_ignored(backend, option):
    import optimizer
    from optimizer.model.backends import REGISTRY
    from optimizer.scenario.synthetic import synthetic_scenario

    scenario, arcs = synthetic_scenario(2, 2, sectors=1, seed=3)
    value = {"threads": 1, "presolve": True}[option]
    if getattr(REGISTRY[backend], option):
        assert optimizer.solve(scenario, arcs=arcs, backend=backend, **{option: value}).status.ok
    else:
        with pytest.raises(optimizer.ScenarioError, match=f"does not support {option}"):
            optimizer.solve(scenario, arcs=arcs, backend=backend, **{option: value})


def test_the_command_line_offers_exactly_the_registered_backends(capsys):
    from dupopt.cli import main
    from optimizer.model.backends import REGISTRY

    assert main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "[" + "|".join(REGISTRY) + "]" in text
    assert main(["run", "--backend", "cplex", "--no-report"]) == 2


def test_the_three_backends_give_the_same_marginal_costs():
    """Duals of a synthetic LP (unique optimum, so unique duals) agree across backends."""
    import optimizer
    from optimizer.scenario.synthetic import synthetic_scenario

    scenario, arcs = synthetic_scenario(3, 3, sectors=2, seed=4)
    tables = {
        b: optimizer.solve(scenario, arcs=arcs, backend=b).marginal_costs.set_index(
            ["region", "sector", "year"]
        )["value"]
        for b in BACKENDS
    }
    for b in BACKENDS:
        assert tables[b].to_numpy() == pytest.approx(tables["highs"].to_numpy(), abs=1e-6), b


def _lumpy_synthetic():
    """A 3 x 3 synthetic scenario with one lumpy sector (plant size and scale exponent)
    and one with a minimum scale: a small MILP."""
    import optimizer
    from optimizer.scenario.synthetic import synthetic_scenario

    scenario, arcs = synthetic_scenario(3, 3, sectors=2, seed=4)
    tables = scenario.tables()
    extra = pd.DataFrame(
        [
            ("sector_0", "plant_size", 6.0, "Mt/yr"),
            ("sector_0", "scale_exponent", 0.6, "dimensionless"),
            ("sector_1", "min_scale", 3.0, "Mt/yr"),
        ],
        columns=["sector", "parameter", "value", "unit"],
    ).assign(source_id=np.nan, quality="assumed", note="test value")
    tables["sector_parameters"] = pd.concat([tables["sector_parameters"], extra])
    milp = optimizer.scenario_from_frames(
        base_year=2023, parameters={"min_plant_scale": True}, **tables
    )
    return scenario, milp, arcs


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_milp_is_priced_by_its_fixed_integer_lp_and_bounded_by_its_relaxation(backend):
    """Lumpy plants: every backend reaches the HiGHS MILP optimum within the MILP gap,
    reports the LP relaxation as a lower bound, and carries the duals of the LP with the
    plants fixed at the optimum (marginal costs)."""
    import optimizer
    from optimizer.model.backends import MIP_REL_GAP

    scenario, milp, arcs = _lumpy_synthetic()
    reference = optimizer.solve(milp, arcs=arcs)
    result = optimizer.solve(milp, arcs=arcs, backend=backend)
    assert result.status.ok
    gap = MIP_REL_GAP * abs(reference.objective)  # dupopt's default relative MIP gap
    assert result.objective == pytest.approx(reference.objective, abs=2 * gap)
    assert result.lp_relaxation <= result.objective + 1e-6
    assert result.lp_relaxation == pytest.approx(reference.lp_relaxation, rel=1e-9)
    assert "marginal_costs" in result.tables
    assert result.allocation["plants"].notna().any()
    # An LP has no relaxation to report.
    assert np.isnan(optimizer.solve(scenario, arcs=arcs, backend=backend).lp_relaxation)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_stops_a_milp_at_the_gap_it_was_given(backend):
    """The MIP gap reaches HiGHS through every backend: its log states the tolerance
    (0.01 % unless told), and the result records it."""
    import optimizer

    _, milp, arcs = _lumpy_synthetic()
    default = optimizer.solve(milp, arcs=arcs, backend=backend)
    assert "(tolerance: 0.01%)" in default.log
    assert default.options["mip_rel_gap"] == 1e-4
    loose = optimizer.solve(milp, arcs=arcs, backend=backend, mip_rel_gap=0.0123)
    assert loose.status.ok and "(tolerance: 1.23%)" in loose.log
    assert loose.options["mip_rel_gap"] == 0.0123


@pytest.mark.parametrize("gap", [-0.1, 1.0, 2.0])
def test_a_mip_gap_outside_zero_to_one_is_refused_naming_the_parameter(gap):
    import optimizer

    _, milp, arcs = _lumpy_synthetic()
    with pytest.raises(optimizer.ScenarioError, match="mip_rel_gap must be in"):
        optimizer.solve(milp, arcs=arcs, mip_rel_gap=gap)


def test_a_rendered_model_has_python_callbacks_off_until_a_user_turns_them_on():
    """dupopt switches highspy's Python callbacks off (HiGHS would take the GIL for them
    mid-solve): HiGHS refuses a subscription until ``enableCallbacks()``, after which a
    user's own callback receives the log."""
    import highspy

    from optimizer.model.backends import highs
    from optimizer.model.solver_log import captured

    h = highs.render(_tiny(), log=True)
    messages: list[str] = []
    with captured(), pytest.raises(getattr(highspy, "HighsError", Exception)):  # older highspy: none
        h.cbLogging.subscribe(lambda event: messages.append(event.message))
    h.enableCallbacks()
    h.cbLogging.subscribe(lambda event: messages.append(event.message))
    with captured():
        status, _ = highs.run_model(h)
    assert status.ok
    assert any("Objective value" in m for m in messages)


def test_an_lp_reaches_highs_without_integrality_and_its_log_without_a_warning():
    """An LP is handed over as rows and columns: HiGHS holds no integrality vector and
    logs no "non-empty integrality" warning; a MILP keeps its integer columns."""
    import highspy

    from optimizer.model.backends import highs
    from optimizer.model.solver_log import captured

    h = highs.render(_tiny(), log=True)
    with captured() as log:
        status, _ = highs.run_model(h)
    assert status.ok and h.getInfo().objective_function_value == pytest.approx(11.0)
    assert len(h.getLp().integrality_) == 0
    assert "WARNING" not in log.text
    milp = LinearProgram()
    milp.add_variables("n", IDX, 0.0, 5.0, integer=True)
    milp.add_constraints("at_least", IDX, [("n", [0], [0], [2.0])], ">=", 3.0)
    milp.add_objective("cost", "n", np.array([0]), np.array([1.0]))
    h = highs.render(milp)
    assert list(h.getLp().integrality_) == [highspy.HighsVarType.kInteger]
    status, _ = highs.run_model(h)
    assert status.ok and h.getSolution().col_value[0] == pytest.approx(2.0)
