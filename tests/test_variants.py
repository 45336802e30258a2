"""Overrides: parsing, composition and application to a scenario."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.errors import ScenarioError
from optimizer.sweeps.overrides import Overrides


def _total(frame, **match) -> float:
    sel = np.ones(len(frame), bool)
    for k, v in match.items():
        sel &= (frame[k] == v).to_numpy()
    return float(frame.loc[sel, "value"].sum())


def test_flat_and_nested_keys_are_the_same_overrides():
    flat = Overrides.from_mapping({"demand": 1.1, "demand.solar_pv": 1.2})
    nested = Overrides.from_mapping({"demand": {"*": 1.1, "solar_pv": 1.2}})
    assert flat == nested and flat.digest() == nested.digest()
    assert flat.digest() != Overrides.from_mapping({"demand": 1.1}).digest()


def test_apply_scales_exactly_what_is_named(default_scenario):
    s = default_scenario
    ov = Overrides.from_mapping(
        {
            "demand": 2.0,
            "demand.solar_pv": 1.5,
            "export.crude_steel": 0.5,
            "capex.cement": 0.9,
            "financing_rate.320000": 2.0,
            "cost_factor": 1.1,
            "parameters.debt_weight": 0.3,
        }
    )
    v = ov.apply(s)
    # specific and "*" multipliers multiply
    assert _total(v.demand, sector="solar_pv") == pytest.approx(
        3.0 * _total(s.demand, sector="solar_pv")
    )
    assert _total(v.demand, sector="cement") == pytest.approx(
        2.0 * _total(s.demand, sector="cement")
    )
    m, m0 = v.markets, s.markets
    assert _total(m, sector="crude_steel", market="export") == pytest.approx(
        0.5 * _total(m0, sector="crude_steel", market="export")
    )
    # global demand (a reference figure, not absorption) is untouched
    assert _total(m, market="global") == _total(m0, market="global")
    ra, ra0 = v.region_attributes, s.region_attributes
    assert _total(ra, region="320000", attribute="financing_rate") == pytest.approx(
        2.0 * _total(ra0, region="320000", attribute="financing_rate")
    )
    assert _total(ra, region="110000", attribute="financing_rate") == _total(
        ra0, region="110000", attribute="financing_rate"
    )
    assert _total(ra, attribute="gdp") == _total(ra0, attribute="gdp")
    sp, sp0 = v.sector_parameters, s.sector_parameters
    assert _total(sp, sector="cement", parameter="capex") == pytest.approx(
        0.9 * _total(sp0, sector="cement", parameter="capex")
    )
    assert _total(sp, sector="solar_pv", parameter="capex") == _total(
        sp0, sector="solar_pv", parameter="capex"
    )
    assert v.parameters.debt_weight == 0.3
    assert s.parameters.debt_weight == 0.0  # the base is not modified


def test_combine_multiplies_and_later_parameters_win():
    a = Overrides.from_mapping({"demand": 1.1, "parameters.debt_weight": 0.1})
    b = Overrides.from_mapping({"demand": 2.0, "parameters.debt_weight": 0.5})
    c = a.combine(b)
    assert c.factors[("demand", "*")] == pytest.approx(2.2)
    assert c.parameters["debt_weight"] == 0.5


@pytest.mark.parametrize(
    ("values", "column", "fragment"),
    [
        ({"demnd": 1.1}, "demnd", "unknown override target"),
        ({"demand": -1}, "demand", ">= 0"),
        ({"demand.solar_pv": "high"}, "demand.solar_pv", "must be a number"),
        ({"cost_factor": float("inf")}, "cost_factor", "finite"),
        ({"parameters.debt_wieght": 1}, "parameters.debt_wieght", "unknown parameter"),
        ({"parameters.unmet_penalty_factor": 0.5}, "parameters.unmet_penalty_factor", ">= 1"),
    ],
)
def test_bad_overrides_name_the_key(values, column, fragment):
    with pytest.raises(ScenarioError) as info:
        Overrides.from_mapping(values, source="sweep.toml")
    issue = info.value.issues[0]
    assert issue.source == "sweep.toml" and issue.column == column
    assert fragment in issue.message


@pytest.mark.parametrize(
    ("values", "column"),
    [
        ({"demand.solar": 1.1}, "demand.solar"),
        ({"financing_rate.999999": 1.1}, "financing_rate.999999"),
    ],
)
def test_unknown_codes_are_caught_against_the_scenario(default_scenario, values, column):
    with pytest.raises(ScenarioError) as info:
        Overrides.from_mapping(values).check(default_scenario)
    assert info.value.issues[0].column == column
    assert "unknown" in info.value.issues[0].message
