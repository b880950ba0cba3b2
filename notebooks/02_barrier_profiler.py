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
# # The barrier profiler: how rarely can we sample and still be right?
#
# Odaira and Nakatani's profiler (docs/barrier_profiler.md) samples one heap object per N bytes
# allocated and hands the program a *barrier pointer* to it: the same offset in a protected
# view of memory. Accesses to unsampled objects cost nothing; each access through a barrier
# pointer faults, is recorded, and is completed on the real object. On this engine the
# protected region is a window view of the guest's memfd at guest address + 4 GiB, and the
# faults are host SIGSEGVs mapped back to the exact guest instruction.
#
# This notebook measures what sampling costs and what it misses, on `heads` (16 KiB buffers
# used only at their heads, write-only character arrays) and zstd.

# %% tags=["parameters"]
# Parameters (papermill can override them): "small" takes well under a minute.
scale = "small"
# a directory to keep (and resume) the study's sweep; None: a new temporary one, so every
# point is measured now. With a directory, finished points are reused (the study prints how
# many and when they were measured) unless fresh = True.
store = None
fresh = False
# rerun = False shows the study's reference result kept in the repository
# (datasets/barrier-paper.nc, paper scale; instant); rerun = True measures it now at `scale`
rerun = False

# %%
import tempfile
from pathlib import Path

from workbench import Machine, guests
from workbench.models import sampling
from workbench.studies import barrier as barrier_study
from workbench.studies import check_scale
from workbench.widgets import SamplingExplorer, use_offline_charts
from workbench.widgets.barrier import accuracy_chart, optimizations_chart, overhead_chart, paper_chart

use_offline_charts()  # live charts, each with a PNG copy for viewers without a kernel
check_scale(scale)  # a clear message for a bad papermill value ("small" or "paper")
store = Path(store) if store else Path(tempfile.mkdtemp(prefix="wb-barrier-"))

# %% [markdown]
# ## One program, every object: the ground truth
#
# With `sample_bytes=0` every object gets a barrier pointer and profiling never stops. Each
# object's record says which bytes were touched, the highest offsets read and written, and
# whether it was written after its first read. Its allocation site is the return address of
# the allocating call; `site_symbol` names it from the program's symbols (`function+0xoffset`).

# %%
size = 300 if scale == "small" else 4000
truth = Machine(clients=["barrier"], client_options={"barrier": {
    "sample_bytes": 0, "per_site": 0, "max_accesses": 0}}).run("heads", [str(size)], capture=True)
objs = truth.events("barrier").to_dataframe()
objs["touched %"] = 100 * objs["bytes_touched"] / objs["size"]
sites = objs.groupby("site_symbol").agg(
    objects=("size", "size"), size=("size", "median"), bytes_touched=("bytes_touched", "median"),
    touched_pct=("touched %", "median"), reads=("reads", "median"), writes=("writes", "median"))
sites.index.name = "allocation site"
sites.rename(columns={"touched_pct": "touched %"})

# %% [markdown]
# The 16 KiB buffers are touched at their first 64-127 bytes (well under 1%), and the 48-byte
# "log lines" are written and never read: the two conclusions an optimizer acts on.

# %% [markdown]
# ## Sampling at any interval, instantly: the trace-driven model
#
# One run with every access recorded (`memtrace`) and every allocation logged lets a numba
# model replay the profiler's decisions at any interval. The tests hold the model to the
# engine record for record. Move the slider; press the button to measure the chosen interval
# for real (the red points).

# %%
explorer = SamplingExplorer.from_program("heads", [str(size)])
explorer

# %%
explorer.measure(1 << 14, wait=True)
explorer.measured

# %% [markdown]
# ## The study: overhead and accuracy per interval
#
# At the production setting (one tracked object per allocation site while it lives; profiling
# of an object stops after 250 accesses, or as soon as no conclusion about it can change: it
# was read, written after its first read and 10% touched) against a ground truth that profiles
# every object and never stops.
#
# Each cell runs three times (more at paper scale), and each profiled run sits between two
# unprofiled ones in the same worker. `overhead` is the median ratio, `overhead min`/`max`
# its range over the repeats, and `noise ±` how much the two identical unprofiled runs around
# it differ. The `verdict` says **noise** when the ratio is below 1 (profiling cannot make a
# run faster), when the range reaches 1, or when the overhead is within `noise ±`: such a
# number is not an overhead.

# %%
from workbench import reference

if rerun:
    ds = barrier_study.run(scale, store=store, progress=False, fresh=fresh)
else:
    ds = reference.load("barrier")
    print(f"the reference result: {reference.path('barrier').name}, measured "
          f"{ds.attrs.get('measured_from', '?')} to {ds.attrs.get('measured_to', '?')} on "
          f"{ds.attrs.get('host_cpu', '?')} (rerun = True measures it again)")
