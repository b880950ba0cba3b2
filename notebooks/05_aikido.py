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
# # Aikido: a race detector that only looks at shared pages
#
# Olszewski, Zhao et al. (ASPLOS 2012) noticed that a race detector only needs the accesses to
# memory that more than one thread touches, and that per-thread page protection finds those
# cheaply. Every thread gets its own view of memory with every page closed. A page is
# *private* to the first thread that touches it (it opens in that thread's view only); when a
# second thread touches it, it becomes *shared* for good. Only the instructions that touch
# shared pages are instrumented; everything else runs at full speed (docs/aikido.md).
#
# This notebook shows the per-thread views on two of our threaded programs, the FastTrack race
# detector on every access and behind the filter (and the race the filter misses by design),
# and the study that measures what the filter saves.

# %% tags=["parameters"]
# Parameters (papermill can override them): "small" takes about a minute and a half.
scale = "small"
# a directory to keep (and resume) the study's sweep; None: a new temporary one
store = None
fresh = False
# rerun = False shows the study's reference result kept in the repository
# (datasets/aikido-paper.nc, paper scale; instant); rerun = True measures it now at `scale`
rerun = False

# %%
import tempfile
from pathlib import Path

import pandas as pd
from elftools.elf.elffile import ELFFile

from workbench import Machine, reference
from workbench.studies import aikido as aikido_study
from workbench.studies import check_scale
from workbench.widgets import SharingExplorer, use_offline_charts
from workbench.widgets.aikido import overhead_chart, speedup_chart

use_offline_charts()  # live charts, each with a PNG copy for viewers without a kernel
check_scale(scale)  # a clear message for a bad papermill value ("small" or "paper")
store = Path(store) if store else Path(tempfile.mkdtemp(prefix="wb-aikido-"))
# every run below as the study runs its cells: the JIT, and the deterministic schedule, so the
# threads interleave the same way every time and the same races are reported
RUN = {"tier": "jit", "schedule": "deterministic"}

# %% [markdown]
# ## Per-thread views
#
# The `aikido` client gives each guest thread a view of its own. While a program has one
# thread nothing can be shared, so that thread's view is open and takes no fault; when the
# second thread starts, the first *claims* every page that holds data by then
# (`pages_claimed`). The counters say how many pages were touched and how many became shared,
# how many faults that took (a first touch, a share, then one per access of a not yet marked
# instruction to a shared page), how many instructions were marked and how many of their
# accesses hit a shared page. `psum` sums
# private slices of an array the main thread set up; in `racy` every thread updates one shared
# histogram. Both run four worker threads at the study's small size (the picture is the same
# at any size; more pages only make it longer).

# %%
views = {}
for workload in ("psum", "racy"):
    args = aikido_study.workload_args(workload, aikido_study.SIZES["small"][workload], 4)
    views[workload] = Machine(**RUN, clients=["aikido"]).run(workload, args, capture=True)
    assert views[workload].ok, views[workload].message
pd.DataFrame({w: r.aikido for w, r in views.items()})

# %% [markdown]
# The sharing map of `psum`: one row per page (ranked by address), a dot where a thread
# touched it first, coloured by that thread, and a black-outlined cross where a second thread
# touched it, coloured by the new sharer. Pick a thread to highlight it; the page axis can
# show the addresses instead.
#
# The main thread fills the whole array alone, without a fault; when the first worker starts,
# it claims every page holding data (the column of dots, all at one instant). A worker's
# first load from a page of its slice faults in its own view: the page is the main thread's,
# so the load shares it (a cross) and is marked. A marked load tests the filter inline: a
# shared page goes to the analysis, any other page through the worker's own view, where a
# page of the main thread's still faults and is shared in turn. So nearly every page of the
# array ends up shared: the workers read what the main thread wrote, and read-sharing is
# sharing for Aikido too. The other crosses are data the main thread set up for the workers
# (their stacks and thread descriptors, the job descriptions, globals such as the array's
# size) and the allocator's metadata.

# %%
SharingExplorer(views["psum"].events("aikido"))

# %% [markdown]
# In `racy` the histogram's page is shared as soon as a second worker updates it, and from
# then on every update is analysed: nearly all of `racy`'s accesses hit a shared page
# (`shared_accesses` above), however few pages that is.

# %%
SharingExplorer(views["racy"].events("aikido"), thread=2)

# %% [markdown]
# ## FastTrack on every access, and behind the filter
#
# The `fasttrack` client is a FastTrack happens-before detector. In `mode=full` it checks every
# plain load and store; in `mode=filtered` only those the views find on a shared page.
# `races all_racy` runs the seeded races of `workloads/threads/races.c` one after another:
# `flag` (an unsynchronised flag and its payload), `hist` (a racy histogram) and `late`. Each
# row is a racing pair of instructions (the earlier access, the later one) and how many times
# each mode caught it.

# %%
n = str(aikido_study.SIZES[scale]["races"])
found = {}
for mode in ("full", "filtered"):
    run = Machine(**RUN, clients=["fasttrack"], client_options={"fasttrack": {"mode": mode}}).run(
        "races", ["all_racy", n], capture=True)
    assert run.ok, run.message
    found[mode] = run.events("fasttrack").to_dataframe()
    print(f"{mode}: {run.fasttrack['race_pairs']} racing pairs, {run.fasttrack['reads']:,} reads and "
          f"{run.fasttrack['writes']:,} writes analysed")


