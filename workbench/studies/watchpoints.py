"""Unlimited watchpoints: what an analysis costs on each watchpoint mechanism, and what the
range cache does (Greathouse et al., ASPLOS 2012; docs/watchpoints.md).

This module owns the ``watchpoints`` study. Its grid is ``workload`` x ``analysis`` x
``mechanism`` x ``repeat``. Analyses: ``none`` (the unit on, nothing watched: the cost of
pages without watches), ``heap`` (the watchheap client: redzones and freed blocks watched)
``taint`` (the taint client: the bytes of the workload's input file are the source; only
for the workloads that read one, :data:`FILE_WORKLOADS`) and ``race`` (the FastTrack race
detector's read/write-set checks, on the threaded workloads :data:`THREAD_WORKLOADS` under the
deterministic schedule: ``software`` checks every access in the detector, as full mode does;
``unlimited`` gives each thread its own unit, fasttrack's ``watchsets`` mode). zstd reads its input from a file
here (``zstd @FILE``, the same generated text brotli compresses), so every analysis of a
workload shares its plain run.
Mechanisms: ``off`` (no unit: the baseline), ``unlimited``, ``pageprot``, ``debugregs`` and
``software`` (:func:`applicable` says which pairs run). Every run is the JIT, checked against
the plain run's output; the unit's and the mechanism's counters are kept per point, and
:func:`derive` adds the overhead against the plain run, the hit rate and the cycle model's
slowdown (``workbench.models.watch_cost``).

>>> from workbench.studies import watchpoints
>>> ds = watchpoints.run("small", progress=False)  # doctest: +SKIP
>>> float(ds.overhead_ratio.sel(workload="zstd", analysis="heap", mechanism="unlimited"))  # doctest: +SKIP
2.4
>>> watchpoints.summary(ds)  # doctest: +SKIP
"""
from __future__ import annotations

import functools
import math
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np

from .. import guests

NAME = "watchpoints"
#: workload sizes per scale (heapbugs: rounds of its clean allocation work; lua54: bench.lua's
#: size, kept small: page protection takes a fault on every access to a heap page)
SIZES = {"small": {"zstd": "256k", "brotli": "64k", "heapbugs": 100, "racy": 4000, "zstd-mt": "1m"},
         "paper": {"zstd": "8m", "brotli": "2m", "lua54": 1, "heapbugs": 3000, "racy": 100000, "zstd-mt": "4m"}}
ANALYSES = ("none", "heap", "taint", "race")
MECHANISMS = ("off", "unlimited", "pageprot", "debugregs", "software")
#: the client each analysis runs
ANALYSIS_CLIENTS = {"none": [], "heap": ["watchheap"], "taint": ["taint"], "race": ["fasttrack"]}
#: the workloads that read an input file (the taint analysis' source)
FILE_WORKLOADS = ("zstd", "brotli")
#: the threaded workloads (the race analysis; they run nothing else here) and their threads
THREAD_WORKLOADS = {"racy": 3, "zstd-mt": 2}
#: the race analysis' mechanisms: fasttrack's modes (the watchpoint unit itself stays off)
RACE_MODES = {"software": "full", "unlimited": "watchsets"}
#: the paper's headline: watchpoints speed up a race detector's read/write-set checks by
#: nearly 9x over software and page protection (PAPERS: "nearly 9x")
PAPER_SPEEDUP = 9.0

#: the unit's and the mechanism's counters kept per point (Run.watch)
COUNTERS = ("loads", "stores", "sets", "clears", "lookups", "hits", "misses", "triggers",
            "segments_max", "view_faults", "false_faults", "inline_checks", "marked", "rebuilds",
            "uncovered_sets")
#: taint tracking's counters kept per point (Run.watch's taint_*; NaN for other analyses)
TAINT_COUNTERS = ("taint_steps", "taint_step_entries", "taint_sourced_bytes")
#: the race analysis' own counters (Run.fasttrack; NaN for other analyses)
RACE_COUNTERS = ("analysed", "set_skips", "same_epoch")

