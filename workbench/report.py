"""The HTML report of ``wb reproduce``: one self-contained file with every study's results.

This file owns :func:`write_report`, which turns ``{study name: Dataset}`` into
``out_dir/report.html``: a section per study with its summary table, its charts (vega-lite specs
drawn by the vega JavaScript inlined once in the page, so the file opens offline, from disk or
as a mail attachment) and the Dataset's provenance (engine version, git revision, workloads and
their sha256, configuration, host CPU, date).

How a study is presented is looked up in :data:`SECTIONS` by the Dataset's ``study`` attr or,
failing that, its key in ``datasets``; a study without an entry gets a generic section (a table
of its variables). Later studies register theirs with :func:`register_section`. Each section
says when its data was measured (the sweep's ``measured_from``/``measured_to`` attrs) and how
many points were reused from an earlier sweep, since that is not when the report was written.

It also owns :func:`notebook_html`: an executed notebook (papermill) as one HTML page that
needs no network, each chart shown by the static PNG its display output carries
(``workbench.widgets._base.with_static``) instead of a widget that only a live kernel, or a
widget manager from a CDN, could draw. ``python -m workbench.report NOTEBOOK.ipynb [OUT.html]``
runs it from a shell.
"""
from __future__ import annotations

import copy
import datetime as _dt
import html
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .widgets._base import chart_html, html_page


@dataclass
class Section:
    """What the report shows for one study: a description, tables and (title, chart) pairs."""

    description: str = ""
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    charts: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


#: study name -> function(Dataset) -> Section
SECTIONS: dict[str, Callable[..., Section]] = {}


def register_section(study: str):
    """Decorator: present Datasets of ``study`` in the report with the decorated function.

    >>> @register_section("sampling")
    ... def _sampling(ds):
    ...     return Section(description="sampling rate vs accuracy")
    >>> "sampling" in SECTIONS
    True
    """
    def deco(fn):
        SECTIONS[study] = fn
        return fn
    return deco


@register_section("engine")
def engine_section(ds) -> Section:
    """The engine study: summary table (``workbench.studies.engine.summary``) and charts.

    >>> engine_section(ds).charts[0][0]                      # doctest: +SKIP
    'client none: time relative to native'
    """
    from .widgets.engine import engine_frame, report_charts

    notes = []
    try:
        from .studies.engine import summary
    except ImportError:
        summary = None
    if summary is not None:
        table = summary(ds)
    else:
        notes.append("workbench.studies.engine is not available: the table is the Dataset's "
                     "medians over repeats.")
        table = engine_frame(ds)
    return Section(
        description=("Wall time of each workload on each execution tier and client, median over "
                     "repeats, relative to native execution and to qemu-riscv64; guest MIPS is "
                     "guest instructions retired per microsecond. Click a bar to highlight "
                     "its tier."),
        tables=[("summary", table)],
        charts=report_charts(ds),
        notes=notes,
    )


@register_section("aikido")
def aikido_section(ds) -> Section:
    """The aikido study: the summary table and the comparison with the paper (filtered over
    full FastTrack, the filter's own cost, the races each mode found).

    >>> [t for t, _ in aikido_section(ds).tables]           # doctest: +SKIP
    ['summary', 'beside the paper']
    """
    from .studies.aikido import PAPER_MAX_SPEEDUP, PAPER_MEAN_SPEEDUP, mean_speedup, paper_comparison, summary

    mean = mean_speedup(ds)
    return Section(
        description=("FastTrack on every plain access (full) and behind Aikido's filter (filtered: "
                     "only accesses to pages a second thread touched), and the filter alone, per "
                     "workload and thread count; overhead is the median run time over the plain "
                     "run's, on the JIT under the deterministic schedule."),
        tables=[("summary", summary(ds)), ("beside the paper", paper_comparison(ds))],
        notes=[f"Geometric mean of the filtered speedup over the cells: {mean:.2f}x; the paper "
               f"(talk notes): up to {PAPER_MAX_SPEEDUP:g}x, about {PAPER_MEAN_SPEEDUP:g}x on average.",
               "Races found are distinct pairs of pcs; the filtered mode misses races whose earlier "
               "access came while the page was still private to its thread (docs/aikido.md)."],
    )


