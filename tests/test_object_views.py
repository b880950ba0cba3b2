"""workbench/widgets/views.py, headless: the per-object byte-access heatmap, the object and
event timelines (with the barrier faults the model predicts, checked against the engine's
count), the per-fault cost distribution and the ObjectExplorer. Charts are read back as
vega-lite specs (``chart.to_dict()``); the tables behind them are checked against the records.

The guest is ``heads 40`` (a few dozen objects, well under a second per run).
"""
from __future__ import annotations

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
alt = pytest.importorskip("altair")

from workbench import Machine  # noqa: E402
from workbench.models import sampling  # noqa: E402
from workbench.widgets import (ObjectExplorer, SamplingModel, event_timeline,  # noqa: E402
                               fault_cost_chart, fault_cost_frame, heatmap_frame, object_heatmap,
                               object_timeline, object_timeline_frame, timeline_frame)

ARGS = ["40"]
EVERY_OBJECT = {"sample_bytes": 0, "per_site": 0, "max_accesses": 0, "log_allocs": 1}


@pytest.fixture(scope="module")
def run():
    r = Machine(clients=["barrier"], client_options={"barrier": EVERY_OBJECT}).run("heads", ARGS, capture=True)
    assert r.ok
    return r


@pytest.fixture(scope="module")
def objects(run):
    return run.events("barrier")


@pytest.fixture(scope="module")
def touched(run):
    return run.events("barrier_touched")


@pytest.fixture(scope="module")
def truth():
    """A ground truth for the model: every access and every allocation call, nothing sampled."""
    r = Machine(clients=["barrier", "memtrace"], client_options={"barrier": {
        "sample_bytes": 1 << 62, "log_allocs": 1}}).run("heads", ARGS, capture=True)
    return r, sampling.replay(r.records["barrier_allocs"], r.records["memtrace"])


def _layers(spec):
    """Leaf layers of a spec, each with its rows (inherited from the parent when it has none)."""
    out = []

    def walk(s, data):
        data = s.get("data", data)
        subs = [x for k in ("layer", "vconcat", "hconcat") for x in s.get(k, [])]
        for sub in subs:
            walk(sub, data)
        if not subs and "mark" in s:
            rows = spec["datasets"][data["name"]] if data and "name" in data else []
            out.append((s, rows))
    walk(spec, None)
    return out


def _mark(layer):
    m = layer["mark"]
    return m if isinstance(m, str) else m["type"]


# -- the per-object byte-access heatmap ------------------------------------------------------------

@pytest.mark.parametrize("relative", [True, False])
def test_heatmap_bins_add_up_to_the_bytes_touched(objects, touched, relative):
    f = heatmap_frame(objects, touched, bins=32, relative=relative, max_objects=1000)
    rec = objects.to_dataframe().set_index("id")
    assert set(f["id"]) == set(rec.index)                     # every object (max_objects=1000)
    got = f.groupby("id")["touched"].sum()
    np.testing.assert_array_equal(got.sort_index().values, rec["bytes_touched"].sort_index().values)
    assert ((f["fraction"] >= 0) & (f["fraction"] <= 1)).all()
    # the bins tile each object exactly
    span = f.groupby("id").apply(lambda g: (g["start"].min(), g["end"].max(), (g["end"] - g["start"]).sum()))
    for i, (a, b, total) in span.items():
        assert a == 0 and b == total == rec.loc[i, "size"]


def test_heatmap_shows_what_heads_does(objects, touched):
    f = heatmap_frame(objects, touched, bins=64, max_objects=1000)
    by_size = dict(tuple(f.groupby("size")))
    # 48-byte log lines are written whole; 16 KiB buffers only at their first 64-127 bytes
    assert (by_size[48]["fraction"] == 1).all()
    big = by_size[16384]
    assert (big[big["start"] == 0]["touched"] >= 64).all()
    assert (big[big["start"] >= 256]["touched"] == 0).all()


