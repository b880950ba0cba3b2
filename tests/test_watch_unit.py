"""The engine's watchpoint unit (native/src/watch/) against the trace-driven model
(workbench.models.watch): both follow docs/watchpoints.md, so on the same trace every counter
must be equal, for every range-cache size. Also the unit's own cases: known counts, bad
records, the memory cap, a million watchpoints."""
from __future__ import annotations

import numpy as np
import pytest

from workbench import watch
from workbench.errors import ConfigError
from workbench.models import watch as model

TOP = 2**64 - 1


def _random_trace(seed: int, n: int, window: int = 4096, top_share: float = 0.05) -> np.ndarray:
    """Sets, clears and accesses over a small window (so they collide), a few at the top of the
    address space (its edge cases), with a mix of lengths."""
    rng = np.random.default_rng(seed)
    t = np.zeros(n, dtype=model.OP_DTYPE)
    kind = rng.choice(4, size=n, p=[0.4, 0.3, 0.18, 0.12])
    t["kind"] = kind
    t["flags"] = rng.integers(1, 4, size=n)
    acc = kind < 2
    t["len"] = np.where(acc, rng.choice([1, 2, 4, 8], size=n), rng.integers(1, 300, size=n))
    addr = rng.integers(0, window, size=n).astype(np.uint64)
    top = rng.random(n) < top_share
    t["addr"] = np.where(top, np.uint64(TOP) - rng.integers(0, 600, size=n).astype(np.uint64), addr)
    # nothing may run past the top: shorten what would
    room = np.uint64(TOP) - t["addr"]            # the bytes after the first one
    with np.errstate(over="ignore"):
        t["len"] = np.where(t["len"] - np.uint64(1) > room, room + np.uint64(1), t["len"])
    return t


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_engine_equals_the_model_for_every_size(seed):
    trace = _random_trace(seed, 20_000)
    sizes = [1, 2, 3, 8, 64, 1024]
    swept = model.sweep(trace, sizes)
    for size in sizes:
        ours = watch.replay(trace, size)
        assert ours == model.replay(trace, size), size
        assert ours == {k: int(v) for k, v in swept.loc[size].items()}, size
    assert ours["triggers"] > 0 and ours["splits"] > 0 and ours["merges"] > 0 and ours["invalidations"] > 0


def test_known_counts():
    ops = model.ops([
        (2, 1, 100, 100),       # watch [100, 199] for reads
        (0, 0, 150, 4),         # a load inside: a miss, triggers
        (1, 0, 150, 4),         # a store there: a hit, no trigger
        (0, 0, 198, 4),         # across the segment's end: two runs, two look-ups
        (2, 1, 120, 10),        # inside the same-bits segment: cut at both ends, joined again
        (3, 1, 140, 10),        # a hole in the middle: two cuts, nothing joins
        (2, 2, 200, 10),        # write-watch right after: other bits, no join
    ])
    c = watch.replay(ops, 8)
    assert (c["loads"], c["stores"], c["sets"], c["clears"]) == (2, 1, 3, 1)
    assert c["triggers"] == 2
    assert c["lookups"] == 4 and c["hits"] == 2 and c["misses"] == 2 == c["handler_calls"]
    assert c["splits"] == 2 + 2 and c["merges"] == 2
    assert c["segments_max"] == 3 and c["evictions"] == 0
    # the sets and clears rewrite the cached runs in place: [100, 199] unchanged (1), cut in
    # three (3), then [150, 199] unchanged and the gap after it cut in two (3)
    assert (c["updates"], c["invalidations"]) == (7, 0)


def test_bad_records_are_named():
    good = (0, 0, 0, 8)
    for bad, why in [((2, 1, 5, 0), "empty"), ((2, 1, TOP, 2), "end of the address space"),
                     ((0, 0, 0, 9), "1 to 8 bytes"), ((2, 4, 0, 8), "bits"), ((7, 0, 0, 1), "unknown kind")]:
        with pytest.raises(watch.TraceError, match=f"record 1: .*{why}"):
            watch.replay(model.ops([good, bad]), 4)
    with pytest.raises(ConfigError, match="rc_entries"):
        watch.replay(model.ops([good]), 0)
    with pytest.raises(ConfigError, match="OP_DTYPE"):
        watch.replay(np.zeros(3, dtype=np.uint64), 4)


def test_clearing_what_was_never_set_changes_nothing():
    c = watch.replay(model.ops([(3, 3, 0, 1 << 40), (0, 0, 5, 8), (3, 1, 7, 1)]), 4)
    assert c["segments_max"] == 0 and c["triggers"] == 0 and c["splits"] == 0 and c["merges"] == 0


def test_a_million_watchpoints_in_any_order():
    """A million separate 4-byte watchpoints set in random order, then every one read: the
    table holds them all (chunked, so no insertion shifts more than a chunk)."""
    n = 1_000_000
    rng = np.random.default_rng(7)
    starts = rng.permutation(n).astype(np.uint64) * np.uint64(16)
    t = np.zeros(2 * n, dtype=model.OP_DTYPE)
    t["kind"][:n], t["flags"][:n], t["addr"][:n], t["len"][:n] = 2, 3, starts, 4
    t["kind"][n:], t["addr"][n:], t["len"][n:] = 0, starts, 4
    c = watch.replay(t, 4096)
    assert c["segments_max"] == n and c["triggers"] == n and c["lookups"] == n
