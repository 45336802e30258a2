"""The distribution: a wheel carries the shipped dataset, and the package finds it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import optimizer
from optimizer.paths import default_data_dir

ROOT = Path(__file__).resolve().parents[1]


def test_default_data_dir_holds_the_dataset():
    """The data folder the package resolves to has the scenario file and the boundaries."""
    data = default_data_dir()
    assert (data / "scenario.toml").is_file()
    assert (data / "provinces.gpkg").is_file()


def test_wheel_ships_the_dataset(tmp_path):
    """A wheel built from the checkout contains data/ under optimizer/data and the CLI."""
    wheel_builder = pytest.importorskip("hatchling.builders.wheel")
    builder = wheel_builder.WheelBuilder(str(ROOT))
    wheel = Path(next(iter(builder.build(directory=str(tmp_path), versions=["standard"]))))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.name for p in (ROOT / "data").iterdir() if p.suffix in (".csv", ".toml", ".gpkg")}
    assert shipped, "no data files found in the checkout"
    for name in shipped:
        assert f"optimizer/data/{name}" in names
    assert "geo/__init__.py" in names
    templates = sorted((ROOT / "geo" / "reports" / "templates").glob("*.j2"))
    assert templates, "no report templates found in the checkout"
    for template in templates:  # the reports render from these at run time
        assert f"geo/reports/templates/{template.name}" in names
    assert "optimizer/scenario/plausible_ranges.csv" in names  # the loader needs it
    assert "optimizer/analysis/reference_figures.csv" in names  # the validation table
    assert "optimizer/data/sweeps/uncertainty.toml" in names  # the headline's range
    assert "geo/fonts/DupoptCJK-Regular.otf" in names  # Chinese names in maps and pages
    assert "geo/fonts/OFL.txt" in names  # the font's licence travels with it
    assert "optimizer/docs/model.md" in names  # the report's equations
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "dupopt = dupopt.cli:main" in text
    assert optimizer.__version__ in wheel.name
