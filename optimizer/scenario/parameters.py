"""Scenario-level model parameters (the ``[parameters]`` table of ``scenario.toml``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from optimizer.errors import Issue

MODES = ("coordinated", "observed")
#: Numeric parameters that must be at least 1 (the others at least 0).
_AT_LEAST_ONE = ("unmet_penalty_factor", "port_headroom")


@dataclass(frozen=True)
class ModelParameters:
    """Weights, penalties and switches of the coordination model.

    All money terms are in CNY bn per year; quantities are in each sector's own units.

    Attributes
    ----------
    stranded_weight
        Extra cost per unit of stranded capacity (capacity not needed even at maximum
        utilisation), as a multiple of its annualised capital cost (dimensionless, >= 0).
        0 counts stranded capacity only through its cost.
    debt_weight
        Extra cost per CNY of annual debt service on newly financed local debt
        (dimensionless, >= 0).
    unmet_penalty_factor
        Penalty per unit of unmet demand, as a multiple of the dearest way any producer
        can serve one unit of the sector's demand, counting every term the objective
        charges (dimensionless, >= 1): serving pays wherever a producer that can reach
        the demand has room. A model device, not a cost (``docs/model.md``).
    reserve_margin
        Capacity kept above production, as a share of production (fraction, >= 0).
    fiscal_limit
        Whether annual debt service must stay within each region's fiscal capacity (or
        within the observed buildout's, where that is larger: the plan obeys the same
        rules as the observed buildout).
    min_plant_scale
        Whether to enforce minimum efficient plant scale (turns the LP into a MILP).
    port_headroom
        How far a port's exports of a sector may exceed its share of the sector's exports
        (its share of the ports' throughput of the sector's cargo): a port exports at
        most ``port_headroom x share x`` the sector's export absorption (dimensionless,
        >= 1; only with a ``ports`` table that reports throughput).

    Examples
    --------
    >>> ModelParameters().stranded_weight
    0.0
    """

    stranded_weight: float = 0.0
    debt_weight: float = 0.0
    unmet_penalty_factor: float = 10.0
    reserve_margin: float = 0.0
    fiscal_limit: bool = True
    min_plant_scale: bool = False
    port_headroom: float = 1.5

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], source: str = "parameters"
    ) -> tuple[ModelParameters | None, list[Issue]]:
        """Build from a mapping (e.g. TOML), reporting every bad key or value."""
        issues: list[Issue] = []
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                issues.append(
                    Issue(
                        source,
                        f"unknown parameter (known: {', '.join(known)})",
                        column=f"parameters.{key}",
                    )
                )
                continue
            default = known[key].default
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    issues.append(
                        Issue(
                            source,
                            f"must be true or false, got {value!r}",
                            column=f"parameters.{key}",
                        )
                    )
                    continue
            else:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    issues.append(
                        Issue(
                            source, f"must be a number, got {value!r}", column=f"parameters.{key}"
                        )
                    )
                    continue
                lower = 1.0 if key in _AT_LEAST_ONE else 0.0
                if not value >= lower or value == float("inf"):
                    issues.append(
                        Issue(
                            source,
                            f"must be a finite number >= {lower:g}, got {value!r}",
                            column=f"parameters.{key}",
                        )
                    )
                    continue
                value = float(value)
            kwargs[key] = value
        if issues:
            return None, issues
        return cls(**kwargs), []
