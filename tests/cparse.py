"""Reading the engine's C sources for the contract tests (tests/test_contracts.py).

The engine's C is plain (C11, one declaration per construct, no macros in declarations), so
a little is enough: comments, preprocessor lines, C++ guards and ``__attribute__`` stripped
(:func:`strip`), ``#define`` constants and enums evaluated, declarations parsed with pycparser
(which cffi is built on) into canonical type strings (:func:`declarations`), struct
definitions found by name (:func:`struct_source`), and stream registrations —
``wb_stream_new(m, NAME, sizeof(RECORD))`` — resolved to (stream name, record type)
(:func:`stream_registrations`).

>>> code, defs = strip('#define N (1u << 4) /* x */\\nenum e { A = N, B };')
>>> defs["N"], enums(code, defs)
(16, [('e', {'A': 16, 'B': 17})])
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

from pycparser import c_ast, c_generator, c_parser

REPO = Path(__file__).resolve().parents[1]
NATIVE = REPO / "native"

# the fixed-width and size types the headers use: pycparser only needs to know they are types
_PREAMBLE = "".join(f"typedef int {t};\n" for t in (
    "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t",
    "intptr_t", "uintptr_t", "size_t", "ssize_t", "off_t", "bool"))

_TOKENS = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|/\*.*?\*/|//[^\n]*', re.S)
_DEFINE = re.compile(r"#\s*define\s+(\w+)\b(?!\()\s*(.*)$", re.S)


def headers() -> list[Path]:
    """The public headers (native/include), each after the ones it includes."""
    include = NATIVE / "include"
    left = {p: set(re.findall(r'#\s*include\s*"([^"]+)"', p.read_text()))
            for p in sorted(include.rglob("*.h"))}
    out: list[Path] = []
    while left:
        ready = [p for p, deps in left.items()
                 if all(include / d in out or not (include / d).exists() for d in deps)]
        assert ready, f"include cycle among {sorted(map(str, left))}"
        out.append(ready[0])
        del left[ready[0]]
    return out


def public_api() -> tuple[str, dict[str, object]]:
    """The public headers as one stripped text, and all their defines."""
    code, defines = "", {}
    for h in headers():
        c, d = strip(h.read_text())
        code, defines = code + c, {**defines, **d}
    return code, defines


def sources() -> list[Path]:
    """Every C file of the engine: public headers, then native/src's headers and sources."""
    src = NATIVE / "src"
    return headers() + sorted(src.rglob("*.h")) + sorted(src.rglob("*.c"))


def _drop_attributes(code: str) -> str:
    out, i = [], 0
    for m in re.finditer(r"__attribute__\s*\(", code):
        if m.start() < i:
            continue
        depth, j = 0, m.end() - 1
        while j < len(code):
            depth += {"(": 1, ")": -1}.get(code[j], 0)
            j += 1
            if depth == 0:
                break
        out.append(code[i:m.start()])
        i = j
    return "".join(out) + code[i:]


def strip(text: str) -> tuple[str, dict[str, object]]:
    """(declarations only, {name: value of each object-like ``#define``}). Comments go (not
    inside strings), preprocessor lines go, and so does what ``#ifdef __cplusplus`` guards;
    a define whose value is not a plain constant expression maps to None."""
    text = _TOKENS.sub(lambda m: m.group(0) if m.group(0)[0] in "\"'" else " ", text)
    text = re.sub(r"\\\n", " ", text)
    kept, raw, skipping = [], {}, []
    for line in text.split("\n"):
        s = line.strip()
        if not s.startswith("#"):
            if not any(skipping):
                kept.append(line)
            continue
        word = re.match(r"#\s*(\w*)", s).group(1)
        if word in ("if", "ifdef", "ifndef"):
            skipping.append(word == "ifdef" and "__cplusplus" in s)
        elif word == "else" and skipping:
            skipping[-1] = False
        elif word == "endif" and skipping:
            skipping.pop()
        elif word == "define" and not any(skipping) and (m := _DEFINE.match(s)):
            raw[m.group(1)] = m.group(2).strip()
    defines: dict[str, object] = {}
    for name, value in raw.items():
        defines[name] = evaluate(value, defines)
    return _drop_attributes("\n".join(kept)), defines


