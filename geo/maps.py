"""Maps and charts of a dupopt run: observed buildout vs the coordinated plan.

Every function here *consumes* result tables (the DataFrames that
:func:`optimizer.read_results` returns or that ``Result.tables`` / ``Comparison`` hold)
and returns a :class:`matplotlib.figure.Figure`. Figures are built with the
object-oriented API on a plain ``Figure`` (never ``pyplot``), so they are independent of
the interactive backend, never shown, and need not be closed: they are freed when the
caller drops them. :func:`save_figure` lays a figure out and draws it once and writes a
PNG (150 dpi), and an SVG on request.

Maps use an Albers equal-area projection for China (:data:`geo.ALBERS_CHINA`) and draw
all 34 provincial-level divisions:

* regions with a value are coloured by it (colour-blind-safe colour maps: viridis,
  cividis, YlOrRd, and a diverging ``RdBu_r`` centred on zero for gaps);
* regions with no value are mid grey ("no capacity" / "no data");
* Taiwan, Hong Kong and Macau, outside national industrial planning
  (``in_national_planning`` false in ``regions.csv``), are light grey;
* values that are estimates rather than reported figures carry sparse faint lines (``/``);
* the main frame is clipped to the mainland extent (Hainan's islands south of 17.5°N
  are left out of it) and a small inset in the lower right shows the South China Sea
  islands at a smaller scale. No maritime boundary lines are drawn: the inset shows
  the island polygons held in the boundary file only.

Examples
--------
>>> import pandas as pd
>>> from matplotlib.figure import Figure
>>> fig = Figure(figsize=(6, 5), layout="constrained")
>>> ax = fig.add_subplot()
>>> sm = china_axes_map(ax, pd.Series({"110000": 3.0, "440000": 12.0}),
...                     cmap="viridis", label="capacity (GW/yr)")
>>> len(map_axes(fig))
1
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PatchCollection
from matplotlib.colors import BoundaryNorm, Colormap, ListedColormap, Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath

from geo.boundaries import ALBERS_CHINA, _file_key, _resolve
from geo.cjk import register as register_cjk_font
from geo.regions import NON_MAINLAND, REGION_NAMES

__all__ = [
    "DPI",
    "INSET_LABEL",
    "MAP_LABEL",
    "SCS_CLIP_LAT",
    "MapLayers",
    "china_axes_map",
    "cost_chart",
    "draw_once",
    "drawn_regions",
    "gap_small_multiples",
    "hover_paths",
    "map_axes",
    "map_layers",
    "map_overlays",
    "map_page",
    "region_figure",
    "regions_bar",
    "save_figure",
    "sector_figure",
    "stranded_chart",
]

#: Resolution of saved PNGs (dots per inch).
DPI = 150
#: ``Axes.get_label()`` of every main map axes drawn by :func:`china_axes_map`.
MAP_LABEL = "dupopt-map"
#: ``Axes.get_label()`` of the South China Sea inset of a map.
INSET_LABEL = "dupopt-scs-inset"
#: Latitude (°N) south of which islands are left out of the main frame (inset only).
SCS_CLIP_LAT = 17.5
#: Longitude/latitude box shown by the South China Sea inset (west, south, east, north).
INSET_BOX = (105.5, 2.8, 122.0, 24.2)
#: Tolerance (m) of the simplification of province outlines for drawing.
SIMPLIFY_M = 4000.0
#: Parts of a region smaller than this (m², i.e. 5 km²) are not drawn in the main frame.
MIN_PART_AREA = 5e6
#: Height of the South China Sea inset as a share of the main frame's height.
INSET_HEIGHT = 0.36
#: Hatch marking regions whose value is estimated rather than reported: sparse faint lines,
#: a quiet cue (most observed figures are estimates; the hover text names each one's quality).
HATCH = "/"

#: Kinds of region fill; collections are named ``regions-<kind>[-estimated]`` (gid).
LAYER_VALUES = "values"
LAYER_MISSING = "missing"
LAYER_OUTSIDE = "outside"

# Fill colours of regions without a value and of regions outside national planning.
MISSING_COLOUR = "#a3a3a3"
OUTSIDE_COLOUR = "#e3e3e3"
BORDER_COLOUR = "white"
BORDER_WIDTH = 0.35
HATCH_COLOUR = (0.1, 0.1, 0.1, 0.3)
HATCH_COLOUR_ON_DARK = (1.0, 1.0, 1.0, 0.3)
HATCH_WIDTH = 0.45
# Okabe-Ito colours (colour-blind safe) for the two modes in charts.
MODE_COLOURS = {"observed": "#D55E00", "coordinated": "#0072B2"}
MODE_LABELS = {"observed": "observed (uncoordinated)", "coordinated": "coordinated plan"}


def _shipped_sector_names() -> dict[str, str]:
    import csv

    from optimizer.paths import default_data_dir

    with open(default_data_dir() / "sectors.csv", encoding="utf-8", newline="") as fh:
        return {row["sector"]: row["name"] for row in csv.DictReader(fh)}


#: Display names of the shipped sectors (from ``data/sectors.csv``, the one source of
#: truth); other codes are shown as ``code`` with spaces.
SECTOR_NAMES = _shipped_sector_names()
TERM_NAMES = {
    "capital": "capital (annualised)",
    "fixed_om": "fixed O&M",
    "variable": "variable production",
    "transport": "transport",
    "unmet_penalty": "unmet-demand penalty",
}

# One style for every figure: rcParams are read when artists are created.
STYLE = {
    # Chinese text falls back to the shipped CJK subset (geo.cjk), offline.
    "font.family": ["DejaVu Sans", register_cjk_font()],
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "axes.labelsize": 8,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "figure.titlesize": 11,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#444444",
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "hatch.linewidth": HATCH_WIDTH,
    "svg.hashsalt": "dupopt",
    "savefig.dpi": DPI,
    "figure.dpi": 100,
}


# ---------------------------------------------------------------------------------------
# Geometry: projected, simplified province paths, prepared once and cached
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapLayers:
    """Province outlines projected to Albers and converted to matplotlib paths.

    Build with :func:`map_layers`; pass as ``provinces=`` to draw many maps without
    re-projecting. ``main`` holds one compound path per region (all 34) for the main
    frame (simplified, islets under 5 km² dropped, islands south of
    :data:`SCS_CLIP_LAT` removed), ``inset`` the same paths of the regions inside the
    inset box, ``islands`` the removed South China Sea islands at full detail (one path
    per region that has any), ``points`` label positions.
    Extents are ``(xmin, xmax, ymin, ymax)`` in projected metres; ``inset_bounds`` is the
    inset's ``(x, y, width, height)`` in the main frame's data coordinates.
    """

    main: dict[str, MplPath]
    inset: dict[str, MplPath]
    islands: dict[str, MplPath]
    points: dict[str, tuple[float, float]]
    main_extent: tuple[float, float, float, float]
    inset_extent: tuple[float, float, float, float]
    inset_bounds: tuple[float, float, float, float]


def _geometry_path(geom: shapely.Geometry) -> MplPath:
    """One compound path for a (multi)polygon; exteriors counter-clockwise, holes clockwise.

    With that orientation the non-zero winding rule that matplotlib fills with leaves
    holes empty.
    """
    geom = shapely.orient_polygons(geom, exterior_cw=False)
    rings = shapely.get_rings(shapely.get_parts(geom))
    xy, index = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
    starts = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
    codes[starts] = MplPath.MOVETO
    codes[np.r_[starts[1:] - 1, len(xy) - 1]] = MplPath.CLOSEPOLY
    return MplPath(xy, codes)


def map_layers(
    provinces: gpd.GeoDataFrame | None = None, *, simplify_m: float = SIMPLIFY_M
) -> MapLayers:
    """Project province boundaries for mapping (cached for the shipped boundaries).

    Parameters
    ----------
    provinces
        Boundaries indexed by (or with a column) ``region``, any CRS; ``None`` uses the
        shipped :func:`geo.provinces`.
    simplify_m
        Tolerance (metres) of the outline simplification: about a quarter of a printed
        point at the map's scale is invisible (4 km for a 4.5-inch-wide China map).

    Returns
    -------
    MapLayers
        Paths for the main frame and for the South China Sea inset.

    Examples
    --------
    >>> layers = map_layers()
    >>> len(layers.main), "460000" in layers.islands
    (34, True)
    """
    if provinces is None:
        return _default_layers(*_file_key(None), float(simplify_m))
    return _build_layers(_resolve(provinces), float(simplify_m))


@functools.lru_cache(maxsize=8)
def _default_layers(path: Path, mtime_ns: int, simplify_m: float) -> MapLayers:
    return _build_layers(
        _resolve(gpd.read_file(path, layer="provinces", engine="pyogrio")), simplify_m
    )


def _drop_islets(geom: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geom)
    if len(parts) <= 1:
        return geom
    area = shapely.area(parts)
    return shapely.multipolygons(parts[(area >= MIN_PART_AREA) | (area == area.max())])


def _build_layers(gdf: gpd.GeoDataFrame, simplify_m: float) -> MapLayers:
    geoms = gdf.geometry
    # Split off the islands south of the clip latitude: they are drawn in the inset only.
    north = shapely.box(-180, SCS_CLIP_LAT, 180, 90)
    south = shapely.box(-180, -90, 180, SCS_CLIP_LAT)
    crosses = geoms.bounds["miny"] < SCS_CLIP_LAT
    clipped = geoms.copy()
    clipped[crosses] = shapely.intersection(geoms[crosses].values, north)
    islands = gpd.GeoSeries(
        shapely.intersection(geoms[crosses].values, south), index=geoms.index[crosses], crs=gdf.crs
    )
    main = gpd.GeoSeries(clipped, crs=gdf.crs).to_crs(ALBERS_CHINA)
    # Islets below MIN_PART_AREA are far below a pixel at page scale (about 8 km at
    # 150 dpi); each region keeps at least its largest part (Macau). Coverage
    # simplification then keeps shared borders identical, so no slivers open between
    # neighbours. Together they cut the vertices (and SVG size) by a factor of 3 to 5.
    main_geoms = np.array([_drop_islets(g) for g in main.values], dtype=object)
    if shapely.coverage_is_valid(main_geoms):
        main_geoms = shapely.coverage_simplify(main_geoms, simplify_m)
    else:  # not a clean coverage (user boundaries): simplify each region on its own
        main_geoms = shapely.simplify(main_geoms, simplify_m, preserve_topology=True)
    main = gpd.GeoSeries(main_geoms, index=main.index, crs=main.crs)
    inset_box = gpd.GeoSeries([shapely.box(*INSET_BOX)], crs="EPSG:4326")
    inset_box = inset_box.segmentize(0.25).to_crs(ALBERS_CHINA)
    inside = main.intersects(inset_box.iloc[0])
    islands = islands[~islands.is_empty].to_crs(ALBERS_CHINA)
    points = main.representative_point()
    paths = {r: _geometry_path(g) for r, g in main.items()}
    xmin, ymin, xmax, ymax = main.total_bounds
    pad = 0.02 * (xmax - xmin)
    ixmin, iymin, ixmax, iymax = inset_box.total_bounds
    # The inset goes in the lower right, east of everything drawn in the bottom band of
    # the frame (Taiwan, Fujian); the frame is widened if that needs more room.
    height = INSET_HEIGHT * (ymax - ymin + 2 * pad)
    width = height * (ixmax - ixmin) / (iymax - iymin)
    vertices = np.concatenate([p.vertices for p in paths.values()])
    band = vertices[vertices[:, 1] < ymin - pad + height + pad]
    x0 = float(band[:, 0].max()) + 1.5 * pad
    right = max(xmax + pad, x0 + width)
    return MapLayers(
        main=paths,
        inset={r: paths[r] for r in main.index[inside]},
        islands={r: _geometry_path(g) for r, g in islands.items()},
        points={r: (p.x, p.y) for r, p in points.items()},
        main_extent=(xmin - pad, right, ymin - pad, ymax + pad),
        inset_extent=(ixmin, ixmax, iymin, iymax),
        inset_bounds=(x0, ymin - pad, width, height),
    )


def _layers(provinces: MapLayers | gpd.GeoDataFrame | None) -> MapLayers:
    return provinces if isinstance(provinces, MapLayers) else map_layers(provinces)


# ---------------------------------------------------------------------------------------
# Region metadata
# ---------------------------------------------------------------------------------------


def region_info(regions: pd.DataFrame | None) -> tuple[dict[str, str], frozenset[str]]:
    """English names and the codes outside national planning (``regions`` as in
    ``regions.csv``; the shipped names where None)."""
    if regions is None:
        return dict(REGION_NAMES), NON_MAINLAND
    frame = regions.reset_index() if "region" not in regions.columns else regions
    codes = frame["region"].astype(str)
    names = dict(zip(codes, frame.get("name_en", codes).astype(str), strict=True))
    if "in_national_planning" in frame.columns:
        flag = frame["in_national_planning"]
        if not pd.api.types.is_bool_dtype(flag):
            flag = flag.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
        outside = frozenset(codes[~flag.to_numpy(dtype=bool)])
    else:
        outside = NON_MAINLAND
    return {**REGION_NAMES, **names}, outside


def _by_region(values: pd.Series | Mapping[str, float] | None) -> pd.Series:
    if values is None:
        return pd.Series(dtype=float)
    series = pd.Series(values)
    series.index = series.index.astype(str)
    return series


_SECTOR_NAMES: ContextVar[Mapping[str, str]] = ContextVar("sector_names", default=SECTOR_NAMES)


@contextmanager
def sector_names(names: Mapping[str, str]) -> Iterator[None]:
    """Name and order sectors by ``names`` (code -> display name, in display order) while
    drawing: a report of another scenario shows that scenario's sectors, not the shipped
    ones (the default outside this block).

    >>> with sector_names({"steel": "Crude steel"}):
    ...     sector_name("steel"), sector_order(["x", "steel"])
    ('Crude steel', ['steel', 'x'])
    """
    token = _SECTOR_NAMES.set(dict(names))
    try:
        yield
    finally:
        _SECTOR_NAMES.reset(token)


def sector_name(sector: str) -> str:
    """Display name of a sector code (``"solar_pv"`` -> ``"Solar PV modules"``)."""
    return _SECTOR_NAMES.get().get(sector, sector.replace("_", " "))


def sector_order(sectors: Iterable[str]) -> list[str]:
    """``sectors`` in the order of the current sector names, then others alphabetically."""
    present = {str(s) for s in sectors}
    known = [s for s in _SECTOR_NAMES.get() if s in present]
    return known + sorted(present - set(known))


# ---------------------------------------------------------------------------------------
# The shared map routine
# ---------------------------------------------------------------------------------------


def _collection(paths: list[MplPath], **kwargs) -> PatchCollection:
    return PatchCollection([PathPatch(p) for p in paths], **kwargs)


def _draw_regions(
    ax: Axes,
    paths: Mapping[str, MplPath],
    data: pd.Series,
    outside: frozenset[str],
    estimated: set[str],
    cmap: Colormap,
    norm: Normalize,
) -> None:
    """Draw the region layers on ``ax``, one collection per kind of fill.

    Kinds: coloured by value, no value, outside planning; the first two are split into a
    plain and a hatched (estimated) collection so that every path is written once.
    Each collection carries ``gid`` (``regions-<kind>[-estimated]``) and
    ``region_codes``, the region of each of its paths.
    """
    codes = list(paths)
    kind = {
        c: LAYER_OUTSIDE
        if c in outside
        else LAYER_VALUES
        if np.isfinite(data.get(c, np.nan))
        else LAYER_MISSING
        for c in codes
    }
    style = {"edgecolor": BORDER_COLOUR, "linewidth": BORDER_WIDTH, "antialiased": True}
    for layer, zorder in ((LAYER_OUTSIDE, 1), (LAYER_MISSING, 1), (LAYER_VALUES, 2)):
        members = [c for c in codes if kind[c] == layer]
        groups = [(members, False)]
        if layer != LAYER_OUTSIDE:
            groups = [
                ([c for c in members if c not in estimated], False),
                ([c for c in members if c in estimated], True),
            ]
        for group, hatched in groups:
            if not group and (hatched or layer == LAYER_VALUES):
                continue
            coll = _collection([paths[c] for c in group], **style)
            if layer == LAYER_VALUES:
                coll.set_cmap(cmap)
                coll.set_norm(norm)
                coll.set_array(np.array([data[c] for c in group], dtype=float))
            else:
                coll.set_facecolor(OUTSIDE_COLOUR if layer == LAYER_OUTSIDE else MISSING_COLOUR)
            if hatched:
                # Dark hatching on light fills, light hatching on dark fills.
                fills = [
                    cmap(norm(data[c])) if layer == LAYER_VALUES else MISSING_COLOUR for c in group
                ]
                coll.set_hatch(HATCH)
                coll.set_hatchcolor([_hatch_colour(f) for f in fills])
                coll.set_hatch_linewidth(HATCH_WIDTH)
            coll.set_gid(f"regions-{layer}" + ("-estimated" if hatched else ""))
            coll.set_zorder(zorder)
            coll.region_codes = group  # the region of each path, in order
            ax.add_collection(coll, autolim=False)


def drawn_regions(ax: Axes) -> pd.DataFrame:
    """Which regions a map axes drew, and how.

    Parameters
    ----------
    ax
        A map axes from :func:`china_axes_map` (or its inset).

    Returns
    -------
    pandas.DataFrame
        One row per drawn region path: ``region``, ``layer`` (``"values"``,
        ``"missing"`` or ``"outside"``) and ``estimated`` (hatched).

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> _ = china_axes_map(ax, pd.Series({"110000": 1.0}), cmap="viridis", label="x (t)",
    ...                    estimated=pd.Series({"110000": True}), colorbar=False)
    >>> drawn = drawn_regions(ax)
    >>> len(drawn), drawn.groupby("layer").size().to_dict()
    (34, {'missing': 30, 'outside': 3, 'values': 1})
    >>> drawn.loc[drawn.estimated, "region"].tolist()
    ['110000']
    """
    rows = [
        (code, coll.get_gid().split("-")[1], coll.get_gid().endswith("-estimated"))
        for coll in ax.collections
        if str(coll.get_gid()).startswith("regions-")
        for code in coll.region_codes
    ]
    return pd.DataFrame(rows, columns=["region", "layer", "estimated"])


def _hatch_colour(fill) -> tuple[float, float, float, float]:
    r, g, b, _ = to_rgba(fill)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return HATCH_COLOUR if luminance > 0.45 else HATCH_COLOUR_ON_DARK


def _bare(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="box")


def china_axes_map(
    ax: Axes,
    values: pd.Series | Mapping[str, float],
    *,
    cmap: str | Colormap,
    norm: Normalize | None = None,
    label: str,
    regions: pd.DataFrame | None = None,
    estimated: pd.Series | Mapping[str, bool] | None = None,
    provinces: MapLayers | gpd.GeoDataFrame | None = None,
    missing_label: str = "no data",
    legend: bool = True,
    colorbar: bool = True,
    inset: bool = True,
    inset_title: bool = True,
    annotate: int | Sequence[str] = 0,
    value_format: str = "{:,.3g}",
    colorbar_kw: Mapping[str, object] | None = None,
) -> ScalarMappable:
    """Draw a choropleth of China's 34 provincial-level divisions on ``ax``.

    The map is in an Albers equal-area projection for China (:data:`geo.ALBERS_CHINA`).
    The main frame is clipped to the mainland extent: Hainan's islands south of
    :data:`SCS_CLIP_LAT` (17.5°N) are left out of it and shown instead, at a smaller
    scale, in a small inset axes in the lower right ("South China Sea islands"; tiny
    islands get a dark outline so they stay visible). No maritime boundary lines are
    drawn. Regions outside national planning (``in_national_planning`` false: Taiwan,
    Hong Kong, Macau) are light grey whatever their value; regions without a finite value
    are mid grey (``missing_label``); regions flagged in ``estimated`` are hatched
    (``///``). Borders are thin and white; the axes have no ticks or frame.

    Parameters
    ----------
    ax
        Axes to draw on (its figure receives the colourbar).
    values
        Value per region, indexed by the 6-character GB/T 2260 code. Missing codes and
        NaN are "no data".
    cmap
        Colour map (name or object).
    norm
        Colour normalisation; ``None`` spans the finite values.
    label
        Colourbar label; include the unit, e.g. ``"capacity (GW/yr)"``.
    regions
        Region table with ``region``, ``name_en``, ``in_national_planning`` (the
        scenario's ``regions.csv``); ``None`` uses the shipped one.
    estimated
        Boolean per region: ``True`` where the value is estimated, not reported.
    provinces
        Boundaries: ``None`` (shipped), a GeoDataFrame, or prepared :class:`MapLayers`
        (fastest when drawing many maps).
    missing_label
        Legend text for regions without a value ("no capacity", "no data").
    legend, colorbar, inset
        Draw the legend (lower left), the colourbar (below) and the inset.
    inset_title
        Caption the inset "South China Sea islands" (off for small maps; say it in the
        figure legend instead).
    annotate
        Number of regions with the largest absolute values to label with their English
        names, or a sequence of region codes to label.
    value_format
        Format of the value shown after an annotated name.
    colorbar_kw
        Extra keyword arguments for ``Figure.colorbar``.

    Returns
    -------
    matplotlib.cm.ScalarMappable
        The colour mapping (``norm``, ``cmap``; ``colorbar`` holds the colourbar when one
        was drawn). The regions drawn are listed by :func:`drawn_regions`.

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(6, 5), layout="constrained")
    >>> ax = fig.add_subplot()
    >>> values = pd.Series({"110000": 3.0, "440000": 12.0, "650000": 1.5})
    >>> sm = china_axes_map(ax, values, cmap="viridis", label="capacity (GW/yr)",
    ...                     estimated=pd.Series({"440000": True}))
    >>> sm.norm.vmin, sm.norm.vmax, sm.colorbar.ax.get_xlabel()
    (1.5, 12.0, 'capacity (GW/yr)')
    """
    layers = _layers(provinces)
    names, outside = region_info(regions)
    data = _by_region(values).astype(float)
    flags = _by_region(estimated)
    flagged = {c for c, f in flags.items() if bool(f) and not pd.isna(f)}
    cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    finite = data[np.isfinite(data) & ~data.index.isin(list(outside))]
    if norm is None:
        lo, hi = (finite.min(), finite.max()) if len(finite) else (0.0, 1.0)
        norm = Normalize(lo, hi if hi > lo else lo + 1.0)

    ax.set_label(MAP_LABEL)
    _draw_regions(ax, layers.main, data, outside, flagged, cmap, norm)
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    mappable.set_array(finite.to_numpy())
    xmin, xmax, ymin, ymax = layers.main_extent
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    _bare(ax)
    ax.set_axis_off()

    if inset:
        _draw_inset(ax, layers, data, outside, flagged, cmap, norm, title=inset_title)
    if annotate:
        _annotate(ax, layers, data, names, outside, annotate, value_format)
    if legend:
        handles = legend_handles(
            outside=any(c in outside for c in layers.main),
            missing=any(
                c not in outside and not np.isfinite(data.get(c, np.nan)) for c in layers.main
            ),
            estimated=bool(flagged - outside),
            missing_label=missing_label,
        )
        if handles:
            ax.legend(
                handles=handles,
                loc="lower left",
                frameon=False,
                handlelength=1.6,
                handleheight=1.1,
                borderaxespad=0.2,
            ).set_in_layout(False)  # inside the map's box: nothing for the layout to measure
    cax = getattr(ax, "colorbar_axes", None)  # a fixed place for it (map_page)
    if colorbar and cax is not None:
        cbar = ax.get_figure(root=True).colorbar(mappable, cax=cax, orientation="horizontal")
    elif colorbar:
        kw = {"orientation": "horizontal", "shrink": 0.62, "aspect": 32, "pad": 0.015}
        kw.update(colorbar_kw or {})
        cbar = ax.get_figure(root=True).colorbar(mappable, ax=ax, **kw)
    elif cax is not None:
        cax.set_visible(False)
    if colorbar:
        cbar.set_label(label)
        cbar.outline.set_linewidth(0.4)
        cbar.ax.tick_params(width=0.5, length=2.5)
    return mappable


def legend_handles(
    *, outside: bool, missing: bool, estimated: bool, missing_label: str
) -> list[Patch]:
    """Legend patches for the grey, missing and hatched (estimated) regions of a map."""
    edge = {"edgecolor": "#9a9a9a", "linewidth": 0.4}
    handles = []
    if outside:
        handles.append(Patch(facecolor=OUTSIDE_COLOUR, label="outside national planning", **edge))
    if missing:
        handles.append(Patch(facecolor=MISSING_COLOUR, label=missing_label, **edge))
    if estimated:
        patch = Patch(facecolor="white", hatch=HATCH, label="estimated, not reported", **edge)
        patch.set_hatchcolor(HATCH_COLOUR)
        patch.set_hatch_linewidth(HATCH_WIDTH)
        handles.append(patch)
    return handles


def _draw_inset(
    ax: Axes,
    layers: MapLayers,
    data: pd.Series,
    outside: frozenset[str],
    flagged: set[str],
    cmap: Colormap,
    norm: Normalize,
    *,
    title: bool = True,
) -> Axes:
    xmin, xmax, ymin, ymax = layers.inset_extent
    inset = ax.inset_axes(layers.inset_bounds, transform=ax.transData)
    inset.set_in_layout(False)  # inside the map's box: nothing for the layout to measure
    inset.set_label(INSET_LABEL)
    _draw_regions(inset, layers.inset, data, outside, flagged, cmap, norm)
    # Islands of a few hundred metres would vanish at this scale: outline them.
    codes = list(layers.islands)
    dots = _collection(
        [layers.islands[c] for c in codes],
        facecolor="#4d4d4d",
        edgecolor="#4d4d4d",
        linewidth=0.5,
        zorder=4,
    )
    dots.set_gid("south-china-sea-islands")
    inset.add_collection(dots, autolim=False)
    inset.set_xlim(xmin, xmax)
    inset.set_ylim(ymin, ymax)
    _bare(inset)
    inset.set_facecolor("white")
    for spine in inset.spines.values():
        spine.set_visible(True)
        spine.set_linewidth(0.5)
        spine.set_edgecolor("#7a7a7a")
    if title:
        inset.set_title(
            "South China Sea islands", fontsize=5.5, fontweight="normal", color="#4d4d4d", pad=2
        )
    return inset


def _annotate(
    ax: Axes,
    layers: MapLayers,
    data: pd.Series,
    names: Mapping[str, str],
    outside: frozenset[str],
    annotate: int | Sequence[str],
    value_format: str,
) -> None:
    finite = data[np.isfinite(data) & ~data.index.isin(list(outside))]
    if isinstance(annotate, int):
        codes = finite.abs().sort_values(ascending=False, kind="stable").index[:annotate]
    else:
        codes = [c for c in annotate if c in layers.points]
    halo = [patheffects.withStroke(linewidth=1.8, foreground="white", alpha=0.85)]
    scale = _points_per_metre(ax)
    fontsize = 6.0
    placed: list[tuple[float, float, float, float]] = []  # label boxes in points
    for code in codes:
        if code not in layers.points:
            continue
        x, y = layers.points[code]
        text = names.get(code, code)
        if code in finite.index:
            text += "\n" + value_format.format(finite[code])
        lines = text.split("\n")
        # A generous estimate of the label's size (DejaVu Sans: about 0.6 em a character).
        w = 0.62 * fontsize * max(map(len, lines)) * 1.15 + 2
        h = 1.05 * fontsize * len(lines) * 1.15 + 2
        px, py = x * scale, y * scale
        candidates = [(0, 0), (0, -h), (0, h), (0, -1.8 * h), (0, 1.8 * h), (w, 0), (-w, 0)]
        dx, dy = next(
            (
                (cx, cy)
                for cx, cy in candidates
                if not any(
                    _overlaps((px + cx - w / 2, py + cy - h / 2, w, h), box) for box in placed
                )
            ),
            (0, 0),
        )
        placed.append((px + dx - w / 2, py + dy - h / 2, w, h))
        arrow = None
        if (dx, dy) != (0, 0):  # moved off its region: a thin leader line back to it
            arrow = {"arrowstyle": "-", "color": "#333333", "linewidth": 0.5, "shrinkA": 0}
        ax.annotate(
            text,
            (x, y),
            xytext=(dx, dy),
            textcoords="offset points",
            ha="center",
            va="center",
            fontsize=fontsize,
            color="#111111",
            linespacing=0.95,
            path_effects=halo,
            arrowprops=arrow,
            zorder=6,
        ).set_in_layout(False)


def _points_per_metre(ax: Axes) -> float:
    """Approximate printed points per projected metre of an equal-aspect map axes."""
    fig_w, fig_h = ax.get_figure(root=True).get_size_inches()
    pos = ax.get_position()
    width_pt, height_pt = pos.width * fig_w * 72, pos.height * fig_h * 72
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    # The colourbar added later takes some room: assume a tenth less.
    return 0.9 * min(width_pt / (x1 - x0), height_pt / (y1 - y0))


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def map_axes(fig: Figure) -> list[Axes]:
    """The main map axes of a figure (not insets or colourbars), in drawing order.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> map_axes(Figure())
    []
    """
    found: list[Axes] = []

    def walk(axes: Iterable[Axes]) -> None:
        for ax in axes:
            if ax.get_label() == MAP_LABEL:
                found.append(ax)
            walk(ax.child_axes)

    walk(fig.axes)
    return found


# ---------------------------------------------------------------------------------------
# Map figures
# ---------------------------------------------------------------------------------------


def _flat(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """``frame`` with ``key`` as a column: tables read from disk have it as a column, the
    in-memory ``Comparison`` tables as their index."""
    if key not in frame.columns and key in (frame.index.names or []):
        return frame.reset_index()
    return frame


def _year(frame: pd.DataFrame, year: int | None) -> pd.DataFrame:
    """The rows of ``year`` (``None``: the latest) of a per-year table; a table without
    a ``year`` column as it is."""
    if "year" not in frame.columns or frame.empty:
        return frame
    chosen = frame["year"].max() if year is None else year
    return frame[frame["year"] == chosen]


def _year_suffix(rows: pd.DataFrame) -> str:
    """``", 2023"`` for the title of a figure drawn from the rows of one year."""
    return f", {rows['year'].iloc[0]}" if "year" in rows.columns and len(rows) else ""


def _symmetric(values: pd.Series) -> Normalize:
    finite = values[np.isfinite(values)]
    m = float(finite.abs().max()) if len(finite) else 0.0
    m = m if m > 0 else 1.0
    return Normalize(vmin=-m, vmax=m)


def _estimated(frame: pd.DataFrame) -> pd.Series:
    if "observed_quality" not in frame.columns:
        return pd.Series(dtype=bool)
    quality = frame.set_index("region")["observed_quality"].astype(str).str.lower()
    return quality.isin(["estimated", "assumed"])


#: Fixed layout of a page of maps (inches): the title band, each panel's title band and
#: the band under each map for its colourbar, ticks and label.
PAGE_TITLE_IN, PANEL_TITLE_IN, COLORBAR_IN = 0.5, 0.32, 0.62


def map_page(
    figsize: tuple[float, float], title: str | None, nrows: int = 2, ncols: int = 2
) -> tuple[Figure, np.ndarray]:
    """A page of maps on a fixed grid, with a colourbar axes under each map.

    No layout engine: the positions are set by construction (every map page has the same
    bands), so drawing the page measures no text, the costliest part of a constrained
    layout. Each map axes carries its colourbar axes as ``colorbar_axes``, which
    :func:`china_axes_map` fills (or hides). Call inside ``rc_context(STYLE)``.

    Returns
    -------
    tuple
        The figure and an ``nrows x ncols`` array of map axes.

    Examples
    --------
    >>> fig, axes = map_page((10, 8.6), "Title")
    >>> axes.shape, fig.get_layout_engine() is None, len(fig.axes)
    ((2, 2), True, 8)
    """
    w, h = (round(x, 1) for x in figsize)
    fig = Figure(figsize=(w, h))
    cell_w, cell_h = w / ncols, (h - PAGE_TITLE_IN) / nrows
    map_h = cell_h - PANEL_TITLE_IN - COLORBAR_IN
    axes = np.empty((nrows, ncols), dtype=object)
    for i in range(nrows):
        for j in range(ncols):
            left = j * cell_w
            bottom = h - PAGE_TITLE_IN - (i + 1) * cell_h
            ax = fig.add_axes(
                ((left + 0.08) / w, (bottom + COLORBAR_IN) / h, (cell_w - 0.16) / w, map_h / h)
            )
            ax.set_anchor("N")  # an equal-aspect map hugs its title
            bar_w = 0.62 * cell_w
            cax = fig.add_axes(
                ((left + (cell_w - bar_w) / 2) / w, (bottom + 0.43) / h, bar_w / w, 0.11 / h)
            )
            cax.set_label("<colorbar>")
            ax.colorbar_axes = cax
            axes[i, j] = ax
    if title:
        fig.suptitle(title, y=1 - 0.12 / h, va="top")
    return fig, axes


def new_figure(figsize: tuple[float, float], title: str | None = None) -> Figure:
    """A constrained-layout figure with the bold suptitle; call inside ``rc_context(STYLE)``."""
    # Whole tenths of an inch: a whole number of pixels at 150 dpi.
    fig = Figure(figsize=tuple(round(x, 1) for x in figsize), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.03, h_pad=0.03, wspace=0.02, hspace=0.02)
    if title:
        fig.suptitle(title)
    return fig


def sector_figure(
    gap: pd.DataFrame,
    allocation_observed: pd.DataFrame,
    sector: str,
    regions: pd.DataFrame | None,
    *,
    year: int | None = None,
    provinces: MapLayers | gpd.GeoDataFrame | None = None,
    annotate: int = 3,
    title: str | None = None,
) -> Figure:
    """Four maps of one sector: observed, coordinated, the gap, and the stranded share.

    (a) observed capacity and (b) coordinated capacity share one sequential colour scale
    (viridis) and limits; (c) the gap observed − coordinated uses a diverging scale
    (``RdBu_r``) symmetric about zero (red: more capacity built than the plan needs);
    (d) the share of observed capacity that is stranded (``stranded_capacity /
    capacity`` from the observed allocation, 0–1). Observed-based panels hatch values
    whose ``observed_quality`` is estimated or assumed. Regions with no capacity are grey.

    Parameters
    ----------
    gap
        ``comparison.regional_gap``: region, sector, year, capacity_observed,
        capacity_coordinated, gap, observed_quality, capacity_unit.
    allocation_observed
        Observed-mode ``allocation``: region, sector, year, capacity, stranded_capacity.
    sector
        Sector code, e.g. ``"solar_pv"``.
    regions
        Region table (``regions.csv``) or ``None`` for the shipped one.
    year
        Year to map; ``None`` takes the latest in ``gap``.
    provinces
        Boundaries or prepared :class:`MapLayers` (see :func:`china_axes_map`).
    annotate
        Label this many leading regions (by absolute value) in panels (a)-(c).
    title
        The figure's title (say what it shows); default names the sector, unit and year.

    Returns
    -------
    matplotlib.figure.Figure
        10 × 8.6 inches, four map axes.

    Examples
    --------
    >>> import pandas as pd
    >>> gap = pd.DataFrame({"region": ["110000", "440000"], "sector": "nev", "year": 2023,
    ...     "capacity_observed": [0.4, 2.0], "capacity_coordinated": [0.1, 2.5],
    ...     "gap": [0.3, -0.5], "observed_quality": "estimated",
    ...     "capacity_unit": "M vehicles/yr"})
    >>> alloc = gap.assign(capacity=gap.capacity_observed, stranded_capacity=[0.2, 0.0])
    >>> fig = sector_figure(gap, alloc, "nev", None)
    >>> len(map_axes(fig)), fig.get_suptitle()
    (4, 'New-energy vehicles (M vehicles/yr): observed buildout vs coordinated plan, 2023')
    """
    layers = _layers(provinces)
    gap = _flat(_flat(gap, "region"), "sector")
    allocation_observed = _flat(_flat(allocation_observed, "region"), "sector")
    rows = _year(gap[gap["sector"] == sector], year)
    if rows.empty:
        raise ValueError(f"no rows for sector {sector!r} in the gap table")
    unit = str(rows["capacity_unit"].iloc[0]) if "capacity_unit" in rows.columns else ""
    chosen_year = rows["year"].iloc[0] if "year" in rows.columns else None
    by_region = rows.set_index(rows["region"].astype(str))
    observed = by_region["capacity_observed"].astype(float)
    coordinated = by_region["capacity_coordinated"].astype(float)
    difference = by_region["gap"].astype(float)
    # No capacity in either plan: nothing to compare, grey rather than a white zero.
    difference = difference.where((observed > 0) | (coordinated > 0))
    estimated = _estimated(by_region.reset_index(drop=True))

    alloc = _year(allocation_observed[allocation_observed["sector"] == sector], chosen_year)
    alloc = alloc.set_index(alloc["region"].astype(str))
    capacity = alloc["capacity"].astype(float)
    share = (alloc["stranded_capacity"].astype(float) / capacity.where(capacity > 0)).clip(0, 1)

    hi = float(np.nanmax([observed.max(), coordinated.max(), 0.0]))
    shared = Normalize(0.0, hi if hi > 0 else 1.0)
    if title is None:
        title = f"{sector_name(sector)} ({unit}): observed buildout vs coordinated plan"
        if chosen_year is not None:
            title += f", {chosen_year}"
    with mpl.rc_context(STYLE):
        fig, axes = map_page((10, 8.6), title)
        panels = [
            (
                axes[0, 0],
                "(a) Observed capacity",
                observed.where(observed > 0),
                "viridis",
                shared,
                f"capacity ({unit})",
                estimated,
                "no capacity",
            ),
            (
                axes[0, 1],
                "(b) Coordinated capacity",
                coordinated.where(coordinated > 0),
                "viridis",
                shared,
                f"capacity ({unit})",
                None,
                "no capacity",
            ),
            (
                axes[1, 0],
                "(c) Gap: observed − coordinated",
                difference,
                "RdBu_r",
                _symmetric(difference),
                f"observed − coordinated capacity ({unit})",
                estimated,
                "no capacity in either",
            ),
            (
                axes[1, 1],
                "(d) Stranded share of observed capacity",
                share,
                "YlOrRd",
                Normalize(0.0, 1.0),
                "stranded capacity / capacity (share, 0–1)",
                estimated,
                "no capacity",
            ),
        ]
        for i, (ax, heading, values, cmap, norm, label, est, missing) in enumerate(panels):
            china_axes_map(
                ax,
                values,
                cmap=cmap,
                norm=norm,
                label=label,
                regions=regions,
                estimated=est,
                provinces=layers,
                missing_label=missing,
                annotate=annotate if i < 3 else 0,
            )
            ax.set_title(heading, loc="left")
    return fig


def region_figure(
    region_summary: pd.DataFrame,
    regions: pd.DataFrame | None,
    *,
    year: int | None = None,
    provinces: MapLayers | gpd.GeoDataFrame | None = None,
    annotate: int = 3,
    title: str | None = None,
) -> Figure:
    """Four maps per region: stranded debt, duplicated sectors, Krugman index (two modes).

    (a) local-government debt tied to stranded capacity under the observed buildout
    (CNY bn); (b) the number of priority sectors in which the region duplicates others,
    i.e. its observed capacity exceeds the coordinated plan (``sectors_duplicated``,
    discrete colours); (c) and (d) the Krugman specialisation index of the capital mix
    (0 = same mix as the rest of the country, 2 = no sector in common), observed and
    coordinated, on one shared scale.

    Parameters
    ----------
    region_summary
        ``comparison.region_summary``: region, year, stranded_debt_cny_bn_observed,
        sectors_duplicated, krugman_observed, krugman_coordinated.
    regions
        Region table or ``None`` for the shipped one.
    year
        Year to map (named in the title); ``None`` takes the latest.
    provinces
        Boundaries or prepared :class:`MapLayers`.
    annotate
        Label this many regions with the most stranded debt in panel (a).
    title
        The figure's title; default names what the panels show and the year.

    Returns
    -------
    matplotlib.figure.Figure
        10 × 8.6 inches, four map axes.

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"region": ["110000", "440000"], "year": 2023,
    ...     "stranded_debt_cny_bn_observed": [20.4, 5.0], "sectors_duplicated": [4, 5],
    ...     "krugman_observed": [1.5, 0.4], "krugman_coordinated": [0.4, 0.3]})
    >>> fig = region_figure(summary, None)
    >>> len(map_axes(fig)), fig.get_suptitle()[-6:]
    (4, ', 2023')
    """
    layers = _layers(provinces)
    region_summary = _year(_flat(region_summary, "region"), year)
    frame = region_summary.set_index(region_summary["region"].astype(str))
    debt = frame["stranded_debt_cny_bn_observed"].astype(float)
    duplicated = frame["sectors_duplicated"].astype(float)
    kr_obs = frame["krugman_observed"].astype(float)
    kr_coo = frame["krugman_coordinated"].astype(float)
    top = int(np.nanmax([duplicated.max(), 1.0]))
    if "sectors_observed" in frame.columns:
        top = max(top, int(np.nanmax([frame["sectors_observed"].max(), 1.0])))
    bounds = np.arange(-0.5, top + 1.0, 1.0)
    dup_cmap = ListedColormap(mpl.colormaps["Purples"](np.linspace(0.15, 1.0, len(bounds) - 1)))
    dup_norm = BoundaryNorm(bounds, dup_cmap.N)
    k_hi = float(np.nanmax([kr_obs.max(), kr_coo.max(), 0.0]))
    k_norm = Normalize(0.0, k_hi if k_hi > 0 else 1.0)
    debt_hi = float(np.nanmax([debt.max(), 0.0]))

    with mpl.rc_context(STYLE):
        fig, axes = map_page(
            (10, 8.6),
            title
            or "Regions: debt tied to stranded capacity, duplication and specialisation"
            + _year_suffix(region_summary),
        )
        china_axes_map(
            axes[0, 0],
            debt,
            cmap="YlOrRd",
            norm=Normalize(0.0, debt_hi if debt_hi > 0 else 1.0),
            label="debt tied to stranded capacity, observed (CNY bn)",
            regions=regions,
            provinces=layers,
            annotate=annotate,
            value_format="{:,.0f}",
        )
        axes[0, 0].set_title("(a) Debt tied to stranded capacity (observed)", loc="left")
        sm = china_axes_map(
            axes[0, 1],
            duplicated,
            cmap=dup_cmap,
            norm=dup_norm,
            label="sectors with observed capacity above the plan (count)",
            regions=regions,
            provinces=layers,
        )
        sm.colorbar.set_ticks(np.arange(0, top + 1))
        sm.colorbar.ax.minorticks_off()
        axes[0, 1].set_title("(b) Sectors duplicated: observed above the plan", loc="left")
        for ax, series, heading in (
            (axes[1, 0], kr_obs, "(c) Krugman specialisation index, observed"),
            (axes[1, 1], kr_coo, "(d) Krugman specialisation index, coordinated"),
        ):
            china_axes_map(
                ax,
                series,
                cmap="cividis",
                norm=k_norm,
                label="Krugman index (dimensionless; 0 = same mix as the rest, 2 = none shared)",
                regions=regions,
                provinces=layers,
            )
            ax.set_title(heading, loc="left")
    return fig


def gap_small_multiples(
    gap: pd.DataFrame,
    regions: pd.DataFrame | None,
    *,
    year: int | None = None,
    provinces: MapLayers | gpd.GeoDataFrame | None = None,
    ncols: int = 4,
    estimated: bool = True,
    title: str | None = None,
) -> Figure:
    """One small map per sector of the gap observed − coordinated capacity, on one page.

    Each map has its own diverging colour scale (``RdBu_r``) symmetric about zero and a
    colourbar labelled with the sector's capacity unit; red means more capacity was built
    than the coordinated plan places there. One legend serves all maps; no region names.

    Parameters
    ----------
    gap
        ``comparison.regional_gap`` (see :func:`sector_figure`).
    regions
        Region table or ``None`` for the shipped one.
    year
        Year to map; ``None`` takes the latest.
    provinces
        Boundaries or prepared :class:`MapLayers`.
    ncols
        Maps per row.
    estimated
        Mark regions whose observed value is estimated or assumed.
    title
        The figure's title; default names what it shows and the year.

    Returns
    -------
    matplotlib.figure.Figure
        One map axes per sector, in the order sectors first appear in ``gap``.

    Examples
    --------
    >>> import pandas as pd
    >>> gap = pd.DataFrame({"region": ["110000", "440000"] * 2,
    ...     "sector": ["nev", "nev", "cement", "cement"], "year": 2023,
    ...     "capacity_observed": [0.4, 2.0, 3.0, 90.0],
    ...     "capacity_coordinated": [0.1, 2.5, 2.0, 60.0], "gap": [0.3, -0.5, 1.0, 30.0],
    ...     "observed_quality": "estimated",
    ...     "capacity_unit": ["M vehicles/yr"] * 2 + ["Mt/yr"] * 2})
    >>> len(map_axes(gap_small_multiples(gap, None)))
    2
    """
    # Each map is about 2.6 inches wide: a coarser outline is just as exact on the page.
    layers = (
        provinces
        if isinstance(provinces, MapLayers)
        else map_layers(provinces, simplify_m=2.5 * SIMPLIFY_M)
    )
    rows = _year(_flat(_flat(gap, "region"), "sector"), year)
    sectors = list(dict.fromkeys(rows["sector"]))
    if not sectors:
        raise ValueError("the gap table has no rows")
    ncols = max(1, min(ncols, len(sectors)))
    nrows = -(-len(sectors) // ncols)
    any_estimated = any_missing = False
    chosen = f", {rows['year'].iloc[0]}" if "year" in rows.columns else ""
    with mpl.rc_context(STYLE):
        fig = new_figure(
            (3.0 * ncols, 2.75 * nrows + 0.55),
            title or f"Capacity gap by sector: observed − coordinated{chosen}",
        )
        axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
        for ax, sector in zip(axes, sectors, strict=False):
            part = rows[rows["sector"] == sector]
            part = part.set_index(part["region"].astype(str))
            unit = str(part["capacity_unit"].iloc[0]) if "capacity_unit" in part.columns else ""
            diff = (
                part["gap"]
                .astype(float)
                .where((part["capacity_observed"] > 0) | (part["capacity_coordinated"] > 0))
            )
            est = _estimated(part.reset_index(drop=True)) if estimated else None
            any_estimated |= bool(est is not None and est.any())
            any_missing |= bool(diff.isna().any()) or bool(
                set(layers.main) - set(diff.index) - set(region_info(regions)[1])
            )
            china_axes_map(
                ax,
                diff,
                cmap="RdBu_r",
                norm=_symmetric(diff),
                label=f"gap ({unit})",
                regions=regions,
                estimated=est,
                provinces=layers,
                legend=False,
                inset_title=False,
                colorbar_kw={"shrink": 0.8, "aspect": 24, "pad": 0.01},
            )
            ax.set_title(sector_name(sector), fontsize=8.5)
        for ax in axes[len(sectors) :]:
            ax.set_visible(False)
        handles = legend_handles(
            outside=True,
            missing=any_missing,
            estimated=any_estimated,
            missing_label="no capacity in either",
        )
        handles.insert(0, Patch(facecolor=mpl.colormaps["RdBu_r"](0.9), label="observed > plan"))
        handles.insert(1, Patch(facecolor=mpl.colormaps["RdBu_r"](0.1), label="observed < plan"))
        map_legend(fig, handles)
    return fig


def map_legend(fig: Figure, handles: list[Patch]) -> None:
    """One legend row under a figure of small maps: ``handles`` and the inset's key."""
    handles = [
        *handles,
        Patch(
            facecolor="white",
            edgecolor="#7a7a7a",
            linewidth=0.5,
            label="lower-right boxes: South China Sea islands",
        ),
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=len(handles),
        frameon=False,
        handlelength=1.6,
        handleheight=1.1,
    )


