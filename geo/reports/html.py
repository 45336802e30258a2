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
    "column_kind",
    "column_label",
    "environment",
    "format_number",
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


#: Magnitudes below this are float noise (a difference of two equal sums), shown as 0.
NOISE = 1e-9

#: How a column's numbers are shown (see :func:`column_kind`).
KINDS = ("text", "bool", "year", "count", "money", "percent", "percent_points", "index", "quantity")

# Column-name words that decide a kind; checked on the name split at underscores.
_MONEY = ("cny",)
_PERCENT = ("utilisation", "share", "fraction", "top3")
_INDEX = ("hhi", "krugman", "similarity", "index")
_COUNT = ("regions", "sectors", "samples", "failed", "plants", "rows", "count", "designated")

# Units of a ``unit`` column that set the kind of the row's numbers (the headline table).
_UNIT_KINDS = {
    "cny bn": "money",
    "cny bn/yr": "money",
    "regions": "count",
    "sectors": "count",
    "fraction": "percent",
    "share": "percent",
}


def column_kind(name: str, values: pd.Series | None = None) -> str:
    """How a column's numbers are shown, from its name and dtype.

    ``year`` (whole years, no separator), ``count`` (whole numbers with separators),
    ``money`` (CNY bn: one decimal), ``percent`` (a fraction shown in %),
    ``percent_points`` (already in %), ``index`` (HHI, Krugman: three decimals),
    ``quantity`` (physical units: precision by magnitude), ``bool`` or ``text``.

    Examples
    --------
    >>> [column_kind(c) for c in ("year", "stranded_capital_cny_bn_observed",
    ...     "utilisation_coordinated", "hhi_observed", "regions_observed", "capacity")]
    ['year', 'money', 'percent', 'index', 'count', 'quantity']
    >>> column_kind("sector", pd.Series(["nev"])), column_kind("base_percentile")
    ('text', 'percent_points')
    >>> column_kind("regions_at_or_above_share"), column_kind("top3_share")
    ('count', 'percent')
    """
    words = str(name).lower().split("_")
    if values is not None:
        if pd.api.types.is_bool_dtype(values):
            return "bool"
        if not pd.api.types.is_numeric_dtype(values):
            return "text"
    if words[0] in ("year", "years", "base") and words[-1] in ("year", "years"):
        return "year"
    if words[-1] in ("year", "years") and len(words) <= 2:
        return "year"
    if "percentile" in words:
        return "percent_points"
    if words[0] in _COUNT or words[:1] == ["n"]:
        return "count"
    if any(w in _MONEY for w in words):
        return "money"
    if any(w in _INDEX for w in words):
        return "index"
    if any(w in _PERCENT for w in words) or (words[-1] == "gap" and "rel" in words):
        return "percent"
    if values is not None and pd.api.types.is_integer_dtype(values):
        return "count"
    return "quantity"


def format_number(value: float, kind: str = "quantity") -> str:
    """A number as a table shows it: thousands separators, a precision that fits its
    kind (:func:`column_kind`), float noise shown as 0, no exponent.

    Examples
    --------
    >>> format_number(2023, "year"), format_number(10541.44, "money")
    ('2023', '10,541.4')
    >>> format_number(9.095e-13, "money"), format_number(-1e-13, "quantity")
    ('0.0', '0')
    >>> format_number(0.4294, "percent"), format_number(56.0, "percent_points")
    ('42.9 %', '56 %')
    >>> [format_number(v) for v in (3127.84, 74.945, 2.1337, 0.6510, 0.000123, 5.33e-6)]
    ['3,128', '74.9', '2.13', '0.651', '0.000123', '0.000005']
    >>> format_number(0.0521, "index"), format_number(31.0, "count")
    ('0.052', '31')
    """
    v = float(value)
    if not math.isfinite(v):
        return ""
    if abs(v) < NOISE:
        v = 0.0
    if kind == "year":
        return str(round(v))
    if kind == "count":
        return f"{round(v):,d}" if abs(v - round(v)) < 1e-6 else f"{v:,.2f}"
    if kind == "money":
        return f"{v + 0.0:,.1f}".replace("-0.0", "0.0")
    if kind == "percent":
        return f"{v * 100 + 0.0:,.1f} %".replace("-0.0 ", "0.0 ")
    if kind == "percent_points":
        return f"{v:,.0f} %"
    if kind == "index":
        return f"{v:.3f}"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:,.1f}"
    if a >= 1:
        return f"{v:,.2f}"
    if a >= 0.01:
        return f"{v:.3f}"
    # Tiny but not noise: fixed point to a millionth, never an exponent.
    return f"{v:.6f}".rstrip("0").rstrip(".") if a >= 5e-7 else "0"


