"""Old path of the run report, kept so existing imports work: see :mod:`geo.reports.run_report`.

To replace a function in tests (monkeypatch), patch :mod:`geo.reports.run_report`, where
the report looks it up.
"""

from geo.reports.run_report import (
    QUALITY,
    REPORT_ENTRIES,
    REPORT_FILE,
    draw_report,
    national_sentence,
    quality_shares,
    render_report,
    report_context,
    sector_sentences,
)

__all__ = [
    "QUALITY",
    "REPORT_ENTRIES",
    "REPORT_FILE",
    "draw_report",
    "national_sentence",
    "quality_shares",
    "render_report",
    "report_context",
    "sector_sentences",
]
