"""SharingExplorer and the aikido charts (workbench/widgets/aikido.py), headless: the sharing map
draws one dot per first touch and one cross per share of a real run (psum, racy: as many as the
client's counters say; the pages claimed at the second thread's start among the dots), the
selected thread is the highlighted one, the late race's page is shared by late_second after
late_first owned it; the study's charts (on a synthetic study Dataset of the
real layout, made by the study's own ``derive``) draw its overheads, fractions and speedups beside
the paper's; the controls redraw; bad input is refused with a clear error."""
from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("vl_convert")

from workbench import Machine  # noqa: E402
from workbench.errors import ConfigError  # noqa: E402
from workbench.studies import aikido as A  # noqa: E402
from workbench.widgets import SharingExplorer, sharing_frame, sharing_map_chart  # noqa: E402
from workbench.widgets.aikido import (CLAIMED, DIM, FILTERED, FULL, fraction_chart, fraction_frame,  # noqa: E402
                                      overhead_chart, overhead_frame, speedup_chart, speedup_frame)

PSUM = ("psum", ["4", "200000"])
RACY = ("racy", ["4", "20000"])
RACES = ("races", ["all_racy", "400"])


def _run(program, args, clients=("aikido",), **options):
    # the study's machine: the same interleaving, so the same pages and races, every time
    run = Machine("jit", schedule="deterministic", clients=list(clients), client_options=options).run(
        program, args, capture=True)
    assert run.ok, run.message
    return run


@pytest.fixture(scope="module")
def psum():
    return _run(*PSUM)


@pytest.fixture(scope="module")
def racy():
    return _run(*RACY)


@pytest.fixture(scope="module")
def races():
    return _run(*RACES)


# -- a synthetic study --------------------------------------------------------------------------

#: made-up shared fractions per workload (of accesses, of pages): psum shares little, racy nearly
#: everything, races in between
FRACTIONS = {"psum": (0.01, 0.05), "racy": (0.98, 0.7), "races": (0.08, 0.5)}


def synthetic_aikido_dataset(workloads=("psum", "racy", "races"), repeats=3, seed=0):
    """A small aikido-study Dataset (made-up numbers, the real layout: the raw variables of
    ``studies.aikido.VARIABLES`` on the study's grid, completed by the study's own ``derive``).
    races runs at two threads only, as in the real study. Full FastTrack costs 10x; the filter
    costs 1.5x and analyses the shared accesses only, so filtered FastTrack costs 1.5 + 8.5 x
    the shared-access fraction."""
    import xarray as xr

    rng = np.random.default_rng(seed)
    modes, threads = list(A.MODES), list(A.THREADS)
    shape = (len(workloads), len(modes), len(threads), repeats)
    data = {v: np.full(shape, np.nan) for v in A.VARIABLES}
    for i, w in enumerate(workloads):
        acc, pages = FRACTIONS[w]
        for k, t in enumerate(threads):
            if not A.applicable(w, t):
                continue
            plain = 0.1 * (i + 1)
            cost = {"none": 1.0, "fasttrack-full": 10.0, "aikido": 1.5, "fasttrack-filtered": 1.5 + 8.5 * acc}
            for j, m in enumerate(modes):
                data["time_s"][i, j, k] = plain * cost[m] * (1 + 0.02 * rng.standard_normal(repeats))
                data["instructions"][i, j, k] = 1e6 * (i + 1)
                data["output_ok"][i, j, k] = 1.0
                if m in ("aikido", "fasttrack-filtered"):
                    data["pages_touched"][i, j, k] = 100.0
                    data["pages_shared"][i, j, k] = 100.0 * pages
                    for c in ("first_touch_faults", "share_faults", "shared_faults", "marked"):
                        data[c][i, j, k] = 10.0
                if m.startswith("fasttrack"):
                    n = 1e5 * (acc if m == "fasttrack-filtered" else 1.0)
                    data["reads"][i, j, k], data["writes"][i, j, k] = 0.7 * n, 0.3 * n
                    data["race_pairs"][i, j, k] = 0.0 if w == "psum" else (2.0 if m == FULL else 1.0)
    dims = ("workload", "mode", "threads", "repeat")
    raw = xr.Dataset({v: (dims, a, dict(A.VARIABLES[v])) for v, a in data.items()},
                     coords={"workload": list(workloads), "mode": modes, "threads": threads,
                             "repeat": list(range(repeats))})
    grid = {"workload": list(workloads), "mode": modes, "threads": threads, "repeat": list(range(repeats))}
    return A.derive(raw, scale="small", grid=grid, sizes={w: A.SIZES["small"][w] for w in workloads})


