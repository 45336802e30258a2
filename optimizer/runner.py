"""Former path of :mod:`optimizer.sweeps.driver`, kept so that existing code keeps working."""

from optimizer.sweeps.driver import *  # noqa: F403
