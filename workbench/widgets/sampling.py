"""SamplingExplorer: move the barrier profiler's sampling interval and watch cost and accuracy.

This file owns the explorer of the sampling interval (:class:`SamplingExplorer`), the model
evaluated behind it (:class:`SamplingModel`, :func:`model_curve`) and the binary-unit byte
formatting its slider, axes and status line share with the other views (:func:`format_bytes`,
:func:`bytes_axis`).

The numbers come from the trace-driven model (workbench/models/sampling.py) replaying one
ground-truth run: it answers in about a millisecond per interval, so the status line is the
model evaluated at exactly the slider's value, never a neighbouring grid point. A button
measures the chosen interval for real (the engine, in a background thread) and adds the point
to the chart, so the model can be checked against the engine on the spot.

>>> from workbench.widgets import SamplingExplorer
>>> ex = SamplingExplorer.from_program("heads", ["300"])     # doctest: +SKIP
>>> ex.interval = 19484                                       # same as moving the slider  # doctest: +SKIP
>>> ex.describe()                                             # doctest: +SKIP
'interval 19 KiB (19,484 B): 40 objects sampled, 7,470 faults, ...'
>>> ex.measure(wait=True)                                     # a real run at that interval  # doctest: +SKIP
"""
from __future__ import annotations

import math
import threading

import altair as alt
import numpy as np
import pandas as pd

from ._base import Explorer

#: cost of one barrier fault in the engine (signal, completion, resume), used to turn the
#: model's predicted faults into an overhead estimate until measure() calibrates it
DEFAULT_FAULT_SECONDS = 2e-6
#: the slider's step in powers of two; the model curve is evaluated at every step, so each
#: position the slider can snap to is a point of the curve
STEP = 0.25
#: the production default interval (the engine's and the paper's): where the explorer opens
#: when it samples anything there
PRODUCTION_INTERVAL = 8 << 20
MEASURED, MODEL = "measured (engine)", "model estimate"
COVERAGE = "sites covered"

_UNITS = (("GiB", 30), ("MiB", 20), ("KiB", 10))

#: vega expression formatting an axis value in bytes with binary units (same as format_bytes)
BYTES_LABEL_EXPR = " : ".join(
    f"datum.value >= {1 << k} ? format(datum.value / {1 << k}, '.3~g') + ' {u}'" for u, k in _UNITS
) + " : format(datum.value, 'd') + ' B'"


def format_bytes(n) -> str:
    """A byte count in binary units, three significant digits (as the chart axes print it).

    >>> format_bytes(19484), format_bytes(8 << 20), format_bytes(1500000), format_bytes(512)
    ('19 KiB', '8 MiB', '1.43 MiB', '512 B')
    """
    n = int(n)
    for unit, k in _UNITS:
        if abs(n) >= 1 << k:
            v = n / (1 << k)
            return f"{v:.0f} {unit}" if v >= 100 else f"{v:.3g} {unit}"
    return f"{n} B"


def bytes_axis(lo: int, hi: int, *, title: str | None = None, max_labels: int = 6) -> alt.Axis:
    """An axis for a log2 byte scale from ``lo`` to ``hi``: ticks at powers of two, at most
    ``max_labels`` of them (so that labels never crowd), labelled in KiB/MiB/GiB.

    >>> bytes_axis(1 << 10, 1 << 26).to_dict()["values"][:3]
    [1024, 8192, 65536]
    """
    a, b = math.ceil(math.log2(max(lo, 1))), math.floor(math.log2(max(hi, 1)))
    step = max(1, math.ceil((b - a + 1) / max_labels))
    return alt.Axis(values=[1 << e for e in range(a, b + 1, step)], labelExpr=BYTES_LABEL_EXPR,
                    title=title, labelOverlap=True)


def _recs(p):
    """The fields of the engine's ``barrier`` records that the conclusions read, from a
    model profile (dict of arrays)."""
    r = np.zeros(len(p["id"]), [("site", "<u8"), ("size", "<u8"), ("bytes_touched", "<u8"),
                                ("reads", "<u8"), ("writes", "<u8"), ("flags", "<u4")])
    for f in r.dtype.names:
        r[f] = p[f]
    return r


