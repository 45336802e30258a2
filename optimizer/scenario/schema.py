"""The public schema of a scenario: one table spec per table, with its pandera schema.

Every table is long and tidy; value tables carry their unit and provenance on each row
(``source_id``, ``quality``, ``note``), so any number can be traced to a publisher or to a
written assumption. ``data/README.md`` documents the same schema for users.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

QUALITY_FLAGS = ("reported", "estimated", "assumed")
REGION_KINDS = ("province", "autonomous_region", "municipality", "sar")
MACRO_REGIONS = ("east", "central", "west", "northeast", "none")
#: What a priority flag rests on (``priorities.basis``): the region's own document naming
#: the sector, or only an umbrella term it stands under ("new energy" for PV), or the
#: sector's absence from a plan's full list of key fields; or, where no provincial
#: document was found, a national count alone (``priority_counts``).
PRIORITY_BASES = ("provincial document", "umbrella term", "plan list", "national count only")
SECTOR_PARAMETERS = (
    "capex",
    "fixed_om",
    "variable_cost",
    "asset_life",
    "max_utilisation",
    "transport_cost",
    "debt_share",
)
# Optional, used when min_plant_scale (lumpy plants) is switched on: minimum efficient
# plant scale, reference plant size and the scale exponent of plant capex.
OPTIONAL_SECTOR_PARAMETERS = (
    "min_scale",
    "plant_size",
    "scale_exponent",
    # Input intensities, priced by the regional electricity_price and wage.
    "electricity_intensity",
    "labour_intensity",
    # Sea freight per output unit and 1000 km at sea (exports through ports).
    "sea_freight_cost",
)
REGION_ATTRIBUTES = ("gdp", "financing_rate", "fiscal_capacity", "cost_factor")
OPTIONAL_REGION_ATTRIBUTES = ("electricity_price", "wage")
BUILDOUT_VARIABLES = ("capacity", "output", "plants")
#: ``export`` is what the model absorbs abroad; the others are reference figures for the
#: ``data check`` headline ratios, never read by the model: ``global`` (world demand),
#: ``global_alt`` (world demand on another basis, e.g. AC where ``global`` is DC),
#: ``domestic_alt`` (China's demand on another basis than ``demand.csv``) and
#: ``output_outside_global_scope`` (the part of China's output outside the scope of the
#: ``global`` figure, e.g. consumer cells against EV and storage demand).
MARKETS = ("export", "global", "global_alt", "domestic_alt", "output_outside_global_scope")
#: How a sector's exports travel by sea (``sectors.cargo``) and the cargo kinds whose
#: throughput a port may report (``ports.cargo``).
CARGO_KINDS = ("container", "bulk", "roro")
# Parameters that are shares of something: must lie in [0, 1].
FRACTION_PARAMETERS = ("max_utilisation", "debt_share")

_CODE = r"^\d{6}$"
_SLUG = r"^[a-z][a-z0-9_]*$"


@dataclass(frozen=True)
class TableSpec:
    """What one scenario table must look like.

    ``numeric`` and ``boolean`` columns are parsed before the schema runs, so that a
    non-number is reported once, as such, at its row.
    """

    name: str
    key: tuple[str, ...]
    schema: pa.DataFrameSchema
    numeric: tuple[str, ...] = ()
    integer: tuple[str, ...] = ()
    boolean: tuple[str, ...] = ()
    provenance: bool = True
    required: bool = True
    description: str = ""
    columns: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.schema.columns))


def _text(*checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(str, checks=list(checks), nullable=nullable)


def _one_of(values: tuple[str, ...]) -> pa.Check:
    return pa.Check.isin(list(values), error=f"must be one of {', '.join(values)}")


def _matches(pattern: str, what: str) -> pa.Check:
    return pa.Check.str_matches(pattern, error=f"must be {what}")


_NON_NEGATIVE = pa.Check.ge(0, error="must be >= 0")
_FINITE = pa.Check(lambda s: np.isfinite(s), element_wise=False, error="must be finite")


def _quantity() -> pa.Column:
    return pa.Column(float, checks=[_FINITE, _NON_NEGATIVE], nullable=False)


def _publication_year() -> pa.Column:
    """A source's year: the literature a figure rests on may be older than the data."""
    return pa.Column(
        float, checks=[pa.Check.in_range(1900, 2100, error="must be a year 1900-2100")]
    )


