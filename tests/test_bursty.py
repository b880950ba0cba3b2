"""The bursty-tracing baseline (the "bursty" client, native/src/clients/barrier.c; blocks with
a checking and an instrumented copy, wb_bb_burst in the translator).

Always instrumented, it must record exactly the per-object profile the barrier profiler
records with every object sampled — two unrelated mechanisms (instrumented loads and stores
vs. faults on barrier pointers) agreeing record for record. With bursts, it records a
fraction of the accesses, identically on both tiers, and never changes the program's output.
"""
from __future__ import annotations

import numpy as np
import pytest

from workbench import Machine, available_tiers, guests

INPUT = b"".join(b"line %04d of the input\n" % i for i in range(150))[:4101]
FIELDS = ["site", "addr", "size", "accesses", "reads", "writes", "bytes_touched", "max_read",
          "max_write", "first_icount", "last_icount", "flags"]
PROGRAMS = {"objects": ([], INPUT), "heads": (["300"], None)}


def _run(name, client, tier="jit", **opts):
    args, stdin = PROGRAMS[name]
    m = Machine(tier=tier, clients=[client], client_options={client: opts})
    r = m.run(guests.build(name), args, stdin=stdin, capture=True)
    assert r.ok, r.message
    return r


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_always_instrumented_equals_the_barrier_ground_truth(name):
    b = _run(name, "barrier", sample_bytes=0, per_site=0, max_accesses=0)
    t = _run(name, "bursty", period=1, length=1, max_accesses=0)
    assert t.stdout == b.stdout
    rb, rt = b.records["barrier"], t.records["bursty"]
    assert len(rb) == len(rt) > 3
    for f in FIELDS:
        np.testing.assert_array_equal(rb[f], rt[f], err_msg=f)
    assert rb.tobytes() == rt.tobytes()
    assert b.records["barrier_touched"].tobytes() == t.records["bursty_touched"].tobytes()


def test_bursts_record_a_fraction_identically_on_both_tiers():
    runs = {tier: _run("heads", "bursty", tier=tier, period=50, length=5, max_accesses=0)
            for tier in available_tiers()}
    full = _run("heads", "bursty", period=1, length=1, max_accesses=0)
    total = int(full.records["bursty"]["accesses"].sum())
    for tier, r in runs.items():
        got = int(r.records["bursty"]["accesses"].sum())
        assert 0 < got < total / 3, tier
        assert r.stdout == full.stdout
    recs = [r.records["bursty"].tobytes() for r in runs.values()]
    assert all(x == recs[0] for x in recs)


def test_bad_options():
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown option"):
        _run("heads", "bursty", sample_bytes=5)
