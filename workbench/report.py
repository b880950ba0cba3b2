"""The HTML report of ``wb reproduce``: one self-contained file with every study's results.

This file owns :func:`write_report`, which turns ``{study name: Dataset}`` into
``out_dir/report.html``: a section per study with its summary table, its charts (vega-lite specs
drawn by the vega JavaScript inlined once in the page, so the file opens offline, from disk or
as a mail attachment) and the Dataset's provenance (engine version, git revision, workloads and
their sha256, configuration, host CPU, date).

How a study is presented is looked up in :data:`SECTIONS` by the Dataset's ``study`` attr or,
failing that, its key in ``datasets``; a study without an entry gets a generic section (a table
of its variables). Later studies register theirs with :func:`register_section`.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
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


def _section_html(name: str, ds) -> str:
    study = _study(name, ds)
    builder = SECTIONS.get(study, generic_section)
    sec = builder(ds)
    anchor = f"study-{html.escape(name)}"
    out = [f'<section id="{anchor}" class="wb-study" data-wb-study="{html.escape(name)}">',
           f"<h2>{html.escape(name)}</h2>"]
    if sec.description:
        out.append(f"<p>{html.escape(sec.description)}</p>")
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


__all__ = ["SECTIONS", "Section", "engine_section", "generic_section", "register_section",
           "report_html", "write_report"]
