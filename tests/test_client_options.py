"""The engine's parser of a client's options (wb_client_options, wb_option_number in
native/src/client.c), as the clients written in C use it: "client:key=value,key=value" on the
command-line runner, below the Python checks of workbench/config_checks.py."""
from __future__ import annotations

import subprocess

import pytest

from conftest import wbrun_binaries
from workbench import guests

RUNNERS = wbrun_binaries()


def refused(runner, client_spec, *flags):
    """wbrun's message when it refuses -c client_spec (it must refuse before running)."""
    r = subprocess.run([str(runner), "-T", "jit", *flags, "-c", client_spec, str(guests.build("heapbugs")), "clean", "1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0, f"{client_spec} was accepted"
    return r.stderr.strip().splitlines()[-1]


@pytest.mark.skipif(not RUNNERS, reason="no wbrun next to the engine library")
@pytest.mark.parametrize("spec, flags, message", [
    ("watchheap:redzone", ["-W", "unlimited"], "watchheap: option redzone has no value"),
    ("watchheap:redzone=0", ["-W", "unlimited"], "watchheap: redzone=0 is out of range 1..4096"),
    ("watchheap:redzone=12x", ["-W", "unlimited"], "watchheap: redzone=12x is not a number"),
    ("watchheap:quarantine=-1", ["-W", "unlimited"], "watchheap: quarantine=-1 is not a number"),
    ("watchheap:redzone=8,,size=3", ["-W", "unlimited"], "watchheap: unknown option size"),
    ("fasttrack:cache=0", [], "fasttrack: cache=0 is out of range 1..16777216"),
    ("fasttrack:cache=8", [], "fasttrack: cache and blb size the per-thread units of mode=watchsets"),
    ("fasttrack:mode=half", [], "fasttrack: unknown mode half"),
    ("barrier:untouched_pct=101", [], "barrier: untouched_pct=101 is out of range 0..100"),
    ("barrier:sample_bytes=" + "9" * 30, [], "barrier: sample_bytes=" + "9" * 30 + " is out of range"),
    ("bursty:sample_bytes=4", [], "bursty: unknown option sample_bytes"),
    ("taint:file=", ["-W", "unlimited", "-P", "deterministic"], "taint: unknown option or value file="),
    ("taint:file=" + "x" * 1100, ["-W", "unlimited", "-P", "deterministic"], "taint: options longer than 1023 characters"),
])
def test_bad_options_are_named(spec, flags, message):
    for runner in RUNNERS:
        assert message in refused(runner, spec, *flags)


@pytest.mark.skipif(not RUNNERS, reason="no wbrun next to the engine library")
def test_good_options_run():
    # hexadecimal numbers, empty items, options in any order
    for runner in RUNNERS:
        r = subprocess.run([str(runner), "-T", "jit", "-W", "unlimited", "-c", "watchheap:,quarantine=0x10,,redzone=32,",
                            str(guests.build("heapbugs")), "clean", "1"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
