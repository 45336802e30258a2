"""Former path of :mod:`optimizer.sweeps.store`, kept so that existing code keeps working."""

from optimizer.sweeps.store import *  # noqa: F403
