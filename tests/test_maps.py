"""Maps and charts drawn from the result tables of one run of the default scenario."""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot; geo.maps itself never does

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

import optimizer
from geo import maps

OUTSIDE = {"710000", "810000", "820000"}  # Taiwan, Hong Kong, Macau
N_REGIONS = 34


@pytest.fixture(scope="module")
def run():
    """The default scenario solved once: tables as the report reads them."""
    scenario = optimizer.load_scenario()
    coordinated = optimizer.solve(scenario)
    observed = optimizer.evaluate_observed(scenario)
    comparison = optimizer.compare(observed, coordinated)
    return {
        "regions": scenario.regions,
        "gap": comparison.regional_gap,
        "sector_summary": comparison.sector_summary,
        "region_summary": comparison.region_summary,
        "allocation_observed": observed.tables["allocation"],
        "costs_observed": observed.tables["costs"],
        "costs_coordinated": coordinated.tables["costs"],
    }


@pytest.fixture(scope="module")
def layers():
    return maps.map_layers()


def sector_fig(run, layers, sector="solar_pv"):
    return maps.sector_figure(
        run["gap"], run["allocation_observed"], sector, run["regions"], provinces=layers
    )


BUILDERS = {
    "sector": (sector_fig, 4, 4),
    "region": (
        lambda run, layers: maps.region_figure(
            run["region_summary"], run["regions"], provinces=layers
        ),
        4,
        4,
    ),
    "small_multiples": (
        lambda run, layers: maps.gap_small_multiples(run["gap"], run["regions"]),
        8,
        8,
    ),
    "regions_bar": (lambda run, layers: maps.regions_bar(run["sector_summary"]), 0, 1),
    "stranded": (lambda run, layers: maps.stranded_chart(run["sector_summary"]), 0, 2),
    "cost": (
        lambda run, layers: maps.cost_chart(run["costs_observed"], run["costs_coordinated"]),
        0,
        2,
    ),
}


@pytest.fixture(scope="module")
def figures(run, layers):
    return {name: build(run, layers) for name, (build, _, _) in BUILDERS.items()}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_figure_has_the_expected_axes(figures, name):
    _, n_maps, n_axes = BUILDERS[name]
    fig = figures[name]
    assert isinstance(fig, Figure)
    assert len(maps.map_axes(fig)) == n_maps
    plain = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(plain) == n_axes
    # Every map has its South China Sea inset and a colourbar.
    for ax in maps.map_axes(fig):
        assert [c.get_label() for c in ax.child_axes] == [maps.INSET_LABEL]
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == n_maps


@pytest.mark.parametrize("name", list(BUILDERS))
def test_saved_png_and_svg(figures, name, tmp_path):
    fig = figures[name]
    paths = maps.save_figure(fig, tmp_path / "out" / f"fig.{name}", ("png", "svg"))
    png, svg = paths
    assert [p.name for p in paths] == [f"fig.{name}.png", f"fig.{name}.svg"]
    image = mpimg.imread(png)
    width, height = fig.get_size_inches() * maps.DPI
    assert image.shape[:2] == (round(height), round(width))
    rgb = image[..., :3]
    assert rgb.std() > 0.05, "the image is (nearly) blank"
    packed = (rgb * 255).round().astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], np.uint32)
    # A 256-colour palette (a third of the bytes): still far more than a few flat fills.
    assert 10 < len(np.unique(packed)) <= maps.PNG_COLOURS, "too few distinct colours"
    text = svg.read_text(encoding="utf-8")
    assert svg.stat().st_size > 10_000 and "<svg" in text[:1000]
    if name in {"sector", "region", "small_multiples"}:
        assert svg.stat().st_size < 4_000_000  # outlines are simplified for the page


@pytest.mark.parametrize("name", ["sector", "region", "small_multiples"])
def test_all_34_divisions_are_drawn(figures, name):
    for ax in maps.map_axes(figures[name]):
        drawn = maps.drawn_regions(ax)
        assert len(drawn) == N_REGIONS and drawn["region"].is_unique
        assert set(drawn.loc[drawn.layer == "outside", "region"]) == OUTSIDE
        paths = sum(
            len(c.get_paths()) for c in ax.collections if str(c.get_gid()).startswith("regions-")
        )
        assert paths == N_REGIONS