VARIABLES = {
    "time_s": {"long_name": "run time inside the engine", "units": "s"},
    "instructions": {"long_name": "guest instructions retired", "units": "1"},
    "findings": {"long_name": "analysis findings (watchheap records; taint: sinks reached; 0 without "
                              "an analysis)", "units": "1"},
    "tainted_out": {"long_name": "taint: tainted bytes written (sink_data; NaN for other analyses)", "units": "bytes"},
    "output_ok": {"long_name": "the run exited 0 with the plain run's output (1 yes, 0 no, NaN not run)",
                  "units": "1"},
    **{c: {"long_name": f"watchpoint unit: {c.replace('_', ' ')} (Run.watch; NaN without a unit)",
           "units": "1"} for c in COUNTERS},
    **{c: {"long_name": f"taint tracking: {c[6:].replace('_', ' ')} (Run.watch; NaN for other analyses)",
           "units": "1"} for c in TAINT_COUNTERS},
    "analysed": {"long_name": "race: plain accesses the detector analysed (NaN for other analyses)", "units": "1"},
    "set_skips": {"long_name": "race: accesses the threads' units skipped (0 on software; NaN for other "
                               "analyses)", "units": "1"},
    "same_epoch": {"long_name": "race: analysed accesses the detector's same-epoch fast path finished "
                                "(NaN for other analyses)", "units": "1"},
}


def GRID(scale: str = "small") -> dict[str, list]:
    """The sweep grid of a scale.

    >>> GRID("small")["mechanism"]
    ['off', 'unlimited', 'pageprot', 'debugregs', 'software']
    >>> GRID("small")["repeat"]
    [0, 1, 2]
    """
    from . import check_scale

    check_scale(scale)
    return {"workload": list(SIZES[scale]), "analysis": list(ANALYSES),
            "mechanism": list(MECHANISMS), "repeat": [0, 1, 2]}


def applicable(analysis: str, mechanism: str, workload: str | None = None) -> bool:
    """Whether an (analysis, mechanism) cell runs: an analysis needs a unit; without one the
    unit runs empty (debug registers would be the same as unlimited there, so they do not);
    taint tracking needs a workload that reads an input file; the race analysis runs on the
    threaded workloads (and they run only it and the plain run), on software checks and
    per-thread units (page protection would fault on nearly every access, and four debug
    registers cannot hold a thread's sets).

    >>> applicable("none", "off"), applicable("heap", "off"), applicable("none", "debugregs")
    (True, False, False)
    >>> applicable("taint", "unlimited", "zstd"), applicable("taint", "unlimited", "lua54")
    (True, False)
    >>> applicable("race", "unlimited", "racy"), applicable("race", "pageprot", "racy"), applicable("heap", "unlimited", "racy")
    (True, False, False)
    """
    threaded = workload in THREAD_WORKLOADS
    if analysis == "race":
        return mechanism in RACE_MODES and (workload is None or threaded)
    if threaded:
        return analysis == "none" and mechanism == "off"
    if analysis == "taint" and workload is not None and workload not in FILE_WORKLOADS:
        return False
    if analysis == "none":
        return mechanism != "debugregs"
    return mechanism != "off"


def _workload(workload: str, size) -> tuple[list[str], Path, str | None]:
    """The arguments, root and input file name of a workload's runs in this study: zstd
    compresses a file (the generated text brotli compresses), the others run as benchmarks."""
    if workload == "zstd":
        path = guests.brotli_input(size)
        return ["@" + path.name, "3"], path.parent, path.name
    if workload == "racy":
        return [str(THREAD_WORKLOADS["racy"]), str(size)], Path(tempfile.gettempdir()), None
    if workload == "zstd-mt":
        args = guests.workload_args("zstd-mt", size=size)[:-1] + [str(THREAD_WORKLOADS["zstd-mt"])]
        return args, Path(tempfile.gettempdir()), None
    args, root = guests.workload(workload, size)
    files = [a for a in args if (root / a).is_file()] if workload in FILE_WORKLOADS else []
    return args, root, files[0] if files else None


@functools.lru_cache(maxsize=None)
def _reference(workload: str, size) -> bytes:
    """The plain JIT run's output, which every cell must reproduce (runs once per process)."""
    from ..machine import Machine

    args, root, _ = _workload(workload, size)
    r = Machine("jit", root=root, **_schedule(workload)).run(guests.build(workload, quiet=True), args, capture=True, argv0=workload)
    return r.stdout if r.ok else b"\0plain run failed: " + r.message.encode()


def _schedule(workload: str) -> dict:
    """The threaded workloads run under the deterministic schedule (the same interleaving in
    every cell, so the detector's counts compare across mechanisms)."""
    return {"schedule": "deterministic"} if workload in THREAD_WORKLOADS else {}


def _point_dataset(values: Mapping):
    import xarray as xr

    return xr.Dataset({k: ((), np.float64(values.get(k, math.nan)), dict(VARIABLES[k])) for k in VARIABLES})