class SamplingModel:
    """The trace-driven model at any interval. What does not depend on the interval (stop
    points, the ground truth's site conclusions) is computed once; each :meth:`at` then
    takes about a millisecond on a few hundred thousand accesses, and is cached.

    >>> m = SamplingModel(trace)                                # doctest: +SKIP
    >>> m.at(19484)["samples"], m.at(19484)["faults"]           # doctest: +SKIP
    (40, 7470)
    """

    def __init__(self, trace, *, per_site: bool = True, max_accesses: int = 250) -> None:
        from ..models import sampling
        from ..studies.barrier import conclusions

        self.trace, self.per_site, self.max_accesses = trace, per_site, max_accesses
        self.stop = sampling.stop_points(trace, max_accesses)     # the same at every interval
        everything = sampling.profile(trace, sampling.sampled_objects(trace, 0))
        self.truth = conclusions(_recs(everything))
        self._rows: dict[int, dict] = {}

    def sampled(self, interval: int) -> np.ndarray:
        """Which objects the profiler samples at ``interval`` (bool per trace object)."""
        from ..models import sampling

        return sampling.sampled_objects(self.trace, int(interval), per_site=self.per_site,
                                        stop=self.stop)

    def at(self, interval: int) -> dict:
        """The model at exactly ``interval`` bytes: ``samples``, ``faults`` (one per recorded
        access), ``coverage`` (fraction of the ground truth's sites sampled) and
        ``error_<conclusion>`` (fraction of sampled sites concluded wrongly; NaN when nothing
        is sampled)."""
        from ..models import sampling
        from ..studies.barrier import CONCLUSIONS, accuracy, conclusions

        n = int(interval)
        if n not in self._rows:
            s = self.sampled(n)
            p = sampling.profile(self.trace, s, stop=self.stop)
            acc = accuracy(conclusions(_recs(p)), self.truth)
            row = {"interval": n, "samples": int(s.sum()), "faults": int(p["accesses"].sum()),
                   "coverage": acc["coverage"]}
            for c in CONCLUSIONS:
                row[f"error_{c}"] = acc[f"error_prob_{c}"]
            self._rows[n] = row
        return dict(self._rows[n])

    def curve(self, intervals) -> pd.DataFrame:
        """:meth:`at` for each interval, one row each."""
        return pd.DataFrame([self.at(n) for n in intervals])

    def faults(self, interval: int):
        """The barrier faults at ``interval``, one by one (see
        :func:`workbench.models.sampling.faults`), for :func:`workbench.widgets.event_timeline`."""
        from ..models import sampling

        return sampling.faults(self.trace, self.sampled(interval), stop=self.stop)

    def nothing_sampled_from(self, lo: int, hi: int) -> int | None:
        """The smallest interval in ``[lo, hi]`` at which nothing is sampled (None: something
        is sampled up to ``hi``). Past it the program has not allocated one interval's worth
        of bytes, so the accuracy curves end there. Exact (bisection on the model: the
        sampling credit only grows with the bytes allocated, so this is a threshold)."""
        if self.at(hi)["samples"]:
            return None
        if not self.at(lo)["samples"]:
            return lo
        a, b = lo, hi                       # samples at a, none at b
        while b - a > 1:
            m = (a + b) // 2
            a, b = (m, b) if self.at(m)["samples"] else (a, m)
        return b


def model_curve(trace, intervals, *, per_site=True, max_accesses=250) -> pd.DataFrame:
    """The model's prediction at each interval: samples, faults, coverage of allocation sites,
    and the probability that a sampled site's conclusion is wrong (vs profiling everything).

    >>> model_curve(trace, [4096, 65536]).columns.tolist()[:3]   # doctest: +SKIP
    ['interval', 'samples', 'faults']
    """
    return SamplingModel(trace, per_site=per_site, max_accesses=max_accesses).curve(intervals)


