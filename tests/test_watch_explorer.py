"""WatchpointCacheExplorer (workbench/widgets/watchpoints.py), headless: its table is one sweep
of the model, and its row at the online unit's cache size equals the unit counter for counter;
the hit rate never falls as the cache grows; the slider moves the readout and the charts'
markers without recomputing the sweep; measured mechanisms and the online point are in the
charts' data; the explorer renders statically; bad input is refused with a clear error."""
from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("vl_convert")

from workbench import Machine  # noqa: E402
from workbench.errors import ConfigError  # noqa: E402
from workbench.models import watch, watch_cost  # noqa: E402
from workbench.widgets import WatchpointCacheExplorer, format_entries  # noqa: E402
from workbench.widgets.watchpoints import BLB, DEFAULT_SIZES, MODEL, ONLINE  # noqa: E402

HEAPBUGS = ("heapbugs", ["clean", "50"])                     # small, allocation-heavy
LUA = ("lua54", ["-e", "local t={} for i=1,3000 do t[i]=tostring(i) end"])
MEASURED = {"unlimited": 2.4, "pageprot": 80.0, "software": 3.2}


def _run(program, args, **kw):
    run = Machine("jit", watch="unlimited", watch_trace=True, clients=["watchheap"], **kw).run(
        program, args, capture=True)
    assert run.ok, run.message
    return run


@pytest.fixture(scope="module")
def run():
    return _run(*HEAPBUGS)


@pytest.fixture(scope="module")
def lua_run():
    return _run(*LUA, watch_cache=16)       # on the steep part of its curve


@pytest.fixture(scope="module")
def ex(run):
    return WatchpointCacheExplorer.from_run(run, measured=MEASURED)


def _layers(spec, panel):
    """The leaf layers of one panel (0: hit rate, 1: slowdown), each with the rows it draws."""
    out = []

    def walk(s, data):
        data = s.get("data", data)
        if "layer" in s:
            for sub in s["layer"]:
                walk(sub, data)
        else:
            out.append({**s, "rows": spec["datasets"][data["name"]]})
    walk(spec["hconcat"][panel], None)
    return out


def _marker_rows(spec, panel):
    """The rows of the slider's marker (rule, point, label) in one panel."""
    return [r for lay in _layers(spec, panel) for r in lay["rows"] if "label" in r]


# -- the model equals the online unit -------------------------------------------------------------

@pytest.mark.parametrize("program,cache,blb", [
    (HEAPBUGS, 64, 0),          # the engine's default size
    (HEAPBUGS, 48, 0),          # not a swept size: it joins the sweep
    (LUA, 16, 0),               # a real program
    (HEAPBUGS, 32, 16),         # with a bitmap lookaside buffer
], ids=["heapbugs-64", "heapbugs-48", "lua-16", "heapbugs-32-blb16"])
def test_row_at_the_online_size_is_the_online_unit(program, cache, blb, run, lua_run):
    if program == LUA:
        r = lua_run
    elif (cache, blb) == (64, 0):
        r = run
    else:
        r = _run(*program, watch_cache=cache, watch_blb=blb)
    ex = WatchpointCacheExplorer.from_run(r)
    assert ex.size == cache and ex.blb_entries == blb
    row = ex.table.loc[cache]
    assert {c: int(row[c]) for c in watch.COUNTERS} == {c: r.watch[c] for c in watch.COUNTERS}
    assert ex.online_mismatch() == {}
    assert "the model's counters exactly" in ex.describe()
    assert set(DEFAULT_SIZES) | {cache} == set(ex.table.index)
    # the online diamond sits on the model's curve
    spec = ex.chart().to_dict()
    online = [row for lay in _layers(spec, 0) for row in lay["rows"] if row.get("series") == ONLINE]
    assert len(online) == 1 and online[0]["rc_entries"] == cache
    assert online[0]["hit_rate"] == pytest.approx(ex.table.loc[cache, "hit_rate"], abs=0)
    if blb:
        assert r.watch["blb_lookups"] > 0 and ex.readout()["blb_lookups"] == r.watch["blb_lookups"]


