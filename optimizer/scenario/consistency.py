"""Cross-table checks of a scenario, one function per family of problems.

Each function takes the typed tables (``dict`` name -> DataFrame, as
:func:`optimizer.scenario.table_validation.validate_table` returns them) and their
origins, and returns a list of :class:`~optimizer.errors.Issue`; it returns early when
its tables are absent.

Every check works on whole columns (a table may have a million rows) and lists at most
:data:`~optimizer.errors.KEPT` problems of a kind one by one, counting the rest
(:meth:`~optimizer.scenario.table_validation.Origin.issues`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from optimizer.errors import Issue
from optimizer.scenario.codes import pair_codes
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
        known = tables[home][ref].unique()
        for name in names:
            if name not in tables:
                continue
            frame, origin = tables[name], origins[name]
            values = frame[ref]
            issues += origin.issues(
                frame.index,
                np.flatnonzero(~values.isin(known).to_numpy()),
                ref,
                lambda p, v=values, r=ref, h=home: f"unknown {r} {v.iat[p]!r} (not in {h})",
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
        n = len(frame)
        kinds = np.full(n, source[1:], dtype=object) if source[0] == "=" else frame[source]
        # No sector column (region attributes): the unit depends on the kind alone.
        sectors = frame["sector"] if "sector" in frame else np.full(n, "", dtype=object)
        # expected_unit once per distinct (kind, sector), not once per row; a row of an
        # unknown sector (reported by check_references) is not checked.
        codes, pairs = pair_codes(kinds, sectors)
        wanted = np.array(
            [
                expected_unit(kind, units_of.get(sector) if sector else None)
                if not sector or sector in units_of
                else None
                for kind, sector in pairs
            ],
            dtype=object,
        )
        unit_codes, unit_names = pd.factorize(frame["unit"])
        # Rows by position: a DataFrame from a user may repeat index labels.
        want_code = unit_names.get_indexer(wanted)  # -1: no row has the expected unit
        checked = pd.notna(wanted)[codes]
        positions = np.flatnonzero(checked & (unit_codes != want_code[codes]))
        issues += origin.issues(
            frame.index,
            positions,
            "unit",
            lambda p, have=unit_names, h=unit_codes, w=codes, want=wanted: (
                f"unit {have[h[p]]!r} does not match; expected {want[w[p]]!r}"
            ),
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
        n = len(frame)
        # Each distinct source_id cell is split once; code -1 (an empty cell) takes the
        # last entry, no ids.
        cells = frame["source_id"] if "source_id" in frame else pd.Series(np.nan, frame.index)
        codes, distinct = pd.factorize(cells)
        ids = [_split_ids(value) for value in distinct] + [[]]
        unknown = [
            [i for i in cited if i not in known] if known is not None else [] for cited in ids
        ]
        cites = np.array([len(cited) for cited in ids])[codes]
        quality = (
            frame["quality"]
            if "quality" in frame
            else pd.Series("reported", index=frame.index, dtype=object)
        )
        no_note = frame["note"].isna().to_numpy() if "note" in frame else np.ones(n, bool)
        # Each row's issues in this order: unknown sources (in the order cited), a missing
        # source, a missing note. Rows are handled by position: a DataFrame from a user
        # may repeat index labels.
        per_row = np.array([len(u) for u in unknown])[codes]
        rows0 = np.repeat(np.arange(n), per_row)
        cited_at = np.arange(len(rows0)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
        found = [
            (rows0, cited_at),
            (
                np.flatnonzero(quality.isin(["reported", "estimated"]).to_numpy() & (cites == 0)),
                None,
            ),
            (np.flatnonzero((quality == "estimated").to_numpy() & no_note), None),
            (np.flatnonzero((quality == "assumed").to_numpy() & no_note), None),
        ]
        rows = np.concatenate([r for r, _ in found])
        kind = np.concatenate([np.full(len(r), k) for k, (r, _) in enumerate(found)])
        nth = np.concatenate([c if c is not None else np.zeros(len(r), int) for r, c in found])
        order = np.lexsort((nth, kind, rows))
        rows, kind, nth = rows[order], kind[order], nth[order]

        def message(
            j: int, rows=rows, kind=kind, nth=nth, codes=codes, quality=quality, unknown=unknown
        ) -> str:
            p = rows[j]
            if kind[j] == 0:
                return f"source {unknown[codes[p]][nth[j]]!r} is not in sources"
            if kind[j] == 1:
                return f"a {quality.iat[p]} value must cite a source_id"
            if kind[j] == 2:
                return "an estimated value must state its method in note"
            return "an assumed value must explain the assumption in note"

        issues += origin.items(
            frame.index,
            rows,
            lambda j, kind=kind: "source_id" if kind[j] < 2 else "note",
            message,
            # "a reported ..." and "a estimated ..." are two kinds
            keys=np.where(kind == 1, quality.iloc[rows].to_numpy(dtype=object), kind.astype(str)),
        )
    return issues


def check_ranges(tables: Tables, origins: Origins) -> list[Issue]:
    """Shares lie in [0, 1]; asset lives are positive."""
    if "sector_parameters" not in tables:
        return []
    frame, origin = tables["sector_parameters"], origins["sector_parameters"]
    parameter, value = frame["parameter"], frame["value"]
    share = (parameter.isin(FRACTION_PARAMETERS) & (value > 1)).to_numpy()
    life = ((parameter == "asset_life") & (value <= 0)).to_numpy()

    def message(p: int) -> str:
        if share[p]:
            return f"{parameter.iat[p]} is a share and must be <= 1 (got {value.iat[p]})"
        return f"asset_life must be > 0 years (got {value.iat[p]})"

    positions = np.flatnonzero(share | life)
    return origin.issues(
        frame.index, positions, "value", message, keys=parameter.to_numpy(dtype=object)[positions]
    )


def check_completeness(tables: Tables, origins: Origins) -> list[Issue]:
    """Every sector has every parameter; every planning region has every attribute."""
    issues = []
    if "sectors" in tables and "sector_parameters" in tables:
        params = tables["sector_parameters"]
        lacking = _lacking(tables["sectors"]["sector"], SECTOR_PARAMETERS, params, "parameter")
        issues += [
            Issue(
                origins["sector_parameters"].label,
                f"sector {sector!r} has no row for {', '.join(names)}",
            )
            for sector, names in lacking
        ]
    if "regions" in tables and "region_attributes" in tables:
        regions = tables["regions"]
        planning = regions.loc[regions["in_national_planning"], "region"]
        attrs = tables["region_attributes"]
        issues += [
            Issue(
                origins["region_attributes"].label,
                f"region {code} takes part in national planning but has "
                f"no row for {', '.join(names)}",
            )
            for code, names in _lacking(planning, REGION_ATTRIBUTES, attrs, "attribute")
        ]
    return issues


def _lacking(
    owners: pd.Series, names: tuple[str, ...], rows: pd.DataFrame, column: str
) -> list[tuple[str, list[str]]]:
    """Each owner (sector, region) without a row for some of ``names`` in ``rows``, in the
    order of ``owners``, with those names in the order given."""
    owner = owners.name
    wanted = pd.MultiIndex.from_product([owners.to_numpy(), list(names)])
    have = pd.MultiIndex.from_arrays([rows[owner].to_numpy(), rows[column].to_numpy()])
    absent = ~wanted.isin(have).reshape(len(owners), len(names))
    return [
        (code, [n for n, gone in zip(names, row, strict=True) if gone])
        for code, row in zip(owners, absent, strict=True)
        if row.any()
    ]


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
        years = np.unique(tables[name]["year"].to_numpy())
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
    # Rows by group (region and sector, in order of appearance), then tranche.
    group, names = pair_codes(frame["region"], frame["sector"])
    tranche = frame["tranche"].to_numpy()
    order = np.lexsort((tranche, group))
    g, t = group[order], tranche[order]
    size = np.bincount(g)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    rank = np.arange(len(g)) - np.repeat(starts, size[g[starts]])
    last = rank == size[g] - 1
    # 1. Numbered 1..n: reported at the group's first tranche.
    misnumbered = np.bincount(g, weights=(t != rank + 1)) > 0
    numbering = starts[misnumbered[g[starts]]]
    # 2. A tranche cheaper than the one before it.
    cost = frame["cost_multiplier"].to_numpy()[order]
    drops = np.flatnonzero((rank > 0) & (cost < np.r_[np.inf, cost[:-1]]))
    # 3. An unlimited tranche that is not the last: the first of its group.
    open_ = np.flatnonzero(frame["max_capacity"].isna().to_numpy()[order] & ~last)
    open_ = open_[np.r_[True, g[open_][1:] != g[open_][:-1]]] if len(open_) else open_
    # Each group's problems together, in that order (groups in order of appearance).
    at = np.concatenate([numbering, drops, open_])
    what = np.concatenate([np.full(len(x), k) for k, x in enumerate((numbering, drops, open_))])
    sort = np.lexsort((at, what, g[at]))
    at, what = at[sort], what[sort]
    columns = ("tranche", "cost_multiplier", "max_capacity")

    def message(j: int) -> str:
        if what[j] == 0:
            region, sector = names[g[at[j]]]
            return f"tranches of {region}/{sector} must be numbered 1..{size[g[at[j]]]}"
        if what[j] == 1:
            return "a later tranche must not be cheaper than the one before (cost_multiplier falls)"
        return "only the last tranche may be unlimited (empty max_capacity)"

    return origin.items(
        frame.index,
        order[at],
        lambda j: columns[what[j]],
        message,
        # The numbering message names its region and sector.
        keys=np.where(what == 0, g[at], -1 - what),
    )


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
    if ports is None or ports.empty:
        return issues
    origin, index = origins["ports"], ports.index
    port, region = ports["port"], ports["region"]
    # The messages name ports and regions unquoted: their kinds differ by port and region.
    by_place = pair_codes(port, region)[0]
    if "regions" in tables:
        coastal = tables["regions"].set_index("region")["coastal"]
        inland = region.isin(coastal.index) & ~region.map(coastal).fillna(False).astype(bool)
        at = np.flatnonzero(inland.to_numpy())
        issues += origin.issues(
            index,
            at,
            "region",
            lambda p: (
                f"port {port.iat[p]} is in region {region.iat[p]}, "
                "which is not coastal (regions.coastal); exports leave by sea"
            ),
            keys=by_place[at],
        )
    for column in ("region", "name"):
        first = ports.groupby("port")[column].transform("first")
        at = np.flatnonzero((ports[column] != first).to_numpy())
        issues += origin.issues(
            index,
            at,
            column,
            lambda p, c=column, first=first: (
                f"port {port.iat[p]} has another {c} on an earlier "
                f"row ({first.iat[p]!r}); one port, one {c}"
            ),
            keys=by_place[at],
        )
    given = ports[["cargo", "throughput", "unit"]].notna()
    empty = ~given.to_numpy()
    at = np.flatnonzero(empty.any(axis=1) & ~empty.all(axis=1))

    def lacking(j: int) -> list[str]:
        return list(given.columns[empty[at[j]]])

    issues += origin.items(
        index,
        at,
        lambda j: lacking(j)[0],
        lambda j: (
            "a throughput row needs cargo, throughput and unit (or none of them: "
            f"no throughput limit); {', '.join(lacking(j))} is empty"
        ),
        keys=empty[at] @ np.array([1, 2, 4]),  # which cells are empty
    )
    rated_at = np.flatnonzero(~empty.any(axis=1))
    rated = ports.iloc[rated_at]
    first_unit = rated.groupby(["cargo", "year"])["unit"].transform("first")
    bad = np.flatnonzero((rated["unit"] != first_unit).to_numpy())
    group = rated.groupby(["cargo", "year"]).ngroup().to_numpy()

    def differs(j: int) -> str:
        row = rated.iloc[bad[j]]
        return (
            f"unit {row['unit']!r} differs from {first_unit.iat[bad[j]]!r} of "
            f"another {row['cargo']} row of {row['year']}; "
            "throughputs of one cargo kind are compared, so they share one unit"
        )

    issues += origin.items(index, rated_at[bad], lambda _: "unit", differs, keys=group[bad])
    return issues


def check_sea_distances(tables: Tables, origins: Origins) -> list[Issue]:
    """Every port of ``sea_distances`` is in ``ports``."""
    ports, distances = tables.get("ports"), tables.get("sea_distances")
    if distances is None or distances.empty or ports is None:
        return []
    port = distances["port"]
    return origins["sea_distances"].issues(
        distances.index,
        np.flatnonzero(~port.isin(ports["port"]).to_numpy()),
        "port",
        lambda p: f"unknown port {port.iat[p]!r} (not in ports)",
    )


def check_export_destinations(tables: Tables, origins: Origins) -> list[Issue]:
    """The shares of a sector and year add up to at most 1 (a smaller sum is renormalised
    over the listed destinations); with ports, every port has a distance to every
    destination a sector exports to."""
    issues: list[Issue] = []
    ports, distances = tables.get("ports"), tables.get("sea_distances")
    shares = tables.get("export_destinations")
    if shares is None or shares.empty:
        return issues
    origin = origins["export_destinations"]
    total = shares.groupby(["sector", "year"])["share"].transform("sum")
    last = ~shares.duplicated(["sector", "year"], keep="last")
    at = np.flatnonzero(((total > 1 + SHARE_TOLERANCE) & last).to_numpy())
    issues += origin.issues(
        shares.index,
        at,
        "share",
        lambda p: (
            f"the shares of {shares['sector'].iat[p]} in {shares['year'].iat[p]} add "
            f"up to {total.iat[p]:.6g}, more than 1"
        ),
        keys=np.arange(len(at)),  # each names its sector and year
    )
    if ports is None or ports.empty:
        return issues
    have = pd.MultiIndex.from_arrays([[], []])
    if distances is not None:
        have = pd.MultiIndex.from_arrays([distances["port"], distances["destination"]])
    names = sorted(set(ports["port"]))
    # The ports without a distance to each destination in use, once per destination.
    destination = shares["destination"]
    used = (shares["share"] > 0).to_numpy()
    codes, distinct = pd.factorize(destination)
    absent = ~pd.MultiIndex.from_product([distinct, names]).isin(have.swaplevel())
    absent = absent.reshape(len(distinct), len(names))
    lacking = [[p for p, gone in zip(names, row, strict=True) if gone] for row in absent]
    at = np.flatnonzero(used & (np.array([len(x) for x in lacking], dtype=int)[codes] > 0))

    def message(p: int) -> str:
        missing = lacking[codes[p]]
        listed = ", ".join(missing[:5]) + (
            f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""
        )
        return (
            f"destination {destination.iat[p]!r} has no sea distance from port(s) "
            f"{listed} (sea_distances): every port needs a distance to every "
            "destination a sector exports to"
        )

    issues += origin.issues(shares.index, at, "destination", message, keys=codes[at])
    return issues


def _split_ids(value: object) -> list[str]:
    """The source ids of a cell (``a;b`` -> ``[a, b]``), none for an empty cell."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [part.strip() for part in str(value).split(";") if part.strip()]


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
