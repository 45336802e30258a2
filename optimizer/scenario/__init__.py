"""Scenario data: the schema, readers, validation and the :class:`Scenario` object.

Data flow: :mod:`~optimizer.scenario.readers` read TOML, CSV and Parquet with every cell's
location; :mod:`~optimizer.scenario.table_validation` parses and checks each table against
its :mod:`~optimizer.scenario.schema`; :mod:`~optimizer.scenario.consistency` checks the
tables against each other and :mod:`~optimizer.scenario.limits` the magnitudes; the result
is a :class:`Scenario` (:mod:`~optimizer.scenario.scenario`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optimizer._lazy import lazy_attribute as _lazy_attribute

# Imported on first use (PEP 562), like the names of ``optimizer`` itself.
_EXPORTS = {
    name: "optimizer.scenario.scenario"
    for name in ("Scenario", "load_scenario", "scenario_from_frames")
}

if TYPE_CHECKING:
    from optimizer.scenario.scenario import Scenario, load_scenario, scenario_from_frames


def __getattr__(name: str) -> Any:
    return _lazy_attribute(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = ["Scenario", "load_scenario", "scenario_from_frames"]