def test_heatmap_picks_objects_round_robin_over_sites(objects, touched):
    sites = set(objects.site_symbol.values.tolist())
    f = heatmap_frame(objects, touched, max_objects=len(sites) * 2)
    assert set(f["site"]) == sites                            # a busy site does not crowd out others
    assert f["id"].nunique() == len(sites) * 2
    f = heatmap_frame(objects, touched, ids=[2, 4])
    assert sorted(f["id"].unique()) == [2, 4]


def test_heatmap_chart_spec(objects, touched):
    spec = object_heatmap(objects, touched, bins=16).to_dict()
    (layer, rows), = _layers(spec)
    enc = layer["encoding"]
    assert _mark(layer) == "rect"
    assert (enc["x"]["field"], enc["x2"]["field"], enc["color"]["field"]) == ("x", "x2", "fraction")
    assert enc["color"]["scale"]["domain"] == [0, 1]
    # one row per object, in the order of the table (by site, then id)
    assert enc["y"]["sort"] == list(dict.fromkeys(r["label"] for r in rows))
    assert max(r["x2"] for r in rows) == 100


# -- timelines --------------------------------------------------------------------------------------

def test_object_timeline(objects):
    f = object_timeline_frame(objects, max_objects=1000)
    rec = objects.to_dataframe().set_index("id").loc[f["id"]]
    np.testing.assert_array_equal(f["first"].values, rec["first_icount"].values)
    np.testing.assert_array_equal(f["accesses"].values, rec["accesses"].values)
    live = rec["free_icount"].values == 0
    assert (f["live_at_end"].values == live).all()
    assert (f["free"] >= f["alloc"]).all() and (f["last"] <= f["free"]).all()
    spec = object_timeline(objects).to_dict()
    marks = sorted(_mark(lay) for lay, _ in _layers(spec))
    assert marks == ["bar", "rule"]                           # lifetime line, profiled span


def test_event_timeline_of_allocation_calls(run):
    allocs = run.events("barrier_allocs")
    f = timeline_frame(allocs, by="kind", bins=20)
    assert f["count"].sum() == allocs.sizes["event"]
    assert set(f["category"]) == {"malloc", "free", "calloc"}   # named by their meanings
    assert f["start"].nunique() <= 20
    spec = event_timeline(allocs, by="kind", bins=20).to_dict()
    (layer, rows), = _layers(spec)
    assert _mark(layer) == "bar" and layer["encoding"]["color"]["field"] == "category"
    assert sum(r["count"] for r in rows) == allocs.sizes["event"]


def test_fault_timeline_from_the_model_matches_the_engine(truth):
    r, trace = truth
    model = SamplingModel(trace)
    interval = 1 << 14
    faults = model.faults(interval)
    assert faults.sizes["fault"] == model.at(interval)["faults"] > 0
    # the engine, at the same interval and setting, takes exactly these faults
    real = Machine(clients=["barrier"], client_options={"barrier": {
        "sample_bytes": interval, "per_site": 1, "max_accesses": 250}}).run("heads", ARGS, capture=True)
    st = real.records["barrier_stats"][0]
    assert int(st["faults"]) - int(st["stray"]) == faults.sizes["fault"]
    per_object = np.bincount(faults.object.values.astype(np.int64))
    np.testing.assert_array_equal(per_object, real.records["barrier"]["accesses"])
    # drawn over time, stacked by object: more objects than colours -> "other"
    f = timeline_frame(faults, by="object", max_categories=3)
    assert f["count"].sum() == faults.sizes["fault"]
    assert f["category"].nunique() <= 3
    assert "other" in set(f["category"]) or len(np.unique(faults.object.values)) <= 3


def test_event_timeline_needs_an_icount_coordinate(objects):
    with pytest.raises(ValueError, match="icount"):
        timeline_frame(objects)


# -- the cost of one fault --------------------------------------------------------------------------

