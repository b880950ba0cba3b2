"""workbench.widgets, headless: the EngineExplorer's state, redraws, callbacks, the selection
read back from the browser (simulated), the static renderings (HTML, PNG, mime bundle), and
the chart itself: baselines drawn apart from the engine's bars, the log axis, and no label or
title overlapping another (measured on the rendered scenegraph).

The Dataset under test is ``synthetic_engine_dataset`` from conftest.py: the layout of
``workbench.studies.engine.run``, with made-up numbers.
"""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
alt = pytest.importorskip("altair")
pytest.importorskip("ipywidgets")
pytest.importorskip("vl_convert")

from conftest import ENGINE_CLIENTS, synthetic_engine_dataset  # noqa: E402
from workbench.widgets import (EngineExplorer, Explorer, chart_widget, engine_frame,  # noqa: E402
                               html_page)
from workbench.widgets.engine import BASELINE_RUN, ENGINE_RUN  # noqa: E402

@pytest.fixture
def ds():
    return synthetic_engine_dataset()


def _values(spec: dict) -> list[dict]:
    """Every data row inlined in a vega-lite spec (altair puts them under "datasets")."""
    return [row for rows in spec.get("datasets", {}).values() for row in rows]


def _fields(spec, key):
    out = set()

    def walk(o):
        if isinstance(o, dict):
            if key in o and isinstance(o[key], dict) and "field" in o[key]:
                out.add(o[key]["field"])
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(spec)
    return out


def _select_in_browser(jchart, name: str, tiers: list[str]):
    """What the JupyterChart's JavaScript sends when bars are clicked (signal format observed
    in chromium: see tests/test_browser.py)."""
    value = {"tier": tiers, "vlPoint": {"or": [{"tier": t} for t in tiers]}} if tiers else {}
    store = [{"unit": "view_0", "fields": [{"type": "E", "field": "tier"}], "values": [t]}
             for t in tiers]
    jchart._vl_selections = {name: {"value": value, "store": store}}


def test_engine_frame_drops_cells_not_run(ds):
    df = engine_frame(ds)
    # 2 workloads x (native, qemu, interp, jit with none) + 2 workloads x (interp, jit) x the
    # four analysis clients
    assert len(df) == 2 * 4 + 2 * 2 * 4
    assert not ((df.tier == "native") & (df.client == "memtrace")).any()
    assert set(df[df.tier == "jit"].client) == set(ENGINE_CLIENTS)
    native = df[(df.tier == "native")]
    assert np.allclose(native.ratio_native, 1.0)
    assert df.output_ok.all()


def test_engine_frame_derives_ratios_when_missing(ds):
    df = engine_frame(ds.drop_vars(["ratio_native", "ratio_qemu"]))
    ref = engine_frame(ds)
    assert np.allclose(df.ratio_native, ref.ratio_native)
    assert np.allclose(df.ratio_qemu, ref.ratio_qemu)


def test_explorer_defaults(ds):
    ex = EngineExplorer(ds)
    assert ex.workloads == ["lua54", "zstd"]
    assert ex.client == "none" and ex.baseline == "native"
    assert list(ex.client_control.options) == list(ENGINE_CLIENTS)
    assert set(ex.data().tier) == {"native", "qemu", "interp", "jit"}
    spec = ex.chart().to_dict()
    assert [p["name"] for p in spec["params"]] == ["tier_pick"]
    assert "ratio_native" in _fields(spec, "y")


def test_explorer_rejects_unknown_choices(ds):
    with pytest.raises(ValueError, match="client"):
        EngineExplorer(ds, client="heapcheck")
    with pytest.raises(ValueError, match="client"):  # a client with no runs in the dataset
        EngineExplorer(ds.sel(client=["none", "memtrace"]), client="bbprofile")
    with pytest.raises(ValueError, match="workloads"):
        EngineExplorer(ds, workloads=["sqlite"])
    with pytest.raises(ValueError, match="baseline"):
        EngineExplorer(ds, baseline="jit")