@pytest.fixture(scope="module")
def study():
    return synthetic_aikido_dataset()


# -- helpers --------------------------------------------------------------------------------------

def _leaves(spec):
    """The leaf layers of a (possibly concatenated) spec, each with the rows it draws: its
    dataset's rows after its filters (the charts filter only on ``kind`` and ``who``)."""
    out = []

    def walk(s, data):
        data = s.get("data", data)
        for key in ("vconcat", "hconcat", "layer"):
            if key in s:
                for sub in s[key]:
                    walk(sub, data)
                return
        rows = spec["datasets"][data["name"]] if data and "name" in data else []
        for t in s.get("transform", []):
            field, _, value = t["filter"].removeprefix("datum.").partition(" == ")
            rows = [r for r in rows if r[field] == value.strip("'")]
        out.append({**s, "rows": rows})
    walk(spec, None)
    return out


def _marks(spec, kind):
    """The leaf layer drawing the page events of one kind (touch, share)."""
    (lay,) = [lay for lay in _leaves(spec)
              if any(t.get("filter") == f"datum.kind == '{kind}'" for t in lay.get("transform", []))]
    return lay


# -- the sharing map ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["psum", "racy"])
def test_one_dot_per_touch_and_one_cross_per_share(name, psum, racy):
    run = {"psum": psum, "racy": racy}[name]
    ev = run.events("aikido")
    kinds = ev.kind.values
    spec = sharing_map_chart(ev).to_dict()
    touch, share = _marks(spec, "touch"), _marks(spec, "share")
    assert len(touch["rows"]) == int((kinds == 0).sum()) == run.aikido["pages_touched"]
    assert len(share["rows"]) == int((kinds == 1).sum()) == run.aikido["pages_shared"]
    assert run.aikido["pages_shared"] > 0
    # the shapes: a dot per touch, a black-outlined cross per share, both coloured by thread
    for lay in (touch, share):
        assert lay["encoding"]["shape"]["scale"] == {"domain": ["touch", "share"], "range": ["circle", "cross"]}
        assert lay["encoding"]["color"]["field"] == "thread"
        assert lay["encoding"]["x"]["field"] == "time" and lay["encoding"]["y"]["field"] == "page_rank"
    assert share["mark"]["stroke"] == "black" and "stroke" not in touch["mark"]
    # each row is an event: its thread, page, time and the function of the access
    want = {(int(t), int(p), int(tm))
            for t, p, tm, k in zip(ev.thread.values, ev.page.values, ev.time.values, kinds) if k == 1}
    assert {(r["thread"], int(r["page"]), r["time"]) for r in share["rows"]} == want
    assert all(r["symbol"] and r["page_hex"].startswith("0x") for r in share["rows"])
    # a share is made by another thread than the page's owner
    assert all(r["thread"] != r["owner"] for r in share["rows"])
    # the pages the main thread held data on when the first worker started: claimed at once
    claimed = [r for r in touch["rows"] if r["claimed"]]
    assert len(claimed) == run.aikido["pages_claimed"] > 0
    assert {(r["thread"], r["pc"], r["symbol"]) for r in claimed} == {(0, "0x0", CLAIMED)}
    assert len({r["time"] for r in claimed}) == 1


