"""The engine study (workbench.studies.engine) at small scale, and `wb reproduce` / `wb lab`."""
import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

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
    assert g["workload"] == ["lua54", "zstd"] and g["repeat"] == [0]
    assert g["tier"][0] == "native" and "interp" in g["tier"]
    assert ("qemu" in g["tier"]) == HAVE_QEMU
    assert g["client"][0] == "none"
    assert engine.GRID("paper")["repeat"] == [0, 1, 2, 3, 4]
    assert engine.SIZES["small"] == {"lua54": 20, "zstd": "2m"}
    with pytest.raises(ValueError, match="unknown scale"):
        engine.GRID("huge")


def test_inapplicable_cells_do_not_run():
    ds = engine.measure("no-such-workload", "native", "memtrace", 0)
    assert set(ds.data_vars) == set(engine.VARIABLES)
    assert all(math.isnan(float(v)) for v in ds.data_vars.values())


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tiers = ["native"] + (["qemu"] if HAVE_QEMU else []) + ["interp"]
    return engine.run("small", store=tmp_path_factory.mktemp("engine") / "sweep", progress=False,
                      grid={"workload": ["zstd"], "tier": tiers, "client": ["none"],
                            "repeat": [0, 1]},
                      sizes={"zstd": "256k"})


def test_engine_study_dataset(small, tmp_path):
    ds = small
    assert dict(ds.sizes) == {"workload": 1, "tier": 3 if HAVE_QEMU else 2, "client": 1, "repeat": 2}
    assert ds.time_s.dims == ("workload", "tier", "client", "repeat")
    for v in ("time_s", "instructions", "guest_mips", "blocks_translated", "output_ok",
              "ratio_native", "ratio_qemu"):
        assert v in ds and "units" in ds[v].attrs and "long_name" in ds[v].attrs, v
    assert ds.ratio_native.dims == ("workload", "tier", "client")
    assert (ds.output_ok == 1).all()
    assert (ds.time_s > 0).all()
    interp = ds.sel(workload="zstd", tier="interp", client="none")
    assert (interp.instructions > 1e6).all() and (interp.blocks_translated > 100).all()
    assert (interp.guest_mips > 0).all()
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
    assert df.columns.tolist() == ["workload", "tier", "client", "seconds", "x native",
                                   "x qemu", "MIPS", "output ok"]
    assert len(df) == small.sizes["tier"]
    assert df["output ok"].all() and (df["seconds"] > 0).all()
    assert math.isnan(df.set_index("tier").loc["native", "MIPS"])


def test_clients_when_the_engine_has_them(tmp_path):
    """Client cells run only on engine tiers; native/qemu client cells are NaN."""
    from workbench import machine

    if not getattr(machine, "available_clients", None) or not machine.available_clients():
        pytest.skip("this engine build has no analysis clients yet")
    client = machine.available_clients()[0]
    ds = engine.run("small", store=tmp_path / "sweep", progress=False,
                    grid={"workload": ["zstd"], "tier": ["native", "interp"],
                          "client": ["none", client]}, sizes={"zstd": "256k"})
    assert math.isnan(float(ds.time_s.sel(tier="native", client=client)))
    assert float(ds.output_ok.sel(tier="interp", client=client)) == 1.0


def test_wb_reproduce_writes_the_study(tmp_path):
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "workbench.cli", "reproduce", "engine", "--scale",
                        "small", "--out", str(out), "--sweeps", str(tmp_path / "sweeps"),
                        "--no-progress"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    ds = store.load(out / "engine.zarr")
    xr.testing.assert_identical(store.load(out / "engine.nc"), ds)
    assert ds.workload.values.tolist() == ["lua54", "zstd"]
    assert (ds.output_ok.fillna(1) == 1).all()
    assert "x native" in p.stdout and (out / "engine.md").is_file()


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
