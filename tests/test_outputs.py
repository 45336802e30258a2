"""Output folders: a user's files are never touched, outputs appear whole or not at all,
killed commands leave nothing behind for long, and every JSON written is strict JSON."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import optimizer
from dupopt.cli import main
from geo import maps
from geo.reports import run_report as geo_report
from geo.reports import sweep_report as batch_report
from optimizer.errors import ScenarioError
from optimizer.output.folders import (
    MANIFEST,
    STAGING_MARKER,
    OutputError,
    clean_leftovers,
    read_manifest,
    to_json,
)
from optimizer.output.results_folder import write_results
from optimizer.sweeps.driver import run_sweep
from optimizer.sweeps.sweep_file import load_sweep


def _strict(text: str):
    """Parse JSON, refusing NaN and infinities (which ``json.loads`` accepts by default)."""

    def refuse(constant: str):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for folders)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    """An earlier `dupopt run` output (tables only); tests copy it before changing it."""
    out = tmp_path_factory.mktemp("outputs") / "results"
    assert main(["run", "-o", str(out), "--no-report"]) == 0
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("store")
    (folder / "sweep.toml").write_text('name = "t"\n[grid]\ndemand = [0.9]\n', encoding="utf-8")
    path = folder / "t.duckdb"
    run_sweep(load_sweep(folder / "sweep.toml"), path, workers=0, progress=False)
    return path


@pytest.fixture(scope="module")
def coordinated(default_scenario):
    return optimizer.solve(default_scenario)


@pytest.fixture
def quick_figures(monkeypatch):
    """Stand-ins for the map drawing (about 20 s per report): one small file each."""

    @contextmanager
    def run_figures(jobs, folder, formats, names):
        (folder / "figures").mkdir()
        (folder / "figures" / "stub.png").write_bytes(b"run figure")
        yield list

    def batch_figures(tables, folder, formats=("png",)):
        (folder / "figures").mkdir()
        (folder / "figures" / "stub.png").write_bytes(b"batch figure")
        return []

    monkeypatch.setattr(geo_report, "drawing", run_figures)
    monkeypatch.setattr(batch_report, "_figures", batch_figures)


def _user_folder(folder: Path) -> Path:
    """A folder of a user's own files, including what a report writes (figures/, tables/)
    and a manifest.json that is not dupopt's."""
    (folder / "figures").mkdir(parents=True)
    (folder / "tables").mkdir()
    (folder / "notes.txt").write_bytes(b"my notes\r\n\x00\xff")
    (folder / "figures" / "chart.png").write_bytes(b"my chart")
    (folder / "tables" / "mine.csv").write_text("a\n1\n", encoding="utf-8")
    (folder / MANIFEST).write_text('{"name": "my-app", "version": "1.0"}', encoding="utf-8")
    return folder


COMMANDS = {
    "run": lambda target, results, store: ["run", "-o", str(target)],
    "report-results": lambda target, results, store: ["report", str(results), "-o", str(target)],
    "report-store": lambda target, results, store: ["report", str(store), "-o", str(target)],
    "export": lambda target, results, store: ["export", str(store), "-o", str(target)],
}


# -- a user's folder is never replaced ---------------------------------------------------


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_user_file_survives_every_command(command, results_dir, store, tmp_path, capsys):
    """-o onto a folder dupopt did not write is refused, naming the folder; nothing in it
    changes and nothing is left beside it."""
    target = _user_folder(tmp_path / "mine")
    before = _snapshot(target)
    assert main(COMMANDS[command](target, results_dir, store)) == 1
    err = capsys.readouterr().err
    assert f"error: {target}: the folder exists and is not a dupopt output" in err
    assert "notes.txt" in err
    assert "Traceback" not in err
    assert _snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_file_as_the_output_is_refused(store, tmp_path):
    """(The command line refuses it as a usage error already; the library as well.)"""
    from optimizer.sweeps.store import export_parquet

    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        export_parquet(store, target)
    assert target.read_bytes() == b"%PDF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]


