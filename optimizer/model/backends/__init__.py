"""Renderers of the one formulation: HiGHS (default, fast path), Pyomo and PuLP.

Each backend module implements two small hooks on a :class:`~optimizer.model.lp.LinearProgram`:
``render(lp)`` returns the backend's native model (a ``highspy.Highs``, a Pyomo
``ConcreteModel``, a ``pulp.LpProblem``) for users to extend, and ``solve(lp, ...)``
returns a :class:`Solution` in column order, whatever the backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata

import numpy as np

from optimizer.model.status import Status

BACKENDS = ("highs", "pyomo", "pulp")
#: The solver libraries dupopt drives (PyPI distribution names).
SOLVER_LIBRARIES = ("highspy", "pyomo", "pulp")


def library_versions() -> dict[str, str | None]:
    """Installed version of each solver library (None where it is missing).

    Read from the package metadata, so nothing is imported.

    >>> sorted(library_versions())
    ['highspy', 'pulp', 'pyomo']
    """
    out: dict[str, str | None] = {}
    for name in SOLVER_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


@dataclass
class Solution:
    """Primal (and, where available, dual) values in the LinearProgram's order."""

    status: Status
    objective: float
    x: np.ndarray
    row_duals: np.ndarray | None = None
    solver: str = ""
    solver_version: str = ""
    backend: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    message: str = ""
    #: True where a non-basic variable or slack has a zero reduced cost, so other optimal
    #: allocations exist (ties); None where the backend does not tell.
    alternative_optima: bool | None = None
    #: What the solver wrote while solving (captured off stdout; see optimizer.model.solver_log).
    log: str = ""


def get_backend(name: str):
    """Return the backend module by name (``highs``, ``pyomo`` or ``pulp``)."""
    if name == "highs":
        from optimizer.model.backends import highs as module
    elif name == "pyomo":
        from optimizer.model.backends import pyomo as module
    elif name == "pulp":
        from optimizer.model.backends import pulp as module
    else:
        raise ValueError(f"unknown backend {name!r} (use one of {', '.join(BACKENDS)})")
    return module
