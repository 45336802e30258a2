"""Names of a package imported on first use (PEP 562), so that importing the package is
cheap: ``import optimizer`` loads neither pandas nor the solvers, Dask or DuckDB."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any


def lazy_attribute(package: str, exports: dict[str, str], name: str) -> Any:
    """The attribute ``name`` of ``package``, imported on first use (for a module
    ``__getattr__``).

    ``name`` is looked up in ``exports`` (public name -> the module defining it), else
    taken as a submodule (``optimizer.scenario`` after ``import optimizer``, as when the
    package imported everything up front). The value is then set on the package, so this
    runs once per name.

    Raises
    ------
    AttributeError
        For a name that is neither exported nor a submodule.
    """
    if name in exports:
        value = getattr(importlib.import_module(exports[name]), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}") is not None:
        value = importlib.import_module(f"{package}.{name}")
    else:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    setattr(sys.modules[package], name, value)
    return value
