"""Views of objects, faults and events: the charts researchers ask for beside the explorers.

This file owns four chart functions and one explorer, each built from Datasets only:

* :func:`object_heatmap`: per sampled object, which bytes were accessed (the barrier
  profiler's ``barrier`` and ``barrier_touched`` records), binned along the object;
* :func:`object_timeline`: per sampled object, its lifetime and the span in which it was
  profiled (where its barrier faults happen), from the ``barrier`` records;
* :func:`event_timeline`: any event stream over time (instructions retired), stacked by a
  field: memory accesses, allocation calls, or the barrier faults the trace-driven model
  predicts (``SamplingExplorer.faults()``);
* :func:`fault_cost_chart`: the distribution of the cost of one barrier fault over the runs
  of the barrier study (each run's extra time over its faults);
* :class:`ObjectExplorer`: the heatmap and the timeline, filtered by allocation site.

Each function has a ``*_frame`` twin returning the table it draws, for checks and for pandas.

>>> import workbench
>>> from workbench.widgets import object_heatmap
>>> run = workbench.Machine(clients=["barrier"], client_options={"barrier": {
...     "sample_bytes": 0, "per_site": 0, "max_accesses": 0}}).run("heads", ["40"])  # doctest: +SKIP
>>> object_heatmap(run.events("barrier"), run.events("barrier_touched"))           # doctest: +SKIP
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ._base import Explorer
from .sampling import format_bytes

#: objects drawn at most by default (one row each): beyond that rows get too thin to read
MAX_OBJECTS = 60
#: categories an event timeline stacks at most; the rest are summed as "other"
MAX_CATEGORIES = 8


# -- shared helpers --------------------------------------------------------------------------------

#: fields holding guest addresses: shown in hex
_ADDRESS_FIELDS = ("site", "pc", "addr")


def _decode(var) -> np.ndarray:
    """A variable's values as strings: CF flag values/masks by their meanings, addresses in
    hex, else str.

    >>> import xarray as xr
    >>> _decode(xr.DataArray([0, 1], attrs={"flag_values": [0, 1], "flag_meanings": "load store"})).tolist()
    ['load', 'store']
    """
    values = np.asarray(var.values)
    meanings = str(var.attrs.get("flag_meanings", "")).split()
    if "flag_values" in var.attrs and meanings:
        table = dict(zip(np.asarray(var.attrs["flag_values"]).tolist(), meanings))
        return np.array([table.get(v, str(v)) for v in values.tolist()], dtype=object)
    if "flag_masks" in var.attrs and meanings:
        masks = np.asarray(var.attrs["flag_masks"]).tolist()
        return np.array(["+".join(m for b, m in zip(masks, meanings) if v & b) or "-"
                         for v in values.tolist()], dtype=object)
    if var.name in _ADDRESS_FIELDS and values.dtype.kind in "iu":
        return np.array([f"{v:#x}" for v in values.tolist()], dtype=object)
    return values.astype(str).astype(object)


def _object_table(objects) -> pd.DataFrame:
    """The ``barrier`` records as a table with a readable label per object."""
    df = objects.to_dataframe().reset_index(drop=True)
    if "id" not in df:
        df["id"] = np.asarray(objects["id"].values)
    site = (df["site_symbol"].astype(str) if "site_symbol" in df
            else df["site"].map(lambda s: f"{int(s):#x}"))
    df["site_name"] = site
    df["flags_text"] = _decode(objects["flags"]) if "flags" in objects else "-"
    df["label"] = [f"#{int(i)} {s} ({format_bytes(n)})" for i, s, n in zip(df["id"], site, df["size"])]
    return df


def _pick(df: pd.DataFrame, ids, max_objects: int) -> pd.DataFrame:
    """The objects to draw: ``ids`` if given, else up to ``max_objects`` taken round-robin
    over allocation sites (so a site with few objects is not crowded out by a busy one),
    ordered by site, then id."""
    if ids is not None:
        out = df[df["id"].isin([int(i) for i in ids])]
    else:
        rank = df.sort_values("id").groupby("site", sort=False).cumcount()
        out = df.assign(_rank=rank).sort_values(["_rank", "id"]).head(max_objects).drop(columns="_rank")
    return out.sort_values(["site_name", "id"]).reset_index(drop=True)


# -- per-object byte-access heatmap ----------------------------------------------------------------

def heatmap_frame(objects, touched, *, bins: int = 48, relative: bool = True, ids=None,
                  max_objects: int = MAX_OBJECTS) -> pd.DataFrame:
    """The table :func:`object_heatmap` draws: one row per (object, bin) with ``start``,
    ``end`` (bytes), ``x``, ``x2`` (where the bin is drawn: percent of the object with
    ``relative``, else bytes), ``touched`` (accessed bytes in the bin) and ``fraction``.

    With ``relative`` each object is cut into ``bins`` equal bins (objects of any size line
    up: "the first 1% is used"); otherwise every object is cut into bins of one width, the
    largest object's size / ``bins``.

    >>> f = heatmap_frame(run.events("barrier"), run.events("barrier_touched"))  # doctest: +SKIP
    >>> f.groupby("id")["touched"].sum().equals(...)                              # doctest: +SKIP
    """
    df = _pick(_object_table(objects), ids, max_objects)
    rid = np.asarray(touched["id"].values, np.int64)
    rs = np.asarray(touched["start"].values, np.int64)
    re_ = np.asarray(touched["end"].values, np.int64)
    width = max(1, int(np.ceil(df["size"].max() / bins))) if len(df) else 1
    rows = []
    for o in df.itertuples(index=False):
        size = int(o.size)
        if size == 0:
            continue
        if relative:
            edges = np.unique(np.floor(np.linspace(0, size, bins + 1)).astype(np.int64))
        else:
            edges = np.append(np.arange(0, size, width, dtype=np.int64), size)
        lo, hi = edges[:-1], edges[1:]
        mine = rid == int(o.id)
        s, e = rs[mine], np.minimum(re_[mine], size)
        # bytes of each bin inside some touched range (the ranges of one object are disjoint)
        got = np.clip(np.minimum(hi[:, None], e[None, :]) - np.maximum(lo[:, None], s[None, :]), 0, None).sum(1)
        for a, b, t in zip(lo.tolist(), hi.tolist(), got.tolist()):
            rows.append({"id": int(o.id), "label": o.label, "site": o.site_name, "size": size,
                         "start": a, "end": b,
                         "x": 100 * a / size if relative else a, "x2": 100 * b / size if relative else b,
                         "touched": int(t), "fraction": t / (b - a), "accesses": int(o.accesses),
                         "flags": o.flags_text})
    return pd.DataFrame(rows, columns=["id", "label", "site", "size", "start", "end", "x", "x2",
                                       "touched", "fraction", "accesses", "flags"])


def object_heatmap(objects, touched, *, bins: int = 48, relative: bool = True, ids=None,
                   max_objects: int = MAX_OBJECTS) -> alt.Chart:
    """Per sampled object (a row), the fraction of the bytes in each bin along the object
    that were accessed while it was profiled. ``objects`` and ``touched`` are the barrier
    profiler's ``barrier`` and ``barrier_touched`` Datasets (``Run.events``); ``ids`` picks
    objects, else up to ``max_objects`` round-robin over sites. An object whose recording
    stopped early (flag ``stopped``) shows only what was seen until then.

    >>> run = Machine(clients=["barrier"], client_options={"barrier": {
    ...     "sample_bytes": 0, "per_site": 0, "max_accesses": 0}}).run("heads", ["40"])  # doctest: +SKIP
    >>> object_heatmap(run.events("barrier"), run.events("barrier_touched"), bins=32)   # doctest: +SKIP
    """
    f = heatmap_frame(objects, touched, bins=bins, relative=relative, ids=ids, max_objects=max_objects)
    order = list(dict.fromkeys(f["label"]))
    xtitle = "position in the object (% of its size)" if relative else "offset in the object (bytes)"
    return alt.Chart(f).mark_rect(stroke="white", strokeWidth=0.2).encode(
        x=alt.X("x:Q", title=xtitle, scale=alt.Scale(domain=[0, 100] if relative else [0, float(f["x2"].max() or 1)],
                                                     nice=False)),
        x2="x2:Q",
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        # untouched bins (0%) near white, so that "never accessed" stands out from "a little"
        color=alt.Color("fraction:Q", scale=alt.Scale(domain=[0, 1], range=["#f3f3f3", "#08519c"]),
                        title="bytes accessed", legend=alt.Legend(format=".0%")),
        tooltip=["label:N", "start:Q", "end:Q", "touched:Q", alt.Tooltip("fraction:Q", format=".0%"),
                 "accesses:Q", "flags:N"],
    ).properties(width=420, height=alt.Step(12), title=alt.Title(
        "bytes accessed, per object", subtitle=f"{len(order)} objects; each row one object, "
        + ("cut into equal bins" if relative else "in equal-width bins")))


# -- object lifetimes and profiled spans ----------------------------------------------------------

def object_timeline_frame(objects, *, ids=None, max_objects: int = MAX_OBJECTS) -> pd.DataFrame:
    """The table :func:`object_timeline` draws: per object ``alloc``, ``free`` (the run's
    last recorded instruction count when it was never freed), ``first``/``last`` (its first
    and last recorded access: the profiled span) and ``accesses`` (its barrier faults).

    >>> object_timeline_frame(run.events("barrier")).columns.tolist()[:4]   # doctest: +SKIP
    ['id', 'label', 'site', 'alloc']
    """
    df = _pick(_object_table(objects), ids, max_objects)
    all_ = _object_table(objects)
    end = int(max(all_["free_icount"].max(), all_["last_icount"].max(), all_["alloc_icount"].max())) if len(all_) else 0
    free = df["free_icount"].astype(np.int64)
    return pd.DataFrame({
        "id": df["id"].astype(int), "label": df["label"], "site": df["site_name"],
        "alloc": df["alloc_icount"].astype(np.int64),
        "free": np.where(free > 0, free, end), "live_at_end": free == 0,
        "first": df["first_icount"].astype(np.int64), "last": df["last_icount"].astype(np.int64),
        "accesses": df["accesses"].astype(np.int64), "reads": df["reads"].astype(np.int64),
        "writes": df["writes"].astype(np.int64), "flags": df["flags_text"]})


def object_timeline(objects, *, ids=None, max_objects: int = MAX_OBJECTS) -> alt.LayerChart:
    """Per sampled object, a thin line from its allocation to its free (or the end of the
    run) and a bar over the span in which accesses were recorded: the barrier faults of the
    object (one per recorded access) all fall inside that bar. From the ``barrier`` Dataset.

    >>> object_timeline(run.events("barrier"))                    # doctest: +SKIP
    """
    f = object_timeline_frame(objects, ids=ids, max_objects=max_objects)
    order = list(f["label"])
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    x = alt.X("alloc:Q", title="guest instructions retired")
    tip = ["label:N", "alloc:Q", "free:Q", "live_at_end:N", "first:Q", "last:Q",
           alt.Tooltip("accesses:Q", title="faults (recorded accesses)"), "reads:Q", "writes:Q", "flags:N"]
    life = alt.Chart(f).mark_rule(color="#999").encode(x=x, x2="free:Q", y=y, tooltip=tip)
    span = alt.Chart(f[f["accesses"] > 0]).mark_bar(height=8).encode(
        x="first:Q", x2="last:Q", y=y, color=alt.Color("site:N", title="allocation site"), tooltip=tip)
    return alt.layer(life, span).properties(width=420, height=alt.Step(12), title=alt.Title(
        "object lifetimes (line) and profiled spans (bar)",
        subtitle="every barrier fault of an object falls inside its bar"))


# -- event timeline ---------------------------------------------------------------------------------

def _index_dim(events) -> tuple[str, str]:
    for name, c in events.coords.items():
        if name == "icount" and c.ndim == 1:
            return name, c.dims[0]
    raise ValueError("event_timeline needs a Dataset with an 'icount' coordinate "
                     f"(an event stream); this one has coords {list(events.coords)}")


def timeline_frame(events, *, by: str | None = None, bins: int = 80,
                   max_categories: int = MAX_CATEGORIES) -> pd.DataFrame:
    """The table :func:`event_timeline` draws: per bin of instructions retired (``start``,
    ``end``) and category of ``by`` (``"all"`` without ``by``), the ``count`` of events.
    Categories past the ``max_categories`` most frequent are summed as ``"other"``; a
    field with CF flag attrs is named by its meanings (``kind`` -> load/store).

    >>> timeline_frame(run.events("memtrace"), by="kind")["count"].sum()   # doctest: +SKIP
    """
    ic, dim = _index_dim(events)
    t = np.asarray(events[ic].values, np.float64)
    if by is None:
        cat = np.full(len(t), "all", dtype=object)
    else:
        if by not in events:
            raise ValueError(f"no field {by!r}; fields: {sorted(events.data_vars)}")
        # a site is named by its symbol when the Dataset has one
        cat = _decode(events["site_symbol"] if by == "site" and "site_symbol" in events else events[by])
        names, counts = np.unique(cat, return_counts=True)
        if len(names) > max_categories:
            keep = set(names[np.argsort(-counts, kind="stable")[:max_categories - 1]].tolist())
            cat = np.where(np.isin(cat, list(keep)), cat, "other")
    if len(t) == 0:
        return pd.DataFrame(columns=["start", "end", "category", "count"])
    lo, hi = float(t.min()), float(t.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1, bins + 1)
    which = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, bins - 1)
    df = pd.DataFrame({"bin": which, "category": cat}).groupby(["bin", "category"]).size().rename("count").reset_index()
    df["start"], df["end"] = edges[df["bin"]], edges[df["bin"] + 1]
    return df[["start", "end", "category", "count"]]


def event_timeline(events, *, by: str | None = None, bins: int = 80, title: str | None = None,
                   max_categories: int = MAX_CATEGORIES) -> alt.Chart:
    """Events over time: how many fall in each of ``bins`` bins of instructions retired,
    stacked by the field ``by``. ``events`` is any Dataset with an ``icount`` coordinate:
    ``Run.events("memtrace")``, ``Run.events("barrier_allocs")`` (by ``"kind"``), or the
    barrier faults the model predicts, ``SamplingExplorer.faults()`` (by ``"object"``).

    >>> event_timeline(run.events("barrier_allocs"), by="kind")   # doctest: +SKIP
    >>> event_timeline(explorer.faults(), by="site")              # doctest: +SKIP
    """
    f = timeline_frame(events, by=by, bins=bins, max_categories=max_categories)
    what = title or str(events.attrs.get("description") or events.attrs.get("stream") or "events")
    return alt.Chart(f).mark_bar().encode(
        x=alt.X("start:Q", title="guest instructions retired", scale=alt.Scale(nice=False)),
        x2="end:Q",
        y=alt.Y("sum(count):Q", title="events per bin", stack="zero"),
        color=alt.Color("category:N", title=by or "events"),
        tooltip=["start:Q", "end:Q", "category:N", "count:Q"],
    ).properties(width=480, height=180, title=alt.Title(what, subtitle=f"{int(f['count'].sum()):,} events in {bins} bins"))


# -- the cost of one fault ---------------------------------------------------------------------------

def fault_cost_frame(ds, *, min_faults: int = 1000) -> pd.DataFrame:
    """The table :func:`fault_cost_chart` draws: one row per barrier-profiler run of the
    barrier study (``workbench.studies.barrier.run``) with ``faults`` and ``us_per_fault``,
    the run's time beyond its unprofiled bracket (``time_s`` - ``time_s`` / ``paired_ratio``)
    divided by its faults. Runs with fewer than ``min_faults`` faults are left out: their
    extra time is within the timing noise; ``within_noise`` marks the runs whose overhead is
    within the spread of their own unprofiled brackets (when the study recorded it).

    >>> fault_cost_frame(ds)[["workload", "sample_bytes", "us_per_fault"]]   # doctest: +SKIP
    """
    cell = ds.sel(profiler="barrier") if "profiler" in ds.dims else ds
    names = ["time_s", "paired_ratio", "faults"] + (["baseline_noise"] if "baseline_noise" in cell else [])
    df = cell[names].to_dataframe().reset_index()
    df = df[np.isfinite(df["time_s"]) & np.isfinite(df["paired_ratio"]) & (df["faults"] >= max(min_faults, 1))]
    extra = df["time_s"] - df["time_s"] / df["paired_ratio"]
    # a run whose overhead is within the spread of its own unprofiled brackets says little
    noisy = (df["paired_ratio"] - 1 <= df["baseline_noise"]) if "baseline_noise" in df else False
    df = df.assign(extra_s=extra, us_per_fault=1e6 * extra / df["faults"], within_noise=noisy,
                   interval=[format_bytes(n) for n in df["sample_bytes"]])
    return df.reset_index(drop=True)


def fault_cost_chart(ds, *, min_faults: int = 1000) -> alt.LayerChart:
    """How much one barrier fault costs, run by run: a point per run of the barrier study
    (:func:`fault_cost_frame`), a row per workload, the median as a black tick.

    >>> from workbench.studies import barrier
    >>> fault_cost_chart(barrier.run("small", progress=False))    # doctest: +SKIP
    """
    f = fault_cost_frame(ds, min_faults=min_faults)
    intervals = [format_bytes(n) for n in sorted(set(f["sample_bytes"]))]
    x = alt.X("us_per_fault:Q", title="µs per fault ((run time - unprofiled time) / faults)")
    y = alt.Y("workload:N", title=None)
    pts = alt.Chart(f).mark_point(size=50).encode(
        x=x, y=y, yOffset=alt.YOffset("interval:N", sort=intervals),
        color=alt.Color("interval:N", sort=intervals, legend=None),
        # hollow: the run's overhead is within its brackets' own spread
        fill=alt.condition("datum.within_noise", alt.value("transparent"),
                           alt.Fill("interval:N", sort=intervals, title="sampling interval")),
        tooltip=["workload:N", "interval:N", "repeat:Q", "faults:Q", "within_noise:N",
                 alt.Tooltip("us_per_fault:Q", format=".2f")])
    med = alt.Chart(f).mark_tick(color="black", thickness=2, size=28).encode(
        x="median(us_per_fault):Q", y=y, tooltip=[alt.Tooltip("median(us_per_fault):Q", format=".2f", title="median µs")])
    return alt.layer(pts, med).properties(width=420, height=alt.Step(40), title=alt.Title(
        "cost of one barrier fault", subtitle=f"{len(f)} runs with at least {min_faults:,} faults; "
        "black: median per workload; hollow: overhead within the unprofiled runs' spread"))


# -- explorer ----------------------------------------------------------------------------------------

class ObjectExplorer(Explorer):
    """The per-object heatmap above the object timeline, for one allocation site or all.

    ``objects``/``touched`` are the ``barrier`` and ``barrier_touched`` Datasets of a run
    (:meth:`from_run` takes the run).

    >>> run = Machine(clients=["barrier"], client_options={"barrier": {
    ...     "sample_bytes": 0, "per_site": 0, "max_accesses": 0}}).run("heads", ["40"])  # doctest: +SKIP
    >>> ex = ObjectExplorer.from_run(run)                      # doctest: +SKIP
    >>> ex.site = "main+0xb0"; ex.relative = False             # same as the controls  # doctest: +SKIP
    >>> ex.describe()                                          # doctest: +SKIP
    'main+0xb0: 40 objects, 40 shown; median 0.6% of bytes accessed'
    """

    title = "barrier profiler: bytes accessed per object"
    ALL = "all sites"

    def __init__(self, objects, touched, *, site: str | None = None, relative: bool = True,
                 bins: int = 48, max_objects: int = MAX_OBJECTS) -> None:
        import ipywidgets as W

        super().__init__()
        self.objects, self.touched, self.max_objects = objects, touched, max_objects
        self.table = _object_table(objects)
        sites = sorted(set(self.table["site_name"]))
        site = site or self.ALL
        if site != self.ALL and site not in sites:
            raise ValueError(f"unknown site {site!r}; the run has {sites}")
        self.site_control = W.Dropdown(options=[self.ALL] + sites, value=site, description="site")
        self.relative_control = W.ToggleButtons(options=["relative", "bytes"],
                                                value="relative" if relative else "bytes",
                                                description="position", style={"button_width": "auto"})
        self.bins_control = W.IntSlider(value=bins, min=4, max=256, description="bins")
        for c in (self.site_control, self.relative_control, self.bins_control):
            c.observe(self._chart_changed, names="value")

    @classmethod
    def from_run(cls, run, profiler: str = "barrier", **kw) -> "ObjectExplorer":
        """The explorer over a run's ``barrier`` (or ``bursty``) records."""
        return cls(run.events(profiler), run.events(f"{profiler}_touched"), **kw)

    @property
    def site(self) -> str:
        """The allocation site shown (its symbol, or ``"all sites"``)."""
        return self.site_control.value

    @site.setter
    def site(self, value: str) -> None:
        self.site_control.value = value

    @property
    def relative(self) -> bool:
        """Whether bins are fractions of each object (True) or bytes (False)."""
        return self.relative_control.value == "relative"

    @relative.setter
    def relative(self, value: bool) -> None:
        self.relative_control.value = "relative" if value else "bytes"

    def controls(self) -> list:
        """The site dropdown, the position toggle and the bins slider."""
        return [self.site_control, self.relative_control, self.bins_control]

    def ids(self) -> list[int]:
        """The objects shown now (at most ``max_objects``, round-robin over sites)."""
        t = self.table if self.site == self.ALL else self.table[self.table["site_name"] == self.site]
        return _pick(t, None, self.max_objects)["id"].astype(int).tolist()

    def chart(self) -> alt.VConcatChart:
        """The heatmap above the timeline, for the chosen site."""
        ids = self.ids()
        return alt.vconcat(
            object_heatmap(self.objects, self.touched, bins=self.bins_control.value,
                           relative=self.relative, ids=ids),
            object_timeline(self.objects, ids=ids)).resolve_scale(color="independent")

    def describe(self) -> str:
        """Which objects are shown, and the median share of their bytes accessed."""
        t = self.table if self.site == self.ALL else self.table[self.table["site_name"] == self.site]
        shown = t[t["id"].isin(self.ids())]
        share = (shown["bytes_touched"] / shown["size"].where(shown["size"] > 0)).median()
        where = self.site if self.site != self.ALL else "all sites"
        return (f"{where}: {len(t)} objects, {len(shown)} shown; "
                f"median {share:.1%} of bytes accessed")
