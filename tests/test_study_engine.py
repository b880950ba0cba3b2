"""The engine study (workbench.studies.engine) at small scale, and `wb reproduce` / `wb lab`."""
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import workbench
from workbench import store, studies
from workbench.cli import app
from workbench.studies import engine

HAVE_QEMU = shutil.which("qemu-riscv64") is not None


def test_registry_and_grid():
    assert studies.get("engine") is engine
    with pytest.raises(KeyError, match="unknown study"):
        studies.get("nope")
    g = engine.GRID("small")
    assert list(g) == ["workload", "tier", "client", "repeat"]
    assert g["workload"] == ["lua54", "zstd"] and g["repeat"] == [0, 1, 2]  # never one run
    assert g["tier"][0] == "native" and "interp" in g["tier"]
    assert ("qemu" in g["tier"]) == HAVE_QEMU
    from workbench.machine import CLIENT_NEEDS

    assert g["client"] == ["none"] + [c for c in workbench.available_clients()
                                      if c != "none" and c not in CLIENT_NEEDS]
    assert {"null", "memtrace"} <= set(g["client"])
    assert engine.GRID("paper")["repeat"] == [0, 1, 2, 3, 4]
    assert engine.SIZES["small"] == {"lua54": 20, "zstd": "2m"}
    with pytest.raises(ValueError, match="unknown scale"):
        engine.GRID("huge")


def test_inapplicable_cells_do_not_run():
    ds = engine.measure("no-such-workload", "native", "memtrace", 0)
    assert set(ds.data_vars) == set(engine.VARIABLES)
    assert all(math.isnan(float(v)) for v in ds.data_vars.values())
    assert not engine.applicable("qemu", "null")
    assert engine.applicable("jit", "memtrace") and engine.applicable("interp", "bbprofile")
    assert engine.applicable("qemu", "none")


SMALL_TIERS = ["native"] + (["qemu"] if HAVE_QEMU else []) + ["interp"]
SMALL = dict(grid={"workload": ["zstd"], "tier": SMALL_TIERS, "client": ["none"], "repeat": [0, 1]},
             sizes={"zstd": "256k"})


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    return tmp_path_factory.mktemp("engine") / "sweep"


@pytest.fixture(scope="module")
def small(small_store):
    return engine.run("small", store=small_store, progress=False, **SMALL)


def test_engine_study_dataset(small, tmp_path):
    ds = small
    assert dict(ds.sizes) == {"workload": 1, "tier": 3 if HAVE_QEMU else 2, "client": 1, "repeat": 2}
    assert ds.time_s.dims == ("workload", "tier", "client", "repeat")
    for v in ("time_s", "instructions", "guest_mips", "blocks_translated", "events", "output_ok",
              "ratio_native", "ratio_qemu", "overhead_ratio"):
        assert v in ds and "units" in ds[v].attrs and "long_name" in ds[v].attrs, v
    assert ds.ratio_native.dims == ("workload", "tier", "client")
    assert (ds.output_ok == 1).all()
    assert (ds.time_s > 0).all()
    interp = ds.sel(workload="zstd", tier="interp", client="none")
    assert (interp.instructions > 1e6).all() and (interp.blocks_translated > 100).all()
    assert (interp.guest_mips > 0).all()
    assert (interp.events == 0).all()  # no client, no records
    assert math.isnan(float(ds.events.sel(workload="zstd", tier="native", client="none",
                                          repeat=0)))
    assert (ds.overhead_ratio == 1).all()  # every cell here is its own no-client reference
    assert float(ds.ratio_native.sel(workload="zstd", tier="native", client="none")) == 1.0
    ratios = ds.ratio_native.values
    assert np.isfinite(ratios).all() and (ratios > 0).all()
    if HAVE_QEMU:
        assert np.isfinite(ds.ratio_qemu.values).all() and (ds.ratio_qemu > 0).all()
        q = ds.sel(workload="zstd", tier="qemu", client="none")
        np.testing.assert_array_equal(q.instructions.values, interp.instructions.values)
    # provenance
    cfg = json.loads(ds.attrs["config"])
    assert cfg["scale"] == "small" and cfg["sizes"] == {"zstd": "256k"}
    assert list(json.loads(ds.attrs["workload_sha256"])) == ["zstd"]
    for k in ("engine_version", "git_revision", "host_cpu", "created", "Conventions"):
        assert ds.attrs[k]
    # it round-trips through both formats
    for name in ("e.zarr", "e.nc"):
        xr.testing.assert_identical(store.load(store.save(ds, tmp_path / name)), ds)


def test_summary_table(small):
    df = engine.summary(small)
    assert df.columns.tolist() == ["workload", "tier", "client", "seconds", "spread %", "x native",
                                   "x qemu", "x plain", "MIPS", "events", "output ok"]
    times = small.time_s.sel(workload="zstd", client="none")
    for _, row in df.iterrows():  # how far apart the repeats are, relative to their median
        t = times.sel(tier=row["tier"]).values
        assert row["spread %"] == pytest.approx(100 * (t.max() - t.min()) / np.median(t))
    assert df.columns.tolist() == engine.SUMMARY_COLUMNS
    assert len(df) == small.sizes["tier"]
    assert df["output ok"].all() and (df["seconds"] > 0).all()
    by_tier = df.set_index("tier")
    assert math.isnan(by_tier.loc["native", "MIPS"]) and math.isnan(by_tier.loc["native", "events"])
    assert by_tier.loc["interp", "events"] == 0 and isinstance(by_tier.loc["interp", "events"], int)


