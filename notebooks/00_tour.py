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
# # A tour of the workbench
#
# This notebook owns the first steps: run a real program (the Lua 5.4 interpreter, compiled for
# RISC-V) on the workbench's engine, look at what happened, look at the events an analysis
# recorded, and draw a first chart that you can change with a control.
#
# Everything runs on this machine, offline: the guest programs are built from pinned sources,
# and the charts' JavaScript comes from a Python package, not from the web.

# %% tags=["parameters"]
# Parameters (papermill can override them): "small" runs in seconds, "paper" sweeps larger sizes.
scale = "small"

# %%
import altair as alt
import ipywidgets as widgets
import pandas as pd

import workbench
from workbench import guests
from workbench.studies import check_scale
from workbench.widgets import Figure, chart_widget, use_offline_charts

# every altair chart becomes a live widget, drawn without a network, and its output also
# keeps a PNG of the chart, so the executed notebook shows it where no kernel runs (GitHub)
use_offline_charts()
check_scale(scale)  # a clear message for a bad papermill value ("small" or "paper")
sizes = {"small": [500, 1000, 2000, 4000, 8000],
         "paper": [1000, 4000, 16000, 64000, 256000]}[scale]

# %% [markdown]
# ## The guest programs
#
# A *guest* is a static RISC-V Linux executable. The workbench builds them on demand (with the
# `ziglang` package for musl, Debian's cross gcc for glibc) and caches them. `variants` lists
# the builds this machine can make.

# %%
pd.DataFrame([{"name": g.name, "kind": g.kind, "variants": ", ".join(g.variants),
               "description": g.description} for g in guests.list_guests()])

# %% [markdown]
# ## Run a program
#
# A `Machine` is a configuration: the execution tier (`interp` is the reference interpreter),
# limits (an instruction budget here) and what the guest may see (`root=False`: no file
# system at all). `Machine.run` builds the guest if needed, runs it to the end and returns a
# `Run`. The Lua program below sorts `n` pseudo-random numbers.

# %%
def sort_program(n: int) -> list[str]:
    """Lua interpreter arguments that sort n pseudo-random integers and print a checksum."""
    code = (f"math.randomseed(42) local t = {{}} for i = 1, {n} do t[i] = math.random(1, 10^6) end "
            f"table.sort(t) print({n}, t[1], t[#t])")
    return ["-e", code]


machine = workbench.Machine(tier="interp", max_insns=10**10, root=False)
run = machine.run("lua54", sort_program(sizes[-1]), capture=True)
print(run.stdout.decode(), run.reason, run.exit_code)

# %% [markdown]
# The `Run` says why the guest stopped (`exit`, or `budget`, `fault`, ...) and what it cost:
# guest instructions retired, host seconds, guest MIPS (millions of guest instructions per
# host second), the blocks the engine translated and the guest memory it mapped at most.

# %%
pd.Series({"instructions": run.instructions, "seconds": round(run.seconds, 4),
           "guest MIPS": round(run.mips, 1), "blocks translated": run.blocks_translated,
           "peak guest memory (MiB)": round(run.mem_peak / 2**20, 2)}, dtype=object)

# %% [markdown]
# Runs are deterministic by default (the guest's clock counts instructions, its randomness is
# seeded): the same input retires exactly the same number of instructions every time.

# %%
again = machine.run("lua54", sort_program(sizes[-1]), capture=True)
assert again.instructions == run.instructions and again.stdout == run.stdout
again.instructions

# %% [markdown]
# ## A first chart: the guest's system calls
#
# The engine emulates Linux system calls and counts them. Lua's allocator asks for memory with
# `mmap`/`munmap`/`brk`; printing is one `writev`.

# %%
syscalls = pd.DataFrame(sorted(run.syscalls.items()), columns=["syscall", "count"])
alt.Chart(syscalls, title="system calls of one Lua run").mark_bar().encode(
    x=alt.X("count:Q"), y=alt.Y("syscall:N", sort="-x", title=None),
    tooltip=["syscall", "count"])

# %% [markdown]
# ## Events: what an analysis sees
#
# *Clients* are analyses written in C that run inside the engine; `Machine(clients=[...])`
# turns them on. The built-in ones:

# %%
workbench.available_clients()

# %% [markdown]
# The `memtrace` client records every guest memory access (pc, address, size, kind) with the
# instruction count at which it happened; `Run.events("memtrace")` returns them as an xarray
# Dataset with one `event` dimension and `icount` (guest time) as its coordinate. The Lua sort
# of the smallest `n` makes well under a million records (32 bytes each), small enough to keep
# in the `Run`. For long runs, pass `on_records=` to `Machine.run` and the records are handed
# over batch by batch instead of kept (zstd on 2 MB of input makes 100 million of them).
#
# This run uses the default tier (the JIT on x86-64 hosts); the interpreter records exactly the
# same events.

# %%
traced = workbench.Machine(clients=["memtrace"], max_insns=10**9, root=False).run(
    "lua54", sort_program(sizes[0]), capture=True)
events = traced.events("memtrace")
events

# %% [markdown]
# Loads, stores and atomics over the run's lifetime: the accesses are grouped into 60 slices of
# guest time (instructions retired) and counted per kind. The kind names come from the
# Dataset's CF attributes `flag_values` / `flag_meanings`.

