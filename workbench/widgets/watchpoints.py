"""WatchpointCacheExplorer: move the watchpoint unit's range-cache size and watch its hit rate
and modelled slowdown (the "unlimited watchpoints" reproduction, Greathouse et al. ASPLOS 2012).

This file owns the explorer of the range-cache size (:class:`WatchpointCacheExplorer`) and the
entry-count formatting of its slider and axes (:func:`format_entries`). The numbers come from
the trace-driven model of the unit (``workbench/models/watch.py``): one ``watch.sweep`` over
every size, computed when the explorer is built, gives the counters of each cache size (each
row equal to the engine's unit at that size, docs/watchpoints.md); the cycle model
(``workbench/models/watch_cost.py``) turns each row into a modelled slowdown. Moving the
slider only reads that table.

Beside the model the explorer draws what was measured: the online unit's hit rate at the
cache size it ran with (``online``: it lies on the model's curve, since the model equals the
unit counter for counter; the status line says so, or names the counters that differ), and
the measured slowdowns of the mechanisms (``measured``) as horizontal rules.

>>> from workbench.models import watch
>>> t = watch.ops([(watch.SET, watch.READ, 100, 100),   # watch [100, 199] for reads
...                (watch.LOAD, 0, 150, 4),              # a miss (and a trigger)
...                (watch.STORE, 0, 150, 4)])            # a hit
>>> ex = WatchpointCacheExplorer(t, 1000, measured={"pageprot": 80.0}, sizes=[16, 64])
>>> ex.size = 16
>>> r = ex.readout()
>>> r["hits"], r["misses"], r["hit_rate"], r["modelled_slowdown"]
(1, 1, 0.5, 1.7)

On a real run (the watchheap client watches redzones around every heap block)::

    run = Machine("jit", watch="unlimited", watch_trace=True, clients=["watchheap"]).run(
        "heapbugs", ["clean", "200"], capture=True)
    ex = WatchpointCacheExplorer.from_run(run, measured={"unlimited": 2.4, "pageprot": 80.0})
    ex                       # in Jupyter: the slider, the two charts, the readout
    ex.table                 # the sweep, with hit_rate and modelled_slowdown
"""
from __future__ import annotations

import html
import math
from typing import Mapping

import altair as alt
import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..models.watch_cost import CostModel
from ._base import Explorer, chart_html, html_page

#: the default sizes: powers of two from 16 to 128K entries
DEFAULT_SIZES = tuple(1 << k for k in range(4, 18))
#: the engine's default range-cache size (``Machine(watch_cache=...)``): where the explorer
#: opens when it has no online run and the size is among its sizes
ENGINE_DEFAULT_SIZE = 64
#: series names of the charts
MODEL, ONLINE, BLB = "model", "online unit", "BLB (every size)"
#: the counters of the readout, in order (the BLB's only with a BLB)
READOUT_COUNTERS = ("lookups", "hits", "misses", "handler_calls", "evictions", "invalidations",
                    "updates", "triggers")
BLB_COUNTERS = ("blb_lookups", "blb_hits", "blb_misses", "blb_evictions", "blb_updates")
#: colours: the model, the online unit, then the measured mechanisms in turn
MODEL_COLOR, ONLINE_COLOR = "#4c78a8", "#e45756"
MECH_COLORS = ("#f58518", "#54a24b", "#b279a2", "#9d755d", "#72b7b2", "#ff9da6", "#bab0ac")

#: vega expression formatting an axis value in entries (same as format_entries for powers of two)
ENTRIES_LABEL_EXPR = ("datum.value >= 1024 ? format(datum.value / 1024, '~g') + 'K' : "
                      "format(datum.value, 'd')")


def format_entries(n) -> str:
    """A number of cache entries as the slider and the axes print it: K = 1024 entries when
    that is exact, else the number itself.

    >>> format_entries(64), format_entries(16384), format_entries(131072), format_entries(1536)
    ('64', '16K', '128K', '1,536')
    """
    n = int(n)
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024}K"
    return f"{n:,}"


def _is_int(v) -> bool:
    return not isinstance(v, (bool, np.bool_)) and isinstance(v, (int, np.integer))


