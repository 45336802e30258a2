"""Cross-table checks of a scenario, one function per family of problems.

Each function takes the typed tables (``dict`` name -> DataFrame, as
:func:`optimizer.scenario.table_validation.validate_table` returns them) and their
origins, and returns a list of :class:`~optimizer.errors.Issue`; it returns early when
its tables are absent.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from optimizer.errors import Issue
from optimizer.scenario.schema import (
    FRACTION_PARAMETERS,
    REGION_ATTRIBUTES,
    SECTOR_PARAMETERS,
    expected_unit,
)
from optimizer.scenario.table_validation import Origin

Tables = Mapping[str, pd.DataFrame]
Origins = Mapping[str, Origin]

# Tables whose rows name a region or a sector that must exist.
_REGION_REFS = (
    "region_attributes",
    "demand",
    "buildout",
    "priorities",
    "capacity_tranches",
    "ports",
)
_SECTOR_REFS = (
    "sector_parameters",
    "demand",
    "markets",
    "buildout",
    "priorities",
    "capacity_tranches",
    "priority_counts",
    "export_destinations",
)
_VALUE_TABLES = (
    "sector_parameters",
    "region_attributes",
    "demand",
    "markets",
    "buildout",
    "priorities",
    "capacity_tranches",
    "priority_counts",
    "ports",
    "sea_distances",
    "export_destinations",
)
#: Shares of a sector's exports by destination may add up to 1 within this tolerance.
SHARE_TOLERANCE = 1e-6


def check_references(tables: Tables, origins: Origins) -> list[Issue]:
    """Every region code and sector id used in a table is declared in ``regions``/``sectors``."""
    issues = []
    for ref, home, names in (
        ("region", "regions", _REGION_REFS),
        ("sector", "sectors", _SECTOR_REFS),
    ):
        if home not in tables:
            continue
        known = set(tables[home][ref])
        for name in names:
            if name not in tables:
                continue
            frame, origin = tables[name], origins[name]
            for idx, value in frame.loc[~frame[ref].isin(known), ref].items():
                issues.append(
                    Issue(
                        origin.label,
                        f"unknown {ref} {value!r} (not in {home})",
                        origin.row(idx),
                        ref,
                    )
                )
    return issues


def check_units(tables: Tables, origins: Origins) -> list[Issue]:
    """Each value row's ``unit`` equals the unit its sector or attribute prescribes.

    ``capex`` is in CNY bn per unit of capacity (``CNY bn/(GW/yr)``), ``fixed_om`` adds
    ``/yr``, ``variable_cost`` is per unit of output, ``transport_cost`` per unit of output
    and 1000 km; capacity and output rows use the sector's ``capacity_unit`` and
    ``output_unit``; demand and market rows use ``output_unit``.
    """
    if "sectors" not in tables:
        return []
    units = tables["sectors"].set_index("sector")[["capacity_unit", "output_unit"]]
    units_of = units.to_dict("index")
    # The column that names each row's kind of value, or the kind of every row.
    kind_of = {
        "sector_parameters": "parameter",
        "region_attributes": "attribute",
        "demand": "=demand",
        "markets": "=market",
        "buildout": "variable",
        "capacity_tranches": "=capacity",
    }
    issues = []
    for name, source in kind_of.items():
        if name not in tables or tables[name].empty:
            continue
        frame, origin = tables[name], origins[name]
        kinds = (
            pd.Series(source[1:], index=frame.index) if source.startswith("=") else frame[source]
        )
        # No sector column (region attributes): the unit depends on the kind alone.
        sectors = frame["sector"] if "sector" in frame else pd.Series("", index=frame.index)
        # expected_unit once per distinct (kind, sector), not once per row; a row of an
        # unknown sector (reported by check_references) is not checked.
        pairs = list(zip(kinds, sectors, strict=True))
        wanted = {
            (kind, sector): expected_unit(kind, units_of.get(sector) if sector else None)
            for kind, sector in set(pairs)
            if not sector or sector in units_of
        }
        want = np.array([wanted.get(pair) for pair in pairs], dtype=object)
        have = frame["unit"].to_numpy(dtype=object)
        # By position: a DataFrame from a user may repeat index labels.
        for i in np.flatnonzero(pd.notna(want) & (have != want)):
            issues.append(
                Issue(
                    origin.label,
                    f"unit {have[i]!r} does not match; expected {want[i]!r}",
                    origin.row(frame.index[i]),
                    "unit",
                )
            )
    return issues


def check_provenance(tables: Tables, origins: Origins) -> list[Issue]:
    """Reported and estimated rows cite existing sources; assumed rows carry a note.

    ``source_id`` may list several ids separated by ``;`` (an estimate built from several
    publications).
    """
    known = set(tables["sources"]["source_id"]) if "sources" in tables else None
    issues = []
    for name in (*_VALUE_TABLES, "regions"):
        if name not in tables or tables[name].empty:
            continue
        frame, origin = tables[name], origins[name]
        # Each row's issues in this order: unknown sources (in the order cited), a missing
        # source, a missing note.
        # Rows are handled by position: a DataFrame from a user may repeat index labels.
        found: list[tuple[int, int, Issue]] = []
        plain = frame.reset_index(drop=True)
        ids = _split_ids_column(plain.get("source_id", pd.Series(None, index=plain.index)))
        if known is not None:
            cited = ids.explode().dropna()
            for i, sid in cited[~cited.isin(known)].items():
                message = f"source {sid!r} is not in sources"
                issue = Issue(origin.label, message, origin.row(frame.index[i]), "source_id")
                found.append((i, 0, issue))
        quality = plain["quality"] if "quality" in plain else pd.Series("reported", plain.index)
        no_note = plain["note"].isna() if "note" in plain else pd.Series(True, plain.index)
        for order, (rows, message, column) in enumerate(
            (
                (
                    quality.isin(["reported", "estimated"]) & (ids.str.len() == 0),
                    "a {q} value must cite a source_id",
                    "source_id",
                ),
                (
                    (quality == "estimated") & no_note,
                    "an estimated value must state its method in note",
                    "note",
                ),
                (
                    (quality == "assumed") & no_note,
                    "an assumed value must explain the assumption in note",
                    "note",
                ),
            ),
            start=1,
        ):
            for i in np.flatnonzero(rows.to_numpy()):
                text = message.format(q=quality.iat[i])
                issue = Issue(origin.label, text, origin.row(frame.index[i]), column)
                found.append((i, order, issue))
        issues.extend(issue for *_, issue in sorted(found, key=lambda f: (f[0], f[1])))
    return issues


def check_ranges(tables: Tables, origins: Origins) -> list[Issue]:
    """Shares lie in [0, 1]; asset lives are positive."""
    if "sector_parameters" not in tables:
        return []
    frame, origin = tables["sector_parameters"], origins["sector_parameters"]
    issues = []
    for idx, row in frame.iterrows():
        if row["parameter"] in FRACTION_PARAMETERS and row["value"] > 1:
            issues.append(
                Issue(
                    origin.label,
                    f"{row['parameter']} is a share and must be <= 1 (got {row['value']})",
                    origin.row(idx),
                    "value",
                )
            )
        if row["parameter"] == "asset_life" and row["value"] <= 0:
            issues.append(
                Issue(
                    origin.label,
                    f"asset_life must be > 0 years (got {row['value']})",
                    origin.row(idx),
                    "value",
                )
            )
    return issues


def check_completeness(tables: Tables, origins: Origins) -> list[Issue]:
    """Every sector has every parameter; every planning region has every attribute."""
    issues = []
    if "sectors" in tables and "sector_parameters" in tables:
        have = set(
            zip(
                tables["sector_parameters"]["sector"],
                tables["sector_parameters"]["parameter"],
                strict=True,
            )
        )
        for _idx, sector in tables["sectors"]["sector"].items():
            lacking = [p for p in SECTOR_PARAMETERS if (sector, p) not in have]
            if lacking:
                issues.append(
                    Issue(
                        origins["sector_parameters"].label,
                        f"sector {sector!r} has no row for {', '.join(lacking)}",
                    )
                )
    if "regions" in tables and "region_attributes" in tables:
        attrs = tables["region_attributes"]
        have = set(zip(attrs["region"], attrs["attribute"], strict=True))
        regions = tables["regions"]
        for code in regions.loc[regions["in_national_planning"], "region"]:
            lacking = [a for a in REGION_ATTRIBUTES if (code, a) not in have]
            if lacking:
                issues.append(
                    Issue(
                        origins["region_attributes"].label,
                        f"region {code} takes part in national planning but has "
                        f"no row for {', '.join(lacking)}",
                    )
                )
    return issues


def check_servable(tables: Tables, origins: Origins, base_year: int) -> list[Issue]:
    """A sector with demand must be producible somewhere.

    Demand of sector s (domestic in any region, or export) can be served only if
    ``max_utilisation[s] > 0`` and at least one region takes part in national planning
    (where capacity may be built) or holds observed capacity of s.
    """
    if not {"sectors", "sector_parameters", "regions"} <= set(tables):
        return []
    params = tables["sector_parameters"]
    util = params.loc[params["parameter"] == "max_utilisation"].set_index("sector")["value"]
    regions = tables["regions"]
    planners = set(regions.loc[regions["in_national_planning"], "region"])
    built: set[str] = set()
    if "buildout" in tables:
        b = tables["buildout"]
        built = set(b.loc[(b["variable"] == "capacity") & (b["value"] > 0), "sector"])
    wanted: dict[str, str] = {}
    if "demand" in tables:
        d = tables["demand"]
        for sector in d.loc[(d["value"] > 0) & (d["year"] == base_year), "sector"].unique():
            wanted[sector] = origins["demand"].label
    if "markets" in tables:
        m = tables["markets"]
        sel = (m["market"] == "export") & (m["value"] > 0) & (m["year"] == base_year)
        for sector in m.loc[sel, "sector"].unique():
            wanted.setdefault(sector, origins["markets"].label)
    issues = []
    origin = origins["sector_parameters"]
    util_rows = params.loc[params["parameter"] == "max_utilisation"]
    for sector, label in sorted(wanted.items()):
        if sector not in util.index:
            continue  # reported by check_completeness / check_references
        if util[sector] <= 0:
            idx = util_rows.index[util_rows["sector"] == sector][0]
            issues.append(
                Issue(
                    origin.label,
                    f"sector {sector!r} has demand in {base_year} that no region could ever "
                    "serve: its max_utilisation is 0",
                    origin.row(idx),
                    "value",
                )
            )
        elif not planners and sector not in built:
            issues.append(
                Issue(
                    label,
                    f"sector {sector!r} has demand in {base_year} that no region could ever "
                    "serve: no region takes part in national planning and none has observed "
                    "capacity",
                )
            )
    return issues


def check_base_year(tables: Tables, origins: Origins, base_year: int) -> list[Issue]:
    """The base year has demand and buildout rows (otherwise nothing would be modelled)."""
    issues = []
    for name in ("demand", "buildout"):
        if name not in tables:
            continue
        years = sorted(set(tables[name]["year"]))
        if base_year not in years:
            issues.append(
                Issue(
                    origins[name].label,
                    f"has no rows for base_year {base_year} (years present: "
                    f"{', '.join(map(str, years))}); set base_year in scenario.toml",
                    column="year",
                )
            )
        elif name == "buildout":
            # A year of the published output series alone holds no capacity to evaluate.
            b = tables[name]
            held = sorted(set(b.loc[b["variable"] == "capacity", "year"]))
            if base_year not in held:
                issues.append(
                    Issue(
                        origins[name].label,
                        f"has no capacity rows for base_year {base_year} (years with "
                        f"capacity: {', '.join(map(str, held)) or 'none'}); set base_year "
                        "in scenario.toml",
                        column="year",
                    )
                )
    return issues


def check_tranches(tables: Tables, origins: Origins) -> list[Issue]:
    """Cost tranches of a region and sector are numbered 1, 2, ... and never get cheaper:
    cost_multiplier[k+1] >= cost_multiplier[k], so the cost curve is convex (an LP fills
    the cheapest tranche first)."""
    if "capacity_tranches" not in tables or tables["capacity_tranches"].empty:
        return []
    frame, origin = tables["capacity_tranches"], origins["capacity_tranches"]
    issues = []
    for (region, sector), group in frame.groupby(["region", "sector"], sort=False):
        group = group.sort_values("tranche")
        if list(group["tranche"]) != list(range(1, len(group) + 1)):
            issues.append(
                Issue(
                    origin.label,
                    f"tranches of {region}/{sector} must be numbered 1..{len(group)}",
                    origin.row(group.index[0]),
                    "tranche",
                )
            )
        drops = group["cost_multiplier"].diff() < 0
        for idx in group.index[drops.to_numpy()]:
            issues.append(
                Issue(
                    origin.label,
                    "a later tranche must not be cheaper than the "
                    "one before (cost_multiplier falls)",
                    origin.row(idx),
                    "cost_multiplier",
                )
            )
        unlimited = group["max_capacity"].isna().to_numpy()
        if unlimited[:-1].any():
            idx = group.index[np.flatnonzero(unlimited[:-1])[0]]
            issues.append(
                Issue(
                    origin.label,
                    "only the last tranche may be unlimited (empty max_capacity)",
                    origin.row(idx),
                    "max_capacity",
                )
            )
    return issues


def check_plant_scale(tables: Tables, origins: Origins) -> list[Issue]:
    """A sector's minimum plant scale must not exceed its reference plant size: a plant
    holds at most ``plant_size`` and at least ``min_scale`` (docs/model.md, lumpy plants),
    so ``min_scale > plant_size`` would forbid every new plant."""
    if "sector_parameters" not in tables:  # already reported as unreadable
        return []
    frame, origin = tables["sector_parameters"], origins["sector_parameters"]
    rows = frame.loc[frame["parameter"].isin(["min_scale", "plant_size"])]
    wide = rows.pivot_table(index="sector", columns="parameter", values="value", aggfunc="first")
    if not {"min_scale", "plant_size"} <= set(wide.columns):
        return []
    bad = wide.index[(wide["min_scale"] > wide["plant_size"]).to_numpy()]
    issues = []
    for sector in bad:
        where = rows.index[(rows["sector"] == sector) & (rows["parameter"] == "min_scale")]
        size, least = wide.loc[sector, "plant_size"], wide.loc[sector, "min_scale"]
        issues.append(
            Issue(
                origin.label,
                f"min_scale of {sector} ({least:g}) exceeds its plant_size ({size:g}): "
                "no plant could be built; lower min_scale or raise plant_size",
                origin.row(where[0]),
                "value",
            )
        )
    return issues


def check_ports(tables: Tables, origins: Origins) -> list[Issue]:
    """Export ports: a port lies in a coastal region (exports leave by sea), and all rows
    of a port name the same region and name; a throughput row gives a cargo kind, a
    throughput and its unit (or none of them: the port then has no throughput limit),
    and the rows of one cargo kind and year share one unit (their throughputs are
    compared with each other)."""
    issues: list[Issue] = []
    ports = tables.get("ports")
    if ports is not None and not ports.empty:
        origin = origins["ports"]
        if "regions" in tables:
            coastal = tables["regions"].set_index("region")["coastal"]
            known = ports["region"].isin(coastal.index)
            inland = known & ~ports["region"].map(coastal).fillna(False).astype(bool)
            for i in np.flatnonzero(inland.to_numpy()):
                issues.append(
                    Issue(
                        origin.label,
                        f"port {ports['port'].iat[i]} is in region {ports['region'].iat[i]}, "
                        "which is not coastal (regions.coastal); exports leave by sea",
                        origin.row(ports.index[i]),
                        "region",
                    )
                )
        for column in ("region", "name"):
            first = ports.groupby("port")[column].transform("first")
            for i in np.flatnonzero((ports[column] != first).to_numpy()):
                issues.append(
                    Issue(
                        origin.label,
                        f"port {ports['port'].iat[i]} has another {column} on an earlier "
                        f"row ({first.iat[i]!r}); one port, one {column}",
                        origin.row(ports.index[i]),
                        column,
                    )
                )
        given = ports[["cargo", "throughput", "unit"]].notna()
        partial = given.any(axis=1) & ~given.all(axis=1)
        for i in np.flatnonzero(partial.to_numpy()):
            lacking = [c for c in given.columns if not given[c].iat[i]]
            issues.append(
                Issue(
                    origin.label,
                    "a throughput row needs cargo, throughput and unit (or none of them: "
                    f"no throughput limit); {', '.join(lacking)} is empty",
                    origin.row(ports.index[i]),
                    lacking[0],
                )
            )
        rated = ports.loc[given.all(axis=1)]
        first_unit = rated.groupby(["cargo", "year"])["unit"].transform("first")
        for idx in rated.index[(rated["unit"] != first_unit).to_numpy()]:
            issues.append(
                Issue(
                    origin.label,
                    f"unit {rated.at[idx, 'unit']!r} differs from {first_unit[idx]!r} of "
                    f"another {rated.at[idx, 'cargo']} row of {rated.at[idx, 'year']}; "
                    "throughputs of one cargo kind are compared, so they share one unit",
                    origin.row(idx),
                    "unit",
                )
            )
    return issues


def check_sea_distances(tables: Tables, origins: Origins) -> list[Issue]:
    """Every port of ``sea_distances`` is in ``ports``."""
    issues: list[Issue] = []
    ports, distances = tables.get("ports"), tables.get("sea_distances")
    if distances is not None and not distances.empty and ports is not None:
        origin = origins["sea_distances"]
        for idx in distances.index[~distances["port"].isin(ports["port"]).to_numpy()]:
            issues.append(
                Issue(
                    origin.label,
                    f"unknown port {distances.at[idx, 'port']!r} (not in ports)",
                    origin.row(idx),
                    "port",
                )
            )
    return issues


def check_export_destinations(tables: Tables, origins: Origins) -> list[Issue]:
    """The shares of a sector and year add up to at most 1 (a smaller sum is renormalised
    over the listed destinations); with ports, every port has a distance to every
    destination a sector exports to."""
    issues: list[Issue] = []
    ports, distances = tables.get("ports"), tables.get("sea_distances")
    shares = tables.get("export_destinations")
    if shares is not None and not shares.empty:
        origin = origins["export_destinations"]
        total = shares.groupby(["sector", "year"])["share"].transform("sum")
        last = ~shares.duplicated(["sector", "year"], keep="last")
        for idx in shares.index[((total > 1 + SHARE_TOLERANCE) & last).to_numpy()]:
            issues.append(
                Issue(
                    origin.label,
                    f"the shares of {shares.at[idx, 'sector']} in {shares.at[idx, 'year']} add "
                    f"up to {total[idx]:.6g}, more than 1",
                    origin.row(idx),
                    "share",
                )
            )
        if ports is not None and not ports.empty:
            have = set()
            if distances is not None:
                have = set(zip(distances["port"], distances["destination"], strict=True))
            names = sorted(set(ports["port"]))
            used = shares.loc[shares["share"] > 0]
            for idx, destination in used["destination"].items():
                lacking = [p for p in names if (p, destination) not in have]
                if lacking:
                    listed = ", ".join(lacking[:5]) + (
                        f" (+{len(lacking) - 5} more)" if len(lacking) > 5 else ""
                    )
                    issues.append(
                        Issue(
                            origin.label,
                            f"destination {destination!r} has no sea distance from port(s) "
                            f"{listed} (sea_distances): every port needs a distance to every "
                            "destination a sector exports to",
                            origin.row(idx),
                            "destination",
                        )
                    )
    return issues


def _split_ids_column(column: pd.Series) -> pd.Series:
    """The source ids of each cell (``a;b`` -> ``[a, b]``), an empty list for an empty cell."""
    return column.map(
        lambda value: (
            []
            if value is None or (isinstance(value, float) and pd.isna(value))
            else [part.strip() for part in str(value).split(";") if part.strip()]
        )
    )


def run_checks(tables: Tables, origins: Origins, base_year: int) -> list[Issue]:
    """Run every cross-table check and return all problems found."""
    issues: list[Issue] = []
    for check in (
        check_references,
        check_units,
        check_provenance,
        check_ranges,
        check_completeness,
        check_tranches,
        check_plant_scale,
        check_ports,
        check_sea_distances,
        check_export_destinations,
    ):
        issues.extend(check(tables, origins))
    issues.extend(check_servable(tables, origins, base_year))
    issues.extend(check_base_year(tables, origins, base_year))
    return issues
