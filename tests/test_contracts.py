"""The contracts between the C engine and Python, held to the C sources (tests/cparse.py).

Python keeps copies of what the engine declares — the cffi declarations and ``WB_*``
constants (workbench/_engine.py), the record dtypes and the meanings of their categorical
fields and flag bits (workbench/events.py) — because a wheel ships the library but not the
sources. Each copy is checked here against the C, driven by parsing the C (a field, constant
or stream added there shows up here without editing this file); struct layouts are taken from
the host C compiler (``sizeof``/``offsetof``), not computed.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

import cparse
from workbench import _engine
from workbench.events import STREAMS

CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")

# numpy's spelling of the C scalar types records use (little-endian, as the engine writes)
_NUMPY = {"uint8_t": "u1", "uint16_t": "<u2", "uint32_t": "<u4", "uint64_t": "<u8",
          "int8_t": "i1", "int16_t": "<i2", "int32_t": "<i4", "int64_t": "<i8",
          "float": "<f4", "double": "<f8"}


@pytest.fixture(scope="module")
def api():
    """The public headers' declarations and defines."""
    code, defines = cparse.public_api()
    return cparse.declarations(code, defines), defines


class Record(NamedTuple):
    """The C record of one stream."""

    registered_in: Path        # the file that calls wb_stream_new for it
    defined_in: Path           # the file that defines its struct
    ctype: str
    text: str                  # the struct's definition
    members: list[tuple[str, str]]


@pytest.fixture(scope="module")
def records() -> dict[str, Record]:
    """The record of every stream the engine registers."""
    out = {}
    for stream, (path, ctype) in cparse.stream_registrations().items():
        where, text = cparse.find_struct(ctype, first=path)
        out[stream] = Record(path, where, ctype, text, cparse.fields(text))
    return out


def test_cffi_declarations_match_the_header(api):
    decl, _ = api
    code, defines = cparse.strip(_engine.CDEF)
    ours = cparse.declarations(code, defines)
    assert ours["functions"], "no functions parsed from _engine.CDEF"
    for name, sig in ours["functions"].items():
        assert decl["functions"].get(name) == sig, \
            f"{name}: cdef {sig!r}, header {decl['functions'].get(name)!r}"
    for name, t in ours["typedefs"].items():
        assert decl["typedefs"].get(name) == t, f"typedef {name}: cdef {t!r}, header {decl['typedefs'].get(name)!r}"
    for name, body in ours["structs"].items():
        assert name in decl["structs"], f"struct {name} is not in the headers"
        if body is not None:  # a declared body must be the whole struct, in order
            assert body == decl["structs"][name], f"struct {name}: cdef {body}, header {decl['structs'][name]}"
    for tag, values in ours["enums"].items():
        assert values == decl["enums"].get(tag), f"enum {tag}: cdef {values}, header {decl['enums'].get(tag)}"
    assert not defines, "declare constants as WB_* Python names in _engine.py, not in CDEF"


def test_python_constants_match_the_header_defines(api):
    _, defines = api
    ours = {n: getattr(_engine, n) for n in dir(_engine) if n.startswith("WB_")}
    assert "WB_MAX_SYSCALL" in ours
    for name, value in ours.items():
        assert name in defines, f"_engine.{name} is not a #define of the public headers"
        assert value == defines[name], f"_engine.{name} = {value!r}, the header says {defines[name]!r}"


def test_every_stream_has_a_description_and_every_description_a_stream(records):
    assert sorted(records) == sorted(STREAMS), \
        f"C only: {sorted(set(records) - set(STREAMS))}; Python only: {sorted(set(STREAMS) - set(records))}"


