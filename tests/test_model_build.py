"""The build's fast paths give what the general pandas look-ups give (issue 14: build
speed): positions from level codes and integer arithmetic, the shipment index from
codes, shortest paths remembered per network, the penalty's masked maxima."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_array
from scipy.sparse.csgraph import shortest_path

from optimizer.model import data as data_module
from optimizer.model.data import (
    EXPORT,
    ModelData,
    clear_paths_cache,
    level_positions,
    product_positions,
    shortest_paths,
)
from optimizer.model.economics import unmet_penalty
from optimizer.model.formulation import build, formulate
from optimizer.scenario.synthetic import synthetic_scenario


@pytest.fixture
def messy_index() -> pd.MultiIndex:
    """Labels with repeats, a value outside every target, a missing value, and unused
    level values (a slice of a larger index keeps its levels)."""
    full = pd.MultiIndex.from_arrays(
        [
            ["b", "a", "zz", "c", "a", None, "b", "q"],
            ["s2", "s1", "s1", "s9", "s2", "s1", "s1", "s2"],
            [2024, 2023, 2023, 2024, 2025, 2023, 2023, 2023],
        ],
        names=["region", "sector", "year"],
    )
    return full[:7]  # "q" stays an unused level value


def test_level_positions_equal_get_indexer_on_the_level_values(messy_index):
    for labels, level in [
        (pd.Index(["a", "b", "c"]), "region"),
        (pd.Index(["s1", "s2"]), "sector"),
        (pd.Index([2023, 2024]), "year"),
        (pd.Index([], dtype=object), "region"),
    ]:
        expected = labels.get_indexer(messy_index.get_level_values(level))
        got = level_positions(labels, messy_index, level)
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == expected.dtype


def test_product_positions_equal_get_indexer_on_the_product(messy_index):
    factors = [pd.Index(["c", "a", "b"]), pd.Index(["s2", "s1"]), pd.Index([2024, 2023])]
    product = pd.MultiIndex.from_product(factors)
    expected = product.get_indexer(messy_index)
    got = product_positions(factors, messy_index, ["region", "sector", "year"])
    np.testing.assert_array_equal(got, expected)
    assert (got == -1).sum() == 4  # "zz", sector "s9", the year 2025, the missing region


def test_a_level_subset_in_another_order_finds_its_product_rows(messy_index):
    factors = [pd.Index([2023, 2024]), pd.Index(["a", "b", "c"])]
    pairs = pd.MultiIndex.from_arrays(
        [messy_index.get_level_values("year"), messy_index.get_level_values("region")]
    )
    expected = pd.MultiIndex.from_product(factors).get_indexer(pairs)
    got = product_positions(factors, messy_index, ["year", "region"])
    np.testing.assert_array_equal(got, expected)


@pytest.fixture(scope="module")
def grid():
    return synthetic_scenario(5, 4, sectors=3, seed=2)


@pytest.mark.parametrize("network", ["grid", "no arcs"])
def test_the_shipment_index_has_the_levels_and_codes_from_arrays_gives(grid, network):
    arcs = grid[1] if network == "grid" else grid[1].iloc[:0]
    lp, data = build(grid[0], "coordinated", arcs)
    ship = lp.variables["shipment"].index
    # The labels as the former build made them: from_arrays on the full columns.
    n_a, n_s, n_t = len(data.arcs), len(data.sectors), len(data.years)
    arc = np.repeat(np.arange(n_a), n_s * n_t)
    expected = pd.MultiIndex.from_arrays(
        [
            data.arcs["from_region"].to_numpy(object)[arc],
            data.arcs["to_region"].to_numpy(object)[arc],
            data.sectors.index.take(np.tile(np.repeat(np.arange(n_s), n_t), n_a)),
            pd.Index(data.years).take(np.tile(np.arange(n_t), n_a * n_s)),
        ],
        names=["from_region", "to_region", "sector", "year"],
    )
    assert ship.equals(expected)
    assert len(ship) == len(arcs) * n_s * n_t
    for got, want in zip(ship.levels, expected.levels, strict=True):
        pd.testing.assert_index_equal(got, want)
    for got, want in zip(ship.codes, expected.codes, strict=True):
        np.testing.assert_array_equal(got, want)


def _fresh_paths(data: ModelData) -> np.ndarray:
    a = data.arcs.groupby(["from_region", "to_region"], as_index=False)["distance_km"].min()
    nodes = data.nodes
    g = coo_array(
        (
            a["distance_km"].to_numpy(float),
            (nodes.get_indexer(a["from_region"]), nodes.get_indexer(a["to_region"])),
        ),
        shape=(len(nodes), len(nodes)),
    )
    return shortest_path(g.tocsr(), directed=True, indices=nodes.get_indexer(data.producers))


def test_remembered_shortest_paths_equal_a_fresh_computation(grid):
    clear_paths_cache()
    first = ModelData.from_scenario(grid[0], "coordinated", grid[1])
    again = ModelData.from_scenario(grid[0], "observed", grid[1])
    fresh = _fresh_paths(first)
    for data in (first, again):
        np.testing.assert_array_equal(data.reach_km.iloc[:, :-1].to_numpy(), fresh)
        assert data.reach_km.columns[-1] == EXPORT
    pd.testing.assert_frame_equal(first.reach_km, again.reach_km)


def test_observed_and_coordinated_models_compute_the_shortest_paths_once(grid, monkeypatch):
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return shortest_path(*args, **kwargs)

    monkeypatch.setattr(data_module, "shortest_path", counted)
    clear_paths_cache()
    build(grid[0], "coordinated", grid[1])
    build(grid[0], "observed", grid[1])
    assert len(calls) == 1


def test_a_changed_network_is_not_answered_from_the_remembered_paths(grid):
    scenario, arcs = grid
    clear_paths_cache()
    before = ModelData.from_scenario(scenario, "coordinated", arcs)
    longer = arcs.assign(distance_km=arcs["distance_km"] * 1.5)
    after = ModelData.from_scenario(scenario, "coordinated", longer)
    np.testing.assert_array_equal(after.reach_km.iloc[:, :-1].to_numpy(), _fresh_paths(after))
    finite = np.isfinite(before.reach_km.to_numpy()) & (before.reach_km.to_numpy() > 0)
    assert (after.reach_km.to_numpy()[finite] > before.reach_km.to_numpy()[finite]).all()


def test_remembered_paths_are_read_only_and_bounded():
    clear_paths_cache()
    tail, head = np.array([0, 1]), np.array([1, 2])
    for km in (1.0, 2.0, 3.0, 4.0):
        d = shortest_paths(3, tail, head, np.array([km, km]), np.array([0]))
        assert not d.flags.writeable
    assert len(data_module._PATHS) == data_module.PATHS_CACHED
    assert shortest_paths(3, tail, head, np.array([4.0, 4.0]), np.array([0])).tolist() == [
        [0.0, 4.0, 8.0]
    ]


def test_formulate_from_prepared_data_gives_the_build_arrays(grid):
    scenario, arcs = grid
    for mode in ("coordinated", "observed"):
        built, _ = build(scenario, mode, arcs)
        again = formulate(ModelData.from_scenario(scenario, mode, arcs))
        assert (built.matrix() != again.matrix()).nnz == 0
        np.testing.assert_array_equal(built.cost(), again.cost())
        for a, b in zip(built.bounds(), again.bounds(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_the_penalty_counts_only_reachable_nodes_with_demand():
    # Two producers, three nodes; node 2 unreachable from producer 0 and node 1 has
    # no demand in the sector: the dearest pair is producer 1 to node 2.
    inf = np.inf
    distance = np.array([[0.0, 900.0, inf], [500.0, 0.0, 300.0]])
    per_output = np.array([[1.0], [1.2]])
    node, sector, extra = np.array([0, 2]), np.array([0, 0]), np.zeros(2)
    out = unmet_penalty(
        per_output, np.zeros((2, 1)), np.array([0.5]), distance, node, sector, extra, 1.0
    )
    brute = max(
        per_output[p, 0] + 0.5 * distance[p, n] / 1000.0
        for p in range(2)
        for n in node
        if np.isfinite(distance[p, n])
    )
    margin = out[0] / brute
    assert out[0] == out[1]
    assert margin > 1.0
    np.testing.assert_allclose(
        unmet_penalty(
            per_output, np.zeros((2, 1)), np.array([0.5]), distance, node, sector, extra, 2.0
        ),
        2.0 * out,
    )
    # Making node 2 reachable from producer 0 at 2,000 km raises it to that pair.
    distance[0, 2] = 2000.0
    farther = unmet_penalty(
        per_output, np.zeros((2, 1)), np.array([0.5]), distance, node, sector, extra, 1.0
    )
    np.testing.assert_allclose(farther[0] / (1.0 + 0.5 * 2.0), margin)


def test_remembered_paths_beyond_the_memory_budget_keep_only_the_newest(monkeypatch):
    monkeypatch.setattr(data_module, "PATHS_BYTES", 100)  # one 3 x 3 matrix is 72 bytes
    clear_paths_cache()
    tail, head, sources = np.array([0, 1]), np.array([1, 2]), np.arange(3)
    for km in (1.0, 2.0):
        newest = shortest_paths(3, tail, head, np.array([km, km]), sources)
    kept = list(data_module._PATHS.values())
    assert len(kept) == 1
    assert kept[0] is newest
    assert newest[0].tolist() == [0.0, 2.0, 4.0]
