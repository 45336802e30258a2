"""Start-up: ``import optimizer`` and ``dupopt --help`` / ``--version`` load no heavy
library; the public names import from the same places as before, on first use."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

import pytest

import optimizer
from dupopt import cli

#: Libraries that take tenths of a second each to import (or start threads): none of
#: them may load before a name that needs it is used.
HEAVY = (
    "dask",
    "distributed",
    "duckdb",
    "matplotlib",
    "scipy.sparse.csgraph",
    "geopandas",
    "pyomo",
    "pulp",
    "highspy",
    "pandas",
)


def loaded_after(code: str) -> list[str]:
    """The modules of HEAVY loaded after running ``code`` in a fresh interpreter."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps(sorted(set({HEAVY!r}) & set(sys.modules))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_import_optimizer_loads_no_heavy_library():
    assert loaded_after("import optimizer") == []


def test_the_help_and_version_load_neither_pandas_nor_the_library():
    code = "from dupopt.cli import main\nmain(['--help'])\nmain(['--version'])"
    assert loaded_after(code) == []


def test_loading_a_scenario_loads_neither_solvers_nor_dask_duckdb_or_matplotlib():
    loaded = loaded_after("import optimizer\noptimizer.load_scenario()")
    assert "pandas" in loaded  # the probe can see an import
    # geopandas is imported by pandera when it validates a table
    assert set(loaded) <= {"pandas", "geopandas"}


def test_the_version_comes_from_the_package_metadata(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"dupopt {metadata.version('dupopt')}\n"


def test_the_version_of_a_checkout_that_is_not_installed_is_the_source_tree_s(monkeypatch):
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    assert cli.installed_version() == optimizer.__version__


def test_every_public_name_is_the_object_of_its_defining_module():
    from optimizer.analysis import comparison
    from optimizer.model import api, results, status
    from optimizer.output import results_folder
    from optimizer.scenario import parameters, scenario

    expected = {
        "Comparison": comparison.Comparison,
        "compare": comparison.compare,
        "solve": api.solve,
        "evaluate_observed": api.evaluate_observed,
        "to_highs": api.to_highs,
        "to_pulp": api.to_pulp,
        "to_pyomo": api.to_pyomo,
        "Result": results.Result,
        "SolveError": status.SolveError,
        "Status": status.Status,
        "read_results": results_folder.read_results,
        "write_results": results_folder.write_results,
        "ModelParameters": parameters.ModelParameters,
        "Scenario": scenario.Scenario,
        "load_scenario": scenario.load_scenario,
        "scenario_from_frames": scenario.scenario_from_frames,
    }
    for name, value in expected.items():
        assert getattr(optimizer, name) is value, name
    assert set(optimizer.__all__) <= set(dir(optimizer))
    namespace: dict[str, object] = {}
    exec("from optimizer import *", namespace)
    assert set(optimizer.__all__) <= set(namespace)


def test_subpackages_are_reachable_as_attributes_after_import_optimizer():
    code = (
        "import optimizer\n"
        "assert optimizer.scenario.synthetic.synthetic_scenario\n"
        "assert optimizer.model.solve is optimizer.solve\n"
        "from optimizer.scenario import load_scenario, Scenario\n"
        "assert load_scenario is optimizer.load_scenario"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'solv'"):
        optimizer.solv  # noqa: B018
    with pytest.raises(ImportError):
        exec("from optimizer import solv", {})
