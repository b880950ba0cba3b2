# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
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
store = None  # a zarr store path to keep (and resume) the results; None keeps them in memory

# %%
import tempfile
from pathlib import Path

from workbench.report import write_report
from workbench.studies import engine as engine_study
from workbench.widgets import EngineExplorer, use_offline_charts

use_offline_charts()  # charts are drawn by JavaScript from the vl-convert package: no network

# %% [markdown]
# ## Run the study
#
# `engine_study.run` runs the grid (on a local dask cluster) and returns the Dataset. Times are
# wall-clock seconds of whole runs; `output_ok` records that each run printed the expected
# output, so a fast but wrong tier cannot hide.

# %%
ds = engine_study.run(scale=scale, store=store)
ds

# %% [markdown]
# ## Summary
#
# Medians over repeats. `ratio_native` is the time relative to the native program on the host
# (how much slower than the real thing), `ratio_qemu` relative to qemu's translator (how we
# compare to a production binary translator).

# %%
engine_study.summary(ds)

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
