"""The inter-province network: land borders, sea links and great-circle distances."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import polylabel

from geo.boundaries import ALBERS_CHINA, CRS, _file_key, _read_cached, _resolve, provinces
from geo.regions import MAINLAND_REGIONS

#: Shared boundaries shorter than this (km) are not land borders: they are corner
#: touches or slivers, not places where goods cross by road or rail.
MIN_BORDER_KM = 1.0
#: Default number of sea links given to each region without a land border.
SEA_K = 2
#: How far beyond the nearest edge to look for an interior point when a centroid falls
#: outside its polygon (m).
NEAR_CENTROID_M = 100_000.0
#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088


def great_circle_km(
    lon1: np.ndarray | float,
    lat1: np.ndarray | float,
    lon2: np.ndarray | float,
    lat2: np.ndarray | float,
) -> np.ndarray:
    """Haversine distance in km between points given in degrees (broadcasts).

    Examples
    --------
    >>> round(float(great_circle_km(0.0, 0.0, 0.0, 1.0)), 1)
    111.2
    """
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2)
    )
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def representative_points(gdf: gpd.GeoDataFrame | None = None) -> gpd.GeoSeries:
    """One point per region, from which distances are measured.

    The point is the centroid of the region's largest polygon, computed in the Albers
    projection. Using the largest polygon keeps offshore islands from dragging the point
    into the sea: Hainan's South China Sea islands would otherwise pull its area-weighted
    centroid about 150 km south. If that centroid falls outside the polygon (Gansu's
    crescent), the point is the pole of inaccessibility of the polygon's part within
    ``NEAR_CENTROID_M`` beyond its nearest edge, i.e. an interior point near the centroid.

    Parameters
    ----------
    gdf
        Boundaries indexed (or with a column) ``region``; ``None`` uses :func:`provinces`.

    Returns
    -------
    geopandas.GeoSeries
        Points in EPSG:4326 indexed by region.

    Examples
    --------
    >>> pts = representative_points()
    >>> round(pts["110000"].x, 1), round(pts["110000"].y, 1)  # Beijing
    (116.4, 40.2)
    """
    if gdf is None:
        return _from_cache("points", ())
    return _points(_resolve(gdf))


def adjacency(
    gdf: gpd.GeoDataFrame | None = None, *, min_border_km: float = MIN_BORDER_KM
) -> pd.DataFrame:
    """Undirected land-border pairs with the length of their shared border.

    Lengths are measured in the Albers projection ``ALBERS_CHINA``. The polygons must form a
    coverage (neighbours share identical border vertices), as the shipped file does.

    Parameters
    ----------
    gdf
        Boundaries indexed (or with a column) ``region``; ``None`` uses :func:`provinces`.
    min_border_km
        Shared boundaries shorter than this are ignored.

    Returns
    -------
    pandas.DataFrame
        Columns ``region_a``, ``region_b`` (``region_a < region_b``, each pair once) and
        ``border_km``, sorted by the pair.

    Examples
    --------
    >>> adj = adjacency()
    >>> bool(((adj.region_a == "110000") & (adj.region_b == "120000")).any())
    True
    """
    if gdf is None:
        return _from_cache("adjacency", (min_border_km,))
    return _adjacency(_resolve(gdf), min_border_km)


def distance_matrix(gdf: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Great-circle distances (km) between the regions' representative points.

    Parameters
    ----------
    gdf
        Boundaries indexed (or with a column) ``region``; ``None`` uses :func:`provinces`.

    Returns
    -------
    pandas.DataFrame
        Square, symmetric, zero diagonal; index and columns are region codes.

    Examples
    --------
    >>> d = distance_matrix()
    >>> d.shape
    (34, 34)
    >>> round(float(d.loc["110000", "310000"]), -1)  # Beijing - Shanghai
    1110.0
    """
    if gdf is None:
        return _from_cache("distances", ())
    return _distances(_points(_resolve(gdf)))


def network(
    gdf: gpd.GeoDataFrame | None = None,
    *,
    sea_k: int = SEA_K,
    min_border_km: float = MIN_BORDER_KM,
) -> pd.DataFrame:
    """Directed arcs between regions: land borders plus sea links for islands.

    Every land-border pair from :func:`adjacency` gives two ``"border"`` arcs. Each region
    with no land border (Hainan and Taiwan in the shipped data) gets ``"sea"`` arcs, both
    ways, to the ``sea_k`` nearest mainland regions that do have land borders, nearest by
    :func:`distance_matrix`. Hong Kong and Macau are not candidates: they are not
    mainland, and both border Guangdong by land.

    Parameters
    ----------
    gdf
        Boundaries indexed (or with a column) ``region``; ``None`` uses :func:`provinces`.
    sea_k
        Number of sea links per island region; 0 leaves islands unconnected.
    min_border_km
        Passed to :func:`adjacency`.

    Returns
    -------
    pandas.DataFrame
        Columns ``from_region``, ``to_region``, ``kind`` (``"border"`` or ``"sea"``) and
        ``distance_km`` (great-circle between representative points). Symmetric: every
        arc's reverse is present with the same kind and distance. Sorted by the pair.

    Examples
    --------
    >>> arcs = network()
    >>> sorted(arcs.loc[arcs.from_region == "460000", "to_region"])
    ['440000', '450000']
    >>> set(arcs.loc[arcs.from_region == "460000", "kind"])
    {'sea'}
    """
    if sea_k < 0:
        raise ValueError(f"sea_k must be >= 0, got {sea_k}")
    if gdf is None:
        return _from_cache("network", (sea_k, min_border_km))
    gdf = _resolve(gdf)
    return _network(gdf, _adjacency(gdf, min_border_km), _distances(_points(gdf)), sea_k)