def _year() -> pa.Column:
    return pa.Column(
        float, checks=[pa.Check.in_range(1990, 2100, error="must be a year 1990-2100")]
    )


_REGION = _text(_matches(_CODE, "a 6-digit GB/T 2260 code such as 110000"))
#: A UN/LOCODE: two-letter country code and three letters or digits 2-9 (CNSHA).
_LOCODE = _text(_matches(r"^[A-Z]{2}[A-Z2-9]{3}$", "a UN/LOCODE such as CNSHA"))
_SECTOR = _text(_matches(_SLUG, "a lower-case identifier such as solar_pv"))
_PROVENANCE = {
    "source_id": _text(nullable=True),
    "quality": _text(_one_of(QUALITY_FLAGS)),
    "note": _text(nullable=True),
}


def _schema(columns: dict[str, pa.Column], key: tuple[str, ...], provenance: bool = True):
    cols = dict(columns)
    if provenance:
        cols.update(_PROVENANCE)
    return pa.DataFrameSchema(
        cols,
        unique=list(key),
        report_duplicates="all",
        strict=False,
        name=None,
    )


SPECS: dict[str, TableSpec] = {
    spec.name: spec
    for spec in [
        TableSpec(
            "regions",
            key=("region",),
            schema=_schema(
                {
                    "region": _REGION,
                    "iso_code": _text(_matches(r"^CN-[A-Z]{2}$", "an ISO 3166-2 code like CN-BJ")),
                    "name_en": _text(),
                    "name_zh": _text(),
                    "kind": _text(_one_of(REGION_KINDS)),
                    "macro_region": _text(_one_of(MACRO_REGIONS)),
                    "in_national_planning": pa.Column(bool),
                    "coastal": pa.Column(bool),
                    "source_id": _text(nullable=True),
                },
                ("region",),
                provenance=False,
            ),
            boolean=("in_national_planning", "coastal"),
            provenance=False,
            description="The provincial-level divisions.",
        ),
        TableSpec(
            "sectors",
            key=("sector",),
            schema=_schema(
                {
                    "sector": _SECTOR,
                    "name": _text(),
                    "capacity_unit": _text(
                        _matches(r"^\S.*/yr$", "a rate per year such as 'GW/yr'")
                    ),
                    "output_unit": _text(),
                    # Optional: how exports travel by sea (matches ports.cargo).
                    "cargo": pa.Column(
                        str, checks=[_one_of(CARGO_KINDS)], nullable=True, required=False
                    ),
                },
                ("sector",),
                provenance=False,
            ),
            provenance=False,
            description="Priority industries and their units.",
        ),
        TableSpec(
            "sector_parameters",
            key=("sector", "parameter"),
            schema=_schema(
                {
                    "sector": _SECTOR,
                    "parameter": _text(_one_of(SECTOR_PARAMETERS + OPTIONAL_SECTOR_PARAMETERS)),
                    "value": _quantity(),
                    "unit": _text(),
                },
                ("sector", "parameter"),
            ),
            numeric=("value",),
            description="Techno-economic parameters per sector.",
        ),
        TableSpec(
            "region_attributes",
            key=("region", "attribute", "year"),
            schema=_schema(
                {
                    "region": _REGION,
                    "attribute": _text(_one_of(REGION_ATTRIBUTES + OPTIONAL_REGION_ATTRIBUTES)),
                    "year": _year(),
                    "value": _quantity(),
                    "unit": _text(),
                },
                ("region", "attribute", "year"),
            ),
            numeric=("year", "value"),
            integer=("year",),
            description="GDP, financing cost, fiscal capacity and cost factors per region.",
        ),
        TableSpec(
            "demand",
            key=("region", "sector", "year"),
            schema=_schema(
                {
                    "region": _REGION,
                    "sector": _SECTOR,
                    "year": _year(),
                    "value": _quantity(),
                    "unit": _text(),
                },
                ("region", "sector", "year"),
            ),
            numeric=("year", "value"),
            integer=("year",),
            description="Domestic absorption by region and sector.",
        ),
        TableSpec(
            "markets",
            key=("sector", "year", "market"),
            schema=_schema(
                {
                    "sector": _SECTOR,
                    "year": _year(),
                    "market": _text(_one_of(MARKETS)),
                    "value": _quantity(),
                    "unit": _text(),
                    # Optional free text: what the figure counts (DC, AC, EV+storage).
                    "basis": pa.Column(str, nullable=True, required=False),
                },
                ("sector", "year", "market"),
            ),
            numeric=("year", "value"),
            integer=("year",),
            description="Export absorption and global demand by sector.",
        ),
        TableSpec(
            "buildout",
            key=("region", "sector", "year", "variable"),
            schema=_schema(
                {
                    "region": _REGION,
                    "sector": _SECTOR,
                    "year": _year(),
                    "variable": _text(_one_of(BUILDOUT_VARIABLES)),
                    "value": _quantity(),
                    "unit": _text(),
                },
                ("region", "sector", "year", "variable"),
            ),
            numeric=("year", "value"),
            integer=("year",),
            description="Observed, uncoordinated capacity and output by region and sector.",
        ),
        TableSpec(
            "priorities",
            key=("region", "sector", "period"),
            schema=_schema(
                {
                    "region": _REGION,
                    "sector": _SECTOR,
                    "period": _text(),
                    "designated": pa.Column(bool),
                    # Optional (older scenario files have none).
                    "basis": pa.Column(
                        str, checks=[_one_of(PRIORITY_BASES)], nullable=False, required=False
                    ),
                },
                ("region", "sector", "period"),
            ),
            boolean=("designated",),
            description="Whether a region designated a sector a priority industry.",
        ),
        TableSpec(
            "priority_counts",
            key=("sector", "period"),
            schema=_schema(
                {
                    "sector": _SECTOR,
                    "period": _text(),
                    "designated": pa.Column(float, checks=[_NON_NEGATIVE]),
                    "regions": pa.Column(
                        float, checks=[pa.Check.ge(1, error="must be a whole number >= 1")]
                    ),
                },
                ("sector", "period"),
            ),
            numeric=("designated", "regions"),
            integer=("designated", "regions"),
            required=False,
            description="Optional national counts of regions designating a sector a "
            "priority in a plan period (a count that names no regions).",
        ),
        TableSpec(
            "capacity_tranches",
            key=("region", "sector", "tranche"),
            schema=_schema(
                {
                    "region": _REGION,
                    "sector": _SECTOR,
                    "tranche": pa.Column(
                        float, checks=[pa.Check.ge(1, error="must be a whole number >= 1")]
                    ),
                    "max_capacity": pa.Column(float, checks=[_NON_NEGATIVE], nullable=True),
                    "cost_multiplier": _quantity(),
                    "unit": _text(),
                },
                ("region", "sector", "tranche"),
            ),
            numeric=("tranche", "max_capacity", "cost_multiplier"),
            integer=("tranche",),
            required=False,
            description="Optional regional capacity limits and piecewise-linear cost tranches.",
        ),
        TableSpec(
            "ports",
            key=("port", "cargo", "year"),
            schema=_schema(
                {
                    "port": _LOCODE,
                    "name": _text(),
                    "region": _REGION,
                    "year": _year(),
                    # A port without a cargo (and throughput) has no throughput limit.
                    "cargo": _text(_one_of(CARGO_KINDS), nullable=True),
                    "throughput": pa.Column(float, checks=[_FINITE, _NON_NEGATIVE], nullable=True),
                    "unit": _text(nullable=True),
                },
                ("port", "cargo", "year"),
            ),
            numeric=("year", "throughput"),
            integer=("year",),
            required=False,
            description="Optional export ports (UN/LOCODE) in coastal regions, with their "
            "throughput by cargo kind (relative weights of the port limit).",
        ),
        TableSpec(
            "sea_distances",
            key=("port", "destination"),
            schema=_schema(
                {
                    "port": _LOCODE,
                    "destination": _text(),
                    "distance_km": pa.Column(
                        float,
                        checks=[_FINITE, pa.Check.gt(0, error="must be > 0")],
                        nullable=False,
                    ),
                },
                ("port", "destination"),
            ),
            numeric=("distance_km",),
            required=False,
            description="Optional sea distances from each port to export destinations (km).",
        ),
        TableSpec(
            "export_destinations",
            key=("sector", "year", "destination"),
            schema=_schema(
                {
                    "sector": _SECTOR,
                    "year": _year(),
                    "destination": _text(),
                    "share": pa.Column(
                        float,
                        checks=[pa.Check.in_range(0, 1, error="must be a share in [0, 1]")],
                        nullable=False,
                    ),
                },
                ("sector", "year", "destination"),
            ),
            numeric=("year", "share"),
            integer=("year",),
            required=False,
            description="Optional shares of a sector's exports by destination market.",
        ),
        TableSpec(
            "sources",
            key=("source_id",),
            schema=_schema(
                {
                    "source_id": _text(
                        _matches(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", "an id without spaces")
                    ),
                    "publisher": _text(),
                    "title": _text(),
                    "year": _publication_year(),
                    "location": _text(),
                    "note": _text(nullable=True),
                },
                ("source_id",),
                provenance=False,
            ),
            numeric=("year",),
            integer=("year",),
            provenance=False,
            description="Publications every value row cites.",
        ),
    ]
}

TABLE_NAMES: tuple[str, ...] = tuple(SPECS)


def empty_table(name: str) -> pd.DataFrame:
    """An empty table with the typed columns of ``name`` (for optional tables left out)."""
    spec = SPECS[name]
    dtypes = {
        c: "int64"
        if c in spec.integer
        else "float64"
        if c in spec.numeric
        else "bool"
        if c in spec.boolean
        else "object"
        for c in spec.columns
    }
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in dtypes.items()})


