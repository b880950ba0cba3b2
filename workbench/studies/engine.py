"""The engine's own cost: time per workload, tier and analysis client, against native and qemu.

This module owns the first study. Its grid is ``workload`` x ``tier`` x ``client`` x
``repeat``: tiers are ``native`` (the program built for the host), ``qemu``
(``qemu-riscv64``, when installed) and the engine's tiers (``available_tiers()``); clients are
``none`` and every analysis client built into the engine (``available_clients()``: null,
icount, bbprofile, memtrace, ...) except those that need other machine settings
(``CLIENT_NEEDS``: watchheap, which the watchpoints study measures). Only the engine tiers (:data:`CLIENT_TIERS`) run clients; the
client cells of native and qemu are NaN. A client's records are counted as they are drained
(``events``) and never kept, so memtrace's gigabytes of records cost no memory. Every run's
output is checked against the native run's. Derived variables give each cell's median time
over the repeats relative to native, to qemu, and to the same tier without a client
(``overhead_ratio``: what the analysis costs).

>>> from workbench.studies import engine
>>> ds = engine.run("small", progress=False)  # doctest: +SKIP
>>> float(ds.ratio_qemu.sel(workload="zstd", tier="interp", client="none"))  # doctest: +SKIP
2.9
>>> float(ds.overhead_ratio.sel(workload="zstd", tier="jit", client="memtrace"))  # doctest: +SKIP
5.2
>>> engine.summary(ds)  # doctest: +SKIP
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Mapping

import numpy as np

from .. import guests
from ..bench import RecordCounter, _time_process

NAME = "engine"
#: workload sizes per scale: small runs in seconds, paper is what ``wb bench`` measures
SIZES = {"small": {"lua54": 20, "zstd": "2m"},
         "paper": {w: guests.BENCH_SIZES[w] for w in ("lua54", "zstd", "heads", "brotli")}}
NATIVE, QEMU, NO_CLIENT = "native", "qemu", "none"
#: the tiers that run analysis clients (the engine's own)
CLIENT_TIERS = ("interp", "jit")

VARIABLES = {
    "time_s": {"long_name": "run time (native, qemu: whole process; engine: inside the run)",
               "units": "s"},
    "instructions": {"long_name": "guest instructions retired (qemu: the engine's count "
                                  "for the same run)", "units": "1"},
    "guest_mips": {"long_name": "guest instructions per microsecond of host time",
                   "units": "1e6 s-1"},
    "blocks_translated": {"long_name": "guest blocks translated by the engine", "units": "1"},
    "events": {"long_name": "records the run's analysis client produced (counted as drained, "
                            "not kept; 0 without a client, NaN on native and qemu)",
               "units": "1"},
    "output_ok": {"long_name": "the run exited 0 and its output matched the native run's "
                               "(1 yes, 0 no, NaN not run)", "units": "1"},
}


def _qemu() -> str | None:
    return shutil.which("qemu-riscv64")


def _clients() -> list[str]:
    """Every built-in client but those that need other machine settings (watchheap needs the
    watchpoint unit, whose costs the watchpoints study measures on every mechanism)."""
    from ..machine import CLIENT_NEEDS, available_clients

    return [NO_CLIENT] + [c for c in available_clients() if c != NO_CLIENT and c not in CLIENT_NEEDS]


def GRID(scale: str = "small") -> dict[str, list]:
    """The sweep grid of a scale: ``workload``, ``tier``, ``client``, ``repeat``.

    The workloads' sizes for the scale are in :data:`SIZES`. Every client runs on every tier
    of :data:`CLIENT_TIERS` at both scales (:func:`applicable` says which cells run): at the
    small sizes the slowest cell, memtrace on the interpreter, takes a few seconds (Lua 20:
    ~240M records, counted and dropped, in ~4 s), and the whole small grid (2 workloads x 5
    clients x 2 engine tiers, plus native and qemu) takes about 20 s a repeat on 2 cores, so
    no pair is left out. Both scales repeat every cell (three times at small scale) so the
    summary can say how far the repeats spread, not only their median.

    >>> GRID("small")["workload"], GRID("small")["repeat"]
    (['lua54', 'zstd'], [0, 1, 2])
    >>> GRID("small")["client"][:1]
    ['none']
    """
    from ..machine import available_tiers

    from . import check_scale

    check_scale(scale)
    tiers = [NATIVE] + ([QEMU] if _qemu() else []) + list(available_tiers())
    repeats = [0, 1, 2] if scale == "small" else [0, 1, 2, 3, 4]
    return {"workload": list(SIZES[scale]), "tier": tiers, "client": _clients(),
            "repeat": repeats}


def applicable(tier: str, client: str) -> bool:
    """Whether a (tier, client) cell is run: analysis clients run only on the engine's tiers
    (:data:`CLIENT_TIERS`); every tier runs without a client.

    >>> applicable("native", "none"), applicable("qemu", "memtrace"), applicable("jit", "null")
    (True, False, True)
    """
    return client == NO_CLIENT or tier in CLIENT_TIERS


@functools.lru_cache(maxsize=None)
def _reference(workload: str, size) -> tuple[bytes, int]:
    """The native build's (stdout, exit status) for a workload and size; runs once per process."""
    args, root = guests.workload(workload, size)
    _, out, rc = _time_process([str(guests.build_native(workload, quiet=True))] + args, root)
    return out, rc