class SamplingExplorer(Explorer):
    """A log-scale slider over the sampling interval; overhead and accuracy from the model,
    measured points from the engine.

    ``trace`` is a ground-truth :class:`workbench.models.sampling.Trace`; ``base_seconds`` the
    unprofiled run time (for the overhead estimate); ``run_at(interval)`` runs the profiler
    for real and returns ``(seconds, faults)`` (:meth:`from_program` wires one up);
    ``program`` the ELF, to name allocation sites in :meth:`faults`.
    ``interval=None`` opens at the production default (8 MiB) if the model samples anything
    there, else at the largest interval still covering half the sites the finest one covers,
    so the explorer never opens on an empty profile.

    >>> ex = SamplingExplorer.from_program("heads", ["300"])   # doctest: +SKIP
    >>> ex.interval = 1 << 14; ex.at()["samples"]               # doctest: +SKIP
    40
    >>> ex.faults().sizes["fault"]                              # doctest: +SKIP
    7470
    """

    title = "barrier profiler: sampling interval vs overhead and accuracy"

    def __init__(self, trace, *, base_seconds: float, run_at=None, interval: int | None = None,
                 lo: int = 1 << 10, hi: int = 1 << 26, per_site: bool = True, max_accesses: int = 250,
                 program=None):
        import ipywidgets as W

        super().__init__()
        self.trace, self.base_seconds, self.run_at = trace, float(base_seconds), run_at
        self.per_site, self.max_accesses = per_site, max_accesses
        self.program = program          # the ELF, to name allocation sites (optional)
        self.lo, self.hi = int(lo), int(hi)
        self.fault_seconds = DEFAULT_FAULT_SECONDS
        self.model = SamplingModel(trace, per_site=per_site, max_accesses=max_accesses)
        # every position the slider can snap to (rounded: 2**13 is 8192, not 8191)
        steps = np.arange(math.log2(lo), math.log2(hi) + STEP / 2, STEP)
        grid = np.unique(np.rint(np.exp2(steps)).astype(np.int64))
        self.curve = self.model.curve(grid)
        self.empty_from = self.model.nothing_sampled_from(self.lo, self.hi)
        if interval is None:
            interval = self._default_interval()
        self.measured = pd.DataFrame(columns=["interval", "overhead", "faults", "model_faults"])
        # the slider's own readout can only print decimal SI units: a label beside it prints
        # the value in KiB/MiB
        self.slider = W.FloatLogSlider(value=interval, base=2, min=math.log2(lo), max=math.log2(hi),
                                       step=STEP, description="interval", readout=False,
                                       continuous_update=True)
        self.readout = W.Label(format_bytes(self.interval))
        self.slider.observe(self._chart_changed, names="value")
        self.button = W.Button(description="measure for real", icon="play")
        self.button.on_click(lambda _b: self.measure())
        self.progress = W.HTML("")
        self._thread: threading.Thread | None = None

    def _default_interval(self) -> int:
        if self.lo <= PRODUCTION_INTERVAL <= self.hi and self.model.at(PRODUCTION_INTERVAL)["samples"]:
            return PRODUCTION_INTERVAL
        c = self.curve
        best = c["coverage"].max()
        ok = c[(c["samples"] > 0) & (c["coverage"] >= best / 2)]
        return int(ok["interval"].max()) if len(ok) else self.lo

    @classmethod
    def from_program(cls, program: str, args=(), *, root=None, stdin=None, **kw) -> "SamplingExplorer":
        """Record a ground truth for ``program`` (memtrace + allocation log), time an
        unprofiled run, and build the explorer; its button runs the profiler for real.

        >>> SamplingExplorer.from_program("heads", ["300"])       # doctest: +SKIP
        """
        from .. import guests
        from ..machine import Machine
        from ..models import sampling

        elf = guests.build(program) if "/" not in str(program) else program
        root = root if root is not None else guests.LUA_SCRIPTS_DIR
        truth = Machine(clients=["barrier", "memtrace"], root=root,
                        client_options={"barrier": {"sample_bytes": 1 << 62, "log_allocs": 1}}).run(
            elf, list(args), stdin=stdin, capture=True)
        trace = sampling.replay(truth.records["barrier_allocs"], truth.records["memtrace"])
        base = min(Machine(root=root).run(elf, list(args), stdin=stdin, capture=True).seconds
                   for _ in range(3))
        per_site, k = kw.get("per_site", True), kw.get("max_accesses", 250)

        def run_at(interval: int):
            r = Machine(clients=["barrier"], root=root, client_options={"barrier": {
                "sample_bytes": int(interval), "per_site": int(per_site), "max_accesses": k}}).run(
                elf, list(args), stdin=stdin, capture=True)
            return r.seconds, int(r.records["barrier_stats"][0]["faults"])

        return cls(trace, base_seconds=base, run_at=run_at, program=elf, **kw)

    # -- controls ------------------------------------------------------------------------------
    @property
    def interval(self) -> int:
        """The chosen sampling interval in bytes (set it to move the slider)."""
        return int(round(self.slider.value))

    @interval.setter
    def interval(self, value: int) -> None:
        self.slider.value = float(value)

    def _chart_changed(self, _change=None) -> None:
        self.readout.value = format_bytes(self.interval)
        super()._chart_changed(_change)

    def controls(self) -> list:
        """The interval slider and its readout, the measure button and its progress line."""
        return [self.slider, self.readout, self.button, self.progress]

    def measure(self, interval: int | None = None, *, wait: bool = False) -> None:
        """Run the profiler at ``interval`` (default: the slider's) in the background and add
        the measured overhead to the chart; ``wait=True`` blocks until it is done."""
        if self.run_at is None:
            raise RuntimeError("no run_at: build the explorer with from_program() to measure")
        n = int(interval if interval is not None else self.interval)

        def work():
            self.progress.value = f"measuring at {format_bytes(n)} ..."
            secs, faults = self.run_at(n)
            over = secs / self.base_seconds if self.base_seconds > 0 else math.nan
            self.measured.loc[len(self.measured)] = [n, over, faults, self.model.at(n)["faults"]]
            if faults:
                self.fault_seconds = max(secs - self.base_seconds, 0.0) / faults or self.fault_seconds
            self.progress.value = f"measured {format_bytes(n)}: x{over:.3f}, {faults:,} faults"
            self._chart_changed()

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()
        if wait:
            self._thread.join()

    # -- the model at the slider ---------------------------------------------------------------
    def _overhead(self, faults):
        return 1.0 + faults * self.fault_seconds / max(self.base_seconds, 1e-9)

    def at(self, interval: int | None = None) -> dict:
        """The model at exactly ``interval`` (default: the slider's value), with its overhead
        estimate (faults x the cost of one fault / the unprofiled time)."""
        row = self.model.at(self.interval if interval is None else interval)
        row["overhead"] = self._overhead(row["faults"])
        return row

    def faults(self, interval: int | None = None):
        """The barrier faults the model predicts at ``interval`` (default: the slider's), one
        per row of a Dataset along ``fault``.

        >>> from workbench.widgets import event_timeline
        >>> event_timeline(ex.faults(), by="object")            # doctest: +SKIP
        """
        ds = self.model.faults(self.interval if interval is None else interval)
        if self.program is not None:
            from ..events import symbolize

            ds["site_symbol"] = ("fault", symbolize(self.program).lookup(ds["site"].values),
                                 {"long_name": "allocation site (name+0xoffset)"})
        return ds

    # -- the chart -----------------------------------------------------------------------------
    def data(self) -> pd.DataFrame:
        """The model's curve with its overhead estimate (faults x cost per fault)."""
        c = self.curve.copy()
        c["overhead"] = self._overhead(c["faults"])
        c["interval_label"] = [format_bytes(n) for n in c["interval"]]
        return c

    def _scale(self) -> alt.Scale:
        return alt.Scale(type="log", base=2, domain=[self.lo, self.hi], nice=False)

    def _x(self) -> alt.X:
        return alt.X("interval:Q", title="sampling interval (one object per this many bytes allocated)",
                     scale=self._scale(), axis=bytes_axis(self.lo, self.hi))

    def _empty_band(self, label_y: float) -> list:
        """A grey band where nothing is sampled, labelled, so the reader sees why the accuracy
        curves end there (nothing sampled: no sampled site to be wrong about)."""
        if self.empty_from is None:
            return []
        x = self._x()
        band = pd.DataFrame({"interval": [self.empty_from], "end": [self.hi],
                             "note": [f"nothing sampled from {format_bytes(self.empty_from)}: "
                                      "the program allocates less than that in all"]})
        rect = alt.Chart(band).mark_rect(color="#999", opacity=0.15).encode(
            x=x, x2="end:Q", tooltip=[alt.Tooltip("note:N", title="")])
        text = alt.Chart(band).mark_text(align="right", baseline="top", dx=-3, fontSize=10,
                                         color="#555").encode(
            x=alt.X("end:Q", scale=self._scale()), y=alt.value(label_y), text=alt.value("nothing sampled"))
        return [rect, text]

    def _rule(self, label: str) -> list:
        """The slider's position: a rule and the model's value there, as text."""
        x = self._x()
        now = pd.DataFrame({"interval": [self.interval], "label": [label]})
        rule = alt.Chart(now).mark_rule(color="black").encode(x=x)
        # the label on the side of the rule with more room, so it stays inside the panel
        right_half = math.log2(max(self.interval, 1)) > (math.log2(self.lo) + math.log2(self.hi)) / 2
        text = alt.Chart(now).mark_text(align="right" if right_half else "left", baseline="top",
                                        dx=-4 if right_half else 4, dy=4, fontSize=10).encode(
            x=x, y=alt.value(0), text="label:N")
        return [rule, text]

    def chart(self) -> alt.HConcatChart:
        """Overhead vs interval (model line, measured points) | coverage and error probability
        vs interval; the slider's interval is the black rule, labelled with the model there."""
        c = self.data()
        now = self.at()
        x = self._x()
        model = c.assign(source=MODEL)
        measured = self.measured.astype(float).assign(
            source=MEASURED, interval_label=[format_bytes(n) for n in self.measured["interval"]])
        domain, rng = [MODEL, MEASURED], ["#4c78a8", "#e45756"]
        color = alt.Color("source:N", scale=alt.Scale(domain=domain, range=rng), title=None,
                          legend=alt.Legend(orient="top"))
        shape = alt.Shape("source:N", scale=alt.Scale(domain=domain, range=["circle", "diamond"]),
                          title=None, legend=alt.Legend(orient="top"))
        over = alt.Chart(model).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
            x=x, y=alt.Y("overhead:Q", scale=alt.Scale(zero=False), title="run time / unprofiled"),
            color=color, shape=shape,
            tooltip=[alt.Tooltip("interval_label:N", title="interval"), "samples", "faults",
                     alt.Tooltip("overhead:Q", format=".3f")])
        # the measured layer is always there (maybe empty), so the legend always names it
        meas = alt.Chart(measured).mark_point(size=90, filled=True).encode(
            x=x, y="overhead:Q", color=color, shape=shape,
            tooltip=[alt.Tooltip("interval_label:N", title="interval"),
                     alt.Tooltip("overhead:Q", format=".3f"), "faults:Q",
                     alt.Tooltip("model_faults:Q", title="model faults")])
        left = alt.layer(over, meas, *self._rule(f"x{now['overhead']:.2f}"),
                         *self._empty_band(16)).properties(
            width=320, height=220,
            title=alt.Title("overhead", subtitle=[
                f"model: faults x {self.fault_seconds * 1e6:.2g} µs per fault "
                + ("(calibrated by a measurement)" if len(self.measured) else "(assumed; measure to calibrate)")]))

        series = [COVERAGE] + [f"P(wrong {k[6:]})" for k in c if k.startswith("error_")]
        long = c.rename(columns={"coverage": COVERAGE, **{k: f"P(wrong {k[6:]})" for k in c
                                                          if k.startswith("error_")}}).melt(
            id_vars=["interval", "interval_label", "samples"], value_vars=series,
            var_name="series", value_name="fraction").dropna(subset=["fraction"])
        # lines that coincide (two conclusions both never wrong) stay visible: each series has
        # its own dash, shape and size, and hollow points, so smaller ones show inside larger
        dashes = [[1, 0], [6, 3], [2, 2], [8, 2, 2, 2]][:len(series)]
        shapes = ["circle", "square", "triangle-up", "diamond"][:len(series)]
        sizes = [30, 110, 70, 40][:len(series)]
        colors = ["#222", "#f58518", "#54a24b", "#b279a2"][:len(series)]
        legend = alt.Legend(orient="top", columns=2)
        color = alt.Color("series:N", scale=alt.Scale(domain=series, range=colors), title=None, legend=legend)
        dash = alt.StrokeDash("series:N", scale=alt.Scale(domain=series, range=dashes), title=None, legend=legend)
        shape = alt.Shape("series:N", scale=alt.Scale(domain=series, range=shapes), title=None, legend=legend)
        size = alt.Size("series:N", scale=alt.Scale(domain=series, range=sizes), title=None, legend=legend)
        y = alt.Y("fraction:Q", scale=alt.Scale(domain=[0, 1]), title="fraction of sites")
        tip = [alt.Tooltip("interval_label:N", title="interval"), "series:N",
               alt.Tooltip("fraction:Q", format=".2f"), "samples:Q"]
        base = alt.Chart(long).encode(x=x, y=y, color=color, tooltip=tip)
        acc = alt.layer(base.mark_line(strokeWidth=1.5).encode(strokeDash=dash),
                        base.mark_point(filled=False, strokeWidth=1.5).encode(shape=shape, size=size))
        right = alt.layer(acc, *self._rule(f"{now['coverage']:.0%} covered"), *self._empty_band(16)).properties(
            width=320, height=220,
            title=alt.Title("accuracy", subtitle=[
                "covered: sites with a sampled object; P(wrong): sampled sites whose conclusion",
                "differs from profiling every object (undefined where nothing is sampled)"]))
        return alt.hconcat(left, right).resolve_scale(
            color="independent", shape="independent", strokeDash="independent", size="independent")

    def describe(self) -> str:
        """The model's numbers at exactly the chosen interval (and the measurement there, if
        one was made)."""
        row = self.at()
        n = self.interval
        s = (f"interval {format_bytes(n)} ({n:,} B): {row['samples']} objects sampled, "
             f"{row['faults']:,} faults, estimated overhead x{row['overhead']:.2f}, "
             f"site coverage {row['coverage']:.0%}")
        m = self.measured[self.measured["interval"] == n]
        if len(m):
            s += f"; measured x{float(m['overhead'].iloc[-1]):.2f}, {int(m['faults'].iloc[-1]):,} faults"
        return s