def test_sharing_frame(psum):
    ev = psum.events("aikido")
    f = sharing_frame(ev)
    assert len(f) == ev.sizes["event"] and f["selected"].all()
    assert (np.diff(f["time"].to_numpy()) >= 0).all()              # in time order
    assert f["kind"].value_counts().to_dict() == {"touch": psum.aikido["pages_touched"],
                                                  "share": psum.aikido["pages_shared"]}
    # ranks: 0 for the lowest page address, one per distinct page, in address order
    by_rank = f.drop_duplicates("page_rank").sort_values("page_rank")
    assert by_rank["page_rank"].tolist() == list(range(f["page"].nunique()))
    assert (np.diff(by_rank["page"].to_numpy()) > 0).all()
    assert all(int(h, 16) == int(p) for h, p in zip(f["page_hex"], f["page"]))
    # every page is touched once, and shared at most once, after its touch
    touched = f[f["kind"] == "touch"].set_index("page")["time"]
    assert touched.index.is_unique
    for _, r in f[f["kind"] == "share"].iterrows():
        assert r["time"] >= touched[r["page"]]


def test_the_selected_thread_is_highlighted(psum):
    ev = psum.events("aikido")
    spec = sharing_map_chart(ev, thread=2).to_dict()
    for kind in ("touch", "share"):
        lay = _marks(spec, kind)
        assert {r["thread"] for r in lay["rows"] if r["selected"]} <= {2}
        assert all(r["selected"] == (r["thread"] == 2) for r in lay["rows"])
        op = lay["encoding"]["opacity"]
        assert op["condition"]["test"] == "datum.selected" and op["value"] == DIM
    selected = [r for kind in ("touch", "share") for r in _marks(spec, kind)["rows"] if r["selected"]]
    assert len(selected) == int((ev.thread.values == 2).sum()) > 0
    assert "thread 2 highlighted" in spec["title"]["subtitle"]
    assert all(r["selected"] for r in _marks(sharing_map_chart(ev).to_dict(), "touch")["rows"])


def test_page_address_axis_and_thinning(psum):
    ev = psum.events("aikido")
    y = _marks(sharing_map_chart(ev, page_axis="address").to_dict(), "touch")["encoding"]["y"]
    assert y["field"] == "page" and y["axis"]["format"] == "#x"
    # beyond max_events: every share, every k-th touch, and the subtitle says so
    spec = sharing_map_chart(ev, max_events=50).to_dict()
    shares, touches = _marks(spec, "share")["rows"], _marks(spec, "touch")["rows"]
    n_touch, n_share = int((ev.kind.values == 0).sum()), int((ev.kind.values == 1).sum())
    k = math.ceil(n_touch / max(50 - n_share, 1))   # every share stays, even past max_events
    assert len(shares) == n_share and len(touches) == math.ceil(n_touch / k)
    assert f"1 in {k} touches" in " ".join(spec["title"]["subtitle"])


def test_the_late_race_is_on_a_page_late_first_owned(races):
    """What notebook 05 shows: late_second's single store shares late_buf's page, which
    late_first touched first (and wrote while it was private, unseen by the filter)."""
    f = sharing_frame(races.events("aikido"))
    fn = f["symbol"].str.split("+").str[0]
    (first,) = f[(fn == "late_first") & (f["kind"] == "touch")].itertuples()
    (second,) = f[(fn == "late_second") & (f["kind"] == "share")].itertuples()
    assert first.page == second.page and second.owner == first.thread != second.thread
    assert second.time > first.time
    # full FastTrack reports the race at an address on that page; the filtered mode does not
    found = {}
    for mode in ("full", "filtered"):
        r = _run(*RACES, clients=("fasttrack",), fasttrack={"mode": mode})
        d = r.events("fasttrack").to_dataframe()
        found[mode] = d[d["cur_symbol"].str.startswith("late_second")]
    assert len(found["full"]) == 1 and len(found["filtered"]) == 0
    assert int(found["full"]["addr"].iloc[0]) // 4096 * 4096 == int(first.page)


# -- the study's charts -------------------------------------------------------------------------------

