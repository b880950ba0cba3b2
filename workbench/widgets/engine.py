"""The engine study's explorer: what each tier and client costs, per workload.

This file owns :class:`EngineExplorer` (controls + linked altair charts over the Dataset of
``workbench.studies.engine.run``), :func:`engine_chart` (the overhead and speed bars: the
uninstrumented baselines native and qemu drawn hollow and dashed, a linear or log overhead
axis, widths chosen so that no label overlaps another), :func:`engine_frame` (that Dataset
as a tidy table, one row per workload x tier x client, medians over ``repeat``) and
:func:`report_charts` (the static charts of the engine section of the HTML report).

The Dataset it reads has dimensions ``workload``, ``tier``, ``client``, ``repeat`` and the
variables ``time_s``, ``instructions``, ``guest_mips``, ``output_ok`` (all four dims) and
``ratio_native``, ``ratio_qemu`` (``workload, tier, client``). Combinations that were not run
are NaN and are left out of the charts.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ._base import Explorer

#: name of the point selection on the overhead bars (clicking a bar selects its tier)
SELECTION = "tier_pick"
BASELINES = ("native", "qemu")
#: the overhead axis: linear, or log for ratios that span two orders of magnitude
SCALES = ("linear", "log")


def engine_frame(ds) -> pd.DataFrame:
    """The engine study Dataset as a tidy table: one row per workload, tier and client that ran.

    Columns: ``workload, tier, client, time_s`` (median over repeats), ``ratio_native``,
    ``ratio_qemu``, ``guest_mips``, ``instructions`` (medians) and ``output_ok`` (every repeat
    produced the expected output). Rows whose time is NaN (not run) are dropped.

    >>> df = engine_frame(ds)                                  # doctest: +SKIP
    >>> df.query("tier == 'interp' and client == 'none'")[["workload", "ratio_native"]]  # doctest: +SKIP
    """
    med = {}
    for v in ("time_s", "guest_mips", "instructions"):
        if v in ds:
            med[v] = ds[v].median("repeat", skipna=True) if "repeat" in ds[v].dims else ds[v]
    t = med["time_s"]
    for base in BASELINES:
        name = f"ratio_{base}"
        if name in ds:
            med[name] = ds[name]
        elif base in ds.tier.values:
            ref = t.sel(tier=base)
            if "client" in ref.dims:  # the baseline runs without a client; NaN elsewhere
                ref = ref.mean("client", skipna=True)
            med[name] = t / ref
    if "output_ok" in ds:
        ok = ds["output_ok"]
        # all repeats that ran were ok (NaN = not run counts as ok here; time_s tells what ran)
        med["output_ok"] = (ok.fillna(1).astype(bool)).all("repeat") if "repeat" in ok.dims else ok
    df = pd.DataFrame({k: v.to_series() for k, v in med.items()}).reset_index()
    df = df[np.isfinite(df["time_s"].astype(float))].reset_index(drop=True)
    for c in ("workload", "tier", "client"):
        df[c] = df[c].astype(str)
    if "output_ok" in df:
        df["output_ok"] = df["output_ok"].astype(bool)
    return df


def _order(ds, dim: str) -> list[str]:
    return [str(v) for v in ds[dim].values]


#: how each bar is drawn: baselines (no engine, no client) hollow and dashed, engine runs solid
ENGINE_RUN, BASELINE_RUN = "engine", "baseline (no instrumentation)"
#: pixels per character of a 10-px label / a 13-px bold title (sans-serif, generous), used to
#: size the charts so that no label or title is wider than the room it has
LABEL_PX, TITLE_PX = 6.5, 8.5
BAR_PX = 18


def _text_px(text: str, per_char: float) -> float:
    return len(str(text)) * per_char


def _bars(frame: pd.DataFrame, y: str, title: str, *, heading: str, tiers: list[str],
          workloads: list[str], sel, log: bool = False) -> alt.Chart:
    """Grouped bars (workload groups, one bar per tier) of ``y`` (axis title ``title``, chart
    title ``heading``); baselines drawn hollow.

    The width is chosen, not left to vega-lite's step, so that each workload's label fits
    under its group and the heading fits above the chart (labels and titles never overlap)."""
    frame = frame.assign(run=np.where(frame["tier"].isin(BASELINES), BASELINE_RUN, ENGINE_RUN))
    shown = [t for t in tiers if t in set(frame["tier"])] or tiers
    label = max([_text_px(w, LABEL_PX) for w in workloads] or [0]) + 8
    group = max(BAR_PX * len(shown), label)
    width = max(group * max(len(workloads), 1), _text_px(heading, TITLE_PX) + 10, 120)
    tooltip = [alt.Tooltip("workload:N"), alt.Tooltip("tier:N"), alt.Tooltip("client:N"),
               alt.Tooltip("run:N"), alt.Tooltip(f"{y}:Q", format=".3~g"),
               alt.Tooltip("time_s:Q", format=".3~g")]
    runs = [ENGINE_RUN, BASELINE_RUN]
    run_legend = alt.Legend(symbolType="square", symbolFillColor="#bbb", symbolStrokeColor="#333",
                            symbolStrokeWidth=1.5)
    if log and len(frame):
        v = frame[y].astype(float)
        v = v[v > 0]
        # a margin below the smallest value: a ratio of 1 (the baseline itself) still shows a bar
        lo = float(v.min()) / 2
        yscale = alt.Scale(type="log", domain=[lo, float(v.max()) * 1.5], nice=False)
        base = {"y2": alt.Y2(datum=lo)}   # a log axis has no zero: bars rise from its bottom
    else:
        yscale, base = alt.Scale(type="linear"), {}
    return (
        alt.Chart(frame)
        .mark_bar(strokeWidth=1.5)
        .encode(
            x=alt.X("workload:N", sort=workloads, title=None,
                    axis=alt.Axis(labelAngle=0, labelLimit=group)),
            xOffset=alt.XOffset("tier:N", sort=tiers),
            y=alt.Y(f"{y}:Q", title=title, scale=yscale),
            color=alt.Color("tier:N", sort=tiers, scale=alt.Scale(domain=tiers)),
            stroke=alt.Stroke("tier:N", sort=tiers, scale=alt.Scale(domain=tiers)),
            fillOpacity=alt.FillOpacity("run:N", scale=alt.Scale(domain=runs, range=[1.0, 0.25]),
                                        title="bars", legend=run_legend),
            strokeDash=alt.StrokeDash("run:N", scale=alt.Scale(domain=runs, range=[[1, 0], [4, 2]]),
                                      title="bars", legend=run_legend),
            opacity=alt.condition(sel, alt.value(1.0), alt.value(0.3)),
            tooltip=tooltip,
            **base,
        )
        .properties(width=width, height=240, title=heading)
    )


def engine_chart(frame: pd.DataFrame, *, baseline: str = "native", client: str = "none",
                 tiers: list[str] | None = None, workloads: list[str] | None = None,
                 title: str | None = None, scale: str = "linear") -> alt.HConcatChart:
    """Overhead bars (time relative to ``baseline``) beside guest MIPS bars, for one client.

    native and qemu run without the engine and without a client: they are the uninstrumented
    baselines and are drawn hollow with a dashed outline, the engine's runs solid. For a
    client other than ``"none"``, native and qemu are shown from their plain runs, as the
    reference the client's overhead is measured against. ``scale="log"`` puts the overhead
    on a log axis (ratios span 1 to ~100x); a rule marks 1x (as fast as the baseline).
    Clicking a bar selects its tier in both charts (the point selection ``tier_pick``).
    ``frame`` is :func:`engine_frame` output (any workloads/clients; filtered here).

    >>> engine_chart(engine_frame(ds), baseline="qemu", scale="log")   # doctest: +SKIP
    """
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    tiers = tiers or list(dict.fromkeys(frame["tier"]))
    workloads = workloads if workloads is not None else list(dict.fromkeys(frame["workload"]))
    rows = frame[(frame["client"] == client) & frame["workload"].isin(workloads)]
    if client != "none":  # native and qemu run no client: show their plain runs for reference
        ref = frame[(frame["client"] == "none") & frame["tier"].isin(BASELINES)
                    & ~frame["tier"].isin(rows["tier"]) & frame["workload"].isin(workloads)]
        rows = pd.concat([ref, rows], ignore_index=True)
    ratio = f"ratio_{baseline}"
    over = rows[np.isfinite(rows[ratio].astype(float))] if ratio in rows else rows.iloc[:0]
    mips = rows[np.isfinite(rows["guest_mips"].astype(float))] if "guest_mips" in rows else rows.iloc[:0]
    sel = alt.selection_point(fields=["tier"], name=SELECTION)
    heading = f"overhead vs {baseline}"
    bars = _bars(over, ratio, f"time / {baseline} time", heading=heading, tiers=tiers,
                 workloads=workloads, sel=sel, log=scale == "log").add_params(sel)
    # 1x: as fast as the baseline (inline data: the study's rows stay the chart's only dataset)
    one = alt.Chart(alt.Data(values=[{}])).mark_rule(color="#333", strokeDash=[2, 2]).encode(
        y=alt.datum(1.0))
    left = alt.layer(bars, one).properties(title=heading)
    right = _bars(mips, "guest_mips", "guest MIPS", heading="speed", tiers=tiers,
                  workloads=workloads, sel=sel)
    t = title or f"client: {client}"
    return alt.hconcat(left, right).properties(title=alt.Title(
        t, subtitle="hollow, dashed bars: native and qemu, which run without the engine or a client",
        anchor="start"))


def report_charts(ds) -> list[tuple[str, alt.TopLevelMixin]]:
    """The engine section's charts for the HTML report: one per client (relative to native),
    and the no-client overhead relative to qemu.

    >>> [title for title, _ in report_charts(ds)]               # doctest: +SKIP
    ['client none: time relative to native', ..., 'client none: time relative to qemu']
    """
    frame = engine_frame(ds)
    tiers, workloads = _order(ds, "tier"), _order(ds, "workload")
    out = []
    clients = [c for c in _order(ds, "client") if (frame["client"] == c).any()]
    for c in clients:
        out.append((f"client {c}: time relative to native",
                    engine_chart(frame, baseline="native", client=c, tiers=tiers,
                                 workloads=workloads)))
    if clients and "ratio_qemu" in frame and np.isfinite(frame["ratio_qemu"].astype(float)).any():
        c = "none" if "none" in clients else clients[0]
        out.append((f"client {c}: time relative to qemu",
                    engine_chart(frame, baseline="qemu", client=c, tiers=tiers,
                                 workloads=workloads)))
    return out


class EngineExplorer(Explorer):
    """Explore the engine study: pick workloads, a client, a baseline and the overhead axis
    (linear or log); click a tier.

    ``ds`` is the Dataset of ``workbench.studies.engine.run``. The explorer shows the overhead
    of every tier relative to native (or to qemu) beside its guest MIPS. Clicking a bar selects
    that tier in both charts; :attr:`selection` reads the selection back in Python.

    >>> ex = EngineExplorer(ds)                                 # doctest: +SKIP
    >>> ex                      # in Jupyter: the live widget   # doctest: +SKIP
    >>> ex.client = "memtrace"  # same as clicking the control  # doctest: +SKIP
    >>> ex.scale = "log"        # the overhead on a log axis     # doctest: +SKIP
    >>> ex.selected_tiers       # after clicking a bar           # doctest: +SKIP
    ['interp']
    >>> ex.save_html("engine.html")                             # doctest: +SKIP
    """

    title = "engine: overhead and speed per tier"

    def __init__(self, ds, *, workloads=None, client: str | None = None,
                 baseline: str = "native", scale: str = "linear") -> None:
        import ipywidgets as W

        super().__init__()
        self.ds = ds
        self.frame = engine_frame(ds)
        self.tiers = _order(ds, "tier")
        all_workloads = [w for w in _order(ds, "workload") if (self.frame["workload"] == w).any()]
        clients = [c for c in _order(ds, "client") if (self.frame["client"] == c).any()]
        baselines = [b for b in BASELINES if f"ratio_{b}" in self.frame
                     and np.isfinite(self.frame[f"ratio_{b}"].astype(float)).any()] or ["native"]
        if client is None:
            client = "none" if "none" in clients else (clients[0] if clients else "none")
        if clients and client not in clients:
            raise ValueError(f"client {client!r} has no data; choose one of {clients}")
        if baseline not in baselines:
            raise ValueError(f"baseline {baseline!r} has no data; choose one of {baselines}")
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
        workloads = list(all_workloads if workloads is None else workloads)
        unknown = sorted(set(workloads) - set(all_workloads))
        if unknown:
            raise ValueError(f"unknown workloads {unknown}; the dataset has {all_workloads}")

        self.workloads_control = W.SelectMultiple(
            options=all_workloads, value=tuple(workloads), description="workloads",
            rows=max(2, min(len(all_workloads), 5)))
        compact = dict(style={"button_width": "auto"}, layout=W.Layout(width="auto"))
        self.client_control = W.ToggleButtons(options=clients or [client], value=client,
                                              description="client", **compact)
        self.baseline_control = W.ToggleButtons(options=baselines, value=baseline,
                                                description="relative to", **compact)
        self.scale_control = W.ToggleButtons(options=list(SCALES), value=scale,
                                             description="overhead axis", **compact)
        for c in (self.workloads_control, self.client_control, self.baseline_control,
                  self.scale_control):
            c.observe(self._chart_changed, names="value")

    # controls as plain attributes -------------------------------------------------------------
    @property
    def workloads(self) -> list[str]:
        """The workloads shown (set it to change the multi-select)."""
        return list(self.workloads_control.value)

    @workloads.setter
    def workloads(self, value) -> None:
        self.workloads_control.value = tuple(value)

    @property
    def client(self) -> str:
        """The client whose runs are shown (``"none"`` = plain execution)."""
        return self.client_control.value

    @client.setter
    def client(self, value: str) -> None:
        self.client_control.value = value

    @property
    def baseline(self) -> str:
        """``"native"`` or ``"qemu"``: what the overhead bars are relative to."""
        return self.baseline_control.value

    @baseline.setter
    def baseline(self, value: str) -> None:
        self.baseline_control.value = value

    @property
    def scale(self) -> str:
        """``"linear"`` or ``"log"``: the overhead axis (log for ratios from 1 to ~100x)."""
        return self.scale_control.value

    @scale.setter
    def scale(self, value: str) -> None:
        self.scale_control.value = value

    # the chart --------------------------------------------------------------------------------
    def controls(self) -> list:
        """The workload multi-select, the client, baseline and axis-scale toggles."""
        return [self.workloads_control, self.client_control, self.baseline_control,
                self.scale_control]

    def data(self) -> pd.DataFrame:
        """The rows the chart shows now (chosen workloads and client).

        >>> EngineExplorer(ds, client="none").data().tier.unique()  # doctest: +SKIP
        """
        f = self.frame
        return f[(f["client"] == self.client) & f["workload"].isin(self.workloads)].reset_index(drop=True)

    def chart(self) -> alt.HConcatChart:
        """The altair chart for the current controls (overhead bars | MIPS bars)."""
        return engine_chart(self.frame, baseline=self.baseline, client=self.client,
                            tiers=self.tiers, workloads=self.workloads, scale=self.scale)

    def describe(self) -> str:
        """What is shown, and which tiers are selected."""
        sel = self.selected_tiers
        s = (f"client {self.client}, time relative to {self.baseline} ({self.scale} axis), "
             f"{len(self.workloads)} workload(s)")
        return s + (f"; selected: {', '.join(sel)}" if sel else "; click a bar to select its tier")

    # the selection ----------------------------------------------------------------------------
    @property
    def selection(self) -> list[dict]:
        """The point selection on the bars as records, e.g. ``[{"tier": "interp"}]``
        (empty when nothing is selected or the widget was never displayed)."""
        if self._jchart is None:
            return []
        sel = getattr(self._jchart.selections, SELECTION, None)
        return [dict(v) for v in sel.value] if sel is not None else []

    @property
    def selected_tiers(self) -> list[str]:
        """Tiers selected by clicking bars, e.g. ``["interp"]``."""
        return [str(v["tier"]) for v in self.selection if "tier" in v]

    def on_select(self, callback) -> None:
        """Call ``callback(selection)`` whenever the selection in the browser changes.

        >>> ex.on_select(lambda sel: print("selected", sel))      # doctest: +SKIP
        """
        def handler(_change):
            callback(self.selection)

        self.jupyter_chart.observe(handler, names="_vl_selections")
