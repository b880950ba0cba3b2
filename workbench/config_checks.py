"""Checking what callers hand a Machine: the built-in clients' options (the table their C
parsers read, and the ``k=v,k=v`` string they get) and the scalar settings (integers in a
range, text, flags, seconds), each refused with a ConfigError that names it and says why.

This module owns :data:`CLIENT_OPTIONS`, :data:`CLIENT_NEEDS` and the ``_check_*`` helpers;
``workbench.machine`` (and ``workbench.system``) use them.
"""
from __future__ import annotations

import math
import numbers
import os
import re
from typing import Mapping

from ._engine import WB_WALL_LIMIT_NONE_S
from .errors import ConfigError

U64_MAX = 2**64 - 1
#: a ``wall_limit`` of this many seconds (~31 years) or more, or ``inf``, means no limit (the
#: engine counts the limit in uint64 nanoseconds, which overflow past ~1.8e10 s)
WALL_LIMIT_UNLIMITED = WB_WALL_LIMIT_NONE_S

# Options of the built-in clients, as their C parsers (native/src/clients/*.c) read them:
# (lo, hi) an integer in that range, "flag" 0/1 (or a bool), "sites" shrink's SITE:CUT/... plan,
# "token" a str without ',', '=', ':', whitespace or NUL (taint's file name), a frozenset one of
# its words (fasttrack's mode).
_PROFILER_OPTIONS = {"max_accesses": (0, U64_MAX), "settle": "flag", "untouched_pct": (0, 100),
                     "contents": "flag", "log_allocs": "flag"}
CLIENT_OPTIONS = {
    "null": {}, "icount": {}, "bbprofile": {}, "memtrace": {}, "memphys": {},
    "barrier": {"sample_bytes": (0, U64_MAX), "per_site": "flag", **_PROFILER_OPTIONS},
    "bursty": {"period": (1, 2**63 - 1), "length": (0, 2**63 - 1), **_PROFILER_OPTIONS},
    "shrink": {"sites": "sites", "max_slots": (0, U64_MAX)},
    "watchheap": {"redzone": (1, 4096), "quarantine": (0, 1 << 24)},
    "taint": {"file": "token", "stdin": "flag", "addresses": "flag"},
    "aikido": {"count": "flag"},
    "fasttrack": {"mode": frozenset({"full", "filtered", "watchsets"}), "cache": (1, 1 << 24),
                  "blb": (0, 1 << 24)},
}
#: Machine settings a client cannot run without (what the engine study and wb bench give it)
CLIENT_NEEDS = {"watchheap": {"watch": "unlimited"},
                "taint": {"watch": "unlimited", "schedule": "deterministic"}}


def client_settings(clients) -> dict:
    """The Machine settings ``clients`` need to run (:data:`CLIENT_NEEDS`), merged.

    >>> client_settings(["memtrace", "watchheap"])
    {'watch': 'unlimited'}
    >>> client_settings(["taint"])
    {'watch': 'unlimited', 'schedule': 'deterministic'}
    """
    out: dict = {}
    for c in clients:
        out.update(CLIENT_NEEDS.get(c, {}))
    return out


_NUM = r"(?:0[xX][0-9a-fA-F]+|0|[1-9][0-9]*)"      # what C's strtoull(s, 0) reads, minus octal
_SITES = re.compile(rf"{_NUM}:{_NUM}(?:/{_NUM}:{_NUM})*")
_TOKEN = re.compile(r"[^,=:\s\x00]+")                # an option value C reads as one token
_OPTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _bound(n: int) -> str:
    """``n`` as a readable bound: ``2**64-1`` rather than its 20 digits."""
    if n >= 1 << 20 and n & (n - 1) == 0:
        return f"2**{n.bit_length() - 1}"
    if n >= 1 << 20 and n & (n + 1) == 0:
        return f"2**{n.bit_length()}-1"
    return str(n)


def _check_int(name: str, value, lo: int = 0, hi: int = U64_MAX) -> int:
    """``value`` as an ``int`` in ``[lo, hi]``, else ConfigError naming ``name`` and why: bools
    (``max_insns=True`` is not a budget of 1), floats, strings and out-of-range values are refused.

    >>> _check_int("seed", 7)
    7
    >>> _check_int("max_insns", True, 1)
    Traceback (most recent call last):
    ...
    workbench.errors.ConfigError: max_insns must be an integer in [1, 2**64-1], got True (a bool is not a number)
    """
    if isinstance(value, bool):
        why = "a bool is not a number"
    elif isinstance(value, (str, bytes)):
        why = f"a {type(value).__name__} is not a number"
    elif isinstance(value, numbers.Integral):
        if lo <= value <= hi:
            return int(value)
        why = "out of range"
    elif isinstance(value, numbers.Real):
        why = "not an integer"
    else:
        why = "not a number"
    raise ConfigError(f"{name} must be an integer in [{_bound(lo)}, {_bound(hi)}], got {value!r} ({why})")


