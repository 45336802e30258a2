"""dupopt: coordinated vs observed allocation of China's priority-industry capacity.

The ``optimizer`` package holds the scenario (tables, validation), the model and its
results; ``geo`` holds boundaries, the transport network and maps.

Examples
--------
>>> import optimizer
>>> scenario = optimizer.load_scenario()          # the shipped default dataset
>>> scenario.name
'default'
"""

__version__ = "0.1.0"  # before the imports: submodules read it

from optimizer.analysis.comparison import Comparison, compare
from optimizer.errors import DupoptError, Issue, ScenarioError
from optimizer.model.api import evaluate_observed, solve, to_highs, to_pulp, to_pyomo
from optimizer.model.results import Result
from optimizer.model.status import SolveError, Status
from optimizer.output.results_folder import read_results, write_results
from optimizer.paths import default_data_dir
from optimizer.scenario.parameters import ModelParameters
from optimizer.scenario.scenario import Scenario, load_scenario, scenario_from_frames

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
