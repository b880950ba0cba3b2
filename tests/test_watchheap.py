"""The watchheap client: heap bounds and use-after-free checks on the watchpoint unit
(native/src/clients/watchheap.c). Planted bugs are found exactly, on every mechanism and both
tiers; correct programs give no finding."""
import pytest

from workbench import Machine
from workbench.errors import ConfigError

#: heapbugs' six bugs: (kind, offset, access kind, access size, block size), in program order
PLANTED = [
    ("overflow", 16, "load", 1, 16),          # read_past_end, a thousand times: reported once
    ("underflow", -1, "store", 1, 32),        # write_before_start
    ("use_after_free", 3, "load", 1, 16),     # read_after_free
    ("use_after_free", 0, "store", 8, 64),    # write_after_free
    ("overflow", 24, "store", 4, 24),         # write_word_past_end (a calloc'ed block)
    ("use_after_free", 3, "load", 1, 8),      # read_moved_block (the block realloc moved)
]
FUNCTIONS = ["read_past_end", "write_before_start", "read_after_free", "write_after_free",
             "write_word_past_end", "read_moved_block"]
KINDS = {0: "overflow", 1: "underflow", 2: "use_after_free"}
ACCESS = {0: "load", 1: "store", 2: "atomic"}


def _findings(run):
    return [(KINDS[int(r["kind"])], int(r["offset"]), ACCESS[int(r["access"])], int(r["access_size"]),
             int(r["size"])) for r in run.records["watchheap"]]


@pytest.mark.parametrize("tier", ["interp", "jit"])
@pytest.mark.parametrize("mech", ["unlimited", "pageprot", "software"])
def test_planted_bugs_are_found_exactly(tier, mech):
    run = Machine(tier, watch=mech, clients=["watchheap"]).run("heapbugs", capture=True)
    assert run.ok, run.message
    assert run.stdout.decode().splitlines() == ["realloc moved the block: yes", "heapbugs: done"]
    assert _findings(run) == PLANTED


def test_findings_name_their_functions_and_sites():
    ds = Machine("jit", watch="unlimited", clients=["watchheap"]).run("heapbugs", capture=True).events("watchheap")
    assert [s.split("+")[0] for s in ds.symbol.values] == FUNCTIONS
    assert all(s.startswith("main+") for s in ds.site_symbol.values)
    assert ds.kind.attrs["flag_meanings"] == "overflow underflow use_after_free"


def test_quarantine_zero_misses_uses_after_free():
    run = Machine("jit", watch="unlimited", clients=["watchheap"],
                  client_options={"watchheap": {"quarantine": 0}}).run("heapbugs", capture=True)
    assert _findings(run) == [f for f in PLANTED if f[0] != "use_after_free"]


def test_a_wider_redzone_still_finds_the_same():
    run = Machine("jit", watch="unlimited", clients=["watchheap"],
                  client_options={"watchheap": {"redzone": 64}}).run("heapbugs", capture=True)
    assert _findings(run) == PLANTED


@pytest.mark.parametrize("program, args", [("heapbugs", ["clean", "200"]), ("lua54", ["-e", "local t={} for i=1,20000 do t[i]=tostring(i) end print(#t)"]),
                                           ("zstd", ["200000"])])
def test_correct_programs_have_no_findings(program, args):
    plain = Machine("jit").run(program, args, capture=True)
    run = Machine("jit", watch="unlimited", clients=["watchheap"]).run(program, args, capture=True)
    assert run.ok, run.message
    assert run.stdout == plain.stdout
    assert len(run.records["watchheap"]) == 0
    assert run.watch["sets"] > 0            # the redzones were watched


def test_watchheap_needs_the_unit_and_good_options():
    with pytest.raises(ConfigError, match="needs the watchpoint unit"):
        Machine("jit", clients=["watchheap"]).run("heapbugs", capture=True)
    with pytest.raises(ConfigError, match="redzone"):
        Machine("jit", watch="unlimited", clients=["watchheap"], client_options={"watchheap": {"redzone": 0}})
    with pytest.raises(ConfigError, match="unknown option"):
        Machine("jit", watch="unlimited", clients=["watchheap"], client_options={"watchheap": {"size": 3}})
