"""SharingExplorer and the charts of the Aikido reproduction: which pages the threads share,
and what filtering FastTrack to those pages saves (Olszewski et al., ASPLOS 2012; docs/aikido.md).

This file owns:

* :func:`sharing_map_chart` (and its table, :func:`sharing_frame`): the page events of one run
  of the ``aikido`` client over time. Each page gets one row; a dot where a thread touched it
  first (the page is private to that thread from then on), coloured by that thread; a cross
  outlined in black where a second thread touched it (shared from then on), coloured by that
  new sharer. Only instructions that touch shared pages are instrumented, so the crosses are
  where the race detector's work begins. The pages the first thread holds data on when the
  second thread starts are *claimed* by it then (touch events with pc 0, all at one instant:
  the client takes no fault while a program has one thread);
* :func:`fraction_chart` (:func:`fraction_frame`): per workload of the aikido study, the
  shared fraction (of analysed accesses, or of pages) against the overhead of full and of
  filtered FastTrack, joined by a line: the filter pays where little is shared;
* :func:`overhead_chart` (:func:`overhead_frame`): each mode's time over the plain run, per
  workload, one panel per thread count;
* :func:`speedup_chart` (:func:`speedup_frame`): filtered over full FastTrack per workload and
  thread count, beside the paper's figures (up to 6x, 1.76x on average) and our mean;
* :class:`SharingExplorer`: the sharing map with a thread to highlight, and, given the study,
  the fraction chart with a thread count to show.

Charts only read Datasets (``run.events("aikido")``, ``workbench.studies.aikido.run``);
nothing here runs the engine.

>>> from workbench import Machine
>>> run = Machine(clients=["aikido"]).run("psum", ["4", "200000"], capture=True)  # doctest: +SKIP
>>> ex = SharingExplorer(run.events("aikido"))                                    # doctest: +SKIP
>>> ex.thread = 2; ex.describe()                                                  # doctest: +SKIP
'230 page events of 5 threads: 217 pages touched (212 claimed when the second thread ...'
>>> speedup_chart(aikido.run("small", progress=False))                            # doctest: +SKIP
"""
from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from ..errors import ConfigError
from ._base import Explorer

#: the ``kind`` of an aikido page event, by its value (the stream's flag_meanings)
KINDS = ("touch", "share")
#: the variables a page-event Dataset must have (``run.events("aikido")``)
EVENT_VARIABLES = ("time", "page", "thread", "owner", "kind")
#: the variables a study Dataset must have (``workbench.studies.aikido.run``)
STUDY_VARIABLES = ("time_s", "overhead_ratio", "filtered_speedup", "shared_access_fraction",
                   "shared_page_fraction")
STUDY_DIMS = ("workload", "mode", "threads", "repeat")
#: the two FastTrack modes the fraction chart compares
FULL, FILTERED = "fasttrack-full", "fasttrack-filtered"
#: the study's fractions: the explorer's toggle label -> variable
FRACTIONS = {"shared accesses": "shared_access_fraction", "shared pages": "shared_page_fraction"}
#: the sharing map's page axis: rank of the page address (dense), or the address itself
PAGE_AXES = ("rank", "address")
#: events the sharing map draws at most: beyond that only every k-th touch is drawn (every
#: share always is), so a long run stays readable and within what a browser draws quickly
MAX_EVENTS = 5000
#: the thread selector's value for "every thread"
EVERY = -1
#: opacity of the threads that are not highlighted
DIM = 0.2
#: colours of the modes (the overhead chart, the fraction chart)
MODE_COLORS = {"fasttrack-full": "#e45756", "aikido": "#72b7b2", "fasttrack-filtered": "#4c78a8"}
#: colour of the paper's figures
PAPER_COLOR = "#f58518"


# -- input checks ----------------------------------------------------------------------------------