@register_section("barrier")
def barrier_section(ds) -> Section:
    """The barrier profiler's study: the summary table (overhead with its min-max over
    repeats and a noise verdict, faults, coverage, P(wrong)), the paper comparison, the
    optimizations, and the charts of ``workbench.widgets.barrier`` (overhead and P(wrong) vs
    sample_bytes, beside the paper, the optimizations).

    >>> [t for t, _ in barrier_section(ds).tables]           # doctest: +SKIP
    ['summary', 'beside the paper', 'the optimizations']
    """
    from .studies.barrier import PAPER_INTERVAL, paper_comparison, summary
    from .widgets.barrier import OPTIMIZATION_BARS, interval_label, report_charts

    def readable(df):  # "16 KiB", not 1.638e+04 (the bursty rows have no interval)
        df["sample_bytes"] = [interval_label(int(v)) if pd.notna(v) else "" for v in df["sample_bytes"]]
        return df

    tables = [("summary", readable(summary(ds))), ("beside the paper", readable(paper_comparison(ds)))]
    opt = {label: ds[var].to_series() for var, label in OPTIMIZATION_BARS if var in ds}
    for var, label in (("shrink_fixups", "shrink fix-ups"), ("shrink_time_ratio", "shrink time ratio"),
                       ("shrink_output_ok", "shrink output ok")):
        if var in ds:
            opt[label] = ds[var].to_series()
    if opt:
        tables.append(("the optimizations", pd.DataFrame(opt).rename_axis("workload").reset_index()))
    repeats = int(ds.sizes.get("repeat", 1))
    return Section(
        description=("The barrier-pointer profiler samples one heap object per sample_bytes "
                     "allocated and records every access to it through a protected view. "
                     "Overhead is run time over the unprofiled run time, each profiled run "
                     f"bracketed by two unprofiled ones in the same worker; the median of {repeats} "
                     "repeat(s) with its min-max. P(wrong) is the fraction of sampled allocation "
                     "sites whose conclusion (mostly untouched, write-only, stable) differs from "
                     "the every-object ground truth; coverage the fraction of sites sampled at all."),
        tables=tables,
        charts=report_charts(ds),
        notes=["verdict 'noise': the overhead ratio is below 1, its lowest repeat reaches 1, or it "
               "is within the spread of the two identical unprofiled runs around it (noise ±); such "
               "a number is not an overhead and is not compared with the paper as one.",
               f"The paper reports its overheads at about one object per {PAPER_INTERVAL >> 20} MB; "
               "our rows use the grid's interval nearest to it, per workload, never averaged."],
    )


def generic_section(ds) -> Section:
    """A study without its own presentation: one row per variable (dims, dtype, units, range).

    >>> import xarray as xr
    >>> float(generic_section(xr.Dataset({"x": ("i", [1.0, 2.0])})).tables[0][1].loc[0, "max"])
    2.0
    """
    rows = []
    for name, v in ds.data_vars.items():
        row = {"variable": name, "dims": ", ".join(map(str, v.dims)), "dtype": str(v.dtype),
               "units": v.attrs.get("units", ""), "size": int(v.size)}
        if np.issubdtype(v.dtype, np.number) and v.size:
            a = np.asarray(v.values, dtype=float)
            if np.isfinite(a).any():
                row.update(min=float(np.nanmin(a)), median=float(np.nanmedian(a)),
                           max=float(np.nanmax(a)))
        rows.append(row)
    dims = ", ".join(f"{k}: {n}" for k, n in ds.sizes.items())
    return Section(description=f"Dimensions: {dims}.", tables=[("variables", pd.DataFrame(rows))])


