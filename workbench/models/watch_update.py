"""The in-place update of the watchpoint unit's range cache on a set or clear, in numba: the
helpers both kernels of ``workbench.models.watch`` (replay, sweep) share (docs/watchpoints.md,
"The range cache"). This module owns only finding the parents, the new runs and their order.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .watch_table import _run_of

_U1 = np.uint64(1)

# Both kernels replace the cached runs a set or clear changes the same way (docs/watchpoints.md,
# "The range cache"): the *parents* (the cached runs crossing [s - 1, e + 1], found before the
# table changes, with the stamps of their last use) give way to the runs of the new table over
# their bytes, each written in the place of the most recently used parent it overlaps; a parent
# that gets none is dropped. A kernel keeps its parents in arrays pf (first byte), pl (last),
# pst (stamp), ps (slot), in address order.

@njit(cache=True)
def _recent(sa, fa, sb, fb):
    """Whether the entry with stamp sa and first byte fa was used more recently than (sb, fb):
    a later stamp, or the same one (runs written in one entry's place share its stamp and sit
    in the LRU order by address) and a lower address."""
    return sa > sb or (sa == sb and fa < fb)


@njit(cache=True)
def _parents(T, where, stamp, lo, hi, pf, pl, pst, ps):
    """The cached runs of the (unchanged) table crossing [lo, hi] into pf, pl, pst, ps (where:
    a run's first byte -> its slot; stamp: per slot); how many."""
    n = 0
    p = lo
    while True:
        rf, rl, rb = _run_of(T, p)
        if rf in where:
            s = where[rf]
            pf[n] = rf
            pl[n] = rl
            pst[n] = stamp[s]
            ps[n] = s
            n += 1
        if rl >= hi:
            return n
        p = rl + _U1


@njit(cache=True)
def _new_runs(T, pf, pl, pst, npar, qf, qp, pn, p0):
    """The runs of the changed table over the parents' bytes, in address order: qf their first
    bytes, qp the parent each goes to; pn[j], p0[j] how many parent j gets and the first of
    them (a parent's are consecutive). Returns how many runs. A parent, whose bytes had one
    set of bits, gets at most three: the part before the change, inside it, after it."""
    n = 0
    for j in range(npar):
        pn[j] = 0
        p = pf[j]
        while True:
            rf, rl, rb = _run_of(T, p)
            if n > 0 and qf[n - 1] == rf:                # one run over two parents: merged
                o = qp[n - 1]
                if _recent(pst[j], pf[j], pst[o], pf[o]):
                    qp[n - 1] = j
            else:
                qf[n] = rf
                qp[n] = j
                n += 1
            if rl >= pl[j]:
                break
            p = rl + _U1
    for k in range(n):
        j = qp[k]
        if pn[j] == 0:
            p0[j] = k
        pn[j] += 1
    return n


@njit(cache=True)
def _replaced_in_order(pst, pn, npar, idx):
    """The parents that get runs, least recently used first (idx: scratch)."""
    m = 0
    for j in range(npar - 1, -1, -1):                    # by address, highest first ...
        if pn[j] > 0:
            idx[m] = j
            m += 1
    sel = idx[:m]
    return sel[np.argsort(pst[sel], kind="mergesort")]  # ... then by stamp, oldest first (stable)