def cell(
    value: object,
    limit: int | None = None,
    *,
    round_large: bool = True,
    kind: str | None = None,
) -> dict:
    """Shown text, sort key and alignment of one table cell.

    Parameters
    ----------
    value
        A scalar from a table (Python or numpy).
    limit
        Text beyond this many characters is cut in the page (``full`` keeps it for the
        tooltip; the CSV has it).
    round_large
        Kept for callers of earlier versions; numbers are formatted by ``kind`` now.
    kind
        How to show a number (:func:`column_kind`); ``None``: ``count`` for integers,
        ``quantity`` for floats.

    Returns
    -------
    dict
        ``shown``, ``sort`` (the ``data-value`` the sorting script compares), ``text``
        (left-aligned) and, for cut text, ``full``.

    Examples
    --------
    >>> cell(12345.6)["shown"], cell(12345.6, kind="money")["shown"]
    ('12,346', '12,345.6')
    >>> cell(np.int64(1200)), cell(float("nan"))["shown"], cell(True)["shown"]
    ({'shown': '1,200', 'sort': '1200', 'text': False}, '', 'yes')
    >>> cell(2023, kind="year")["shown"], cell("abcdef", limit=3)["shown"]
    ('2023', 'abc …')
    """
    del round_large  # numbers are shown by kind
    if isinstance(value, (bool, np.bool_)):
        return {"shown": "yes" if value else "no", "sort": str(int(value)), "text": False}
    if isinstance(value, (int, np.integer, float, np.floating)):
        if isinstance(value, (float, np.floating)) and not math.isfinite(value):
            return {"shown": "", "sort": "", "text": False}
        if kind in (None, "text", "bool"):
            kind = "count" if isinstance(value, (int, np.integer)) else "quantity"
        sort = str(int(value)) if isinstance(value, (int, np.integer)) else repr(float(value))
        return {"shown": format_number(value, kind), "sort": sort, "text": False}
    if value is None or value is pd.NA or value is pd.NaT:
        return {"shown": "", "sort": "", "text": True}
    text = str(value)
    if limit is not None and len(text) > limit:
        return {"shown": text[:limit] + " …", "sort": text, "text": True, "full": text}
    return {"shown": text, "sort": text, "text": True}


#: Words written as acronyms or names in column headers.
_WORDS = {
    "hhi": "HHI",
    "cny": "CNY",
    "bn": "bn",
    "pv": "PV",
    "nev": "NEV",
    "id": "ID",
    "om": "O&M",
    "p05": "5th percentile",
    "p5": "5th percentile",
    "p25": "25th percentile",
    "p75": "75th percentile",
    "p50": "median",
    "p95": "95th percentile",
    "mip": "MIP",
    "rel": "relative",
    "top3": "top 3",
    "krugman": "Krugman",
}
_MODES = ("observed", "coordinated", "difference")
_UNITS = (
    ("_cny_bn_per_yr", "CNY bn/yr"),
    ("_cny_bn", "CNY bn"),
    ("_per_yr", "/yr"),
    ("_km", "km"),
)