def test_a_counter_that_differs_is_named(run):
    n = 64
    fake = dict(run.watch, hits=run.watch["hits"] + 1)
    ex = WatchpointCacheExplorer(run.records["watch"], run.instructions, online=(n, fake))
    assert ex.online_mismatch() == {"hits": (run.watch["hits"] + 1, run.watch["hits"])}
    assert "DIFFERS from the model in hits" in ex.describe()


# -- the table --------------------------------------------------------------------------------------

@pytest.mark.parametrize("program", ["heapbugs", "lua"])
def test_hit_rate_never_falls_as_the_cache_grows(program, run, lua_run):
    r = run if program == "heapbugs" else lua_run
    sizes = list(range(1, 129)) + list(DEFAULT_SIZES)
    t = WatchpointCacheExplorer.from_run(r, sizes=sizes).table
    assert list(t.index) == sorted(set(sizes))
    # LRU's stack property, invalidated runs leaving holes: hits only grow with the size
    assert (np.diff(t["hits"].to_numpy()) >= 0).all()
    assert (np.diff(t["misses"].to_numpy()) <= 0).all()
    assert (np.diff(t["hit_rate"].to_numpy()) >= 0).all()
    assert (np.diff(t["modelled_slowdown"].to_numpy()) <= 1e-12).all()
    assert t["hit_rate"].iloc[0] < t["hit_rate"].iloc[-1]     # and the size matters somewhere
    assert (t["lookups"].nunique(), t["triggers"].nunique()) == (1, 1)


def test_table_columns(ex, run):
    t = ex.table
    assert list(t.index) == list(DEFAULT_SIZES) and t.index.name == "rc_entries"
    assert t.index[0] == 16 and t.index[-1] == 128 * 1024
    assert set(watch.COUNTERS) < set(t.columns) and "blb_hit_rate" not in t.columns
    assert np.allclose(t["hit_rate"], t["hits"] / t["lookups"])
    for n in (16, 1024):
        want = watch_cost.modelled_slowdown(watch.replay(run.records["watch"], n), run.instructions)
        assert t.loc[n, "modelled_slowdown"] == pytest.approx(want)
    t.loc[16, "hits"] = -1                                    # a copy
    assert ex.table.loc[16, "hits"] >= 0


def test_a_tiny_trace_by_hand():
    t = watch.ops([(watch.SET, watch.READ, 100, 100),   # watch [100, 199] for reads
                   (watch.LOAD, 0, 150, 4),              # a miss, a trigger
                   (watch.STORE, 0, 150, 4)])            # a hit
    ex = WatchpointCacheExplorer(t, 1000, sizes=[1, 16])
    r = ex.readout(1)
    assert (r["lookups"], r["hits"], r["misses"], r["triggers"]) == (2, 1, 1, 1)
    assert r["hit_rate"] == 0.5 and r["modelled_slowdown"] == pytest.approx(1.7)  # (500 + 200) / 1000
    cheap = WatchpointCacheExplorer(t, 1000, sizes=[1], cost=watch_cost.CostModel(miss=0, trigger=0))
    assert cheap.readout()["modelled_slowdown"] == 1.0


# -- the slider -------------------------------------------------------------------------------------

