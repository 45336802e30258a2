"""One status enum for every backend, with a message a user can act on."""

from __future__ import annotations

from enum import Enum

from optimizer.errors import DupoptError


class Status(str, Enum):
    """Outcome of a solve, the same whichever backend ran it."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    TIME_LIMIT = "time_limit"
    INTERRUPTED = "interrupted"
    NUMERICAL = "numerical_trouble"
    ERROR = "error"

    @property
    def ok(self) -> bool:
        return self is Status.OPTIMAL

    def explain(self) -> str:
        """What the status means for a dupopt model and what to do about it."""
        return f"{self.value.replace('_', ' ')}: {_EXPLANATIONS[self]}"


_EXPLANATIONS = {
    Status.OPTIMAL: "solved to optimality",
    Status.INFEASIBLE: (
        "no allocation satisfies the constraints. Unmet demand is allowed (at a penalty), "
        "so this points at fixed capacities or limits that contradict each other: check "
        "observed capacities against max_utilisation and the fiscal limits"
    ),
    Status.UNBOUNDED: (
        "the cost can fall without limit: a cost coefficient is negative (check "
        "stranded_weight and variable costs)"
    ),
    Status.INFEASIBLE_OR_UNBOUNDED: (
        "the solver proved the model infeasible or unbounded without telling which; "
        "rerun with presolve off to find out"
    ),
    Status.TIME_LIMIT: "the time limit was reached before optimality; raise time_limit",
    Status.INTERRUPTED: "the solve was interrupted (Ctrl-C or a callback); run it again",
    Status.NUMERICAL: (
        "the solver ran into numerical trouble; check for extreme coefficients (units) "
        "in the scenario"
    ),
    Status.ERROR: (
        "the solver stopped with an error before solving; its log says why (dupopt run "
        "prints its last lines; --verbose prints all of it)"
    ),
}


class SolveError(DupoptError):
    """A solve did not reach optimality, so it has no figures to give.

    Raised when a table or figure of a non-optimal :class:`~optimizer.model.results.Result` is
    asked for, and by :func:`optimizer.analysis.comparison`; the command line exits with code 4.

    Examples
    --------
    >>> err = SolveError("coordinated", Status.TIME_LIMIT)
    >>> print(err)
    the coordinated solve ended time limit: the time limit was reached before optimality; \
raise time_limit. It has no figures.
    """

    def __init__(self, mode: str, status: Status, detail: str = "") -> None:
        self.mode, self.status = mode, status
        text = f"the {mode} solve ended {status.explain()}. It has no figures."
        super().__init__(f"{text}\n{detail}" if detail else text)
