"""Aikido: a race detector behind a shared-page filter (Olszewski et al., ASPLOS 2012;
docs/aikido.md).

This module owns the ``aikido`` study. Its grid is ``workload`` x ``mode`` x ``threads`` x
``repeat``. Modes: ``none`` (the plain run), ``fasttrack-full`` (FastTrack on every plain
access), ``aikido`` (the per-thread views alone: what the filter costs) and
``fasttrack-filtered`` (FastTrack on the accesses the filter passes: those to pages a second
thread touched). Workloads: our threaded programs (``psum``, private data; ``racy``, a racy
histogram; ``races``, the seeded races of races.c, two threads, so only at ``threads=2``) and
two third-party ones (multithreaded zstd, c-blosc). Every run is the JIT on the deterministic
schedule (the same interleaving in every mode and repeat), checked against the plain run's
output. :func:`derive` adds the overhead against the plain run, the speedup of filtered over
full FastTrack, the fraction of pages and of analysed accesses that are shared.

>>> from workbench.studies import aikido
>>> ds = aikido.run("small", progress=False)  # doctest: +SKIP
>>> float(ds.filtered_speedup.sel(workload="blosc", threads=4))  # doctest: +SKIP
11.8
>>> aikido.summary(ds)  # doctest: +SKIP
"""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Mapping

import numpy as np

from .. import guests

NAME = "aikido"
#: workload sizes per scale (psum: elements; racy: items per thread; races: iterations;
#: zstd-mt and blosc: input bytes; zstd compresses inputs under 1 MiB on the calling thread)
SIZES = {"small": {"psum": 200000, "racy": 20000, "races": 400, "zstd-mt": "1m", "blosc": "2m"},
         "paper": {"psum": 4000000, "racy": 400000, "races": 4000, "zstd-mt": "4m", "blosc": "8m"}}
MODES = ("none", "fasttrack-full", "aikido", "fasttrack-filtered")
THREADS = (1, 2, 4)
#: the clients and their options per mode
MODE_CLIENTS = {"none": ([], {}), "fasttrack-full": (["fasttrack"], {"fasttrack": {"mode": "full"}}),
                "aikido": (["aikido"], {}),
                "fasttrack-filtered": (["fasttrack"], {"fasttrack": {"mode": "filtered"}})}
#: the paper's figures (talk notes, not confirmed from the paper's text): filtered FastTrack
#: up to 6x faster than full, about 76% faster on average, many benchmarks without gain
PAPER_MAX_SPEEDUP = 6.0
PAPER_MEAN_SPEEDUP = 1.76

#: per-thread views' counters (Run.aikido) and the detector's (Run.fasttrack) kept per point
AIKIDO_COUNTERS = ("pages_touched", "pages_shared", "first_touch_faults", "share_faults", "shared_faults",
                   "marked", "retranslations", "view_switches", "shared_accesses")
FASTTRACK_COUNTERS = ("reads", "writes", "syncs", "races", "race_pairs", "in_libc")

VARIABLES = {
    "time_s": {"long_name": "run time inside the engine", "units": "s"},
    "instructions": {"long_name": "guest instructions retired", "units": "1"},
    "output_ok": {"long_name": "the run exited 0 with the plain run's output (1 yes, 0 no, NaN not run)",
                  "units": "1"},
    **{c: {"long_name": f"per-thread views: {c.replace('_', ' ')} (Run.aikido; NaN without views)",
           "units": "1"} for c in AIKIDO_COUNTERS},
    **{c: {"long_name": f"FastTrack: {c.replace('_', ' ')} (Run.fasttrack; NaN without the detector)",
           "units": "1"} for c in FASTTRACK_COUNTERS},
}


def GRID(scale: str = "small") -> dict[str, list]:
    """The sweep grid of a scale.

    >>> GRID("small")["mode"]
    ['none', 'fasttrack-full', 'aikido', 'fasttrack-filtered']
    >>> GRID("small")["threads"]
    [1, 2, 4]
    """
    from . import check_scale

    check_scale(scale)
    return {"workload": list(SIZES[scale]), "mode": list(MODES), "threads": list(THREADS),
            "repeat": [0, 1, 2]}


