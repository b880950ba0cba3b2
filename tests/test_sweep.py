"""Sweeps (workbench.sweep) on a real dask.distributed LocalCluster: keys, combining, two worker
processes, errors that lose no finished work, resumption after the sweep is SIGKILLed, and
reuse that is never silent (measurement times, the "reused N of M" line, fresh=True)."""
import functools
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sweep_points import GRID, slow_point

from workbench import store
from workbench.sweep import grid_points, measured_at, point_key, sweep, sweep_status

TESTS = Path(__file__).resolve().parent


def _log(path):
    return path.read_text().split() if path.exists() else []


def test_points_and_keys():
    pts = grid_points({"b": ["x", "y"], "a": [1, 2, 3]})
    assert pts[:3] == [{"b": "x", "a": 1}, {"b": "x", "a": 2}, {"b": "x", "a": 3}]
    keys = [point_key(p) for p in pts]
    assert len(set(keys)) == 6
    assert point_key({"a": 1, "b": "x"}) == point_key({"b": "x", "a": 1})
    assert point_key({"a": 1}) != point_key({"a": "1"})
    weird = point_key({"path": "../x y/*", "f": 0.5})
    assert "/" not in weird and " " not in weird and not weird.startswith(".")
    with pytest.raises(ValueError):
        grid_points({"a": [1, 1]})
    with pytest.raises(TypeError):
        grid_points({"a": [None]})


def test_sweep_on_two_worker_processes(tmp_path):
    log = tmp_path / "log"
    fn = functools.partial(slow_point, log=str(log), record_pid=True)
    ds = sweep(fn, GRID, store=tmp_path / "s", progress=False)
    # one dim per grid key, in grid order, coordinates in grid order
    assert list(ds.value.dims) == ["a", "b"] and ds.samples.dims == ("a", "b", "repeat")
    assert ds.a.values.tolist() == GRID["a"] and ds.b.values.tolist() == GRID["b"]
    assert float(ds.value.sel(a=3, b="yy")) == 32.0
    assert ds.value.attrs["units"] == "1" and ds.attrs["note"] == "test"
    np.testing.assert_array_equal(ds.samples.sel(a=2, b="x").values, [2.0, 3.0, 4.0])
    # the points ran in exactly two worker processes, neither of them this one
    pids = set(ds.pid.values.ravel().tolist())
    assert len(pids) == 2 and os.getpid() not in pids
    # every point stored, with its parameters; the result stored too
    done, missing = sweep_status(tmp_path / "s", GRID)
    assert len(done) == 12 and missing == []
    one = store.load(tmp_path / "s" / "points" / f"{point_key({'a': 1, 'b': 'x'})}.zarr")
    assert one.attrs["param_a"] == 1 and one.attrs["param_b"] == "x"
    xr.testing.assert_identical(store.load(tmp_path / "s" / "result.zarr"), ds)
    # all done: a second sweep runs nothing and returns the same result (it says it reused them)
    assert sorted(_log(log)) == sorted(point_key(p) for p in grid_points(GRID))
    again = sweep(fn, GRID, store=tmp_path / "s", progress=False)
    assert again.attrs["points_reused"] == 12 and ds.attrs["points_reused"] == 0
    xr.testing.assert_identical(_without_reuse(again), _without_reuse(ds))
    assert len(_log(log)) == 12
    # a store of one function is not mixed with another's points
    with pytest.raises(ValueError, match="another sweep"):
        sweep(functools.partial(slow_point, log=str(log)), GRID, store=tmp_path / "s", progress=False)


def test_a_failing_point_is_named_and_finished_work_kept(tmp_path):
    log = tmp_path / "log"
    grid = {"a": [1, 2, 3], "b": ["x"]}
    bad = functools.partial(slow_point, log=str(log), delay=0.2, fail_on=(2, "x"))
    with pytest.raises(ValueError, match="deliberate failure") as info:
        sweep(bad, grid, store=tmp_path / "s", progress=False, workers=1)
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "'a': 2" in notes and point_key({"a": 2, "b": "x"}) in notes
    # a=1 finished before the failure and was saved; with one worker, a=3 never started
    done, missing = sweep_status(tmp_path / "s", grid)
    assert done == [{"a": 1, "b": "x"}] and len(missing) == 2
    assert not (tmp_path / "s" / "result.zarr").exists()