def measure(workload: str, analysis: str, mechanism: str, repeat: int, size=None):
    """Run one cell once; its scalar Dataset (:data:`VARIABLES`). Cells that do not apply come
    back all NaN without running.

    >>> int(measure("heapbugs", "heap", "unlimited", 0, size=50).findings)  # doctest: +SKIP
    0
    """
    if not applicable(analysis, mechanism, workload):
        return _point_dataset({})
    from ..bench import RecordCounter
    from ..machine import Machine

    args, root, source = _workload(workload, size)
    counter = RecordCounter()
    options = {"taint": {"file": source}} if analysis == "taint" else \
        {"fasttrack": {"mode": RACE_MODES[mechanism]}} if analysis == "race" else {}
    race = analysis == "race"
    m = Machine("jit", root=root, clients=ANALYSIS_CLIENTS[analysis], client_options=options,
                watch=None if mechanism == "off" or race else mechanism, **_schedule(workload))
    # taint's stream is a few records (kept); watchheap's is counted as it drains
    r = m.run(guests.build(workload, quiet=True), args, capture=True, argv0=workload,
              on_records=None if analysis == "taint" else counter)
    values = {"time_s": r.seconds, "instructions": float(r.instructions),
              "findings": float(counter.counts.get("watchheap", 0)),
              "output_ok": float(r.ok and r.stdout == _reference(workload, size))}
    if r.watch:
        values.update({c: float(r.watch[c]) for c in COUNTERS})
    if race:
        values.update(_race_values(r.fasttrack))
    if analysis == "taint":
        sinks = [rec for rec in r.records.get("taint", []) if int(rec["kind"]) != 0]
        values["findings"] = float(len(sinks))
        values["tainted_out"] = float(sum(int(rec["bytes"]) for rec in sinks if int(rec["kind"]) == 1))
        values.update({c: float(r.watch.get(c, 0)) for c in TAINT_COUNTERS})
    return _point_dataset(values)


def _race_values(ft: Mapping) -> dict:
    """The race analysis' counters as the study's: the threads' units' (fasttrack's unit_*,
    on ``unlimited``), the detector's, and its findings (race pc pairs). On ``software`` every
    access is a check made in the detector (loads and stores), and the accesses its same-epoch
    test passes on (``triggers``) are those a unit would trigger on."""
    analysed = ft["reads"] + ft["writes"]
    out = {"findings": float(ft["race_pairs"]), "analysed": float(analysed), "set_skips": float(ft["set_skips"]),
           "same_epoch": float(ft["same_epoch"])}
    if ft["watchsets"]:
        out.update({c: float(ft[f"unit_{c}"]) for c in ("loads", "stores", "sets", "clears", "lookups", "hits",
                                                      "misses", "triggers", "segments_max")})
    else:
        out.update({"loads": float(ft["reads"]), "stores": float(ft["writes"]),
                    "triggers": float(analysed - ft["same_epoch"])})
    return out


