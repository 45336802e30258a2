"""Concentration of capacity measured by share: holders of a stated share, HHI, top three."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import optimizer
from optimizer.analysis.concentration import concentration


@pytest.fixture(scope="module")
def allocations(default_scenario):
    return {
        "observed": optimizer.evaluate_observed(default_scenario).tables["allocation"],
        "coordinated": optimizer.solve(default_scenario).tables["allocation"],
    }


def test_a_sliver_of_capacity_counts_as_capacity_but_not_as_a_holder():
    alloc = pd.DataFrame(
        {
            "region": ["a", "b", "c", "d", "e"],
            "sector": "pv",
            "year": 2023,
            "capacity": [50.0, 30.0, 15.0, 4.99, 0.01],
            "capacity_unit": "GW/yr",
        }
    )
    row = concentration({"coordinated": alloc}).iloc[0]
    assert row["regions_with_capacity"] == 5
    assert row["regions_at_or_above_share"] == 3  # 4.99 % and 0.01 % are below 5 %
    assert row["top3_share"] == pytest.approx(0.95)
    assert row["top3_regions"] == "a;b;c"
    assert row["hhi"] == pytest.approx(0.25 + 0.09 + 0.0225 + 0.0499**2 + 0.0001**2)
    assert (
        concentration({"coordinated": alloc}, share=0.01).iloc[0]["regions_at_or_above_share"] == 4
    )
    assert (
        concentration({"coordinated": alloc}, share=0.5).iloc[0]["regions_at_or_above_share"] == 1
    )  # exactly 50 % holds


def test_concentration_agrees_with_the_sector_summary(allocations):
    """Regions with capacity and the HHI are those of comparison.sector_summary; the
    holders of 5 % are never more than the regions with capacity, nor than 20."""
    from optimizer.analysis.comparison import sector_summary

    table = concentration(allocations).set_index(["sector", "year", "mode"])

    ref = sector_summary(allocations["observed"], allocations["coordinated"])
    for mode in ("observed", "coordinated"):
        part = table.xs(mode, level="mode")
        assert (part["regions_with_capacity"] == ref[f"regions_{mode}"].reindex(part.index)).all()
        np.testing.assert_allclose(part["hhi"], ref[f"hhi_{mode}"].reindex(part.index))
        assert (part["regions_at_or_above_share"] <= part["regions_with_capacity"]).all()
        assert (part["regions_at_or_above_share"] <= 20).all()
        assert ((part["top3_share"] > 0) & (part["top3_share"] <= 1 + 1e-12)).all()
    assert table.attrs["unit"] and "5%" in table.attrs["name"]


def test_a_share_outside_zero_to_one_is_refused(allocations):
    with pytest.raises(ValueError, match="share must be in"):
        concentration(allocations, share=0.0)
    with pytest.raises(ValueError, match="share must be in"):
        concentration(allocations, share=1.5)
