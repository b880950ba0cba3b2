"""The watchpoints study (workbench/studies/watchpoints.py) on a tiny grid: the cells that
apply run and check their output, the unit's counters agree across mechanisms, the derived
variables and the tables hold together."""
import math

import numpy as np
import pytest

from workbench.studies import watchpoints as W


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return W.run("small", grid={"workload": ["heapbugs"]}, sizes={"heapbugs": 20},
                 store=tmp_path_factory.mktemp("wp") / "store", progress=False, workers=1)


def test_grid_and_applicability(ds):
    assert sorted(ds.sizes) == ["analysis", "mechanism", "repeat", "workload"]
    assert list(ds.mechanism.values) == list(W.MECHANISMS)
    for a in W.ANALYSES:
        for m in W.MECHANISMS:
            ran = bool(np.isfinite(ds.time_s.sel(workload="heapbugs", analysis=a, mechanism=m)).all())
            assert ran == W.applicable(a, m, "heapbugs"), (a, m)
    ok = ds.output_ok.where(np.isfinite(ds.output_ok), drop=False)
    assert float(ok.min()) == 1.0                         # every cell that ran matched the plain run


def test_the_unit_counts_alike_on_every_mechanism(ds):
    heap = ds.isel(repeat=0).sel(workload="heapbugs", analysis="heap")
    for c in ("lookups", "hits", "misses", "triggers", "sets", "clears"):
        vals = {m: float(heap[c].sel(mechanism=m)) for m in ("unlimited", "pageprot", "software")}
        assert len(set(vals.values())) == 1, (c, vals)
    assert float(heap.lookups.sel(mechanism="unlimited")) > 0
    # page protection faults on every checked access; the unit marks and checks inline
    assert float(heap.view_faults.sel(mechanism="pageprot")) >= float(heap.lookups.sel(mechanism="pageprot"))
    assert float(heap.inline_checks.sel(mechanism="unlimited")) > 0
    # debug registers hold none of the 16-byte redzones: nothing watched, coverage missed
    assert float(heap.lookups.sel(mechanism="debugregs")) == 0
    assert float(heap.uncovered_sets.sel(mechanism="debugregs")) > 0
    assert float(ds.findings.sel(analysis="heap").max()) == 0   # a correct program


def test_derived_variables(ds):
    assert float(ds.overhead_ratio.sel(workload="heapbugs", analysis="none", mechanism="off")) == 1.0
    cell = dict(workload="heapbugs", analysis="heap", mechanism="unlimited")
    hits, lookups = float(ds.hits.isel(repeat=0).sel(cell)), float(ds.lookups.isel(repeat=0).sel(cell))
    assert float(ds.hit_rate.sel(cell)) == pytest.approx(hits / lookups)
    assert float(ds.modelled_slowdown.sel(cell)) > 1.0
    assert math.isnan(float(ds.modelled_slowdown.sel(workload="heapbugs", analysis="heap", mechanism="software")))
    for key in ("engine_version", "git_revision", "config", "created"):
        assert ds.attrs.get(key)


def test_summary_and_paper_comparison(ds):
    df = W.summary(ds)
    assert df.columns.tolist() == W.SUMMARY_COLUMNS
    assert len(df) == sum(W.applicable(a, m, "heapbugs") for a in W.ANALYSES for m in W.MECHANISMS)
    assert df["output ok"].all()
    paper = W.paper_comparison(ds)
    assert paper.loc[0, "paper (race checks)"] == W.PAPER_SPEEDUP
    assert paper.loc[0, "pageprot / unlimited"] > 1


def test_taint_cells(tmp_path):
    """Taint tracking on zstd reading its input file: the output matches the plain run, most
    instructions run with propagation, and debug registers cannot hold the input (blind)."""
    ds = W.run("small", grid={"workload": ["zstd"], "analysis": ["none", "taint"],
                              "mechanism": ["off", "unlimited", "pageprot", "debugregs"], "repeat": [0]},
               sizes={"zstd": "16k"}, store=tmp_path / "store", progress=False)
    taint = ds.isel(repeat=0).sel(workload="zstd", analysis="taint")
    assert float(ds.output_ok.sel(analysis="taint", mechanism="unlimited").min()) == 1.0
    assert float(taint.taint_sourced_bytes.sel(mechanism="unlimited")) == 16 * 1024
    assert float(ds.stepped_share.sel(workload="zstd", analysis="taint", mechanism="unlimited")) > 0.3
    assert float(taint.taint_steps.sel(mechanism="pageprot")) > 0
    assert float(taint.taint_steps.sel(mechanism="debugregs")) == 0       # blind: nothing watched
    assert float(taint.uncovered_sets.sel(mechanism="debugregs")) > 0
    assert math.isnan(float(ds.modelled_slowdown.sel(workload="zstd", analysis="taint", mechanism="unlimited")))
    df = W.summary(ds)
    assert set(df.analysis) == {"none", "taint"}
    paper = W.paper_comparison(ds)
    assert list(paper.analysis) == ["taint"]


def test_race_cells(tmp_path):
    """The race analysis on a threaded workload: the per-thread units find exactly the races
    full FastTrack finds while most accesses never reach the detector, and both mechanisms get
    a modelled cost of their checks."""
    ds = W.run("small", grid={"workload": ["racy"], "analysis": ["none", "race"],
                              "mechanism": ["off", "unlimited", "software"], "repeat": [0]},
               sizes={"racy": 3000}, store=tmp_path / "store", progress=False)
    race = ds.isel(repeat=0).sel(workload="racy", analysis="race")
    sw, unl = race.sel(mechanism="software"), race.sel(mechanism="unlimited")
    assert float(ds.output_ok.sel(analysis="race").min()) == 1.0
    assert float(sw.findings) == float(unl.findings) > 0                  # racy's histogram races
    assert float(unl.analysed) + float(unl.set_skips) == float(sw.analysed)
    assert float(unl.set_skips) > float(unl.analysed) and float(sw.set_skips) == 0
    assert float(unl.lookups) >= float(unl.loads) + float(unl.stores) > 0
    assert float(unl.triggers) == float(unl.analysed)
    for m in ("software", "unlimited"):
        assert float(ds.modelled_slowdown.sel(workload="racy", analysis="race", mechanism=m)) > 1.0
    assert not np.isfinite(ds.time_s.sel(workload="racy", analysis="none", mechanism="unlimited")).any()
    paper = W.paper_comparison(ds)
    assert paper.columns.tolist() == W.PAPER_COLUMNS
    row = paper.set_index("analysis").loc["race"]
    assert 0 < row["accesses reaching the detector"] < 0.5
    assert row["modelled checks software / unlimited"] > 0 and row["software / unlimited"] > 0


def test_bad_grid():
    with pytest.raises(ValueError, match="unknown grid dimension"):
        W.run("small", grid={"tier": ["jit"]}, progress=False)
    with pytest.raises(ValueError, match="needs analysis 'none'"):
        W.run("small", grid={"mechanism": ["unlimited"]}, progress=False)
