"""Analysis of results, as tables only (drawing them is :mod:`geo`'s job):
:mod:`~optimizer.analysis.comparison` (observed buildout vs coordinated plan) and
:mod:`~optimizer.analysis.sweep_statistics` (distributions and robustness across a sweep).
"""
