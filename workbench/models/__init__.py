"""Trace-driven models (numba): replay a recorded run fast, for any parameter value.

- :mod:`workbench.models.sampling` — the barrier profiler at any sampling interval.
"""
