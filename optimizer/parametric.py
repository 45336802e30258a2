"""Former path of :mod:`optimizer.sweeps.fast_model`, kept so that existing code keeps working."""

from optimizer.sweeps.fast_model import *  # noqa: F403