def _ratio(num, den) -> np.ndarray:
    """num / den element-wise, NaN where den is 0 (a hit rate without look-ups)."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def _check_trace(trace) -> np.ndarray:
    """The trace as a 1-d structured array with integer fields kind, flags, addr and len (the
    model checks each record's values)."""
    try:
        t = np.asarray(trace)
    except Exception as e:  # noqa: BLE001 - anything numpy cannot read is not a trace
        raise ConfigError("trace must be an array of watch.OP_DTYPE records, "
                          f"not {type(trace).__name__}") from e
    names = t.dtype.names or ()
    missing = [f for f in ("kind", "flags", "addr", "len") if f not in names]
    if missing or t.ndim != 1:
        raise ConfigError(
            "trace must be a 1-d array of watch.OP_DTYPE records (kind, flags, addr, len), e.g. "
            f"run.records['watch'] of a run with watch_trace=True; got dtype {t.dtype}, shape {t.shape}"
            + (f" (missing fields: {missing})" if missing else ""))
    for f in ("kind", "flags", "addr", "len"):
        if t.dtype[f].kind not in "iu" or t.dtype[f].shape:
            raise ConfigError(f"trace field {f!r} must hold integers, not {t.dtype[f]}")
    if len(t) == 0:
        raise ConfigError("the trace is empty: the run watched nothing and made no checked access "
                          "(was it run with watch_trace=True and an analysis that sets watchpoints?)")
    return t


def _check_sizes(sizes) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise ConfigError(f"sizes must be a list of cache sizes (integers >= 1), not {sizes!r}")
    sizes = list(sizes)
    if not sizes:
        raise ConfigError("sizes is empty: give at least one cache size (an integer >= 1)")
    bad = [s for s in sizes if not _is_int(s) or s < 1]
    if bad:
        raise ConfigError(f"cache sizes must be integers >= 1, not {bad[0]!r}")
    return sorted({int(s) for s in sizes})


def _check_measured(measured) -> dict[str, float]:
    if measured is None:
        return {}
    if not isinstance(measured, Mapping):
        raise ConfigError("measured must be a mapping of mechanism name -> measured slowdown, "
                          f"e.g. {{'pageprot': 80.0}}, not {type(measured).__name__}")
    out = {}
    for name, v in measured.items():
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"measured[{name!r}] must be a slowdown (a number > 0), not {v!r}") from None
        if not math.isfinite(x) or x <= 0:
            raise ConfigError(f"measured[{name!r}] must be a slowdown (a finite number > 0), not {v!r}")
        out[str(name)] = x
    return out


def _online_point(online, blb_entries: int, blb_runs: int) -> tuple[int, dict] | None:
    """(cache size, counters) of the online unit, from a Run or a ``(size, counters)`` pair."""
    if online is None:
        return None
    if hasattr(online, "watch") and hasattr(online, "config"):       # a Run
        counters, cfg = online.watch, online.config
        if not counters:
            raise ConfigError("online: the run had no watchpoint unit (Machine(watch=...))")
        size = cfg.get("watch_cache")
        got = (int(cfg.get("watch_blb", 0)), int(cfg.get("watch_blb_runs", 4)))
        if got[0] != blb_entries or (blb_entries and got[1] != blb_runs):
            raise ConfigError(
                f"online: the run's BLB (watch_blb={got[0]}, watch_blb_runs={got[1]}) is not the "
                f"explorer's (blb_entries={blb_entries}, blb_runs={blb_runs}): its counters would "
                "not lie on the model's curve")
    else:
        try:
            size, counters = online
        except (TypeError, ValueError):
            raise ConfigError("online must be a Run of the unit or a (cache size, counters) pair, "
                              f"not {online!r}") from None
    if not _is_int(size) or size < 1:
        raise ConfigError(f"online: the cache size must be an integer >= 1, not {size!r}")
    if not isinstance(counters, Mapping) or not {"lookups", "hits"} <= set(counters):
        raise ConfigError("online: the counters must be a mapping with at least 'lookups' and 'hits' "
                          "(Run.watch)")
    return int(size), {k: v for k, v in counters.items()}


