"""The lifecycle presets: one module per lifecycle table, each built into a :class:`~runfsm.lifecycle.Lifecycle`."""

from runfsm.lifecycles.run import RUN_EDGES, RUN_LIFECYCLE

__all__ = ["RUN_EDGES", "RUN_LIFECYCLE"]
