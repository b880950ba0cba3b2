# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Unlimited watchpoints: a range cache instead of page protection
#
# Greathouse et al. (ASPLOS 2012) keep an unlimited number of byte-granular watchpoints in
# memory and cache the recently used ones on chip: a *range cache* of runs of bytes with the
# same watch bits, and a *bitmap lookaside buffer* for lines cut into many small runs
# (docs/watchpoints.md). This engine models that unit exactly, checks real guest accesses with
# it, and runs the same analysis on the three mechanisms it competes with: page protection,
# four debug registers, and a software check on every access.
#
# This notebook shows the guest using watchpoints itself, a heap checker built on them, the
# range cache at every size from one recorded run, and the study that puts the mechanisms side
# by side.

# %% tags=["parameters"]
# Parameters (papermill can override them): "small" takes well under a minute.
scale = "small"
# a directory to keep (and resume) the study's sweep; None: a new temporary one
store = None
fresh = False
# rerun = False shows the study's reference result kept in the repository
# (datasets/watchpoints-paper.nc, paper scale; instant); rerun = True measures it now at `scale`
rerun = False

# %%
import tempfile
from pathlib import Path

from workbench import Machine, reference
from workbench.models import watch
from workbench.studies import check_scale
from workbench.studies import watchpoints as wp_study
from workbench.widgets import WatchpointCacheExplorer, use_offline_charts

use_offline_charts()  # live charts, each with a PNG copy for viewers without a kernel
check_scale(scale)  # a clear message for a bad papermill value ("small" or "paper")
store = Path(store) if store else Path(tempfile.mkdtemp(prefix="wb-watchpoints-"))

# %% [markdown]
# ## The guest's own watchpoints
#
# With a unit, the engine gives the guest two custom-0 instructions, `wp.set` and `wp.clear`
# (address, length, read/write flags). An access that touches a watched byte completes and
# then traps: the guest's SIGTRAP handler gets the address in `si_addr`, as a debugger does
# with x86 data breakpoints, but for any number of ranges. `wpdebug` checks the semantics and
# then watches a thousand separate words.

# %%
run = Machine(watch="unlimited").run("wpdebug", capture=True)
print(run.stdout.decode())
{k: run.watch[k] for k in ("guest_sets", "guest_clears", "lookups", "hits", "misses", "traps")}

# %% [markdown]
# ## A heap checker on the unit
#
# The `watchheap` client puts watched redzones around every heap block and watches freed
# blocks until their memory is handed out again. `heapbugs` plants six bugs; each finding
# names the instruction and the allocation site.

# %%
bugs = Machine(watch="unlimited", clients=["watchheap"]).run("heapbugs", capture=True)
findings = bugs.events("watchheap").to_dataframe()
findings[["symbol", "kind", "offset", "access", "access_size", "size", "site_symbol"]]

# %% [markdown]
# ## Taint tracking on the unit
#
# The `taint` client makes the bytes read from a chosen file the source. Tainted memory is
# the unit's watch set, so code that touches none runs at full speed; a load of tainted bytes
# switches the JIT to its blocks' *taint copies*, which propagate a byte mask per register
# inline until no register is tainted. `taintflow` sends its input along seven paths of known
# sizes: a copy, a hash printed in digits, an lseek offset, an overwrite, a partial re-read, a
# byte picked out with shifts and a table look-up (addresses carry no taint, so that one is
# clean). Each row is a source or a sink the taint reached.

# %%
import random

taint_root = Path(tempfile.mkdtemp(prefix="wb-taint-"))
(taint_root / "src.bin").write_bytes(bytes(random.Random(5).randrange(256) for _ in range(100)))
(taint_root / "other.txt").write_bytes(b"o" * 40)
flows = Machine(watch="unlimited", root=taint_root, clients=["taint"],
                client_options={"taint": {"file": "src.bin"}}).run("taintflow", ["/src.bin", "/other.txt"],
                                                                    capture=True)
flows.events("taint").to_dataframe()

