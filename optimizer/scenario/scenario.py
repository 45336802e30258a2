"""A scenario: the validated tables and parameters the model runs on.

Load one from a folder or TOML file with :func:`load_scenario`, or from DataFrames with
:func:`scenario_from_frames`; both validate everything and raise
:class:`~optimizer.errors.ScenarioError` listing every problem found.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.errors import Issue, ScenarioError
from optimizer.paths import default_data_dir
from optimizer.scenario.consistency import run_checks
from optimizer.scenario.limits import check_parameters
from optimizer.scenario.parameters import ModelParameters
from optimizer.scenario.readers import display_path, read_table, read_toml
from optimizer.scenario.schema import (
    OPTIONAL_REGION_ATTRIBUTES,
    OPTIONAL_TABLES,
    REGION_ATTRIBUTES,
    SPECS,
    TABLE_NAMES,
    empty_table,
)
from optimizer.scenario.table_validation import Origin, validate_table

SCENARIO_FILE = "scenario.toml"
_TOP_LEVEL_KEYS = {"name", "description", "base_year", "tables", "parameters"}
#: A scenario name is one safe path component (it names the folder reports/<name>): a
#: letter or digit (any script), then letters, digits, '_', '-', '.'; at most 64 characters.
_NAME = re.compile(r"[^\W_][\w.\-]{0,63}")


@dataclass(frozen=True)
class Scenario:
    """A validated scenario.

    Each table is a tidy DataFrame with the columns documented in ``data/README.md``;
    values are floats in the unit on their row, years are ints, flags are bools.

    Examples
    --------
    >>> s = load_scenario()
    >>> s.base_year
    2023
    >>> int(s.regions["in_national_planning"].sum())
    31
    """

    name: str
    base_year: int
    regions: pd.DataFrame
    sectors: pd.DataFrame
    sector_parameters: pd.DataFrame
    region_attributes: pd.DataFrame
    demand: pd.DataFrame
    markets: pd.DataFrame
    buildout: pd.DataFrame
    priorities: pd.DataFrame
    sources: pd.DataFrame
    capacity_tranches: pd.DataFrame = field(
        default_factory=lambda: empty_table("capacity_tranches")
    )
    priority_counts: pd.DataFrame = field(default_factory=lambda: empty_table("priority_counts"))
    ports: pd.DataFrame = field(default_factory=lambda: empty_table("ports"))
    sea_distances: pd.DataFrame = field(default_factory=lambda: empty_table("sea_distances"))
    export_destinations: pd.DataFrame = field(
        default_factory=lambda: empty_table("export_destinations")
    )
    parameters: ModelParameters = field(default_factory=ModelParameters)
    description: str = ""
    origin: str | None = None
    #: The files the scenario was read from (TOML and tables); outputs never replace them.
    inputs: tuple[Path, ...] = field(default=(), repr=False, compare=False)
    #: Values outside their plausible range (see ``data/README.md``), each located like
    #: an error; the scenario is valid, but each deserves a second look. Past the first
    #: 10,000 of a kind, a :class:`~optimizer.errors.MoreIssues` counts the rest
    #: (:func:`~optimizer.errors.count_issues` counts them all).
    warnings: tuple[Issue, ...] = field(default=(), compare=False, repr=False)

    # -- tables -----------------------------------------------------------------------
    def tables(self) -> dict[str, pd.DataFrame]:
        """All tables by name, in schema order."""
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def with_parameters(self, **changes: Any) -> Scenario:
        """Return a copy with some model parameters changed (validated).

        Examples
        --------
        >>> load_scenario().with_parameters(debt_weight=0.5).parameters.debt_weight
        0.5
        """
        merged = {**self.parameters.__dict__, **changes}
        params, issues = ModelParameters.from_mapping(merged, source="with_parameters()")
        warnings: list[Issue] = []
        if params is not None:
            refused, warnings = check_parameters(params, "with_parameters()")
            issues.extend(refused)
        if issues:
            raise ScenarioError(issues)
        # Warnings about the old parameters no longer apply.
        kept = [w for w in self.warnings if not (w.column or "").startswith("parameters.")]
        return replace(self, parameters=params, warnings=(*kept, *warnings))

    # -- views the model and summaries use ---------------------------------------------
    @property
    def planning_regions(self) -> pd.Index:
        """Codes of the regions that take part in national industrial planning."""
        r = self.regions
        return pd.Index(r.loc[r["in_national_planning"], "region"], name="region")

    def sector_table(self) -> pd.DataFrame:
        """Sectors with one column per parameter (values in the units of ``sectors``)."""
        wide = self.sector_parameters.pivot(index="sector", columns="parameter", values="value")
        wide.columns.name = None
        return self.sectors.set_index("sector").join(wide)

    def region_table(self) -> pd.DataFrame:
        """Regions with one column per attribute (gdp in CNY bn, financing_rate in 1/yr...).

        Every attribute the schema declares has a column, NaN where a region has no row
        (a scenario without any ``fiscal_capacity`` row still has the column). An attribute
        with rows for several years (the shipped GDP series 2015-2024) takes the base
        year's row, else the latest earlier year's (a rate stays in force until a newer one
        is published), else the earliest later one.
        """
        ra = self.region_attributes
        # Rank each row by its distance from the base year; earlier years win ties.
        offset = ra["year"] - self.base_year
        rank = offset.abs() * 2 + (offset > 0)
        chosen = ra.assign(_rank=rank).sort_values("_rank", kind="stable")
        chosen = chosen.drop_duplicates(["region", "attribute"])
        wide = chosen.pivot(index="region", columns="attribute", values="value")
        attributes = [*REGION_ATTRIBUTES, *OPTIONAL_REGION_ATTRIBUTES]
        wide = wide.reindex(columns=[*attributes, *(c for c in wide if c not in attributes)])
        wide.columns.name = None
        return self.regions.set_index("region").join(wide)

    def observed(self, variable: str = "capacity", year: int | None = None) -> pd.Series:
        """Observed capacity or output by (region, sector) for a year (default: base year)."""
        b = self.buildout
        sel = (b["variable"] == variable) & (b["year"] == (year or self.base_year))
        return b.loc[sel].set_index(["region", "sector"])["value"].rename(variable)

    def domestic_demand(self, year: int | None = None) -> pd.Series:
        """Domestic absorption by (region, sector) for a year (default: base year)."""
        d = self.demand
        sel = d["year"] == (year or self.base_year)
        return d.loc[sel].set_index(["region", "sector"])["value"].rename("demand")

    def market(self, market: str = "export", year: int | None = None) -> pd.Series:
        """Export absorption or global demand by sector for a year (default: base year)."""
        m = self.markets
        sel = (m["market"] == market) & (m["year"] == (year or self.base_year))
        return m.loc[sel].set_index("sector")["value"].rename(market)

    def fingerprint(self) -> str:
        """SHA-256 of the tables, base year and parameters (not the name): equal data give
        equal hashes."""
        digest = hashlib.sha256()
        digest.update(f"{self.base_year}|{self.parameters}".encode())
        for name, frame in self.tables().items():
            digest.update(name.encode())
            digest.update(frame.to_csv(index=False, lineterminator="\n").encode())
        return digest.hexdigest()


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Load and validate a scenario from a folder or its TOML file.

    Parameters
    ----------
    path
        A folder holding ``scenario.toml``, or the TOML file itself. ``None`` loads the
        shipped default dataset.

    Raises
    ------
    ScenarioError
        With every problem found, each naming its file, row and column.

    Examples
    --------
    >>> s = load_scenario()
    >>> sorted(s.sectors["sector"])[:2]
    ['aluminium', 'cement']
    """
    path = Path(path) if path is not None else default_data_dir()
    toml_path = path / SCENARIO_FILE if path.is_dir() else path
    if not toml_path.exists():
        raise ScenarioError([Issue(display_path(toml_path), "scenario file not found")])
    config, issues = read_toml(toml_path)
    if config is None:
        raise ScenarioError(issues)
    label = display_path(toml_path)
    issues = _check_config(config, label)
    listed = config.get("tables", {}) if isinstance(config.get("tables", {}), dict) else {}
    frames: dict[str, pd.DataFrame] = {}
    origins: dict[str, Origin] = {}
    files = [toml_path]
    for name in TABLE_NAMES:
        file = toml_path.parent / str(listed.get(name, f"{name}.csv"))
        if name in OPTIONAL_TABLES and name not in listed and not file.exists():
            continue
        files.append(file)
        frame, read_issues = read_table(file)
        issues.extend(read_issues)
        if frame is not None:
            frames[name] = frame
            # The Origin keeps the line numbers; left in attrs, pandas would deep-copy them
            # on every operation on the table (most of the loading time).
            origins[name] = Origin(display_path(file), frame.attrs.pop("lines", None))
    for name in sorted(set(listed) - set(TABLE_NAMES)):
        issues.append(
            Issue(
                label, f"unknown table (known: {', '.join(TABLE_NAMES)})", column=f"tables.{name}"
            )
        )
    return replace(_build(config, frames, origins, issues, label), inputs=tuple(files))


