"""The event schema: how the engine's fixed-size records become xarray Datasets.

This module owns the registry of known record streams (:data:`STREAMS`: the numpy dtype of
each C record, the dimension it is laid out along, the meaning of each categorical field and
flag bit; tests/test_contracts.py checks all three against the C sources),
the conversion of raw records to Datasets (:func:`to_dataset`), the provenance attrs that
every Dataset carries (:func:`provenance`) and the symbol table used to name guest code
addresses (:func:`symbolize`).

>>> import numpy as np
>>> recs = np.zeros(2, STREAMS["memtrace"].dtype)
>>> recs["kind"] = [0, 1]
>>> ds = to_dataset("memtrace", recs)
>>> ds.sizes["event"], ds.kind.attrs["flag_meanings"]
(2, 'load store atomic')
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any, Mapping

import numpy as np

CONVENTIONS = "CF-1.10"


@dataclasses.dataclass(frozen=True)
class Stream:
    """One record stream: the C record's dtype and how its fields become variables.

    ``dim`` is the dimension the records are laid out along; ``index`` names the field that
    becomes a coordinate along it (``icount``, the time axis, for event streams);
    ``flags`` maps a categorical field to ``{value: meaning}`` and ``masks`` a bit-set field to
    ``{bit: meaning}`` (the meanings are the C enum's names, lower case without their common
    prefix; :func:`flag_value` looks one up); ``fields`` gives each kept field's
    ``long_name``/``units`` attrs (fields not listed, the pads, are dropped); ``symbolize``
    marks the guest code addresses worth naming from the program's symbols, ``{address field:
    (variable, long_name)}``: the variable holds "name+0xoffset" per record (a per-event
    stream such as memtrace marks none: millions of lookups for a column that
    ``SymbolTable.lookup`` gives on demand).
    """

    name: str
    dtype: np.dtype
    dim: str
    index: str
    fields: Mapping[str, Mapping[str, str]]
    flags: Mapping[str, Mapping[int, str]] = dataclasses.field(default_factory=dict)
    masks: Mapping[str, Mapping[int, str]] = dataclasses.field(default_factory=dict)
    description: str = ""
    symbolize: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict)


def _record(fields: list[tuple[str, str, int]], itemsize: int) -> np.dtype:
    names, formats, offsets = zip(*fields)
    return np.dtype({"names": list(names), "formats": list(formats), "offsets": list(offsets),
                     "itemsize": itemsize})


MEMTRACE_KINDS = {0: "load", 1: "store", 2: "atomic"}                # enum wb_mem_kind
ALLOC_KINDS = {0: "malloc", 1: "calloc", 2: "realloc", 3: "free"}      # barrier.c's A_*
BARRIER_FLAGS = {1: "written_after_init", 2: "freed", 4: "realloced", 8: "stopped"}  # F_*
# the Stream.symbolize of block profiles and of allocation records
_PC_SYMBOL = {"pc": ("symbol", "function containing pc (name+0xoffset)")}
_SITE_SYMBOL = {"site": ("site_symbol", "allocation site: the function the allocating call "
                                        "returns into (name+0xoffset)")}

#: the fields memtrace and memphys share (what an access is, who did it, when)
_ACCESS_FIELDS = {
    "icount": {"long_name": "guest instructions retired when the access happened", "units": "1"},
    "pc": {"long_name": "guest pc of the accessing instruction"},
    "thread": {"long_name": "guest thread (user mode) or hart (system mode)"},
    "size": {"long_name": "width of the access", "units": "bytes"},
    "priv": {"long_name": "privilege the hart ran at (0 U, 1 S, 3 M; user mode: 0)"},
}

WATCH_KINDS = {0: "load", 1: "store", 2: "set", 3: "clear"}       # enum wb_watch_op_kind
HEAP_FINDINGS = {0: "overflow", 1: "underflow", 2: "use_after_free"}  # watchheap.c's K_*
TAINT_KINDS = {0: "source", 1: "sink_data", 2: "sink_args"}          # taint.c's enum taint_kind

PAGE_EVENTS = {0: "touch", 1: "share"}                                # aikido.c's EV_*

STREAMS: dict[str, Stream] = {
    "aikido": Stream(
        name="aikido",
        dtype=_record([("time", "<u8", 0), ("page", "<u8", 8), ("pc", "<u8", 16), ("thread", "<u2", 24),
                       ("owner", "<u2", 26), ("kind", "u1", 28), ("pad", "V3", 29)], 32),
        dim="event", index="time",
        fields={
            "time": {"long_name": "guest instructions retired by all threads before the access", "units": "1"},
            "page": {"long_name": "guest address of the page"},
            "pc": {"long_name": "guest pc of the access that touched or shared the page"},
            "thread": {"long_name": "guest thread that touched the page"},
            "owner": {"long_name": "share: the thread that owned the page privately until then"},
            "kind": {"long_name": "touch: the page's first access (private to that thread); "
                                  "share: a second thread's (shared from then on)"},
        },
        flags={"kind": PAGE_EVENTS},
        description="per-thread views (Aikido): each page's first touch, which makes it private to "
                    "a thread, and the access of a second thread that made it shared",
        symbolize={"pc": ("symbol", "function containing pc (name+0xoffset)")},
    ),
    "fasttrack": Stream(
        name="fasttrack",
        dtype=_record([("addr", "<u8", 0), ("prev_pc", "<u8", 8), ("cur_pc", "<u8", 16), ("count", "<u8", 24),
                       ("time", "<u8", 32), ("prev_thread", "<u2", 40), ("cur_thread", "<u2", 42),
                       ("prev_write", "u1", 44), ("cur_write", "u1", 45), ("pad", "V2", 46)], 48),
        dim="race", index="",
        fields={
            "addr": {"long_name": "the racing byte of the pair's first detection"},
            "prev_pc": {"long_name": "guest pc of the earlier access"},
            "cur_pc": {"long_name": "guest pc of the access that raced with it"},
            "count": {"long_name": "detections of this pair of pcs", "units": "1"},
            "time": {"long_name": "guest instructions retired by all threads at the first detection", "units": "1"},
            "prev_thread": {"long_name": "guest thread of the earlier access"},
            "cur_thread": {"long_name": "guest thread of the later access"},
            "prev_write": {"long_name": "1: the earlier access wrote, 0: it read"},
            "cur_write": {"long_name": "1: the later access wrote, 0: it read"},
        },
        description="data races the FastTrack detector found: one record per (earlier pc, later "
                    "pc) pair, in order of first detection",
        symbolize={"prev_pc": ("prev_symbol", "function containing the earlier access (name+0xoffset)"),
                   "cur_pc": ("cur_symbol", "function containing the later access (name+0xoffset)")},
    ),
    "watchheap": Stream(
        name="watchheap",
        dtype=_record([("icount", "<u8", 0), ("pc", "<u8", 8), ("addr", "<u8", 16), ("block", "<u8", 24),
                       ("size", "<u8", 32), ("site", "<u8", 40), ("offset", "<i8", 48),
                       ("thread", "<u2", 56), ("kind", "u1", 58), ("access", "u1", 59),
                       ("access_size", "u1", 60), ("pad", "V3", 61)], 64),
        dim="finding", index="icount",
        fields={
            "icount": {"long_name": "guest instructions retired when the access happened", "units": "1"},
            "pc": {"long_name": "guest pc of the accessing instruction"},
            "addr": {"long_name": "guest address of the access"},
            "block": {"long_name": "the heap block's address as the program knows it"},
            "size": {"long_name": "the heap block's size as the program asked for it", "units": "bytes"},
            "site": {"long_name": "allocation site: return address of the allocating call"},
            "offset": {"long_name": "addr - block (negative: before the block)", "units": "bytes"},
            "thread": {"long_name": "guest thread"},
            "kind": {"long_name": "what the access did wrong"},
            "access": {"long_name": "kind of memory access (enum wb_mem_kind: 0 load, 1 store, 2 atomic)"},
            "access_size": {"long_name": "width of the access", "units": "bytes"},
        },
        flags={"kind": HEAP_FINDINGS},
        description="heap bugs the watchheap client found on the watchpoint unit: one record per "
                    "(pc, kind, block), the first access of each",
        symbolize={"pc": ("symbol", "function containing pc (name+0xoffset)"), **_SITE_SYMBOL},
    ),
    "taint": Stream(
        name="taint",
        dtype=_record([("nr", "<u8", 0), ("fd", "<i8", 8), ("calls", "<u8", 16), ("bytes", "<u8", 24),
                       ("icount", "<u8", 32), ("args", "<u4", 40), ("kind", "u1", 44), ("pad", "V3", 45)], 48),
        dim="flow", index="",
        fields={
            "nr": {"long_name": "the syscall (riscv64 Linux number)"},
            "fd": {"long_name": "its file descriptor (-1: not a read or a write)"},
            "calls": {"long_name": "calls that were this source or sink", "units": "1"},
            "bytes": {"long_name": "source: bytes tainted; sink_data: tainted bytes written", "units": "bytes"},
            "icount": {"long_name": "guest instructions retired before the first of them", "units": "1"},
            "args": {"long_name": "sink_args: bit i set when argument register a<i> held taint (a7: the number)"},
            "kind": {"long_name": "a source of taint, or a sink it reached"},
        },
        flags={"kind": TAINT_KINDS},
        description="taint tracking's sources (reads of the chosen files) and the sinks their taint "
                    "reached (written bytes, syscall arguments): one record per (kind, syscall, fd)",
    ),
    "watch": Stream(
        name="watch",
        dtype=_record([("kind", "u1", 0), ("flags", "u1", 1), ("pad", "V6", 2), ("addr", "<u8", 8),
                       ("len", "<u8", 16)], 24),
        dim="op", index="",
        fields={
            "kind": {"long_name": "what the watchpoint unit saw"},
            "flags": {"long_name": "watch bits a set or clear changes (1 read, 2 write, 3 both; accesses: 0)"},
            "addr": {"long_name": "first byte"},
            "len": {"long_name": "bytes", "units": "bytes"},
        },
        flags={"kind": WATCH_KINDS},
        description="every operation the watchpoint unit saw, in order: sets, clears and the "
                    "accesses it checked (workbench.models.watch replays them)",
    ),
    "memtrace": Stream(
        name="memtrace",
        dtype=_record([("icount", "<u8", 0), ("pc", "<u8", 8), ("addr", "<u8", 16),
                       ("thread", "<u2", 24), ("size", "u1", 26), ("kind", "u1", 27),
                       ("priv", "u1", 28), ("pad", "V3", 29)], 32),
        dim="event", index="icount",
        fields={**_ACCESS_FIELDS, "addr": {"long_name": "guest address of the access"},
                "kind": {"long_name": "kind of memory access"}},
        flags={"kind": MEMTRACE_KINDS},
        description="one record per guest memory access (atomic = read-modify-write)",
    ),
    "memphys": Stream(
        name="memphys",
        dtype=_record([("icount", "<u8", 0), ("pc", "<u8", 8), ("vaddr", "<u8", 16), ("paddr", "<u8", 24),
                       ("thread", "<u2", 32), ("size", "u1", 34), ("kind", "u1", 35),
                       ("priv", "u1", 36), ("pad", "V3", 37)], 40),
        dim="event", index="icount",
        fields={**_ACCESS_FIELDS, "vaddr": {"long_name": "virtual address of the access"},
                "paddr": {"long_name": "physical address it reached (2**64-1: the access faulted; "
                                       "user mode: the virtual address)"},
                "kind": {"long_name": "kind of memory access (enum wb_mem_kind: 0 load, 1 store, 2 atomic)"}},
        description="one record per guest memory access with its virtual and physical address",
    ),
    "bbprofile": Stream(
        name="bbprofile",
        dtype=_record([("pc", "<u8", 0), ("count", "<u8", 8), ("ninsns", "<u4", 16),
                       ("thread", "<u2", 20), ("pad", "<u2", 22)], 24),
        dim="block", index="pc",
        fields={
            "pc": {"long_name": "guest pc of the block's first instruction"},
            "count": {"long_name": "times the block was entered", "units": "1"},
            "ninsns": {"long_name": "guest instructions in the block", "units": "1"},
            "thread": {"long_name": "guest thread that ran the block (65535: any, past the "
                                    "per-thread counters' capacity)"},
        },
        description="one record per guest block and thread that ran it: how often it ran",
        symbolize=_PC_SYMBOL,
    ),
    "icount": Stream(
        name="icount",
        dtype=_record([("icount", "<u8", 0), ("thread", "<u2", 8), ("pad", "V6", 10)], 16),
        dim="thread", index="thread",
        fields={
            "icount": {"long_name": "guest instructions retired by the thread", "units": "1"},
            "thread": {"long_name": "guest thread (user mode) or hart (system mode)"},
        },
        description="one record per guest thread: its total instruction count",
    ),
    # the barrier profiler (native/src/clients/barrier.c)
    "barrier": Stream(
        name="barrier",
        dtype=_record([(n, "<u8", 8 * i) for i, n in enumerate(
            ["id", "site", "addr", "size", "alloc_icount", "free_icount", "first_icount",
             "last_icount", "accesses", "reads", "writes", "bytes_touched"])]
            + [("max_read", "<i8", 96), ("max_write", "<i8", 104), ("flags", "<u4", 112),
               ("thread", "<u2", 116), ("pad", "<u2", 118)], 120),
        dim="object", index="id",
        fields={
            "id": {"long_name": "sampled object, in sampling order"},
            "site": {"long_name": "allocation site (return address of the allocation call)"},
            "addr": {"long_name": "guest address of the object"},
            "size": {"long_name": "object size", "units": "bytes"},
            "thread": {"long_name": "guest thread that allocated the object"},
            "alloc_icount": {"long_name": "instructions retired at allocation", "units": "1"},
            "free_icount": {"long_name": "instructions retired at free or realloc (0: live)", "units": "1"},
            "first_icount": {"long_name": "instructions retired at the first access", "units": "1"},
            "last_icount": {"long_name": "instructions retired at the last access", "units": "1"},
            "accesses": {"long_name": "accesses recorded", "units": "1"},
            "reads": {"long_name": "reads recorded", "units": "1"},
            "writes": {"long_name": "writes recorded", "units": "1"},
            "bytes_touched": {"long_name": "distinct bytes accessed", "units": "bytes"},
            "max_read": {"long_name": "highest offset read (-1: never read)", "units": "bytes"},
            "max_write": {"long_name": "highest offset written (-1: never written)", "units": "bytes"},
            "flags": {"long_name": "what happened to the object: written after its first read, "
                                   "freed, reallocated, recording stopped (max_accesses or settled)"},
        },
        masks={"flags": BARRIER_FLAGS},
        description="one record per object the barrier profiler sampled",
        symbolize=_SITE_SYMBOL,
    ),
    "barrier_touched": Stream(
        name="barrier_touched",
        dtype=_record([("id", "<u8", 0), ("start", "<u8", 8), ("end", "<u8", 16)], 24),
        dim="range", index="id",
        fields={
            "id": {"long_name": "sampled object"},
            "start": {"long_name": "first byte of a touched range (object offset)", "units": "bytes"},
            "end": {"long_name": "one past the last byte of the range", "units": "bytes"},
        },
        description="byte ranges of sampled objects that were accessed",
    ),
    "barrier_allocs": Stream(
        name="barrier_allocs",
        dtype=_record([("icount", "<u8", 0), ("entry_icount", "<u8", 8), ("addr", "<u8", 16),
                       ("size", "<u8", 24), ("site", "<u8", 32), ("old", "<u8", 40),
                       ("kind", "u1", 48), ("sampled", "u1", 49), ("thread", "<u2", 50),
                       ("pad", "V4", 52)], 56),
        dim="event", index="icount",
        fields={
            "icount": {"long_name": "guest instructions retired when the call returned "
                                    "(free: when it was entered)", "units": "1"},
            "entry_icount": {"long_name": "guest instructions retired when the call was entered",
                             "units": "1"},
            "addr": {"long_name": "the object's address (freed object for free)"},
            "size": {"long_name": "bytes requested", "units": "bytes"},
            "site": {"long_name": "return address of the call"},
            "old": {"long_name": "realloc: the previous address"},
            "kind": {"long_name": "allocation call"},
            "sampled": {"long_name": "1 if the object got a barrier pointer"},
            "thread": {"long_name": "guest thread that made the call"},
        },
        flags={"kind": ALLOC_KINDS},
        description="every outermost allocation call of the program",
        symbolize=_SITE_SYMBOL,
    ),
    "barrier_stats": Stream(
        name="barrier_stats",
        dtype=_record([(n, "<u8", 8 * i) for i, n in enumerate(
            ["samples", "faults", "stray", "allocations", "bytes_allocated", "sample_bytes"])], 48),
        dim="run", index="samples",
        fields={n: {"long_name": d, "units": "1"} for n, d in [
            ("samples", "objects sampled"), ("faults", "barrier faults taken"),
            ("stray", "barrier faults outside any live sampled object"),
            ("allocations", "allocations seen"), ("bytes_allocated", "bytes allocated"),
            ("sample_bytes", "sampling interval in bytes (0: every object)")]},
        description="the barrier profiler's counters for the run",
    ),
    "barrier_contents": Stream(
        name="barrier_contents",
        dtype=_record([("id", "<u8", 0), ("offset", "<u4", 8), ("len", "<u4", 12),
                       ("data", "V48", 16)], 64),
        dim="piece", index="id",
        fields={
            "id": {"long_name": "profiled object"},
            "offset": {"long_name": "offset of the piece in the object", "units": "bytes"},
            "len": {"long_name": "bytes of data that are the object's", "units": "bytes"},
            "data": {"long_name": "the bytes"},
        },
        description="contents of write-only objects (written, never read) when they were released "
                    "(client option contents=1; at most 64 KiB per object)",
    ),
    # speculative shrinking, the optimization the profile drives (native/src/clients/shrink.c)
    "shrink": Stream(
        name="shrink",
        dtype=_record([(n, "<u8", 8 * i) for i, n in enumerate(
            ["site", "size", "cut", "mapped", "alloc_icount", "grow_icount"])]
            + [("grown", "<u4", 48), ("freed", "<u4", 52)], 56),
        dim="object", index="alloc_icount",
        fields={
            "site": {"long_name": "allocation site (return address of the allocation call)"},
            "size": {"long_name": "bytes the program asked for", "units": "bytes"},
            "cut": {"long_name": "bytes the plan allowed the site", "units": "bytes"},
            "mapped": {"long_name": "bytes mapped at allocation (the cut in whole pages)", "units": "bytes"},
            "alloc_icount": {"long_name": "instructions retired at allocation", "units": "1"},
            "grow_icount": {"long_name": "instructions retired at the fix-up (0: never grown)", "units": "1"},
            "grown": {"long_name": "1 if an access went past the cut and the object was grown"},
            "freed": {"long_name": "1 if the program freed or reallocated it"},
        },
        description="one record per object allocated shrunk",
        symbolize=_SITE_SYMBOL,
    ),
    "shrink_stats": Stream(
        name="shrink_stats",
        dtype=_record([(n, "<u8", 8 * i) for i, n in enumerate(
            ["objects", "fixups", "skipped", "bytes_requested", "bytes_mapped", "bytes_grown",
             "peak_live_requested", "peak_live_mapped", "planned_sites", "pad"])], 80),
        dim="run", index="objects",
        fields={n: {"long_name": d, "units": u} for n, d, u in [
            ("objects", "objects allocated shrunk", "1"),
            ("fixups", "accesses past a cut that grew their object", "1"),
            ("skipped", "planned allocations left alone (no room for a slot)", "1"),
            ("bytes_requested", "bytes the program asked for at planned sites", "bytes"),
            ("bytes_mapped", "bytes mapped for them at allocation", "bytes"),
            ("bytes_grown", "bytes mapped by fix-ups", "bytes"),
            ("peak_live_requested", "most bytes live at once, as requested", "bytes"),
            ("peak_live_mapped", "most bytes live at once, as mapped", "bytes"),
            ("planned_sites", "sites in the plan", "1"),
            ("pad", "0", "1")]},
        description="the shrink client's counters for the run",
    ),
}


def flag_value(stream: str, field: str, meaning: str) -> int:
    """The value (categorical field) or bit (bit-set field) that stands for ``meaning`` in
    ``field`` of ``stream``'s records: code that tests record fields names the meaning, and
    the number comes from the one description checked against the C sources.

    >>> flag_value("memtrace", "kind", "store"), flag_value("barrier", "flags", "stopped")
    (1, 8)
    """
    spec = STREAMS[stream]
    return {m: v for v, m in {**spec.flags, **spec.masks}[field].items()}[meaning]


def _as_records(stream: Stream, records) -> np.ndarray:
    """Check and view ``records`` (structured array or raw bytes) as the stream's dtype."""
    dt = stream.dtype
    if isinstance(records, (bytes, bytearray, memoryview)):
        buf = memoryview(records).cast("B")
        if buf.nbytes % dt.itemsize:
            raise ValueError(f"{stream.name}: {buf.nbytes} bytes is not a whole number of "
                             f"{dt.itemsize}-byte records")
        return np.frombuffer(buf, dtype=dt)
    arr = np.asarray(records)
    if arr.dtype == dt:
        return arr.reshape(-1)
    if arr.dtype.names is None and arr.dtype in (np.uint8, np.int8) and arr.ndim == 1:
        return _as_records(stream, arr.tobytes())
    if arr.dtype.names is not None and arr.dtype.itemsize == dt.itemsize \
            and all(n in arr.dtype.names for n in stream.fields):
        return arr.reshape(-1)  # same layout under a compatible dtype; fields read by name
    raise ValueError(f"{stream.name}: records have dtype {arr.dtype}, expected the "
                     f"{dt.itemsize}-byte record {dt} (see workbench.events.STREAMS)")