def test_a_dupopt_output_of_another_kind_is_refused(results_dir, store, tmp_path, capsys):
    """An export or a report never replaces a run's results (and the other way round)."""
    target = tmp_path / "results"
    shutil.copytree(results_dir, target)
    before = _snapshot(target)
    for argv in (
        ["export", str(store), "-o", str(target)],
        ["report", str(store), "-o", str(target)],
        ["report", str(results_dir), "-o", str(target)],
    ):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert f"{target}: holds a dupopt results folder (written by dupopt run)" in err
    assert _snapshot(target) == before


def test_the_scenario_folder_or_its_parent_as_output_is_refused(scenario_dir, capsys):
    before = _snapshot(scenario_dir.parent)
    for target in (scenario_dir, scenario_dir.parent):
        assert main(["run", str(scenario_dir), "-o", str(target), "--no-report"]) == 1
        err = capsys.readouterr().err
        assert f"{target}: the output folder would replace the scenario input" in err
    assert _snapshot(scenario_dir.parent) == before


def test_scenario_files_inside_an_earlier_output_are_not_replaced(
    results_dir, scenario_dir, tmp_path, capsys
):
    """An earlier output of ours is still refused when it holds the scenario's inputs:
    the scenario folder itself, or one table listed from elsewhere."""
    earlier = tmp_path / "earlier"
    shutil.copytree(results_dir, earlier)
    inner = earlier / "my-scenario"
    shutil.copytree(scenario_dir, inner)
    before = _snapshot(earlier)
    assert main(["run", str(inner), "-o", str(earlier), "--no-report"]) == 1
    assert "the scenario input" in capsys.readouterr().err
    assert _snapshot(earlier) == before
    with pytest.raises(OutputError, match="scenario input"):
        write_results(earlier, optimizer.load_scenario(inner), {})
    assert _snapshot(earlier) == before

    shutil.rmtree(inner)
    (earlier / "inputs").mkdir()
    shutil.move(scenario_dir / "demand.csv", earlier / "inputs" / "demand.csv")
    toml = scenario_dir / "scenario.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            'demand = "demand.csv"', 'demand = "../earlier/inputs/demand.csv"'
        ),
        encoding="utf-8",
    )
    before = _snapshot(earlier)
    assert main(["run", str(scenario_dir), "-o", str(earlier), "--no-report"]) == 1
    err = capsys.readouterr().err
    assert "the scenario input" in err and "demand.csv" in err
    assert _snapshot(earlier) == before


# -- scenario names ----------------------------------------------------------------------


def _set_name(files, name: str) -> None:
    files.edit_text(
        "scenario.toml",
        lambda t: re.sub(
            r"^name = .*$", lambda _: f"name = {json.dumps(name)}", t, count=1, flags=re.M
        ),
    )


@pytest.mark.parametrize(
    "name",
    ["../../victim", "ABSOLUTE", "a/b", "a\\b", "..", ".hidden", "", "x" * 65, "two words"],
)
def test_a_scenario_name_must_be_one_path_component(files, tmp_path, name):
    """The name picks the folder reports/<name>: anything but one plain component is an
    input error located at the name."""
    _set_name(files, str(tmp_path / "victim") if name == "ABSOLUTE" else name)
    with pytest.raises(ScenarioError) as err:
        optimizer.load_scenario(files.folder)
    assert [(Path(i.source).name, i.column) for i in err.value.issues] == [
        ("scenario.toml", "name")
    ]
    with pytest.raises(ScenarioError, match="column 'name'"):
        optimizer.scenario_from_frames(
            base_year=2023, name="../x", **optimizer.load_scenario().tables()
        )


def test_a_scenario_name_in_any_script_is_accepted(files):
    _set_name(files, "长三角-2030.v2")
    assert optimizer.load_scenario(files.folder).name == "长三角-2030.v2"


