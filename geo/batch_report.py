"""Old path of the sweep report, kept so existing imports work: see
:mod:`geo.reports.sweep_report`.

To replace a function in tests (monkeypatch), patch :mod:`geo.reports.sweep_report`,
where the report looks it up.
"""

from geo.reports.sweep_report import (
    REPORT_FILE,
    BatchReportError,
    debt_maps,
    default_output,
    headline_sentences,
    metric_figure,
    regions_boxplot,
    render_batch_report,
    report_context,
    robustness_maps,
    sector_sentences,
    ties_note,
)

__all__ = [
    "REPORT_FILE",
    "BatchReportError",
    "debt_maps",
    "default_output",
    "headline_sentences",
    "metric_figure",
    "regions_boxplot",
    "render_batch_report",
    "report_context",
    "robustness_maps",
    "sector_sentences",
    "ties_note",
]