def _study(name: str, ds) -> str:
    return str(ds.attrs.get("study", name))


def _fmt(x):
    if isinstance(x, (float, np.floating)):
        return "" if not np.isfinite(x) else f"{x:.4g}"
    return x


def _table_html(df: pd.DataFrame) -> str:
    df = df.copy()
    for c in df.columns:
        if df[c].dtype.kind == "f":
            df[c] = df[c].map(_fmt)
    plain_index = isinstance(df.index, pd.RangeIndex)
    return df.to_html(border=0, classes="wb-table", na_rep="", escape=True, index=not plain_index)


def _provenance_html(attrs: dict) -> str:
    if not attrs:
        return '<p class="wb-note">This dataset carries no provenance attributes.</p>'
    rows = []
    for k, v in attrs.items():
        text = v if isinstance(v, str) else json.dumps(v, default=str) if isinstance(v, (dict, list)) else str(v)
        try:
            parsed = json.loads(text) if isinstance(text, str) and text[:1] in "{[" else None
        except ValueError:
            parsed = None
        cell = (f"<pre>{html.escape(json.dumps(parsed, indent=2, sort_keys=True))}</pre>"
                if parsed is not None else html.escape(text))
        rows.append(f'<tr><th class="text">{html.escape(str(k))}</th><td class="text">{cell}</td></tr>')
    return '<table class="wb-provenance">' + "".join(rows) + "</table>"


def measured_note(attrs) -> str:
    """When a study's data was measured, from the sweep's attrs (the report's own time is only
    when it was written), and how many points were reused from an earlier sweep.

    >>> measured_note({"measured_from": "2025-01-01 10:00:03 UTC", "measured_to": "2025-01-01 10:04:10 UTC",
    ...                "points_reused": 3, "points_total": 8})
    'Measured 2025-01-01 10:00:03 UTC to 2025-01-01 10:04:10 UTC; 3 of 8 points were reused from an earlier sweep (not measured for this report).'
    """
    lo, hi = attrs.get("measured_from"), attrs.get("measured_to")
    if not lo:
        return ""
    text = f"Measured {lo}" + (f" to {hi}" if hi and hi != lo else "")
    reused, total = int(attrs.get("points_reused", 0)), int(attrs.get("points_total", 0))
    if reused:
        text += (f"; {reused} of {total} points were reused from an earlier sweep "
                 "(not measured for this report).")
    else:
        text += f"; all {total} points measured by this run." if total else "."
    return text


def _section_html(name: str, ds) -> str:
    study = _study(name, ds)
    builder = SECTIONS.get(study, generic_section)
    sec = builder(ds)
    anchor = f"study-{html.escape(name)}"
    out = [f'<section id="{anchor}" class="wb-study" data-wb-study="{html.escape(name)}">',
           f"<h2>{html.escape(name)}</h2>"]
    if sec.description:
        out.append(f"<p>{html.escape(sec.description)}</p>")
    measured = measured_note(ds.attrs)
    if measured:
        out.append(f'<p class="wb-note wb-measured">{html.escape(measured)}</p>')
    for note in sec.notes:
        out.append(f'<p class="wb-note">{html.escape(note)}</p>')
    for title, table in sec.tables:
        out.append(f"<h3>{html.escape(title)}</h3>")
        out.append(_table_html(table))
    if sec.charts:
        out.append("<h3>charts</h3>")
        for title, chart in sec.charts:
            out.append(chart_html(chart, title=title))
    out.append("<h3>provenance</h3>")
    out.append(_provenance_html(dict(ds.attrs)))
    out.append("</section>")
    return "\n".join(out)