def test_fraction_chart_draws_full_and_filtered_per_workload(study):
    for threads, names in ((4, {"psum", "racy"}), (2, {"psum", "racy", "races"})):
        df = fraction_frame(study, threads=threads)
        assert set(df["workload"]) == names and len(df) == 2 * len(names)
        for _, r in df.iterrows():
            cell = dict(workload=r["workload"], threads=threads)
            assert r["overhead"] == float(study.overhead_ratio.sel(**cell, mode=r["mode"]))
            assert r["fraction"] == pytest.approx(FRACTIONS[r["workload"]][0])
            assert r["shared_page_fraction"] == pytest.approx(FRACTIONS[r["workload"]][1])
    pages = fraction_frame(study, threads=2, fraction="shared_page_fraction")
    assert pages["fraction"].tolist() == pages["shared_page_fraction"].tolist()
    # the filter pays where little is shared: psum's filtered point is far below its full one
    psum = df[df["workload"] == "psum"].set_index("mode")["overhead"]
    assert psum[FILTERED] < psum[FULL] / 4
    spec = fraction_chart(study).to_dict()              # default: the most threads that ran
    assert "(4 threads)" in spec["title"]["text"]
    points = [lay for lay in _leaves(spec) if lay["mark"]["type"] == "point"]
    assert len(points) == 1 and len(points[0]["rows"]) == 4
    assert points[0]["encoding"]["y"]["scale"]["type"] == "log"


def test_overhead_and_speedup_charts(study):
    df = overhead_frame(study)
    # psum and racy at three thread counts, races at one; three modes besides the plain run
    assert len(df) == (2 * 3 + 1) * 3 and "none" not in set(df["mode"])
    assert (df["low"] <= df["overhead"]).all() and (df["overhead"] <= df["high"]).all()
    spec = overhead_chart(study).to_dict()
    assert spec["facet"]["column"] == {"field": "panel", "type": "nominal", "title": None,
                                       "sort": ["1 thread", "2 threads", "4 threads"]}
    rows = spec["datasets"][spec["data"]["name"]]
    assert len(rows) == len(df) and {r["panel"] for r in rows if r["threads"] == 4} == {"4 threads"}

    s = speedup_frame(study)
    assert len(s) == 7
    for _, r in s.iterrows():
        cell = dict(workload=r["workload"], threads=r["threads"])
        assert r["filtered_speedup"] == float(study.filtered_speedup.sel(cell))
    spec = speedup_chart(study).to_dict()
    rules = {r["label"]: r["speedup"] for lay in _leaves(spec) if lay["mark"]["type"] == "rule"
             for r in lay["rows"] if "label" in r}
    assert rules[f"paper: up to {A.PAPER_MAX_SPEEDUP:g}x"] == A.PAPER_MAX_SPEEDUP
    assert rules[f"paper: mean {A.PAPER_MEAN_SPEEDUP:g}x"] == A.PAPER_MEAN_SPEEDUP
    ours = A.mean_speedup(study)
    assert rules[f"ours: mean {ours:.2f}x"] == ours
    bars = [lay for lay in _leaves(spec) if lay["mark"]["type"] == "bar"]
    assert len(bars) == 1 and len(bars[0]["rows"]) == 7


# -- the explorer -----------------------------------------------------------------------------------

def test_the_controls_redraw(psum, study):
    ex = SharingExplorer(psum.events("aikido"), study=study)
    seen = []
    ex.on_change(seen.append)
    ex.widget                                            # builds the live chart and status line
    assert ex.thread is None and ex.threads == 4 and ex.fraction == "shared_access_fraction"
    assert ex.thread_picker.options[0] == ("every thread", -1)
    ex.thread_picker.value = 3                           # what the dropdown sends
    assert ex.thread == 3 and len(seen) == 1
    spec = ex.jupyter_chart.spec                         # the live chart, redrawn
    assert all(r["selected"] == (r["thread"] == 3) for r in _marks(spec, "touch")["rows"])
    assert "thread 3:" in ex._status.value and "thread 3" in ex.describe()
    assert ex.frame["selected"].sum() == int((psum.events("aikido").thread.values == 3).sum())
    ex.threads = 2
    ex.fraction = "shared pages"                         # the toggle's label works too
    assert len(seen) == 3 and ex.fraction == "shared_page_fraction"
    points = [lay for lay in _leaves(ex.jupyter_chart.spec) if lay["mark"]["type"] == "point"
              and "workload" in str(lay["encoding"].get("color"))]
    assert len(points[0]["rows"]) == 6 and {r["threads"] for r in points[0]["rows"]} == {2}
    assert all(r["fraction"] == r["shared_page_fraction"] for r in points[0]["rows"])
    assert "study at 2 threads" in ex.describe()
    ex.page_axis = "address"
    assert _marks(ex.jupyter_chart.spec, "touch")["encoding"]["y"]["field"] == "page"
    ex.thread = None
    assert ex.thread_picker.value == -1 and ex.frame["selected"].all()


