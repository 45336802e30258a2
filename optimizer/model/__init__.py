"""The model: the solver-neutral LP container, its families, backends and results.

Data flow: :mod:`~optimizer.model.formulation` declares the variable, constraint and
objective families of a scenario into a :class:`~optimizer.model.lp.LinearProgram`; a
backend (:mod:`~optimizer.model.backends`: HiGHS, Pyomo, PuLP) renders and solves it;
:mod:`~optimizer.model.results` turns the solution into tidy tables;
:mod:`~optimizer.model.api` is the public entry point (``solve``, ``evaluate_observed``,
``to_pyomo`` ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optimizer._lazy import lazy_attribute as _lazy_attribute

# Imported on first use (PEP 562): the CLI reads the backend registry
# (optimizer.model.backends) without loading pandas and the formulation.
_EXPORTS = {
    name: "optimizer.model.api"
    for name in ("evaluate_observed", "solve", "to_highs", "to_pulp", "to_pyomo")
}

if TYPE_CHECKING:
    from optimizer.model.api import evaluate_observed, solve, to_highs, to_pulp, to_pyomo


def __getattr__(name: str) -> Any:
    return _lazy_attribute(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = ["evaluate_observed", "solve", "to_highs", "to_pulp", "to_pyomo"]