def access(write) -> str:
    return "write" if write else "read"


pairs = pd.concat(found, names=["mode"]).reset_index("mode")
pairs["accesses"] = [f"{access(a)} / {access(b)}" for a, b in zip(pairs["prev_write"], pairs["cur_write"])]
races = pairs.pivot_table(index=["prev_symbol", "cur_symbol", "accesses"], columns="mode", values="count",
                          aggfunc="sum", fill_value=0)
races[["full", "filtered"]]

# %% [markdown]
# Filtered FastTrack finds every race but one: `late_first` against `late_second`. Why, the
# page events say. `late_buf` is exactly one page. `late_first` touches it first and writes
# all of it while it is private, unseen by the detector behind the filter. `late_second`'s
# single store is the page's first access by another thread: the share event below (its
# `owner` is `late_first`'s thread). From then on the detector analyses the page, but it has
# no record of the earlier writes, so the race is missed. That is the filter's false
# negative the paper describes: accesses made before a page became shared are not analysed.

# %%
late_run = Machine(**RUN, clients=["aikido"]).run("races", ["all_racy", n], capture=True)
with open(late_run.program, "rb") as f:
    (late_buf,) = ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name("late_buf")
page_events = late_run.events("aikido").to_dataframe()
late = page_events[page_events["page"] == late_buf["st_value"] // 4096 * 4096]
late_race = found["full"][found["full"]["cur_symbol"].str.startswith("late_second")]
print(f"late_buf: {late_buf['st_size']} bytes at {late_buf['st_value']:#x}; the race full FastTrack "
      f"reports is at {int(late_race['addr'].iloc[0]):#x}")
late[["time", "thread", "owner", "kind", "symbol"]].assign(
    kind=lambda d: d["kind"].map({0: "touch", 1: "share"}))

# %% [markdown]
# The same run's sharing map, `late_second`'s thread highlighted: its cross on `late_buf`'s
# page comes long after `late_first`'s dot.

# %%
SharingExplorer(late_run.events("aikido"), thread=int(late[late["kind"] == 1]["thread"].iloc[0]))

# %% [markdown]
# ## The study: what the filter saves
#
# Every workload (`psum`, `racy`, `races` and two third-party threaded programs: multithreaded
# zstd and c-blosc) runs under four modes: plain, full FastTrack, the views alone (`aikido`:
# what the filter itself costs) and filtered FastTrack; at 1, 2 and 4 worker threads, on the
# JIT under the deterministic schedule, each cell checked against the plain run's output.
#
# With `rerun = False` the result is the reference measured at paper scale and kept in
# `datasets/` (made with `wb reproduce aikido --scale paper --out datasets`). With
# `rerun = True` the study runs now; at small scale once per cell instead of three times, to
# stay quick (the counters are the same in every repeat; only the times would get a median).

# %%
if rerun:
    grid = {"repeat": [0]} if scale == "small" else None
    ds = aikido_study.run(scale, store=store, progress=False, fresh=fresh, grid=grid)
else:
    ds = reference.load("aikido")
    print(f"the reference result: {reference.path('aikido').name}, measured "
          f"{ds.attrs.get('measured_from', '?')} to {ds.attrs.get('measured_to', '?')} on "
          f"{ds.attrs.get('host_cpu', '?')} (rerun = True measures it again)")
aikido_study.summary(ds)

# %% [markdown]
# Where little is shared, the filter pays: the shared fraction (of the accesses full FastTrack
# analyses, or of the pages) against the overhead of full and of filtered FastTrack, one pair
# per workload, joined by a line. Choose the thread count, and which fraction; the sharing map
# above it is `psum`'s again.

# %%
SharingExplorer(views["psum"].events("aikido"), study=ds)

# %% [markdown]
# Each mode's time over the plain run. `aikido` is the filter alone: faults on first touches
# and shares, and the retranslation of marked instructions.

# %%
overhead_chart(ds)

# %% [markdown]
# ## Beside the paper
#
# The paper reports filtered FastTrack up to 6x faster than full FastTrack, about 1.76x on
# average, and many benchmarks without gain. Our speedups per workload and thread count, their
# geometric mean, and the races each mode found:

# %%
print(f"our mean speedup: {aikido_study.mean_speedup(ds):.2f}x (the paper: about "
      f"{aikido_study.PAPER_MEAN_SPEEDUP:g}x, up to {aikido_study.PAPER_MAX_SPEEDUP:g}x)")
speedup_chart(ds)

# %%
aikido_study.paper_comparison(ds)

# %% [markdown]
# ## What differs from the paper
#
# - **No hypervisor.** The paper switches shadow page tables under an unmodified OS; we switch
#   host mappings per guest thread inside the emulator. A view switch only loads a register,
#   and the filter's faults are host signals, not VM exits.
# - **Our JIT, our detector.** The paper used DynamoRIO; the full detector's overhead here is
#   the engine's call per access, so the speedups are of this detector on this engine.
# - **Where everything is shared, the filter only costs.** In `racy` nearly every access is to
#   a shared page: filtered FastTrack analyses as much as full FastTrack and pays for the views
#   on top. The paper's benchmarks "without gain" are of this kind.
# - **Small runs** are dominated by the fixed cost of first touches, so their ratios say
#   little; the reference result is measured at paper scale.
