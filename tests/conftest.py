"""Shared fixtures: the shipped scenario, and disposable copies of it that tests may break."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import optimizer

# CSV line numbers as the loader reports them: the header is line 1, data row 0 is line 2.
FIRST_DATA_LINE = 2


def line_of(row: int) -> int:
    """File line number of the 0-based data row ``row`` of a CSV file."""
    return row + FIRST_DATA_LINE


def read_csv_text(path: Path) -> pd.DataFrame:
    """Read a CSV exactly as written: every cell a string, empty cells as ''."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def write_csv_text(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame read by :func:`read_csv_text` back, without an index column."""
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def set_cell(path: Path, row: int, column: str, value: str) -> int:
    """Set one cell of a CSV file (``row`` is the 0-based data row); return its file line."""
    frame = read_csv_text(path)
    if column not in frame.columns:
        raise KeyError(f"{path.name} has no column {column!r}")
    if not 0 <= row < len(frame):
        raise IndexError(f"{path.name} has no data row {row}")
    frame.loc[row, column] = value
    write_csv_text(frame, path)
    return line_of(row)


def find_row(path: Path, **match: str) -> int:
    """0-based data row of the first row whose cells equal ``match`` (all given columns)."""
    frame = read_csv_text(path)
    hit = pd.Series(True, index=frame.index)
    for column, value in match.items():
        hit &= frame[column] == value
    if not hit.any():
        raise LookupError(f"no row of {path.name} matches {match}")
    return int(hit.idxmax())


def edit_lines(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
    """Rewrite a text file through ``edit``, which gets and returns its lines (no newlines)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def default_scenario() -> optimizer.Scenario:
    """The shipped default scenario, loaded once per test session (treat as read-only)."""
    return optimizer.load_scenario()


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped scenario (scenario.toml and the CSV tables only)."""
    source = optimizer.default_data_dir()
    target = tmp_path / "scenario"
    target.mkdir()
    for path in [source / "scenario.toml", *sorted(source.glob("*.csv"))]:
        shutil.copy2(path, target / path.name)
    return target