# ---------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------


def _sector_labels(codes: Iterable[str]) -> list[str]:
    return [sector_name(str(c)) for c in codes]


def _grouped_barh(
    ax: Axes,
    labels: list[str],
    series: Mapping[str, np.ndarray],
    fmt: str,
    *,
    inside: bool = False,
    invert: bool = True,
) -> None:
    """Horizontal grouped bars, one group per label, first series on top; values printed.

    ``inside`` prints the values in white in the middle of the bars, else after their end.
    """
    n = len(series)
    height = 0.8 / n
    y = np.arange(len(labels))
    top = max((float(np.nanmax(v)) for v in series.values() if len(v)), default=0.0)
    for i, (mode, values) in enumerate(series.items()):
        offset = (i - (n - 1) / 2) * height
        bars = ax.barh(
            y + offset,
            values,
            height=height * 0.92,
            color=MODE_COLOURS.get(mode),
            label=MODE_LABELS.get(mode, mode),
        )
        texts = [fmt.format(v) for v in values]
        if inside:
            ax.bar_label(bars, labels=texts, label_type="center", color="white", fontsize=7)
        else:
            ax.bar_label(bars, labels=texts, padding=2, fontsize=6.5)
    ax.set_yticks(y, labels)
    if invert:
        ax.invert_yaxis()
    ax.set_xlim(0, top * 1.16 if top > 0 else 1.0)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", linewidth=0.4, color="#dddddd")
    ax.set_axisbelow(True)