def test_gap_map_is_symmetric_and_labelled_with_the_unit(figures):
    fig = figures["sector"]
    gap_ax = maps.map_axes(fig)[2]
    norms = {
        id(c.norm): c.norm
        for c in gap_ax.collections
        if str(c.get_gid()).startswith("regions-values")
    }
    assert len(norms) == 1
    (norm,) = norms.values()
    assert norm.vmin == -norm.vmax and norm.vmax > 0
    colorbars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert "GW/yr" in colorbars[2].get_xlabel()
    assert "GW/yr" in fig.get_suptitle()
    # Observed and coordinated capacity share one scale.
    first, second = (
        next(c.norm for c in ax.collections if str(c.get_gid()).startswith("regions-values"))
        for ax in maps.map_axes(fig)[:2]
    )
    assert (first.vmin, first.vmax) == (second.vmin, second.vmax)


def test_small_multiples_each_have_a_symmetric_scale_and_unit(figures, run):
    fig = figures["small_multiples"]
    units = run["gap"].drop_duplicates("sector").set_index("sector")["capacity_unit"]
    colorbars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    for ax, cbar, sector in zip(maps.map_axes(fig), colorbars, units.index, strict=True):
        norm = next(c.norm for c in ax.collections if str(c.get_gid()).startswith("regions-values"))
        assert norm.vmin == -norm.vmax
        assert units[sector] in cbar.get_xlabel()
        assert ax.get_title() == maps.sector_name(sector)


def test_estimated_values_are_hatched(figures, run):
    observed_ax = maps.map_axes(figures["sector"])[0]
    drawn = maps.drawn_regions(observed_ax)
    rows = run["gap"][run["gap"].sector == "solar_pv"].set_index("region")
    quality = rows["observed_quality"].reindex(drawn["region"]).fillna("none")
    expected = quality.isin(["estimated", "assumed"]).to_numpy()
    assert expected.any()
    assert (drawn["estimated"].to_numpy() == expected).all()
    hatched = [c for c in observed_ax.collections if str(c.get_gid()).endswith("-estimated")]
    assert hatched and all(c.get_hatch() == maps.HATCH for c in hatched)
    legend = [t.get_text() for t in observed_ax.get_legend().get_texts()]
    assert "estimated, not reported" in legend
    # The coordinated plan is a model result: nothing hatched.
    coordinated = maps.drawn_regions(maps.map_axes(figures["sector"])[1])
    assert not coordinated["estimated"].any()


@pytest.mark.parametrize("flagged", [[], ["440000"], ["440000", "650000", "810000"]])
def test_china_axes_map_layers_and_legend(layers, flagged):
    fig = Figure(figsize=(6, 5), layout="constrained")
    ax = fig.add_subplot()
    values = pd.Series({"110000": 3.0, "440000": 12.0, "650000": np.nan, "710000": 5.0})
    sm = maps.china_axes_map(
        ax,
        values,
        cmap="viridis",
        label="capacity (GW/yr)",
        estimated=pd.Series(True, index=flagged, dtype=bool),
        provinces=layers,
        missing_label="no capacity",
    )
    drawn = maps.drawn_regions(ax).set_index("region")
    assert len(drawn) == N_REGIONS
    # Taiwan is outside national planning whatever its value; NaN is "no capacity".
    assert drawn.loc["710000", "layer"] == "outside"
    assert drawn.loc["650000", "layer"] == "missing"
    assert set(drawn.index[drawn.layer == "values"]) == {"110000", "440000"}
    assert set(drawn.index[drawn.estimated]) == set(flagged) - OUTSIDE
    assert isinstance(sm.norm, Normalize) and (sm.norm.vmin, sm.norm.vmax) == (3.0, 12.0)
    assert sm.colorbar.ax.get_xlabel() == "capacity (GW/yr)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["outside national planning", "no capacity"]
    assert ("estimated, not reported" in legend) == bool(set(flagged) - OUTSIDE)
    assert not ax.get_xticks().size and not ax.get_yticks().size


def test_south_china_sea_islands_are_in_the_inset_only(layers):
    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot()
    maps.china_axes_map(ax, pd.Series({"460000": 1.0}), cmap="viridis", label="x (t)")
    hainan = next(
        c.get_paths()[c.region_codes.index("460000")]
        for c in ax.collections
        if "460000" in getattr(c, "region_codes", [])
    )
    island_paths = layers.islands["460000"]
    # The main frame's Hainan stops at Hainan Island; the islands lie further south.
    assert hainan.vertices[:, 1].min() > island_paths.vertices[:, 1].max()
    assert ax.get_ylim()[0] > island_paths.vertices[:, 1].min()
    (inset,) = ax.child_axes
    assert any(c.get_gid() == "south-china-sea-islands" for c in inset.collections)
    ymin, ymax = inset.get_ylim()
    assert ymin < island_paths.vertices[:, 1].min() < ymax