def _point(workload: str, analysis: str, mechanism: str, repeat: int, *, sizes: Mapping):
    return measure(workload, analysis, mechanism, repeat, size=sizes.get(workload))


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
    """Add ``time_s_median``, ``overhead_ratio`` (to the plain run: analysis none, mechanism
    off), ``hit_rate``, ``false_fault_rate``, ``modelled_slowdown`` (the cycle model on the
    unit's counters, per mechanism) and provenance attrs."""
    from ..events import provenance
    from ..models.watch_cost import CostModel, modelled_slowdown

    ds = ds.copy()
    median = ds.time_s.median("repeat")
    ds["time_s_median"] = median.assign_attrs(long_name="median run time over the repeats", units="s")
    plain = median.sel(analysis="none", mechanism="off", drop=True)
    ds["overhead_ratio"] = (median / plain).assign_attrs(
        long_name="median time / the plain run's median time (no unit, no analysis)", units="1")
    first = ds.isel(repeat=0, drop=True)        # counters are the same in every repeat
    ds["hit_rate"] = (first.hits / first.lookups).assign_attrs(
        long_name="range-cache hits / look-ups (NaN: no look-up)", units="1")
    ds["false_fault_rate"] = (first.false_faults / first.view_faults).assign_attrs(
        long_name="faults on watched pages that touched no watched byte / all such faults", units="1")
    ds["stepped_share"] = (first.taint_steps / first.instructions).assign_attrs(
        long_name="taint: instructions stepped with propagation / all instructions (NaN for other analyses)",
        units="1")
    model = CostModel()
    slow = np.full(first.lookups.shape, np.nan)
    for idx in np.ndindex(slow.shape):
        cell = first.isel(dict(zip(first.lookups.dims, idx)))
        mech = str(cell.mechanism.values)
        if str(cell.analysis.values) == "race":
            if np.isfinite(float(cell.triggers)):
                slow[idx] = _race_modelled(cell, mech, model)
            continue
        # the model prices the unit, not taint's propagation (stepping): no figure for taint
        if mech in ("unlimited", "pageprot", "debugregs") and np.isfinite(float(cell.lookups)) \
                and str(cell.analysis.values) != "taint":
            counters = {c: float(cell[c]) for c in ("lookups", "misses", "triggers", "loads", "stores", "sets", "clears")}
            slow[idx] = modelled_slowdown(counters, float(cell.instructions), model, mechanism=mech)
    ds["modelled_slowdown"] = (first.lookups.dims, slow, {
        "long_name": "the cycle model's slowdown (workbench.models.watch_cost defaults) from the "
                     "unit's counters (race: the detector's checks, software or per-thread units); "
                     "NaN for software, taint and cells without a unit", "units": "1"})
    workloads = [str(w) for w in ds.workload.values]
    ds.attrs.update(provenance(
        workload=",".join(workloads),
        program={w: guests.build(w, quiet=True) for w in workloads},
        config={"study": NAME, "scale": scale, "grid": {k: list(v) for k, v in grid.items()},
                "sizes": dict(sizes), "tier": "jit"},
        study=NAME, scale=scale,
        title="Unlimited watchpoints: an analysis on four watchpoint mechanisms, overhead and "
              "range-cache behaviour",
    ))
    return ds


def _race_modelled(cell, mechanism: str, model) -> float:
    """The race analysis' checks priced by the cycle model: ``software`` makes one check
    (``soft_check``) per access and enters the detector's work (``trigger``) on each access
    its same-epoch test passes on; ``unlimited``: the threads' units (hits free, misses through
    the software handler, triggers entering the detector, sets and clears at ``change``, 0 by
    default). The detector's own work after a trigger is the same on both and is not priced."""
    from ..models.watch_cost import modelled_slowdown

    counters = {c: float(cell[c]) for c in ("lookups", "misses", "triggers", "loads", "stores", "sets", "clears")
                if np.isfinite(float(cell[c]))}
    accesses = counters.get("loads", 0.0) + counters.get("stores", 0.0)
    return modelled_slowdown(counters, float(cell.instructions), model, mechanism=mechanism, accesses=accesses)


def run(scale: str = "small", *, store=None, scheduler=None, progress: bool = True,
        workers: int | None = None, grid: Mapping | None = None, sizes: Mapping | None = None,
        fresh: bool = False):
    """Run the study as a sweep and return its Dataset (the arguments as the engine study's:
    ``store`` resumes, ``grid`` and ``sizes`` replace entries of :func:`GRID` and :data:`SIZES`).
    One worker by default: the page-protection cells keep a core busy in the kernel for tens
    of seconds, and a cell timed beside one on the other core (a hyperthread of the same
    core, on small machines) came out up to 1.6x slower.

    >>> ds = run("small", grid={"workload": ["zstd"]}, progress=False)  # doctest: +SKIP
    >>> sorted(ds.dims)  # doctest: +SKIP
    ['analysis', 'mechanism', 'repeat', 'workload']
    """
    from ..sweep import sweep

    g = GRID(scale)
    for k, v in (grid or {}).items():
        if k not in g:
            raise ValueError(f"unknown grid dimension {k!r}; the grid has {list(g)}")
        g[k] = list(v)
    if "none" not in g["analysis"] or "off" not in g["mechanism"]:
        raise ValueError("the grid needs analysis 'none' and mechanism 'off' (overheads are to the plain run)")
    sz = dict(SIZES[scale], **(sizes or {}))
    for w in g["workload"]:   # build once here, not concurrently on the workers
        guests.build(w)
        sz.setdefault(w, None)
    sz = {w: sz[w] for w in g["workload"]}
    store = Path(store) if store is not None else default_store(scale, sz)
    raw = sweep(functools.partial(_point, sizes=sz), g, store=store, scheduler=scheduler,
                progress=progress, workers=workers or 1, fresh=fresh, label=NAME)
    return derive(raw, scale=scale, grid=g, sizes=sz)