def _mode_legend(fig: Figure, ax: Axes) -> None:
    fig.legend(
        *ax.get_legend_handles_labels(),
        loc="outside lower center",
        ncols=2,
        frameon=False,
    )


def regions_bar(
    sector_summary: pd.DataFrame,
    *,
    planning_regions: int | None = 31,
    year: int | None = None,
    title: str | None = None,
) -> Figure:
    """Bar chart: per sector, how many regions hold capacity, observed vs coordinated.

    The "31 vs N" comparison: duplicated buildout puts capacity in (nearly) every
    region, a coordinated plan in fewer.

    Parameters
    ----------
    sector_summary
        ``comparison.sector_summary``: sector, year, regions_observed,
        regions_coordinated.
    planning_regions
        Draw a reference line at this many regions (31 mainland divisions in national
        planning); ``None`` for none.
    year
        Year to draw (named in the title); ``None`` takes the latest.
    title
        The figure's title; default names what it shows and the year.

    Returns
    -------
    matplotlib.figure.Figure
        One bar axes.

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"sector": ["nev", "cement"], "regions_observed": [31, 28],
    ...                         "regions_coordinated": [9, 12]})
    >>> len(regions_bar(summary).axes)
    1
    """
    frame = _year(_flat(sector_summary, "sector"), year).reset_index(drop=True)
    labels = _sector_labels(frame["sector"])
    with mpl.rc_context(STYLE):
        fig = new_figure(
            (7.0, 0.42 * len(labels) + 1.5),
            title or "Regions holding capacity in each priority sector" + _year_suffix(frame),
        )
        ax = fig.add_subplot()
        _grouped_barh(
            ax,
            labels,
            {
                "observed": frame["regions_observed"].to_numpy(dtype=float),
                "coordinated": frame["regions_coordinated"].to_numpy(dtype=float),
            },
            "{:.0f}",
            inside=True,
        )
        if planning_regions:
            ax.axvline(planning_regions, color="#444444", linewidth=0.8, linestyle="--")
            ax.annotate(
                f"{planning_regions} divisions in national planning",
                (planning_regions, 0.5),
                xycoords=ax.get_xaxis_transform(),
                xytext=(3, 0),
                textcoords="offset points",
                rotation=90,
                ha="left",
                va="center",
                fontsize=6.5,
                color="#444444",
            )
            ax.set_xlim(0, max(ax.get_xlim()[1], planning_regions * 1.1))
        ax.set_xlabel("regions with capacity (count)")
        _mode_legend(fig, ax)
    return fig