def test_without_a_study(racy):
    ex = SharingExplorer(racy.events("aikido"), thread=2)
    assert ex.threads is None and ex.fraction is None and len(ex.controls()) == 2
    spec = ex.chart().to_dict()
    assert "layer" in spec and "vconcat" not in spec
    d = ex.describe()
    assert d.startswith(f"{racy.events('aikido').sizes['event']} page events") and "study" not in d
    with pytest.raises(ConfigError, match="no study"):
        ex.threads = 2
    with pytest.raises(ConfigError, match="no study"):
        ex.fraction = "shared_page_fraction"


def test_static_rendering(psum, study):
    ex = SharingExplorer(psum.events("aikido"), study=study, thread=1)
    page = ex.to_html()
    assert "vegaEmbed" in page and "<script src" not in page and "page sharing over time" in page
    assert ex.to_png()[:4] == b"\x89PNG"
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "image/png" in bundle
    n = psum.events("aikido").sizes["event"]
    assert bundle["text/plain"].startswith(f"<SharingExplorer: {n} page events of 5 threads")


def test_no_label_or_title_overlaps(psum, study):
    from test_widgets import _overlaps, _text_boxes

    for chart in (SharingExplorer(psum.events("aikido"), study=study, thread=2).chart(),
                  overhead_chart(study), speedup_chart(study)):
        boxes = _text_boxes(chart.to_dict())
        assert not _overlaps(boxes), _overlaps(boxes)


# -- bad input ------------------------------------------------------------------------------------------

def test_bad_events_are_refused(psum, study):
    ev = psum.events("aikido")
    ft = _run(*RACES, clients=("fasttrack",), fasttrack={"mode": "full"})
    cases = [
        (psum, "not the Run"),
        ("events", "xarray Dataset"),
        (ft.events("fasttrack"), "'fasttrack' stream"),
        (study, "pass it as study="),
        (ev.drop_vars("owner"), "missing: owner"),
        (ev.isel(event=slice(0, 0)), "empty"),
        (ev.assign(kind=ev.kind + 2), "0 \\(touch\\) or 1 \\(share\\)"),
    ]
    for bad, match in cases:
        with pytest.raises(ConfigError, match=match):
            SharingExplorer(bad)
        with pytest.raises(ConfigError, match=match):
            sharing_map_chart(bad)


def test_bad_study_and_options_are_refused(psum, study):
    from conftest import synthetic_engine_dataset

    ev = psum.events("aikido")
    cases = [
        ({"study": ev}, "page events"),
        ({"study": synthetic_engine_dataset()}, "'engine' study"),
        ({"study": study.drop_vars("filtered_speedup")}, "missing: filtered_speedup"),
        ({"study": study.sel(mode=["none", "aikido"])}, "no mode 'fasttrack-full'"),
        ({"study": [1, 2]}, "aikido study's Dataset"),
        ({"study": study, "threads": 3}, "threads 3 is not in the study"),
        ({"study": study, "fraction": "pages"}, "fraction must be one of"),
        ({"threads": 2}, "pass study= too"),
        ({"thread": 9}, "thread 9 touched no page"),
        ({"thread": "2"}, "touched no page"),
        ({"page_axis": "log"}, "page_axis must be one of"),
    ]
    for kw, match in cases:
        with pytest.raises(ConfigError, match=match) as e:
            SharingExplorer(ev, **kw)
        assert isinstance(e.value, ValueError)
    with pytest.raises(ConfigError, match="max_events"):
        sharing_map_chart(ev, max_events=0)
    with pytest.raises(ConfigError, match="threads 8"):
        fraction_frame(study, threads=8)
    ex = SharingExplorer(ev)
    with pytest.raises(ConfigError, match="touched no page"):
        ex.thread = 42
