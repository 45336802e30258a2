"""The HTML reports: one of a run's results folder, one of a sweep store.

- :mod:`geo.reports.html`: what both share (Jinja environment, table cells and tables,
  the CSV copies of the tables, writing the page); both pages extend
  ``templates/base.html.j2`` (skeleton, styles, table-sorting script).
- :mod:`geo.reports.run_report`: the report of ``dupopt run`` (:func:`render_report`,
  :func:`draw_report`).
- :mod:`geo.reports.sweep_report`: the report of a ``dupopt batch`` store
  (:func:`render_batch_report`).

Both write their folder through :func:`optimizer.output.folders.staged_output`, so a
report appears whole or not at all. Submodules are imported on first use (they bring
matplotlib and Jinja2 with them).
"""

from __future__ import annotations

import importlib

__all__ = ["BatchReportError", "draw_report", "render_batch_report", "render_report"]

_WHERE = {
    "draw_report": "geo.reports.run_report",
    "render_report": "geo.reports.run_report",
    "render_batch_report": "geo.reports.sweep_report",
    "BatchReportError": "geo.reports.sweep_report",
}


def __getattr__(name: str) -> object:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