def _check_events(events):
    """``events`` if it is the page-event Dataset of one run of the aikido client, else a
    ConfigError saying what it is instead."""
    import xarray as xr

    if hasattr(events, "records") and hasattr(events, "events"):        # a Run
        raise ConfigError('events must be the run\'s page events, run.events("aikido"), not the Run '
                          'itself')
    if not isinstance(events, xr.Dataset):
        raise ConfigError("events must be an xarray Dataset of page events, run.events(\"aikido\") of a "
                          f"run with Machine(clients=[\"aikido\"]), not {type(events).__name__}")
    stream = events.attrs.get("stream")
    if stream is not None and stream != "aikido":
        raise ConfigError(f"events is the {stream!r} stream; the sharing map reads the aikido stream's "
                          "page events, run.events(\"aikido\")")
    if "study" in events.attrs:
        raise ConfigError(f"events is the {events.attrs['study']!r} study's Dataset; pass it as study=, "
                          "and the page events of one run, run.events(\"aikido\"), as events")
    missing = [v for v in EVENT_VARIABLES if v not in events.variables]
    if missing or "event" not in events.dims:
        raise ConfigError("events must have dimension 'event' and variables "
                          f"{', '.join(EVENT_VARIABLES)} (run.events(\"aikido\")); "
                          + (f"missing: {', '.join(missing)}" if missing else f"dims: {dict(events.sizes)}"))
    if events.sizes["event"] == 0:
        raise ConfigError("events is empty: the run touched no page (was it run with "
                          "Machine(clients=[\"aikido\"])?)")
    bad = sorted(set(np.unique(events.kind.values).tolist()) - set(range(len(KINDS))))
    if bad:
        raise ConfigError(f"events.kind holds {bad}; page events are 0 (touch) or 1 (share)")
    return events


def _check_study(study):
    """``study`` if it is a Dataset of the aikido study, else a ConfigError saying what is wrong."""
    import xarray as xr

    if not isinstance(study, xr.Dataset):
        raise ConfigError("study must be the aikido study's Dataset (workbench.studies.aikido.run, or "
                          f"reference.load(\"aikido\")), not {type(study).__name__}")
    name = study.attrs.get("study")
    if name is not None and name != "aikido":
        raise ConfigError(f"study is the {name!r} study's Dataset; the charts read the aikido study's")
    if "event" in study.dims:
        raise ConfigError("study is a run's page events; pass those as events, and the aikido study's "
                          "Dataset as study")
    missing_dims = [d for d in STUDY_DIMS if d not in study.dims]
    missing = [v for v in STUDY_VARIABLES if v not in study.variables]
    if missing_dims or missing:
        raise ConfigError("study must be the aikido study's Dataset, with dims "
                          f"{', '.join(STUDY_DIMS)} and variables {', '.join(STUDY_VARIABLES)}; missing: "
                          + ", ".join(missing_dims + missing))
    modes = [str(m) for m in study.mode.values]
    lacking = [m for m in ("none", FULL, FILTERED) if m not in modes]
    if lacking:
        raise ConfigError(f"study has no mode {lacking[0]!r} (its modes: {', '.join(modes)}); the charts "
                          "compare full and filtered FastTrack to the plain run")
    return study


def _check_page_axis(page_axis: str) -> str:
    if page_axis not in PAGE_AXES:
        raise ConfigError(f"page_axis must be one of {', '.join(PAGE_AXES)}, not {page_axis!r}")
    return page_axis


def _check_fraction(fraction: str) -> str:
    """The study variable of a fraction, given as the variable or the toggle's label."""
    if fraction in FRACTIONS:
        return FRACTIONS[fraction]
    if fraction in FRACTIONS.values():
        return fraction
    raise ConfigError(f"fraction must be one of {', '.join(FRACTIONS.values())}, not {fraction!r}")


def _int_in(value, have) -> bool:
    """Whether ``value`` is an integer (not a bool) among ``have``."""
    return (not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))
            and int(value) in have)


def _thread_ids(events) -> list[int]:
    return sorted(set(np.asarray(events.thread.values).tolist()))


def _check_thread(events, thread):
    if thread is None:
        return None
    have = _thread_ids(events)
    if not _int_in(thread, have):
        raise ConfigError(f"thread {thread!r} touched no page in these events; choose one of "
                          f"{', '.join(map(str, have))} or None (every thread)")
    return int(thread)


# -- the sharing map ---------------------------------------------------------------------------

#: the columns of :func:`sharing_frame`
SHARING_COLUMNS = ("time", "page", "page_hex", "page_rank", "thread", "owner", "kind", "claimed", "pc",
                   "symbol", "selected")
#: what the symbol column says of a claimed page (its event has no instruction: pc 0)
CLAIMED = "(claimed when the second thread started)"


