"""Streaming client records to zarr while the guest runs (workbench/event_writer.py).

The stores an EventWriter leaves must hold exactly the records the engine produced, in the
engine's order (compared field by field with the same deterministic run kept in memory, over
many chunks and drains that do not line up), carry the same schema and provenance as
``run.events``, open without warnings, and never be left half-written when something fails.
"""
from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest
import xarray as xr

from workbench import Machine
from workbench.event_writer import EventWriter
from workbench.events import STREAMS
from workbench.store import load


def _digest(columns) -> str:
    h = hashlib.sha256()
    for c in columns:
        h.update(np.ascontiguousarray(c).tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def reference():
    """The zstd round trip kept in memory: the oracle for every streamed copy."""
    return Machine(clients=["memtrace", "bbprofile"]).run("zstd", ["64k", "1"], capture=True)


def test_streamed_records_equal_the_engines_in_order(tmp_path, reference):
    ref = reference.records["memtrace"]
    assert len(ref) > 100_000
    # chunks of 7,777 records and drains every 64 KiB (2,048 records): boundaries never agree
    w = EventWriter(tmp_path, program=reference.program, chunk_records=7777)
    run = Machine(clients=["memtrace", "bbprofile"], drain_bytes=64 * 1024).run(
        "zstd", ["64k", "1"], capture=True, on_records=w)
    paths = w.close(run)
    assert sorted(paths) == ["bbprofile", "memtrace"]
    assert w.counts["memtrace"] == len(ref)
    got = load(paths["memtrace"])
    fields = [f for f in STREAMS["memtrace"].fields]
    assert got.sizes["event"] == len(ref)
    assert _digest(got[f].values for f in fields) == _digest(ref[f] for f in fields)
    # same schema as the in-memory path: variables, dtypes, CF attrs
    mem = reference.events("memtrace")
    assert set(got.variables) == set(mem.variables)
    for v in mem.variables:
        assert got[v].dtype == mem[v].dtype, v
        assert got[v].attrs.get("flag_meanings") == mem[v].attrs.get("flag_meanings"), v
    assert got.attrs["stream"] == "memtrace" and got.attrs["reason"] == "exit"
    assert got.attrs["workload_sha256"] == mem.attrs["workload_sha256"]


def test_symbolized_streams_are_written_whole(tmp_path, reference):
    w = EventWriter(tmp_path, program=reference.program)
    run = Machine(clients=["bbprofile"]).run("zstd", ["64k", "1"], capture=True, on_records=w)
    got = load(w.close(run)["bbprofile"])
    ref = reference.events("bbprofile")
    assert got.sizes["block"] == ref.sizes["block"]
    assert (got["symbol"].values == ref["symbol"].values).all()
    assert (got["count"].values == ref["count"].values).all()


def test_stores_open_without_warnings(tmp_path, reference):
    w = EventWriter(tmp_path, program=reference.program, chunk_records=50_000)
    run = Machine(clients=["memtrace"]).run("zstd", ["64k", "1"], capture=True, on_records=w)
    path = w.close(run)["memtrace"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with xr.open_zarr(path) as ds:     # consolidated metadata: no RuntimeWarning
            assert ds.sizes["event"] == w.counts["memtrace"]


def test_a_failed_write_leaves_no_store(tmp_path, reference):
    target = tmp_path / "out"
    target.write_text("a file where the directory should be")
    w = EventWriter(target, program=reference.program, chunk_records=10_000)
    with pytest.raises((RuntimeError, OSError)):
        run = Machine(clients=["memtrace"]).run("zstd", ["64k", "1"], capture=True, on_records=w)
        w.close(run)
    w.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_abort_removes_partial_stores(tmp_path, reference):
    w = EventWriter(tmp_path, program=reference.program, chunk_records=10_000)
    Machine(clients=["memtrace"]).run("zstd", ["64k", "1"], capture=True, on_records=w)
    w.abort()
    assert list(tmp_path.iterdir()) == []
