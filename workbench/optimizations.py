"""The two memory optimizations the barrier profiler's conclusions drive (docs/barrier_profiler.md),
carried out and measured, not only estimated.

- **Speculative shrinking** (:func:`shrink_plan`, :func:`shrink`): sites whose objects are
  mostly untouched get, in a rerun, only the memory the profile saw them use (the ``shrink``
  client, native/src/clients/shrink.c): an access past the cut is fixed up by growing the
  object in place. Reported: memory saved (the engine's peak of mapped guest memory, and the
  peak of live bytes at the shrunk sites), fix-ups, and time against an unprofiled run.
- **Write-only arrays stored compressed** (:func:`write_only_savings`): the bytes of objects
  the program wrote but never read, as they were when released (``barrier_contents``),
  compressed one object at a time with raw DEFLATE — what storing each of them compressed
  would take.

>>> plan = shrink_plan(profile)                                  # doctest: +SKIP
>>> shrink("heads", 300, plan)["mem_saved_bytes"]                # doctest: +SKIP
"""
from __future__ import annotations

import zlib

import numpy as np

from . import guests

UNTOUCHED_FRACTION = 0.10


def shrink_plan(objs, untouched_fraction: float = UNTOUCHED_FRACTION) -> dict[int, int]:
    """Site -> cut (bytes) for the sites whose profiled objects are mostly untouched (the
    majority under ``untouched_fraction`` of their bytes accessed); the cut is the most any of
    the site's profiled objects used (highest offset read or written, plus one).

    >>> recs = np.zeros(3, [("site", "<u8"), ("size", "<u8"), ("bytes_touched", "<u8"),
    ...                     ("max_read", "<i8"), ("max_write", "<i8")])
    >>> recs["site"] = [7, 7, 9]; recs["size"] = [16384, 16384, 64]
    >>> recs["bytes_touched"] = [100, 120, 64]; recs["max_read"] = [99, 119, 63]; recs["max_write"] = -1
    >>> shrink_plan(recs)
    {7: 120}
    """
    plan: dict[int, int] = {}
    for site in np.unique(objs["site"]):
        o = objs[objs["site"] == site]
        size = o["size"].astype(np.int64)
        untouched = (size > 0) & (o["bytes_touched"].astype(np.int64) < untouched_fraction * size)
        if untouched.sum() * 2 <= len(o):
            continue
        used = np.maximum(o["max_read"], o["max_write"]).astype(np.int64) + 1
        plan[int(site)] = int(max(1, used.max()))
    return plan


def shrink(workload: str, size, plan: dict[int, int], *, root=None, tier: str | None = None,
           baseline=None) -> dict:
    """Run ``workload`` unprofiled and with ``plan`` applied (the ``shrink`` client); report
    memory, fix-ups, time and whether the output stayed the same.

    ``baseline``: an unprofiled run of the same workload to compare with (else one is made).

    >>> shrink("heads", 300, {0x1001f4c: 127})["fixups"]          # doctest: +SKIP
    0
    """
    from .machine import Machine

    args, wroot = guests.workload(workload, size)
    root = root if root is not None else wroot
    elf = guests.build(workload)
    kw = {"tier": tier} if tier else {}
    base = baseline if baseline is not None else Machine(root=root, **kw).run(elf, args, capture=True)
    sites = "/".join(f"{s:#x}:{c}" for s, c in sorted(plan.items()))
    r = Machine(root=root, clients=["shrink"] if plan else [],
                client_options={"shrink": {"sites": sites}} if plan else None, **kw).run(elf, args, capture=True)
    if plan:
        st = r.records["shrink_stats"][0]
        stats = {k: int(st[k]) for k in ("objects", "fixups", "skipped", "bytes_requested", "bytes_mapped",
                                          "bytes_grown", "peak_live_requested", "peak_live_mapped")}
    else:
        stats = dict.fromkeys(("objects", "fixups", "skipped", "bytes_requested", "bytes_mapped",
                               "bytes_grown", "peak_live_requested", "peak_live_mapped"), 0)
    return {"sites": len(plan), **stats,
            "mem_peak_bytes": int(r.mem_peak), "baseline_mem_peak_bytes": int(base.mem_peak),
            "mem_saved_bytes": int(base.mem_peak) - int(r.mem_peak),
            "time_s": r.seconds, "baseline_time_s": base.seconds,
            "time_ratio": r.seconds / base.seconds if base.seconds > 0 else float("nan"),
            "output_ok": bool(r.ok and r.stdout == base.stdout and base.ok)}


def object_contents(contents) -> dict[int, bytes]:
    """Object id -> its bytes, from ``barrier_contents``/``bursty_contents`` records (the last
    capture of an object wins, pieces in offset order).

    >>> rec = np.zeros(2, [("id", "<u8"), ("offset", "<u4"), ("len", "<u4"), ("data", "V48")])
    >>> rec["id"] = 3; rec["offset"] = [0, 48]; rec["len"] = [48, 2]
    >>> rec["data"][1] = b"hi" + bytes(46)
    >>> len(object_contents(rec)[3]), object_contents(rec)[3][-2:]
    (50, b'hi')
    """
    pieces: dict[int, dict[int, bytes]] = {}
    for r in contents:
        pieces.setdefault(int(r["id"]), {})[int(r["offset"])] = bytes(r["data"])[: int(r["len"])]
    return {i: b"".join(p[k] for k in sorted(p)) for i, p in pieces.items()}


def write_only_savings(objs, contents) -> dict:
    """Write-only objects (written, never read) and what storing each compressed would take:
    raw DEFLATE (level 9) per object, kept raw when that is no smaller; objects longer than
    the captured 64 KiB are counted at their captured part's ratio.

    >>> objs = np.zeros(1, [("id", "<u8"), ("size", "<u8"), ("reads", "<u8"), ("writes", "<u8")])
    >>> objs["size"] = 96; objs["writes"] = 96
    >>> rec = np.zeros(2, [("id", "<u8"), ("offset", "<u4"), ("len", "<u4"), ("data", "V48")])
    >>> rec["offset"] = [0, 48]; rec["len"] = 48; rec["data"] = b"ab" * 24
    >>> s = write_only_savings(objs, rec); s["write_only_bytes"], s["compressed_bytes"] < 20
    (96, True)
    """
    data = object_contents(contents)
    wo = objs[(objs["reads"] == 0) & (objs["writes"] > 0)]
    total = comp = captured = 0
    for o in wo:
        size = int(o["size"])
        total += size
        b = data.get(int(o["id"]))
        if not b:
            comp += size
            continue
        captured += len(b)
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        n = min(len(b), len(c.compress(b) + c.flush()))
        comp += round(n * size / len(b))
    return {"write_only_objects": int(len(wo)), "write_only_bytes": total,
            "captured_bytes": captured, "compressed_bytes": comp,
            "saved_bytes": total - comp}


__all__ = ["shrink_plan", "shrink", "object_contents", "write_only_savings", "UNTOUCHED_FRACTION"]
