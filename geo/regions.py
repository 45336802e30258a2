"""The 34 provincial-level divisions, keyed by their GB/T 2260 code.

Read from the shipped ``regions.csv`` so that the region list has one source of truth.
"""

from __future__ import annotations

import csv

from optimizer.paths import default_data_dir


def _read_regions() -> list[dict[str, str]]:
    with open(default_data_dir() / "regions.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


_ROWS = _read_regions()

#: English names of the 34 provincial-level divisions, keyed by 6-character GB/T 2260 code.
REGION_NAMES: dict[str, str] = {row["region"]: row["name_en"] for row in _ROWS}

#: All 34 codes, sorted.
REGIONS: tuple[str, ...] = tuple(sorted(REGION_NAMES))

#: Taiwan, Hong Kong and Macau: outside national industrial planning.
NON_MAINLAND: frozenset[str] = frozenset(
    row["region"] for row in _ROWS if row["in_national_planning"].lower() != "true"
)

#: The 31 mainland provincial-level divisions (Hainan included).
MAINLAND_REGIONS: tuple[str, ...] = tuple(c for c in REGIONS if c not in NON_MAINLAND)
