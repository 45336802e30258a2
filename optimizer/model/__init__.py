"""The model: the solver-neutral LP container, its families, backends and results.

Data flow: :mod:`~optimizer.model.formulation` declares the variable, constraint and
objective families of a scenario into a :class:`~optimizer.model.lp.LinearProgram`; a
backend (:mod:`~optimizer.model.backends`: HiGHS, Pyomo, PuLP) renders and solves it;
:mod:`~optimizer.model.results` turns the solution into tidy tables;
:mod:`~optimizer.model.api` is the public entry point (``solve``, ``evaluate_observed``,
``to_pyomo`` ...).
"""

from optimizer.model.api import evaluate_observed, solve, to_highs, to_pulp, to_pyomo

__all__ = ["evaluate_observed", "solve", "to_highs", "to_pulp", "to_pyomo"]
