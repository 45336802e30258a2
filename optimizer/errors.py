"""Located input errors: every problem names the file, the row and the column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem found in the input.

    Parameters
    ----------
    source
        The file (``data/demand.csv``), the TOML file, or the in-memory table name.
    message
        What is wrong, in words a user can act on.
    row
        Where in the source: ``"line 14"`` for a CSV line (header is line 1), ``"row 3"``
        for a Parquet row or DataFrame index label; ``None`` for a whole-file problem.
    column
        The column (or parameter) concerned, if any.
    """

    source: str
    message: str
    row: str | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [self.source]
        if self.row is not None:
            where.append(self.row)
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


class DupoptError(Exception):
    """Base class of errors that the CLI reports without a traceback."""


class ScenarioError(DupoptError, ValueError):
    """A scenario failed validation; ``issues`` holds every problem found.

    Examples
    --------
    >>> err = ScenarioError([Issue("demand.csv", "must be >= 0", "line 3", "value")])
    >>> print(err)
    1 problem in the scenario:
      demand.csv, line 3, column 'value': must be >= 0
    """

    def __init__(self, issues: Iterable[Issue]):
        self.issues: list[Issue] = list(issues)
        super().__init__(self._render())

    def _render(self) -> str:
        n = len(self.issues)
        head = f"{n} problem{'s' if n != 1 else ''} in the scenario:"
        return "\n".join([head, *(f"  {issue}" for issue in self.issues)])
