"""Output folders: :mod:`~optimizer.output.folders` (built beside the target, swapped in
whole, never over a user's files) and :mod:`~optimizer.output.results_folder` (a run's
tables, inputs and manifest).
"""