def test_controls_redraw_the_live_chart(ds):
    ex = EngineExplorer(ds)
    seen = []
    ex.on_change(lambda e: seen.append((e.client, e.baseline, tuple(e.workloads))))
    jc = ex.jupyter_chart
    first = jc.spec
    assert {r["client"] for r in _values(first)} == {"none"}

    ex.client_control.value = "memtrace"  # what clicking the toggle does
    second = jc.spec
    assert second != first
    rows = _values(second)
    assert {r["client"] for r in rows if r["tier"] in ("interp", "jit")} == {"memtrace"}
    # native and qemu cannot run a client: their plain runs are the reference
    assert {r["client"] for r in rows if r["tier"] in ("native", "qemu")} == {"none"}
    assert seen == [("memtrace", "native", ("lua54", "zstd"))]

    ex.baseline_control.value = "qemu"
    assert "ratio_qemu" in _fields(jc.spec, "y") and "ratio_native" not in _fields(jc.spec, "y")

    ex.workloads = ["zstd"]
    assert {r["workload"] for r in _values(jc.spec)} == {"zstd"}
    assert len(seen) == 3 and seen[-1] == ("memtrace", "qemu", ("zstd",))
    # the status line under the chart follows the controls
    ex.widget  # build the box
    ex.client = "none"
    assert "client none" in ex._status.value and "qemu" in ex._status.value


def test_widget_layout(ds):
    ex = EngineExplorer(ds)
    box = ex.widget
    assert box is ex.widget  # built once
    controls = box.children[0].children
    assert list(controls) == [ex.workloads_control, ex.client_control, ex.baseline_control,
                              ex.scale_control]
    assert box.children[1] is ex.jupyter_chart
    assert "wb-explorer" in box._dom_classes


def test_selection_read_back(ds):
    ex = EngineExplorer(ds)
    assert ex.selection == [] and ex.selected_tiers == []
    got = []
    ex.on_select(got.append)
    ex.widget
    _select_in_browser(ex.jupyter_chart, "tier_pick", ["interp"])
    assert ex.selection == [{"tier": "interp"}]
    assert ex.selected_tiers == ["interp"]
    assert got[-1] == [{"tier": "interp"}]
    assert "selected: interp" in ex._status.value
    _select_in_browser(ex.jupyter_chart, "tier_pick", ["qemu", "interp"])
    assert ex.selected_tiers == ["qemu", "interp"]
    # a redraw resets the selection (the browser re-embeds the chart)
    ex.client = "memtrace"
    assert ex.selected_tiers == []


def test_chart_widget_is_offline():
    c = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    w = chart_widget(c)
    assert "esm.sh" not in w._esm and "https://" not in w._esm.split("\n", 1)[0]
    assert w.embed_options["renderer"] == "svg"


def test_static_html_contains_the_spec(ds):
    ex = EngineExplorer(ds, client="memtrace")
    page = ex.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script src" not in page and "esm.sh" not in page
    assert page.count("vegaEmbed(") == 1
    start = page.index('type="application/json"')
    spec = json.loads(page[page.index(">", start) + 1: page.index("</script>", start)])
    assert spec["params"][0]["name"] == "tier_pick"
    assert {r["client"] for r in _values(spec) if r["tier"] == "interp"} == {"memtrace"}


def test_save_html(ds, tmp_path):
    p = EngineExplorer(ds).save_html(tmp_path / "e.html")
    assert p.read_text().count("tier_pick") >= 1


def test_png_svg_and_mimebundle(ds):
    ex = EngineExplorer(ds)
    assert ex.to_png()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ex.to_svg().lstrip().startswith("<svg")
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # live in Jupyter
    assert base64.b64decode(bundle["image/png"])[:4] == b"\x89PNG"  # static on GitHub
    assert "EngineExplorer" in bundle["text/plain"]


def test_base_explorer_reuse():
    class Points(Explorer):
        title = "points"

        def __init__(self, n):
            super().__init__()
            self.n = n

        def chart(self):
            return alt.Chart(alt.Data(values=[{"x": i} for i in range(self.n)])).mark_point().encode(x="x:Q")

    e = Points(3)
    assert e.jupyter_chart.spec["data"]["values"][-1] == {"x": 2}
    e.n = 5
    e._chart_changed()
    assert len(e.jupyter_chart.spec["data"]["values"]) == 5
    assert "<h1>points</h1>" in e.to_html()


def test_html_page_escapes_script_end():
    page = html_page("<p>x</p>")
    assert page.count("</script>") == 1  # the bundle cannot close its own script element early
    assert "<!--" not in page


# -- the chart: baselines apart, a log axis, nothing overlapping (issue item 9) --------------------

def _bar_layers(spec):
    """The bar layers of the chart: (overhead bars, MIPS bars), each with its rows."""
    out = []

    def walk(s, data):
        data = s.get("data", data)
        for key in ("hconcat", "layer"):
            for sub in s.get(key, []):
                walk(sub, data)
        mark = s.get("mark")
        if (mark if isinstance(mark, str) else (mark or {}).get("type")) == "bar":
            out.append((s, spec["datasets"][data["name"]]))
    walk(spec, None)
    return out