table = barrier_study.summary(ds)
table

# %% [markdown]
# The same as charts: overhead against the sampling interval (blue, with the min-max of the
# repeats as bars; hollow points are noise) beside the bursty baseline (orange band), and
# how often a sampled site's conclusion is wrong, with the share of sites sampled at all.

# %%
overhead_chart(ds)

# %%
accuracy_chart(ds)

# %% [markdown]
# ## What the profile buys: the two optimizations, carried out
#
# **Write-only arrays, stored compressed.** The ground-truth run keeps the bytes of every
# object that was written and never read (`contents=1`) as it was released; compressing each
# one on its own (raw DEFLATE) says what storing it compressed would take.
#
# **Speculative shrinking.** The production profile at the grid's finest interval flags the
# sites whose objects are mostly untouched; the `shrink` client reruns the program with those
# sites' allocations cut to what the profile saw (in whole pages: page protection is the only
# check that costs nothing). An access past the cut faults and grows the object in place;
# every pointer stays valid, so nothing is copied. Memory saved is the engine's peak of
# mapped guest memory, against an unprofiled run.

# %%
ds[["opt_bytes", "opt_shrinkable_bytes", "opt_write_only_bytes", "opt_write_only_compressed_bytes",
    "shrink_sites", "shrink_objects", "shrink_fixups", "shrink_baseline_mem_peak_bytes",
    "shrink_mem_saved_bytes", "shrink_time_ratio", "shrink_output_ok"]].to_dataframe()

# %%
optimizations_chart(ds)

# %% [markdown]
# A cut that a later object overruns is the speculation failing: the fix-up counts it and
# the program goes on with the object grown. zstd's profiled buffers, for instance, stop being
# profiled after 250 accesses and look untouched; the rerun cuts them and each is grown at
# its first access past the cut.

# %% [markdown]
# ## Beside the paper
#
# The paper reports 1.3% average and 3.4% maximum overhead for barrier pointers at its default
# interval (about one object per 8 MB), against 9.2% / 12.6% for instrumentation-based
# (bursty tracing) profiling. Ours are shown per workload with their range over the repeats,
# never averaged: a mean of a measured 2.4x and a noisy 0.4x would be a number nobody
# measured. Rows whose verdict is noise say nothing about the profiler's cost.

# %%
paper = barrier_study.paper_comparison(ds)
paper

# %%
paper_chart(paper)

# %% [markdown]
# ## What differs from the paper, and why
#
# - **C, not Java.** The paper's JVM can rewrite every pointer to an object; here the program
#   holds the barrier pointers. Stopping the profiling of a hot object therefore opens its
#   pages in the window view (when no other profiled object shares them), after which its
#   accesses run at full speed; a realloc of a stopped object returns a plain pointer.
# - **What a fault costs.** About 3 µs here, two thirds of it the kernel's signal delivery
#   and return (a bare SIGSEGV round trip on this VM takes ~2 µs, most of it saving and
#   restoring the AVX-512 state). The overhead is the number of faults: a profiled object
#   costs up to `max_accesses` of them, so objects stop as soon as they are settled.
# - **Pointer values leak.** Lua seeds its string hashes with heap addresses, so barrier
#   pointers (real + 4 GiB) change its hash tables and its instruction counts. Its output is
#   the same, but the profile describes a slightly different run (tests/test_model.py shows
#   this).
# - **Attribution.** The profiler sees accesses through barrier pointers only. zstd reads a
#   little past the end of a buffer into the next object; the model, which attributes by
#   address, counts those accesses and the profiler does not.
# - **Small scale.** The small runs take milliseconds, so their overhead ratios are mostly
#   noise (JIT warm-up and timer resolution): the verdicts above say which. The paper-scale
#   study runs long enough to measure.
# - **Bursty tracing** is the same per-object profile recorded by instrumented copies of every
#   block (100 instrumented entries in every 10000); always on, it reproduces the barrier
#   profiler's every-object ground truth record for record (tests/test_bursty.py).
# - **Shrinking is page-granular.** The paper's Java arrays carry a length that every access
#   checks, so its cut and fix-up can be exact to the byte; here the only check that costs
#   nothing is page protection, so an object shrinks only when that saves a whole page, and
#   every shrunk object costs the host two mappings (a heap of 16 KiB buffers pays for them
#   in time: see `shrink_time_ratio` for heads). Growing happens in place (the slot is reserved
#   at full size), so the fix-up needs no copy.
# - **Compression** is measured on the real contents, one object at a time; 48-byte lines
#   gain little from DEFLATE, larger write-only buffers more.
