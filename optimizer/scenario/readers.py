"""Reading scenario files (TOML, CSV, Parquet) with errors located in the file.

Readers return plain DataFrames of text (CSV) or typed columns (Parquet) and never raise
for a user's mistake: they return the problems as :class:`~optimizer.errors.Issue`.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import KEPT, Issue, MoreIssues, issue_kind

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
        return _read_csv(path, label)
    except OSError as exc:
        return None, [Issue(label, f"cannot read the file ({exc.strerror})")]


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


class _Unreadable(Exception):
    """The csv module gave up on the record starting on ``line``."""

    def __init__(self, line: int, error: csv.Error):
        super().__init__(line, error)
        self.line, self.error = line, error


def _scan(path: Path) -> tuple[list[str], np.ndarray, Sequence[int]]:
    """The header, the number of fields of each further record and the physical line on
    which each record starts, by the csv module, streamed over the file (a table may have
    a million rows): it tells exactly which records have the wrong number of fields, and
    a quoted value may span lines.

    Raises UnicodeDecodeError for a file that is not UTF-8, and :class:`_Unreadable`.
    """

    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        records = csv.reader(text)
        try:
            header = next(records, [])
            fields = np.fromiter(map(len, records), dtype=np.int64)
        except csv.Error:
            fields = None  # found again below, with its line
        if fields is not None and records.line_num == 1 + len(fields):
            return header, fields, range(1, len(fields) + 2)  # a record per line
    # A record spans lines (or is unreadable): again, noting where each one starts.
    starts, counts, line = [], [], 1
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        records = csv.reader(text)
        try:
            for row in records:
                starts.append(line)
                counts.append(len(row))
                line = records.line_num + 1
        except csv.Error as exc:
            raise _Unreadable(line, exc) from None
    if not counts:
        return [], np.zeros(0, dtype=np.int64), []
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        header = next(csv.reader(text))
    return header, np.array(counts[1:], dtype=np.int64), starts


def _read_csv(path: Path, label: str) -> tuple[pd.DataFrame | None, list[Issue]]:
    # The csv module checks the records, pandas reads the file: neither holds the whole
    # text in memory.
    try:
        header, fields, starts = _scan(path)
    except UnicodeDecodeError:
        # Decode the whole file once more to name the byte and its line.
        return None, _decode(path.read_bytes(), path)[1]
    except _Unreadable as exc:
        # A cell longer than the csv module's field limit (a missing closing quote that
        # swallows the rest of the file, or pasted text): name the line its record
        # starts on, unless the file is not UTF-8 further on (that is said first).
        not_text = _decode(path.read_bytes(), path)[1]
        return None, not_text or [Issue(label, _csv_problem(exc.error), f"line {exc.line}")]
    if len(header) <= 1 and fields.max(initial=0) <= 1:  # perhaps nothing but blanks
        if not path.read_text(encoding="utf-8-sig").strip():
            return None, [Issue(label, "is empty (a header row is required)")]
    header = [h.strip() for h in header]
    issues = []
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        issues.append(Issue(label, f"header repeats column(s) {', '.join(dupes)}", "line 1"))
    if any(not h for h in header):
        issues.append(Issue(label, "header has an empty column name", "line 1"))

    def wrong(n: int) -> str:
        return (
            f"has {n} fields but the header has {len(header)} "
            "(a stray comma or an unquoted comma inside a value?)"
        )

    # A blank line is a record without fields; it is skipped.
    bad = np.flatnonzero((fields != 0) & (fields != len(header)))
    issues += [Issue(label, wrong(int(fields[i])), f"line {starts[i + 1]}") for i in bad[:KEPT]]
    rest, count = np.unique(fields[bad[KEPT:]], return_counts=True)
    issues += [
        MoreIssues(label, issue_kind(Issue(label, wrong(int(n)))), count=int(c))
        for n, c in zip(rest, count, strict=True)
    ]
    if issues:
        return None, issues
    try:
        frame = pd.read_csv(
            path,
            encoding="utf-8-sig",
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
    blank_rows = frame.isna().all(axis=1).to_numpy()
    if blank_rows.any():
        frame = frame.loc[~blank_rows]
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
