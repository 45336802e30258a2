"""Per-table validation: required columns, parsing, and the pandera schema.

A table that passes comes out with typed columns (float values, int years, bool flags)
and keeps its original index, so cross-table checks can still point at file lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from optimizer.errors import Issue
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
    flagged: set[tuple[object, str]] = set()
    for column in spec.columns:
        if column in spec.numeric or column in spec.boolean or column not in frame:
            continue
        frame[column] = frame[column].map(_as_text)
    for column in spec.numeric:
        frame[column], bad = _parse_numbers(frame[column], column in spec.integer)
        for idx, (raw, why) in bad.items():
            issues.append(Issue(origin.label, f"{why}: {raw!r}", origin.row(idx), column))
            flagged.add((idx, column))
    for column in spec.boolean:
        frame[column], bad = _parse_booleans(frame[column])
        for idx, raw in bad.items():
            issues.append(
                Issue(origin.label, f"must be true or false, got {raw!r}", origin.row(idx), column)
            )
            flagged.add((idx, column))
    # Magnitudes are checked on every parsed value, so that they are reported together
    # with the schema's problems (unparsed and negative cells are left to those).
    refused, warnings = check_magnitudes(spec.name, frame, origin)
    issues.extend(refused)
    if flagged:
        # Leave the unparseable cells out of the schema run so each is reported once.
        rows = sorted({idx for idx, _ in flagged}, key=lambda i: frame.index.get_loc(i))
        checked = frame.drop(index=rows)
    else:
        checked = frame
    issues.extend(_run_schema(spec.schema, checked, origin))
    if issues:
        return None, sorted(issues, key=_order), warnings
    for column in spec.integer:
        frame[column] = frame[column].astype("int64")
    for column in spec.boolean:
        frame[column] = frame[column].astype(bool)
    return frame, [], warnings


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
) -> tuple[pd.Series, dict[object, tuple[object, str]]]:
    bad: dict[object, tuple[object, str]] = {}
    if pd.api.types.is_bool_dtype(column):
        column = column.astype(object)
    text = column.map(_as_text)
    parsed = pd.to_numeric(text, errors="coerce").astype(float)
    # "nan", "inf", "-Infinity" and numbers beyond float range (1e400) parse, but no
    # model input may be infinite or an explicit NaN (an optional value is left empty).
    spelled_nan = text.astype(str).str.strip().str.lower().isin(_NAN_SPELLINGS)
    for idx in text.index[text.notna() & parsed.isna() & ~spelled_nan]:
        # pandas < 2.2 coerces a number beyond float range (1e400) to NaN, not inf.
        bad[idx] = (text[idx], "not a finite number" if _overflows(text[idx]) else "not a number")
    for idx in text.index[(text.notna() & spelled_nan) | np.isinf(parsed)]:
        bad[idx] = (text[idx], "not a finite number")
    if integer:
        frac = parsed.notna() & np.isfinite(parsed) & (parsed % 1 != 0)
        for idx in parsed.index[frac]:
            bad[idx] = (text[idx], "must be a whole number")
    return parsed, bad


def _parse_booleans(column: pd.Series) -> tuple[pd.Series, dict[object, object]]:
    bad: dict[object, object] = {}
    out = pd.Series(index=column.index, dtype=object)
    for idx, value in column.items():
        if isinstance(value, (bool, np.bool_)):
            out[idx] = bool(value)
            continue
        text = _as_text(value)
        key = str(text).lower() if isinstance(text, str) else None
        if key in _TRUE:
            out[idx] = True
        elif key in _FALSE:
            out[idx] = False
        else:
            bad[idx] = value
            out[idx] = False
    return out.astype(bool), bad


def _run_schema(schema: pa.DataFrameSchema, frame: pd.DataFrame, origin: Origin) -> list[Issue]:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return _issues_from_failures(exc.failure_cases, origin, tuple(schema.unique or ()))
    return []


def _issues_from_failures(cases: pd.DataFrame, origin: Origin, key: tuple[str, ...]) -> list[Issue]:
    issues = []
    dupes = cases[cases["check"] == "multiple_fields_uniqueness"]
    for idx in dupes["index"].dropna().unique():
        issues.append(
            Issue(
                origin.label,
                "duplicate key: another row has the same values in these columns",
                origin.row(idx),
                ", ".join(key),
            )
        )
    for case in cases[cases["check"] != "multiple_fields_uniqueness"].itertuples():
        check = str(case.check)
        if check == "not_nullable":
            message = "is empty; a value is required"
        elif check.startswith("dtype("):
            continue  # reported by the parsers above
        else:
            message = f"{check} (got {case.failure_case!r})"
        row = None if pd.isna(case.index) else origin.row(case.index)
        column = None if pd.isna(case.column) else str(case.column)
        issues.append(Issue(origin.label, message, row, column))
    return sorted(issues, key=_order)


def _order(issue: Issue) -> tuple[int, str]:
    digits = "".join(ch for ch in (issue.row or "") if ch.isdigit())
    return (int(digits) if digits else -1, issue.column or "")