def scenario_from_frames(
    *,
    base_year: int,
    name: str = "in-memory",
    parameters: Mapping[str, Any] | ModelParameters | None = None,
    description: str = "",
    **tables: pd.DataFrame,
) -> Scenario:
    """Build and validate a scenario from DataFrames (the way policy models call dupopt).

    Parameters
    ----------
    base_year
        The year whose demand and buildout the model uses.
    parameters
        Model parameters as a mapping or :class:`ModelParameters`.
    **tables
        One DataFrame per table: ``regions``, ``sectors``, ``sector_parameters``,
        ``region_attributes``, ``demand``, ``markets``, ``buildout``, ``priorities``,
        ``sources``.

    Examples
    --------
    >>> s = load_scenario()
    >>> demand = s.demand.assign(value=s.demand["value"] * 1.1)
    >>> s2 = scenario_from_frames(base_year=2023, **{**s.tables(), "demand": demand})
    >>> round(float(s2.demand["value"].sum() / s.demand["value"].sum()), 3)
    1.1
    """
    issues = [
        Issue("scenario_from_frames()", "unknown table", column=n)
        for n in sorted(set(tables) - set(TABLE_NAMES))
    ]
    frames, origins = {}, {}
    for table in TABLE_NAMES:
        if table not in tables and table in OPTIONAL_TABLES:
            continue
        if table not in tables:
            issues.append(
                Issue("scenario_from_frames()", "required table is missing", column=table)
            )
            continue
        if not isinstance(tables[table], pd.DataFrame):
            issues.append(
                Issue("scenario_from_frames()", "must be a pandas DataFrame", column=table)
            )
            continue
        frames[table] = tables[table]
        origins[table] = Origin(f"{table} (DataFrame)")
    if isinstance(parameters, ModelParameters):
        parameters = dict(parameters.__dict__)
    config = {
        "name": name,
        "base_year": base_year,
        "description": description,
        "parameters": dict(parameters or {}),
    }
    issues.extend(_check_config(config, "scenario_from_frames()"))
    return _build(config, frames, origins, issues, "scenario_from_frames()")