def column_label(name: str, kind: str | None = None) -> str:
    """A human column header with its unit, from a snake_case column name.

    Examples
    --------
    >>> column_label("stranded_capital_cny_bn_observed")
    'Stranded capital, observed (CNY bn)'
    >>> column_label("utilisation_coordinated"), column_label("hhi_observed")
    ('Utilisation, coordinated (%)', 'HHI, observed')
    >>> column_label("fiscal_capacity_cny_bn_per_yr"), column_label("p05")
    ('Fiscal capacity (CNY bn/yr)', '5th percentile')
    """
    text = str(name)
    mode = ""
    for m in _MODES:
        if text.endswith("_" + m) and text != m:
            text, mode = text[: -len(m) - 1], m
            break
    unit = ""
    for suffix, label in _UNITS:
        if text.endswith(suffix):
            text, unit = text[: -len(suffix)], label
            break
        if suffix + "_" in text:  # a unit inside the name (debt_cny_bn_observed handled above)
            head, _, tail = text.partition(suffix + "_")
            text, unit = f"{head}_{tail}", label
            break
    kind = kind or column_kind(name)
    if not unit and kind in ("percent", "percent_points"):
        unit = "%"
    words = [_WORDS.get(w, w) for w in text.split("_") if w]
    label = " ".join(words) or str(name)
    label = label[:1].upper() + label[1:]
    if mode:
        label += f", {mode}"
    return f"{label} ({unit})" if unit else label


def table(
    frame: pd.DataFrame,
    stem: str,
    title: str,
    unit: str | None = None,
    cut: Mapping[str, int] | None = None,
    *,
    round_large: bool = True,
    labels: Mapping[str, str] | None = None,
    values: Mapping[str, Mapping[str, str]] | None = None,
) -> dict:
    """A table as the templates' ``table`` macro shows it; its CSV is ``tables/<stem>.csv``.

    Numbers are formatted by their column's kind (:func:`column_kind`; in a table with a
    ``unit`` column, by each row's unit), headers are human (:func:`column_label`), text
    columns are left-aligned and number columns right-aligned.

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
        Kept for callers of earlier versions (see :func:`cell`).
    labels
        Column name -> header, replacing :func:`column_label`'s.
    values
        Column name -> {value: shown text}, e.g. sector codes to names (the CSV keeps
        the codes; sorting uses the shown text).

    Examples
    --------
    >>> t = table(pd.DataFrame({"sector": ["nev"], "gw": [1.5], "year": [2023]}), "s",
    ...           "Sectors", "GW")
    >>> t["csv"], t["columns"], [c["shown"] for c in t["rows"][0]]
    ('tables/s.csv', ['Sector', 'Gw', 'Year'], ['nev', '1.50', '2023'])
    >>> t["align"]
    ['text', 'num', 'num']
    """
    del round_large
    limits = [(cut or {}).get(str(c)) for c in frame.columns]
    kinds = [column_kind(str(c), frame[c]) for c in frame.columns]
    row_kinds = None
    if "unit" in frame.columns:  # one unit per row: it decides how the row's numbers show
        row_kinds = (
            frame["unit"].astype(str).str.strip().str.lower().map(_UNIT_KINDS).fillna("quantity")
        ).tolist()
    mapped = {str(k): dict(v) for k, v in (values or {}).items()}
    headers = {
        **{str(c): column_label(str(c), k) for c, k in zip(frame.columns, kinds, strict=True)}
    }
    headers.update(labels or {})
    columns = [str(c) for c in frame.columns]
    rows = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cells = []
        for value, n, kind, column in zip(row, limits, kinds, columns, strict=True):
            if column in mapped and isinstance(value, str):
                value = mapped[column].get(value, value)
            if row_kinds is not None and kind == "quantity":
                kind = row_kinds[i]
            cells.append(cell(value, n, kind=kind))
        rows.append(cells)
    return {
        "id": stem,
        "title": title,
        "unit": unit if unit is not None else frame.attrs.get("unit", ""),
        "csv": f"tables/{stem}.csv",
        "columns": [headers[c] for c in columns],
        "align": ["text" if k in ("text",) else "num" for k in kinds],
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