def evaluate(expr: str, known: dict[str, object]):
    """A C constant expression's value (integers, floats, strings, arithmetic and shifts over
    ``known`` names), or None when it is not one (a cast, a call)."""
    expr = expr.strip()
    if re.fullmatch(r'"(?:\\.|[^"\\])*"', expr):
        return expr[1:-1]
    py = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", expr)
    if not re.fullmatch(r"[\w\s.+\-*/%()<>|&^~]*", py):
        return None
    if not re.search(r"\d\.\d|\de", py):
        py = py.replace("/", "//")  # C integer division
    try:  # a cast such as ((void *)-1) is a SyntaxError, an unknown name a NameError
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            return eval(py, {"__builtins__": {}}, dict(known))  # noqa: S307 - our own headers
    except Exception:
        return None


def enums(code: str, known: dict[str, object] | None = None) -> list[tuple[str | None, dict[str, int]]]:
    """Every enum in ``code`` (stripped): (tag or None, {constant: value}) in source order;
    values may use the constants in ``known`` (the file's defines)."""
    out = []
    for m in re.finditer(r"\benum\s*(\w+)?\s*\{([^}]*)\}", code):
        values, nxt = {}, 0
        for item in filter(None, (x.strip() for x in m.group(2).split(","))):
            name, _, expr = item.partition("=")
            value = evaluate(expr, {**(known or {}), **values}) if expr.strip() else nxt
            assert isinstance(value, int), f"enum {m.group(1)}: cannot evaluate {item!r}"
            values[name.strip()] = value
            nxt = value + 1
        out.append((m.group(1), values))
    return out


def struct_source(code: str, name: str) -> str | None:
    """The text of ``typedef struct [tag] {...} name;`` (or of ``struct name {...};``) in
    ``code``, or None."""
    for m in re.finditer(r"\b(typedef\s+)?struct\s*(\w+)?\s*\{", code):
        depth, j = 0, m.end() - 1
        while True:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
            if depth == 0:
                break
        tail = re.match(r"\s*(\w+)?\s*;", code[j:])
        if tail is None:
            continue
        named = tail.group(1) if m.group(1) else m.group(2)
        if named == name:
            return code[m.start():j + tail.end()]
    return None


def find_struct(name: str, first: Path | None = None) -> tuple[Path, str]:
    """(file, definition text) of struct type ``name``: in ``first`` if it defines it, else in
    the one engine file that does."""
    if first is not None and (text := struct_source(strip(first.read_text())[0], name)):
        return first, text
    found = [(p, t) for p in sources() if (t := struct_source(strip(p.read_text())[0], name))]
    assert len(found) == 1, f"struct {name}: defined in {[str(p) for p, _ in found] or 'no file'}"
    return found[0]


# ------------------------------------------------------------------ declarations (pycparser)

def _typestr(node) -> str:
    """A declaration's type without its names, as canonical text."""
    if isinstance(node, (c_ast.Decl, c_ast.Typename, c_ast.Typedef)):
        return _typestr(node.type)
    if isinstance(node, c_ast.TypeDecl):
        return " ".join([*node.quals, _typestr(node.type)])
    if isinstance(node, c_ast.IdentifierType):
        return " ".join(node.names)
    if isinstance(node, c_ast.PtrDecl):
        return _typestr(node.type) + " *" + "".join(" " + q for q in node.quals)
    if isinstance(node, c_ast.ArrayDecl):
        dim = c_generator.CGenerator().visit(node.dim) if node.dim is not None else ""
        return f"{_typestr(node.type)}[{dim}]"
    if isinstance(node, c_ast.FuncDecl):
        params = node.args.params if node.args else []
        return f"{_typestr(node.type)}({', '.join(_typestr(p) for p in params)})"
    if isinstance(node, c_ast.EllipsisParam):
        return "..."
    if isinstance(node, (c_ast.Struct, c_ast.Union, c_ast.Enum)):
        return f"{type(node).__name__.lower()} {node.name}"
    raise TypeError(f"unexpected declaration node {node!r}")


def _members(node: c_ast.Struct) -> list[tuple[str, str]]:
    for d in node.decls:
        assert d.bitsize is None and d.name, f"struct {node.name}: bit-field or anonymous member"
    return [(d.name, _typestr(d)) for d in node.decls]


