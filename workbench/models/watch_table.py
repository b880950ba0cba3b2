"""The range table of the watchpoint unit's model, in numba: every byte's watch bits as sorted,
disjoint segments (docs/watchpoints.md, "The range table"), with the look-up of the run
holding a byte and the set/clear that rewrites it. ``workbench.models.watch`` drives it
(replay, sweep); this module owns only the table.
"""
from __future__ import annotations

import numpy as np
from numba import njit

# 64-bit addresses: constants mixed with addresses are uint64 (numba turns uint64 op int64
# into float64, which is wrong above 2**53)
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_TOP = np.uint64(2**64 - 1)

# ---------------------------------------------------------------- the range table (numba)
# The segments, sorted and disjoint, with nonzero bits and no two adjacent ones equal, are kept
# in blocks of at most _BLOCK (a two-level B-tree): an operation rewrites one block or a few
# instead of shifting the whole table, so a table of millions of segments changed in random
# order costs O(_BLOCK + log n) per operation. A table is the tuple
#   (F, L, B, cnt, bid, bmin, st, free):
# rows of F (first byte), L (last byte), B (bits) hold the blocks, cnt[row] their fill; bid
# lists the rows in address order and bmin their first bytes (for the binary search);
# st = [blocks, segments, rows ever used, free rows]; free: a stack of unused rows.
# A position is (j, o): the o-th segment of the j-th block in order; (-1, -1) is none.
_BLOCK = 256


@njit(cache=True)
def _table():
    rows = 8
    return (np.empty((rows, _BLOCK), np.uint64), np.empty((rows, _BLOCK), np.uint64),
            np.empty((rows, _BLOCK), np.uint8), np.zeros(rows, np.int64),
            np.empty(rows, np.int64), np.empty(rows, np.uint64), np.zeros(4, np.int64),
            np.empty(rows, np.int64))


@njit(cache=True)
def _floor(T, p):
    """Position of the last segment starting at or before p."""
    F, L, B, cnt, bid, bmin, st, free = T
    lo, hi = 0, st[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if bmin[mid] <= p:
            lo = mid + 1
        else:
            hi = mid
    j = lo - 1
    if j < 0:
        return -1, -1
    r = bid[j]
    lo, hi = 0, cnt[r]
    while lo < hi:
        mid = (lo + hi) >> 1
        if F[r, mid] <= p:
            lo = mid + 1
        else:
            hi = mid
    return j, lo - 1


@njit(cache=True)
def _next(T, j, o):
    F, L, B, cnt, bid, bmin, st, free = T
    if o + 1 < cnt[bid[j]]:
        return j, o + 1
    if j + 1 < st[0]:
        return j + 1, 0
    return -1, -1


@njit(cache=True)
def _run_of(T, p):
    """The run containing byte p: its segment, or else the gap around it (bits 0)."""
    F, L, B, cnt, bid, bmin, st, free = T
    j, o = _floor(T, p)
    if j >= 0:
        r = bid[j]
        if L[r, o] >= p:
            return F[r, o], L[r, o], B[r, o]
        lo = L[r, o] + _U1                  # L < p <= 2**64 - 1: no wrap
        j, o = _next(T, j, o)
    else:
        lo = _U0
        j, o = (0, 0) if st[0] > 0 else (-1, -1)
    hi = F[bid[j], o] - _U1 if j >= 0 else _TOP   # that segment starts after p >= 0
    return lo, hi, np.uint8(0)


@njit(cache=True)
def _inside(T, b):
    """Whether boundary b (a byte starting a new part) lies strictly inside a segment."""
    F, L, B, cnt, bid, bmin, st, free = T
    j, o = _floor(T, b)
    if j < 0:
        return False
    r = bid[j]
    return F[r, o] < b and b <= L[r, o]


@njit(cache=True)
def _boundaries_inside(T, s, e):
    """How many of the boundaries s and e + 1 (the latter only when e < 2**64 - 1) lie
    strictly inside a segment: splits on the old table, merges on the new."""
    c = 1 if _inside(T, s) else 0
    if e < _TOP and _inside(T, e + _U1):
        c += 1
    return c


@njit(cache=True)
def _emit(pf, pl, pb, k, a, b, v):
    """Append piece [a, b] with bits v to the new segments: dropped when v is 0 (a gap),
    joined to the previous piece when it touches it with equal bits."""
    if v == 0:
        return k
    if k > 0 and pb[k - 1] == v and pl[k - 1] + _U1 == a:
        pl[k - 1] = b
        return k
    pf[k] = a
    pl[k] = b
    pb[k] = v
    return k + 1


@njit(cache=True)
def _pieces(first, last, bits, m, s, e, f, is_set, pf, pl, pb):
    """The normal segments replacing old segments 0..m-1 of first/last/bits (all those
    touching [s-1, e+1]) after a set/clear of flags f on [s, e]; returns how many were written
    to pf/pl/pb (which hold 2m + 3).

    Walks [A, B] — the old segments and the gaps between them, from the start of the first
    (or s) to the end of the last (or e) — cut at s and e + 1, applying the operation inside.
    The pieces at either end keep their old bits and so stay distinct from the untouched
    segments beyond them (which end/start at least one gap byte away, or differ already)."""
    A = first[0] if m > 0 and first[0] < s else s
    B = last[m - 1] if m > 0 and last[m - 1] > e else e
    fi = np.int64(f)
    k = 0
    p = A
    j = 0
    while True:
        if j < m and first[j] <= p:
            end = last[j]
            ob = np.int64(bits[j])
            in_seg = True
        else:
            end = first[j] - _U1 if j < m else B
            ob = np.int64(0)
            in_seg = False
        if p < s:                               # before the range: unchanged
            x = end if end < s - _U1 else s - _U1
            k = _emit(pf, pl, pb, k, p, x, np.uint8(ob))
        lo = p if p > s else s
        hi = end if end < e else e
        if lo <= hi:                            # inside the range
            nb = (ob | fi) if is_set else (ob & (3 - fi))
            k = _emit(pf, pl, pb, k, lo, hi, np.uint8(nb))
        if end > e:                             # after the range (so e < 2**64 - 1)
            lo = p if p > e + _U1 else e + _U1
            k = _emit(pf, pl, pb, k, lo, end, np.uint8(ob))
        if end >= B:
            break
        p = end + _U1
        if in_seg:
            j += 1
    return k


@njit(cache=True)
def _scratch():
    """Buffers of _apply: the old segments in the window, the new ones, a rebuilt span."""
    return (np.empty(64, np.uint64), np.empty(64, np.uint64), np.empty(64, np.uint8),
            np.empty(131, np.uint64), np.empty(131, np.uint64), np.empty(131, np.uint8),
            np.empty(4 * _BLOCK, np.uint64), np.empty(4 * _BLOCK, np.uint64), np.empty(4 * _BLOCK, np.uint8))


@njit(cache=True)
def _grown(a, size):
    """A copy of a with room for at least size elements (twice as many, at least)."""
    out = np.empty(max(size, 2 * a.shape[0]), a.dtype)
    for i in range(a.shape[0]):         # (a loop: slice assignment costs seconds to compile)
        out[i] = a[i]
    return out


@njit(cache=True)
def _grown_rows(a, rows):
    """The same for the rows of a 2-d array."""
    out = np.empty((max(rows, 2 * a.shape[0]), a.shape[1]), a.dtype)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j]
    return out