def _point_dataset(time_s=math.nan, instructions=math.nan, blocks=math.nan, ok=math.nan,
                   events=math.nan):
    import xarray as xr

    mips = instructions / time_s / 1e6 if time_s and not math.isnan(time_s) else math.nan
    values = {"time_s": time_s, "instructions": instructions, "guest_mips": mips,
              "blocks_translated": blocks, "events": events, "output_ok": ok}
    return xr.Dataset({k: ((), np.float64(v), dict(VARIABLES[k])) for k, v in values.items()})


def measure(workload: str, tier: str, client: str, repeat: int, size=None):
    """Run one configuration once and return its scalar Dataset (variables in :data:`VARIABLES`).

    ``tier`` is ``native`` (host build, timed as a process), ``qemu`` (``qemu-riscv64``,
    timed as a process) or an engine tier (timed inside the run); ``client`` is ``none`` or an
    engine analysis client, whose records are counted through ``on_records`` as the engine
    drains them (``events``) and never kept. ``repeat`` only labels the run. Cells that do not
    apply (a client on native or qemu) come back all NaN without running anything.

    >>> float(measure("zstd", "interp", "none", 0, size="256k").output_ok)  # doctest: +SKIP
    1.0
    >>> int(measure("zstd", "jit", "memtrace", 0, size="256k").events)  # doctest: +SKIP
    13926182
    """
    if not applicable(tier, client):
        return _point_dataset()
    args, root = guests.workload(workload, size)
    ref_out, ref_rc = _reference(workload, size)
    if tier == NATIVE:
        t, out, rc = _time_process([str(guests.build_native(workload, quiet=True))] + args, root)
        return _point_dataset(t, ok=float(rc == 0 and ref_rc == 0 and out == ref_out))
    elf = guests.build(workload, quiet=True)
    if tier == QEMU:
        qemu = _qemu()
        if qemu is None:
            raise RuntimeError("qemu-riscv64 is not installed (Debian package qemu-user)")
        t, out, rc = _time_process([qemu, str(elf)] + args, root)
        return _point_dataset(t, ok=float(rc == 0 and ref_rc == 0 and out == ref_out))
    from ..machine import Machine, client_settings

    clients = [] if client == NO_CLIENT else [client]
    counter = RecordCounter()
    r = Machine(tier=tier, root=root, clients=clients, **client_settings(clients)).run(
        elf, args, capture=True, argv0=workload, on_records=counter)
    return _point_dataset(r.seconds, float(r.instructions), float(r.blocks_translated),
                          float(r.ok and ref_rc == 0 and r.stdout == ref_out),
                          events=float(counter.total))


def _point(workload: str, tier: str, client: str, repeat: int, *, sizes: Mapping):
    """The sweep's point function: :func:`measure` at the workload's size."""
    return measure(workload, tier, client, repeat, size=sizes.get(workload))