def sharing_frame(events, *, thread: int | None = None) -> pd.DataFrame:
    """One row per page event, in time order: ``time`` (guest instructions of all threads
    before the access), ``page`` (its address), ``page_hex``, ``page_rank`` (0 for the lowest
    page address of the run), ``thread`` (who touched it), ``owner`` (the thread it was
    private to), ``kind`` ("touch" or "share"), ``claimed`` (a touch without an instruction,
    pc 0: the first thread held data on the page when the second thread started), ``pc``
    (hex) and ``symbol`` (function of the access; :data:`CLAIMED` for a claimed page),
    ``selected`` (the row is ``thread``'s; every row when ``thread`` is None).

    >>> sharing_frame(run.events("aikido"))["kind"].value_counts()["share"]   # doctest: +SKIP
    13
    """
    events = _check_events(events)
    thread = _check_thread(events, thread)
    page = np.asarray(events.page.values, dtype=np.uint64)
    ranks = np.searchsorted(np.unique(page), page)
    n = len(page)
    pcs = np.asarray(events.pc.values, dtype=np.uint64) if "pc" in events.variables else None
    kind = np.asarray(events.kind.values, dtype=np.int64)
    claimed = (kind == 0) & (pcs == 0) if pcs is not None else np.zeros(n, bool)
    symbols = np.asarray(events.symbol.values, dtype=object) if "symbol" in events.variables \
        else np.full(n, "", dtype=object)
    df = pd.DataFrame({
        "time": np.asarray(events.time.values, dtype=np.int64),
        # float64 holds every user page address exactly (below 2**53) and vega reads it as a number
        "page": page.astype(np.float64),
        "page_hex": [f"{int(p):#x}" for p in page.tolist()],
        "page_rank": ranks.astype(np.int64),
        "thread": np.asarray(events.thread.values, dtype=np.int64),
        "owner": np.asarray(events.owner.values, dtype=np.int64),
        "kind": np.asarray(KINDS, dtype=object)[kind],
        "claimed": claimed,
        "pc": [f"{int(p):#x}" for p in pcs.tolist()] if pcs is not None else [""] * n,
        "symbol": np.where(claimed, CLAIMED, symbols),
    })
    df["selected"] = True if thread is None else df["thread"] == thread
    # a stable sort: events of the same instant keep the stream's order
    return df.sort_values("time", kind="stable").reset_index(drop=True)[list(SHARING_COLUMNS)]


def _thin(df: pd.DataFrame, max_events: int) -> tuple[pd.DataFrame, int]:
    """Every share and every k-th touch so that at most ``max_events`` rows remain (k = 1
    when they fit); returns (rows, k)."""
    if len(df) <= max_events:
        return df, 1
    share = df["kind"] == "share"
    touches = df[~share]
    room = max(max_events - int(share.sum()), 1)
    k = math.ceil(len(touches) / room)
    keep = share.copy()
    keep.loc[touches.index[::k]] = True
    return df[keep], k


def _thread_color(threads: list[int]) -> alt.Color:
    return alt.Color("thread:N", title="thread", scale=alt.Scale(domain=threads, scheme="tableau10"),
                     legend=alt.Legend(orient="right", symbolType="circle"))