def _study(us_per_fault=(2.0, 5.0)):
    """A barrier-study Dataset (the layout of workbench.studies.barrier.run, made-up numbers):
    the per-fault cost of workload w is us_per_fault[w] in every cell."""
    workloads, profilers = ["heads", "zstd"], ["none", "barrier", "bursty"]
    intervals, repeats = [16384, 262144, 8388608], [0, 1]
    shape = (2, 3, 3, 2)
    faults = np.full(shape, np.nan)
    time = np.full(shape, np.nan)
    ratio = np.full(shape, np.nan)
    base = 0.01
    for w in range(2):
        for j, n in enumerate(intervals):
            f = 10_000_000 // n * 100          # 60,000 / 3,800 / 100 faults
            for k in repeats:
                faults[w, 1, j, k] = f
                time[w, 1, j, k] = base + f * us_per_fault[w] * 1e-6
                ratio[w, 1, j, k] = time[w, 1, j, k] / base
        faults[w, 2, 0, :] = 99_999            # bursty: accesses, not faults
        time[w, 2, 0, :], ratio[w, 2, 0, :] = 0.5, 50.0
    dims = ("workload", "profiler", "sample_bytes", "repeat")
    return xr.Dataset({"faults": (dims, faults), "time_s": (dims, time), "paired_ratio": (dims, ratio)},
                      coords={"workload": workloads, "profiler": profilers,
                              "sample_bytes": intervals, "repeat": repeats})


def test_fault_cost_distribution():
    ds = _study()
    f = fault_cost_frame(ds, min_faults=1000)
    assert len(f) == 2 * 2 * 2                 # 2 workloads x the 2 intervals with >= 1000 faults x 2 repeats
    assert (f["faults"] >= 1000).all()
    got = f.groupby("workload")["us_per_fault"]
    assert np.allclose(got.min(), [2.0, 5.0]) and np.allclose(got.max(), [2.0, 5.0])
    assert set(f["interval"]) == {"16 KiB", "256 KiB"}
    assert len(fault_cost_frame(ds, min_faults=1)) == 2 * 3 * 2
    assert not f["within_noise"].any()
    # with the brackets' spread recorded, a run whose overhead is inside it is marked
    noise = xr.full_like(ds["time_s"], 0.01)
    noise.loc[dict(workload="heads", profiler="barrier", sample_bytes=262144)] = 10.0
    f = fault_cost_frame(ds.assign(baseline_noise=noise))
    assert set(f[f["within_noise"]]["interval"]) == {"256 KiB"} and f["within_noise"].sum() == 2
    spec = fault_cost_chart(ds).to_dict()
    layers = _layers(spec)
    assert sorted(_mark(lay) for lay, _ in layers) == ["point", "tick"]
    tick = next(lay for lay, _ in layers if _mark(lay) == "tick")
    assert tick["encoding"]["x"]["aggregate"] == "median"


# -- the explorer -----------------------------------------------------------------------------------

def test_object_explorer_controls(run):
    ex = ObjectExplorer.from_run(run)
    seen = []
    ex.on_change(seen.append)
    ex.widget
    assert ex.describe().startswith("all sites:")
    ex.site = "main+0xb0"                                   # the 16 KiB buffers' site
    assert len(seen) == 1
    assert "main+0xb0" in ex._status.value
    share = float(ex.describe().split("median ")[1].split("%")[0])
    assert share < 1.0                                      # mostly untouched buffers
    spec = ex.jupyter_chart.spec
    heat = [rows for lay, rows in _layers(spec) if _mark(lay) == "rect"][0]
    assert {r["site"] for r in heat} == {"main+0xb0"}
    ex.relative = False
    ex.bins_control.value = 8
    heat = [rows for lay, rows in _layers(ex.chart().to_dict()) if _mark(lay) == "rect"][0]
    assert max(r["x2"] for r in heat) == 16384                # bytes, not percent
    assert len(heat) == 8 * len({r["id"] for r in heat})
    assert ex.to_png()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="site"):
        ObjectExplorer.from_run(run, site="nowhere")


def test_views_are_exported_with_examples():
    import workbench.widgets as w

    for name in ("object_heatmap", "object_timeline", "event_timeline", "fault_cost_chart",
                 "ObjectExplorer"):
        assert name in w.__all__ and ">>>" in getattr(w, name).__doc__
