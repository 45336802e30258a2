"""Located input errors: every problem names the file, the row and the column."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
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


@dataclass(frozen=True)
class MoreIssues(Issue):
    """``count`` further problems of one kind in one file and column, counted rather than
    listed one by one (a table of a million bad rows must not make a million issues).

    ``message`` is the kind (:func:`issue_kind`) they share; ``row`` is None.

    Examples
    --------
    >>> print(MoreIssues("d.csv", "must be >= 0", column="value", count=12_000))
    d.csv, column 'value': 12,000 more: must be >= 0
    """

    count: int = 0

    def __str__(self) -> str:
        where = self.source if self.column is None else f"{self.source}, column '{self.column}'"
        return f"{where}: {self.count:,} more: {self.message}"


class DupoptError(Exception):
    """Base class of errors that the CLI reports without a traceback."""


class ScenarioError(DupoptError, ValueError):
    """A scenario failed validation.

    ``issues`` holds the first :data:`KEPT` problems found, each with its file, row and
    column; beyond that, ``omitted`` counts the rest by (file, column, kind), and
    ``count`` is the number of problems in all. The message lists the first
    :data:`SHOWN` problems and counts the rest by file, column and kind.

    Examples
    --------
    >>> err = ScenarioError([Issue("demand.csv", "must be >= 0", "line 3", "value")])
    >>> print(err)
    1 problem in the scenario:
      demand.csv, line 3, column 'value': must be >= 0
    """

    def __init__(self, issues: Iterable[Issue]):
        listed: list[Issue] = []
        self.omitted: Counter[tuple[str, str | None, str]] = Counter()
        for issue in issues:
            if isinstance(issue, MoreIssues):
                self.omitted[(issue.source, issue.column, issue.message)] += issue.count
            else:
                listed.append(issue)
        self.issues: list[Issue] = listed[:KEPT]
        self.omitted.update((i.source, i.column, issue_kind(i)) for i in listed[KEPT:])
        #: The number of problems found: those in ``issues`` and those ``omitted``.
        self.count = len(self.issues) + sum(self.omitted.values())
        super().__init__(self._render())

    def _render(self) -> str:
        n = self.count
        head = f"{n:,} problem{'s' if n != 1 else ''} in the scenario:"
        return format_issues(head, self.issues, omitted=self.omitted)


#: How many issues a message lists one by one before it counts the rest.
SHOWN = 20
#: How many problems a :class:`ScenarioError` keeps one by one, with file, row and
#: column, and how many of one kind a check lists before it counts the rest
#: (:class:`MoreIssues`): enough to fix a file by, small enough that a table of a
#: million bad rows is reported in seconds and a few megabytes.
KEPT = 10_000

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


def format_issues(
    head: str,
    issues: Sequence[Issue],
    shown: int = SHOWN,
    omitted: Mapping[tuple[str, str | None, str], int] | None = None,
) -> str:
    """``head``, then the first ``shown`` issues, then the rest counted by file, column and
    kind, most frequent first.

    ``omitted`` counts further problems that are not in ``issues`` by (file, column,
    kind), as :attr:`ScenarioError.omitted` does, and so does a :class:`MoreIssues` in
    ``issues``; they are counted with the rest.

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
    listed = [i for i in issues if not isinstance(i, MoreIssues)]
    lines = [head, *(f"  {issue}" for issue in listed[:shown])]
    tally = Counter((i.source, i.column, issue_kind(i)) for i in listed[shown:])
    for more in issues:
        if isinstance(more, MoreIssues):
            tally[(more.source, more.column, more.message)] += more.count
    tally.update(omitted or {})
    if tally:
        lines.append(f"  ... and {sum(tally.values()):,} more:")
        for (source, column, kind), count in tally.most_common():
            where = source if column is None else f"{source}, column '{column}'"
            lines.append(f"    {count:,} x {where}: {kind}")
    return "\n".join(lines)


def count_issues(issues: Iterable[Issue]) -> int:
    """How many problems ``issues`` stand for: one each, ``count`` for a :class:`MoreIssues`.

    Examples
    --------
    >>> count_issues([Issue("d.csv", "odd"), MoreIssues("d.csv", "odd", count=41)])
    42
    """
    return sum(i.count if isinstance(i, MoreIssues) else 1 for i in issues)