def sharing_map_chart(events, *, thread: int | None = None, page_axis: str = "rank",
                      max_events: int = MAX_EVENTS, width: int = 620, height: int = 300) -> alt.LayerChart:
    """The sharing map of one run: x = time (guest instructions of all threads), y = page
    (``page_axis``: "rank" of its address, or the "address"); a dot per first touch coloured
    by the thread that touched it, a black-outlined cross per share coloured by the new
    sharer. With ``thread``, that thread's events are drawn in full and the others faded.
    Beyond ``max_events`` events only every k-th touch is drawn (every share is); the
    subtitle says so.

    >>> sharing_map_chart(run.events("aikido"), thread=1)    # doctest: +SKIP
    """
    events = _check_events(events)
    thread = _check_thread(events, thread)
    page_axis = _check_page_axis(page_axis)
    if not isinstance(max_events, (int, np.integer)) or max_events < 1:
        raise ConfigError(f"max_events must be an integer >= 1, not {max_events!r}")
    full = sharing_frame(events, thread=thread)
    df, k = _thin(full, int(max_events))
    threads = _thread_ids(events)
    x = alt.X("time:Q", title="time (guest instructions, all threads)", axis=alt.Axis(format="~s"))
    if page_axis == "rank":
        y = alt.Y("page_rank:Q", title="page (rank of its address)",
                  scale=alt.Scale(domain=[-0.5, max(int(full["page_rank"].max()), 1) + 0.5], nice=False))
    else:
        y = alt.Y("page:Q", title="page address", scale=alt.Scale(zero=False), axis=alt.Axis(format="#x"))
    color = _thread_color(threads)
    shape = alt.Shape("kind:N", title="event", scale=alt.Scale(domain=list(KINDS), range=["circle", "cross"]),
                      legend=alt.Legend(orient="right", labelExpr="datum.label == 'touch' ? "
                                        "'first touch (private)' : 'second thread (shared)'"))
    opacity = alt.condition("datum.selected", alt.value(1.0), alt.value(DIM))
    tip = [alt.Tooltip("kind:N", title="event"), alt.Tooltip("thread:N", title="thread"),
           alt.Tooltip("owner:N", title="owner (first toucher)"), alt.Tooltip("page_hex:N", title="page"),
           alt.Tooltip("time:Q", format=",", title="time"), "symbol:N", alt.Tooltip("pc:N", title="pc")]
    touch = alt.Chart(df).transform_filter("datum.kind == 'touch'").mark_point(
        filled=True, size=28).encode(x=x, y=y, color=color, shape=shape, opacity=opacity, tooltip=tip)
    share = alt.Chart(df).transform_filter("datum.kind == 'share'").mark_point(
        filled=True, size=150, stroke="black", strokeWidth=1).encode(
        x=x, y=y, color=color, shape=shape, opacity=opacity, tooltip=tip)
    n_pages = int(full["page_rank"].max()) + 1
    n_shared = full.loc[full["kind"] == "share", "page"].nunique()
    n_claimed = int(full["claimed"].sum())
    subtitle = [f"{n_pages:,} pages ({n_claimed:,} claimed at the second thread's start), {n_shared:,} shared",
                "dot: first touch (private to that thread), cross: a second thread's touch (shared)"]
    if thread is not None:
        subtitle.append(f"thread {thread} highlighted")
    if k > 1:
        subtitle.append(f"every share and 1 in {k} touches drawn ({len(df):,} of {len(full):,} events)")
    return alt.layer(touch, share).properties(
        width=width, height=height,
        title=alt.Title(f"page sharing over time ({_workload(events)})", subtitle=subtitle))


def _workload(events) -> str:
    name = str(events.attrs.get("workload", "") or "")
    args = str(events.attrs.get("args", "") or "")
    return f"{name} {args}".strip() or "one run"


# -- the study -------------------------------------------------------------------------------------

#: the columns of :func:`fraction_frame`
FRACTION_COLUMNS = ("workload", "threads", "mode", "overhead", "fraction", "shared_access_fraction",
                    "shared_page_fraction", "filtered_speedup")


def fraction_frame(study, *, threads: int, fraction: str = "shared_access_fraction") -> pd.DataFrame:
    """One row per workload that ran at ``threads`` and FastTrack mode (full, filtered):
    ``overhead`` (median time over the plain run's), ``fraction`` (the chosen one: the study's
    ``shared_access_fraction`` or ``shared_page_fraction``), both fractions, and
    ``filtered_speedup``.

    >>> fraction_frame(ds, threads=4)[["workload", "mode", "overhead"]]   # doctest: +SKIP
    """
    study = _check_study(study)
    var = _check_fraction(fraction)
    have = [int(t) for t in study.threads.values]
    if not _int_in(threads, have):
        raise ConfigError(f"threads {threads!r} is not in the study; choose one of {', '.join(map(str, have))}")
    rows = []
    for w in study.workload.values:
        cell = dict(workload=w, threads=int(threads))
        fr = {v: float(study[v].sel(cell)) for v in FRACTIONS.values()}
        speed = float(study.filtered_speedup.sel(cell))
        for mode in (FULL, FILTERED):
            ov = float(study.overhead_ratio.sel(**cell, mode=mode))
            if not math.isfinite(ov):
                continue        # the cell did not run (races runs two threads only)
            rows.append({"workload": str(w), "threads": int(threads), "mode": mode, "overhead": ov,
                         "fraction": fr[var], **fr, "filtered_speedup": speed})
    return pd.DataFrame(rows, columns=list(FRACTION_COLUMNS))


def _log_domain(values, pad: float = 1.25) -> list[float]:
    v = [x for x in values if math.isfinite(x) and x > 0] or [1.0]
    return [min(min(v), 1.0) / pad, max(max(v), 1.0) * pad]