def test_baselines_are_drawn_apart_from_the_engine(ds):
    ex = EngineExplorer(ds, client="memtrace")
    bars = _bar_layers(ex.chart().to_dict())
    assert len(bars) == 2
    for layer, rows in bars:
        enc = layer["encoding"]
        # one field says which runs are baselines; fill and outline follow it, with a legend
        assert enc["fillOpacity"]["field"] == enc["strokeDash"]["field"] == "run"
        runs = enc["fillOpacity"]["scale"]["domain"]
        assert runs == [ENGINE_RUN, BASELINE_RUN]
        fill = dict(zip(runs, enc["fillOpacity"]["scale"]["range"]))
        dash = dict(zip(runs, map(str, enc["strokeDash"]["scale"]["range"])))
        assert fill[BASELINE_RUN] < fill[ENGINE_RUN] and dash[BASELINE_RUN] != dash[ENGINE_RUN]
        assert enc["fillOpacity"].get("legend") is not None
        for r in rows:
            assert r["run"] == (BASELINE_RUN if r["tier"] in ("native", "qemu") else ENGINE_RUN)
        assert {r["run"] for r in rows} == {BASELINE_RUN, ENGINE_RUN}


def test_log_axis_for_the_overhead(ds):
    ex = EngineExplorer(ds, client="memtrace")
    ex.widget
    (over, rows), (mips, _) = _bar_layers(ex.chart().to_dict())
    assert over["encoding"]["y"]["scale"]["type"] == "linear"
    ex.scale_control.value = "log"          # what clicking the toggle does
    assert "log axis" in ex._status.value
    (over, rows), (mips, _) = _bar_layers(ex.jupyter_chart.spec)
    scale = over["encoding"]["y"]["scale"]
    assert scale["type"] == "log"
    ratios = [r["ratio_native"] for r in rows]
    lo, hi = scale["domain"]
    # every bar is inside the axis, the baseline's own 1x included (bars rise from the bottom)
    assert 0 < lo < min(ratios) <= 1 and max(ratios) < hi and max(ratios) / min(ratios) > 30
    assert over["encoding"]["y2"]["datum"] == lo
    assert mips["encoding"]["y"]["scale"]["type"] == "linear"   # MIPS stay linear
    with pytest.raises(ValueError, match="scale"):
        EngineExplorer(ds, scale="sqrt")


def _text_boxes(spec):
    """Every text item (titles, axis labels and titles, legend labels) of the rendered chart as
    an absolute box (x0, y0, x1, y1, text), from vl-convert's scenegraph; text width is
    estimated from its length (0.6 em per character, generous for sans-serif)."""
    import vl_convert as vlc

    from workbench.widgets._base import _vl_version

    sg = vlc.vegalite_to_scenegraph(spec, vl_version=_vl_version())["scenegraph"]
    boxes = []

    def walk(node, ox, oy):
        for item in node.get("items", []):
            x, y = ox + item.get("x", 0), oy + item.get("y", 0)
            if node.get("marktype") == "text" and item.get("text") not in (None, ""):
                text = item["text"] if isinstance(item["text"], str) else " ".join(item["text"])
                fs = item.get("fontSize", 11)
                length = 0.6 * fs * len(text)
                align, base = item.get("align", "left"), item.get("baseline", "alphabetic")
                along = {"center": -length / 2, "right": -length}.get(align, 0)   # start offset
                across = {"top": 0, "middle": -fs / 2}.get(base, -fs)
                if abs(item.get("angle", 0)) == 90:     # a y-axis title, read bottom to top
                    boxes.append((x + across, y + along, x + across + fs, y + along + length, text))
                else:
                    boxes.append((x + along, y + across, x + along + length, y + across + fs, text))
            walk(item, x, y)
    walk(sg, 0, 0)
    return boxes


def _overlaps(boxes):
    return [(a[4], b[4]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1]


@pytest.mark.parametrize("workloads,pick,baseline,scale", [
    (("lua54", "zstd"), ["zstd"], "qemu", "linear"),          # one workload: narrow charts
    (("lua54", "zstd"), None, "native", "log"),
    (("heads", "zstd", "lua54", "brotli", "sqlite-speedtest1"), None, "native", "linear"),
    (("a-very-long-workload-name", "another-long-workload"), None, "qemu", "log"),
])
def test_no_label_or_title_overlaps(workloads, pick, baseline, scale):
    ex = EngineExplorer(synthetic_engine_dataset(workloads=workloads), workloads=pick,
                        baseline=baseline, scale=scale)
    for client in ("none", "memtrace"):
        ex.client = client
        boxes = _text_boxes(ex.chart().to_dict())
        assert any(b[4] in workloads for b in boxes)           # the workload labels are drawn
        assert not _overlaps(boxes), _overlaps(boxes)
