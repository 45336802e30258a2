"""One golden file per constraint family and per objective term: the equations a tiny
scenario's model holds, written out row by row (``tests/golden/<mode>/<name>.lp``).

A change to a family shows up here as a readable diff of its rows. After an intended
change, regenerate with ``DUPOPT_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and review
the diff before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer
from optimizer.model.formulation import build
from optimizer.model.lp import LinearProgram
from optimizer.scenario.synthetic import synthetic_scenario

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DUPOPT_UPDATE_GOLDEN") == "1"


def _tiny():
    """2 x 2 regions, 2 sectors, cost tranches in one region, lumpy plants: a minimum
    scale (sector_1) and plants of a reference size with economies of scale (sector_0)."""
    scenario, arcs = synthetic_scenario(2, 2, sectors=2, seed=1)
    tables = scenario.tables()
    tables["capacity_tranches"] = pd.DataFrame(
        [
            ("100100", "sector_0", 1, 3.0, 1.0, "Mt/yr"),
            ("100100", "sector_0", 2, 3.0, 1.5, "Mt/yr"),
        ],
        columns=["region", "sector", "tranche", "max_capacity", "cost_multiplier", "unit"],
    ).assign(source_id=np.nan, quality="assumed", note="test tranche")
    extra = pd.DataFrame(
        [
            ("sector_1", "min_scale", 2.0, "Mt/yr"),  # a minimum scale alone: one plant, big-M
            ("sector_0", "plant_size", 4.0, "Mt/yr"),  # plants of 4 Mt/yr, capex ~ S^0.6
            ("sector_0", "scale_exponent", 0.6, "dimensionless"),
        ],
        columns=["sector", "parameter", "value", "unit"],
    ).assign(source_id=np.nan, quality="assumed", note="test value")
    tables["sector_parameters"] = pd.concat([tables["sector_parameters"], extra])
    s = optimizer.scenario_from_frames(
        base_year=2023, parameters={"min_plant_scale": True, "debt_weight": 0.5}, **tables
    )
    return s, arcs


def _objective_text(lp: LinearProgram, term: str) -> str:
    cols, coef = lp.objective_terms[term]
    names = {}
    for var in lp.variables.values():
        for k, label in enumerate(var.index):
            names[var.start + k] = f"{var.name}[{','.join(map(str, label))}]"
    return "\n".join(f"{term}: {c:+.10g} {names[j]}" for j, c in zip(cols, coef, strict=True))


def _models():
    scenario, arcs = _tiny()
    return {mode: build(scenario, mode, arcs)[0] for mode in ("coordinated", "observed")}


MODELS = _models()
CASES = [
    (mode, kind, name)
    for mode, lp in MODELS.items()
    for kind, names in (("constraint", lp.constraints), ("objective", lp.objective_terms))
    for name in names
]


@pytest.mark.parametrize(("mode", "kind", "name"), CASES)
def test_each_family_writes_its_golden_equations(mode, kind, name):
    lp = MODELS[mode]
    text = lp.constraint_text(name) if kind == "constraint" else _objective_text(lp, name)
    path = GOLDEN / mode / f"{kind}-{name}.lp"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    assert path.exists(), f"no golden file {path}: run with DUPOPT_UPDATE_GOLDEN=1"
    assert text + "\n" == path.read_text()


def test_every_golden_file_belongs_to_a_family_of_the_model():
    """A family that is removed or renamed leaves no stale golden file behind."""
    expected = {GOLDEN / mode / f"{kind}-{name}.lp" for mode, kind, name in CASES}
    assert set(GOLDEN.glob("*/*.lp")) == expected


def test_the_tiny_model_has_every_family():
    """The golden files cover every shipped constraint family."""
    names = set(MODELS["coordinated"].constraints)
    assert names >= {
        "production_limit",
        "demand_balance",
        "export_absorption",
        "fiscal_limit",
        "tranche_sum",
        "min_scale",
        "plant_capacity",
    }
