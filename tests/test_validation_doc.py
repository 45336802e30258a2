"""docs/validation.md shows the validation table of the shipped data, as it is now."""

from __future__ import annotations

from pathlib import Path

import optimizer
from optimizer.analysis.validation import (
    reference_figures,
    validation_markdown,
    validation_table,
)

DOC = Path(__file__).parents[1] / "docs" / "validation.md"


def test_the_validation_page_shows_the_table_of_the_shipped_data(default_scenario):
    table = validation_table(
        default_scenario,
        optimizer.evaluate_observed(default_scenario),
        optimizer.solve(default_scenario),
    )
    text = DOC.read_text(encoding="utf-8")
    shown = text.split("<!-- validation-table:start -->\n")[1].split(
        "<!-- validation-table:end -->"
    )[0]
    expected = validation_markdown(table).strip().splitlines()
    lines = shown.strip().splitlines()
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected, strict=True):
        cells, wanted = _cells(line), _cells(want)
        # The plan is a MILP solved to a 0.01 % gap: another HiGHS release may return a
        # plan of (almost) the same cost with a province more or less in a sector and a
        # slightly different utilisation (measured: highspy 1.8 against the newest).
        for i in (PLAN_UTILISATION, PLAN_PROVINCES):
            if i < len(cells) and _number(cells[i]) is not None:
                tol = 0.5 if i == PLAN_UTILISATION else 1
                assert abs(_number(cells[i]) - _number(wanted[i])) <= tol, (line, want)
                cells[i] = wanted[i]
        assert cells == wanted


# Columns of the table: sector, utilisation (data, observed evaluation, plan), provinces
# (data, plan), ...
PLAN_UTILISATION, PLAN_PROVINCES = 3, 5


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _number(text: str) -> float | None:
    try:
        return float(text.rstrip("%").replace(",", ""))
    except ValueError:
        return None


def test_every_reference_figure_names_its_publisher_title_year_and_where_it_was_read():
    ref = reference_figures()
    for column in ("publisher", "title", "year", "location", "value", "unit"):
        assert ref[column].notna().all(), column
    assert ref["value"].between(0, 1).all()
