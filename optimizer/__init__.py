"""dupopt: coordinated vs observed allocation of China's priority-industry capacity.

The ``optimizer`` package holds the scenario (tables, validation), the model and its
results; ``geo`` holds boundaries, the transport network and maps.

The names below are imported on first use (PEP 562), so that ``import optimizer`` (and
``dupopt --help``) does not load pandas, the solvers, Dask or DuckDB; ``from optimizer
import solve`` and ``optimizer.load_scenario()`` work as before.

Examples
--------
>>> import optimizer
>>> scenario = optimizer.load_scenario()          # the shipped default dataset
>>> scenario.name
'default'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optimizer._lazy import lazy_attribute as _lazy_attribute

__version__ = "0.1.0"  # a literal: the build reads it (pyproject.toml), submodules too

#: Public name -> the module that defines it (imported when the name is first used).
_EXPORTS = {
    "Comparison": "optimizer.analysis.comparison",
    "compare": "optimizer.analysis.comparison",
    "DupoptError": "optimizer.errors",
    "Issue": "optimizer.errors",
    "ScenarioError": "optimizer.errors",
    "evaluate_observed": "optimizer.model.api",
    "solve": "optimizer.model.api",
    "to_highs": "optimizer.model.api",
    "to_pulp": "optimizer.model.api",
    "to_pyomo": "optimizer.model.api",
    "Result": "optimizer.model.results",
    "SolveError": "optimizer.model.status",
    "Status": "optimizer.model.status",
    "read_results": "optimizer.output.results_folder",
    "write_results": "optimizer.output.results_folder",
    "default_data_dir": "optimizer.paths",
    "ModelParameters": "optimizer.scenario.parameters",
    "Scenario": "optimizer.scenario.scenario",
    "load_scenario": "optimizer.scenario.scenario",
    "scenario_from_frames": "optimizer.scenario.scenario",
}

if TYPE_CHECKING:  # what static tools see; at run time __getattr__ imports these
    from optimizer.analysis.comparison import Comparison, compare
    from optimizer.errors import DupoptError, Issue, ScenarioError
    from optimizer.model.api import evaluate_observed, solve, to_highs, to_pulp, to_pyomo
    from optimizer.model.results import Result
    from optimizer.model.status import SolveError, Status
    from optimizer.output.results_folder import read_results, write_results
    from optimizer.paths import default_data_dir
    from optimizer.scenario.parameters import ModelParameters
    from optimizer.scenario.scenario import Scenario, load_scenario, scenario_from_frames


def __getattr__(name: str) -> Any:
    return _lazy_attribute(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "Comparison",
    "DupoptError",
    "Issue",
    "ModelParameters",
    "Result",
    "Scenario",
    "ScenarioError",
    "SolveError",
    "Status",
    "__version__",
    "compare",
    "default_data_dir",
    "evaluate_observed",
    "load_scenario",
    "read_results",
    "scenario_from_frames",
    "solve",
    "to_highs",
    "to_pulp",
    "to_pyomo",
    "write_results",
]