class WatchpointCacheExplorer(Explorer):
    """A log-scale slider over the range cache's size; hit rate and modelled slowdown from the
    model of the unit, the online unit and measured slowdowns beside them.

    ``trace``: the unit's recorded operations (``run.records["watch"]`` of a run with
    ``watch_trace=True``; any array of ``watch.OP_DTYPE`` records). ``instructions``: the
    run's guest instruction count (the baseline of the modelled slowdown). ``measured``:
    mechanism name -> measured slowdown (run time with it / without), drawn as horizontal
    rules. ``sizes``: the cache sizes of the sweep and the slider (default 16 .. 128K, powers
    of two). ``blb_entries``, ``blb_runs``: the bitmap lookaside buffer, as in ``watch.sweep``.
    ``cost``: the cycle model (``watch_cost.CostModel``). ``online``: the online unit's point,
    a Run (its ``watch`` counters at its ``watch_cache``) or a ``(size, counters)`` pair; its
    size joins the sweep if it is not among ``sizes``. ``size``: where the slider opens
    (default: the online size, else 64 if swept, else the middle size).

    The sweep is one ``watch.sweep`` call, made here; the slider only reads :attr:`table`.

    >>> ex = WatchpointCacheExplorer.from_run(run, measured={"pageprot": 80.0})  # doctest: +SKIP
    >>> ex.size = 1024; ex.readout()["hit_rate"]                                 # doctest: +SKIP
    0.9059
    >>> ex.table.loc[64, "hits"] == run.watch["hits"]                            # doctest: +SKIP
    True
    """

    title = "watchpoint unit: range-cache size vs hit rate and modelled slowdown"

    def __init__(self, trace, instructions, measured: Mapping | None = None, sizes=None,
                 blb_entries: int = 0, blb_runs: int = 4, cost: CostModel = CostModel(), *,
                 online=None, size: int | None = None):
        import ipywidgets as W

        from ..models import watch as model
        from ..models import watch_cost

        super().__init__()
        self.trace = _check_trace(trace)
        if _is_int(instructions) or isinstance(instructions, (float, np.floating)):
            ok = math.isfinite(float(instructions)) and instructions > 0
        else:
            ok = False
        if not ok:
            raise ConfigError(f"instructions must be the run's instruction count (a number > 0), "
                              f"not {instructions!r}")
        self.instructions = instructions
        self.measured = _check_measured(measured)
        if not isinstance(cost, CostModel):
            raise ConfigError(f"cost must be a watch_cost.CostModel, not {type(cost).__name__}")
        self.cost = cost
        if not _is_int(blb_entries) or blb_entries < 0:
            raise ConfigError(f"blb_entries must be an integer >= 0 (0: no BLB), not {blb_entries!r}")
        if not _is_int(blb_runs) or blb_runs < 2:
            raise ConfigError(f"blb_runs must be an integer >= 2, not {blb_runs!r}")
        self.blb_entries, self.blb_runs = int(blb_entries), int(blb_runs)
        self.sizes = _check_sizes(DEFAULT_SIZES if sizes is None else sizes)
        self.online = _online_point(online, self.blb_entries, self.blb_runs)
        swept = sorted(set(self.sizes) | ({self.online[0]} if self.online else set()))

        table = model.sweep(self.trace, swept, blb_entries=self.blb_entries, blb_runs=self.blb_runs)
        table["hit_rate"] = _ratio(table["hits"], table["lookups"])
        table["modelled_slowdown"] = [watch_cost.modelled_slowdown(row, instructions, cost)
                                      for _, row in table.iterrows()]
        if self.blb_entries:
            table["blb_hit_rate"] = _ratio(table["blb_hits"], table["blb_lookups"])
        self._table = table
        self._counters = [c for c in model.COUNTERS if c in table.columns]

        if size is None:
            size = (self.online[0] if self.online else ENGINE_DEFAULT_SIZE if ENGINE_DEFAULT_SIZE in swept
                    else swept[len(swept) // 2])
        self.slider = W.SelectionSlider(options=[(format_entries(n), n) for n in swept],
                                        description="cache entries", continuous_update=True,
                                        style={"description_width": "initial"},
                                        layout=W.Layout(width="420px"))
        self.size = size
        self.slider.observe(self._chart_changed, names="value")

    @classmethod
    def from_run(cls, run, measured: Mapping | None = None, **kw) -> "WatchpointCacheExplorer":
        """The explorer of a run of the unit with its trace recorded
        (``Machine(watch=..., watch_trace=True)``): the trace, the instruction count, the BLB
        parameters and the online point (``run.watch`` at ``watch_cache``) all come from it.

        >>> WatchpointCacheExplorer.from_run(run, measured={"unlimited": 2.4})   # doctest: +SKIP
        """
        records = getattr(run, "records", None) or {}
        if "watch" not in records:
            raise ConfigError("the run has no watch trace: run it with Machine(watch=..., watch_trace=True)")
        cfg = getattr(run, "config", {}) or {}
        kw.setdefault("blb_entries", int(cfg.get("watch_blb", 0)))
        kw.setdefault("blb_runs", int(cfg.get("watch_blb_runs", 4)))
        kw.setdefault("online", run)
        return cls(records["watch"], run.instructions, measured, **kw)

    # -- state ---------------------------------------------------------------------------------
    @property
    def table(self) -> pd.DataFrame:
        """The sweep (one row per cache size, index ``rc_entries``, one column per counter of
        ``watch.COUNTERS``) with ``hit_rate`` (hits / lookups, NaN without look-ups) and
        ``modelled_slowdown`` (``watch_cost.modelled_slowdown`` of the row), and
        ``blb_hit_rate`` with a BLB. A copy: changing it changes nothing here."""
        return self._table.copy()

    @property
    def size(self) -> int:
        """The chosen range-cache size in entries (set it to move the slider; it must be one
        of the swept sizes)."""
        return int(self.slider.value)

    @size.setter
    def size(self, value: int) -> None:
        if not _is_int(value) or int(value) not in self._table.index:
            have = ", ".join(format_entries(n) for n in self._table.index)
            raise ConfigError(f"size {value!r} was not swept; choose one of {have}")
        self.slider.value = int(value)

    def controls(self) -> list:
        """The cache-size slider."""
        return [self.slider]

    def readout(self, size: int | None = None) -> dict:
        """The model at ``size`` (default: the slider's): ``rc_entries``, the range cache's
        counters, ``hit_rate`` and ``modelled_slowdown``; with a BLB its counters and
        ``blb_hit_rate``. Python numbers, read from :attr:`table` (nothing is recomputed)."""
        n = self.size if size is None else int(size)
        row = self._table.loc[n]
        out = {"rc_entries": n}
        names = list(READOUT_COUNTERS) + (list(BLB_COUNTERS) if self.blb_entries else [])
        out.update({c: int(row[c]) for c in names})
        out["hit_rate"] = float(row["hit_rate"])
        if self.blb_entries:
            out["blb_hit_rate"] = float(row["blb_hit_rate"])
        out["modelled_slowdown"] = float(row["modelled_slowdown"])
        return out

    def online_mismatch(self) -> dict[str, tuple[int, int]]:
        """The counters where the online unit differs from the model at its size: name ->
        (online, model). Empty when they agree (they should: the model is exact), or without
        an online point."""
        if not self.online:
            return {}
        n, counters = self.online
        row = self._table.loc[n]
        return {c: (int(counters[c]), int(row[c])) for c in self._counters
                if c in counters and int(counters[c]) != int(row[c])}

    # -- the chart -----------------------------------------------------------------------------
    #: the columns of :meth:`data` (the charts draw and show only these)
    DATA_COLUMNS = ("rc_entries", "entries", "lookups", "hits", "misses", "triggers", "hit_rate",
                    "modelled_slowdown")

    def data(self) -> pd.DataFrame:
        """The model's curve as chart rows: ``rc_entries`` and its label (``entries``), the
        counters the tooltips show, ``hit_rate`` and ``modelled_slowdown``."""
        t = self._table.reset_index()
        t["entries"] = [format_entries(n) for n in t["rc_entries"]]
        return t[list(self.DATA_COLUMNS)]

    def _x(self, title: str = "range-cache entries (log scale)") -> alt.X:
        lo, hi = min(self._table.index), max(self._table.index)
        if lo == hi:
            lo, hi = max(lo / 2, 0.5), hi * 2
        a, b = math.ceil(math.log2(lo)), math.floor(math.log2(hi))
        step = max(1, math.ceil((b - a + 1) / 8))
        values = [1 << e for e in range(max(a, 0), b + 1, step)]
        return alt.X("rc_entries:Q", title=title,
                     scale=alt.Scale(type="log", base=2, domain=[lo, hi], nice=False),
                     axis=alt.Axis(values=values, labelExpr=ENTRIES_LABEL_EXPR, labelOverlap=True))

    def _marker(self, field: str, label: str) -> list:
        """The slider's position: a rule, a point on the curve, and the value as text."""
        x = self._x()
        row = self.readout()
        now = pd.DataFrame({"rc_entries": [self.size], field: [row[field]], "label": [label],
                            "entries": [format_entries(self.size)]})
        rule = alt.Chart(now).mark_rule(color="black").encode(x=x)
        point = alt.Chart(now).mark_point(color="black", filled=True, size=60).encode(
            x=x, y=f"{field}:Q", tooltip=[alt.Tooltip("entries:N", title="entries"),
                                          alt.Tooltip(f"{field}:Q", format=".4g")])
        idx = list(self._table.index)
        right_half = idx.index(self.size) >= len(idx) / 2 and len(idx) > 1
        text = alt.Chart(now).mark_text(align="right" if right_half else "left", baseline="top",
                                        dx=-4 if right_half else 4, dy=4, fontSize=10).encode(
            x=x, y=alt.value(0), text="label:N")
        return [rule, point, text]

    def _hit_panel(self) -> alt.LayerChart:
        c = self.data().assign(series=MODEL)
        x = self._x()
        domain, rng = [MODEL], [MODEL_COLOR]
        rows = []
        if self.online:
            n, counters = self.online
            lk = float(counters["lookups"])
            rows.append({"rc_entries": n, "hit_rate": counters["hits"] / lk if lk else None,
                         "series": ONLINE, "entries": format_entries(n),
                         "hits": int(counters["hits"]), "lookups": int(counters["lookups"])})
            domain.append(ONLINE)
            rng.append(ONLINE_COLOR)
        online = pd.DataFrame(rows, columns=["rc_entries", "hit_rate", "series", "entries", "hits",
                                             "lookups"])
        color = alt.Color("series:N", scale=alt.Scale(domain=domain + ([BLB] if self.blb_entries else []),
                                                      range=rng + (["#54a24b"] if self.blb_entries else [])),
                          title=None, legend=alt.Legend(orient="top"))
        y = alt.Y("hit_rate:Q", title="hit rate (hits / look-ups)", scale=alt.Scale(zero=False),
                  axis=alt.Axis(format="%"))
        tip = [alt.Tooltip("entries:N", title="entries"), alt.Tooltip("hit_rate:Q", format=".4%"),
               alt.Tooltip("hits:Q", format=","), alt.Tooltip("lookups:Q", format=",")]
        layers = [alt.Chart(c).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
            x=x, y=y, color=color, tooltip=tip + [alt.Tooltip("misses:Q", format=",")])]
        layers.append(alt.Chart(online).mark_point(shape="diamond", size=140, filled=True).encode(
            x=x, y="hit_rate:Q", color=color, tooltip=tip))
        if self.blb_entries:
            blb = pd.DataFrame({"blb_hit_rate": [float(self._table["blb_hit_rate"].iloc[0])],
                                "series": [BLB]})
            layers.append(alt.Chart(blb).mark_rule(strokeDash=[4, 3]).encode(
                y="blb_hit_rate:Q", color=color,
                tooltip=["series:N", alt.Tooltip("blb_hit_rate:Q", format=".4%")]))
        now = self.readout()
        label = f"{now['hit_rate']:.2%}" if math.isfinite(now["hit_rate"]) else "no look-ups"
        subtitle = ("model: one sweep of the trace; diamond: the online unit" if self.online
                    else "the model at every size (one sweep of the trace)")
        return alt.layer(*layers, *self._marker("hit_rate", label)).properties(
            width=320, height=220, title=alt.Title("range-cache hit rate", subtitle=subtitle))

    def _mechanisms(self) -> list[tuple[str, str, float]]:
        """(mechanism, legend label, measured slowdown) of each measured mechanism."""
        return [(m, f"{m}: measured x{v:.3g}", v) for m, v in self.measured.items()]

    def _slowdown_scale(self) -> alt.Scale:
        """Log when the slowdowns drawn span more than a factor of ten, else linear."""
        vals = [v for v in self._table["modelled_slowdown"] if math.isfinite(v)]
        vals += [v for _, _, v in self._mechanisms()]
        lo, hi = min(vals), max(vals)
        if hi / lo > 10:
            return alt.Scale(type="log", domain=[lo / 1.2, hi * 1.2], nice=False)
        return alt.Scale(zero=False)

    def _slowdown_panel(self) -> alt.LayerChart:
        c = self.data().assign(series=MODEL)
        x = self._x()
        mechs = self._mechanisms()
        domain = [MODEL] + [label for _, label, _ in mechs]
        rng = [MODEL_COLOR] + [MECH_COLORS[i % len(MECH_COLORS)] for i in range(len(mechs))]
        color = alt.Color("series:N", scale=alt.Scale(domain=domain, range=rng), title=None,
                          legend=alt.Legend(orient="top", columns=2, labelLimit=200))
        y = alt.Y("modelled_slowdown:Q", title="slowdown (run time / without watchpoints)",
                  scale=self._slowdown_scale())
        tip = [alt.Tooltip("entries:N", title="entries"),
               alt.Tooltip("modelled_slowdown:Q", format=".3f", title="modelled slowdown"),
               alt.Tooltip("misses:Q", format=","), alt.Tooltip("triggers:Q", format=",")]
        layers = [alt.Chart(c).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
            x=x, y=y, color=color, tooltip=tip)]
        meas = pd.DataFrame([{"mechanism": m, "series": label, "modelled_slowdown": v}
                             for m, label, v in mechs], columns=["mechanism", "series", "modelled_slowdown"])
        # always drawn (maybe empty), so the layers are the same with or without measurements
        layers.append(alt.Chart(meas).mark_rule(strokeDash=[6, 3], strokeWidth=2).encode(
            y="modelled_slowdown:Q", color=color,
            tooltip=["mechanism:N",
                     alt.Tooltip("modelled_slowdown:Q", format=".3f", title="measured slowdown")]))
        now = self.readout()
        m = self.cost
        # one short line per subtitle: the status line has the rest (instructions, CPI)
        subtitle = f"cycles: {m.miss:g} per miss, {m.trigger:g} per trigger, {m.blb_miss:g} per BLB miss"
        marker = self._marker("modelled_slowdown", f"x{now['modelled_slowdown']:.3g}")
        return alt.layer(*layers, *marker).properties(
            width=320, height=220, title=alt.Title("modelled slowdown (unlimited)", subtitle=subtitle))

    def chart(self) -> alt.HConcatChart:
        """Hit rate vs cache size (model curve, online unit) | modelled slowdown vs cache size
        (model curve, measured mechanisms as dashed rules); the slider's size is the black
        rule and point, labelled with the model's value there."""
        return alt.hconcat(self._hit_panel(), self._slowdown_panel()).resolve_scale(color="independent")

    # -- text ----------------------------------------------------------------------------------
    def describe(self) -> str:
        """The model at the chosen size in one line, and whether the online unit agrees."""
        r = self.readout()
        rate = f"{r['hit_rate']:.2%}" if math.isfinite(r["hit_rate"]) else "no look-ups"
        s = (f"{format_entries(r['rc_entries'])} entries: {r['lookups']:,} look-ups, {r['hits']:,} hits "
             f"({rate}), {r['misses']:,} misses (handler calls), "
             f"modelled slowdown x{r['modelled_slowdown']:.3g}")
        if self.blb_entries:
            brate = f"{r['blb_hit_rate']:.2%}" if math.isfinite(r["blb_hit_rate"]) else "no look-ups"
            s += f"; BLB ({self.blb_entries} lines): {r['blb_lookups']:,} look-ups, {brate} hits"
        if self.online:
            diff = self.online_mismatch()
            where = format_entries(self.online[0])
            s += (f"; online unit at {where} entries: the model's counters exactly" if not diff else
                  f"; online unit at {where} entries DIFFERS from the model in "
                  + ", ".join(f"{k} ({a:,} vs {b:,})" for k, (a, b) in diff.items()))
        if self.measured:
            s += "; measured: " + ", ".join(f"{m} x{v:.3g}" for m, v in self.measured.items())
        c = self.cost
        s += (f" (cycle model: {c.miss:g} per miss, {c.trigger:g} per trigger, {c.blb_miss:g} per BLB "
              f"miss, {c.hit:g} per hit, over {float(self.instructions):,.0f} instructions at {c.cpi:g} CPI)")
        return s

    def readout_html(self) -> str:
        """The readout as a small HTML table (shown under the chart)."""
        r = self.readout()
        cells = []
        for k, v in r.items():
            if k == "rc_entries":
                text = format_entries(v)
            elif k.endswith("hit_rate"):
                text = f"{v:.3%}" if math.isfinite(v) else "–"
            elif k == "modelled_slowdown":
                text = f"x{v:.4g}"
            else:
                text = f"{v:,}"
            cells.append((k, text))
        head = "".join(f"<th>{html.escape(k)}</th>" for k, _ in cells)
        body = "".join(f"<td>{html.escape(t)}</td>" for _, t in cells)
        return f'<table class="wb-readout"><tr>{head}</tr><tr>{body}</tr></table>'

    def _status_html(self) -> str:
        return super()._status_html() + self.readout_html()

    def to_html(self) -> str:
        """A self-contained HTML page: the chart at the current size, the status line and the
        readout table (JS inlined, works offline)."""
        parts = [f"<h1>{html.escape(self.title)}</h1>",
                 f'<p class="wb-note">{html.escape(self.describe())}</p>',
                 chart_html(self.chart()), self.readout_html()]
        return html_page(parts, title=self.title)