#: the columns of :func:`summary`
SUMMARY_COLUMNS = ["workload", "analysis", "mechanism", "seconds", "x plain", "modelled x",
                   "lookups", "hit rate", "view faults", "false faults %", "inline checks",
                   "stepped %", "findings", "output ok"]


def summary(ds):
    """One row per cell that ran: workload, analysis, mechanism, seconds (median), x plain
    (overhead against the plain run), modelled x (the cycle model), lookups, hit rate, view
    faults, false faults %, inline checks, stepped % (taint: instructions stepped with
    propagation), findings, output ok.

    >>> summary(ds).columns.tolist()  # doctest: +SKIP
    """
    import pandas as pd

    median = ds.time_s.median("repeat")
    first = ds.isel(repeat=0, drop=True)
    ok = ds.output_ok.min("repeat")
    rows = []
    for w in ds.workload.values:
        for a in ds.analysis.values:
            for mech in ds.mechanism.values:
                cell = dict(workload=w, analysis=a, mechanism=mech)
                secs = float(median.sel(cell))
                if math.isnan(secs):
                    continue
                c = first.sel(cell)

                def num(v):
                    x = float(v)
                    return x if math.isnan(x) else int(x)
                rows.append({"workload": str(w), "analysis": str(a), "mechanism": str(mech), "seconds": secs,
                             "x plain": float(ds.overhead_ratio.sel(cell)),
                             "modelled x": float(ds.modelled_slowdown.sel(cell)),
                             "lookups": num(c.lookups), "hit rate": float(ds.hit_rate.sel(cell)),
                             "view faults": num(c.view_faults),
                             "false faults %": 100 * float(ds.false_fault_rate.sel(cell)),
                             "inline checks": num(c.inline_checks),
                             "stepped %": 100 * float(ds.stepped_share.sel(cell)), "findings": num(c.findings),
                             "output ok": bool(float(ok.sel(cell)) == 1.0)})
    df = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    for col in ("lookups", "view faults", "inline checks", "findings"):
        df[col] = pd.Series([r[col] for r in rows], index=df.index, dtype=object)
    return df


#: the columns of :func:`paper_comparison`
PAPER_COLUMNS = ["workload", "analysis", "unlimited x", "pageprot / unlimited", "software / unlimited",
                 "modelled checks software / unlimited", "accesses reaching the detector",
                 "paper (race checks)"]


def paper_comparison(ds):
    """The paper's ~9x beside ours: per workload and analysis (heap, taint, race) that ran,
    the overhead on page protection and on software checks divided by the overhead on the unit
    (``unlimited``); for the race analysis also the cycle model's cost of the checks on
    software over on the units (the paper's figure is of that kind: hardware units, not our
    emulation of them) and the share of accesses that still reach the detector."""
    import pandas as pd

    rows = []
    mechs = set(str(m) for m in ds.mechanism.values)
    for w in ds.workload.values:
        for a in (a for a in ("heap", "taint", "race") if a in ds.analysis.values):
            x = ds.overhead_ratio.sel(workload=w, analysis=a)
            unl = float(x.sel(mechanism="unlimited")) if "unlimited" in mechs else math.nan
            if math.isnan(unl):
                continue

            def over(m):   # (NaN for a mechanism the grid left out)
                return float(x.sel(mechanism=m)) / unl if m in mechs else math.nan
            modelled = math.nan
            if a == "race" and "software" in mechs:
                ms = ds.modelled_slowdown.sel(workload=w, analysis=a)
                modelled = (float(ms.sel(mechanism="software")) - 1) / (float(ms.sel(mechanism="unlimited")) - 1)
            first = ds.isel(repeat=0).sel(workload=w, analysis=a, mechanism="unlimited")
            checked = float(first.analysed) / (float(first.analysed) + float(first.set_skips)) if a == "race" else math.nan
            rows.append({"workload": str(w), "analysis": a, "unlimited x": unl,
                         "pageprot / unlimited": over("pageprot"), "software / unlimited": over("software"),
                         "modelled checks software / unlimited": modelled,
                         "accesses reaching the detector": checked,
                         "paper (race checks)": PAPER_SPEEDUP})
    return pd.DataFrame(rows, columns=PAPER_COLUMNS)


__all__ = ["GRID", "SIZES", "VARIABLES", "ANALYSES", "MECHANISMS", "FILE_WORKLOADS", "THREAD_WORKLOADS",
           "SUMMARY_COLUMNS", "PAPER_COLUMNS", "applicable",
           "measure", "run", "derive", "summary", "paper_comparison", "default_store"]
