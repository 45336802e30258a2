"""Reading scenario files (TOML, CSV, Parquet) with errors located in the file.

Readers return plain DataFrames of text (CSV) or typed columns (Parquet) and never raise
for a user's mistake: they return the problems as :class:`~optimizer.errors.Issue`.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.errors import Issue

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def display_path(path: Path) -> str:
    """Name a file as the user would: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def read_toml(path: Path) -> tuple[dict[str, Any] | None, list[Issue]]:
    """Parse a TOML file; a syntax error is reported with its line and column."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Issue(display_path(path), f"cannot read the file ({exc.strerror})")]
    text, issues = _decode(raw, path)
    if text is None:
        return None, issues
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        return None, [Issue(display_path(path), f"is not valid TOML: {exc}")]


def read_table(path: Path) -> tuple[pd.DataFrame | None, list[Issue]]:
    """Read one table from CSV (UTF-8, comma-separated, header row) or Parquet.

    Returns
    -------
    (DataFrame or None, issues)
        The table with a RangeIndex in file order, or None if the file could not be read.
    """
    label = display_path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        return None, [Issue(label, f"unsupported file type '{path.suffix}' (use .csv or .parquet)")]
    if not path.is_file():
        return None, [Issue(label, "file not found")]
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path).reset_index(drop=True), []
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            return None, [Issue(label, f"is not a readable Parquet file: {exc}")]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Issue(label, f"cannot read the file ({exc.strerror})")]
    text, issues = _decode(raw, path)
    if text is None:
        return None, issues
    return _parse_csv(text, label)


def _decode(raw: bytes, path: Path) -> tuple[str | None, list[Issue]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [
            Issue(
                display_path(path),
                f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}); "
                "save it as UTF-8",
                row=f"line {line}",
            )
        ]
    return text, []


def _parse_csv(text: str, label: str) -> tuple[pd.DataFrame | None, list[Issue]]:
    if not text.strip():
        return None, [Issue(label, "is empty (a header row is required)")]
    # The csv module tells us exactly which records have the wrong number of fields, and
    # on which physical line each record starts (a quoted value may span lines).
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, starts, line = [], [], 1
    try:
        for row in reader:
            rows.append(row)
            starts.append(line)
            line = reader.line_num + 1
    except csv.Error as exc:
        # A cell longer than the csv module's field limit (a missing closing quote that
        # swallows the rest of the file, or pasted text): name the line its record starts on.
        return None, [Issue(label, _csv_problem(exc), f"line {line}")]
    header = [h.strip() for h in rows[0]]
    issues = []
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        issues.append(Issue(label, f"header repeats column(s) {', '.join(dupes)}", "line 1"))
    if any(not h for h in header):
        issues.append(Issue(label, "header has an empty column name", "line 1"))
    for row, start in zip(rows[1:], starts[1:], strict=True):
        if row and len(row) != len(header):
            issues.append(
                Issue(
                    label,
                    f"has {len(row)} fields but the header has {len(header)} "
                    "(a stray comma or an unquoted comma inside a value?)",
                    f"line {start}",
                )
            )
    if issues:
        return None, issues
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, ValueError) as exc:  # defensive: csv accepted it
        return None, [Issue(label, f"is not a well-formed CSV file: {exc}")]
    frame.columns = [str(c).strip() for c in frame.columns]
    # Blank lines would shift line numbers if skipped by pandas; drop them here instead.
    blank = frame.isna().all(axis=1)
    frame = frame.loc[~blank]
    frame.attrs["lines"] = tuple(starts[1:])  # physical line on which record i starts
    return frame, []


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return (
            f"a value is longer than {csv.field_size_limit():,} characters, the most a cell "
            "may hold (an unclosed quote that runs on to later lines?)"
        )
    return f"is not a well-formed CSV file: {text}"
