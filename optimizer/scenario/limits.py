"""Plausible and accepted magnitudes of every value in a scenario, per unit.

The ranges are declared in one place, ``plausible_ranges.csv`` next to this module (one
row per *kind* of value and unit, with the reasoning; documented in ``data/README.md``).
They are assumptions, not data. A value is checked against the row of its kind and unit:

- inside ``[low, high]`` (0 included only where ``low`` is 0): plausible, nothing said;
- outside it but still safe for the solver: a **warning** (the scenario loads);
- above ``high * HEADROOM``, or non-zero but below ``TOLERANCE`` in absolute value: an
  **error**, because the LP would be badly scaled (HiGHS works to absolute tolerances of
  about 1e-7 and loses precision when coefficients span more than about 1e10).

The kind of a value is its sector parameter or region attribute (``capex``, ``gdp``...),
``quantity`` for demand, market, buildout, ``min_scale`` and ``max_capacity`` values (in a
sector's output unit, or its capacity unit, the same unit per year), and
``cost_multiplier`` for tranche cost multipliers. A unit without a row of its own uses the
kind's ``*`` row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.errors import Issue
from optimizer.scenario.codes import pair_codes

if TYPE_CHECKING:
    from optimizer.scenario.parameters import ModelParameters
    from optimizer.scenario.table_validation import Origin

#: How far above the plausible upper bound a value may go before the LP is badly scaled.
HEADROOM = 1e6
#: Non-zero values smaller than this cannot be told from zero by the solver (HiGHS's
#: default primal and dual feasibility tolerances are 1e-7).
TOLERANCE = 1e-7
RANGES_FILE = Path(__file__).with_name("plausible_ranges.csv")
ANY_UNIT = "*"

# (table, value column) -> the column naming the kind of each row's value, or the kind.
_VALUE_COLUMNS: dict[tuple[str, str], str] = {
    ("sector_parameters", "value"): "parameter",
    ("region_attributes", "value"): "attribute",
    ("demand", "value"): "quantity",
    ("markets", "value"): "quantity",
    ("buildout", "value"): "quantity",
    ("capacity_tranches", "max_capacity"): "quantity",
    ("capacity_tranches", "cost_multiplier"): "cost_multiplier",
}
# Kinds given by the table rather than by a column of it.
_KINDS = ("quantity", "cost_multiplier")
# Sector parameters that are amounts of the sector's product.
_QUANTITY_PARAMETERS = ("min_scale", "plant_size")
# Kinds whose unit is fixed whatever the row says (a tranche row's unit is its capacity's).
_FIXED_UNIT = {"cost_multiplier": "index"}
# Columns that name a row's value in messages where no kind column does ("export" or
# "global" market, "capacity" or "output"); other values are named by their column.
_WHAT_COLUMN = {"markets": "market", "buildout": "variable"}
# Units not repeated after a number in messages.
_NO_UNIT = ("fraction", "index", "dimensionless", ANY_UNIT)
_PER_YEAR = re.compile(r"\s*/\s*yr$")


def plausible_ranges() -> pd.DataFrame:
    """The declared ranges, with the accepted bounds derived from them.

    Returns
    -------
    DataFrame
        One row per (``kind``, ``unit``): ``low`` and ``high`` (plausible range, in the
        unit), ``reject_below`` (non-zero values below it are refused), ``reject_above``
        (``high * HEADROOM``) and ``reason``.

    Examples
    --------
    >>> r = plausible_ranges().set_index(["kind", "unit"])
    >>> r.loc[("capex", "CNY bn/(GW/yr)"), ["low", "high", "reject_above"]].tolist()
    [0.1, 20.0, 20000000.0]
    """
    return _ranges().copy()


@cache
def _ranges() -> pd.DataFrame:
    table = pd.read_csv(RANGES_FILE, dtype={"kind": str, "unit": str, "reason": str})
    table["low"] = table["low"].astype(float)
    table["high"] = table["high"].astype(float)
    table["reject_below"] = TOLERANCE
    table["reject_above"] = table["high"] * HEADROOM
    return table


def check_magnitudes(
    name: str, frame: pd.DataFrame, origin: Origin
) -> tuple[list[Issue], list[Issue]]:
    """Check the values of one table against the plausible range of their kind and unit.

    Parameters
    ----------
    name
        The table (``demand``, ``sector_parameters``...); tables without values pass.
    frame
        The table with its numeric columns parsed to float. Missing, non-finite and
        negative values are left to the parsers and the schema, which report them.
    origin
        Where the table came from, to name file, line and column.

    Returns
    -------
    (errors, warnings)
        Values the LP cannot take (refused), and values outside the plausible range;
        past the first :data:`~optimizer.errors.KEPT` of a kind, a
        :class:`~optimizer.errors.MoreIssues` counts the rest.
    """
    errors: list[Issue] = []
    warnings: list[Issue] = []
    if frame.empty or "unit" not in frame:
        return errors, warnings
    for (table, column), kind_from in _VALUE_COLUMNS.items():
        if table != name or column not in frame:
            continue
        if kind_from not in frame and kind_from not in _KINDS:
            continue
        found = _check_column(name, column, kind_from, frame, origin)
        errors.extend(found[0])
        warnings.extend(found[1])
    return errors, warnings


def _check_column(
    name: str, column: str, kind_from: str, frame: pd.DataFrame, origin: Origin
) -> tuple[list[Issue], list[Issue]]:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
    # Units and kinds are few: each distinct one is handled once (a table may have 1M rows).
    # A missing unit or kind is left to the schema (it names the empty cell).
    unnamed = frame["unit"].isna().to_numpy()
    unit_codes, unit_names = pd.factorize(frame["unit"].where(~unnamed, "").astype(str))
    unit_names = np.asarray(unit_names, dtype=object)
    if kind_from in frame:
        what_codes, what_names = pd.factorize(frame[kind_from].astype(str), use_na_sentinel=False)
        what_names = np.asarray(what_names, dtype=object)
        kind_names = np.where(np.isin(what_names, _QUANTITY_PARAMETERS), "quantity", what_names)
    else:
        label = _WHAT_COLUMN.get(name)
        fixed = "demand" if name == "demand" else column
        if label:
            what_codes, what_names = pd.factorize(frame[label].astype(str), use_na_sentinel=False)
            what_names = np.asarray(what_names, dtype=object)
        else:
            what_codes, what_names = np.zeros(len(frame), np.intp), np.array([fixed], object)
        kind_names = np.full(len(what_names), kind_from, dtype=object)
    # The unit a kind is looked up by: a quantity's without "/yr"; a fixed one for some.
    key_of_unit = np.array([_PER_YEAR.sub("", u) for u in unit_names], dtype=object)
    codes, pairs = pair_codes(what_codes, unit_codes)
    pair_what = np.array([w for w, _ in pairs], dtype=np.intp)
    pair_unit = np.array([u for _, u in pairs], dtype=np.intp)
    pair_kind = kind_names[pair_what]
    pair_key = np.where(pair_kind == "quantity", key_of_unit[pair_unit], unit_names[pair_unit])
    for kind, unit in _FIXED_UNIT.items():
        pair_key = np.where(pair_kind == kind, unit, pair_key)
    pair_row = _range_rows(pair_kind, pair_key)
    judged = _Judged(
        values,
        np.where(unnamed, -1, pair_row[codes]),
        lambda i: str(unit_names[unit_codes[i]]),
        lambda i: str(what_names[what_codes[i]]),
    )
    errors = origin.issues(
        frame.index,
        np.flatnonzero(judged.refused),
        column,
        judged.message,
        # A message names the kind of value, its unit and range, and why it is refused.
        keys=2 * codes[judged.refused] + judged.tiny[judged.refused],
        by_row=True,
    )
    warnings = origin.issues(
        frame.index,
        np.flatnonzero(judged.warned),
        column,
        judged.message,
        keys=codes[judged.warned],
        by_row=True,
    )
    return errors, warnings


def check_parameters(params: ModelParameters, source: str) -> tuple[list[Issue], list[Issue]]:
    """Check the numeric model parameters against their plausible ranges.

    Returns
    -------
    (errors, warnings)
        As :func:`check_magnitudes`; each issue names ``parameters.<name>`` in ``source``.
    """
    names = [f.name for f in fields(params) if type(getattr(params, f.name)) in (int, float)]
    values = np.array([getattr(params, n) for n in names], dtype=float)
    kinds = np.array([f"parameters.{n}" for n in names], dtype=object)
    keys = np.full(len(names), ANY_UNIT, dtype=object)
    rows = _range_rows(kinds, keys)
    units = _ranges()["unit"].to_numpy()[rows.clip(0)]
    judged = _Judged(values, rows, lambda i: str(units[i]), lambda i: names[i])
    errors = [
        Issue(source, judged.message(int(i)), column=kinds[i])
        for i in np.flatnonzero(judged.refused)
    ]
    warnings = [
        Issue(source, judged.message(int(i)), column=kinds[i])
        for i in np.flatnonzero(judged.warned)
    ]
    return errors, warnings


class _Judged:
    """Which values are outside their plausible range (``rows``: their row of the ranges
    table, -1 for none), refused or only warned about, and the message for each."""

    def __init__(
        self,
        values: np.ndarray,
        rows: np.ndarray,
        unit: Callable[[int], str],
        what: Callable[[int], str],
    ) -> None:
        known = rows >= 0
        ranges = _ranges()
        self.values, self.unit, self.what = values, unit, what
        self.low = np.where(known, ranges["low"].to_numpy()[rows], np.nan)
        self.high = np.where(known, ranges["high"].to_numpy()[rows], np.nan)
        self.generic = np.where(known, ranges["unit"].to_numpy()[rows] == ANY_UNIT, False)
        # Negative, missing and non-finite values are reported by the parsers and the schema.
        known &= np.isfinite(values) & (np.nan_to_num(values, nan=-1.0) >= 0)
        with np.errstate(invalid="ignore"):
            self.tiny = known & (values > 0) & (values < TOLERANCE)
            self.huge = known & (values > self.high * HEADROOM)
            odd = known & ~self.tiny & ~self.huge
            self.warned = odd & ((values < self.low) | (values > self.high))
        self.refused = self.tiny | self.huge

    def message(self, i: int) -> str:
        """What is wrong with value ``i``, with the accepted or plausible range."""
        low, high, value, units = self.low[i], self.high[i], self.values[i], self.unit(i)
        unit = "" if units in _NO_UNIT else f" {units}"
        plausible = f"{low:,g} to {high:,g}{unit}"
        if self.generic[i]:
            plausible += f" (no range is declared for unit {units!r}; the generic one applies)"
        got = f"(got {value:,.6g}{unit})"
        what = self.what(i)
        if self.tiny[i]:
            return (
                f"{what} is below the solver tolerance and cannot be told from 0; "
                f"accepted: 0 or at least {TOLERANCE:,g}{unit} {got}"
            )
        if self.huge[i]:
            return (
                f"{what} is too large for the model to be solved reliably; accepted: up "
                f"to {high * HEADROOM:,g}{unit} (plausible: {plausible}); check the value "
                f"and its unit {got}"
            )
        return (
            f"{what} is outside its plausible range {plausible} (an assumption, see "
            f"data/README.md); check the value and its unit {got}"
        )


def _range_rows(kinds: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Row of the ranges table for each (kind, unit): the exact unit, else the kind's
    ``*`` row, else the kind's only row; -1 where the kind has no range."""
    exact, default, default_rows = _lookup()
    kinds = np.asarray(kinds, dtype=str)
    rows = exact.get_indexer(np.char.add(np.char.add(kinds, _SEP), np.asarray(keys, dtype=str)))
    pos = default.get_indexer(kinds)
    fallback = np.where(pos >= 0, default_rows[pos], -1)
    return np.where(rows >= 0, rows, fallback)


_SEP = "\x1f"  # joins kind and unit into one lookup key


@cache
def _lookup() -> tuple[pd.Index, pd.Index, np.ndarray]:
    ranges = _ranges()
    exact = pd.Index(ranges["kind"] + _SEP + ranges["unit"])
    counts = ranges["kind"].map(ranges["kind"].value_counts())
    default = np.flatnonzero(((ranges["unit"] == ANY_UNIT) | (counts == 1)).to_numpy())
    return exact, pd.Index(ranges["kind"].to_numpy()[default]), default
