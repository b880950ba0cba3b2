"""The engine's watchpoint unit from Python: replay a trace of watch operations and accesses
through the C unit (native/src/watch/, docs/watchpoints.md) and get its counters.

The trace-driven model (:mod:`workbench.models.watch`) follows the same specification in
numba and sweeps every cache size in one pass; :func:`replay` is the engine's side of the
equality check between the two (tests/test_watch_unit.py).

>>> import numpy as np
>>> from workbench.models.watch import ops
>>> replay(ops([(2, 1, 0x1000, 64), (0, 0, 0x1010, 8), (0, 0, 0x1010, 8)]), rc_entries=4)["hits"]
1
"""
from __future__ import annotations

import re

import numpy as np

from ._engine import ffi, lib
from .errors import ConfigError

#: the counters, in the order of the C struct wb_watch_counters
COUNTERS = ("loads", "stores", "sets", "clears", "lookups", "hits", "misses", "handler_calls",
            "evictions", "invalidations", "updates", "triggers", "splits", "merges", "segments_max",
            "blb_lookups", "blb_hits", "blb_misses", "blb_evictions", "blb_updates")


# one error for a bad record, whichever side found it (the model checks first, with numpy)
from .models.watch import OP_DTYPE, TraceError  # noqa: E402


def _check_count(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be an integer from {lo} to {hi}, got {value!r}")
    return int(value)


def replay(trace: np.ndarray, rc_entries: int, blb_entries: int = 0, blb_runs: int = 4) -> dict[str, int]:
    """Run ``trace`` (an array of :data:`workbench.models.watch.OP_DTYPE` records) through a
    fresh engine unit with a range cache of ``rc_entries`` entries and a bitmap lookaside
    buffer of ``blb_entries`` lines (0: none) for 64-byte lines crossed by ``blb_runs`` runs or
    more; its counters by name.

    Raises :class:`TraceError` for a bad record and :class:`ConfigError` for a bad size."""
    rc_entries = _check_count("rc_entries", rc_entries, 1, 1 << 24)
    blb_entries = _check_count("blb_entries", blb_entries, 0, 1 << 24)
    blb_runs = _check_count("blb_runs", blb_runs, 2, 65)
    arr = np.ascontiguousarray(trace)
    if arr.dtype != OP_DTYPE:
        raise ConfigError(f"trace must be an array of workbench.models.watch.OP_DTYPE records, got dtype {arr.dtype}")
    out = ffi.new("wb_watch_counters *")
    err = ffi.new("char[512]")
    ptr = ffi.cast("const wb_watch_op *", ffi.from_buffer(arr)) if len(arr) else ffi.NULL
    if lib.wb_watch_replay(ptr, len(arr), rc_entries, blb_entries, blb_runs, out, err, 512) != 0:
        msg = ffi.string(err).decode()
        m = re.match(r"record (\d+): (.*)", msg)
        if m:
            raise TraceError(int(m.group(1)), m.group(2))
        raise ConfigError(msg)
    return {name: int(getattr(out, name)) for name in COUNTERS}
