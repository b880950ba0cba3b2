"""Charts of the barrier profiler's study: overhead, accuracy, optimizations, beside the paper.

This file owns the static altair charts drawn from the Dataset of
``workbench.studies.barrier.run`` (notebook 02 shows them, the HTML report's barrier section
draws them with :func:`report_charts`):

* :func:`overhead_chart`: overhead vs ``sample_bytes`` per workload, the median over repeats
  with a min-max bar, the bursty baseline as a band, 1.0 marked, noise drawn hollow;
* :func:`accuracy_chart`: the probability of each wrong conclusion and the site coverage vs
  ``sample_bytes``, with min-max bars;
* :func:`optimizations_chart`: the bytes the two optimizations act on, per workload;
* :func:`paper_chart`: the paper's overheads beside ours, with intervals and noise flagged
  (from ``studies.barrier.paper_comparison``).

Charts only read the Dataset; nothing here runs the engine.

>>> from workbench.widgets.barrier import report_charts
>>> [title for title, _ in report_charts(ds)]              # doctest: +SKIP
['overhead vs sample_bytes', 'P(wrong) and coverage vs sample_bytes', 'beside the paper', 'the optimizations']
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

#: colours: measured overhead, noise, the paper
BLUE, GREY, ORANGE = "#4c78a8", "#9d9d9d", "#f58518"
# sample_bytes on a log axis, labelled in KiB/MiB
_BYTES_LABEL = ("datum.value >= 1048576 ? format(datum.value / 1048576, '~g') + ' MiB' : "
                "format(datum.value / 1024, '~g') + ' KiB'")


def interval_label(n: int) -> str:
    """16384 -> '16 KiB', 8388608 -> '8 MiB'.

    >>> interval_label(16384), interval_label(8 << 20)
    ('16 KiB', '8 MiB')
    """
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n / 2**10:g} KiB"


def _x_bytes(ds) -> alt.X:
    values = [int(v) for v in ds.sample_bytes.values]
    return alt.X("sample_bytes:Q", title="sample_bytes (bytes allocated per sample)",
                 scale=alt.Scale(type="log", domain=[min(values) / 2, max(values) * 2], nice=False),
                 axis=alt.Axis(values=values, labelExpr=_BYTES_LABEL))


def overhead_frame(ds) -> pd.DataFrame:
    """One row per workload, profiler and interval with an overhead: ``overhead`` (median
    over repeats), ``low``/``high`` (min-max), ``noise`` (the unprofiled brackets' spread),
    ``verdict`` ("overhead" or "noise", ``studies.barrier.noise_verdict``), ``faults_per_s``.

    >>> overhead_frame(ds).columns.tolist()[:4]                # doctest: +SKIP
    ['workload', 'profiler', 'sample_bytes', 'interval']
    """
    from ..studies.barrier import add_overhead_stats, noise_verdict

    if "overhead_min" not in ds:  # a Dataset saved before the intervals existed
        ds = add_overhead_stats(ds)
    rows = []
    for w in ds.workload.values:
        for p in ds.profiler.values:
            if p == "none":
                continue
            for sb in ds.sample_bytes.values:
                c = dict(workload=w, profiler=p, sample_bytes=sb)
                ratio = float(ds.overhead_ratio.sel(c))
                if not np.isfinite(ratio):
                    continue
                lo, hi, noise = (float(ds[v].sel(c)) for v in ("overhead_min", "overhead_max", "overhead_noise"))
                rows.append({"workload": str(w), "profiler": str(p), "sample_bytes": int(sb),
                             "interval": interval_label(int(sb)), "overhead": ratio, "low": lo,
                             "high": hi, "noise": noise, "verdict": noise_verdict(ratio, lo, noise),
                             "faults_per_s": float(ds.faults_per_s.sel(c).median("repeat"))})
    return pd.DataFrame(rows, columns=["workload", "profiler", "sample_bytes", "interval", "overhead",
                                       "low", "high", "noise", "verdict", "faults_per_s"])


def overhead_chart(ds) -> alt.FacetChart:
    """Overhead (run time / unprofiled run time) vs ``sample_bytes``, one panel per workload.

    Barrier pointers: a line through the medians, a bar from the lowest to the highest
    repeat, the point hollow and labelled when the verdict is noise. Bursty tracing (which
    does not depend on the interval): an orange band over its min-max and a line at its
    median. The dashed line is 1.0, no overhead.

    >>> overhead_chart(ds).to_dict()["facet"]["column"]["field"]   # doctest: +SKIP
    'workload'
    """
    frame = overhead_frame(ds)
    base = alt.Chart().encode(x=_x_bytes(ds))
    barrier = base.transform_filter("datum.profiler == 'barrier'")
    tooltip = ["workload", "profiler", "interval", alt.Tooltip("overhead:Q", format=".3f"),
               alt.Tooltip("low:Q", format=".3f", title="min"), alt.Tooltip("high:Q", format=".3f", title="max"),
               alt.Tooltip("noise:Q", format=".3f", title="noise ±"), "verdict",
               alt.Tooltip("faults_per_s:Q", format=",.0f", title="faults/s")]
    bursty = alt.Chart().transform_filter("datum.profiler == 'bursty'")
    layers = [
        bursty.mark_rect(color=ORANGE, opacity=0.15).encode(y="low:Q", y2="high:Q", tooltip=tooltip),
        bursty.mark_rule(color=ORANGE, strokeWidth=2).encode(y="overhead:Q", tooltip=tooltip),
        alt.Chart().mark_rule(color="black", strokeDash=[4, 4]).encode(y=alt.datum(1)),
        barrier.mark_line(color=BLUE).encode(y=alt.Y("overhead:Q", title="time / unprofiled time",
                                                     scale=alt.Scale(zero=False))),
        barrier.mark_rule(color=BLUE).encode(y="low:Q", y2="high:Q"),
        barrier.mark_point(size=70, filled=True, stroke=BLUE, strokeWidth=2).encode(
            y="overhead:Q", tooltip=tooltip,
            fill=alt.Fill("verdict:N", scale=alt.Scale(domain=["overhead", "noise"], range=[BLUE, "white"]),
                          legend=alt.Legend(title="verdict"))),
        barrier.transform_filter("datum.verdict == 'noise'").mark_text(dy=-12, color=GREY).encode(
            y="overhead:Q", text=alt.value("noise")),
    ]
    return (alt.layer(*layers, data=frame).properties(width=260, height=220)
            .facet(column=alt.Column("workload:N", title=None))
            .resolve_scale(y="independent")
            .properties(title={"text": "overhead vs sample_bytes (blue: barrier pointers, orange: bursty tracing)",
                               "subtitle": "median of the repeats, bar = min to max; hollow = noise"}))


def accuracy_frame(ds) -> pd.DataFrame:
    """The barrier profiler's accuracy as tidy rows: per workload, interval and metric
    (``P(wrong <conclusion>)`` and ``coverage``) the median over repeats and the min-max.
    Cells where nothing was sampled (no conclusion to be wrong) have no P(wrong) row.

    >>> accuracy_frame(ds).metric.unique().tolist()[-1]        # doctest: +SKIP
    'coverage'
    """
    from ..studies.barrier import CONCLUSIONS

    metrics = {f"P(wrong {c})": f"error_prob_{c}" for c in CONCLUSIONS}
    metrics["coverage"] = "coverage"
    rows = []
    b = ds.sel(profiler="barrier")
    for w in ds.workload.values:
        for sb in ds.sample_bytes.values:
            cell = b.sel(workload=w, sample_bytes=sb)
            for name, var in metrics.items():
                v = cell[var].values.astype(float)
                if not np.isfinite(v).any():
                    continue
                rows.append({"workload": str(w), "sample_bytes": int(sb), "interval": interval_label(int(sb)),
                             "metric": name, "value": float(np.nanmedian(v)),
                             "low": float(np.nanmin(v)), "high": float(np.nanmax(v))})
    return pd.DataFrame(rows, columns=["workload", "sample_bytes", "interval", "metric", "value", "low", "high"])


def accuracy_chart(ds) -> alt.FacetChart:
    """P(wrong conclusion) per conclusion and the site coverage vs ``sample_bytes``, one
    panel per workload (medians over repeats, bars from min to max; coverage dashed).

    >>> accuracy_chart(ds).to_dict()["facet"]["column"]["field"]   # doctest: +SKIP
    'workload'
    """
    frame = accuracy_frame(ds)
    metrics = list(dict.fromkeys(frame["metric"]))
    color = alt.Color("metric:N", sort=metrics, title=None)
    dash = alt.StrokeDash("is_coverage:N", legend=None,
                          scale=alt.Scale(domain=[False, True], range=[[1, 0], [5, 3]]))
    tooltip = ["workload", "interval", "metric", alt.Tooltip("value:Q", format=".3f"),
               alt.Tooltip("low:Q", format=".3f", title="min"), alt.Tooltip("high:Q", format=".3f", title="max")]
    base = alt.Chart().transform_calculate(is_coverage="datum.metric == 'coverage'").encode(
        x=_x_bytes(ds), color=color)
    layers = [
        base.mark_line().encode(y=alt.Y("value:Q", title="probability / fraction of sites",
                                        scale=alt.Scale(domain=[0, 1])), strokeDash=dash),
        base.mark_rule().encode(y="low:Q", y2="high:Q"),
        base.mark_point(filled=True, size=50).encode(y="value:Q", tooltip=tooltip),
    ]
    return (alt.layer(*layers, data=frame).properties(width=260, height=200)
            .facet(column=alt.Column("workload:N", title=None))
            .properties(title={"text": "how often a sampled site's conclusion is wrong, and site coverage",
                               "subtitle": "against the every-object ground truth; no point where nothing was sampled"}))


#: (variable, label) of :func:`optimizations_chart`, in order
OPTIMIZATION_BARS = [
    ("opt_bytes", "allocated"),
    ("opt_shrinkable_bytes", "shrinkable (mostly untouched)"),
    ("shrink_mem_saved_bytes", "saved by the shrink rerun (peak)"),
    ("opt_write_only_bytes", "write-only"),
    ("opt_write_only_compressed_bytes", "write-only, compressed"),
]


def optimizations_chart(ds) -> alt.Chart | None:
    """Bytes the two optimizations act on, per workload (log scale): allocated, shrinkable,
    saved by the shrink rerun, write-only and write-only compressed. None when the Dataset
    has none of them.

    >>> optimizations_chart(ds).to_dict()["mark"]["type"]      # doctest: +SKIP
    'bar'
    """
    rows = [{"workload": str(w), "what": label, "bytes": float(ds[var].sel(workload=w))}
            for var, label in OPTIMIZATION_BARS if var in ds for w in ds.workload.values]
    frame = pd.DataFrame(rows, columns=["workload", "what", "bytes"])
    frame = frame[frame["bytes"] > 0]  # a log scale has no 0
    if frame.empty:
        return None
    order = [label for _, label in OPTIMIZATION_BARS]
    return alt.Chart(frame, title="what the profile buys: bytes per optimization (log scale)").mark_bar().encode(
        y=alt.Y("what:N", sort=order, title=None),
        # bars on a log scale need an explicit start (there is no 0): one byte
        x=alt.X("bytes:Q", scale=alt.Scale(type="log"), title="bytes"), x2=alt.datum(1),
        color=alt.Color("what:N", sort=order, legend=None),
        row=alt.Row("workload:N", title=None),
        tooltip=["workload", "what", alt.Tooltip("bytes:Q", format=",.0f")],
    ).properties(width=360)


def paper_chart(table: pd.DataFrame) -> alt.LayerChart:
    """The paper's overheads beside ours (``studies.barrier.paper_comparison``), in percent.

    One row per source and workload: a point at the overhead and a bar over its interval
    (paper: from its mean to its maximum over benchmarks; ours: min to max over repeats);
    our rows whose verdict is noise are grey, hollow and labelled "noise". Nothing is
    averaged across workloads.

    >>> paper_chart(paper_comparison(ds)).to_dict()["layer"][0]["mark"]["type"]  # doctest: +SKIP
    'rule'
    """
    t = table.copy()
    t["row"] = t["profiler"] + " · " + np.where(t["source"] == "paper", "paper", "here: " + t["workload"])
    t["kind"] = np.where(t["source"] == "paper", "paper",
                         np.where(t["verdict"] == "noise", "here (noise)", "here"))
    order = list(t["row"])
    kinds = ["paper", "here", "here (noise)"]
    colors = [ORANGE, BLUE, GREY]
    y = alt.Y("row:N", sort=order, title=None)
    color = alt.Color("kind:N", scale=alt.Scale(domain=kinds, range=colors), title=None)
    tooltip = ["profiler", "source", "workload", alt.Tooltip("overhead %:Q", format=".1f"),
               alt.Tooltip("low %:Q", format=".1f"), alt.Tooltip("high %:Q", format=".1f"), "verdict"]
    base = alt.Chart(t).encode(y=y, color=color)
    return alt.layer(
        base.mark_rule(strokeWidth=2).encode(x=alt.X("low %:Q", title="overhead % (0 = no overhead)"),
                                             x2="high %:Q"),
        alt.Chart(t).mark_rule(color="black", strokeDash=[4, 4]).encode(x=alt.datum(0)),
        base.mark_point(size=80, filled=True, strokeWidth=2).encode(
            x="overhead %:Q", tooltip=tooltip, stroke=color,
            fill=alt.condition("datum.verdict == 'noise'", alt.value("white"), color)),
        base.transform_filter("datum.verdict == 'noise'").mark_text(align="left", dx=8, color=GREY).encode(
            x="high %:Q", text=alt.value("noise")),
    ).properties(width=420, height=alt.Step(26),
                 title={"text": "overhead beside the paper",
                        "subtitle": "paper: mean, bar to its max; here: median of the repeats, bar = min to max"})


def report_charts(ds) -> list[tuple[str, alt.TopLevelMixin]]:
    """The barrier section's charts for the HTML report (and notebook 02): ``(title, chart)``.

    >>> [t for t, _ in report_charts(ds)][:2]                   # doctest: +SKIP
    ['overhead vs sample_bytes', 'P(wrong) and coverage vs sample_bytes']
    """
    from ..studies.barrier import paper_comparison

    out = [("overhead vs sample_bytes", overhead_chart(ds)),
           ("P(wrong) and coverage vs sample_bytes", accuracy_chart(ds)),
           ("beside the paper", paper_chart(paper_comparison(ds)))]
    opt = optimizations_chart(ds)
    if opt is not None:
        out.append(("the optimizations", opt))
    return out


__all__ = ["interval_label", "overhead_frame", "overhead_chart", "accuracy_frame", "accuracy_chart", "optimizations_chart",
           "paper_chart", "report_charts", "OPTIMIZATION_BARS"]
