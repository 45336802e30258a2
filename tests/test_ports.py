"""Exports leave through named ports: sea freight picks the nearer port, throughput shares
limit each port, and a scenario without ports is the model it was before.

The synthetic scenarios are built by hand: four regions on a 2 x 2 grid (the first column,
regions 100000 and 100200, is the coast), one sector, no domestic transport cost, so the
port an export leaves through follows from sea freight and the port limits alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer
from dupopt.cli import main
from optimizer import ScenarioError, load_scenario
from optimizer.model.backends import BACKENDS
from optimizer.model.formulation import build
from optimizer.scenario.synthetic import synthetic_scenario
from optimizer.sweeps.fast_model import ParametricModel
from optimizer.sweeps.overrides import Overrides

PROVENANCE = {"source_id": np.nan, "quality": "assumed", "note": "test value"}
SEA_COST = 0.1  # CNY bn per Mt per 1000 km at sea
NEAR_KM, FAR_KM = 1000.0, 2500.0
PORT_COLUMNS = ["port", "name", "region", "year", "cargo", "throughput", "unit"]


def _ports(throughput: tuple[float | None, float | None] = (None, None)) -> pd.DataFrame:
    """Port XXNEA (near) in region 100000 and XXFAR (far) in region 100200; a throughput
    of None gives the port no throughput row (no limit)."""
    rows = []
    for (code, region), t in zip(
        (("XXNEA", "100000"), ("XXFAR", "100200")), throughput, strict=True
    ):
        cargo, unit = ("container", "M TEU") if t is not None else (np.nan, np.nan)
        rows.append((code, code.title(), region, 2023, cargo, t, unit))
    return pd.DataFrame(rows, columns=PORT_COLUMNS).assign(**PROVENANCE)


def _scenario(throughput=(None, None), share: float = 0.5, headroom: float = 1.5, ports=True):
    """One sector exported through two ports; its only destination's share is ``share``
    (renormalised to 1), so the mean sea distance of a port is its distance."""
    scenario, arcs = synthetic_scenario(2, 2, sectors=1, seed=1)
    t = scenario.tables()
    sp = t["sector_parameters"].copy()
    sp.loc[sp["parameter"] == "transport_cost", "value"] = 0.0
    extra = pd.DataFrame(
        [("sector_0", "sea_freight_cost", SEA_COST, "CNY bn/Mt/1000km")],
        columns=["sector", "parameter", "value", "unit"],
    ).assign(**PROVENANCE)
    t["sector_parameters"] = pd.concat([sp, extra], ignore_index=True)
    t["sectors"] = t["sectors"].assign(cargo="container")
    if ports:
        t["ports"] = _ports(throughput)
        t["sea_distances"] = pd.DataFrame(
            [("XXNEA", "NLRTM", NEAR_KM), ("XXFAR", "NLRTM", FAR_KM)],
            columns=["port", "destination", "distance_km"],
        ).assign(**PROVENANCE)
        t["export_destinations"] = pd.DataFrame(
            [("sector_0", 2023, "NLRTM", share)],
            columns=["sector", "year", "destination", "share"],
        ).assign(**PROVENANCE)
    s = optimizer.scenario_from_frames(base_year=2023, parameters={"port_headroom": headroom}, **t)
    return s, arcs


def _exports(scenario) -> float:
    return float(scenario.market("export").sum())


def _by_port(result) -> pd.Series:
    return result.ports.set_index("port")["value"]


# -- the model ---------------------------------------------------------------------------
def test_all_exports_leave_through_the_nearer_port_when_no_limit_binds():
    scenario, arcs = _scenario()
    result = optimizer.solve(scenario, arcs=arcs)
    exports = _exports(scenario)
    assert result.status.ok
    assert _by_port(result)["XXNEA"] == pytest.approx(exports, rel=1e-9)
    assert _by_port(result)["XXFAR"] == pytest.approx(0.0, abs=1e-9)
    assert result.ports.set_index("port")["share"]["XXNEA"] == pytest.approx(1.0)


def test_the_sea_freight_term_equals_its_closed_form_with_shares_renormalised():
    """Share 0.5 of one destination counts as all exports going there: sea freight is
    E x cost x 1000 km / 1000 (not half of it)."""
    scenario, arcs = _scenario(share=0.5)
    result = optimizer.solve(scenario, arcs=arcs)
    costs = result.costs.set_index("term")["value"]
    assert costs["sea_freight"] == pytest.approx(
        _exports(scenario) * SEA_COST * NEAR_KM / 1000.0, rel=1e-9
    )
    assert result.total_cost == pytest.approx(
        costs.drop(["unmet_penalty"], errors="ignore").sum(), rel=1e-12
    )


@pytest.mark.parametrize("headroom", [1.0, 1.2])
def test_the_nearer_port_takes_exactly_headroom_times_its_throughput_share(headroom):
    """Throughputs 3 and 1: the near port may take h x 0.75 of exports, the far port
    gets the rest."""
    scenario, arcs = _scenario(throughput=(3.0, 1.0), headroom=headroom)
    result = optimizer.solve(scenario, arcs=arcs)
    exports = _exports(scenario)
    near = headroom * 0.75 * exports
    assert _by_port(result)["XXNEA"] == pytest.approx(near, rel=1e-9)
    assert _by_port(result)["XXFAR"] == pytest.approx(exports - near, rel=1e-9)
    sea = result.costs.set_index("term")["value"]["sea_freight"]
    expected = SEA_COST * (near * NEAR_KM + (exports - near) * FAR_KM) / 1000.0
    assert sea == pytest.approx(expected, rel=1e-9)
    assert "port_limit" in build(scenario, "coordinated", arcs)[0].constraints


def test_a_port_without_a_throughput_row_is_not_limited():
    """Only the far port reports throughput: the near port is unlimited and takes all."""
    scenario, arcs = _scenario(throughput=(None, 1.0))
    result = optimizer.solve(scenario, arcs=arcs)
    assert _by_port(result)["XXNEA"] == pytest.approx(_exports(scenario), rel=1e-9)


def test_exports_leave_from_the_port_region_and_the_exports_table_sums_ports_by_region():
    scenario, arcs = _scenario(throughput=(3.0, 1.0), headroom=1.0)
    result = optimizer.solve(scenario, arcs=arcs)
    by_region = result.exports.set_index("region")["quantity"]
    assert by_region["100000"] == pytest.approx(0.75 * _exports(scenario), rel=1e-9)
    assert by_region["100200"] == pytest.approx(0.25 * _exports(scenario), rel=1e-9)
    assert set(result.ports["region"]) == {"100000", "100200"}


def test_port_headroom_is_swept_by_the_fast_path_as_by_a_rebuild():
    scenario, arcs = _scenario(throughput=(3.0, 1.0), headroom=1.0)
    model = ParametricModel(scenario, "coordinated", arcs)
    variant = Overrides.from_mapping({"parameters.port_headroom": 1.2})
    hot = model.solve(variant)
    cold = optimizer.solve(variant.apply(scenario), arcs=arcs)
    assert hot.objective == pytest.approx(cold.objective, rel=1e-9)
    assert cold.objective != pytest.approx(optimizer.solve(scenario, arcs=arcs).objective)


def test_the_three_backends_agree_on_a_scenario_with_ports():
    scenario, arcs = _scenario(throughput=(3.0, 1.0), headroom=1.2)
    results = {b: optimizer.solve(scenario, arcs=arcs, backend=b) for b in BACKENDS}
    reference = results["highs"]
    for backend, result in results.items():
        assert result.status.ok, backend
        assert result.objective == pytest.approx(reference.objective, rel=1e-9), backend
        assert _by_port(result).to_numpy() == pytest.approx(
            _by_port(reference).to_numpy(), rel=1e-6, abs=1e-7
        ), backend
        sea = result.costs.set_index("term")["value"]["sea_freight"]
        assert sea == pytest.approx(reference.costs.set_index("term")["value"]["sea_freight"])


# -- without ports, the model is what it was ----------------------------------------------
def test_without_ports_each_coastal_region_exports_with_no_sea_cost():
    scenario, arcs = _scenario(ports=False)
    lp, _ = build(scenario, "coordinated", arcs)
    assert list(lp.variables["export"].index.names) == ["region", "sector", "year"]
    assert "sea_freight" not in lp.objective_terms and "port_limit" not in lp.constraints
    assert "ports" not in optimizer.solve(scenario, arcs=arcs).tables


@pytest.fixture(scope="module")
def without_ports(tmp_path_factory) -> optimizer.Scenario:
    """The shipped data as an LP with the three port tables taken out."""
    source = optimizer.default_data_dir()
    folder = tmp_path_factory.mktemp("noports")
    for path in [*source.glob("*.csv")]:
        if path.stem not in ("ports", "sea_distances", "export_destinations"):
            (folder / path.name).write_bytes(path.read_bytes())
    # The LP (divisible.toml): the equivalence holds to the last digits.
    text = (source / "divisible.toml").read_text(encoding="utf-8")
    kept = [
        line
        for line in text.splitlines()
        if not line.startswith(("ports =", "sea_distances =", "export_destinations ="))
    ]
    (folder / "scenario.toml").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return load_scenario(folder)


def test_the_shipped_default_without_port_tables_is_the_model_of_coastal_regions(without_ports):
    """Without ports the export variables are coastal regions x export sectors (as before
    issue 11), and the objective equals that of a ports table naming each coastal region
    as one unlimited port with no sea cost (the documented equivalence)."""
    s = without_ports
    assert s.ports.empty
    lp, _ = build(s)
    coastal = int(s.regions["coastal"].sum())
    exporting = int((s.market("export") > 0).sum())
    assert lp.variables["export"].size == coastal * exporting
    assert "sea_freight" not in lp.objective_terms and "port_limit" not in lp.constraints
    plain = optimizer.solve(s)
    regions = s.regions.loc[s.regions["coastal"]]
    as_ports = pd.DataFrame(
        {
            "port": [f"XX{i:03d}".replace("0", "A").replace("1", "B") for i in range(len(regions))],
            "name": regions["name_en"].to_numpy(),
            "region": regions["region"].to_numpy(),
            "year": 2023,
            "cargo": np.nan,
            "throughput": np.nan,
            "unit": np.nan,
        }
    ).assign(**PROVENANCE)
    ported = optimizer.scenario_from_frames(base_year=2023, **{**s.tables(), "ports": as_ports})
    result = optimizer.solve(ported)
    assert result.objective == pytest.approx(plain.objective, rel=1e-12)
    assert build(ported)[0].variables["export"].size == lp.variables["export"].size


def test_the_shipped_default_exports_through_its_ports_with_a_sea_freight_term(default_scenario):
    lp, data = build(default_scenario)
    assert set(data.ports["region"]) <= set(
        default_scenario.regions.loc[default_scenario.regions["coastal"], "region"]
    )
    assert list(lp.variables["export"].index.names) == ["region", "port", "sector", "year"]
    assert "sea_freight" in lp.objective_terms and "port_limit" in lp.constraints


# -- bad inputs ----------------------------------------------------------------------------
def _issues(folder: Path) -> list:
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    return info.value.issues


def _located(issues, file: str, line: int, column: str, words: str) -> bool:
    return any(
        Path(i.source).name == file
        and i.row == f"line {line}"
        and i.column == column
        and words in i.message
        for i in issues
    )


def test_a_port_in_an_unknown_region_is_a_located_error(files):
    line = files.set_cell("ports.csv", "region", "999999", port="CNSHA")
    assert _located(_issues(files.folder), "ports.csv", line, "region", "unknown region")


def test_a_port_in_a_region_without_a_coast_is_a_located_error(files, capsys):
    line = files.set_cell("ports.csv", "region", "110000", port="CNSHA")
    assert _located(_issues(files.folder), "ports.csv", line, "region", "not coastal")
    assert main(["data", "check", str(files.folder)]) == 1
    assert "ports.csv" in capsys.readouterr().err


def test_destination_shares_adding_up_to_more_than_one_are_a_located_error(files):
    files.set_cell("export_destinations.csv", "share", "0.9", destination="NLRTM")
    last = files.row("export_destinations.csv", destination="INNSA") + 2
    found = _issues(files.folder)
    assert _located(found, "export_destinations.csv", last, "share", "more than 1")


def test_a_sea_distance_from_an_unknown_port_is_a_located_error(files):
    line = files.set_cell("sea_distances.csv", "port", "CNZZZ", port="CNSHA", destination="USLAX")
    assert _located(_issues(files.folder), "sea_distances.csv", line, "port", "unknown port")


def test_a_port_without_a_distance_to_a_destination_in_use_is_a_located_error(files):
    files.edit_frame(
        "sea_distances.csv",
        lambda f: f.loc[~((f["port"] == "CNSHA") & (f["destination"] == "SGSIN"))],
    )
    line = files.row("export_destinations.csv", destination="SGSIN") + 2
    found = _issues(files.folder)
    assert _located(found, "export_destinations.csv", line, "destination", "CNSHA")


def test_a_port_headroom_below_one_is_a_located_error(files):
    files.edit_text(
        "scenario.toml", lambda t: t.replace("port_headroom = 1.5", "port_headroom = 0.5")
    )
    found = _issues(files.folder)
    assert any(
        Path(i.source).name == "scenario.toml"
        and i.column == "parameters.port_headroom"
        and ">= 1" in i.message
        for i in found
    )


def test_a_cargo_kind_outside_the_list_is_a_located_error(files):
    line = files.set_cell("sectors.csv", "cargo", "pipeline", sector="nev")
    assert _located(_issues(files.folder), "sectors.csv", line, "cargo", "container")


def test_a_sector_without_sea_freight_exports_through_its_regions_ports_together():
    """Two ports in one region and no destination shares: nothing tells the ports apart,
    so the region's ports form one group (no arbitrary split between them), limited by
    their combined throughput share."""
    scenario, arcs = _scenario(throughput=(3.0, 1.0), headroom=1.0)
    t = scenario.tables()
    t["ports"] = t["ports"].assign(region="100000")
    t["ports"] = pd.concat(
        [
            t["ports"],
            pd.DataFrame(
                [("XXOTH", "Other", "100200", 2023, "container", 4.0, "M TEU")],
                columns=PORT_COLUMNS,
            ).assign(**PROVENANCE),
        ]
    )
    t["sea_distances"] = pd.concat(
        [
            t["sea_distances"],
            pd.DataFrame(
                [("XXOTH", "NLRTM", 500.0)], columns=["port", "destination", "distance_km"]
            ).assign(**PROVENANCE),
        ]
    )
    t["export_destinations"] = t["export_destinations"].iloc[:0]
    s = optimizer.scenario_from_frames(base_year=2023, parameters={"port_headroom": 1.0}, **t)
    lp, _ = build(s, "coordinated", arcs)
    assert sorted(lp.variables["export"].index.get_level_values("port")) == [
        "XXNEA+XXFAR",
        "XXOTH",
    ]
    assert "sea_freight" not in lp.objective_terms
    # Each group may take its throughput share (0.5 of 8 M TEU each) at headroom 1.
    assert lp.constraints["port_limit"].rhs == pytest.approx([0.5 * _exports(s)] * 2)
    result = optimizer.solve(s, arcs=arcs)
    names = result.ports.set_index("port")["name"]
    assert names["XXNEA+XXFAR"] == "Xxnea + Xxfar"
    assert result.ports["value"].sum() == pytest.approx(_exports(s), rel=1e-9)
