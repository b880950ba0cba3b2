"""SamplingExplorer: move the barrier profiler's sampling interval and watch cost and accuracy.

The curves come from the trace-driven model (workbench/models/sampling.py) replaying one
ground-truth run, so the slider answers at once; a button measures the chosen interval for
real (the engine, in a background thread) and adds the point to the chart, so the model can
be checked against the engine on the spot.

>>> from workbench.widgets import SamplingExplorer
>>> ex = SamplingExplorer.from_program("heads", ["300"])     # doctest: +SKIP
>>> ex.interval = 1 << 16                                     # same as moving the slider  # doctest: +SKIP
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
#: model's predicted faults into an overhead estimate; calibrated by measure()
DEFAULT_FAULT_SECONDS = 2e-6


def model_curve(trace, intervals, *, per_site=True, max_accesses=250) -> pd.DataFrame:
    """The model's prediction at each interval: samples, faults, coverage of allocation sites,
    and the probability that a sampled site's conclusion is wrong (vs profiling everything).

    >>> model_curve(trace, [4096, 65536]).columns.tolist()[:3]   # doctest: +SKIP
    ['interval', 'samples', 'faults']
    """
    from ..models import sampling
    from ..studies.barrier import CONCLUSIONS, accuracy, conclusions

    def recs(p):
        r = np.zeros(len(p["id"]), [("site", "<u8"), ("size", "<u8"), ("bytes_touched", "<u8"),
                                    ("reads", "<u8"), ("writes", "<u8"), ("flags", "<u4")])
        for f in r.dtype.names:
            r[f] = p[f]
        return r

    everything = sampling.profile(trace, sampling.sampled_objects(trace, 0))
    truth = conclusions(recs(everything))
    stop = sampling.stop_points(trace, max_accesses)   # the same at every interval
    rows = []
    for n in intervals:
        s = sampling.sampled_objects(trace, int(n), per_site=per_site, stop=stop)
        p = sampling.profile(trace, s, stop=stop)
        got = conclusions(recs(p))
        faults = int(p["accesses"].sum())   # one fault per recorded access
        acc = accuracy(got, truth)
        row = {"interval": int(n), "samples": int(s.sum()), "faults": faults, "coverage": acc["coverage"]}
        for c in CONCLUSIONS:
            row[f"error_{c}"] = acc[f"error_prob_{c}"]
        rows.append(row)
    return pd.DataFrame(rows)


class SamplingExplorer(Explorer):
    """A log-scale slider over the sampling interval; overhead and accuracy from the model,
    measured points from the engine.

    ``trace`` is a ground-truth :class:`workbench.models.sampling.Trace`; ``base_seconds`` the
    unprofiled run time (for the overhead estimate); ``run_at(interval)`` runs the profiler
    for real and returns ``(seconds, faults)`` (:meth:`from_program` wires one up).
    """

    title = "barrier profiler: sampling interval vs overhead and accuracy"

    def __init__(self, trace, *, base_seconds: float, run_at=None, interval: int = 8 << 20,
                 lo: int = 1 << 10, hi: int = 1 << 26, per_site: bool = True, max_accesses: int = 250):
        import ipywidgets as W

        super().__init__()
        self.trace, self.base_seconds, self.run_at = trace, float(base_seconds), run_at
        self.per_site, self.max_accesses = per_site, max_accesses
        self.fault_seconds = DEFAULT_FAULT_SECONDS
        grid = np.unique(np.geomspace(lo, hi, 33).astype(np.int64))
        self.curve = model_curve(trace, grid, per_site=per_site, max_accesses=max_accesses)
        self.measured = pd.DataFrame(columns=["interval", "overhead", "faults"])
        self.slider = W.FloatLogSlider(value=interval, base=2, min=math.log2(lo), max=math.log2(hi),
                                       step=0.25, description="interval (B)", readout_format=".3s",
                                       continuous_update=True)
        self.slider.observe(self._chart_changed, names="value")
        self.button = W.Button(description="measure for real", icon="play")
        self.button.on_click(lambda _b: self.measure())
        self.progress = W.HTML("")
        self._thread: threading.Thread | None = None

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

        return cls(trace, base_seconds=base, run_at=run_at, **kw)

    # -- controls ------------------------------------------------------------------------------
    @property
    def interval(self) -> int:
        """The chosen sampling interval in bytes (set it to move the slider)."""
        return int(round(self.slider.value))

    @interval.setter
    def interval(self, value: int) -> None:
        self.slider.value = float(value)

    def controls(self) -> list:
        """The interval slider, the measure button and its progress line."""
        return [self.slider, self.button, self.progress]

    def measure(self, interval: int | None = None, *, wait: bool = False) -> None:
        """Run the profiler at ``interval`` (default: the slider's) in the background and add
        the measured overhead to the chart; ``wait=True`` blocks until it is done."""
        if self.run_at is None:
            raise RuntimeError("no run_at: build the explorer with from_program() to measure")
        n = int(interval if interval is not None else self.interval)

        def work():
            self.progress.value = f"measuring at {n:,} B ..."
            secs, faults = self.run_at(n)
            over = secs / self.base_seconds if self.base_seconds > 0 else math.nan
            self.measured.loc[len(self.measured)] = [n, over, faults]
            if faults:
                self.fault_seconds = max(secs - self.base_seconds, 0.0) / faults or self.fault_seconds
            self.progress.value = f"measured {n:,} B: x{over:.3f}, {faults:,} faults"
            self._chart_changed()

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()
        if wait:
            self._thread.join()

    # -- the chart -----------------------------------------------------------------------------
    def data(self) -> pd.DataFrame:
        """The model's curve with its overhead estimate (faults x cost per fault)."""
        c = self.curve.copy()
        c["overhead"] = 1.0 + c["faults"] * self.fault_seconds / max(self.base_seconds, 1e-9)
        return c

    def chart(self) -> alt.HConcatChart:
        """Overhead vs interval (model line, measured points) | error probability vs interval."""
        c = self.data()
        x = alt.X("interval:Q", scale=alt.Scale(type="log", base=2), title="sampling interval (bytes)")
        rule = alt.Chart(pd.DataFrame({"interval": [self.interval]})).mark_rule(color="black").encode(x=x)
        over = alt.Chart(c).mark_line(point=True).encode(
            x=x, y=alt.Y("overhead:Q", scale=alt.Scale(zero=False), title="run time / unprofiled"),
            tooltip=["interval", "samples", "faults", "overhead"])
        layers = [over, rule]
        if len(self.measured):
            layers.append(alt.Chart(self.measured.astype(float)).mark_point(color="red", size=80, filled=True)
                          .encode(x=x, y="overhead:Q", tooltip=["interval", "overhead", "faults"]))
        err = c.melt(id_vars=["interval"], value_vars=[k for k in c if k.startswith("error_")],
                     var_name="conclusion", value_name="P(wrong)")
        err["conclusion"] = err["conclusion"].str.replace("error_", "")
        acc = alt.Chart(err).mark_line(point=True).encode(
            x=x, y=alt.Y("P(wrong):Q", scale=alt.Scale(domain=[0, 1])), color="conclusion:N",
            tooltip=["interval", "conclusion", "P(wrong)"])
        return alt.hconcat(alt.layer(*layers).properties(width=300, height=220, title="overhead"),
                           alt.layer(acc, rule).properties(width=300, height=220, title="accuracy"))

    def describe(self) -> str:
        """The model's numbers at the chosen interval."""
        c = self.data()
        row = c.iloc[(np.abs(np.log2(c["interval"]) - math.log2(max(self.interval, 1)))).argmin()]
        return (f"interval {self.interval:,} B: {int(row['samples'])} objects sampled, "
                f"{int(row['faults']):,} faults, estimated overhead x{row['overhead']:.3f}, "
                f"site coverage {row['coverage']:.0%}")
