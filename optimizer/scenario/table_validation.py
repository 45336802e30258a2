"""Per-table validation: required columns, parsing, and the pandera schema.

A table that passes comes out with typed columns (float values, int years, bool flags)
and keeps its original index, so cross-table checks can still point at file lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from optimizer.errors import KEPT, Issue, MoreIssues, issue_kind
from optimizer.scenario.limits import check_magnitudes
from optimizer.scenario.schema import TableSpec, empty_table

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_NAN_SPELLINGS = ("nan", "+nan", "-nan")


@dataclass(frozen=True)
class Origin:
    """Where a table came from, to name its rows in messages.

    ``lines`` holds, for a CSV file, the physical line on which each record starts (the
    header is line 1); a Parquet file or an in-memory DataFrame has none, and its rows are
    named by index label.
    """

    label: str
    lines: tuple[int, ...] | None = None

    def row(self, index: object) -> str:
        if self.lines is not None:
            return f"line {self.lines[int(index)]}"  # type: ignore[call-overload]
        return f"row {index}"

    def row_keys(self, labels: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
        """The number in the row name of each label (the line for a CSV file), -1 for
        none: the order in which a table's problems are listed."""
        labels = pd.Series(np.asarray(labels, dtype=object))
        if self.lines is not None:
            lines = np.asarray(self.lines)
            known = labels.notna().to_numpy()
            out = np.full(len(labels), -1, dtype=np.int64)
            out[known] = lines[labels[known].astype(np.int64).to_numpy()]
            return out
        digits = labels.astype(str).str.replace(r"\D+", "", regex=True)
        return pd.to_numeric(digits.where(digits != ""), errors="coerce").fillna(-1).to_numpy()

    def issues(
        self,
        index: pd.Index,
        positions: Sequence[int] | np.ndarray,
        column: str | None,
        message: Callable[[int], str],
        keys: Sequence[object] | np.ndarray | None = None,
        limit: int = KEPT,
        by_row: bool = False,
    ) -> list[Issue]:
        """One issue per position ``p`` (at row ``index[p]``), in the order given (in the
        order of the rows' names with ``by_row``); past the first ``limit``,
        :class:`~optimizer.errors.MoreIssues` count the rest by kind.

        ``message(p)`` is only called for the issues listed and once per kind counted, so
        a check of a million bad rows costs a few thousand messages. ``keys`` (one per
        position) tell the kinds apart: positions with equal keys must have messages of
        one kind (:func:`~optimizer.errors.issue_kind`). Without keys, every message is of
        one kind: what varies is quoted or in a trailing "(got ...)".
        """
        rows = np.asarray(positions, dtype=np.intp)
        if by_row and len(rows) > limit:  # the first by name, as the table's list is sorted
            order = np.argsort(self.row_keys(index[rows]), kind="stable")
            rows = rows[order]
            keys = None if keys is None else np.asarray(keys, dtype=object)[order]
        return self.items(
            index, rows, lambda _: column, lambda j: message(int(rows[j])), keys, limit
        )

    def items(
        self,
        index: pd.Index,
        rows: np.ndarray,
        column: Callable[[int], str | None],
        message: Callable[[int], str],
        keys: Sequence[object] | np.ndarray | None = None,
        limit: int = KEPT,
    ) -> list[Issue]:
        """Issue ``j`` at row ``index[rows[j]]``, in column ``column(j)``, saying
        ``message(j)``: as :meth:`issues`, for checks that find several problems in a row
        (and so name the issue rather than the row); ``keys`` tell columns apart too."""
        listed = [
            Issue(self.label, message(j), self.row(index[rows[j]]), column(j))
            for j in range(min(limit, len(rows)))
        ]
        if len(rows) <= limit:
            return listed
        if keys is None:
            firsts, counts = np.array([limit]), np.array([len(rows) - limit])
        else:
            rest = np.asarray(keys, dtype=object)[limit:]
            codes, _ = pd.factorize(pd.Series(rest), use_na_sentinel=False)
            first = np.unique(codes, return_index=True)[1]
            firsts, counts = limit + first, np.bincount(codes)[codes[first]]
        more: dict[tuple[str | None, str], int] = {}
        for j, count in zip(firsts, counts, strict=True):
            what = (column(int(j)), issue_kind(Issue(self.label, message(int(j)))))
            more[what] = more.get(what, 0) + int(count)
        return listed + [
            MoreIssues(self.label, kind, None, where, count=n) for (where, kind), n in more.items()
        ]


