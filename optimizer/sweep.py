"""Former path of :mod:`optimizer.sweeps.sweep_file`, kept so that existing code keeps working."""

from optimizer.sweeps.sweep_file import *  # noqa: F403