def test_a_scenario_name_cannot_send_the_output_elsewhere(
    files, results_dir, tmp_path, monkeypatch, capsys
):
    """`name = "../../victim"` or an absolute path does not replace that folder, even when
    it is a dupopt output."""
    victim = tmp_path / "victim"
    shutil.copytree(results_dir, victim)
    before = _snapshot(victim)
    work = tmp_path / "work"
    (work / "reports").mkdir(parents=True)
    monkeypatch.chdir(work)
    for name in ("../../victim", str(victim)):
        _set_name(files, name)
        assert main(["run", str(files.folder), "--no-report"]) == 1
        assert "scenario.toml, column 'name': must be one simple name" in capsys.readouterr().err
    assert _snapshot(victim) == before
    assert list((work / "reports").iterdir()) == []


# -- dupopt outputs are replaced whole ---------------------------------------------------


def test_a_dupopt_output_folder_is_replaced(results_dir, store, tmp_path, quick_figures):
    """Each command replaces its own earlier output as a whole (stale files go), with a
    strict-JSON manifest of its kind, and leaves nothing hidden beside it."""
    run = tmp_path / "run"
    shutil.copytree(results_dir, run)
    (run / "stale.txt").write_text("from before", encoding="utf-8")
    assert main(["run", "-o", str(run), "--no-report", "--format", "csv"]) == 0
    assert not (run / "stale.txt").exists()
    assert (run / "coordinated" / "allocation.csv").is_file()
    assert not (run / "coordinated" / "allocation.parquet").exists()
    info = _strict((run / MANIFEST).read_text(encoding="utf-8"))
    assert (info["kind"], info["format"]) == ("run", "csv")

    for name, argv in (
        ("rep", ["report", str(results_dir)]),
        ("sweep-rep", ["report", str(store)]),
        ("pq", ["export", str(store)]),
    ):
        target = tmp_path / name
        assert main([*argv, "-o", str(target)]) == 0
        (target / "stale.txt").write_text("from before", encoding="utf-8")
        assert main([*argv, "-o", str(target)]) == 0
        assert not (target / "stale.txt").exists()
        info = _strict((target / MANIFEST).read_text(encoding="utf-8"))
        assert info["dupopt_version"] == optimizer.__version__
        assert info["kind"] == ("export" if name == "pq" else "report")
        assert info["source"].endswith(Path(argv[1]).name)
    assert (tmp_path / "pq" / "scenarios.parquet").is_file()
    assert (tmp_path / "rep" / "report.html").is_file()
    assert _hidden(tmp_path) == []


def test_an_empty_folder_may_be_the_output(store, tmp_path):
    target = tmp_path / "empty"
    target.mkdir()
    assert main(["export", str(store), "-o", str(target)]) == 0
    assert (target / "scenarios.parquet").is_file()
    assert read_manifest(target)["kind"] == "export"


def test_report_tells_results_from_reports_and_exports(results_dir, store, tmp_path, capsys):
    """`dupopt report FOLDER` redraws only a run's results; a report or an export folder
    is named for what it is."""
    exported = tmp_path / "pq"
    assert main(["export", str(store), "-o", str(exported)]) == 0
    report_only = tmp_path / "rep"
    report_only.mkdir()
    (report_only / MANIFEST).write_text(
        to_json({"dupopt_version": "0.1.0", "kind": "report", "source": "reports/x"}),
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["report", str(exported)]) == 1
    assert "is a dupopt Parquet export (written by dupopt export)" in capsys.readouterr().err
    assert main(["report", str(report_only)]) == 1
    err = capsys.readouterr().err
    assert "is a dupopt report folder (written by dupopt report -o) made from reports/x" in err
    assert "not a results folder" in err