def to_dataset(stream: str, records, *, provenance: Mapping[str, Any] | None = None,
               symbols: "SymbolTable | str | os.PathLike | None" = None):
    """Turn the records of one stream into an ``xarray.Dataset``.

    ``records`` is a numpy structured array of ``STREAMS[stream].dtype`` (or the raw bytes of
    such records). Event streams get dimension ``event`` with ``icount`` as the time
    coordinate; ``bbprofile`` gets dimension ``block`` with ``pc`` as coordinate; ``icount``
    gets dimension ``thread``. When ``symbols`` (a :class:`SymbolTable` or an ELF path) is
    given, the stream's ``symbolize`` fields get their "name+0xoff" variables (bbprofile's
    ``symbol``, the profilers' ``site_symbol``); streams without any ignore it. Pad fields are
    dropped; categorical fields carry CF ``flag_values``/``flag_meanings``, bit-set fields
    ``flag_masks``/``flag_meanings``. ``provenance`` (see :func:`provenance`) becomes the
    Dataset's attrs.

    >>> recs = np.zeros(3, STREAMS["icount"].dtype); recs["thread"] = [0, 1, 2]
    >>> to_dataset("icount", recs).icount.dims
    ('thread',)
    """
    import xarray as xr

    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; known streams: {sorted(STREAMS)}")
    spec = STREAMS[stream]
    recs = _as_records(spec, records)
    coords, data_vars = {}, {}
    for name, attrs in spec.fields.items():
        values = np.ascontiguousarray(recs[name]).astype(spec.dtype.fields[name][0].newbyteorder("="))
        attrs = dict(attrs)
        for kind, table in (("flag_values", spec.flags), ("flag_masks", spec.masks)):
            if name in table:
                codes = sorted(table[name])
                attrs[kind] = np.array(codes, dtype=values.dtype)
                attrs["flag_meanings"] = " ".join(table[name][c] for c in codes)
        target = coords if name == spec.index else data_vars
        target[name] = (spec.dim, values, attrs)
    if symbols is not None and spec.symbolize:
        table = symbols if isinstance(symbols, SymbolTable) else symbolize(symbols)
        for field, (var, long_name) in spec.symbolize.items():
            data_vars[var] = (spec.dim, table.lookup(recs[field]), {"long_name": long_name})
    attrs = {"stream": stream, "description": spec.description}
    attrs.update(clean_attrs(provenance or {}))
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