def _check_text(name: str, value, *, path: bool = False) -> str:
    """``value`` as a ``str`` that C can take whole: no NUL (a C string would end there) and
    encodable to bytes. ``path=True`` also takes ``os.PathLike``. Else ConfigError.

    >>> _check_text("cwd", "/tmp")
    '/tmp'
    >>> _check_text("argv0", "a\\0b")
    Traceback (most recent call last):
    ...
    workbench.errors.ConfigError: argv0 contains a NUL character, which would cut the C string short: 'a\\x00b'
    """
    if path and isinstance(value, os.PathLike):
        value = os.fspath(value)
        value = os.fsdecode(value) if isinstance(value, bytes) else value
    if not isinstance(value, str):
        kind = "a str or os.PathLike" if path else "a str"
        raise ConfigError(f"{name} must be {kind}, got {type(value).__name__} {value!r}")
    if "\0" in value:
        raise ConfigError(f"{name} contains a NUL character, which would cut the C string short: {value!r}")
    try:
        os.fsencode(value)
    except UnicodeError as e:
        raise ConfigError(f"{name} cannot be encoded for the guest: {value!r} ({e.reason})") from None
    return value


def _check_bool(name: str, value) -> bool:
    """``value`` as a ``bool`` (True, False, 1 or 0), else ConfigError (``capture="no"`` is a
    mistake, not True).

    >>> _check_bool("capture", 1)
    True
    """
    if isinstance(value, bool) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    raise ConfigError(f"{name} must be True or False, got {value!r}")


def _check_seconds(name: str, value) -> float | None:
    """A time limit in seconds: a positive number, or None for no limit; ``inf`` and anything
    from ``WALL_LIMIT_UNLIMITED`` (1e9 s) up also mean no limit (None). NaN, negative, zero,
    bools and non-numbers raise ConfigError.

    >>> _check_seconds("wall_limit", 2), _check_seconds("wall_limit", float("inf"))
    (2.0, None)
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a number of seconds or None, got {value!r}")
    value = float(value)
    if math.isnan(value) or not value > 0:
        raise ConfigError(f"{name} must be a positive number of seconds (None = no limit), got {value!r}")
    return None if value >= WALL_LIMIT_UNLIMITED else value


def _check_option(name: str, value, spec) -> str:
    """One client option value, validated against its ``spec`` (from ``CLIENT_OPTIONS``;
    None for a client without a table) and formatted for the C side's ``k=v,k=v`` string, so
    no value can end its option early or inject another. Else ConfigError naming ``name``.

    >>> _check_option("client_options['barrier']['per_site']", True, "flag")
    '1'
    >>> _check_option("client_options['barrier']['sample_bytes']", "1,max_accesses=5", (0, U64_MAX))
    Traceback (most recent call last):
    ...
    workbench.errors.ConfigError: client_options['barrier']['sample_bytes'] must be an integer in [0, 2**64-1], got '1,max_accesses=5' (a str is not a number)
    """
    if isinstance(spec, frozenset):                           # one of these words
        if isinstance(value, str) and value in spec:
            return value
        raise ConfigError(f"{name} must be one of {', '.join(sorted(spec))}, got {value!r}")
    if isinstance(spec, tuple):
        return str(_check_int(name, value, *spec))
    if spec == "flag":
        return str(int(_check_bool(name, value)))
    if spec == "sites":
        if isinstance(value, str) and _SITES.fullmatch(value) and \
                all(int(n, 0) <= U64_MAX for n in re.split("[:/]", value)):
            return value
        raise ConfigError(f"{name} must be a str SITE:CUT/SITE:CUT/... of integers below 2**64 "
                          f"(decimal or 0x hex), got {value!r}")
    if isinstance(value, str) and spec in (None, "token"):   # a name, or a client without a table
        if _TOKEN.fullmatch(value):
            return value
        raise ConfigError(f"{name} must be a non-empty token without ',', '=', ':', whitespace "
                          f"or NUL, got {value!r}")
    if spec == "token":
        raise ConfigError(f"{name} must be a str, got {type(value).__name__} {value!r}")
    return str(_check_int(name, value))


def _client_options_string(client: str, options) -> str:
    """The ``k=v,k=v`` option string of ``client`` (what the C client parses), every name and
    value checked (``_check_option``). Unknown names raise ConfigError listing the valid ones.

    >>> _client_options_string("barrier", {"sample_bytes": 0, "per_site": False})
    'sample_bytes=0,per_site=0'
    """
    where = f"client_options[{client!r}]"
    if not isinstance(options, Mapping):
        raise ConfigError(f"{where} must be a dict of options, got {type(options).__name__} {options!r}")
    table = CLIENT_OPTIONS.get(client)
    out = []
    for k, v in options.items():
        if table is not None and k not in table:
            valid = f"options of {client}: {', '.join(sorted(table))}" if table else f"{client} takes no options"
            raise ConfigError(f"{where}: unknown option {k!r} ({valid})")
        if not (isinstance(k, str) and _OPTION_NAME.fullmatch(k)):
            raise ConfigError(f"{where}: option names are identifiers, got {k!r}")
        out.append(f"{k}={_check_option(f'{where}[{k!r}]', v, None if table is None else table[k])}")
    return ",".join(out)