def applicable(workload: str, threads: int) -> bool:
    """Whether a (workload, threads) cell runs: races.c's scenarios run two threads each.

    >>> applicable("races", 2), applicable("races", 4), applicable("psum", 4)
    (True, False, True)
    """
    return workload != "races" or threads == 2


def workload_args(workload: str, size, threads: int) -> list[str]:
    """The guest arguments of a workload at a size and a thread count.

    >>> workload_args("psum", 1000, 4), workload_args("races", 300, 2)
    (['4', '1000'], ['all_racy', '300'])
    >>> workload_args("zstd-mt", "1m", 2)[-1], workload_args("blosc", "2m", 4)
    ('2', ['2m', '4'])
    """
    if workload in ("psum", "racy"):
        return [str(threads), str(size)]
    if workload == "races":
        return ["all_racy", str(size)]
    if workload == "zstd-mt":
        return guests.workload_args("zstd-mt", size=size)[:-1] + [str(threads)]
    if workload == "blosc":
        return [str(size), str(threads)]
    raise ValueError(f"the aikido study has no workload {workload!r}; choose from {sorted(SIZES['paper'])}")


@functools.lru_cache(maxsize=None)
def _reference(workload: str, size, threads: int) -> bytes:
    """The plain run's output, which every cell must reproduce (runs once per process)."""
    from ..machine import Machine

    r = Machine("jit", schedule="deterministic").run(guests.build(workload, quiet=True),
                                                    workload_args(workload, size, threads), capture=True)
    return r.stdout if r.ok else b"\0plain run failed: " + r.message.encode()


def _point_dataset(values: Mapping):
    import xarray as xr

    return xr.Dataset({k: ((), np.float64(values.get(k, math.nan)), dict(VARIABLES[k])) for k in VARIABLES})


def measure(workload: str, mode: str, threads: int, repeat: int, size=None):
    """Run one cell once; its scalar Dataset (:data:`VARIABLES`). Cells that do not apply come
    back all NaN without running.

    >>> int(measure("races", "fasttrack-full", 2, 0, size=300).race_pairs)  # doctest: +SKIP
    5
    """
    if not applicable(workload, threads):
        return _point_dataset({})
    from ..machine import Machine

    clients, options = MODE_CLIENTS[mode]
    m = Machine("jit", schedule="deterministic", clients=clients, client_options=options)
    r = m.run(guests.build(workload, quiet=True), workload_args(workload, size, threads), capture=True)
    values = {"time_s": r.seconds, "instructions": float(r.instructions),
              "output_ok": float(r.ok and r.stdout == _reference(workload, size, threads))}
    if r.aikido:
        values.update({c: float(r.aikido[c]) for c in AIKIDO_COUNTERS})
    if r.fasttrack:
        values.update({c: float(r.fasttrack[c]) for c in FASTTRACK_COUNTERS})
    return _point_dataset(values)


def _point(workload: str, mode: str, threads: int, repeat: int, *, sizes: Mapping):
    return measure(workload, mode, threads, repeat, size=sizes.get(workload))


def default_store(scale: str, sizes: Mapping | None = None, *, base=None) -> Path:
    """Where :func:`run` keeps its sweep: one store per scale, engine build, revision, sizes
    and variables (the engine study's fingerprint)."""
    from .engine import _fingerprint

    if scale not in SIZES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SIZES)}")
    sizes = dict(SIZES[scale]) if sizes is None else dict(sizes)
    base = Path(base) if base is not None else guests.cache_root() / "studies"
    return base / f"{NAME}-{scale}-{_fingerprint({'sizes': sizes, 'variables': sorted(VARIABLES)})}"