def stranded_chart(
    sector_summary: pd.DataFrame, *, year: int | None = None, title: str | None = None
) -> Figure:
    """Bar charts of stranded capital and the debt tied to it per sector (CNY bn).

    Parameters
    ----------
    sector_summary
        ``comparison.sector_summary`` with ``year``, ``stranded_capital_cny_bn_observed``
        / ``_coordinated`` and ``stranded_debt_cny_bn_observed`` / ``_coordinated``.
    year
        Year to draw (named in the title); ``None`` takes the latest.
    title
        The figure's title; default names what it shows and the year.

    Returns
    -------
    matplotlib.figure.Figure
        Two bar axes sharing the sector axis.

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"sector": ["nev", "cement"],
    ...     "stranded_capital_cny_bn_observed": [16.0, 499.2],
    ...     "stranded_capital_cny_bn_coordinated": [0.0, 0.0],
    ...     "stranded_debt_cny_bn_observed": [4.8, 149.8],
    ...     "stranded_debt_cny_bn_coordinated": [0.0, 0.0]})
    >>> len(stranded_chart(summary).axes)
    2
    """
    frame = _year(_flat(sector_summary, "sector"), year).reset_index(drop=True)
    labels = _sector_labels(frame["sector"])
    with mpl.rc_context(STYLE):
        fig = new_figure(
            (10, 0.42 * len(labels) + 1.6),
            title
            or "Stranded capital (capacity not needed even at maximum utilisation) "
            "and the debt tied to it"
            + _year_suffix(frame),
        )
        axes = fig.subplots(1, 2, sharey=True)
        for i, (ax, stem, heading) in enumerate(
            (
                (axes[0], "stranded_capital_cny_bn", "(a) Stranded capital"),
                (axes[1], "stranded_debt_cny_bn", "(b) Debt tied to stranded capacity"),
            )
        ):
            _grouped_barh(
                ax,
                labels,
                {
                    "observed": frame[f"{stem}_observed"].to_numpy(dtype=float),
                    "coordinated": frame[f"{stem}_coordinated"].to_numpy(dtype=float),
                },
                "{:,.0f}",
                invert=i == 0,  # the axes share y: invert once
            )
            ax.set_xlabel("CNY bn")
            ax.set_title(heading, loc="left")
        axes[1].tick_params(axis="y", labelleft=False)
        _mode_legend(fig, axes[0])
    return fig