def _fingerprint(sizes: Mapping) -> str:
    """What decides whether stored points may be reused: the engine build, the source
    revision, the sizes and the variables a point holds."""
    from .._engine import find_library
    from ..events import git_revision

    key = {"engine": guests.sha256(find_library()), "git": git_revision(), "sizes": sizes,
           "variables": sorted(VARIABLES)}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:10]


def default_store(scale: str, sizes: Mapping | None = None, *, base=None) -> Path:
    """Where :func:`run` keeps its sweep by default: under ``base`` (default: the workbench
    cache's ``studies/``), one store per scale, engine build, source revision and sizes, so
    points measured on another build are never mixed in.

    >>> default_store("small").parent.name  # doctest: +SKIP
    'studies'
    """
    if scale not in SIZES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SIZES)}")
    sizes = dict(SIZES[scale]) if sizes is None else dict(sizes)
    base = Path(base) if base is not None else guests.cache_root() / "studies"
    return base / f"{NAME}-{scale}-{_fingerprint(sizes)}"


def derive(ds, *, scale: str, grid: Mapping, sizes: Mapping):
    """Add the qemu instruction counts, ``time_s_median``, ``ratio_native``, ``ratio_qemu``,
    ``overhead_ratio`` and provenance attrs to the combined sweep result.

    >>> ds = derive(raw, scale="small", grid=GRID("small"), sizes=SIZES["small"])  # doctest: +SKIP
    """
    import xarray as xr

    from ..events import provenance

    ds = ds.copy()
    tiers = list(ds.tier.values)
    engine_tiers = [t for t in tiers if t not in (NATIVE, QEMU)]
    if QEMU in tiers and engine_tiers:  # the engine's count of the same (deterministic) run
        insns = ds.instructions.sel(tier=engine_tiers[0], client=NO_CLIENT)
        cell = dict(tier=QEMU, client=NO_CLIENT)
        ds["instructions"].loc[cell] = insns.values
        ds["guest_mips"].loc[cell] = (insns / ds.time_s.sel(**cell) / 1e6).values
    median = ds.time_s.median("repeat")
    ds["time_s_median"] = median.assign_attrs(long_name="median run time over the repeats",
                                              units="s")
    ds["ratio_native"] = (median / median.sel(tier=NATIVE, client=NO_CLIENT, drop=True)).assign_attrs(
        long_name="median time / native median time of the same workload", units="1")
    if QEMU in tiers:
        q = median.sel(tier=QEMU, client=NO_CLIENT, drop=True)
    else:
        q = xr.full_like(median.sel(tier=NATIVE, client=NO_CLIENT, drop=True), np.nan)
    ds["ratio_qemu"] = (median / q).assign_attrs(
        long_name="median time / qemu-riscv64 median time of the same workload", units="1")
    ds["overhead_ratio"] = (median / median.sel(client=NO_CLIENT, drop=True)).assign_attrs(
        long_name="median time / median time of the same workload and tier without a client "
                  "(the analysis client's cost)", units="1")
    workloads = [str(w) for w in ds.workload.values]
    ds.attrs.update(provenance(
        workload=",".join(workloads),
        program={w: guests.build(w, quiet=True) for w in workloads},
        config={"study": NAME, "scale": scale, "grid": {k: list(v) for k, v in grid.items()},
                "sizes": dict(sizes), "qemu": _qemu()},
        study=NAME, scale=scale,
        title="The engine's own cost: run time per workload, tier and client, "
              "relative to native code and to qemu-riscv64",
    ))
    return ds