def report_html(datasets: dict, *, title: str = "workbench report") -> str:
    """The report as one HTML string (see :func:`write_report`).

    >>> import xarray as xr
    >>> "data-wb-study" in report_html({"demo": xr.Dataset({"x": ("i", [1.0])})})
    True
    """
    from . import __version__

    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    toc = "".join(f'<li><a href="#study-{html.escape(n)}">{html.escape(n)}</a></li>' for n in datasets)
    head = (f"<h1>{html.escape(title)}</h1>"
            f'<p class="wb-note">workbench {html.escape(__version__)}, written {now}. '
            "Self-contained: the charts are drawn by the JavaScript inlined in this file.</p>"
            f"<ul>{toc}</ul>"
            "<noscript><p>The charts need JavaScript; the tables do not.</p></noscript>")
    body = [head] + [_section_html(name, ds) for name, ds in datasets.items()]
    return html_page(body, title=title)


def write_report(datasets: dict, out_dir: str | Path) -> Path:
    """Write ``out_dir/report.html`` with a section per study; returns its path.

    ``datasets`` maps a study name (``"engine"``, ...) to its Dataset. The file needs no
    network to view: the vega/vega-lite/vega-embed JavaScript is inlined once.

    >>> from workbench.studies import engine                    # doctest: +SKIP
    >>> write_report({"engine": engine.run(scale="small")}, Path("results"))  # doctest: +SKIP
    PosixPath('results/report.html')
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(report_html(datasets), encoding="utf-8")
    tmp.replace(path)
    return path


# ------------------------------------------------------------------ executed notebooks

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# nbconvert's JupyterLab template, minus everything it loads from a CDN: require.js, MathJax,
# mermaid and the widget manager (which could only draw saved widget state, online)
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def static_notebook(nb):
    """A copy of an executed notebook (an ``nbformat`` node) for readers without a kernel:
    every widget view is dropped from its output (the chart's PNG, or the text, stays), and
    so is the saved widget state.

    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("c", outputs=[
    ...     nbformat.v4.new_output("display_data", {WIDGET_VIEW: {"model_id": "m"},
    ...                                             "image/png": "iVBO", "text/plain": "c"})])])
    >>> sorted(static_notebook(nb).cells[0].outputs[0].data)
    ['image/png', 'text/plain']
    """
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data and WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                if not data:  # nothing else to show: say what was there
                    data["text/plain"] = "(an interactive widget: run the notebook to see it)"
    return nb


def notebook_html(notebook, out: str | Path | None = None) -> str:
    """An executed notebook as one self-contained HTML page that loads nothing from the
    network: nbconvert's JupyterLab layout with its CDN scripts left out, and each chart
    drawn by the PNG its display output carries (see :func:`static_notebook`).
    ``notebook`` is a path or an ``nbformat`` node; with ``out``, the page is written there.

    (Plain ``jupyter nbconvert --to html`` puts a widget view before an image, so it shows
    an empty box where a live chart was, and links require.js and MathJax from a CDN.)

    >>> page = notebook_html("executed/02_barrier_profiler.ipynb", "02.html")  # doctest: +SKIP
    >>> "<script src=" in page                                                 # doctest: +SKIP
    False
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(template_name="lab", raw_template=_OFFLINE_TEMPLATE)
    page, _ = exporter.from_notebook_node(static_notebook(nb))
    if out is not None:
        Path(out).write_text(page, encoding="utf-8")
    return page


def main(argv=None) -> int:
    """``python -m workbench.report NOTEBOOK.ipynb [OUT.html]``: :func:`notebook_html` from a
    shell (OUT defaults to the notebook's name with ``.html``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not 1 <= len(args) <= 2:
        print("usage: python -m workbench.report NOTEBOOK.ipynb [OUT.html]", file=sys.stderr)
        return 2
    src = Path(args[0])
    dst = Path(args[1]) if len(args) == 2 else src.with_suffix(".html")
    notebook_html(src, dst)
    print(dst)
    return 0


__all__ = ["SECTIONS", "Section", "aikido_section", "barrier_section", "engine_section", "generic_section",
           "measured_note", "register_section", "report_html", "write_report", "notebook_html",
           "static_notebook"]


if __name__ == "__main__":
    sys.exit(main())
