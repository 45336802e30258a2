"""Province boundaries and the inter-province network.

The 34 provincial-level divisions are keyed by their 6-character GB/T 2260 code
(``"110000"`` Beijing ... ``"820000"`` Macau). Boundaries come from the shipped
``data/provinces.gpkg`` (built by ``python -m geo.build_boundaries``); the network tables
are derived from them and cached.

Examples
--------
>>> from geo import provinces, network
>>> len(provinces())
34
>>> arcs = network()
>>> sorted(arcs.loc[arcs.from_region == "710000", "to_region"])
['330000', '350000']

The maps and charts of :mod:`geo.maps` are exported here too, but imported (with
matplotlib) only on first use, so that the optimizer, which uses the network, never
loads plotting code.
"""

from geo.boundaries import (
    ALBERS_CHINA,
    CRS,
    FILE_NAME,
    LAYER,
    BoundaryFileError,
    default_boundaries_path,
    provinces,
)
from geo.network import (
    MIN_BORDER_KM,
    SEA_K,
    adjacency,
    clear_cache,
    distance_matrix,
    great_circle_km,
    network,
    representative_points,
)
from geo.regions import MAINLAND_REGIONS, NON_MAINLAND, REGION_NAMES, REGIONS

# Names of geo.maps exported lazily (PEP 562): ``from geo import sector_figure`` works, but
# ``import geo`` does not import matplotlib.
_MAPS_EXPORTS = (
    "china_axes_map",
    "cost_chart",
    "drawn_regions",
    "gap_small_multiples",
    "map_axes",
    "map_layers",
    "region_figure",
    "regions_bar",
    "save_figure",
    "sector_figure",
    "stranded_chart",
)


def __getattr__(name: str):
    if name in _MAPS_EXPORTS:
        from geo import maps

        return getattr(maps, name)
    raise AttributeError(f"module 'geo' has no attribute {name!r}")


__all__ = [
    "ALBERS_CHINA",
    "CRS",
    "FILE_NAME",
    "LAYER",
    "MAINLAND_REGIONS",
    "MIN_BORDER_KM",
    "NON_MAINLAND",
    "REGIONS",
    "REGION_NAMES",
    "SEA_K",
    "BoundaryFileError",
    "adjacency",
    "china_axes_map",
    "clear_cache",
    "cost_chart",
    "default_boundaries_path",
    "distance_matrix",
    "drawn_regions",
    "gap_small_multiples",
    "great_circle_km",
    "map_axes",
    "map_layers",
    "network",
    "provinces",
    "region_figure",
    "regions_bar",
    "representative_points",
    "save_figure",
    "sector_figure",
    "stranded_chart",
]