def fraction_chart(study, *, threads: int | None = None, fraction: str = "shared_access_fraction",
                   width: int = 420, height: int = 280) -> alt.LayerChart:
    """Shared fraction (x) against the overhead of full and of filtered FastTrack (y, log), one
    pair of points per workload at ``threads`` (default: the most threads the study ran), the
    pair joined by a line whose length is the filter's speedup.

    >>> fraction_chart(ds, threads=4, fraction="shared_page_fraction")   # doctest: +SKIP
    """
    study = _check_study(study)
    if threads is None:
        threads = _default_threads(study)
    var = _check_fraction(fraction)
    df = fraction_frame(study, threads=threads, fraction=var)
    label = {v: k for k, v in FRACTIONS.items()}[var]
    # a square-root axis: most workloads share a few percent, and 0 must stay on the axis
    x = alt.X("fraction:Q", title=f"{label} (square-root scale)",
              axis=alt.Axis(format="~%", values=[0, 0.01, 0.05, 0.1, 0.25, 0.5, 1]),
              scale=alt.Scale(type="sqrt", domain=[0, 1]))
    y = alt.Y("overhead:Q", title="time / plain run (log)",
              scale=alt.Scale(type="log", domain=_log_domain(df["overhead"]), nice=False))
    color = alt.Color("workload:N", title="workload", legend=alt.Legend(orient="right"))
    shape = alt.Shape("mode:N", title="FastTrack", scale=alt.Scale(domain=[FULL, FILTERED],
                                                                    range=["square", "circle"]))
    tip = ["workload:N", "threads:Q", "mode:N", alt.Tooltip("overhead:Q", format=".2f", title="x plain"),
           alt.Tooltip("shared_access_fraction:Q", format=".1%", title="shared accesses"),
           alt.Tooltip("shared_page_fraction:Q", format=".1%", title="shared pages"),
           alt.Tooltip("filtered_speedup:Q", format=".2f", title="filtered speedup")]
    base = alt.Chart(df)
    layers = [
        alt.Chart().mark_rule(color="black", strokeDash=[4, 4]).encode(y=alt.datum(1)),
        base.mark_line(strokeWidth=2, opacity=0.6).encode(x=x, y=y, color=color, detail="workload:N"),
        base.mark_point(filled=True, size=90, opacity=1).encode(x=x, y=y, color=color, shape=shape, tooltip=tip),
    ]
    return alt.layer(*layers).properties(
        width=width, height=height,
        title=alt.Title(f"shared fraction vs FastTrack's overhead ({threads} threads)",
                        subtitle=["square: full, circle: filtered to shared pages; the line: what the "
                                  "filter saves", "dashed: the plain run"]))


def _default_threads(study) -> int:
    """The most threads at which some workload ran filtered FastTrack (4 in the study)."""
    ran = [int(t) for t in study.threads.values
           if np.isfinite(study.overhead_ratio.sel(threads=t, mode=FILTERED).values).any()]
    return max(ran) if ran else int(max(study.threads.values))


#: the columns of :func:`overhead_frame`
OVERHEAD_COLUMNS = ("workload", "threads", "mode", "overhead", "low", "high")


def overhead_frame(study) -> pd.DataFrame:
    """One row per workload, thread count and mode other than the plain run, where it ran:
    ``overhead`` (median time / the plain run's median), ``low`` and ``high`` (the fastest and
    slowest repeat over the same plain median)."""
    study = _check_study(study)
    median = study.time_s.median("repeat")
    plain = median.sel(mode="none")
    low, high = study.time_s.min("repeat") / plain, study.time_s.max("repeat") / plain
    rows = []
    for w in study.workload.values:
        for t in study.threads.values:
            for mode in study.mode.values:
                if mode == "none":
                    continue
                cell = dict(workload=w, threads=t, mode=mode)
                ov = float(study.overhead_ratio.sel(cell))
                if not math.isfinite(ov):
                    continue
                rows.append({"workload": str(w), "threads": int(t), "mode": str(mode), "overhead": ov,
                             "low": float(low.sel(cell)), "high": float(high.sel(cell))})
    return pd.DataFrame(rows, columns=list(OVERHEAD_COLUMNS))


def _mode_color(modes: list[str]) -> alt.Color:
    rng = [MODE_COLORS.get(m, "#9d755d") for m in modes]
    return alt.Color("mode:N", title="mode", scale=alt.Scale(domain=modes, range=rng),
                     legend=alt.Legend(orient="right"))


