"""Renderers of the one formulation: HiGHS (default, fast path), Pyomo and PuLP.

Each backend module implements two small hooks on a :class:`~optimizer.model.lp.LinearProgram`:
``render(lp)`` returns the backend's native model (a ``highspy.Highs``, a Pyomo
``ConcreteModel``, a ``pulp.LpProblem``) for users to extend, and ``solve(lp, ...)``
returns a :class:`Solution` in column order, whatever the backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import TYPE_CHECKING

from optimizer.model.status import Status

if TYPE_CHECKING:  # numpy is imported where it is used: the CLI reads REGISTRY for --help
    import numpy as np

    from optimizer.model.lp import LinearProgram
    from optimizer.model.ties import OptimalFace


@dataclass(frozen=True)
class Backend:
    """A backend and what it can do; the CLI's choices, option checks and the tests read
    these flags rather than lists of names.

    Attributes
    ----------
    name
        What users pass (``backend=`` and ``--backend``).
    module
        The module implementing ``render(lp)``, ``solve(lp, **options)`` and ``version()``.
    description
        One line for ``--help``.
    duals
        The solution carries row duals (marginal-cost tables); for a MILP they come from
        the LP with the integers fixed at the optimum (:func:`optimizer.solve`).
    warm_updates
        A rendered model can be modified in place and re-solved from its basis (the
        sweep fast path, :mod:`optimizer.sweeps.fast_model`).
    milp
        Integer columns are honoured (minimum plant scale).
    time_limit, mip_rel_gap, threads, presolve, lp_method
        Whether the ``time_limit``, ``mip_rel_gap``, ``threads``, ``presolve`` and
        ``lp_method`` options are honoured.

    Examples
    --------
    >>> REGISTRY["highs"].warm_updates, REGISTRY["pulp"].warm_updates
    (True, False)
    """

    name: str
    module: str
    description: str
    duals: bool = False
    warm_updates: bool = False
    milp: bool = True
    time_limit: bool = True
    mip_rel_gap: bool = True
    threads: bool = False
    presolve: bool = False
    lp_method: bool = False

    def load(self) -> ModuleType:
        """Import and return the backend module."""
        return importlib.import_module(self.module)

    def options(self, **values: object) -> dict[str, object]:
        """The options this backend honours, from ``values`` (None means "not set").

        Raises ``ValueError`` naming the option when a value is set that the backend
        cannot honour (rather than ignoring it silently).
        """
        refused = [k for k, v in values.items() if v is not None and not getattr(self, k)]
        if refused:
            able = [n for n, b in REGISTRY.items() if all(getattr(b, k) for k in refused)]
            raise ValueError(
                f"the {self.name} backend does not support {', '.join(refused)} "
                f"(backends that do: {', '.join(able) or 'none'})"
            )
        return {k: v for k, v in values.items() if getattr(self, k)}


#: Relative MIP gap at which a MILP (lumpy plants) stops, for one solve: the plan's cost
#: is proven within this fraction of the best possible (HiGHS's own default). About CNY
#: 0.8 bn/yr on the shipped data's CNY 8,000 bn/yr, 0.3 % of the cost of non-coordination:
#: at 1e-3 the shipped default stopped 1.5 bn/yr above its optimum with 0.055 Mt of glass
#: demand unserved (in 0.8 s; 1e-4 took 1.8 s and served it). Some variants take minutes
#: to prove it (reserve_margin = 0.2: over 120 s); pass ``mip_rel_gap`` (``--mip-gap``).
MIP_REL_GAP = 1e-4
#: The same for each variant of a sweep (:mod:`optimizer.sweeps`), unless its file's
#: ``[solver]`` says otherwise: warm MILP variants at 1e-4 took seconds to minutes each
#: (benchmarks/bench_milp.py), at 1e-3 about 0.05 s.
SWEEP_MIP_REL_GAP = 1e-3

#: How the highs backend can solve an LP (``lp_method``): ``auto`` chooses by size
#: (:func:`optimizer.model.backends.highs.lp_strategy`).
LP_METHODS = ("auto", "simplex", "ipm", "blocks")

#: Every backend, by name; the first is the default.
REGISTRY: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend(
            "highs",
            "optimizer.model.backends.highs",
            "HiGHS through its array interface: fastest, with duals and warm re-solves",
            duals=True,
            warm_updates=True,
            threads=True,
            presolve=True,
            lp_method=True,
        ),
        Backend(
            "pyomo",
            "optimizer.model.backends.pyomo",
            "a Pyomo ConcreteModel solved by HiGHS (appsi_highs), to extend in Pyomo",
            duals=True,
        ),
        Backend(
            "pulp",
            "optimizer.model.backends.pulp",
            "a PuLP LpProblem solved by HiGHS, to extend in PuLP",
            duals=True,
        ),
    )
}
BACKENDS = tuple(REGISTRY)
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
    #: Which columns differ between optima (:mod:`optimizer.model.ties`); None where the
    #: backend gives no basis, or none were looked for.
    face: OptimalFace | None = None
    #: The algorithm that solved it where the backend chooses one (highs: ``simplex``,
    #: ``ipm`` or ``mip``); "" where it does not tell.
    method: str = ""
    #: What the solver wrote while solving (captured off stdout; see optimizer.model.solver_log).
    log: str = ""


def within_bounds(lp: LinearProgram, values: Sequence[float]) -> np.ndarray:
    """A solution in the LinearProgram's column order, NaN where the modelling library
    reported no value.

    Pyomo and PuLP do not pass the solver a column that appears in no row and has no cost
    (e.g. a plant count fixed in the observed mode) and report no value for it. Any value
    within its bounds is then optimal: it takes the one nearest zero (its value where it
    is fixed), never a zero outside its bounds.

    >>> import numpy as np
    >>> import pandas as pd
    >>> from optimizer.model.lp import LinearProgram
    >>> lp = LinearProgram()
    >>> _ = lp.add_variables("n", pd.Index(["a", "b"]), lower=np.array([1.0, 0.0]))
    >>> within_bounds(lp, [np.nan, 2.5]).tolist()
    [1.0, 2.5]
    """
    import numpy as np

    x = np.asarray(values, dtype=float).copy()
    missing = np.isnan(x)
    if missing.any():
        lower, upper = lp.bounds()
        x[missing] = np.clip(0.0, lower[missing], upper[missing])
    return x


def get_backend(name: str) -> ModuleType:
    """Return the backend module by name (one of :data:`BACKENDS`)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown backend {name!r} (use one of {', '.join(BACKENDS)})")
    return REGISTRY[name].load()