# %% [markdown]
# ## One recorded run, every cache size
#
# With `watch_trace=True` the unit records every set, clear and checked access. The numba
# model replays that trace for every range-cache size in one pass; its row at the size the
# run used equals the online unit's counters exactly. Move the slider: hit rate and the cycle
# model's slowdown (every cost parameter states its source in
# `workbench.models.watch_cost.SOURCES`); the dashed rules are the slowdowns the study
# measured for the same analysis on the real mechanisms.

# %%
ds = wp_study.run(scale, store=store, progress=False, fresh=fresh) if rerun else reference.load("watchpoints")
if not rerun:
    print(f"the reference result: {reference.path('watchpoints').name}, measured "
          f"{ds.attrs.get('measured_from', '?')} to {ds.attrs.get('measured_to', '?')} on "
          f"{ds.attrs.get('host_cpu', '?')} (rerun = True measures it again)")
rounds = 100 if scale == "small" else 1000
traced = Machine(watch="unlimited", watch_trace=True, clients=["watchheap"]).run(
    "heapbugs", ["clean", str(rounds)], capture=True)
workload = "heapbugs" if "heapbugs" in ds.workload.values else str(ds.workload.values[0])
cell = ds.overhead_ratio.sel(workload=workload, analysis="heap")
measured = {m: float(cell.sel(mechanism=m)) for m in ("unlimited", "pageprot", "software")}
explorer = WatchpointCacheExplorer.from_run(traced, measured=measured)
explorer

# %%
explorer.describe()

# %% [markdown]
# ## The study: analyses on four mechanisms
#
# Every cell runs the JIT three times; `x plain` is the median time against the plain run.
# The unit's counters (look-ups, hit rate) are the same on every mechanism: they describe the
# modelled hardware. What differs is what finding those accesses costs here: a host fault
# each under page protection (and the false ones, on watched pages but not watched bytes), an
# inline check per marked instruction under `unlimited`, a check before every access under
# `software`. Debug registers hold none of the 16-byte redzones: nothing is watched, and
# the checker is blind. For `taint` most instructions of a compressor run on tainted values
# (`stepped %`): its cost is the propagation's, on every mechanism alike. For `race` (the
# threaded workloads) `software` is the FastTrack detector checking every access and
# `unlimited` gives each thread a unit of its own holding its read and write sets; both find
# the same races (`findings`).

# %%
wp_study.summary(ds)

# %% [markdown]
# ## Beside the paper
#
# The paper reports nearly 9x for a race detector's read/write-set checks on watchpoints
# against software. The table divides page protection's and software's overhead by the
# unit's for every analysis. For `race` it adds what counts for the paper's hardware: the
# share of accesses that still reach the detector (the units skip the rest), and the cycle
# model's cost of the checks in software over on the units.

# %%
wp_study.paper_comparison(ds)

# %% [markdown]
# ## What differs from the paper, and what is still to come
#
# - **The unit is emulated.** `unlimited` runs the model of the unit in C on every checked
#   access, so its measured time is an upper bound of the hardware's; `modelled x` in the table
#   is the cycle model's estimate from the same counters.
# - **Page granularity of the filter.** Only accesses that touch a page holding a watch reach
#   the unit; on a heap with redzones everywhere that is nearly every heap access.
# - **Taint is data flow only.** Addresses and branches carry no taint, so a compressor's
#   Huffman- and FSE-coded output (table look-ups indexed by tainted symbols) is clean, as in
#   most dynamic taint trackers.
# - **Race checks and the range cache.** The units skip all but a few percent of the
#   accesses, and a set or clear rewrites the range cache's entries in place (split and
#   merged, as in the paper), so the accesses beside a trigger still hit. Where a thread's
#   accesses scatter (`zstd-mt`), its unit fills with small runs and a 64-entry cache misses
#   on a few percent of look-ups; at the cycle model's 500 cycles per miss against 4 per
#   software check the units then cost more than software checks. On `racy` they cost a
#   fraction of them. The model prices the sets and clears themselves at
#   `CostModel(change=...)` cycles each, 0 by default (the paper gives no cost for updating
#   the in-memory table); `racy`'s lead depends on it.
