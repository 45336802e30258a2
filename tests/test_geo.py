"""Tests of the shipped province boundaries and the network derived from them."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo import (
    ALBERS_CHINA,
    BoundaryFileError,
    adjacency,
    default_boundaries_path,
    distance_matrix,
    network,
    provinces,
    representative_points,
)

# Written out here rather than imported so the test checks the data against the spec.
CODES = (
    "110000 120000 130000 140000 150000 210000 220000 230000 310000 320000 330000 340000 "
    "350000 360000 370000 410000 420000 430000 440000 450000 460000 500000 510000 520000 "
    "530000 540000 610000 620000 630000 640000 650000 710000 810000 820000"
).split()
HAINAN, TAIWAN, HONG_KONG, MACAU = "460000", "710000", "810000", "820000"
# The 31 mainland divisions minus Hainan: all reachable from each other over land.
MAINLAND_LAND = [c for c in CODES if c not in {HAINAN, TAIWAN, HONG_KONG, MACAU}]


@pytest.fixture(scope="module")
def gdf():
    return provinces()


@pytest.fixture(scope="module")
def projected(gdf):
    return gdf.to_crs(ALBERS_CHINA)


@pytest.fixture(scope="module")
def arcs():
    return network()


def components(nodes, pairs):
    """Connected-component labels of the undirected graph on ``nodes``."""
    pos = {n: i for i, n in enumerate(nodes)}
    edges = [(pos[a], pos[b]) for a, b in pairs if a in pos and b in pos]
    rows, cols = zip(*edges, strict=True) if edges else ((), ())
    graph = coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(len(nodes), len(nodes)))
    return connected_components(graph, directed=False)[0]


def test_regions_are_the_34_codes(gdf):
    assert list(gdf.index) == sorted(CODES)
    assert gdf.index.name == "region"
    assert gdf.crs.to_epsg() == 4326


@pytest.mark.parametrize("code", CODES)
def test_geometry_valid_and_nonempty(gdf, code):
    geom = gdf.geometry[code]
    assert geom.geom_type in {"Polygon", "MultiPolygon"}
    assert geom.is_valid and not geom.is_empty


def test_shipped_file_is_small():
    assert default_boundaries_path().stat().st_size < 2 * 1024 * 1024


def test_no_overlaps(projected):
    left, right = projected.sindex.query(projected.geometry.values, predicate="intersects")
    keep = left < right
    overlap = shapely.area(
        shapely.intersection(
            projected.geometry.values[left[keep]], projected.geometry.values[right[keep]]
        )
    )
    assert keep.sum() > 60  # the pairs were actually checked
    assert overlap.max() < 1_000.0  # m2; an exact coverage gives 0


def test_no_gaps(projected):
    # Edge-matched coverage: neighbours share identical border vertices, so no slivers.
    assert shapely.coverage_is_valid(projected.geometry.values)
    # And nothing between provinces is left uncovered: the union has no holes.
    union = shapely.union_all(projected.geometry.values)
    assert sum(len(p.interiors) for p in shapely.get_parts(union)) == 0


def test_adjacency_is_symmetric_and_clean():
    adj = adjacency()
    assert (adj.region_a < adj.region_b).all()  # each pair once, no self pairs
    assert not adj.duplicated(["region_a", "region_b"]).any()
    assert (adj.border_km > 1.0).all()
    pos = {c: i for i, c in enumerate(CODES)}
    mat = np.zeros((len(CODES), len(CODES)))
    mat[adj.region_a.map(pos), adj.region_b.map(pos)] = adj.border_km
    mat += mat.T
    assert np.array_equal(mat, mat.T)


def test_network_is_symmetric(arcs):
    forward = set(zip(arcs.from_region, arcs.to_region, arcs.kind, arcs.distance_km, strict=True))
    backward = set(zip(arcs.to_region, arcs.from_region, arcs.kind, arcs.distance_km, strict=True))
    assert forward == backward
    assert set(arcs.kind) == {"border", "sea"}
    assert not arcs.duplicated(["from_region", "to_region"]).any()


def test_mainland_connected_by_land():
    adj = adjacency()
    pairs = zip(adj.region_a, adj.region_b, strict=True)
    assert components(MAINLAND_LAND, pairs) == 1


def test_all_connected_with_sea_links(arcs):
    assert components(CODES, zip(arcs.from_region, arcs.to_region, strict=True)) == 1


@pytest.mark.parametrize("island", [HAINAN, TAIWAN])
def test_islands_have_only_sea_links(arcs, island):
    links = arcs[arcs.from_region == island]
    assert len(links) == 2  # default sea_k
    assert set(links.kind) == {"sea"}
    assert set(links.to_region) <= set(MAINLAND_LAND)


@pytest.mark.parametrize("sea_k", [1, 3])
def test_sea_k(sea_k):
    arcs = network(sea_k=sea_k)
    assert (arcs[arcs.kind == "sea"].from_region.value_counts()[[HAINAN, TAIWAN]] == sea_k).all()


@pytest.mark.parametrize(
    ("a", "b", "borders"),
    [
        ("110000", "130000", True),  # Beijing - Hebei
        ("110000", "120000", True),  # Beijing - Tianjin
        ("440000", HONG_KONG, True),  # Guangdong - Hong Kong
        ("440000", MACAU, True),  # Guangdong - Macau
        ("110000", "310000", False),  # Beijing - Shanghai
    ],
)
def test_known_pairs(arcs, a, b, borders):
    kinds = arcs.loc[(arcs.from_region == a) & (arcs.to_region == b), "kind"].tolist()
    assert kinds == (["border"] if borders else [])


def test_beijing_shanghai_distance():
    assert distance_matrix().loc["110000", "310000"] == pytest.approx(1068, rel=0.10)


def test_distance_matrix_shape():
    dist = distance_matrix()
    assert list(dist.index) == list(dist.columns) == sorted(CODES)
    assert np.allclose(dist.to_numpy(), dist.to_numpy().T)
    assert (np.diag(dist.to_numpy()) == 0).all()


@pytest.mark.parametrize("code", CODES)
def test_representative_point_inside(gdf, code):
    assert gdf.geometry[code].contains(representative_points()[code])


def test_missing_file_names_path(tmp_path):
    missing = tmp_path / "nowhere" / "provinces.gpkg"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        provinces(missing)


def test_unreadable_file_names_path(tmp_path):
    bad = tmp_path / "garbage.gpkg"
    bad.write_text("not a geopackage")
    with pytest.raises(BoundaryFileError, match=r"garbage\.gpkg"):
        provinces(bad)


def test_cached_results_are_copies():
    gdf, arcs = provinces(), network()
    gdf.loc["110000", "geometry"] = None
    arcs.loc[:, "distance_km"] = -1.0
    assert provinces().geometry["110000"] is not None
    assert (network().distance_km > 0).all()