#: Okabe-Ito colours (colour-blind safe) for the cost terms, in order of appearance.
TERM_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")


def cost_chart(
    costs_observed: pd.DataFrame,
    costs_coordinated: pd.DataFrame,
    *,
    year: int | None = None,
    title: str | None = None,
) -> Figure:
    """Annual system cost by objective term in one year, observed vs coordinated (CNY
    bn/yr).

    Left: stacked bars of the total cost of each mode, one segment per term, total
    printed. Right: the difference observed − coordinated per term, i.e. what the
    uncoordinated buildout costs extra in each term, with the total difference.

    Parameters
    ----------
    costs_observed, costs_coordinated
        The ``costs`` tables of the two modes: term, year, value, unit.
    year
        Year to draw (named in the title); ``None`` takes the latest.
    title
        The figure's title; default names what it shows and the year.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes.

    Examples
    --------
    >>> import pandas as pd
    >>> obs = pd.DataFrame({"term": ["capital", "variable"], "year": 2023,
    ...                     "value": [692.4, 7249.6], "unit": "CNY bn/yr"})
    >>> coo = obs.assign(value=[506.9, 7249.6])
    >>> fig = cost_chart(obs, coo)
    >>> len(fig.axes), fig.get_suptitle()
    (2, 'Annual system cost by objective term, 2023')
    """
    costs_observed = _flat(costs_observed, "term")
    costs_coordinated = _flat(costs_coordinated, "term")
    if year is None and "year" in costs_observed.columns and len(costs_observed):
        year = costs_observed["year"].max()  # the same year for both modes
    costs_observed, costs_coordinated = _year(costs_observed, year), _year(costs_coordinated, year)
    obs = costs_observed.groupby("term", sort=False)["value"].sum()
    coo = costs_coordinated.groupby("term", sort=False)["value"].sum()
    terms = list(dict.fromkeys([*obs.index, *coo.index]))
    obs = obs.reindex(terms, fill_value=0.0).astype(float)
    coo = coo.reindex(terms, fill_value=0.0).astype(float)
    unit = "CNY bn/yr"
    if "unit" in costs_observed.columns and len(costs_observed):
        unit = str(costs_observed["unit"].iloc[0])
    colours = {t: TERM_COLOURS[i % len(TERM_COLOURS)] for i, t in enumerate(terms)}
    names = {t: TERM_NAMES.get(t, t.replace("_", " ")) for t in terms}
    with mpl.rc_context(STYLE):
        fig = new_figure(
            (10, 4.4),
            title or "Annual system cost by objective term" + _year_suffix(costs_observed),
        )
        left, right = fig.subplots(1, 2, width_ratios=[1, 1.6])
        modes = [("observed", obs), ("coordinated", coo)]
        x = np.arange(len(modes))
        bottoms = np.zeros(len(modes))
        for term in terms:
            heights = np.array([float(series[term]) for _, series in modes])
            left.bar(
                x,
                heights,
                bottom=bottoms,
                width=0.6,
                color=colours[term],
                label=names[term],
                edgecolor="white",
                linewidth=0.5,
            )
            bottoms += heights
        for xi, total in zip(x, bottoms, strict=True):
            left.text(xi, total, f"{total:,.0f}", ha="center", va="bottom", fontsize=7.5)
        left.set_xticks(x, [MODE_LABELS[m] for m, _ in modes])
        left.set_xlim(-0.6, len(modes) - 0.4)
        left.set_ylabel(f"cost ({unit})")
        left.set_ylim(0, max([*bottoms, 1.0]) * 1.1)
        left.set_title("(a) Total cost and its composition", loc="left")
        left.grid(axis="y", linewidth=0.4, color="#dddddd")
        left.set_axisbelow(True)

        diff = obs - coo
        y = np.arange(len(terms))
        bars = right.barh(y, diff.to_numpy(), color=[colours[t] for t in terms], height=0.6)
        right.bar_label(bars, labels=[f"{v:+,.1f}" for v in diff], padding=2, fontsize=7)
        right.axvline(0, color="#444444", linewidth=0.6)
        right.set_yticks(y, [names[t] for t in terms])
        right.invert_yaxis()
        span = float(np.nanmax(np.abs(diff.to_numpy()))) if len(diff) else 1.0
        span = span if span > 0 else 1.0
        right.set_xlim(
            min(0.0, float(diff.min())) - 0.05 * span, max(0.0, float(diff.max())) + 0.2 * span
        )
        right.set_xlabel(f"observed − coordinated ({unit})")
        right.set_title("(b) Extra cost of the uncoordinated buildout", loc="left")
        right.text(
            0.98,
            0.04,
            f"total: {diff.sum():+,.1f} {unit}",
            transform=right.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            fontweight="bold",
        )
        right.tick_params(axis="y", length=0)
        right.grid(axis="x", linewidth=0.4, color="#dddddd")
        right.set_axisbelow(True)
        fig.legend(
            *left.get_legend_handles_labels(),
            loc="outside lower center",
            ncols=len(terms),
            frameon=False,
        )
    return fig


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------


