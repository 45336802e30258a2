"""Located input errors: every problem names the file, the row and the column."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
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

    The message lists the first :data:`SHOWN` problems and counts the rest by file,
    column and kind (``issues`` always has them all).

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
        return format_issues(f"{n:,} problem{'s' if n != 1 else ''} in the scenario:", self.issues)


#: How many issues a message lists one by one before it counts the rest.
SHOWN = 20

# The parts of a message that change from row to row: "(got -3.0)" and quoted values.
_VARYING = ((re.compile(r" \(got .*\)$"), ""), (re.compile(r"'[^']*'"), "'…'"))


def issue_kind(issue: Issue) -> str:
    """The message of an issue without what varies from row to row (values, codes).

    Examples
    --------
    >>> issue_kind(Issue("d.csv", "must be >= 0 (got -3.0)", "line 4", "value"))
    'must be >= 0'
    >>> issue_kind(Issue("d.csv", "unknown region '990000' (not in regions)", "line 9", "region"))
    "unknown region '…' (not in regions)"
    """
    kind = issue.message
    for pattern, replacement in _VARYING:
        kind = pattern.sub(replacement, kind)
    return kind


def format_issues(head: str, issues: Sequence[Issue], shown: int = SHOWN) -> str:
    """``head``, then the first ``shown`` issues, then the rest counted by file, column and
    kind, most frequent first.

    Examples
    --------
    >>> many = [Issue("d.csv", f"must be >= 0 (got {-i})", f"line {i}", "value") for i in range(5)]
    >>> print(format_issues("5 problems:", many, shown=2))
    5 problems:
      d.csv, line 0, column 'value': must be >= 0 (got 0)
      d.csv, line 1, column 'value': must be >= 0 (got -1)
      ... and 3 more:
        3 x d.csv, column 'value': must be >= 0
    """
    lines = [head, *(f"  {issue}" for issue in issues[:shown])]
    rest = issues[shown:]
    if rest:
        counts = Counter((i.source, i.column, issue_kind(i)) for i in rest).most_common()
        lines.append(f"  ... and {len(rest):,} more:")
        for (source, column, kind), count in counts:
            where = source if column is None else f"{source}, column '{column}'"
            lines.append(f"    {count:,} x {where}: {kind}")
    return "\n".join(lines)
