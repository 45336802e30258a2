"""Scenario variants as multipliers on a base scenario (what a sweep varies).

A variant is an :class:`Overrides`: multipliers on model inputs, keyed by *target* and,
optionally, one sector or region, plus model parameters to set. Keys are written flat,
as in a sweep file::

    demand = 1.1               # every sector's domestic demand x 1.1
    "demand.solar_pv" = 1.3    # solar PV demand x 1.3 (multiplies with the above)
    "financing_rate.320000" = 1.5
    "parameters.debt_weight" = 0.5

Targets (all dimensionless multipliers, finite and >= 0):

- ``demand`` (by sector): domestic demand of every region;
- ``export`` (by sector): export absorption;
- ``capex`` (by sector): overnight capital cost;
- ``scale_exponent`` (by sector): the capex scale exponent of lumpy plants (x 1.5 turns
  0.6 into 0.9; 1 or more means no economies of scale);
- ``financing_rate`` (by region): the annual financing rate (x 1.2 turns 2.9% into 3.48%);
- ``cost_factor`` (by region): the regional O&M and variable cost factor;
- ``fiscal_capacity`` (by region): the debt service a region can carry.

A multiplier scales the values the scenario has; a region without the attribute keeps
the model's default (cost factor 1, financing rate 0). :meth:`Overrides.apply` returns
the varied :class:`~optimizer.scenario.Scenario` (the reference for every fast path).

Examples
--------
>>> from optimizer import load_scenario
>>> base = load_scenario()
>>> high = Overrides.from_mapping({"demand.solar_pv": 1.5}).apply(base)
>>> d0 = base.demand.loc[base.demand["sector"] == "solar_pv", "value"].sum()
>>> d1 = high.demand.loc[high.demand["sector"] == "solar_pv", "value"].sum()
>>> round(float(d1 / d0), 6)
1.5
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import Issue, ScenarioError
from optimizer.model.data import Inputs, ModelData
from optimizer.model.formulation import structural_switches
from optimizer.scenario.parameters import ModelParameters
from optimizer.scenario.scenario import Scenario

#: Target -> what its key selects ("sector" or "region").
TARGETS: dict[str, str] = {
    "demand": "sector",
    "export": "sector",
    "capex": "sector",
    "scale_exponent": "sector",
    "financing_rate": "region",
    "cost_factor": "region",
    "fiscal_capacity": "region",
}
#: Targets that scale a row of ``sector_parameters``.
SECTOR_PARAMETERS = ("capex", "scale_exponent")
#: Parameters that change the model's structure (other variables or constraints), as the
#: formulation's families declare them.
STRUCTURAL = structural_switches()
ALL = "*"


@dataclass(frozen=True)
class Overrides:
    """Multipliers on a base scenario's inputs and model parameters to set.

    Attributes
    ----------
    factors
        ``(target, key) -> multiplier``; ``key`` is a sector or region code, or ``"*"``
        for all. A specific and an ``"*"`` multiplier of the same target multiply.
    parameters
        Model parameters (:class:`~optimizer.scenario.parameters.ModelParameters` fields) to set.
    """

    factors: Mapping[tuple[str, str], float] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "overrides") -> Overrides:
        """Parse flat (``"demand.solar_pv"``) or nested (``demand = {solar_pv = 1.3}``) keys.

        Raises :class:`~optimizer.errors.ScenarioError` naming each bad key (in
        ``source``); sector and region codes are checked by :meth:`check`.
        """
        factors: dict[tuple[str, str], float] = {}
        params: dict[str, Any] = {}
        issues: list[Issue] = []
        for key, value in _flatten(values):
            target, _, rest = key.partition(".")
            if target == "parameters":
                params[rest] = value
                continue
            if target not in TARGETS:
                issues.append(
                    Issue(
                        source,
                        f"unknown override target {target!r} (use {', '.join(TARGETS)} "
                        "or parameters.<name>)",
                        column=key,
                    )
                )
                continue
            problem = multiplier_problem(value)
            if problem:
                issues.append(Issue(source, problem, column=key))
                continue
            factors[(target, rest or ALL)] = float(value)
        known = {f.name for f in fields(ModelParameters)}
        for name, value in params.items():
            if name not in known:
                issues.append(
                    Issue(
                        source,
                        f"unknown parameter (known: {', '.join(sorted(known))})",
                        column=f"parameters.{name}",
                    )
                )
            else:
                _, bad = ModelParameters.from_mapping({name: value}, source=source)
                issues.extend(bad)
        if issues:
            raise ScenarioError(issues)
        return cls(factors, params)

    def combine(self, other: Overrides) -> Overrides:
        """These overrides followed by ``other``: multipliers multiply, parameters of
        ``other`` win."""
        factors = dict(self.factors)
        for k, v in other.factors.items():
            factors[k] = factors.get(k, 1.0) * v
        return Overrides(factors, {**self.parameters, **other.parameters})

    # -- identity -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Flat, JSON-ready keys (``"demand.solar_pv"``, ``"parameters.debt_weight"``)."""
        out: dict[str, Any] = {}
        for (target, key), value in sorted(self.factors.items()):
            out[target if key == ALL else f"{target}.{key}"] = value
        for name, value in sorted(self.parameters.items()):
            out[f"parameters.{name}"] = value
        return out

    def digest(self) -> str:
        """SHA-256 of :meth:`to_dict` (equal overrides give equal digests)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    # -- checks and application -----------------------------------------------------------
    def check(self, scenario: Scenario, source: str = "overrides") -> None:
        """Raise :class:`~optimizer.errors.ScenarioError` for sector or region codes the
        scenario does not have, and for parameter values it rejects."""
        issues: list[Issue] = []
        known = {
            "sector": set(scenario.sectors["sector"]),
            "region": set(scenario.regions["region"]),
        }
        for target, key in self.factors:
            kind = TARGETS[target]
            if key != ALL and key not in known[kind]:
                issues.append(
                    Issue(
                        source,
                        f"unknown {kind} {key!r} (known: {', '.join(sorted(known[kind]))})",
                        column=f"{target}.{key}",
                    )
                )
        merged = {**scenario.parameters.__dict__, **self.parameters}
        _, bad = ModelParameters.from_mapping(merged, source=source)
        issues.extend(bad)
        if issues:
            raise ScenarioError(issues)

    def structure(self, base: ModelParameters) -> tuple[bool, ...]:
        """The structural parameters (:data:`STRUCTURAL`, e.g. fiscal limit and minimum
        plant scale) after overrides."""
        merged = {**base.__dict__, **self.parameters}
        return tuple(bool(merged[name]) for name in STRUCTURAL)

    def scale(self, inputs: Inputs, data: ModelData) -> Inputs:
        """The varied model inputs: what :meth:`apply` does to the scenario's tables, done
        to the arrays of a built model (``data`` gives their index sets).

        ``Inputs.from_data`` of a model built on ``apply(scenario)`` holds the same numbers
        (``tests/test_parametric.py`` checks it), without re-reading the tables.

        Examples
        --------
        >>> from optimizer import load_scenario
        >>> data = ModelData.from_scenario(load_scenario())
        >>> x = Overrides.from_mapping({"demand": 2.0}).scale(data.inputs, data)
        >>> bool((x.demand == 2.0 * data.inputs.demand).all())
        True
        """
        # Plain lists: iterating a pandas Index of Arrow strings costs more than the solve's
        # other numpy work.
        sectors, regions = data.sector_codes, data.region_codes
        sector = dict(inputs.sector)
        for target in SECTOR_PARAMETERS:
            if target in sector:
                sector[target] = sector[target] * self.multiplier(target, sectors)
        region = dict(inputs.region)
        for target in ("financing_rate", "cost_factor", "fiscal_capacity"):
            if target in region:
                region[target] = region[target] * self.multiplier(target, regions)
        by_sector = {target: self.multiplier(target, sectors) for target in ("demand", "export")}
        return inputs.replace(
            sector=sector,
            region=region,
            demand=inputs.demand * by_sector["demand"][data.demand_sectors],
            exports=inputs.exports * by_sector["export"][data.export_sectors],
            parameters=(
                ModelParameters(**{**inputs.parameters.__dict__, **self.parameters})
                if self.parameters
                else inputs.parameters
            ),
        )

    def multiplier(self, target: str, keys: pd.Index | list[str]) -> np.ndarray:
        """The combined multiplier of ``target`` for each key (sector or region code)."""
        everywhere = self.factors.get((target, ALL), 1.0)
        return np.array([everywhere * self.factors.get((target, k), 1.0) for k in keys])

    def apply(self, scenario: Scenario) -> Scenario:
        """The varied scenario: multipliers applied to its tables, parameters set.

        Examples
        --------
        >>> from optimizer import load_scenario
        >>> s = Overrides.from_mapping({"parameters.debt_weight": 0.5}).apply(load_scenario())
        >>> s.parameters.debt_weight
        0.5
        """
        self.check(scenario)
        demand = _scaled(scenario.demand, "sector", self, "demand")
        m = scenario.markets
        exports = _scaled(m.loc[m["market"] == "export"], "sector", self, "export")
        markets = m.copy()
        markets.loc[exports.index, "value"] = exports["value"]
        sp = scenario.sector_parameters.copy()
        for target in SECTOR_PARAMETERS:
            rows = sp["parameter"] == target
            sp.loc[rows, "value"] = _scaled(sp.loc[rows], "sector", self, target)["value"]
        ra = scenario.region_attributes.copy()
        for target in ("financing_rate", "cost_factor", "fiscal_capacity"):
            rows = ra["attribute"] == target
            ra.loc[rows, "value"] = _scaled(ra.loc[rows], "region", self, target)["value"]
        params = ModelParameters(**{**scenario.parameters.__dict__, **self.parameters})
        return replace(
            scenario,
            demand=demand,
            markets=markets,
            sector_parameters=sp,
            region_attributes=ra,
            parameters=params,
        )


def multiplier_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid multiplier (None if it is)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"must be a number (a multiplier), got {value!r}"
    if not math.isfinite(value) or value < 0:
        return f"must be a finite multiplier >= 0, got {value!r}"
    return None


def _scaled(frame: pd.DataFrame, by: str, overrides: Overrides, target: str) -> pd.DataFrame:
    out = frame.copy()
    if out.empty:
        return out
    out["value"] = out["value"].to_numpy(float) * overrides.multiplier(target, list(out[by]))
    return out


def _flatten(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.extend(_flatten(value, name))
        else:
            out.append((name.replace(f".{ALL}", ""), value))
    return out