def derive(ds, *, scale: str, grid: Mapping, sizes: Mapping):
    """Add ``time_s_median``, ``overhead_ratio`` (to the plain run, mode none),
    ``filtered_speedup`` (full FastTrack's median time / filtered's), ``shared_page_fraction``
    (pages shared / pages touched, from the aikido mode), ``shared_access_fraction`` (accesses
    filtered FastTrack analysed / those full FastTrack analysed) and provenance attrs."""
    from ..events import provenance

    ds = ds.copy()
    median = ds.time_s.median("repeat")
    ds["time_s_median"] = median.assign_attrs(long_name="median run time over the repeats", units="s")
    plain = median.sel(mode="none", drop=True)
    ds["overhead_ratio"] = (median / plain).assign_attrs(
        long_name="median time / the plain run's median time", units="1")
    modes = set(str(m) for m in ds.mode.values)
    first = ds.isel(repeat=0, drop=True)        # counters are the same in every repeat
    nan = plain * np.nan
    if {"fasttrack-full", "fasttrack-filtered"} <= modes:
        full, filt = first.sel(mode="fasttrack-full", drop=True), first.sel(mode="fasttrack-filtered", drop=True)
        speed = median.sel(mode="fasttrack-full", drop=True) / median.sel(mode="fasttrack-filtered", drop=True)
        frac = (filt.reads + filt.writes) / (full.reads + full.writes)
    else:
        speed = frac = nan
    ds["filtered_speedup"] = speed.assign_attrs(
        long_name="full FastTrack's median time / filtered FastTrack's", units="1")
    ds["shared_access_fraction"] = frac.assign_attrs(
        long_name="plain accesses filtered FastTrack analysed / those full FastTrack analysed", units="1")
    if "aikido" in modes:
        a = first.sel(mode="aikido", drop=True)
        pages = a.pages_shared / a.pages_touched
    else:
        pages = nan
    ds["shared_page_fraction"] = pages.assign_attrs(
        long_name="pages a second thread touched / pages touched (aikido mode)", units="1")
    workloads = [str(w) for w in ds.workload.values]
    ds.attrs.update(provenance(
        workload=",".join(workloads),
        program={w: guests.build(w, quiet=True) for w in workloads},
        config={"study": NAME, "scale": scale, "grid": {k: list(v) for k, v in grid.items()},
                "sizes": dict(sizes), "tier": "jit", "schedule": "deterministic"},
        study=NAME, scale=scale,
        title="Aikido: FastTrack on every access and behind per-thread page protection",
    ))
    return ds


def run(scale: str = "small", *, store=None, scheduler=None, progress: bool = True,
        workers: int | None = None, grid: Mapping | None = None, sizes: Mapping | None = None,
        fresh: bool = False):
    """Run the study as a sweep and return its Dataset (the arguments as the engine study's:
    ``store`` resumes, ``grid`` and ``sizes`` replace entries of :func:`GRID` and :data:`SIZES`).
    One worker by default: cells are timed, and a cell beside another on the second core came
    out slower.

    >>> ds = run("small", grid={"workload": ["psum"]}, progress=False)  # doctest: +SKIP
    >>> sorted(ds.dims)  # doctest: +SKIP
    ['mode', 'repeat', 'threads', 'workload']
    """
    from ..sweep import sweep

    g = GRID(scale)
    for k, v in (grid or {}).items():
        if k not in g:
            raise ValueError(f"unknown grid dimension {k!r}; the grid has {list(g)}")
        g[k] = list(v)
    if "none" not in g["mode"]:
        raise ValueError("the grid needs mode 'none' (overheads are to the plain run)")
    bad = [w for w in g["workload"] if w not in SIZES["paper"]]
    if bad:
        raise ValueError(f"the aikido study has no workload {bad[0]!r}; choose from {sorted(SIZES['paper'])}")
    sz = dict(SIZES[scale], **(sizes or {}))
    for w in g["workload"]:   # build once here, not concurrently on the workers
        guests.build(w)
    sz = {w: sz[w] for w in g["workload"]}
    store = Path(store) if store is not None else default_store(scale, sz)
    raw = sweep(functools.partial(_point, sizes=sz), g, store=store, scheduler=scheduler,
                progress=progress, workers=workers or 1, fresh=fresh, label=NAME)
    return derive(raw, scale=scale, grid=g, sizes=sz)