def test_reuse_is_announced(small, small_store, capsys, monkeypatch):
    """Running the study again over its store measures nothing and says what it reused and
    when it was measured; the Dataset keeps the time of every point; fresh reaches the sweep."""
    capsys.readouterr()
    again = engine.run("small", store=small_store, progress=False, **SMALL)
    n = again.attrs["points_total"]
    assert f"reused {n} of {n} points measured at {small.attrs['measured_from'][:10]}" in capsys.readouterr().out
    assert again.attrs["points_reused"] == n and small.attrs["points_reused"] == 0
    np.testing.assert_array_equal(again.measured_at.values, small.measured_at.values)
    assert again.measured_at.dims == ("workload", "tier", "client", "repeat")
    import workbench.sweep

    seen = {}
    monkeypatch.setattr(workbench.sweep, "sweep", lambda fn, grid, **kw: seen.update(kw) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        engine.run("small", store=small_store, progress=False, fresh=True, **SMALL)
    assert seen["fresh"] is True


def test_clients(tmp_path):
    """Client cells run only on engine tiers (native/qemu client cells are NaN); their records
    are counted, the same on both tiers; overhead_ratio compares each with its plain run."""
    tiers = ["native"] + workbench.available_tiers()
    clients = ["none", "null", "bbprofile", "memtrace"]
    ds = engine.run("small", store=tmp_path / "sweep", progress=False,
                    grid={"workload": ["zstd"], "tier": tiers, "client": clients},
                    sizes={"zstd": "256k"})
    cell = dict(workload="zstd", repeat=0)
    for c in clients[1:]:
        assert math.isnan(float(ds.time_s.sel(tier="native", client=c, **cell)))
        assert math.isnan(float(ds.events.sel(tier="native", client=c, **cell)))
    for t in tiers[1:]:
        for c in clients:
            assert float(ds.output_ok.sel(tier=t, client=c, **cell)) == 1.0, (t, c)
            assert float(ds.time_s.sel(tier=t, client=c, **cell)) > 0
        events = ds.events.sel(tier=t, **cell)
        assert float(events.sel(client="none")) == 0 and float(events.sel(client="null")) == 0
        assert float(events.sel(client="bbprofile")) > 100  # one record per translated block
        insns = float(ds.instructions.sel(tier=t, client="none", **cell))
        assert insns / 10 < float(events.sel(client="memtrace")) < insns  # one per access
        over = ds.overhead_ratio.sel(workload="zstd", tier=t)
        assert float(over.sel(client="none")) == 1.0 and float(over.sel(client="memtrace")) > 1
    # the JIT and the interpreter see exactly the same events
    if "jit" in tiers:
        np.testing.assert_array_equal(ds.events.sel(tier="jit").values,
                                      ds.events.sel(tier="interp").values)
    df = engine.summary(ds)
    assert len(df) == 1 + len(tiers[1:]) * len(clients)
    mt = df[(df.client == "memtrace")]
    assert (mt["events"] > 1_000_000).all() and (mt["x plain"] > 1).all()


def shared_sweeps(tmp_path_factory):
    """The sweep directory every test of this session that runs a whole small study shares
    (`wb reproduce` here and in test_browser.py/test_study_*.py, notebook 01): the study is
    measured once per session and the later runs reuse its points (and say so)."""
    return tmp_path_factory.getbasetemp() / "shared-sweeps"


def test_wb_reproduce_writes_the_study(tmp_path, tmp_path_factory):
    out = tmp_path / "out"
    # a wide table: rich squeezes it into 80 columns when stdout is not a terminal
    env = dict(os.environ, COLUMNS="200")
    p = subprocess.run([sys.executable, "-m", "workbench.cli", "reproduce", "engine", "--scale",
                        "small", "--out", str(out), "--sweeps", str(shared_sweeps(tmp_path_factory)),
                        "--no-progress"], capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr
    ds = store.load(out / "engine.zarr")
    xr.testing.assert_identical(store.load(out / "engine.nc"), ds)
    assert ds.workload.values.tolist() == ["lua54", "zstd"]
    assert (ds.output_ok.fillna(1) == 1).all()
    assert ds.client.values.tolist() == engine.GRID("small")["client"]
    if "jit" in ds.tier.values:
        mt = ds.sel(tier="jit", client="memtrace")
        assert (mt.events > 1e6).all() and (mt.output_ok == 1).all()
    assert "x native" in p.stdout and "x plain" in p.stdout and (out / "engine.md").is_file()
    assert (out / "report.html").is_file()


def test_wb_reproduce_bad_input():
    r = CliRunner().invoke(app, ["reproduce", "nosuch"])
    assert r.exit_code == 2 and "unknown study" in r.output
    r = CliRunner().invoke(app, ["reproduce", "--scale", "huge"])
    assert r.exit_code == 2 and "unknown scale" in r.output


def test_wb_lab_command(tmp_path, monkeypatch):
    import subprocess as sp

    from workbench import cli

    calls = []
    monkeypatch.setattr(sp, "call", lambda cmd: calls.append(cmd) or 0)
    monkeypatch.setattr(cli, "_notebooks_dir", lambda: tmp_path / "notebooks")
    r = CliRunner().invoke(app, ["lab", "--port", "9999", "--no-browser"])
    assert r.exit_code == 0, r.output
    (cmd,) = calls
    assert cmd[1:3] == ["-m", "jupyterlab"] and "--ip=127.0.0.1" in cmd and "--port=9999" in cmd
    assert "--no-browser" in cmd and f"--ServerApp.root_dir={tmp_path / 'notebooks'}" in cmd
    assert (tmp_path / "notebooks").is_dir()
