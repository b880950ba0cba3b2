"""Cheap picklable point functions for the sweep tests (imported by dask workers and by the
subprocess that tests resumption)."""
from __future__ import annotations

import os
import time

import numpy as np
import xarray as xr

from workbench.sweep import point_key


def slow_point(a, b, *, log: str, delay: float = 0.4, fail_on=None, record_pid: bool = False):
    """Append this point's key to ``log``, sleep ``delay`` seconds, return a small Dataset
    (a scalar, a variable with its own ``repeat`` dim and, with ``record_pid``, the pid of the
    worker process that ran it)."""
    key = point_key({"a": a, "b": b})
    with open(log, "a") as f:
        f.write(key + "\n")
    time.sleep(delay)
    if fail_on is not None and (a, b) == tuple(fail_on):
        raise ValueError(f"deliberate failure at a={a} b={b}")
    ds = xr.Dataset(
        {"value": ((), float(a * 10 + len(b)), {"units": "1", "long_name": "a*10 + len(b)"}),
         "samples": (("repeat",), np.arange(3, dtype=np.float64) + a)},
        coords={"repeat": np.arange(3)},
        attrs={"note": "test"},
    )
    if record_pid:
        ds["pid"] = ((), np.int64(os.getpid()))
    return ds


def run_sweep_main(store: str, log: str, progress: bool = False):
    """What the resumption subprocess runs: the standard test sweep over ``store``."""
    import functools

    from workbench.sweep import sweep

    return sweep(functools.partial(slow_point, log=log), GRID, store=store, progress=progress)


GRID = {"a": [1, 2, 3, 4], "b": ["x", "yy", "zzz"]}