#: the columns of :func:`summary`
SUMMARY_COLUMNS = ["workload", "threads", "mode", "seconds", "x plain", "races found", "shared pages %",
                   "shared accesses %", "faults", "marked", "output ok"]


def summary(ds):
    """One row per cell that ran: workload, threads, mode, seconds (median), x plain, races
    found (distinct pc pairs), shared pages % (of pages touched), shared accesses % (of plain
    accesses), faults (view faults of the per-thread views), marked instructions, output ok.

    >>> summary(ds).columns.tolist()  # doctest: +SKIP
    """
    import pandas as pd

    median = ds.time_s.median("repeat")
    first = ds.isel(repeat=0, drop=True)
    ok = ds.output_ok.min("repeat")
    rows = []

    def num(v):
        x = float(v)
        return x if math.isnan(x) else int(x)
    for w in ds.workload.values:
        for t in ds.threads.values:
            for mode in ds.mode.values:
                cell = dict(workload=w, threads=t, mode=mode)
                secs = float(median.sel(cell))
                if math.isnan(secs):
                    continue
                c = first.sel(cell)
                faults = float(c.first_touch_faults) + float(c.share_faults) + float(c.shared_faults)
                rows.append({"workload": str(w), "threads": int(t), "mode": str(mode), "seconds": secs,
                             "x plain": float(ds.overhead_ratio.sel(cell)), "races found": num(c.race_pairs),
                             "shared pages %": 100 * float(ds.shared_page_fraction.sel(workload=w, threads=t)),
                             "shared accesses %": 100 * float(ds.shared_access_fraction.sel(workload=w, threads=t)),
                             "faults": num(faults), "marked": num(c.marked),
                             "output ok": bool(float(ok.sel(cell)) == 1.0)})
    df = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    for col in ("races found", "faults", "marked"):
        df[col] = pd.Series([r[col] for r in rows], index=df.index, dtype=object)
    return df


def paper_comparison(ds):
    """Filtered over full FastTrack per workload and thread count beside the paper's figures
    (up to 6x, about 1.76x on average), with the filter's own cost (aikido x plain) and the
    races each mode found."""
    import pandas as pd

    rows = []
    first = ds.isel(repeat=0, drop=True)
    modes = set(str(m) for m in ds.mode.values)
    for w in ds.workload.values:
        for t in ds.threads.values:
            s = float(ds.filtered_speedup.sel(workload=w, threads=t))
            if math.isnan(s):
                continue

            def x(mode):
                return float(ds.overhead_ratio.sel(workload=w, threads=t, mode=mode)) if mode in modes else math.nan

            def races(mode):
                return int(first.race_pairs.sel(workload=w, threads=t, mode=mode))
            rows.append({"workload": str(w), "threads": int(t), "full x": x("fasttrack-full"),
                         "filtered x": x("fasttrack-filtered"), "aikido x": x("aikido"),
                         "filtered speedup": s, "races full": races("fasttrack-full"),
                         "races filtered": races("fasttrack-filtered"),
                         "paper speedup (max / mean)": f"{PAPER_MAX_SPEEDUP:g} / {PAPER_MEAN_SPEEDUP:g}"})
    return pd.DataFrame(rows, columns=["workload", "threads", "full x", "filtered x", "aikido x",
                                       "filtered speedup", "races full", "races filtered",
                                       "paper speedup (max / mean)"])


def mean_speedup(ds) -> float:
    """The geometric mean of the filtered speedup over every (workload, threads) cell that ran
    (the paper's "average" is over benchmarks)."""
    s = ds.filtered_speedup.values
    s = s[np.isfinite(s)]
    return float(np.exp(np.log(s).mean())) if len(s) else math.nan


__all__ = ["GRID", "SIZES", "VARIABLES", "MODES", "THREADS", "SUMMARY_COLUMNS", "applicable", "workload_args",
           "measure", "run", "derive", "summary", "paper_comparison", "mean_speedup", "default_store"]