#: Formats :func:`save_figure` writes: PNG (the report's images) and SVG (on request).
FIGURE_FORMATS = ("png", "svg")
#: Colours of a saved PNG: a 256-colour palette is a third of the size of true colour,
#: and the maps and charts use far fewer distinct fills than that.
PNG_COLOURS = 256


def draw_once(fig: Figure) -> np.ndarray:
    """Lay out and draw ``fig`` at :data:`DPI`, then freeze its layout; return the pixels.

    Constrained layout measures every text and runs twice per draw: the most expensive
    part of saving a map figure. After this call the figure has no layout engine, so any
    later save (an SVG, a second PNG) draws the same positions without laying out again,
    and the axes transforms (:func:`map_overlays`) describe the saved PNG exactly.

    Returns
    -------
    numpy.ndarray
        RGBA pixels, ``figsize * DPI`` in size.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(DPI)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    fig.set_layout_engine("none")
    return np.asarray(canvas.buffer_rgba())


def _write_png(pixels: np.ndarray, path: Path) -> None:
    from PIL import Image

    image = Image.fromarray(pixels).convert("RGB")
    # Fast octree quantisation: about 60 ms for a page of maps, no visible change.
    image.quantize(PNG_COLOURS, method=Image.Quantize.FASTOCTREE).save(path, format="png")


def save_figure(
    fig: Figure,
    path_without_suffix: str | os.PathLike[str],
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """Save ``fig`` in ``formats`` (PNG by default; ``("png", "svg")`` for both); return
    the paths in that order.

    The figure is laid out and drawn once (:func:`draw_once`): the PNG is that drawing,
    ``figsize * 150`` pixels with a 256-colour palette; an SVG reuses its frozen layout.
    The suffixes are appended to the name (``"out/sector.solar_pv"`` gives
    ``out/sector.solar_pv.png``); missing folders are created. Both files are
    reproducible (no date, no software tag, fixed SVG element ids).

    Examples
    --------
    >>> import tempfile
    >>> from matplotlib.figure import Figure
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.suffix for p in save_figure(Figure(figsize=(2, 1)), f"{tmp}/blank")]
    ['.png']
    """
    unknown = sorted(set(formats) - set(FIGURE_FORMATS))
    if unknown or not formats:
        raise ValueError(f"figure formats must be some of {FIGURE_FORMATS}, got {list(formats)}")
    base = Path(path_without_suffix)
    base.parent.mkdir(parents=True, exist_ok=True)
    pixels = draw_once(fig)
    paths = []
    for fmt in formats:
        path = base.with_name(f"{base.name}.{fmt}")
        if fmt == "png":
            _write_png(pixels, path)
        else:
            # Text stays text in the SVG (editable, and much smaller than glyph outlines).
            with mpl.rc_context({"svg.hashsalt": "dupopt", "svg.fonttype": "none"}):
                fig.savefig(path, format="svg", metadata={"Date": None})
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------
# Hover layers: where each map's provinces sit in the saved PNG
# ---------------------------------------------------------------------------------------

#: Outline tolerance (m) of the hover shapes: they only catch the pointer.
HOVER_SIMPLIFY_M = 12_000.0


def hover_paths(provinces: MapLayers | gpd.GeoDataFrame | None = None) -> dict[str, str]:
    """SVG path data (``d``) of each region's main-frame outline, in projected km.

    Coarse (:data:`HOVER_SIMPLIFY_M`) and rounded to 0.1 km: the shapes are invisible
    targets for the pointer laid over the PNG, so a page holds them once and every map
    refers to them (:func:`map_overlays` gives the transform).

    Examples
    --------
    >>> d = hover_paths()
    >>> len(d), d["110000"][:1]
    (34, 'M')
    """
    layers = (
        provinces
        if isinstance(provinces, MapLayers)
        else map_layers(provinces, simplify_m=HOVER_SIMPLIFY_M)
    )
    out = {}
    for code, path in layers.main.items():
        xy = np.round(path.vertices / 1000.0, 1)
        parts = []
        for (x, y), kind in zip(xy, path.codes, strict=True):
            if kind == MplPath.MOVETO:
                parts.append(f"M{x:g} {y:g}")
            elif kind == MplPath.CLOSEPOLY:
                parts.append("Z")
            else:
                parts.append(f"L{x:g} {y:g}")
        out[code] = "".join(parts)
    return out


def map_overlays(fig: Figure) -> list[dict]:
    """For each main map axes of a drawn figure (:func:`draw_once`), how to lay the
    :func:`hover_paths` over the saved PNG.

    Returns
    -------
    list of dict
        In :func:`map_axes` order: ``matrix`` (SVG ``matrix(a b c d e f)`` from projected
        km to PNG pixels, y down), ``clip`` (the axes' box in PNG pixels: x, y, width,
        height) and the PNG's ``width`` and ``height``.
    """
    width, height = (float(v) for v in fig.bbox.size)
    out = []
    for ax in map_axes(fig):
        (a, _, e), (_, d, f), _ = ax.transData.get_matrix()
        box = ax.bbox
        out.append(
            {
                "matrix": [
                    round(a * 1000, 6),
                    0.0,
                    0.0,
                    round(-d * 1000, 6),
                    round(e, 2),
                    round(height - f, 2),
                ],
                "clip": [
                    round(box.x0, 1),
                    round(height - box.y1, 1),
                    round(box.width, 1),
                    round(box.height, 1),
                ],
                "width": round(width),
                "height": round(height),
            }
        )
    return out
