"""A simple cycle model of watchpoints: what the unit's counters (and the other mechanisms')
would cost on hardware, in cycles, so a cache-size sweep of the model (``watch.sweep``) can be
read as a modelled overhead beside the overheads measured on the engine.

Every parameter says where its default comes from (:data:`SOURCES`): the design of the unit
in Greathouse et al. (ASPLOS 2012), a measurement on the host (the ``measured_*`` helpers,
which time the engine's own mechanisms), or an assumption stated as one. Change any of them:
the model is a dot product of counters and costs, nothing more.

>>> m = CostModel()
>>> unit_cycles({"lookups": 100, "misses": 10, "blb_misses": 0, "triggers": 2}, m)
5400.0
>>> round(modelled_slowdown({"lookups": 100, "misses": 10, "blb_misses": 0, "triggers": 2}, 10_000, m), 3)
1.54
"""
from __future__ import annotations

import dataclasses
from typing import Mapping


@dataclasses.dataclass(frozen=True)
class CostModel:
    """Cycles per event. ``cpi``: the program's own cycles per instruction, the baseline."""

    hit: float = 0.0            # a range-cache or BLB look-up that hits
    miss: float = 500.0         # a range-cache miss: the software handler walks the range table
    blb_miss: float = 20.0      # a BLB miss: one line of the bitmap from the memory hierarchy
    trigger: float = 200.0      # a watched access: the analysis' handler is entered (user-level exception)
    fault: float = 4000.0       # pageprot: one page fault delivered to user level and returned from
    soft_check: float = 4.0     # software: the shadow check compiled before a load or store
    change: float = 0.0         # a set or clear (wp.set / wp.clear): not priced by default
    cpi: float = 1.0


#: where each default comes from
SOURCES = {
    "hit": "the paper's design: the range cache is searched in parallel with the L1 data cache, "
           "so a hit adds no latency",
    "miss": "assumption: a user-level handler (a few hundred instructions searching the in-memory "
            "range structure); the engine's own C handler is timed by measured_ns_per_miss()",
    "blb_miss": "assumption: one cache-line fetch from L2 (about 20 cycles on current cores)",
    "trigger": "assumption: a fast user-level exception into the analysis (the paper assumes "
               "hardware delivers watchpoint faults to a user handler without the kernel)",
    "fault": "measured order of magnitude: a protection fault through the kernel to a signal "
             "handler and back costs about 1-2 us on Linux x86-64 (4000 cycles at 2-3 GHz); "
             "the engine's pageprot mechanism measures it on this host",
    "soft_check": "assumption: a shadow lookup (shift, load, test, branch) before every access",
    "change": "not priced by default: the paper's unit rewrites its cached entries in place on a "
              "set or clear, and what updating the in-memory range table costs is not given; a "
              "user-level update as dear as a miss (500) is the other end of the range",
    "cpi": "assumption: the program's own cost, one cycle per guest instruction",
}


def _get(counters: Mapping, name: str) -> float:
    return float(counters[name]) if name in counters else 0.0


def unit_cycles(counters: Mapping, model: CostModel = CostModel()) -> float:
    """Cycles the unit adds (``unlimited``): hits, handler calls on misses, BLB fills,
    triggers, and sets and clears. ``counters``: a dict or a DataFrame row/column mapping
    (``Run.watch``, ``watch.replay``, a row of ``watch.sweep``).

    >>> unit_cycles({"sets": 3, "clears": 1}, CostModel(change=50))
    200.0
    """
    hits = _get(counters, "lookups") - _get(counters, "misses")
    changes = _get(counters, "sets") + _get(counters, "clears")
    return (hits * model.hit + _get(counters, "misses") * model.miss
            + _get(counters, "blb_misses") * model.blb_miss + _get(counters, "triggers") * model.trigger
            + changes * model.change)


def mechanism_cycles(mechanism: str, counters: Mapping, model: CostModel = CostModel(),
                     accesses: float = 0.0) -> float:
    """Cycles a mechanism adds on the same program: ``unlimited`` (:func:`unit_cycles`),
    ``pageprot`` (a fault per checked access, plus the triggers), ``software`` (a check on
    each of ``accesses`` loads and stores, plus the triggers), ``debugregs`` (the triggers
    only: the registers are compared in hardware)."""
    trig = _get(counters, "triggers") * model.trigger
    if mechanism == "unlimited":
        return unit_cycles(counters, model)
    if mechanism == "pageprot":
        return _get(counters, "loads") * model.fault + _get(counters, "stores") * model.fault + trig
    if mechanism == "software":
        return accesses * model.soft_check + trig
    if mechanism == "debugregs":
        return trig
    raise ValueError(f"unknown mechanism {mechanism!r} (unlimited, pageprot, software, debugregs)")


def modelled_slowdown(counters: Mapping, instructions: float, model: CostModel = CostModel(),
                      mechanism: str = "unlimited", accesses: float = 0.0) -> float:
    """Run time with the mechanism over run time without it: 1 + added cycles / (instructions x cpi)."""
    if instructions <= 0:
        raise ValueError(f"instructions must be > 0, got {instructions!r}")
    return 1.0 + mechanism_cycles(mechanism, counters, model, accesses) / (instructions * model.cpi)


def measured_ns_per_miss(trace, rc_entries: int = 1, repeat: int = 3) -> float:
    """The engine's C miss path, timed: nanoseconds per range-cache miss when ``trace`` is
    replayed through a 1-entry cache (nearly every look-up misses). A floor for what a
    software handler costs on this host."""
    import time

    from .. import watch as engine

    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = engine.replay(trace, rc_entries)
        best = min(best, time.perf_counter() - t0)
    return best * 1e9 / max(1, out["misses"])