def overhead_chart(study) -> alt.FacetChart:
    """Each mode's time over the plain run (log scale, bars from 1 = the plain run), per
    workload, one panel per thread count; a bar from the fastest to the slowest repeat.

    >>> overhead_chart(ds).to_dict()["facet"]["column"]["field"]   # doctest: +SKIP
    'panel'
    """
    df = overhead_frame(study)
    modes = [str(m) for m in study.mode.values if m != "none"]
    x = alt.X("workload:N", title=None, axis=alt.Axis(labelAngle=-30))
    y = alt.Y("overhead:Q", title="time / plain run (log)",
              scale=alt.Scale(type="log", domain=_log_domain(list(df["low"]) + list(df["high"])), nice=False))
    offset = alt.XOffset("mode:N", sort=modes)
    tip = ["workload:N", "threads:Q", "mode:N", alt.Tooltip("overhead:Q", format=".2f", title="x plain"),
           alt.Tooltip("low:Q", format=".2f", title="fastest repeat"),
           alt.Tooltip("high:Q", format=".2f", title="slowest repeat")]
    layers = [
        alt.Chart().mark_bar().encode(x=x, xOffset=offset, y=y, y2=alt.datum(1), color=_mode_color(modes),
                                      tooltip=tip),
        alt.Chart().mark_rule(color="black").encode(x=x, xOffset=offset, y="low:Q", y2="high:Q"),
        alt.Chart().mark_rule(color="black", strokeDash=[4, 4]).encode(y=alt.datum(1)),
    ]
    # the panels are headed "1 thread", "2 threads"...: a bare "1" over a panel says nothing
    df = df.assign(panel=[f"{t} thread" + ("s" if t != 1 else "") for t in df["threads"]])
    panels = [f"{t} thread" + ("s" if t != 1 else "") for t in sorted(df["threads"].unique())]
    return (alt.layer(*layers, data=df).properties(width=220, height=240)
            .facet(column=alt.Column("panel:N", title=None, sort=panels))
            .properties(title={"text": "overhead over the plain run, per mode",
                               "subtitle": "median of the repeats; black bar: fastest to slowest repeat"}))


#: the columns of :func:`speedup_frame`
SPEEDUP_COLUMNS = ("workload", "threads", "filtered_speedup", "shared_access_fraction", "shared_page_fraction")


def speedup_frame(study) -> pd.DataFrame:
    """One row per workload and thread count where both FastTrack modes ran: ``filtered_speedup``
    (full FastTrack's median time over filtered's) and the two shared fractions."""
    study = _check_study(study)
    rows = []
    for w in study.workload.values:
        for t in study.threads.values:
            cell = dict(workload=w, threads=t)
            s = float(study.filtered_speedup.sel(cell))
            if not math.isfinite(s):
                continue
            rows.append({"workload": str(w), "threads": int(t), "filtered_speedup": s,
                         **{v: float(study[v].sel(cell)) for v in FRACTIONS.values()}})
    return pd.DataFrame(rows, columns=list(SPEEDUP_COLUMNS))


def speedup_chart(study) -> alt.LayerChart:
    """Filtered FastTrack's speedup over full FastTrack (log scale, bars from 1 = no gain) per
    workload, one bar per thread count, beside the paper's figures: rules at its maximum (6x)
    and its mean (1.76x), and one at our geometric mean (``studies.aikido.mean_speedup``).

    >>> speedup_chart(ds)   # doctest: +SKIP
    """
    from ..studies.aikido import PAPER_MAX_SPEEDUP, PAPER_MEAN_SPEEDUP, mean_speedup

    df = speedup_frame(study)
    ours = mean_speedup(study)
    rules = pd.DataFrame([{"label": f"paper: up to {PAPER_MAX_SPEEDUP:g}x", "speedup": PAPER_MAX_SPEEDUP,
                           "who": "paper"},
                          {"label": f"paper: mean {PAPER_MEAN_SPEEDUP:g}x", "speedup": PAPER_MEAN_SPEEDUP,
                           "who": "paper"}]
                         + ([{"label": f"ours: mean {ours:.2f}x", "speedup": ours, "who": "ours"}]
                            if math.isfinite(ours) else []))
    threads = sorted(df["threads"].unique().tolist()) or [int(t) for t in study.threads.values]
    domain = _log_domain(list(df["filtered_speedup"]) + list(rules["speedup"]))
    x = alt.X("workload:N", title=None, axis=alt.Axis(labelAngle=-30))
    y = alt.Y("filtered_speedup:Q", title="full FastTrack time / filtered (log)",
              scale=alt.Scale(type="log", domain=domain, nice=False))
    tip = ["workload:N", "threads:Q", alt.Tooltip("filtered_speedup:Q", format=".2f", title="speedup"),
           alt.Tooltip("shared_access_fraction:Q", format=".1%", title="shared accesses"),
           alt.Tooltip("shared_page_fraction:Q", format=".1%", title="shared pages")]
    bars = alt.Chart(df).mark_bar().encode(
        x=x, xOffset=alt.XOffset("threads:O", sort=threads), y=y, y2=alt.datum(1),
        color=alt.Color("threads:O", title="threads", scale=alt.Scale(domain=threads, scheme="blues"),
                        legend=alt.Legend(orient="right")), tooltip=tip)
    # fixed colours, not a colour encoding: the layers would share the bars' threads scale
    marks = []
    for who, color in (("paper", PAPER_COLOR), ("ours", "black")):
        mine = alt.Chart(rules).transform_filter(f"datum.who == '{who}'")
        marks.append(mine.mark_rule(strokeDash=[6, 3], strokeWidth=2, color=color).encode(
            y="speedup:Q", tooltip=["label:N"]))
        marks.append(mine.mark_text(align="right", baseline="bottom", dy=-5, x="width", fontSize=10,
                                    color=color).encode(y="speedup:Q", text="label:N"))
    one = alt.Chart().mark_rule(color="grey").encode(y=alt.datum(1))
    return alt.layer(bars, one, *marks).properties(
        width=max(260, 70 * max(df["workload"].nunique(), 1)), height=260,
        title=alt.Title("filtered FastTrack's speedup over full FastTrack, beside the paper",
                        subtitle="bars from 1 (no gain); dashed: the paper's maximum and mean, and ours "
                                 "(geometric mean)"))


