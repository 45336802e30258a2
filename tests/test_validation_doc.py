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
    assert shown.strip() == validation_markdown(table).strip()


def test_every_reference_figure_names_its_publisher_title_year_and_where_it_was_read():
    ref = reference_figures()
    for column in ("publisher", "title", "year", "location", "value", "unit"):
        assert ref[column].notna().all(), column
    assert ref["value"].between(0, 1).all()