@njit(cache=True)
def _apply(T, s, e, f, is_set, seg_cap, W):
    """Set (or clear) flags f on [s, e]. Returns the table and scratch buffers (possibly
    reallocated) and whether the result fit under seg_cap (if not, the table is as it was)."""
    F, L, B, cnt, bid, bmin, st, free = T
    wf, wl, wb, pf, pl, pb, tf, tl, tb = W
    nb = st[0]
    n = st[1]
    lo = s - _U1 if s > _U0 else s
    hi = e + _U1 if e < _TOP else e
    # the window: the segments touching [lo, hi], from the first one ending at or after lo
    j, o = _floor(T, lo)
    if j >= 0 and L[bid[j], o] < lo:
        j, o = _next(T, j, o)
    elif j < 0 and nb > 0:
        j, o = 0, 0
    sj, so = j, o
    ej, eo = -1, -1
    m = 0
    while j >= 0:
        r = bid[j]
        if F[r, o] > hi:
            break
        if m == wf.shape[0]:
            wf, wl, wb = _grown(wf, m + 1), _grown(wl, m + 1), _grown(wb, m + 1)
        wf[m] = F[r, o]
        wl[m] = L[r, o]
        wb[m] = B[r, o]
        m += 1
        ej, eo = j, o
        j, o = _next(T, j, o)
    if pf.shape[0] < 2 * m + 3:
        pf, pl, pb = _grown(pf, 2 * m + 3), _grown(pl, 2 * m + 3), _grown(pb, 2 * m + 3)
    k = _pieces(wf, wl, wb, m, s, e, f, is_set, pf, pl, pb)
    W = (wf, wl, wb, pf, pl, pb, tf, tl, tb)
    n2 = n - m + k
    if n2 > seg_cap:
        return T, W, False
    if m == 0 and k == 0:
        return T, W, True
    # the span replaced: block ja from offset a_off to block jb before offset b_off
    if nb == 0:
        ja, a_off, jb, b_off = 0, 0, -1, 0
    elif m > 0:
        ja, a_off, jb, b_off = sj, so, ej, eo + 1
    elif sj >= 0:
        ja, a_off, jb, b_off = sj, so, sj, so
    else:
        ja, jb = nb - 1, nb - 1
        a_off = cnt[bid[ja]]
        b_off = a_off
    total = a_off + k + (cnt[bid[jb]] - b_off if jb >= 0 else 0)
    # a block left small takes in the next one (so that blocks stay reasonably full)
    absorb = total < _BLOCK // 4 and 0 <= jb and jb + 1 < nb and total + cnt[bid[jb + 1]] <= _BLOCK
    if ja == jb and 0 < total <= _BLOCK and not absorb:
        # the usual case: one block, rewritten in place
        r = bid[ja]
        c = cnt[r]
        d = a_off + k - b_off
        if d > 0:
            for t in range(c - 1, b_off - 1, -1):
                F[r, t + d] = F[r, t]
                L[r, t + d] = L[r, t]
                B[r, t + d] = B[r, t]
        elif d < 0:
            for t in range(b_off, c):
                F[r, t + d] = F[r, t]
                L[r, t + d] = L[r, t]
                B[r, t + d] = B[r, t]
        for t in range(k):
            F[r, a_off + t] = pf[t]
            L[r, a_off + t] = pl[t]
            B[r, a_off + t] = pb[t]
        cnt[r] = total
        bmin[ja] = F[r, 0]
        st[1] = n2
        return T, W, True
    # otherwise rebuild blocks ja..jb (and the absorbed one) from prefix + pieces + suffix
    if absorb:
        total += cnt[bid[jb + 1]]
    if tf.shape[0] < total:
        tf, tl, tb = _grown(tf, total), _grown(tl, total), _grown(tb, total)
        W = (wf, wl, wb, pf, pl, pb, tf, tl, tb)
    q = 0
    if nb > 0:
        r = bid[ja]
        for t in range(a_off):
            tf[q], tl[q], tb[q] = F[r, t], L[r, t], B[r, t]
            q += 1
    for t in range(k):
        tf[q], tl[q], tb[q] = pf[t], pl[t], pb[t]
        q += 1
    if jb >= 0:
        r = bid[jb]
        for t in range(b_off, cnt[r]):
            tf[q], tl[q], tb[q] = F[r, t], L[r, t], B[r, t]
            q += 1
    if absorb:
        jb += 1
        r = bid[jb]
        for t in range(cnt[r]):
            tf[q], tl[q], tb[q] = F[r, t], L[r, t], B[r, t]
            q += 1
    nold = jb - ja + 1
    # split into blocks about half full when more than one is needed
    nnew = 0 if total == 0 else (1 if total <= _BLOCK else (total + _BLOCK // 2 - 1) // (_BLOCK // 2))
    rows = np.empty(nnew, np.int64)
    for t in range(nnew):
        if t < nold:
            rows[t] = bid[ja + t]
        elif st[3] > 0:
            st[3] -= 1
            rows[t] = free[st[3]]
        else:
            if st[2] == F.shape[0]:
                F, L, B = _grown_rows(F, st[2] + 1), _grown_rows(L, st[2] + 1), _grown_rows(B, st[2] + 1)
                cnt = _grown(cnt, st[2] + 1)
                free = _grown(free, st[2] + 1)
            rows[t] = st[2]
            st[2] += 1
    for t in range(nnew, nold):
        free[st[3]] = bid[ja + t]
        st[3] += 1
    q = 0
    for t in range(nnew):
        r = rows[t]
        c = total // nnew + (1 if t < total % nnew else 0)
        for x in range(c):
            F[r, x], L[r, x], B[r, x] = tf[q], tl[q], tb[q]
            q += 1
        cnt[r] = c
    # the block list: blocks ja..jb become the new ones
    nb2 = nb - nold + nnew
    if nb2 > bid.shape[0]:
        bid, bmin = _grown(bid, nb2), _grown(bmin, nb2)
    d = nnew - nold
    if d > 0:
        for t in range(nb - 1, jb, -1):
            bid[t + d] = bid[t]
            bmin[t + d] = bmin[t]
    elif d < 0:
        for t in range(jb + 1, nb):
            bid[t + d] = bid[t]
            bmin[t + d] = bmin[t]
    for t in range(nnew):
        bid[ja + t] = rows[t]
        bmin[ja + t] = F[rows[t], 0]
    st[0] = nb2
    st[1] = n2
    return (F, L, B, cnt, bid, bmin, st, free), W, True