def test_plotting_stays_out_of_the_optimizer():
    """Solving (which uses geo.network) loads neither geo.maps nor matplotlib."""
    code = (
        "import sys, optimizer, geo\n"
        "optimizer.solve(optimizer.load_scenario())\n"
        "assert 'geo.maps' not in sys.modules and 'matplotlib' not in sys.modules\n"
        "from geo import sector_figure\n"
        "assert sector_figure.__module__ == 'geo.maps'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_figure_is_laid_out_once_whatever_it_is_saved_as(run, layers, tmp_path, monkeypatch):
    """A chart's constrained layout (the costly part of saving) runs once: the SVG reuses
    the PNG's positions. A page of maps has fixed positions and no layout engine at all.
    The hover layer of the report relies on both."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    calls = []
    execute = ConstrainedLayoutEngine.execute
    monkeypatch.setattr(
        ConstrainedLayoutEngine, "execute", lambda self, fig: calls.append(1) or execute(self, fig)
    )
    chart = maps.regions_bar(run["sector_summary"])
    before = chart.axes[0].get_position().bounds
    paths = maps.save_figure(chart, tmp_path / "once", ("png", "svg"))
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert len(calls) == 1
    after = chart.axes[0].get_position().bounds
    assert after != before  # laid out (not the initial grid) ...
    maps.save_figure(chart, tmp_path / "twice", ("svg",))
    assert len(calls) == 1  # ... and frozen
    assert chart.axes[0].get_position().bounds == after
    page = sector_fig(run, layers)
    assert page.get_layout_engine() is None
    boxes = [ax.get_position().bounds for ax in page.axes]
    maps.save_figure(page, tmp_path / "page", ("png", "svg"))
    assert len(calls) == 1
    assert [ax.get_position().bounds for ax in page.axes] == boxes


def test_save_figure_writes_a_palette_png_only_by_default(run, layers, tmp_path):
    from PIL import Image

    paths = maps.save_figure(sector_fig(run, layers), tmp_path / "fig")
    assert [p.name for p in paths] == ["fig.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]
    with Image.open(paths[0]) as image:
        assert image.mode == "P"
    with pytest.raises(ValueError, match="figure formats"):
        maps.save_figure(Figure(), tmp_path / "x", ("pdf",))


def test_the_hover_layer_lies_on_the_provinces_of_the_saved_png(run, layers, tmp_path):
    """map_overlays maps projected km to PNG pixels: the pixel under a province's
    label point is that province's colour (Xinjiang's, on the observed PV map)."""
    from PIL import Image

    fig = sector_fig(run, layers)
    (png,) = maps.save_figure(fig, tmp_path / "fig")
    overlays = maps.map_overlays(fig)
    assert len(overlays) == 4
    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"))
        assert (overlays[0]["width"], overlays[0]["height"]) == image.size
    a, _, _, d, e, f = overlays[0]["matrix"]
    x_km, y_km = (v / 1000 for v in layers.points["650000"])
    x, y = a * x_km + e, d * y_km + f
    ax = maps.map_axes(fig)[0]
    coll = next(c for c in ax.collections if "650000" in getattr(c, "region_codes", []))
    value = coll.get_array()[coll.region_codes.index("650000")]
    expected = np.array(coll.cmap(coll.norm(value))[:3]) * 255
    assert np.abs(pixels[round(y), round(x)] - expected).max() < 40
    paths = maps.hover_paths()
    assert set(paths) == set(layers.main) and all(p.startswith("M") for p in paths.values())


def test_chinese_text_is_drawn_with_the_shipped_font():
    """A figure in the maps' style draws Chinese names with real glyphs (no 'missing from
    font' warning), from the font shipped in geo/fonts, not one the machine may have."""
    import warnings

    from matplotlib import font_manager, rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from geo import cjk

    with rc_context(maps.STYLE), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = Figure(figsize=(2, 1))
        fig.text(0.1, 0.5, "北京市 广东省 新疆维吾尔自治区", fontweight="bold")
        FigureCanvasAgg(fig).draw()
    assert not [w for w in caught if "missing from font" in str(w.message)]
    found = font_manager.findfont(cjk.FAMILY, fallback_to_default=False)
    assert found == str(cjk.FONT_FILE)
    assert cjk.FONT_FILE.stat().st_size < 1_500_000
    assert (cjk.FONT_FILE.parent / "OFL.txt").read_text(encoding="utf-8").startswith("Copyright")