def _wait_for(cond, timeout, what):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_resume_after_sigkill(tmp_path):
    # the reference: the same sweep, uninterrupted
    ref = sweep(functools.partial(slow_point, log=str(tmp_path / "ref.log")), GRID,
                store=tmp_path / "ref", progress=False)

    s, log = tmp_path / "s", tmp_path / "log"
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        from sweep_points import run_sweep_main
        if __name__ == "__main__":
            run_sweep_main({str(s)!r}, {str(log)!r})
    """))
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    points = s / "points"

    def stored():
        return {p.name[:-len(".zarr")] for p in points.glob("*.zarr")} if points.is_dir() else set()

    try:
        _wait_for(lambda: len(stored()) >= 4 or proc.poll() is not None, 120, "4 point stores")
        assert proc.poll() is None, "the sweep ended before it could be killed: " + proc.stderr.read().decode()
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its dask workers
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.stderr.close()

    def group_gone():
        try:
            os.killpg(proc.pid, 0)
            return False
        except ProcessLookupError:
            return True

    _wait_for(group_gone, 30, "the killed sweep's processes to exit")
    before = stored()
    ran_before = _log(log)
    print("stored before restart:", len(before), "logged:", len(ran_before))
    assert 4 <= len(before) < 12
    assert before <= set(ran_before)
    assert not (s / "result.zarr").exists()

    ds = sweep(functools.partial(slow_point, log=str(log)), GRID, store=s, progress=False)
    ran_after = _log(log)[len(ran_before):]
    every = {point_key(p) for p in grid_points(GRID)}
    # no point whose store existed ran again; every missing one ran exactly once
    assert not set(ran_after) & before
    assert sorted(ran_after) == sorted(every - before)
    # the points that were in flight when killed (logged, not stored) are among those rerun
    assert set(ran_before) - before <= set(ran_after)
    xr.testing.assert_identical(_without_function(ds), _without_function(ref))


def _without_function(ds):
    """The result without the attr naming the point function's arguments (the log file) and
    without when and how its points were measured (that differs between two sweeps)."""
    ds = _without_reuse(ds).drop_vars("measured_at")
    del ds.attrs["sweep_function"]
    for k in ("measured_from", "measured_to"):
        ds.attrs.pop(k)
    return ds


def _without_reuse(ds):
    ds = ds.copy()
    ds.attrs.pop("points_reused")
    return ds


# ------------------------------------------------------------------ reuse is never silent

def test_measurement_times_reuse_message_and_fresh(tmp_path, capsys):
    log = tmp_path / "log"
    grid = {"a": [1, 2], "b": ["x", "yy"]}
    fn = functools.partial(slow_point, log=str(log), delay=0.05)
    first = sweep(fn, grid, store=tmp_path / "s", progress=False, workers=1)
    assert "reused" not in capsys.readouterr().out          # nothing to reuse: nothing said
    # one measurement time per point, on the grid's dims, and the span in the attrs
    t1 = first.measured_at
    assert t1.dims == ("a", "b") and t1.dtype.kind == "M" and not t1.isnull().any()
    assert first.attrs["points_reused"] == 0 and first.attrs["points_total"] == 4
    assert first.attrs["measured_from"] <= first.attrs["measured_to"]
    assert first.attrs["measured_from"].endswith(" UTC")
    p0 = {"a": 1, "b": "x"}
    assert measured_at(tmp_path / "s", p0) == np.datetime64(t1.sel(a=1, b="x").values, "us")

    # the same sweep again: every point reused, and it says so, with when they were measured
    second = sweep(fn, grid, store=tmp_path / "s", progress=False, workers=1)
    out = capsys.readouterr().out
    assert "reused 4 of 4 points measured at " in out and first.attrs["measured_from"][:10] in out
    assert second.attrs["points_reused"] == 4 and len(_log(log)) == 4
    np.testing.assert_array_equal(second.measured_at.values, t1.values)

    # half of the points gone: the other half is reused, and only it
    import shutil
    shutil.rmtree(tmp_path / "s" / "points" / f"{point_key(p0)}.zarr")
    third = sweep(fn, grid, store=tmp_path / "s", progress=False, workers=1)
    assert "reused 3 of 4 points" in capsys.readouterr().out and third.attrs["points_reused"] == 3
    assert third.measured_at.sel(a=1, b="x") > t1.sel(a=1, b="x")

    # fresh=True: every point measured again, nothing reused or announced
    fresh = sweep(fn, grid, store=tmp_path / "s", progress=False, workers=1, fresh=True)
    assert "reused" not in capsys.readouterr().out
    assert fresh.attrs["points_reused"] == 0 and len(_log(log)) == 4 + 1 + 4
    assert (fresh.measured_at > third.measured_at.max()).all()


def test_points_stored_before_times_were_recorded(tmp_path):
    """A point store written without ``measured_at`` (older sweeps) counts as measured when
    its store was written."""
    p = {"a": 1, "b": "x"}
    path = tmp_path / "points" / f"{point_key(p)}.zarr"
    store.save(xr.Dataset({"value": ((), 1.0)}), path)
    os.utime(path, (1_700_000_000, 1_700_000_000))
    assert measured_at(tmp_path, p) == np.datetime64("2023-11-14T22:13:20", "us")