def test_redrawing_in_place_keeps_the_results_and_replaces_the_report(
    results_dir, tmp_path, quick_figures
):
    """`dupopt report RESULTS` stages a copy of the results plus the new report and swaps:
    results and other files of the folder are kept, the old report is gone."""
    target = tmp_path / "out"
    shutil.copytree(results_dir, target)
    (target / "solver.log").write_text("HiGHS log\n", encoding="utf-8")
    (target / "figures").mkdir()
    (target / "figures" / "sector_old.png").write_bytes(b"old figure")
    (target / "report.html").write_text("old report", encoding="utf-8")
    before = _snapshot(target)
    assert main(["report", str(target)]) == 0
    after = _snapshot(target)
    kept = {k: v for k, v in before.items() if k.split("/")[0] not in {"figures", "report.html"}}
    assert {k: after[k] for k in kept} == kept
    assert "figures/sector_old.png" not in after
    assert after["figures/stub.png"] == b"run figure"
    assert b"old report" not in after["report.html"]
    assert _hidden(tmp_path) == [] and _hidden(target) == []


# -- the report is part of the swap ------------------------------------------------------


def test_a_failure_while_drawing_leaves_the_previous_output(
    results_dir, tmp_path, monkeypatch, capsys
):
    """An exception while drawing (in `run` or in an in-place `report`) leaves the previous
    output as it was, with no half output and no staging folder, also after the next run."""
    target = tmp_path / "out"
    shutil.copytree(results_dir, target)
    before = _snapshot(target)

    def broken(*args, **kwargs):
        raise RuntimeError("killed while drawing")

    with monkeypatch.context() as patch:
        patch.setattr(maps, "region_figure", broken)
        assert main(["run", "-o", str(target)]) == 3
        assert _snapshot(target) == before
        assert _hidden(tmp_path) == []
        assert main(["report", str(target)]) == 3
        assert _snapshot(target) == before
        assert _hidden(tmp_path) == []
    assert "killed while drawing" in capsys.readouterr().err
    assert main(["run", "-o", str(target), "--no-report"]) == 0
    assert _hidden(tmp_path) == [] and _hidden(target) == []


def test_a_run_without_report_writes_no_report(results_dir, tmp_path):
    target = tmp_path / "out"
    assert main(["run", "-o", str(target), "--no-report"]) == 0
    assert not (target / "report.html").exists() and not (target / "figures").exists()
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in results_dir.iterdir())


# -- leftovers of killed commands --------------------------------------------------------

KILL_WHILE_DRAWING = """
import os, sys
from geo import maps

def killed(*args, **kwargs):
    os._exit(9)  # as a SIGKILL: no exception handler, no cleanup

maps.region_figure = killed
# Drawn in this process (not in the two workers that would otherwise draw meanwhile):
# the kill must hit the command itself while its report is being written.
os.environ["DUPOPT_REPORT_WORKERS"] = "1"
from dupopt.cli import main
main(["run", "-o", sys.argv[1]])
"""

KILL_WHILE_DELETING_THE_OLD_OUTPUT = """
import os, shutil, sys
real = shutil.rmtree

def rmtree(path, *args, **kwargs):
    if ".old." in str(path):
        os._exit(9)
    return real(path, *args, **kwargs)

shutil.rmtree = rmtree
from dupopt.cli import main
main(["run", "-o", sys.argv[1], "--no-report", "--format", "csv"])
"""


def _killed(script: str, target: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DUPOPT_DEBUG"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(target)],
        capture_output=True,
        text=True,
        cwd=target.parent,
        env=env,
        timeout=600,
    )
    assert done.returncode == 9, done.stderr


def _decoys(parent: Path) -> dict[str, dict[str, bytes | None]]:
    """Hidden folders beside ``out`` that a cleanup must leave alone."""
    mine = parent / ".out.mine1234"  # our name pattern, but a user's folder: no marker
    mine.mkdir()
    (mine / "keep.txt").write_text("mine", encoding="utf-8")
    other = parent / ".out.abcd1234"  # marked for another target
    other.mkdir()
    (other / STAGING_MARKER).write_text(to_json({"target": "elsewhere", "pid": 2**22}))
    (other / "part.csv").write_text("a\n", encoding="utf-8")
    live = parent / ".out.live1234"  # a command still writing (pid 1 is always running)
    live.mkdir()
    marker = {"target": "out", "pid": 1, "host": socket.gethostname()}
    (live / STAGING_MARKER).write_text(to_json(marker), encoding="utf-8")
    legacy = parent / ".out.old"  # our old name, but no manifest or marker inside
    legacy.mkdir()
    (legacy / "half.csv").write_text("a\n", encoding="utf-8")
    (parent / ".notes").mkdir()
    return {p.name: _snapshot(p) for p in (mine, other, live, legacy, parent / ".notes")}