def validate_table(
    spec: TableSpec, frame: pd.DataFrame, origin: Origin
) -> tuple[pd.DataFrame | None, list[Issue], list[Issue]]:
    """Check one table against its spec.

    Returns
    -------
    (typed table or None, problems, warnings)
        The table is None if there is any problem; warnings name values outside their
        plausible range (:mod:`optimizer.scenario.limits`), which do not stop the load.
    """
    if spec.key and set(spec.key) - set(frame.columns) and set(frame.index.names) & set(spec.key):
        frame = frame.reset_index()  # a pandas user may pass the key as the index
    # Columns the schema marks optional may be left out.
    missing = [
        c for c in spec.columns if c not in frame.columns and spec.schema.columns[c].required
    ]
    if missing:
        issues = [Issue(origin.label, "required column is missing", column=c) for c in missing]
        return None, issues, []
    if frame.empty:
        if spec.required:
            return None, [Issue(origin.label, "has no rows")], []
        return empty_table(spec.name), [], []

    frame = frame.copy()
    issues: list[Issue] = []
    # Rows with a cell that does not parse, by position (a user's index may repeat labels).
    flagged = np.zeros(len(frame), dtype=bool)
    for column in spec.columns:
        if column in spec.numeric or column in spec.boolean or column not in frame:
            continue
        frame[column] = _texts(frame[column])
    for column in spec.numeric:
        frame[column], bad, raw = _parse_numbers(frame[column], column in spec.integer)
        for why, positions in bad:

            def message(p: int, why: str = why, raw: Callable[[int], object] = raw) -> str:
                return f"{why}: {raw(p)!r}"

            issues.extend(origin.issues(frame.index, positions, column, message, by_row=True))
            flagged[positions] = True
    for column in spec.boolean:
        values = frame[column].to_numpy(dtype=object)
        frame[column], positions = _parse_booleans(frame[column])
        issues.extend(
            origin.issues(
                frame.index,
                positions,
                column,
                lambda p, v=values: f"must be true or false, got {v[p]!r}",
                keys=_repr_kinds(values[positions]) if len(positions) > KEPT else None,
                by_row=True,
            )
        )
        flagged[positions] = True
    # Magnitudes are checked on every parsed value, so that they are reported together
    # with the schema's problems (unparsed and negative cells are left to those).
    refused, warnings = check_magnitudes(spec.name, frame, origin)
    issues.extend(refused)
    # Leave the unparseable cells out of the schema run so each is reported once.
    checked = frame.loc[~flagged] if flagged.any() else frame
    issues.extend(_run_schema(spec.schema, checked, origin))
    if issues:
        return None, _in_row_order(issues), warnings
    for column in spec.integer:
        frame[column] = frame[column].astype("int64")
    for column in spec.boolean:
        frame[column] = frame[column].astype(bool)
    return frame, [], warnings


def _texts(column: pd.Series) -> pd.Series:
    """Each cell as text without surrounding blanks; NaN for an empty or missing cell.

    Cells that are not text (a region code given as an int) are written with ``str``.
    The dtype is the one ``column.map`` would infer: text (``str`` with pandas 3, object
    before), float where every cell is empty.
    """
    text = column
    native = getattr(column.dtype, "na_value", None) is np.nan  # pandas' default text dtype
    if native and isinstance(column.dtype, pd.StringDtype):
        stripped = text.str.strip()
        # Keep the column's own buffers where nothing was stripped (a large table).
        if not stripped.equals(text):
            text = stripped
    else:  # object, numbers, flags, strings with pd.NA: as Python objects
        text = column.astype(object)
        present = text.notna().to_numpy()
        if not present.any():
            return pd.Series(np.nan, index=column.index, dtype=float)
        if pd.api.types.infer_dtype(text, skipna=True) != "string":
            text = text.copy()
            text[present] = [str(v) for v in text[present]]
        text = text.str.strip()
    empty = (text == "").to_numpy(dtype=bool, na_value=False)
    if empty.any():
        text = text.mask(empty)
    if not text.count():
        return pd.Series(np.nan, index=column.index, dtype=float)
    return text.infer_objects() if text.dtype == object else text


