"""Shared fixtures: the shipped scenario, and disposable copies of it that tests may break."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import optimizer

# The loader numbers CSV lines as an editor does: header line 1, first data row line 2.
FIRST_DATA_LINE = 2


class ScenarioFiles:
    """Edit the files of a scenario copy: one cell, one line, one row at a time.

    CSV files are read with every cell as text (empty cells as ``""``) and written back
    without an index, so only the edited cell changes meaning. Rows are 0-based data
    rows; methods that locate something return the file line the loader will report.
    """

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, name: str) -> Path:
        return self.folder / name

    def read(self, name: str) -> pd.DataFrame:
        return pd.read_csv(self.path(name), dtype=str, keep_default_na=False, encoding="utf-8")

    def write(self, name: str, frame: pd.DataFrame) -> None:
        frame.to_csv(self.path(name), index=False, lineterminator="\n", encoding="utf-8")

    def row(self, name: str, **match: str) -> int:
        """0-based data row of the first row whose cells equal all of ``match``."""
        frame = self.read(name)
        hit = pd.Series(True, index=frame.index)
        for column, value in match.items():
            hit &= frame[column] == value
        if not hit.any():
            raise LookupError(f"no row of {name} matches {match}")
        return int(hit.idxmax())

    def set_cell(self, name: str, column: str, value: str, **match: str) -> int:
        """Set ``column`` of the first row matching ``match``; return that row's file line."""
        frame = self.read(name)
        if column not in frame.columns:
            raise KeyError(f"{name} has no column {column!r}")
        row = self.row(name, **match)
        frame.loc[row, column] = value
        self.write(name, frame)
        return row + FIRST_DATA_LINE

    def edit_frame(self, name: str, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
        """Rewrite a CSV file through ``edit`` (gets and returns the text frame)."""
        self.write(name, edit(self.read(name)))

    def edit_text(self, name: str, edit: Callable[[str], str]) -> None:
        """Rewrite any text file (CSV or TOML) through ``edit``; fails if nothing changed."""
        path = self.path(name)
        before = path.read_text(encoding="utf-8")
        after = edit(before)
        if after == before:
            raise AssertionError(f"the edit left {name} unchanged")
        path.write_text(after, encoding="utf-8")

    def line_number(self, name: str, startswith: str) -> int:
        """1-based number of the first line of a text file that starts with ``startswith``."""
        lines = self.path(name).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if line.startswith(startswith):
                return number
        raise LookupError(f"no line of {name} starts with {startswith!r}")

    def replace_line(self, name: str, number: int, text: str, encoding: str = "utf-8") -> None:
        """Replace the 1-based line ``number`` by ``text`` encoded as ``encoding``.

        Works on bytes, so the rest of the file is kept as it was.
        """
        path = self.path(name)
        lines = path.read_bytes().split(b"\n")
        lines[number - 1] = text.encode(encoding)
        path.write_bytes(b"\n".join(lines))

    def line(self, name: str, number: int) -> str:
        """The text of the 1-based line ``number`` of a UTF-8 file."""
        return self.path(name).read_text(encoding="utf-8").splitlines()[number - 1]


@pytest.fixture(scope="session")
def default_scenario() -> optimizer.Scenario:
    """The shipped default scenario, loaded once per session; do not modify its tables."""
    return optimizer.load_scenario()


@pytest.fixture(scope="session")
def divisible_scenario() -> optimizer.Scenario:
    """The shipped data with capacity divisible at will (``data/divisible.toml``): the LP.

    Its optimum is exact, so tests that compare two routes to the same optimum (backends,
    the sweep fast path, a store) compare to the last digits here; the shipped default is
    a MILP, solved to a relative gap, whose plans may differ within it."""
    return optimizer.load_scenario(optimizer.default_data_dir() / "divisible.toml")


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped scenario: scenario.toml and the CSV tables only."""
    source = optimizer.default_data_dir()
    target = tmp_path / "scenario"
    target.mkdir()
    for path in [source / "scenario.toml", *sorted(source.glob("*.csv"))]:
        shutil.copy2(path, target / path.name)
    return target


@pytest.fixture
def files(scenario_dir: Path) -> ScenarioFiles:
    """Editor of the files in :func:`scenario_dir`."""
    return ScenarioFiles(scenario_dir)