def test_the_slider_reads_the_table_and_moves_the_markers(run, monkeypatch):
    calls = {"sweep": 0, "replay": 0, "slowdown": 0}

    def counting(name, f):
        def wrapped(*a, **k):
            calls[name] += 1
            return f(*a, **k)
        return wrapped
    monkeypatch.setattr(watch, "sweep", counting("sweep", watch.sweep))
    monkeypatch.setattr(watch, "replay", counting("replay", watch.replay))
    monkeypatch.setattr(watch_cost, "modelled_slowdown", counting("slowdown", watch_cost.modelled_slowdown))
    ex = WatchpointCacheExplorer.from_run(run, measured=MEASURED)
    assert calls["sweep"] == 1 and calls["replay"] == 0
    built = dict(calls)
    seen = []
    ex.on_change(seen.append)
    ex.widget                                         # the live widget, its chart and status line
    assert ex.slider.options[0] == ("16", 16) and ex.slider.options[-1] == ("128K", 131072)
    t = ex.table
    for i, n in enumerate([16, 131072, 1024]):
        if i % 2:
            ex.size = n
        else:
            ex.slider.value = n                       # what the slider sends
        assert ex.size == n and len(seen) == i + 1
        r = ex.readout()
        assert r["rc_entries"] == n
        assert {k: r[k] for k in ("lookups", "hits", "misses", "handler_calls")} == \
            {k: int(t.loc[n, k]) for k in ("lookups", "hits", "misses", "handler_calls")}
        assert r["hit_rate"] == t.loc[n, "hit_rate"]
        assert r["modelled_slowdown"] == t.loc[n, "modelled_slowdown"]
        spec = ex.jupyter_chart.spec                  # the live chart, redrawn (= ex.chart())
        for panel, field in ((0, "hit_rate"), (1, "modelled_slowdown")):
            rows = _marker_rows(spec, panel)
            assert rows and {row["rc_entries"] for row in rows} == {n}
            assert rows[0][field] == pytest.approx(r[field])
        assert ex.describe().startswith(f"{format_entries(n)} entries: ")
        assert f"{r['hits']:,}" in ex._status.value                  # the live status line
    assert calls == built                             # nothing recomputed


def test_a_size_that_was_not_swept_is_refused(ex):
    with pytest.raises(ConfigError, match="not swept"):
        ex.size = 100
    with pytest.raises(ConfigError, match="not swept"):
        WatchpointCacheExplorer(ex.trace, 1000, sizes=[16, 32], size=64)


# -- the charts -------------------------------------------------------------------------------------

def test_measured_mechanisms_are_in_the_slowdown_chart(ex):
    spec = ex.chart().to_dict()
    lays = _layers(spec, 1)
    rules = [lay for lay in lays if lay["mark"]["type"] == "rule"
             and any("mechanism" in row for row in lay["rows"])]
    assert len(rules) == 1
    assert {row["mechanism"]: row["modelled_slowdown"] for row in rules[0]["rows"]} == MEASURED
    domain = rules[0]["encoding"]["color"]["scale"]["domain"]
    assert domain[0] == MODEL and all(any(d.startswith(m + ":") for d in domain) for m in MEASURED)
    # slowdowns from 2.4 to 80: a log scale, every measurement inside its domain
    y = next(lay for lay in lays if lay["mark"]["type"] == "line")["encoding"]["y"]["scale"]
    assert y["type"] == "log" and y["domain"][0] < 2.4 and y["domain"][1] > 80
    # the model curve: every swept size
    model = next(lay for lay in lays if lay["mark"]["type"] == "line")["rows"]
    assert [row["rc_entries"] for row in model] == list(DEFAULT_SIZES)
    # the hit-rate panel: a log2 x axis labelled in entries
    x = next(lay for lay in _layers(spec, 0) if lay["mark"]["type"] == "line")["encoding"]["x"]
    assert x["scale"]["type"] == "log" and x["scale"]["base"] == 2
    assert all(v & (v - 1) == 0 for v in x["axis"]["values"])


def test_without_measurements_the_scale_is_linear(run):
    ex = WatchpointCacheExplorer(run.records["watch"], run.instructions)
    spec = ex.chart().to_dict()
    rules = [lay for lay in _layers(spec, 1) if lay["mark"]["type"] == "rule"
             and "mechanism" in str(lay["encoding"].get("tooltip"))]
    assert len(rules) == 1 and rules[0]["rows"] == []
    line = next(lay for lay in _layers(spec, 1) if lay["mark"]["type"] == "line")
    assert line["encoding"]["y"]["scale"].get("type") != "log"
    assert not any(row.get("series") == ONLINE for lay in _layers(spec, 0) for row in lay["rows"])