@pytest.fixture(scope="module")
def layouts(tmp_path_factory, api, records):
    """{C type: (sizeof, {field: (offset, size)})} from the host compiler, for the structs
    the cdef declares with a body and every record type (each under its own alias: two
    clients may both call theirs ``obj_record``)."""
    if CC is None:
        pytest.skip("no host C compiler (cc)")
    code, defines = cparse.strip(_engine.CDEF)
    types = {name: (name, [f for f, _ in body])
             for name, body in cparse.declarations(code, defines)["structs"].items() if body}
    defs = []
    for stream, r in records.items():
        if r.defined_in in cparse.headers():
            types[stream] = (r.ctype, [f for f, _ in r.members])
        else:
            alias = f"wb_record_{stream}"
            defs.append(re.sub(rf"\b{r.ctype}\b", alias, r.text))
            types[stream] = (alias, [f for f, _ in r.members])
    prog = ["#include <stddef.h>", "#include <stdio.h>",
            *(f'#include "{h.relative_to(cparse.NATIVE / "include")}"' for h in cparse.headers()),
            *defs, "int main(void) {"]
    for key, (ctype, names) in types.items():
        prog.append(f'  printf("S {key} %zu\\n", sizeof({ctype}));')
        prog += [f'  printf("F {key} {f} %zu %zu\\n", offsetof({ctype}, {f}), sizeof((({ctype} *)0)->{f}));'
                 for f in names]
    prog.append("  return 0;\n}\n")
    d = tmp_path_factory.mktemp("layouts")
    (d / "layouts.c").write_text("\n".join(prog))
    build = subprocess.run([CC, "-std=gnu11", "-I", str(cparse.NATIVE / "include"), str(d / "layouts.c"),
                            "-o", str(d / "layouts")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    out: dict = {}
    for line in subprocess.run([str(d / "layouts")], capture_output=True, text=True, check=True).stdout.splitlines():
        tag, key, *rest = line.split()
        if tag == "S":
            out[key] = (int(rest[0]), {})
        else:
            out[key][1][rest[0]] = (int(rest[1]), int(rest[2]))
    return out


def test_cffi_struct_layouts_are_the_compilers(layouts):
    ffi = _engine.ffi
    code, defines = cparse.strip(_engine.CDEF)
    for name, body in cparse.declarations(code, defines)["structs"].items():
        if body:
            size, offsets = layouts[name]
            assert ffi.sizeof(name) == size, name
            for f, (off, _) in offsets.items():
                assert ffi.offsetof(name, f) == off, f"{name}.{f}"


def test_record_dtypes_are_the_c_structs(records, layouts):
    for stream in sorted(set(records) & set(STREAMS)):  # the others fail the test above
        _, where, ctype, _, members = records[stream]
        dt, (size, offsets) = STREAMS[stream].dtype, layouts[stream]
        what = f"{stream} ({ctype} in {where.name})"
        assert list(dt.names) == [f for f, _ in members], f"{what}: fields {dt.names} vs C {members}"
        assert dt.itemsize == size, f"{what}: itemsize {dt.itemsize} vs sizeof {size}"
        for f, c in members:
            fdt, off = dt.fields[f][:2]
            assert (off, fdt.itemsize) == offsets[f], f"{what}.{f}: (offset, size) {(off, fdt.itemsize)} vs C {offsets[f]}"
            base = re.sub(r"\b(const|volatile)\s+", "", c)
            if m := re.fullmatch(r"(\w+)\[.*\]", base):  # an array: raw bytes or a subarray of its type
                assert fdt.subdtype is None and fdt.kind == "V" or fdt.subdtype[0] == np.dtype(_NUMPY[m.group(1)]), \
                    f"{what}.{f}: {fdt} for C {c}"
            else:
                assert fdt == np.dtype(_NUMPY[base]), f"{what}.{f}: {fdt} for C {c}"


def _meanings(values: dict[str, int]) -> dict[str, int]:
    """An enum's constants without their common prefix, lower case: WB_MEM_LOAD -> load."""
    names = list(values)
    prefix = names[0][:names[0].rfind("_") + 1] if len(names) > 1 else ""
    while prefix and not all(n.startswith(prefix) for n in names):
        prefix = prefix[:prefix[:-1].rfind("_") + 1]
    return {n[len(prefix):].lower(): v for n, v in values.items()}


def test_flag_meanings_are_the_c_enums(records):
    """A categorical field's {value: meaning} (and a bit-set field's {bit: meaning}) is an enum
    of the C that defines or registers the record, name for name and value for value."""
    checked = 0
    for stream in sorted(set(records) & set(STREAMS)):
        spec, r = STREAMS[stream], records[stream]
        candidates = []
        for path in {r.defined_in, r.registered_in}:
            code, defines = cparse.strip(path.read_text())
            candidates += [_meanings(v) for _, v in cparse.enums(code, defines)]
        for field, table in {**spec.flags, **spec.masks}.items():
            want = {meaning: value for value, meaning in table.items()}
            files = sorted({r.registered_in.name, r.defined_in.name})
            assert want in candidates, f"{stream}.{field}: {want} is no enum of {files}: {candidates}"
            checked += 1
    assert checked >= 3  # memtrace kind, the allocation kinds, the barrier flags
