"""The event schema (workbench.events): record layouts, Datasets, CF flags, provenance,
symbols, and the round trip of all of it through zarr v3 and netCDF."""
import dataclasses
import datetime as dt
import json
import re

import numpy as np
import pytest
import xarray as xr

from workbench import events, store
from workbench.events import STREAMS, SymbolTable, provenance, to_dataset


def _memtrace(n=5):
    r = np.zeros(n, STREAMS["memtrace"].dtype)
    r["icount"] = np.arange(n) * 10 + 1
    r["pc"] = 0x10000 + 4 * np.arange(n)
    r["addr"] = 0xFFFF_FFFF_0000 + np.arange(n) * 8
    r["thread"] = np.arange(n) % 2
    r["size"] = [1, 2, 4, 8, 8][:n]
    r["kind"] = np.arange(n) % 3
    r["pad"] = b"\xde\xad\x00"
    r["priv"] = [0, 1, 3, 0, 1][:n]
    return r


def test_memtrace_dataset_schema():
    recs = _memtrace()
    ds = to_dataset("memtrace", recs)
    assert dict(ds.sizes) == {"event": 5}
    assert "pad" not in ds.variables
    assert "icount" in ds.coords and ds.icount.dims == ("event",)
    want = {"icount": np.uint64, "pc": np.uint64, "addr": np.uint64, "size": np.uint8,
            "kind": np.uint8, "thread": np.uint16, "priv": np.uint8}
    assert {k: ds[k].dtype for k in want} == {k: np.dtype(v) for k, v in want.items()}
    np.testing.assert_array_equal(ds.addr.values, recs["addr"])
    kind = ds.kind.attrs
    assert isinstance(kind["flag_values"], np.ndarray) and kind["flag_values"].dtype == np.uint8
    assert kind["flag_values"].tolist() == [0, 1, 2]
    assert kind["flag_meanings"] == "load store atomic"
    assert ds.size.attrs["units"] == "bytes" and "long_name" in ds.addr.attrs
    # raw bytes give the same Dataset
    xr.testing.assert_identical(to_dataset("memtrace", recs.tobytes()), ds)


def test_bad_records_are_clear_errors():
    with pytest.raises(ValueError, match="unknown stream"):
        to_dataset("nosuch", b"")
    with pytest.raises(ValueError, match="whole number"):
        to_dataset("memtrace", b"\0" * 33)
    with pytest.raises(ValueError, match="expected the 32-byte record"):
        to_dataset("memtrace", np.zeros(3, np.uint64))
    with pytest.raises(ValueError, match="expected"):
        to_dataset("icount", _memtrace())
    assert to_dataset("memtrace", b"").sizes["event"] == 0


def test_icount_and_bbprofile_streams():
    ic = np.zeros(2, STREAMS["icount"].dtype)
    ic["thread"], ic["icount"] = [0, 3], [100, 200]
    ds = to_dataset("icount", ic)
    assert ds.icount.dims == ("thread",) and ds.thread.dtype == np.uint16
    assert ds.icount.sel(thread=3).item() == 200

    table = SymbolTable(np.array([0x1000, 0x1100], np.uint64), np.array([0x100, 0], np.uint64),
                        np.array(["main", "tail"]))
    bb = np.zeros(3, STREAMS["bbprofile"].dtype)
    bb["pc"], bb["count"], bb["ninsns"] = [0x1000, 0x1010, 0x900], [5, 6, 7], [3, 4, 5]
    ds = to_dataset("bbprofile", bb, symbols=table)
    assert ds["count"].dims == ("block",) and "pc" in ds.coords  # ds.count is a method
    assert ds.symbol.values.tolist() == ["main+0x0", "main+0x10", "?"]
    assert "symbol" not in to_dataset("bbprofile", bb)


def test_bit_set_fields_carry_cf_flag_masks():
    recs = np.zeros(2, STREAMS["barrier"].dtype)
    recs["flags"] = [events.flag_value("barrier", "flags", "written_after_init"),
                     events.flag_value("barrier", "flags", "freed") | events.flag_value("barrier", "flags", "stopped")]
    flags = to_dataset("barrier", recs).flags
    assert flags.attrs["flag_masks"].tolist() == [1, 2, 4, 8] and flags.attrs["flag_masks"].dtype == np.uint32
    assert flags.attrs["flag_meanings"] == "written_after_init freed realloced stopped"
    assert "flag_values" not in flags.attrs
    assert events.flag_value("barrier_allocs", "kind", "free") == 3
    with pytest.raises(KeyError):
        events.flag_value("memtrace", "kind", "fence")