# %%
kind = events["kind"]
names = dict(zip([int(v) for v in kind.attrs["flag_values"]], kind.attrs["flag_meanings"].split()))
icount = events["icount"].values.astype("float64")
width = max(1.0, (icount.max() - icount.min() + 1) / 60)
per_slice = (pd.DataFrame({"slice": ((icount - icount.min()) // width).astype(int),
                           "kind": pd.Series(kind.values).map(names)})
             .groupby(["slice", "kind"]).size().rename("accesses").reset_index())
per_slice["icount"] = icount.min() + per_slice["slice"] * width
alt.Chart(per_slice, title="memory accesses over guest time").mark_area().encode(
    x=alt.X("icount:Q", title="guest instructions retired"),
    y=alt.Y("accesses:Q", stack=True, title="accesses per slice"), color="kind:N",
    tooltip=["kind", "accesses", alt.Tooltip("icount:Q", format=",.0f")])

# %% [markdown]
# ## Where the time goes: the hottest blocks
#
# The `bbprofile` client counts how often each translated block of guest code was entered.
# `Run.events("bbprofile")` has one entry per block (dimension `block`, coordinate `pc`):
# `count` (times entered), `ninsns` (instructions in the block) and `symbol`, the function
# that contains it, looked up in the program's ELF symbol table. `count × ninsns` is what each
# block retired; over all blocks it adds up to exactly the run's instruction count — a complete
# profile, no sampling. (`ds["count"]`, not `ds.count`: that is xarray's own method.)

# %%
profiled = workbench.Machine(clients=["bbprofile"], max_insns=10**10, root=False).run(
    "lua54", sort_program(sizes[-1]), capture=True)
blocks = profiled.events("bbprofile")
profile = pd.DataFrame({"pc": [f"{int(pc):#x}" for pc in blocks["pc"].values],
                        "symbol": blocks["symbol"].values,
                        "count": blocks["count"].values.astype("int64"),
                        "ninsns": blocks["ninsns"].values.astype("int64")})
profile["instructions"] = profile["count"] * profile["ninsns"]
assert profile["instructions"].sum() == profiled.instructions
profile.sort_values("count", ascending=False).head(12).reset_index(drop=True)

# %% [markdown]
# The same profile by function: the share of all instructions retired in each of the ten
# busiest functions of the Lua interpreter while it sorts.

# %%
functions = (profile.assign(function=profile["symbol"].str.split("+").str[0])
             .groupby("function")["instructions"].sum().nlargest(10).reset_index())
functions["share"] = functions["instructions"] / profiled.instructions
alt.Chart(functions, title="instructions retired per function (bbprofile)").mark_bar().encode(
    x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of instructions retired"),
    y=alt.Y("function:N", sort="-x", title=None),
    tooltip=["function", alt.Tooltip("instructions:Q", format=","),
             alt.Tooltip("share:Q", format=".1%")])

# %% [markdown]
# ## Move a control, see the chart change
#
# Now a small sweep: sort `n` numbers for several `n`, one run each. The dropdown picks what the
# chart shows. Sorting costs about `n log n` comparisons, so *instructions per n·log2(n)*
# settles towards a constant (the Lua interpreter's fixed start-up cost weighs less as `n`
# grows) while the plain instruction count grows.
#
# The chart is an `alt.JupyterChart` (via `workbench.widgets.chart_widget`): assigning a new
# chart to its `.chart` redraws it in place. This is how the workbench's explorers are built.
# `Figure` shows the box of controls live and keeps a picture of its chart for static viewers.

# %%
import math

rows = []
for n in sizes:
    r = machine.run("lua54", sort_program(n), capture=True)
    rows.append({"n": n, "instructions": r.instructions,
                 "instructions per n·log2(n)": r.instructions / (n * math.log2(n)),
                 "system calls": sum(r.syscalls.values()),
                 "peak guest memory (MiB)": r.mem_peak / 2**20})
sweep = pd.DataFrame(rows)
sweep

# %%
def sweep_chart(metric: str) -> alt.Chart:
    """The sweep's `metric` against n (log scale)."""
    return alt.Chart(sweep, title=f"{metric} vs n").mark_line(point=True).encode(
        x=alt.X("n:Q", scale=alt.Scale(type="log", nice=False)), y=alt.Y(f"{metric}:Q"),
        tooltip=["n", alt.Tooltip(f"{metric}:Q", format=".4~g")]).properties(width=420, height=240)


metric = widgets.Dropdown(options=[c for c in sweep.columns if c != "n"], value="instructions",
                          description="metric")
view = chart_widget(sweep_chart(metric.value))
metric.observe(lambda change: setattr(view, "chart", sweep_chart(change["new"])), names="value")
explorer = widgets.VBox([metric, view])
explorer.add_class("wb-tour-sweep")
Figure(explorer, lambda: view.chart)

# %% [markdown]
# ## Where next
#
# * `01_engine`: what each execution tier and analysis client costs on real workloads, with an
#   explorer to compare them.
# * `wb run lua54 -- -e "print(1)"` runs a guest from the shell; `wb reproduce` re-runs every
#   study and writes an HTML report.