# ------------------------------------------------------------------ provenance

def clean_attrs(attrs: Mapping[str, Any]) -> dict:
    """Attrs made netCDF/zarr-serialisable: str, int, float and numeric arrays pass through;
    bools become 0/1, None is dropped, dicts/lists/tuples become JSON strings.

    >>> clean_attrs({"a": True, "b": None, "c": {"x": 1}})
    {'a': 1, 'c': '{"x": 1}'}
    """
    out = {}
    for k, v in attrs.items():
        if v is None:
            continue
        if isinstance(v, (bool, np.bool_)):
            out[k] = int(v)
        elif isinstance(v, (str, int, float, np.integer, np.floating)):
            out[k] = v
        elif isinstance(v, np.ndarray) and v.dtype.kind in "iuf":
            out[k] = v
        elif isinstance(v, (dict, list, tuple)):
            out[k] = json.dumps(v, sort_keys=True, default=str)
        else:
            out[k] = str(v)
    return out


@functools.lru_cache(maxsize=None)
def _git_revision(where: str) -> str:
    def git(*args):
        return subprocess.run(["git", "--no-optional-locks", "-C", where, *args],
                              capture_output=True, text=True, timeout=30)
    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return "unknown"
        rev = head.stdout.strip()
        status = git("status", "--porcelain", "--untracked-files=no")
        return rev + ("+dirty" if status.returncode == 0 and status.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def git_revision() -> str:
    """``git rev-parse HEAD`` of the checkout this package lives in, with ``+dirty`` when
    tracked files have uncommitted changes; ``"unknown"`` outside a git checkout. Computed
    once per process.

    >>> git_revision()  # doctest: +SKIP
    '0123456789abcdef0123456789abcdef01234567+dirty'
    """
    return _git_revision(str(Path(__file__).resolve().parent))


@functools.lru_cache(maxsize=None)
def host_cpu() -> str:
    """The host CPU's model name (from /proc/cpuinfo; platform.processor() elsewhere).

    >>> host_cpu()  # doctest: +SKIP
    'AMD EPYC 7B13'
    """
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _engine_version() -> str:
    try:
        from .machine import engine_version
        return engine_version()
    except Exception:  # the native engine is not built: provenance still works
        return "unknown"


def _sha256(path) -> str:
    try:
        from .guests import sha256
        return sha256(path)
    except ImportError:  # pragma: no cover
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()


def provenance(*, workload: str | None = None, program=None, config=None, **extra) -> dict:
    """The provenance attrs every Dataset carries (the same names in every study's Dataset).

    ``program`` is the workload's ELF path (its sha256 becomes ``workload_sha256``), or a
    mapping name -> path when a Dataset covers several workloads (``workload_sha256`` is then
    a JSON object name -> sha256). ``config`` is recorded as JSON (``sort_keys``); a string
    is taken as JSON already. ``extra`` attrs are added as given (made serialisable).

    >>> attrs = provenance(workload="zstd", config={"tier": "interp"})
    >>> attrs["config"], attrs["Conventions"]
    ('{"tier": "interp"}', 'CF-1.10')
    """
    attrs = {
        "engine_version": _engine_version(),
        "git_revision": git_revision(),
        "workload": workload or "",
        "workload_sha256": "",
        "config": "{}",
        "host_cpu": host_cpu(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "Conventions": CONVENTIONS,
    }
    if isinstance(program, Mapping):
        attrs["workload_sha256"] = json.dumps({str(k): _sha256(v) for k, v in program.items()},
                                              sort_keys=True)
    elif program is not None and Path(program).is_file():
        attrs["workload_sha256"] = _sha256(program)
    if config is not None:
        attrs["config"] = config if isinstance(config, str) else \
            json.dumps(config, sort_keys=True, default=str)
    attrs.update(clean_attrs(extra))
    return attrs


# ------------------------------------------------------------------ symbols

@dataclasses.dataclass(frozen=True)
class SymbolTable:
    """Function symbols of an ELF, sorted by address: ``addr``, ``size`` (uint64) and
    ``name`` (str) arrays of equal length.

    >>> t = SymbolTable(np.array([0x100], np.uint64), np.array([0x20], np.uint64), np.array(["f"]))
    >>> t.lookup([0x104, 0x200]).tolist()
    ['f+0x4', '?']
    """

    addr: np.ndarray
    size: np.ndarray
    name: np.ndarray

    def lookup(self, pcs) -> np.ndarray:
        """``"name+0xoff"`` for each pc (``"?"`` where no function covers it)."""
        pcs = np.asarray(pcs, dtype=np.uint64).reshape(-1)
        if len(self.addr) == 0:
            return np.full(len(pcs), "?")
        i = np.searchsorted(self.addr, pcs, side="right") - 1
        ic = np.clip(i, 0, None)
        off = pcs - self.addr[ic]
        inside = (i >= 0) & ((self.size[ic] == 0) | (off < self.size[ic]))
        out = [f"{self.name[j]}+{int(o):#x}" if ok else "?"
               for j, o, ok in zip(ic.tolist(), off.tolist(), inside.tolist())]
        return np.array(out, dtype=str) if out else np.array([], dtype="<U1")


def symbolize(elf_path: str | os.PathLike) -> SymbolTable:
    """The function symbols (``STT_FUNC``, defined, non-empty name) of an ELF, read with
    pyelftools, sorted by address.

    >>> from workbench import guests
    >>> t = symbolize(guests.build("zstd"))  # doctest: +SKIP
    >>> t.lookup([t.addr[0]])[0]  # doctest: +SKIP
    '_start+0x0'
    """
    from elftools.elf.elffile import ELFFile

    seen = {}
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        for sec_name in (".symtab", ".dynsym"):
            sec = elf.get_section_by_name(sec_name)
            if sec is None:
                continue
            for sym in sec.iter_symbols():
                if sym["st_info"]["type"] != "STT_FUNC" or not sym.name \
                        or sym["st_shndx"] == "SHN_UNDEF":
                    continue
                a = int(sym["st_value"])
                # prefer a global name over a local alias at the same address
                if a not in seen or (sym["st_info"]["bind"] == "STB_GLOBAL" and seen[a][2] != "STB_GLOBAL"):
                    seen[a] = (int(sym["st_size"]), sym.name, sym["st_info"]["bind"])
    addrs = sorted(seen)
    return SymbolTable(addr=np.array(addrs, dtype=np.uint64),
                       size=np.array([seen[a][0] for a in addrs], dtype=np.uint64),
                       name=np.array([seen[a][1] for a in addrs], dtype=str))


__all__ = ["STREAMS", "Stream", "MEMTRACE_KINDS", "ALLOC_KINDS", "BARRIER_FLAGS", "flag_value",
           "to_dataset", "provenance", "clean_attrs", "git_revision", "host_cpu", "SymbolTable",
           "symbolize", "CONVENTIONS"]

# the bursty-tracing baseline writes the barrier profiler's records under its own names
for _name in ("", "_touched", "_stats", "_allocs", "_contents"):
    _src = STREAMS["barrier" + _name]
    STREAMS["bursty" + _name] = dataclasses.replace(
        _src, name="bursty" + _name,
        description=_src.description.replace("barrier profiler", "bursty-tracing profiler"))