def _as_text(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    text = str(value).strip()
    return text if text else np.nan


def _overflows(text: object) -> bool:
    try:
        return bool(np.isinf(float(str(text))))
    except ValueError:
        return False


def _parse_numbers(
    column: pd.Series, integer: bool
) -> tuple[pd.Series, list[tuple[str, np.ndarray]], Callable[[int], object]]:
    """The column as floats, the positions of the cells that are not (finite, whole)
    numbers grouped by why, and the text of a cell (by position) for messages."""
    if pd.api.types.is_float_dtype(column) or pd.api.types.is_integer_dtype(column):
        # Numbers already (a DataFrame from a user): no text to parse.
        values = column.to_numpy(dtype=float, na_value=np.nan)
        parsed = pd.Series(values, index=column.index)
        not_number = np.zeros(len(values), dtype=bool)
        non_finite = np.isinf(values)

        def raw(p: int) -> object:
            return _as_text(column.iat[p])

    else:
        if pd.api.types.is_bool_dtype(column):
            column = column.astype(object)
        text = _texts(column)
        parsed = pd.to_numeric(text, errors="coerce").astype(float)
        values = parsed.to_numpy()
        present = text.notna().to_numpy()
        # "nan", "inf", "-Infinity" and numbers beyond float range (1e400) parse, but no
        # model input may be infinite or an explicit NaN (an optional value is left empty).
        spelled_nan = present & text.astype(str).str.lower().isin(_NAN_SPELLINGS).to_numpy()
        not_number = present & np.isnan(values) & ~spelled_nan
        non_finite = spelled_nan | np.isinf(values)
        if not_number.any():
            # pandas < 2.2 coerces a number beyond float range (1e400) to NaN, not inf;
            # each distinct text is tried once.
            odd = text[not_number]
            distinct = pd.unique(odd)
            overflow = odd.isin([t for t in distinct if _overflows(t)]).to_numpy()
            hits = np.flatnonzero(not_number)[overflow]
            not_number[hits], non_finite[hits] = False, True

        def raw(p: int) -> object:
            return text.iat[p]

    bad = [("not a number", np.flatnonzero(not_number))]
    bad.append(("not a finite number", np.flatnonzero(non_finite)))
    if integer:
        with np.errstate(invalid="ignore"):
            frac = np.isfinite(values) & (values % 1 != 0)
        bad.append(("must be a whole number", np.flatnonzero(frac)))
    return parsed, [(why, positions) for why, positions in bad if len(positions)], raw


def _repr_kinds(values: np.ndarray) -> list[str]:
    """What tells the kinds of "got {value!r}" apart: text is quoted (one kind), other
    values are not (``nan``, ``1.5``)."""
    return ["'" if isinstance(v, str) else repr(v) for v in values]


def _parse_booleans(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The column as bools (False where it is not one) and the positions of the cells
    that are neither a bool nor a spelling of true or false."""
    if pd.api.types.is_bool_dtype(column) and not column.isna().any():
        return column.astype(bool), np.array([], dtype=np.intp)
    values = column.astype(object)
    flags = values.map(type).isin([bool, np.bool_]).to_numpy()
    # Any other cell is read as text: "True", " yes", 1 (but not 1.0, or an empty cell).
    key = _texts(values.where(~flags)).astype(object).str.lower()
    true = key.isin(_TRUE).to_numpy()
    false = key.isin(_FALSE).to_numpy()
    out = np.where(flags, values.where(flags, False).astype(bool).to_numpy(), true)
    return pd.Series(out, index=column.index, dtype=bool), np.flatnonzero(~flags & ~true & ~false)


def _run_schema(schema: pa.DataFrameSchema, frame: pd.DataFrame, origin: Origin) -> list[Issue]:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return _issues_from_failures(exc.failure_cases, origin, tuple(schema.unique or ()))
    return []


def _issues_from_failures(cases: pd.DataFrame, origin: Origin, key: tuple[str, ...]) -> list[Issue]:
    dupes = cases[cases["check"] == "multiple_fields_uniqueness"]
    labels = pd.Index(dupes["index"].dropna().unique())
    issues = origin.issues(
        labels,
        np.arange(len(labels)),
        ", ".join(key),
        lambda _: "duplicate key: another row has the same values in these columns",
        by_row=True,
    )
    cases = cases[cases["check"] != "multiple_fields_uniqueness"]
    cases = cases[~cases["check"].astype(str).str.startswith("dtype(")]  # parsers report them
    # In the order the table's problems are listed (pandera's order varies by version), so
    # that each check's first cases are the ones kept.
    order = np.lexsort(
        (cases["column"].fillna("").astype(str).to_numpy(), origin.row_keys(cases["index"]))
    )
    cases = cases.iloc[order]
    # Each check of each column lists its first cases; the rest are counted.
    groups = cases.groupby([cases["check"].astype(str), cases["column"].astype(str)], sort=False)
    listed = cases[(groups.cumcount() < KEPT).to_numpy()]
    for case in listed.itertuples():
        row = None if pd.isna(case.index) else origin.row(case.index)
        column = None if pd.isna(case.column) else str(case.column)
        issues.append(Issue(origin.label, _failure_message(case), row, column))
    for (_, _), group in groups:
        if len(group) > KEPT:
            first = next(group.iloc[KEPT:].itertuples())
            column = None if pd.isna(first.column) else str(first.column)
            kind = issue_kind(Issue(origin.label, _failure_message(first)))
            issues.append(MoreIssues(origin.label, kind, None, column, count=len(group) - KEPT))
    return _in_row_order(issues)


def _failure_message(case: object) -> str:
    check = str(case.check)  # type: ignore[attr-defined]
    if check == "not_nullable":
        return "is empty; a value is required"
    return f"{check} (got {case.failure_case!r})"  # type: ignore[attr-defined]


def _in_row_order(issues: list[Issue]) -> list[Issue]:
    """The issues listed one by one in row order, then the counts of the rest."""
    listed = [i for i in issues if not isinstance(i, MoreIssues)]
    return sorted(listed, key=_order) + [i for i in issues if isinstance(i, MoreIssues)]


def _order(issue: Issue) -> tuple[int, str]:
    digits = "".join(ch for ch in (issue.row or "") if ch.isdigit())
    return (int(digits) if digits else -1, issue.column or "")
