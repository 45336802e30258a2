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
    "clear_cache",
    "default_boundaries_path",
    "distance_matrix",
    "great_circle_km",
    "network",
    "provinces",
    "representative_points",
]
