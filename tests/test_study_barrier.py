"""The barrier study (workbench/studies/barrier.py) at a tiny scale: dimensions, variables,
ground truth, accuracy, overhead, and `wb reproduce barrier`."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from workbench import store
from workbench.studies import barrier


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    base = tmp_path_factory.mktemp("barrier-study")
    grid = {"workload": ["heads"], "sample_bytes": [16 << 10, 8 << 20]}
    return barrier.run("small", store=base, progress=False, workers=1, grid=grid)


def test_dataset_layout_and_provenance(small):
    ds = small
    assert set(ds.sizes) == {"workload", "profiler", "sample_bytes", "repeat"}
    assert ds.profiler.values.tolist() == ["none", "barrier", "bursty"]
    for v in ["time_s", "faults", "samples", "coverage", "overhead_ratio", "output_ok",
              "error_prob_untouched", "error_prob_write_only", "error_prob_stable"]:
        assert v in ds and ds[v].attrs.get("long_name"), v
    assert ds.attrs["study"] == "barrier" and "production" in ds.attrs["config"]


def test_sampling_and_accuracy(small):
    b = small.sel(profiler="barrier", workload="heads").isel(repeat=0)
    dense, sparse = b.sel(sample_bytes=16 << 10), b.sel(sample_bytes=8 << 20)
    assert float(dense.samples) > 1 and float(dense.faults) > 0
    assert float(sparse.samples) == 0 and float(sparse.faults) == 0     # unsampled: no faults
    assert 0 < float(dense.coverage) <= 1
    for c in barrier.CONCLUSIONS:
        p = float(dense[f"error_prob_{c}"])
        assert 0 <= p <= 1
    # heads' conclusions are easy: the sampled sites agree with the ground truth
    assert float(dense.error_prob_untouched) == 0
    assert (small.output_ok.sel(profiler="barrier") == 1).all()
    # the unprofiled run is measured once; its other cells are empty
    none = small.time_s.sel(profiler="none", workload="heads").isel(repeat=0)
    assert not math.isnan(float(none.isel(sample_bytes=0))) and math.isnan(float(none.isel(sample_bytes=1)))
    # the bursty baseline runs once, sees objects and records accesses
    bursty = small.sel(profiler="bursty", workload="heads").isel(repeat=0, sample_bytes=0)
    assert float(bursty.samples) > 0 and float(bursty.faults) > 0 and float(bursty.output_ok) == 1


def test_optimization_potential(small):
    h = small.sel(workload="heads")
    # heads: 16 KiB buffers used at their first 64-127 bytes, 48-byte write-only lines
    assert float(h.opt_shrinkable_bytes) > 0.9 * 300 * 16384 * 7 / 8 * 0.9
    assert float(h.opt_write_only_bytes) >= 300 * 48
    assert float(h.opt_bytes) > float(h.opt_shrinkable_bytes)


def test_optimizations_carried_out(small):
    h = small.sel(workload="heads")
    # the 48-byte lines ("abc...") are write-only and compress; stored compressed they take less
    assert 0 < float(h.opt_write_only_compressed_bytes) < float(h.opt_write_only_bytes)
    # the profile at 16 KiB flags the buffers' site; the rerun shrinks every 16 KiB buffer to
    # one page, none of them is used past it, the output is unchanged and memory is saved
    assert float(h.shrink_sites) >= 1 and float(h.shrink_objects) >= 300
    assert float(h.shrink_fixups) == 0 and float(h.shrink_output_ok) == 1
    assert float(h.shrink_mem_saved_bytes) > 0.5 * 300 * 12288


def test_conclusions_rules():
    recs = np.zeros(3, [("site", "<u8"), ("size", "<u8"), ("bytes_touched", "<u8"),
                        ("reads", "<u8"), ("writes", "<u8"), ("flags", "<u4")])
    recs["site"] = [1, 1, 2]
    recs["size"] = [16384, 16384, 64]
    recs["bytes_touched"] = [100, 120, 64]
    recs["reads"] = [5, 5, 3]
    recs["writes"] = [5, 5, 9]
    recs["flags"] = [0, 0, 1]
    c = barrier.conclusions(recs)
    assert c[1] == {"untouched": True, "write_only": False, "stable": True}
    assert c[2] == {"untouched": False, "write_only": False, "stable": False}


def test_accuracy_scores_sampled_sites_against_the_truth():
    t, f = True, False
    truth = {1: dict(untouched=t, write_only=f, stable=t), 2: dict(untouched=f, write_only=t, stable=t),
             3: dict(untouched=f, write_only=f, stable=f), 4: dict(untouched=t, write_only=t, stable=f)}
    sampled = {1: dict(untouched=t, write_only=f, stable=t),   # right
               2: dict(untouched=t, write_only=t, stable=f),   # two conclusions wrong
               9: dict(untouched=t, write_only=t, stable=t)}   # not in the truth: never wrong
    acc = barrier.accuracy(sampled, truth)
    assert acc["coverage"] == 3 / 4
    assert acc["error_prob_untouched"] == acc["error_prob_stable"] == 1 / 3
    assert acc["error_prob_write_only"] == 0
    empty = barrier.accuracy({}, truth)
    assert empty["coverage"] == 0 and all(np.isnan(empty[f"error_prob_{c}"]) for c in barrier.CONCLUSIONS)
    assert np.isnan(barrier.accuracy(sampled, {})["coverage"])


def test_wb_reproduce_barrier(tmp_path):
    env = dict(os.environ, COLUMNS="200")
    p = subprocess.run([sys.executable, "-m", "workbench.cli", "reproduce", "barrier", "--scale", "small",
                        "--out", str(tmp_path / "out"), "--sweeps", str(tmp_path / "sw"), "--no-progress"],
                       capture_output=True, text=True, timeout=900, env=env)
    assert p.returncode == 0, p.stderr
    assert "P(wrong untouched)" in p.stdout
    ds = store.load(tmp_path / "out" / "barrier.zarr")
    assert ds.workload.values.tolist() == ["heads", "zstd"]
    assert (tmp_path / "out" / "report.html").is_file()


@pytest.mark.slow
def test_paper_scale(tmp_path):
    """The whole study at paper scale (four workloads, four intervals, three repeats): every
    profiled run and every shrink rerun gives the unprofiled output. Timing is reported, not
    asserted (`wb reproduce barrier --scale paper`)."""
    ds = barrier.run("paper", store=tmp_path, progress=False)
    measured = ds.output_ok.sel(profiler="barrier")
    assert (measured == 1).all()
    assert (ds.shrink_output_ok == 1).all()
    assert set(ds.workload.values) == {"heads", "zstd", "lua54", "brotli"}
    assert float(ds.coverage.sel(profiler="barrier").max()) <= 1
