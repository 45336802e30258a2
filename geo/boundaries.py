"""Loading the shipped province boundaries (``data/provinces.gpkg``)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from optimizer.paths import default_data_dir

#: File name of the shipped boundaries inside the data folder.
FILE_NAME = "provinces.gpkg"
#: Layer holding the 34 provincial polygons.
LAYER = "provinces"
#: CRS of the shipped file and of everything ``provinces`` returns.
CRS = "EPSG:4326"
#: Albers equal-area projection for China, used wherever areas or lengths are measured.
ALBERS_CHINA = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 +units=m +no_defs"


class BoundaryFileError(OSError):
    """The boundary file exists but cannot be read or lacks the expected content."""


def default_boundaries_path() -> Path:
    """Return the path of the shipped boundary file.

    Returns
    -------
    pathlib.Path
        ``default_data_dir() / "provinces.gpkg"``.

    Examples
    --------
    >>> default_boundaries_path().name
    'provinces.gpkg'
    """
    return default_data_dir() / FILE_NAME


def provinces(path: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Load the 34 provincial-level boundaries.

    Parameters
    ----------
    path
        GeoPackage to read (layer ``provinces``, column ``region``). ``None`` reads the
        shipped ``provinces.gpkg``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per region, indexed by ``region`` (6-character GB/T 2260 code, sorted), with
        a MultiPolygon ``geometry`` in EPSG:4326. A fresh copy: changing it does not change
        later results.

    Raises
    ------
    FileNotFoundError
        If the file does not exist; the message names the path.
    BoundaryFileError
        If the file cannot be read or has no usable ``region`` column.

    Examples
    --------
    >>> gdf = provinces()
    >>> len(gdf), gdf.crs.to_string()
    (34, 'EPSG:4326')
    >>> gdf.loc["110000"].geometry.geom_type
    'MultiPolygon'
    """
    return _read_cached(*_file_key(path)).copy()


def _file_key(path: str | os.PathLike[str] | None) -> tuple[Path, int]:
    """Return the resolved path and its modification time, or raise if it is missing.

    The modification time goes into cache keys so that a rebuilt file is re-read.
    """
    resolved = Path(path if path is not None else default_boundaries_path()).resolve()
    if not resolved.is_file():
        raise FileNotFoundError(
            f"Province boundary file not found: {resolved} "
            "(rebuild it with `python -m geo.build_boundaries`)"
        )
    return resolved, resolved.stat().st_mtime_ns


@functools.lru_cache(maxsize=8)
def _read_cached(path: Path, mtime_ns: int) -> gpd.GeoDataFrame:
    try:
        gdf = gpd.read_file(path, layer=LAYER, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several unrelated types for bad files
        raise BoundaryFileError(f"Cannot read layer '{LAYER}' from {path}: {exc}") from exc
    if "region" not in gdf.columns:
        raise BoundaryFileError(f"{path}: layer '{LAYER}' has no 'region' column")
    region = gdf["region"]
    if region.isna().any() or region.duplicated().any():
        raise BoundaryFileError(f"{path}: 'region' must be unique and non-empty")
    if gdf.crs is None:
        raise BoundaryFileError(f"{path}: layer '{LAYER}' has no CRS")
    gdf = gdf.to_crs(CRS)
    gdf["region"] = region.astype(str)
    return gdf.set_index("region").sort_index()[["geometry"]]


def _resolve(gdf: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Return ``gdf`` indexed by region in EPSG:4326, or the shipped boundaries."""
    if gdf is None:
        return provinces()
    if "region" in gdf.columns:
        gdf = gdf.set_index("region")
    if gdf.crs is None:
        raise ValueError("gdf has no CRS")
    gdf = gdf.to_crs(CRS)
    gdf.index = pd.Index(gdf.index.astype(str), name="region")
    return gdf.sort_index()
