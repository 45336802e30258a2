"""Tests of the ``dupopt`` command line: exit codes, output, and error reporting."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from importlib.metadata import version

import pytest

import optimizer
from dupopt.cli import main
from optimizer.model.backends import BACKENDS


@pytest.fixture
def broken(files):
    """A scenario copy with two problems in two files; returns (folder, expected locations)."""
    demand = files.set_cell("demand.csv", "value", "-1.5", region="320000", sector="cement")
    params = files.set_cell(
        "sector_parameters.csv", "value", "1.5", sector="cement", parameter="max_utilisation"
    )
    expected = [
        f"demand.csv, line {demand}, column 'value': must be >= 0",
        f"sector_parameters.csv, line {params}, column 'value': max_utilisation is a share",
    ]
    return files.folder, expected


def test_version(capsys):
    """--version prints the program name and the installed version, and exits 0."""
    assert main(["--version"]) == 0
    out, err = capsys.readouterr()
    assert out == f"dupopt {optimizer.__version__}\n"
    assert err == ""
    assert optimizer.__version__ == version("dupopt")


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["--help"], "Usage: dupopt [OPTIONS] COMMAND"),
        (["-h"], "Usage: dupopt [OPTIONS] COMMAND"),
        (["data", "--help"], "Usage: dupopt data [OPTIONS] COMMAND"),
        (["data", "check", "--help"], "Usage: dupopt data check [OPTIONS] [SCENARIO]"),
    ],
    ids=["help", "h", "data-help", "data-check-help"],
)
def test_help(capsys, argv, usage):
    """Help for every level exits 0 and shows its usage line."""
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out.startswith(usage)
    assert err == ""


def test_data_check_shipped_scenario(capsys):
    """`data check` without a path validates the shipped data and summarises it."""
    assert main(["data", "check"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "Scenario 'default'" in out and "is valid. Base year 2023." in out
    assert "Regions: 34 (31 take part in national planning)" in out
    assert "Sectors: 8 (" in out
    assert "solar_pv 2010-2012: national count 31 of 34; provincial documents name" in out


@pytest.mark.parametrize("target", ["folder", "toml"])
def test_data_check_copy(capsys, scenario_dir, target):
    """`data check` accepts a scenario folder or its TOML file."""
    path = scenario_dir if target == "folder" else scenario_dir / "scenario.toml"
    assert main(["data", "check", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert "31 of 34" in out


def test_data_check_lists_every_problem(capsys, broken):
    """Invalid input exits 1 and lists both problems with file and line, no traceback."""
    folder, expected = broken
    assert main(["data", "check", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert "is valid" not in out
    assert "2 problems in the scenario" in err
    for problem in expected:
        assert problem in err
    assert "Traceback" not in out + err


def test_data_check_nonexistent_path(capsys, tmp_path):
    """A path that does not exist exits 1 and says which file is missing."""
    missing = tmp_path / "no-such-scenario"
    assert main(["data", "check", str(missing)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ")
    assert f"{missing}: scenario file not found" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frobnicate"], r"No such command '?frobnicate"),
        (["data", "frobnicate"], r"No such command '?frobnicate"),
        # click 8.1.0 writes "No such option: --frobnicate", later releases quote the name.
        (["data", "check", "--frobnicate"], r"No such option:? '?--frobnicate"),
        (["data", "check", "a", "b"], "unexpected extra argument"),
        (["run", "--mip-gap", "1"], r"--mip-gap.*0<=x<1"),
    ],
    ids=["command", "subcommand", "option", "extra-argument", "mip-gap"],
)
def test_usage_errors_exit_2(capsys, argv, message):
    """Wrong command-line usage exits 2 with click's message on stderr."""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert re.search(message, err), err
    assert "Traceback" not in err


def test_internal_error_exits_3_without_traceback(capsys, monkeypatch):
    """An unexpected exception is reported as a bug with exit code 3, not a traceback."""

    def crash(path):
        raise RuntimeError("boom")

    monkeypatch.delenv("DUPOPT_DEBUG", raising=False)
    monkeypatch.setattr("dupopt.cli.load_scenario", crash)
    assert main(["data", "check"]) == 3
    _, err = capsys.readouterr()
    assert "internal error: RuntimeError: boom" in err
    assert "DUPOPT_DEBUG=1" in err
    assert "Traceback" not in err


def test_internal_error_raises_with_debug(monkeypatch):
    """DUPOPT_DEBUG=1 lets the exception through for a traceback."""

    def crash(path):
        raise RuntimeError("boom")

    monkeypatch.setenv("DUPOPT_DEBUG", "1")
    monkeypatch.setattr("dupopt.cli.load_scenario", crash)
    with pytest.raises(RuntimeError, match="boom"):
        main(["data", "check"])