def test_leftovers_of_a_kill_while_drawing_are_cleaned_by_the_next_run(results_dir, tmp_path):
    target = tmp_path / "out"
    shutil.copytree(results_dir, target)
    before = _snapshot(target)
    _killed(KILL_WHILE_DRAWING, target)
    assert _snapshot(target) == before  # the previous output is intact
    leftovers = _hidden(tmp_path)
    assert len(leftovers) == 1 and re.fullmatch(r"\.out\.[a-z0-9_]{8}", leftovers[0])
    assert (tmp_path / leftovers[0] / STAGING_MARKER).is_file()
    assert (tmp_path / leftovers[0] / "coordinated").is_dir()  # results staged, no report
    decoys = _decoys(tmp_path)
    assert main(["run", "-o", str(target), "--no-report"]) == 0
    assert _hidden(tmp_path) == sorted(decoys)
    assert {name: _snapshot(tmp_path / name) for name in decoys} == decoys
    assert _hidden(target) == []


def test_leftovers_of_a_kill_while_deleting_the_old_output_are_cleaned(results_dir, tmp_path):
    target = tmp_path / "out"
    shutil.copytree(results_dir, target)
    _killed(KILL_WHILE_DELETING_THE_OLD_OUTPUT, target)
    assert (target / "coordinated" / "allocation.csv").is_file()  # the new output is in place
    assert read_manifest(target)["format"] == "csv"
    (old,) = _hidden(tmp_path)
    assert re.fullmatch(r"\.out\.old\.[a-z0-9_]{8}", old)
    assert (tmp_path / old / STAGING_MARKER).is_file()
    assert clean_leftovers(target) == [tmp_path / old]
    assert _hidden(tmp_path) == [] and _hidden(target) == []


# -- extra files and strict JSON ---------------------------------------------------------


def test_extra_files_are_written_with_the_results(default_scenario, coordinated, tmp_path):
    out = write_results(
        tmp_path / "r",
        default_scenario,
        {"coordinated": coordinated},
        extra_files={"solver.log": "Running HiGHS\n"},
    )
    assert (out / "solver.log").read_text(encoding="utf-8") == "Running HiGHS\n"
    for bad in ("../escape.log", MANIFEST, ".hidden", "report.html", "coordinated"):
        with pytest.raises(OutputError, match="extra file name"):
            write_results(
                tmp_path / "s",
                default_scenario,
                {"coordinated": coordinated},
                extra_files={bad: ""},
            )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_the_manifest_is_strict_json_with_a_nan_objective(default_scenario, coordinated, tmp_path):
    """NaN and infinite numbers are written as null, never as NaN/Infinity."""
    costs = coordinated.tables["costs"].assign(value=np.inf)
    broken = replace(
        coordinated,
        objective=float("nan"),
        tables={**coordinated.tables, "costs": costs},
        timings={"solve": float("nan")},
    )
    out = write_results(tmp_path / "nan", default_scenario, {"coordinated": broken})
    text = (out / MANIFEST).read_text(encoding="utf-8")
    run = _strict(text)["runs"]["coordinated"]
    assert run["objective_cny_bn_per_yr"] is None
    assert run["total_cost_cny_bn_per_yr"] is None
    assert run["timings_s"] == {"solve": None}
    with pytest.raises(ValueError, match="not strict JSON"):
        _strict('{"objective": NaN}')


def test_to_json_writes_non_finite_numbers_as_null():
    value = {"a": np.float32("nan"), "b": [-np.inf, 1.5], "c": (np.int64(2), np.bool_(True))}
    assert _strict(to_json(value)) == {"a": None, "b": [None, 1.5], "c": [2, True]}
