"""Former path of :mod:`optimizer.sweeps.overrides`, kept so that existing code keeps working."""

from optimizer.sweeps.overrides import *  # noqa: F403
