"""Scenario data: the schema, readers, validation and the :class:`Scenario` object.

Data flow: :mod:`~optimizer.scenario.readers` read TOML, CSV and Parquet with every cell's
location; :mod:`~optimizer.scenario.table_validation` parses and checks each table against
its :mod:`~optimizer.scenario.schema`; :mod:`~optimizer.scenario.consistency` checks the
tables against each other and :mod:`~optimizer.scenario.limits` the magnitudes; the result
is a :class:`Scenario` (:mod:`~optimizer.scenario.scenario`).
"""

from optimizer.scenario.scenario import Scenario, load_scenario, scenario_from_frames

__all__ = ["Scenario", "load_scenario", "scenario_from_frames"]
