"""Stores (workbench.store): zarr v3 and netCDF round trips, and atomic writes: a write that
fails or is killed midway never leaves something at the path that opens as a store."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr

from workbench import store


def _ds(v=1.0):
    return xr.Dataset(
        {"time_s": (("workload", "tier"), np.array([[v, np.nan], [2 * v, 3 * v]]), {"units": "s"}),
         "output_ok": (("workload", "tier"), np.array([[True, False], [True, True]]))},
        coords={"workload": ["lua54", "zstd"], "tier": ["native", "interp"]},
        attrs={"config": '{"scale": "small"}', "n": 3, "Conventions": "CF-1.10"})


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.mark.parametrize("name,fmt", [("a.zarr", None), ("a.nc", None), ("a.store", "zarr"),
                                      ("a.data", "netcdf")])
def test_save_load_round_trip(tmp_path, name, fmt):
    ds = _ds()
    p = store.save(ds, tmp_path / name, format=fmt)
    assert p == tmp_path / name
    assert p.is_dir() == (fmt == "zarr" or name.endswith(".zarr"))
    xr.testing.assert_identical(store.load(p, format=fmt), ds)
    assert [x.name for x in tmp_path.iterdir()] == [name]  # no temp left behind


def test_replacing_a_store(tmp_path):
    for suffix in (".zarr", ".nc"):
        p = tmp_path / ("r" + suffix)
        store.save(_ds(1.0), p)
        store.save(_ds(5.0), p)
        xr.testing.assert_identical(store.load(p), _ds(5.0))
        # a loaded Dataset (with storage encodings) saves into the other format too
        other = tmp_path / ("o" + (".nc" if suffix == ".zarr" else ".zarr"))
        store.save(store.load(p), other)
        xr.testing.assert_identical(store.load(other), _ds(5.0))
    assert sorted(x.name for x in tmp_path.iterdir()) == ["o.nc", "o.zarr", "r.nc", "r.zarr"]


def _failing_after_partial_write(monkeypatch, method):
    """Make Dataset.<method> write part of the Dataset to its target, then fail."""
    original = getattr(xr.Dataset, method)

    def partial(self, target, *args, **kwargs):
        original(self[["time_s"]], target, *args, **kwargs)
        assert os.path.exists(target)
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(xr.Dataset, method, partial)


@pytest.mark.parametrize("suffix,method", [(".zarr", "to_zarr"), (".nc", "to_netcdf")])
def test_failed_write_leaves_nothing_new(tmp_path, monkeypatch, suffix, method):
    fresh, existing = tmp_path / ("fresh" + suffix), tmp_path / ("old" + suffix)
    store.save(_ds(1.0), existing)
    _failing_after_partial_write(monkeypatch, method)
    for p in (fresh, existing):
        with pytest.raises(RuntimeError, match="simulated"):
            store.save(_ds(9.0), p)
    monkeypatch.undo()
    assert not fresh.exists()
    xr.testing.assert_identical(store.load(existing), _ds(1.0))  # the old version, intact
    assert sorted(x.name for x in tmp_path.iterdir()) == ["old" + suffix]


def test_killed_write_leaves_only_a_leftover(tmp_path):
    """A writer killed in the middle of a zarr write (os._exit after a partial write)."""
    script = textwrap.dedent(f"""
        import os, numpy as np, xarray as xr
        from workbench import store
        original = xr.Dataset.to_zarr
        def partial(self, target, *a, **k):
            original(self[["x"]], target, *a, **k)
            os._exit(9)
        xr.Dataset.to_zarr = partial
        store.save(xr.Dataset({{"x": ("i", np.arange(4)), "y": ("i", np.ones(4))}}),
                   {str(tmp_path / "k.zarr")!r})
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 9, p.stderr
    assert not (tmp_path / "k.zarr").exists()
    leftovers = list(tmp_path.iterdir())
    assert len(leftovers) == 1 and store.is_leftover(leftovers[0])
    assert leftovers[0].name.startswith(".k.zarr.tmp-")
    with pytest.raises(ValueError, match="incomplete"):
        store.load(leftovers[0])
    with pytest.raises(FileNotFoundError):
        store.load(tmp_path / "k.zarr")
    assert store.clean_stale(tmp_path) == leftovers
    assert list(tmp_path.iterdir()) == []


def test_clean_stale_restores_a_set_aside_store(tmp_path):
    """Killed between "rename old aside" and "rename new in": the old store comes back."""
    dead = _dead_pid()
    store.save(_ds(1.0), tmp_path / "s.zarr")
    os.rename(tmp_path / "s.zarr", tmp_path / f".s.zarr.old-{dead}-0a1b2c3d")
    store.save(_ds(2.0), tmp_path / f"partial.zarr")
    os.rename(tmp_path / "partial.zarr", tmp_path / f".s.zarr.tmp-{dead}-99aa88bb")
    live = tmp_path / f".t.zarr.tmp-{os.getpid()}-00000000"  # a write in progress: kept
    live.mkdir()
    store.clean_stale(tmp_path)
    assert sorted(x.name for x in tmp_path.iterdir()) == [live.name, "s.zarr"]
    xr.testing.assert_identical(store.load(tmp_path / "s.zarr"), _ds(1.0))
    store.clean_stale(tmp_path, all_pids=True)
    assert [x.name for x in tmp_path.iterdir()] == ["s.zarr"]


def test_refuses_leftover_names(tmp_path):
    with pytest.raises(ValueError):
        store.save(_ds(), tmp_path / ".x.zarr.tmp-1-abcdef00")
    with pytest.raises(ValueError, match="unknown store format"):
        store.save(_ds(), tmp_path / "x.zarr", format="parquet")


def test_zarr_store_opens_with_plain_open_zarr_without_a_warning(tmp_path):
    """xarray's own way to open a store (consolidated metadata looked up first) gives no
    RuntimeWarning about missing consolidated metadata, nor any other warning."""
    import warnings

    p = store.save(_ds(), tmp_path / "w.zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with xr.open_zarr(p) as ds:
            xr.testing.assert_identical(ds.load(), store.load(p))


def test_wb_run_events_open_without_a_warning(tmp_path):
    """`wb run --events DIR` writes stores that `xr.open_zarr` opens without a warning."""
    import warnings

    from workbench.bench import exit0_elf

    elf = exit0_elf(tmp_path / "exit0")
    p = subprocess.run([sys.executable, "-m", "workbench.cli", "run", "--client", "icount",
                        "--client", "bbprofile", "--events", str(tmp_path / "ev"), str(elf)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    stores = sorted((tmp_path / "ev").glob("*.zarr"))
    assert [s.name for s in stores] == ["bbprofile.zarr", "icount.zarr"]
    for s in stores:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with xr.open_zarr(s) as ds:
                assert ds.sizes and ds.attrs