def run(scale: str = "small", *, store=None, scheduler=None, progress: bool = True,
        workers: int | None = None, grid: Mapping | None = None, sizes: Mapping | None = None,
        fresh: bool = False):
    """Run the study as a sweep and return its Dataset.

    ``store`` is the sweep's store (default :func:`default_store`, in the workbench cache):
    points already in it are reused, and the sweep prints how many and when they were
    measured; ``fresh=True`` measures every point again. ``scheduler`` is a dask
    scheduler address (default: a local cluster of ``workers`` processes, 2 by default).
    ``grid`` replaces entries of :func:`GRID` (e.g. ``{"workload": ["zstd"]}``), ``sizes``
    entries of :data:`SIZES` (e.g. ``{"zstd": "256k"}``).

    >>> ds = run("small", grid={"workload": ["zstd"]}, progress=False)  # doctest: +SKIP
    >>> sorted(ds.dims)  # doctest: +SKIP
    ['client', 'repeat', 'tier', 'workload']
    """
    from ..sweep import sweep

    g = GRID(scale)
    for k, v in (grid or {}).items():
        if k not in g:
            raise ValueError(f"unknown grid dimension {k!r}; the grid has {list(g)}")
        g[k] = list(v)
    if NATIVE not in g["tier"] or NO_CLIENT not in g["client"]:
        raise ValueError("the grid needs tier 'native' and client 'none' (ratios are to native)")
    sz = dict(SIZES[scale], **(sizes or {}))
    for w in g["workload"]:  # build once here, not concurrently on the workers
        guests.build(w)
        guests.build_native(w)
        sz.setdefault(w, None)
    sz = {w: sz[w] for w in g["workload"]}
    store = Path(store) if store is not None else default_store(scale, sz)
    raw = sweep(functools.partial(_point, sizes=sz), g, store=store, scheduler=scheduler,
                progress=progress, workers=workers, fresh=fresh, label="engine")
    return derive(raw, scale=scale, grid=g, sizes=sz)


#: the columns of :func:`summary`
SUMMARY_COLUMNS = ["workload", "tier", "client", "seconds", "spread %", "x native", "x qemu",
                   "x plain", "MIPS", "events", "output ok"]


def summary(ds):
    """The study's table as a pandas DataFrame: one row per cell that ran, with columns
    workload, tier, client, seconds (median), spread % ((max - min) / median of the repeats'
    times: how far apart the repeats are, 0 with one repeat), x native, x qemu, x plain (time
    / the same tier's time without a client), MIPS, events (client records of one run, an
    int; NaN on native and qemu), output ok.

    >>> summary(ds).columns.tolist()  # doctest: +SKIP
    ['workload', 'tier', 'client', 'seconds', 'spread %', 'x native', 'x qemu', 'x plain', 'MIPS', 'events', 'output ok']
    """
    import pandas as pd

    median = ds.time_s.median("repeat")
    spread = 100 * (ds.time_s.max("repeat") - ds.time_s.min("repeat")) / median
    mips = ds.guest_mips.median("repeat")
    ok = ds.output_ok.min("repeat")
    # stores written before clients existed lack these two: their columns are NaN
    events = ds["events"].max("repeat") if "events" in ds else None
    plain = ds["overhead_ratio"] if "overhead_ratio" in ds else None
    rows = []
    for w in ds.workload.values:
        for t in ds.tier.values:
            for c in ds.client.values:
                cell = dict(workload=w, tier=t, client=c)
                secs = float(median.sel(cell))
                if math.isnan(secs):
                    continue
                n = math.nan if events is None else float(events.sel(cell))
                rows.append({"workload": str(w), "tier": str(t), "client": str(c),
                             "seconds": secs, "spread %": float(spread.sel(cell)),
                             "x native": float(ds.ratio_native.sel(cell)),
                             "x qemu": float(ds.ratio_qemu.sel(cell)),
                             "x plain": math.nan if plain is None else float(plain.sel(cell)),
                             "MIPS": float(mips.sel(cell)),
                             "events": n if math.isnan(n) else int(n),
                             "output ok": bool(float(ok.sel(cell)) == 1.0)})
    df = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    # whole numbers where counted (pandas would turn the column to float beside the NaNs)
    df["events"] = pd.Series([r["events"] for r in rows], index=df.index, dtype=object)
    return df

__all__ = ["GRID", "SIZES", "VARIABLES", "CLIENT_TIERS", "SUMMARY_COLUMNS", "applicable",
           "measure", "run", "derive", "summary", "default_store"]
