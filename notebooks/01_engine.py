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
# # The engine study: what does each tier and client cost?
#
# This notebook owns the engine's own overhead study. Each workload (the Lua interpreter on a
# benchmark script, zstd compressing and decompressing) runs natively on the host, under
# `qemu-riscv64`, and on each of the engine's tiers, with and without analysis clients. Every
# combination is repeated; the results form one xarray Dataset with the dimensions `workload`,
# `tier`, `client` and `repeat`.

# %% tags=["parameters"]
# Parameters (papermill can override them): "small" takes a minute or two, "paper" much longer.
scale = "small"
# where the sweep keeps its points: None is the workbench cache (~/.cache/workbench/studies/),
# so points measured earlier on this engine build are reused (the sweep prints how many and
# when they were measured); fresh = True measures every point again
store = None
fresh = False
# rerun = False shows the reference result kept in the repository (datasets/engine-paper.nc,
# measured at paper scale; instant); rerun = True measures the study now at `scale`
rerun = False

# %%
import tempfile
from pathlib import Path

import altair as alt
import pandas as pd

from workbench.report import write_report
from workbench.studies import engine as engine_study
from workbench.studies import check_scale
from workbench.widgets import EngineExplorer, use_offline_charts

use_offline_charts()  # charts are drawn by JavaScript from the vl-convert package: no network
check_scale(scale)  # a clear message for a bad papermill value ("small" or "paper")

# %% [markdown]
# ## Run the study
#
# By default this shows the reference result kept in the repository, measured at paper scale
# (its provenance is printed); with `rerun = True`, `engine_study.run` runs the grid now (on
# a local dask cluster) and returns the Dataset. Times are
# wall-clock seconds of whole runs, three repeats of each at the small scale; `output_ok`
# records that each run printed the expected output, so a fast but wrong tier cannot hide.
# Points already in the store are not run again: the line printed below says how many were
# reused and when they were measured, and `measured_at` in the Dataset has the time of each.

# %%
from workbench import reference

if rerun:
    ds = engine_study.run(scale=scale, store=store, fresh=fresh)
else:
    ds = reference.load("engine")
    print(f"the reference result: {reference.path('engine').name}, measured "
          f"{ds.attrs.get('measured_from', '?')} to {ds.attrs.get('measured_to', '?')} on "
          f"{ds.attrs.get('host_cpu', '?')} (rerun = True measures it again)")
ds

# %% [markdown]
# ## Summary
#
# Medians over repeats; `spread %` is how far apart the repeats' times are ((max - min) /
# median), so a difference smaller than it is noise. `ratio_native` is the time relative to
# the native program on the host (how much slower than the real thing), `ratio_qemu` relative
# to qemu's translator (how we compare to a production binary translator). `x plain` is the
# time relative to the same tier without a client, `events` the records the run's client
# produced.

# %%
engine_study.summary(ds)

# %% [markdown]
# ## What an analysis client costs
#
# The engine runs analysis clients in both of its tiers: `null` (the instrumentation machinery
# with an empty analysis), `icount` (an instruction counter), `bbprofile` (an execution count
# per block) and `memtrace` (one record per memory access). `overhead_ratio` is a run's time
# relative to the same tier without a client — what the analysis itself costs — and `events`
# the records it produced, counted as the engine drained them and never kept (memtrace makes
# hundreds of millions). The project's goals on the JIT: `null` within 1.03x of plain JIT,
# `memtrace` within 3x (`wb bench` measures both side by side as `jit+null` and
# `jit+memtrace`, in the `x jit` column).

# %%
clients = [str(c) for c in ds.client.values if c != "none"]
cells = dict(client=clients, tier=[t for t in ds.tier.values if t in engine_study.CLIENT_TIERS])
costs = pd.DataFrame({"overhead_ratio": ds.overhead_ratio.sel(cells).to_series(),
                      "events": ds.events.sel(cells).max("repeat").to_series()}).reset_index()
costs.pivot_table(index=["tier", "client"], columns="workload",
                  values=["overhead_ratio", "events"]).round(3)

# %%
costs["goal"] = costs.client.map({"null": 1.03, "memtrace": 3.0}).where(costs.tier == "jit")
base = alt.Chart(costs).encode(x=alt.X("client:N", sort=clients, title=None,
                                      axis=alt.Axis(labelAngle=0)),
                               xOffset=alt.XOffset("tier:N"))
bars = base.mark_bar().encode(
    color="tier:N",
    y=alt.Y("overhead_ratio:Q", title="time / same tier without a client"),
    tooltip=["workload", "tier", "client", alt.Tooltip("overhead_ratio:Q", format=".3f"),
             alt.Tooltip("events:Q", format=",.0f")])
goals = base.transform_filter("isValid(datum.goal)").mark_tick(
    color="black", thickness=2, size=14).encode(y="goal:Q", tooltip=["client", "goal"])
alt.layer(bars, goals).properties(width=260, height=220).facet(
    column=alt.Column("workload:N", title=None),
    title="what each analysis client costs (black ticks: the goals on the JIT)")

# %% [markdown]
# ## Explore
#
# Pick workloads, an analysis client and the baseline. Left: the overhead of each tier; right:
# its speed in guest MIPS. With a client selected, native and qemu (which cannot run clients)
# are shown from their plain runs as the reference. Click a bar to select its tier in both
# charts; Python reads the selection back as `explorer.selected_tiers`.

# %%
explorer = EngineExplorer(ds)
explorer

# %%
explorer.selected_tiers  # [] until you click a bar above (then re-run this cell)

# %% [markdown]
# ## Keep it
#
# `write_report` writes one self-contained HTML file (tables, charts, provenance) that opens
# without a network; `wb reproduce` writes the same report for every study.

# %%
report = write_report({"engine": ds}, Path(tempfile.mkdtemp(prefix="wb-report-")))
print(report, f"{report.stat().st_size / 1e6:.1f} MB")