def _check_config(config: Mapping[str, Any], label: str) -> list[Issue]:
    issues = []
    for key in sorted(set(config) - _TOP_LEVEL_KEYS):
        issues.append(
            Issue(label, f"unknown key (known: {', '.join(sorted(_TOP_LEVEL_KEYS))})", column=key)
        )
    year = config.get("base_year")
    if year is None:
        issues.append(
            Issue(label, "base_year is required (e.g. base_year = 2023)", column="base_year")
        )
    elif isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= 2100:
        issues.append(
            Issue(label, f"base_year must be a year 1990-2100, got {year!r}", column="base_year")
        )
    for key, kind in (("tables", dict), ("parameters", dict), ("name", str), ("description", str)):
        if key in config and not isinstance(config[key], kind):
            issues.append(
                Issue(label, f"must be a {'table' if kind is dict else 'string'}", column=key)
            )
    name = config.get("name")
    if isinstance(name, str) and not _NAME.fullmatch(name):
        issues.append(
            Issue(
                label,
                "must be one simple name: a letter or digit, then letters, digits, '_', '-' "
                f"or '.', at most 64 characters (it names the output folder); got {name!r}",
                column="name",
            )
        )
    return issues


def _build(
    config: Mapping[str, Any],
    frames: dict[str, pd.DataFrame],
    origins: dict[str, Origin],
    issues: list[Issue],
    label: str,
) -> Scenario:
    params_raw = config.get("parameters", {})
    params, param_issues = ModelParameters.from_mapping(
        params_raw if isinstance(params_raw, Mapping) else {}, source=label
    )
    issues.extend(param_issues)
    warnings: list[Issue] = []
    if params is not None:
        refused, warnings = check_parameters(params, label)
        issues.extend(refused)
    typed: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        table, table_issues, table_warnings = validate_table(SPECS[name], frame, origins[name])
        issues.extend(table_issues)
        warnings.extend(table_warnings)
        if table is not None:
            typed[name] = table
    base_year = config.get("base_year")
    if isinstance(base_year, int):
        issues.extend(run_checks(typed, origins, base_year))
    if issues:
        raise ScenarioError(issues)
    return Scenario(
        name=str(config.get("name", "scenario")),
        base_year=int(base_year),  # type: ignore[arg-type]
        parameters=params or ModelParameters(),
        description=str(config.get("description", "")),
        origin=label,
        warnings=tuple(warnings),
        **{name: typed[name].reset_index(drop=True) for name in TABLE_NAMES if name in typed},
    )
