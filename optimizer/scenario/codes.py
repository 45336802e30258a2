"""Integer codes of the values of whole columns (a table may have a million rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def pair_codes(first: object, second: object) -> tuple[np.ndarray, list[tuple[object, object]]]:
    """A code per row for the pair of values of two columns, and the distinct pairs.

    Codes number the pairs in order of first appearance (as :func:`pandas.factorize`);
    missing values are values like any other. Faster than factorizing a MultiIndex,
    which builds a tuple per row.

    Examples
    --------
    >>> codes, pairs = pair_codes(["a", "b", "a", "a"], [1, 1, 1, 2])
    >>> codes.tolist(), pairs
    ([0, 1, 0, 2], [('a', 1), ('b', 1), ('a', 2)])
    """
    a_codes, a_values = pd.factorize(_column(first), use_na_sentinel=False)
    b_codes, b_values = pd.factorize(_column(second), use_na_sentinel=False)
    codes, distinct = pd.factorize(a_codes * len(b_values) + b_codes)
    pairs = [(a_values[c // len(b_values)], b_values[c % len(b_values)]) for c in distinct]
    return codes, pairs


def _column(values: object) -> pd.Series | np.ndarray:
    if isinstance(values, (pd.Series, pd.Index, np.ndarray)):
        return values
    return np.asarray(values, dtype=object)