def _pages(n: int) -> str:
    """'1 page', '3 pages'.

    >>> _pages(1), _pages(1200)
    ('1 page', '1,200 pages')
    """
    return f"{n:,} page" + ("" if n == 1 else "s")


# -- the explorer --------------------------------------------------------------------------------------

class SharingExplorer(Explorer):
    """The sharing map of one run with a thread to highlight; given the aikido study, beside
    it the shared fraction against full and filtered FastTrack's overhead, with the thread
    count to show and which fraction (of analysed accesses, or of pages).

    ``events``: ``run.events("aikido")`` of a run with ``Machine(clients=["aikido"])``.
    ``study``: the Dataset of ``workbench.studies.aikido.run`` (or ``reference.load("aikido")``).
    ``thread``: the thread highlighted at first (None: every thread). ``threads``: the study's
    thread count shown at first (default: the most that ran). ``fraction``:
    "shared_access_fraction" (default) or "shared_page_fraction". ``page_axis``: "rank" or
    "address".

    >>> ex = SharingExplorer(run.events("aikido"), study=ds)    # doctest: +SKIP
    >>> ex.thread = 3; ex.threads = 2; ex.fraction = "shared_page_fraction"   # doctest: +SKIP
    >>> ex                                                      # in Jupyter: controls and charts  # doctest: +SKIP
    """

    title = "Aikido: page sharing between threads"

    def __init__(self, events, study=None, *, thread: int | None = None, threads: int | None = None,
                 fraction: str = "shared_access_fraction", page_axis: str = "rank"):
        import ipywidgets as W

        super().__init__()
        self.events = _check_events(events)
        self.study = None if study is None else _check_study(study)
        self._frame = sharing_frame(self.events)      # every event; the highlight is a column
        style = {"description_width": "initial"}
        # the dropdown's value for "every thread" is EVERY (-1): a None value would show no label
        options = [("every thread", EVERY)] + [(f"thread {t}" + (" (main)" if t == 0 else ""), t)
                                              for t in _thread_ids(self.events)]
        self.thread_picker = W.Dropdown(options=options, description="highlight", style=style,
                                        layout=W.Layout(width="200px"))
        self.thread = thread
        self.page_picker = W.ToggleButtons(options=[("page rank", "rank"), ("page address", "address")],
                                           value=_check_page_axis(page_axis), style=style)
        self.thread_picker.observe(self._chart_changed, names="value")
        self.page_picker.observe(self._chart_changed, names="value")
        self.threads_picker = self.fraction_picker = None
        if self.study is not None:
            have = [int(t) for t in self.study.threads.values]
            self.threads_picker = W.Dropdown(options=[(str(t), t) for t in have], description="study threads",
                                             style=style, layout=W.Layout(width="180px"))
            self.threads = _default_threads(self.study) if threads is None else threads
            self.fraction_picker = W.ToggleButtons(options=list(FRACTIONS.items()), style=style)
            self.fraction = fraction
            self.threads_picker.observe(self._chart_changed, names="value")
            self.fraction_picker.observe(self._chart_changed, names="value")
        elif threads is not None:
            raise ConfigError("threads chooses among the study's thread counts: pass study= too")

    # -- state ---------------------------------------------------------------------------------
    @property
    def thread(self) -> int | None:
        """The highlighted thread (None: every thread). Set it to move the selector."""
        v = self.thread_picker.value
        return None if v == EVERY else v

    @thread.setter
    def thread(self, value: int | None) -> None:
        v = _check_thread(self.events, value)
        self.thread_picker.value = EVERY if v is None else v

    @property
    def page_axis(self) -> str:
        """The sharing map's page axis: "rank" or "address"."""
        return self.page_picker.value

    @page_axis.setter
    def page_axis(self, value: str) -> None:
        self.page_picker.value = _check_page_axis(value)

    @property
    def threads(self) -> int | None:
        """The study's thread count the fraction chart shows (None without a study)."""
        return None if self.threads_picker is None else self.threads_picker.value

    @threads.setter
    def threads(self, value: int) -> None:
        if self.threads_picker is None:
            raise ConfigError("threads chooses among the study's thread counts: this explorer has no study")
        have = [v for _, v in self.threads_picker.options]
        if not _int_in(value, have):
            raise ConfigError(f"threads {value!r} is not in the study; choose one of {', '.join(map(str, have))}")
        self.threads_picker.value = int(value)

    @property
    def fraction(self) -> str | None:
        """The study variable on the fraction chart's x axis (None without a study)."""
        return None if self.fraction_picker is None else self.fraction_picker.value

    @fraction.setter
    def fraction(self, value: str) -> None:
        if self.fraction_picker is None:
            raise ConfigError("fraction chooses the study's shared fraction: this explorer has no study")
        self.fraction_picker.value = _check_fraction(value)

    def controls(self) -> list:
        """The thread to highlight and the page axis; with a study, its thread count and fraction."""
        out = [self.thread_picker, self.page_picker]
        if self.study is not None:
            out += [self.threads_picker, self.fraction_picker]
        return out

    @property
    def frame(self) -> pd.DataFrame:
        """:func:`sharing_frame` of the events, ``selected`` marking the highlighted thread's rows."""
        f = self._frame.copy()
        f["selected"] = True if self.thread is None else f["thread"] == self.thread
        return f

    # -- the chart ------------------------------------------------------------------------------
    def chart(self):
        """The sharing map; with a study, the fraction chart beside it."""
        m = sharing_map_chart(self.events, thread=self.thread, page_axis=self.page_axis)
        if self.study is None:
            return m
        f = fraction_chart(self.study, threads=self.threads, fraction=self.fraction)
        return alt.vconcat(m, f).resolve_scale(color="independent", shape="independent")

    def describe(self) -> str:
        """Pages touched and shared by the run (and by the highlighted thread); with a study,
        filtered against full FastTrack at the chosen thread count."""
        f = self._frame
        touch, share = f[f["kind"] == "touch"], f[f["kind"] == "share"]
        pages, shared = f["page"].nunique(), share["page"].nunique()
        pct = f" ({shared / pages:.1%})" if pages else ""
        s = (f"{len(f):,} page events of {f['thread'].nunique()} threads: {pages:,} pages touched "
             f"({int(f['claimed'].sum()):,} claimed when the second thread started), {shared:,} shared{pct}")
        t = self.thread
        if t is not None:
            mine = touch[touch["thread"] == t]
            later = int(mine["page"].isin(share["page"]).sum())
            s += (f"; thread {t}: first to touch {_pages(len(mine))} ({later:,} of them shared later), "
                  f"shared {_pages(int((share['thread'] == t).sum()))} of other threads")
        if self.study is not None:
            rows = fraction_frame(self.study, threads=self.threads, fraction=self.fraction)
            by = rows.pivot_table(index="workload", columns="mode", values="overhead")
            parts = [f"{w} x{r[FULL]:.3g} -> x{r[FILTERED]:.3g}" for w, r in by.iterrows()
                     if FULL in r and FILTERED in r and math.isfinite(r[FULL]) and math.isfinite(r[FILTERED])]
            s += (f"; study at {self.threads} threads, full -> filtered FastTrack: "
                  + (", ".join(parts) or "none ran"))
        return s