def fields(struct_text: str) -> list[tuple[str, str]]:
    """(name, type) of each member of a struct definition that uses only fixed-width and
    basic types, in order (bit-fields refused)."""
    node = c_parser.CParser().parse(_PREAMBLE + struct_text).ext[-1].type
    while not isinstance(node, c_ast.Struct):
        node = node.type
    return _members(node)


def declarations(code: str, known: dict[str, object] | None = None) -> dict[str, dict]:
    """A stripped header's declarations: ``functions`` {name: type}, ``typedefs`` {name:
    type}, ``structs`` {tag or typedef name: [(field, type)] (None when opaque)}, ``enums``
    {tag: {constant: value}}; enum values may use the constants in ``known``."""
    ast = c_parser.CParser().parse(_PREAMBLE + code)
    out = {"functions": {}, "typedefs": {}, "structs": {}, "enums": dict(
        (tag, values) for tag, values in enums(code, known) if tag)}
    for ext in ast.ext[_PREAMBLE.count("\n"):]:
        inner = ext.type.type if isinstance(ext.type, c_ast.TypeDecl) else ext.type
        if isinstance(inner, c_ast.Struct):
            body = None if inner.decls is None else _members(inner)
            for key in {inner.name, ext.name if isinstance(ext, c_ast.Typedef) else None} - {None}:
                if body is not None or key not in out["structs"]:
                    out["structs"][key] = body
        if isinstance(ext, c_ast.Typedef):
            out["typedefs"][ext.name] = _typestr(ext)
        elif isinstance(ext, c_ast.Decl) and isinstance(ext.type, c_ast.FuncDecl):
            out["functions"][ext.name] = _typestr(ext)
    return out


# ------------------------------------------------------------------ stream registrations

_STREAM_NEW = re.compile(r"\bwb_stream_new\s*\(\s*[^,()]+,\s*(?P<name>[^,]+?)\s*,\s*"
                         r"sizeof\s*\(?\s*(?P<type>\w+)\s*\)?\s*\)")


def _names(expr: str, before: str, where: str) -> list[str]:
    """The strings a stream-name expression can hold, from the code before it: a literal; a
    variable set by ``snprintf(var, n, "FMT", arg)`` (each value of arg put in FMT) or
    assigned an expression of literals (``x = cond ? "a" : "b"``)."""
    expr = expr.strip()
    if re.fullmatch(r'"[^"]*"', expr):
        return [expr[1:-1]]
    assert re.fullmatch(r"\w+", expr), f"{where}: cannot read the stream name {expr!r}"
    fmt = rf'snprintf\s*\(\s*{expr}\s*,[^,]+,\s*"([^"]*)"\s*,\s*(\w+)\s*\)'
    assign = rf"\b{expr}\s*=\s*([^;=][^;]*);"
    last = max(((m.start(), m) for pat in (fmt, assign) for m in re.finditer(pat, before)),
               key=lambda x: x[0], default=(None, None))[1]
    assert last is not None, f"{where}: cannot see where the stream name {expr!r} is set"
    if last.re.pattern == fmt:
        return [last.group(1).replace("%s", v) for v in _names(last.group(2), before[:last.start()], where)]
    literals = re.findall(r'"([^"]*)"', last.group(1))
    assert literals, f"{where}: the stream name {expr!r} is not set from literals: {last.group(0)}"
    return literals


def stream_registrations() -> dict[str, tuple[Path, str]]:
    """{stream name: (file that registers it, C type of its records)} over every engine
    source that calls ``wb_stream_new``."""
    out: dict[str, tuple[Path, str]] = {}
    for path in sources():
        code = strip(path.read_text())[0]
        for m in re.finditer(r"\bwb_stream_new\s*\((?!\s*wb_machine\b)", code):  # calls, not prototypes
            assert _STREAM_NEW.match(code, m.start()), \
                f"{path}: cannot read the registration {code[m.start():m.start() + 80]!r}"
        for m in _STREAM_NEW.finditer(code):
            for name in _names(m.group("name"), code[:m.start()], f"{path.name}: {m.group(0)}"):
                assert name not in out, f"stream {name!r} registered twice ({out[name][0]}, {path})"
                out[name] = (path, m.group("type"))
    return out