# -- the installed console script ----------------------------------------------------------


@pytest.fixture
def dupopt_script():
    """Path of the installed ``dupopt`` console script."""
    script = shutil.which("dupopt")
    if script is None:
        pytest.skip("the dupopt console script is not installed on PATH")
    return script


def run_script(script, *args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "DUPOPT_DEBUG"}
    return subprocess.run(
        [script, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_console_script_reports_invalid_input(dupopt_script, broken, tmp_path):
    """The real `dupopt data check` exits 1 on broken data, listing problems, no traceback."""
    folder, expected = broken
    result = run_script(dupopt_script, "data", "check", str(folder), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    for problem in expected:
        assert problem in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "code", "stream", "text"),
    [
        (["--version"], 0, "stdout", f"dupopt {optimizer.__version__}"),
        (["data", "check"], 0, "stdout", "solar_pv 2010-2012: national count 31 of 34"),
        (["frobnicate"], 2, "stderr", "No such command"),
    ],
    ids=["version", "check-shipped", "unknown-command"],
)
def test_console_script_exit_codes(dupopt_script, tmp_path, args, code, stream, text):
    """The console script exits with the code main() returns."""
    result = run_script(dupopt_script, *args, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    assert text in getattr(result, stream)
    assert "Traceback" not in result.stderr


def test_run_that_does_not_reach_optimality_exits_4(tmp_path, capsys, monkeypatch):
    """A solve that stops early is reported with its status and exit code 4."""
    from optimizer.model.backends import highs

    real = highs.render

    def tiny_limit(lp, **options):
        h = real(lp, **options)
        h.setOptionValue("time_limit", 0.0)
        return h

    monkeypatch.setattr(highs, "render", tiny_limit)
    code = main(["run", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 4
    assert "time limit" in err
    assert "Traceback" not in err


# -- batch sweeps ------------------------------------------------------------------------
SMALL_SWEEP = """
name = "cli"
[[scenarios]]
name = "pv-export-shock"
"export.solar_pv" = 0.5
[grid]
demand = [0.9, 1.1]
"""


def test_batch_query_export_and_report(tmp_path, capsys):
    """The batch commands work together on one small sweep, in this process."""
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SMALL_SWEEP)
    store = tmp_path / "cli.duckdb"
    argv = ["batch", str(sweep), "-o", str(store), "--workers", "0", "--no-progress"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "4 done, 0 failed, 0 skipped" in out and "Sweep 'cli': 4 scenarios" in err
    assert main(argv) == 0  # rerun: all skipped
    assert "0 done, 0 failed, 4 skipped" in capsys.readouterr().out
    sql = "SELECT scenario, status FROM scenarios ORDER BY scenario"
    assert main(["query", str(store), sql, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "scenario,status",
        "base,done",
        "grid-0001,done",
        "grid-0002,done",
        "pv-export-shock,done",
    ]
    assert main(["export", str(store), "-o", str(tmp_path / "pq")]) == 0
    assert (tmp_path / "pq" / "allocation.parquet").is_file()
    capsys.readouterr()
    assert main(["report", str(store), "-o", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "report.html").is_file()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[grid]\ndemand = [1.0, -1.0]", "column 'grid.demand': must be a finite multiplier >= 0"),
        ("[grid\n", "is not valid TOML"),
        ("[[scenarios]]\nname = 'x'\n'capex.steel' = 1.1", "unknown sector 'steel'"),
    ],
)
def test_batch_with_a_bad_sweep_file_exits_1_and_writes_nothing(tmp_path, capsys, text, fragment):
    sweep = tmp_path / "bad.toml"
    sweep.write_text(text)
    store = tmp_path / "bad.duckdb"
    assert main(["batch", str(sweep), "-o", str(store), "--workers", "0"]) == 1
    err = capsys.readouterr().err
    assert "bad.toml" in err and fragment in err and "Traceback" not in err
    assert not store.exists()


@pytest.mark.parametrize("other", [["--workers", "0"], ["--scheduler", "tcp://127.0.0.1:9"]])
def test_batch_dashboard_needs_the_local_cluster(tmp_path, capsys, other):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SMALL_SWEEP)
    store = tmp_path / "cli.duckdb"
    assert main(["batch", str(sweep), "-o", str(store), "--dashboard", *other]) == 2
    assert "--dashboard" in capsys.readouterr().err
    assert not store.exists()


def test_batch_dashboard_flag_reaches_the_runner(tmp_path, capsys, monkeypatch):
    import optimizer.sweeps.driver

    calls = []
    monkeypatch.setattr(
        optimizer.sweeps.driver, "run_sweep", lambda *a, **k: calls.append(k) or "summary"
    )
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SMALL_SWEEP)
    assert main(["batch", str(sweep), "--dashboard"]) == 0
    assert main(["batch", str(sweep)]) == 0
    assert [k["dashboard"] for k in calls] == [True, False]


def test_query_errors_are_reported(tmp_path, capsys):
    assert main(["query", str(tmp_path / "none.duckdb"), "SELECT 1"]) == 1
    assert "no such store" in capsys.readouterr().err


# -- quiet, labelled output ----------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_stdout_holds_the_labelled_headline_and_no_solver_output(tmp_path, backend):
    """In a fresh process (where HiGHS prints its banner), stdout carries only dupopt's
    headline: every number with its label and unit, equal to the saved headline table;
    the solver's log goes to stderr with --verbose."""
    import sys

    out = tmp_path / "out"
    args = ["run", "-o", str(out), "--no-report", "--backend", backend, "--verbose"]
    args += ["--mip-gap", "0.002", "--samples", "0"]
    result = subprocess.run(
        [sys.executable, "-m", "dupopt", *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "HiGHS" not in result.stdout and "Copyright" not in result.stdout
    assert "--- solver log, coordinated ---" in result.stderr
    assert "HiGHS" in result.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {r["options"]["mip_rel_gap"] for r in manifest["runs"].values()} == {0.002}
    head = optimizer.read_results(out)["comparison"]["headline"].set_index("metric")
    lines = dict(re.findall(r"^  (\S.+?):\s+(CNY .+)$", result.stdout, re.MULTILINE))
    for label, metric, mode, unit in [
        ("total annual system cost, observed buildout", "total_cost", "observed", "bn/yr"),
        ("total annual system cost, coordinated plan", "total_cost", "coordinated", "bn/yr"),
        ("cost of non-coordination", "total_cost", "difference", "bn/yr"),
        ("stranded capital, observed buildout", "stranded_capital", "observed", "bn"),
        ("debt tied to stranded capacity, observed buildout", "stranded_debt", "observed", "bn"),
    ]:
        text = lines[label].strip()
        assert text.startswith("CNY ") and text.endswith(f" {unit}")
        value = float(text.removeprefix("CNY ").split()[0].replace(",", ""))
        assert value == pytest.approx(head.loc[metric, mode], abs=0.05)
    assert "debt tied to stranded capacity: the debt-financed share" in result.stdout
    assert "idle" not in result.stdout.replace("(idle capacity, K-X,", "")


@pytest.mark.parametrize("workers", ["0", "1"])
def test_a_sweep_prints_no_solver_output(tmp_path, workers):
    """Neither the driver nor a worker process lets HiGHS write into the terminal (where
    its banner used to land inside the progress bar)."""
    import sys

    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SMALL_SWEEP)
    args = ["batch", str(sweep), "-o", str(tmp_path / "s.duckdb"), "--workers", workers]
    result = subprocess.run(
        [sys.executable, "-m", "dupopt", *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    for stream in (result.stdout, result.stderr):
        assert "HiGHS" not in stream and "Copyright" not in stream
    assert "4 done, 0 failed" in result.stdout


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("COPY (SELECT 'x') TO '{target}'", "refused (COPY statement)"),
        ("SELECT * FROM read_text('{private}')", "reads the store only"),
        ("SELECT 1; COPY (SELECT 'x') TO '{target}'", "2 statements"),
    ],
    ids=["copy", "read-text", "two-statements"],
)
def test_query_refuses_what_is_not_one_read_only_statement(tmp_path, capsys, sql, fragment):
    from optimizer.sweeps.store import Store

    store, target = tmp_path / "s.duckdb", tmp_path / "written.csv"
    private = tmp_path / "private.txt"
    private.write_text("not for dupopt query\n")
    Store.open(store, {"dataset_sha256": "d", "model_version": "m", "sweep": "s"}).close()
    before = store.read_bytes()
    assert main(["query", str(store), sql.format(target=target, private=private)]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("error: the query") and fragment in err
    assert "Traceback" not in err and out == "" and "not for dupopt" not in err
    assert not target.exists() and store.read_bytes() == before


def test_batch_help_states_the_size_from_which_it_starts_dask(capsys):
    from optimizer.sweeps.driver import DASK_MIN_SCENARIOS

    assert main(["batch", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"fewer than {DASK_MIN_SCENARIOS} scenarios" in help_text