def clear_cache() -> None:
    """Forget the cached boundaries and the tables derived from them."""
    _read_cached.cache_clear()
    _cached_table.cache_clear()


# --- computation ----------------------------------------------------------------------


def _points(gdf: gpd.GeoDataFrame) -> gpd.GeoSeries:
    projected = gdf.geometry.to_crs(ALBERS_CHINA)
    points = []
    for geom in projected:
        parts = shapely.get_parts(geom)
        largest = parts[np.argmax(shapely.area(parts))]
        point = largest.centroid
        if not largest.contains(point):
            # Curved shape (Gansu): take the most interior point of the part of the polygon
            # near the centroid. polylabel of the whole polygon would land in its widest
            # lobe, which for Gansu is 800 km west of Lanzhou.
            reach = largest.distance(point) + NEAR_CENTROID_M
            near = shapely.get_parts(largest.intersection(point.buffer(reach)))
            point = polylabel(near[np.argmax(shapely.area(near))], tolerance=1000.0)
        points.append(point)
    return gpd.GeoSeries(points, index=gdf.index, crs=ALBERS_CHINA).to_crs(CRS)


def _adjacency(gdf: gpd.GeoDataFrame, min_border_km: float) -> pd.DataFrame:
    projected = gdf.geometry.to_crs(ALBERS_CHINA)
    codes = projected.index.to_numpy()
    left, right = projected.sindex.query(projected.values, predicate="intersects")
    keep = codes[left] < codes[right]  # each unordered pair once, no self pairs
    left, right = left[keep], right[keep]
    boundaries = projected.boundary.values
    # Neighbours share identical edges, so the intersection of their boundaries is exactly
    # the shared border (plus isolated points, which have zero length).
    km = shapely.length(shapely.intersection(boundaries[left], boundaries[right])) / 1000.0
    pairs = pd.DataFrame({"region_a": codes[left], "region_b": codes[right], "border_km": km})
    pairs = pairs[pairs["border_km"] > min_border_km]
    return pairs.sort_values(["region_a", "region_b"], ignore_index=True)


def _distances(points: gpd.GeoSeries) -> pd.DataFrame:
    lon, lat = points.x.to_numpy(), points.y.to_numpy()
    km = great_circle_km(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    np.fill_diagonal(km, 0.0)
    index = pd.Index(points.index, name="region")
    return pd.DataFrame(km, index=index, columns=index.copy())


def _network(
    gdf: gpd.GeoDataFrame, adj: pd.DataFrame, dist: pd.DataFrame, sea_k: int
) -> pd.DataFrame:
    pairs = [(a, b, "border") for a, b in zip(adj["region_a"], adj["region_b"], strict=True)]
    bordered = set(adj["region_a"]) | set(adj["region_b"])
    candidates = [r for r in MAINLAND_REGIONS if r in bordered and r in dist.index]
    for island in (r for r in gdf.index if r not in bordered):
        nearest = dist.loc[island, candidates].sort_values(kind="stable").index[:sea_k]
        pairs += [(island, other, "sea") for other in nearest]

    arcs = pd.DataFrame(pairs, columns=["from_region", "to_region", "kind"])
    reverse = arcs.rename(columns={"from_region": "to_region", "to_region": "from_region"})
    # Islands link only to bordered regions, so no pair appears twice.
    arcs = pd.concat([arcs, reverse], ignore_index=True)
    arcs["distance_km"] = dist.to_numpy()[
        dist.index.get_indexer(arcs["from_region"]), dist.columns.get_indexer(arcs["to_region"])
    ]
    return arcs.sort_values(["from_region", "to_region"], ignore_index=True)


# --- caching of the default tables ----------------------------------------------------

_BUILDERS: dict[str, Callable[..., pd.DataFrame | gpd.GeoSeries]] = {
    "points": lambda gdf: _points(gdf),
    "adjacency": lambda gdf, min_km: _adjacency(gdf, min_km),
    "distances": lambda gdf: _distances(_points(gdf)),
    "network": lambda gdf, k, min_km: _network(
        gdf, _adjacency(gdf, min_km), _distances(_points(gdf)), k
    ),
}


@functools.lru_cache(maxsize=32)
def _cached_table(
    path: Path, mtime_ns: int, what: str, params: tuple
) -> pd.DataFrame | gpd.GeoSeries:
    return _BUILDERS[what](provinces(path), *params)


def _from_cache(what: str, params: tuple) -> pd.DataFrame | gpd.GeoSeries:
    # Keyed on the default file's path and mtime, so a rebuilt file is picked up.
    return _cached_table(*_file_key(None), what, params).copy()