def test_the_blb_is_in_the_readout_and_the_chart(run):
    ex = WatchpointCacheExplorer(run.records["watch"], run.instructions, blb_entries=16)
    r = ex.readout()
    assert r["blb_lookups"] > 0 and r["blb_lookups"] == r["blb_hits"] + r["blb_misses"]
    assert r["blb_hit_rate"] == pytest.approx(r["blb_hits"] / r["blb_lookups"])
    assert ex.table["blb_hits"].nunique() == 1                      # the same at every size
    assert "BLB (16 lines)" in ex.describe()
    spec = ex.chart().to_dict()
    blb = [row for lay in _layers(spec, 0) for row in lay["rows"] if row.get("series") == BLB]
    assert blb and blb[0]["blb_hit_rate"] == pytest.approx(r["blb_hit_rate"])
    plain = WatchpointCacheExplorer(run.records["watch"], run.instructions).readout()
    assert not any(k.startswith("blb") for k in plain)


def test_no_label_or_title_overlaps(ex):
    from test_widgets import _overlaps, _text_boxes

    for n in (16, 131072):                            # the marker's label on either side
        ex.size = n
        boxes = _text_boxes(ex.chart().to_dict())
        assert not _overlaps(boxes), (n, _overlaps(boxes))


def test_static_rendering(ex):
    ex.size = 1024
    page = ex.to_html()
    assert "vegaEmbed" in page and "<script src" not in page
    assert 'class="wb-readout"' in page and "modelled_slowdown" in page and "pageprot" in page
    assert ex.to_png()[:4] == b"\x89PNG"
    assert type(ex.widget).__name__ == "VBox"
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "image/png" in bundle
    assert bundle["text/plain"].startswith("<WatchpointCacheExplorer: 1K entries")


# -- bad input --------------------------------------------------------------------------------------

def _good():
    return watch.ops([(watch.SET, watch.WRITE, 0x1000, 16), (watch.STORE, 0, 0x1008, 8)])


@pytest.mark.parametrize("kw,match", [
    ({"trace": watch.ops([])}, "empty"),
    ({"trace": np.zeros(4, np.int64)}, "OP_DTYPE"),
    ({"trace": np.zeros(2, [("kind", "u1"), ("addr", "<u8")])}, "missing fields"),
    ({"trace": np.zeros(2, [("kind", "u1"), ("flags", "u1"), ("addr", "<f8"), ("len", "<u8")])}, "integers"),
    ({"trace": [1, 2, 3]}, "OP_DTYPE"),
    ({"trace": watch.ops([(watch.LOAD, 0, 0x1000, 0)])}, "len is 0"),     # the model's check
    ({"instructions": 0}, "instructions"),
    ({"instructions": -5}, "instructions"),
    ({"instructions": math.nan}, "instructions"),
    ({"instructions": "many"}, "instructions"),
    ({"sizes": [16, 0]}, ">= 1"),
    ({"sizes": [-4]}, ">= 1"),
    ({"sizes": [1.5]}, ">= 1"),
    ({"sizes": [True]}, ">= 1"),
    ({"sizes": []}, "empty"),
    ({"sizes": 64}, "list"),
    ({"measured": {"pageprot": -1}}, "pageprot"),
    ({"measured": {"software": "slow"}}, "software"),
    ({"measured": [2.0]}, "mapping"),
    ({"blb_entries": -1}, "blb_entries"),
    ({"blb_runs": 1}, "blb_runs"),
    ({"cost": {"miss": 1}}, "CostModel"),
    ({"online": 64}, "pair"),
    ({"online": (0, {"lookups": 1, "hits": 1})}, ">= 1"),
    ({"online": (64, {"misses": 1})}, "lookups"),
])
def test_bad_input_is_refused(kw, match):
    args = {"trace": _good(), "instructions": 1000, **kw}
    with pytest.raises(ConfigError, match=match) as e:
        WatchpointCacheExplorer(args.pop("trace"), args.pop("instructions"), **args)
    assert isinstance(e.value, ValueError)


def test_runs_without_a_trace_or_with_another_blb_are_refused(run):
    no_trace = Machine("jit", watch="unlimited", clients=["watchheap"]).run(*HEAPBUGS, capture=True)
    with pytest.raises(ConfigError, match="watch_trace=True"):
        WatchpointCacheExplorer.from_run(no_trace)
    with pytest.raises(ConfigError, match="BLB"):
        WatchpointCacheExplorer(run.records["watch"], run.instructions, blb_entries=8, online=run)
