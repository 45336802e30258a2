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

from optimizer.errors import DupoptError, Issue, ScenarioError
from optimizer.parameters import ModelParameters
from optimizer.paths import default_data_dir
from optimizer.scenario import Scenario, load_scenario, scenario_from_frames

__version__ = "0.1.0"

__all__ = [
    "DupoptError",
    "Issue",
    "ModelParameters",
    "Scenario",
    "ScenarioError",
    "__version__",
    "default_data_dir",
    "load_scenario",
    "scenario_from_frames",
]