def test_the_stream_description_decides_what_is_symbolized(monkeypatch):
    """Stream.symbolize, not the stream's name, picks the address fields that get names."""
    table = SymbolTable(np.array([0x10000], np.uint64), np.array([0x100], np.uint64), np.array(["f"]))
    assert STREAMS["memtrace"].symbolize == {}
    assert "symbol" not in to_dataset("memtrace", _memtrace(), symbols=table)  # per event: none
    assert set(STREAMS["bbprofile"].symbolize) == {"pc"}
    assert {s.name for s in STREAMS.values() if "site" in s.symbolize} == {
        "barrier", "barrier_allocs", "shrink", "bursty", "bursty_allocs", "watchheap"}
    marked = dataclasses.replace(STREAMS["memtrace"], symbolize={"pc": ("where", "code")})
    monkeypatch.setitem(STREAMS, "memtrace", marked)
    ds = to_dataset("memtrace", _memtrace(2), symbols=table)
    assert ds["where"].values.tolist() == ["f+0x0", "f+0x4"] and ds["where"].attrs["long_name"] == "code"
    assert "where" not in to_dataset("memtrace", _memtrace(2))  # no symbols given: nothing named


def test_symbolize_a_guest_elf():
    from workbench import guests

    elf = guests.build("zstd", quiet=True)
    t = events.symbolize(elf)
    assert len(t.addr) > 100 and np.all(np.diff(t.addr.astype(np.int64)) > 0)
    i = int(np.nonzero(t.name == "main")[0][0])
    assert t.lookup([int(t.addr[i]) + 4]).tolist() == ["main+0x4"]


def test_provenance_attrs(tmp_path):
    prog = tmp_path / "prog.elf"
    prog.write_bytes(b"\x7fELF fake program")
    attrs = provenance(workload="prog", program=prog, config={"tier": "interp", "b": [1, 2]},
                       flag=True, nothing=None, nested={"x": 1})
    for k in ("engine_version", "git_revision", "workload", "workload_sha256", "config",
              "host_cpu", "created", "Conventions"):
        assert isinstance(attrs[k], str) and attrs[k], k
    assert json.loads(attrs["config"]) == {"b": [1, 2], "tier": "interp"}
    assert attrs["config"] == json.dumps({"b": [1, 2], "tier": "interp"}, sort_keys=True)
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?|unknown", attrs["git_revision"])
    import hashlib
    assert attrs["workload_sha256"] == hashlib.sha256(prog.read_bytes()).hexdigest()
    created = dt.datetime.fromisoformat(attrs["created"])
    assert created.utcoffset() == dt.timedelta(0)
    assert attrs["Conventions"] == "CF-1.10"
    assert attrs["flag"] == 1 and "nothing" not in attrs and json.loads(attrs["nested"]) == {"x": 1}
    many = provenance(program={"a": prog, "b": prog})
    assert set(json.loads(many["workload_sha256"])) == {"a", "b"}


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_round_trip_is_identical(tmp_path, suffix):
    table = SymbolTable(np.array([0x1000], np.uint64), np.array([0x100], np.uint64), np.array(["f"]))
    bb = np.zeros(2, STREAMS["bbprofile"].dtype)
    bb["pc"] = [0x1000, 0x1004]
    prov = provenance(workload="zstd", config={"tier": "interp", "size": "2m"})
    for ds in (to_dataset("memtrace", _memtrace(), provenance=prov),
               to_dataset("bbprofile", bb, symbols=table, provenance=prov)):
        path = store.save(ds, tmp_path / (ds.attrs["stream"] + suffix))
        back = store.load(path)
        xr.testing.assert_identical(back, ds)
        if "kind" in back:
            assert back.kind.attrs["flag_values"].dtype == np.uint8
        assert json.loads(back.attrs["config"]) == {"size": "2m", "tier": "interp"}
