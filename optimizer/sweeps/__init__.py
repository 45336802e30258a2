"""Sweeps: many variants of one scenario, solved on kept models into a results store.

Data flow: a sweep file (:mod:`~optimizer.sweeps.sweep_file`) lists variants as
:class:`~optimizer.sweeps.overrides.Overrides`; the driver
(:mod:`~optimizer.sweeps.driver`) sends chunks of them to workers
(:mod:`~optimizer.sweeps.worker`), which solve each on a kept
:class:`~optimizer.sweeps.fast_model.ParametricModel`; the driver commits every chunk to
the DuckDB :mod:`~optimizer.sweeps.store`.
"""
