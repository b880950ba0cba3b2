"""The aikido study (workbench/studies/aikido.py) on a tiny grid: every cell that applies runs
and reproduces the plain run's output, the detector finds the seeded races in full mode and
misses the late one behind the filter, the filter analyses fewer accesses, and the derived
variables and tables hold together."""
import math

import numpy as np
import pytest

from workbench.studies import aikido as A


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return A.run("small", grid={"workload": ["races", "psum"], "threads": [1, 2], "repeat": [0, 1]},
                 sizes={"races": 200, "psum": 20000}, store=tmp_path_factory.mktemp("aik") / "store",
                 progress=False, workers=1)


def test_grid_and_applicability(ds):
    assert sorted(ds.sizes) == ["mode", "repeat", "threads", "workload"]
    assert list(ds.mode.values) == list(A.MODES)
    for w in ("races", "psum"):
        for t in (1, 2):
            ran = bool(np.isfinite(ds.time_s.sel(workload=w, threads=t)).all())
            assert ran == A.applicable(w, t), (w, t)
    assert float(ds.output_ok.min()) == 1.0      # NaN cells are skipped by min: every run matched


def test_races_found_by_each_mode(ds):
    first = ds.isel(repeat=0)
    races = first.race_pairs.sel(workload="races", threads=2)
    full, filt = int(races.sel(mode="fasttrack-full")), int(races.sel(mode="fasttrack-filtered"))
    assert full >= 4 and 1 <= filt < full          # the late race is missed behind the filter
    assert int(first.race_pairs.sel(workload="psum", threads=2, mode="fasttrack-full")) == 0
    assert math.isnan(float(races.sel(mode="none"))) and math.isnan(float(races.sel(mode="aikido")))
    # counts do not depend on the repeat (the deterministic schedule)
    assert (ds.race_pairs.isel(repeat=0) == ds.race_pairs.isel(repeat=1)).where(np.isfinite(ds.race_pairs.isel(repeat=0))).fillna(True).all()


def test_the_filter_analyses_only_shared_accesses(ds):
    first = ds.isel(repeat=0).sel(workload="psum", threads=2)
    full = float(first.reads.sel(mode="fasttrack-full") + first.writes.sel(mode="fasttrack-full"))
    filt = float(first.reads.sel(mode="fasttrack-filtered") + first.writes.sel(mode="fasttrack-filtered"))
    assert 0 < filt < full
    assert float(ds.shared_access_fraction.sel(workload="psum", threads=2)) == pytest.approx(filt / full)
    a = first.sel(mode="aikido")
    assert 0 < float(a.pages_shared) < float(a.pages_touched)
    assert float(ds.shared_page_fraction.sel(workload="psum", threads=2)) == pytest.approx(
        float(a.pages_shared) / float(a.pages_touched))
    # one worker thread shares with main only what main set up for it; two share more
    shared = ds.isel(repeat=0).pages_shared.sel(workload="psum", mode="aikido")
    assert 0 < float(shared.sel(threads=1)) <= float(shared.sel(threads=2))


def test_derived_variables_and_tables(ds):
    assert float(ds.overhead_ratio.sel(workload="psum", threads=2, mode="none")) == 1.0
    speed = float(ds.filtered_speedup.sel(workload="psum", threads=2))
    med = ds.time_s.median("repeat").sel(workload="psum", threads=2)
    assert speed == pytest.approx(float(med.sel(mode="fasttrack-full") / med.sel(mode="fasttrack-filtered")))
    for key in ("engine_version", "git_revision", "config", "created"):
        assert ds.attrs.get(key)
    df = A.summary(ds)
    assert df.columns.tolist() == A.SUMMARY_COLUMNS
    assert len(df) == 3 * len(A.MODES) and df["output ok"].all()
    paper = A.paper_comparison(ds)
    assert len(paper) == 3 and (paper["races full"] >= paper["races filtered"]).all()
    assert math.isfinite(A.mean_speedup(ds))


def test_bad_grids_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no workload"):
        A.run("small", grid={"workload": ["lua54"]}, store=tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="mode 'none'"):
        A.run("small", grid={"mode": ["aikido"]}, store=tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="unknown grid dimension"):
        A.run("small", grid={"tier": ["jit"]}, store=tmp_path / "s", progress=False)