#: Tables a scenario may leave out; they are then empty.
OPTIONAL_TABLES: tuple[str, ...] = tuple(n for n, s in SPECS.items() if not s.required)


def expected_unit(kind: str, sector_units: dict[str, str] | None = None) -> str | None:
    """Return the unit a value row must carry, or None where any unit is accepted.

    ``kind`` is a sector parameter (``capex``), a region attribute (``gdp``), or one of
    ``capacity``, ``output``, ``demand``, ``market`` for quantities of a sector whose
    ``capacity_unit`` and ``output_unit`` are given in ``sector_units``.

    Examples
    --------
    >>> expected_unit("capex", {"capacity_unit": "GW/yr", "output_unit": "GW"})
    'CNY bn/(GW/yr)'
    >>> expected_unit("gdp")
    'CNY bn'
    """
    fixed = {
        "asset_life": "yr",
        "max_utilisation": "fraction",
        "debt_share": "fraction",
        "gdp": "CNY bn",
        "financing_rate": "1/yr",
        "fiscal_capacity": "CNY bn/yr",
        "cost_factor": "index",
        "electricity_price": "CNY/kWh",
        "wage": "CNY k/yr",
        "scale_exponent": "dimensionless",
        "plants": "plants",
    }
    if kind in fixed:
        return fixed[kind]
    if sector_units is None:
        return None
    cap, out = sector_units["capacity_unit"], sector_units["output_unit"]
    per_sector = {
        "capex": f"CNY bn/({cap})",
        "fixed_om": f"CNY bn/({cap})/yr",
        "variable_cost": f"CNY bn/{out}",
        "transport_cost": f"CNY bn/{out}/1000km",
        "capacity": cap,
        "min_scale": cap,
        "plant_size": cap,
        "electricity_intensity": f"GWh/{out}",
        "sea_freight_cost": f"CNY bn/{out}/1000km",
        "labour_intensity": f"k person-years/{out}",
        "output": out,
        "demand": out,
        "market": out,
    }
    return per_sector.get(kind)
