"""What the run and the sweep report share: the Jinja environment, table cells and tables,
the CSV copies of the tables and the page file.

Both pages extend ``templates/base.html.j2`` (page skeleton, styles, the sorting script)
and open offline: no external resources, and every string from data is escaped by
Jinja2's autoescaping. A report folder is staged and swapped in as a whole by
:func:`report_folder` (:func:`optimizer.output.folders.staged_output`, as every output
folder of dupopt).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from optimizer.output.folders import staged_output
from optimizer.scenario.readers import display_path

__all__ = [
    "REPORT_FILE",
    "TEMPLATES",
    "cell",
    "environment",
    "report_folder",
    "table",
    "write_page",
    "write_tables",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_FILE = "report.html"


@cache
def environment() -> Environment:
    """The Jinja environment of the report templates, autoescaping HTML."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
    )


def cell(value: object, limit: int | None = None, *, round_large: bool = True) -> dict:
    """Shown text, sort key and alignment of one table cell.

    Parameters
    ----------
    value
        A scalar from a table (Python or numpy).
    limit
        Text beyond this many characters is cut in the page (``full`` keeps it for the
        tooltip; the CSV has it).
    round_large
        Show floats of magnitude 10 000 and more without decimals (the sweep report);
        ``False`` shows every float with four significant digits (the run report).

    Returns
    -------
    dict
        ``shown``, ``sort`` (the ``data-value`` the sorting script compares), ``text``
        (left-aligned) and, for cut text, ``full``.

    Examples
    --------
    >>> cell(12345.6)["shown"], cell(12345.6, round_large=False)["shown"]
    ('12,346', '1.235e+04')
    >>> cell(np.int64(1200)), cell(float("nan"))["shown"], cell(True)["shown"]
    ({'shown': '1,200', 'sort': '1200', 'text': False}, '', 'yes')
    >>> cell("abcdef", limit=3)["shown"]
    'abc …'
    """
    if isinstance(value, (bool, np.bool_)):
        return {"shown": "yes" if value else "no", "sort": str(int(value)), "text": False}
    if isinstance(value, (int, np.integer)):
        return {"shown": f"{int(value):,}", "sort": str(int(value)), "text": False}
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return {"shown": "", "sort": "", "text": False}
        large = round_large and abs(value) >= 1e4
        shown = f"{value:,.0f}" if large else f"{value:,.4g}"
        return {"shown": shown, "sort": repr(float(value)), "text": False}
    if value is None or value is pd.NA or value is pd.NaT:
        return {"shown": "", "sort": "", "text": True}
    text = str(value)
    if limit is not None and len(text) > limit:
        return {"shown": text[:limit] + " …", "sort": text, "text": True, "full": text}
    return {"shown": text, "sort": text, "text": True}


def table(
    frame: pd.DataFrame,
    stem: str,
    title: str,
    unit: str | None = None,
    cut: Mapping[str, int] | None = None,
    *,
    round_large: bool = True,
) -> dict:
    """A table as the templates' ``table`` macro shows it; its CSV is ``tables/<stem>.csv``.

    Parameters
    ----------
    frame
        The table.
    stem
        Its file stem and HTML id.
    title, unit
        Heading and unit line; ``unit=None`` takes ``frame.attrs["unit"]`` (or none).
    cut
        Column name -> characters shown before the text is cut (see :func:`cell`).
    round_large
        Passed to :func:`cell`.

    Examples
    --------
    >>> t = table(pd.DataFrame({"sector": ["nev"], "gw": [1.5]}), "s", "Sectors", "GW")
    >>> t["csv"], t["columns"], [c["shown"] for c in t["rows"][0]]
    ('tables/s.csv', ['sector', 'gw'], ['nev', '1.5'])
    """
    limits = [(cut or {}).get(str(c)) for c in frame.columns]
    rows = [
        [cell(v, n, round_large=round_large) for v, n in zip(row, limits, strict=True)]
        for row in frame.itertuples(index=False)
    ]
    return {
        "id": stem,
        "title": title,
        "unit": unit if unit is not None else frame.attrs.get("unit", ""),
        "csv": f"tables/{stem}.csv",
        "columns": [str(c) for c in frame.columns],
        "rows": rows,
    }


def write_tables(folder: Path, frames: Mapping[str, pd.DataFrame]) -> None:
    """Write each table to ``folder/tables/<stem>.csv`` (``tables/`` must not exist yet)."""
    (folder / "tables").mkdir()
    for stem, frame in frames.items():
        frame.to_csv(folder / "tables" / f"{stem}.csv", index=False, lineterminator="\n")


def write_page(folder: Path, template: str, **context: object) -> Path:
    """Render ``template`` with ``context`` into ``folder/report.html``; return its path."""
    html = environment().get_template(template).render(**context)
    path = folder / REPORT_FILE
    path.write_text(html, encoding="utf-8")
    return path


@contextmanager
def report_folder(folder: Path, source: Path, what: str, source_kind: str) -> Iterator[Path]:
    """Stage a report folder (manifest kind ``"report"``) drawn from ``source``; on
    success it replaces ``folder`` as a whole (:func:`optimizer.output.folders.staged_output`).

    Parameters
    ----------
    folder
        The report folder: missing, empty or an earlier report folder.
    source
        The results folder or store the report is drawn from; the report may not be
        written over it (``what`` names it in that error).
    what
        How errors name ``source``, e.g. ``"the store"``.
    source_kind
        Recorded in the manifest with ``source``: ``"run"`` or ``"store"``.

    Yields
    ------
    Path
        The staging folder to write the report into.
    """
    with staged_output(
        folder,
        "report",
        inputs=[(source, what)],
        manifest={"source": display_path(source), "source_kind": source_kind},
    ) as stage:
        yield stage
