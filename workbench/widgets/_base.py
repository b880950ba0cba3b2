"""Shared machinery of the workbench's explorers: offline chart widgets and static rendering.

This file owns four things every explorer (engine, sampling, watchpoints, ...) reuses:

* ``chart_widget``: an ``altair.JupyterChart`` whose JavaScript (vega, vega-lite, vega-embed)
  comes from the ``vl-convert-python`` package instead of a CDN, so charts work offline and
  their selections are readable from Python;
* the static copy every displayed chart carries (``use_offline_charts``, ``OfflineChart``,
  ``Figure``, ``with_static``): beside the live widget, the display output holds a PNG of the
  chart, so a notebook executed by papermill and read where no kernel runs (nbconvert HTML,
  GitHub, ``workbench.report.notebook_html``) still shows every figure;
* the static path: ``chart_to_png`` / ``chart_to_svg`` (rendered by vl-convert, no browser) and
  ``html_page`` / ``chart_html`` (one self-contained HTML file: the JS bundle inlined once,
  each chart an embedded vega-lite spec drawn by that bundle);
* ``Explorer``: the base class. A subclass builds its controls and its altair chart; the base
  class gives it ``widget``, ``to_html``, ``save_html``, ``to_png``, ``to_svg`` and a
  ``_repr_mimebundle_`` that shows the live widget in Jupyter and a PNG where widgets do not
  run (GitHub, nbviewer).

Nothing here knows about the engine: explorers only read Datasets.
"""
from __future__ import annotations

import base64
import functools
import html
import itertools
import json
from pathlib import Path
from typing import Callable, Iterable

import altair as alt

#: vega-embed options of every live and static chart: SVG (crisp, inspectable), no action menu.
EMBED_OPTIONS = {"renderer": "svg", "actions": False}

_ids = itertools.count()


def _vl_version() -> str | None:
    """The vl-convert name of the vega-lite version altair writes (``"6.4"``), if bundled."""
    import vl_convert as vlc

    want = alt.SCHEMA_VERSION.lstrip("v").split(".")
    have = vlc.get_vegalite_versions()
    mm = ".".join(want[:2])
    if mm in have:
        return mm
    same_major = [v for v in have if v.split(".")[0] == want[0]]
    return same_major[-1] if same_major else None


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """The vega + vega-lite + vega-embed JavaScript as one script (from vl-convert; ~0.9 MB).

    It defines ``window.vegaEmbed``; :func:`html_page` inlines it once per page.

    >>> "vegaEmbed" in vega_bundle()
    True
    """
    import vl_convert as vlc

    return vlc.javascript_bundle(vl_version=_vl_version())


def enable_offline() -> None:
    """Make every ``alt.JupyterChart`` (and altair's ``jupyter`` renderer) load its JavaScript
    from vl-convert instead of a CDN. Idempotent; :func:`chart_widget` calls it.

    >>> enable_offline()
    >>> alt.JupyterChart._is_offline
    True
    """
    alt.JupyterChart.enable_offline(True)


def use_offline_charts() -> None:
    """Display every altair chart in this kernel as an offline ``JupyterChart`` that carries a
    static PNG of itself (for notebooks).

    Altair's default renderer loads vega from a CDN, and its ``jupyter`` renderer leaves only
    widget state in an executed notebook, which nothing but a live kernel can draw. The
    ``workbench`` renderer registered here gives each chart's display output both: the live
    widget (JupyterLab shows it) and a PNG (GitHub, ``workbench.report.notebook_html``).

    >>> use_offline_charts()
    >>> alt.renderers.active
    'workbench'
    """
    if "workbench" not in alt.renderers.names():
        alt.renderers.register("workbench", _workbench_renderer)
    alt.renderers.enable("workbench", embed_options=EMBED_OPTIONS)


def _workbench_renderer(spec: dict, **options):
    """altair renderer: an :class:`OfflineChart` of ``spec`` (live widget + PNG)."""
    embed = {**EMBED_OPTIONS, **(options.get("embed_options") or {})}
    enable_offline()
    # altair's own jupyter renderer rebuilds the chart the same way
    return OfflineChart(alt.Chart.from_dict(spec), embed_options=embed)._repr_mimebundle_()


def with_static(bundle, chart: alt.TopLevelMixin | dict | None) -> dict:
    """A live widget's display bundle plus a static PNG of ``chart`` (a new dict).

    ``bundle`` is what a widget's ``_repr_mimebundle_`` returned (a dict, or a ``(data,
    metadata)`` pair, whose metadata is dropped: widget views carry none). JupyterLab ranks
    the widget above the PNG, so a live notebook still shows the interactive chart; viewers
    without a kernel show the PNG. If rendering fails, the bundle comes back without one: a
    static copy must never break the live display.

    >>> c = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    >>> sorted(with_static({"text/plain": "chart"}, c))
    ['image/png', 'text/plain']
    """
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    data = dict(data or {})
    if chart is not None:
        try:
            data["image/png"] = base64.b64encode(chart_to_png(chart)).decode("ascii")
        except Exception:  # noqa: BLE001 - the live widget is still shown
            pass
    return data


class OfflineChart(alt.JupyterChart):
    """An ``alt.JupyterChart`` (JavaScript from vl-convert) whose display output also holds a
    PNG of its current chart (:func:`with_static`).

    >>> c = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    >>> data = OfflineChart(c)._repr_mimebundle_()
    >>> "application/vnd.jupyter.widget-view+json" in data and "image/png" in data
    True
    """

    def __init__(self, chart, **kwargs) -> None:
        enable_offline()
        super().__init__(chart, **kwargs)

    def _repr_mimebundle_(self, **kwargs):
        data = with_static(super()._repr_mimebundle_(**kwargs), self.chart)
        data["text/plain"] = f"<chart: {_title(self.chart)}>"  # what text-only viewers show
        return data


def _title(chart) -> str:
    """A chart's title as plain text ("" when it has none).

    >>> _title(alt.Chart(alt.Data(values=[]), title="calls").mark_bar())
    'calls'
    """
    try:
        t = chart_spec(chart).get("title", "")
    except Exception:  # noqa: BLE001 - only a label
        return ""
    t = t.get("text", "") if isinstance(t, dict) else t
    return " ".join(t) if isinstance(t, list) else str(t)


class Figure:
    """Any live widget (a box of controls and charts) shown with a static PNG of one chart.

    ``chart`` is an altair chart or a function returning one (called at display time, so
    the picture shows the controls' state then). Use it where an ipywidgets box, not a chart,
    is the last expression of a cell.

    >>> import ipywidgets as W
    >>> c = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    >>> sorted(Figure(W.VBox([chart_widget(c)]), lambda: c)._repr_mimebundle_())
    ['application/vnd.jupyter.widget-view+json', 'image/png', 'text/plain']
    """

    def __init__(self, widget, chart) -> None:
        self.widget, self._chart = widget, chart

    def chart(self):
        """The chart whose picture is the static copy (now)."""
        return self._chart() if callable(self._chart) else self._chart

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        return with_static(bundle, self.chart())


def chart_widget(chart: alt.TopLevelMixin, **embed_options) -> OfflineChart:
    """An offline ``alt.JupyterChart`` for ``chart`` (SVG renderer, no action menu) whose
    display output also carries a PNG of it (:class:`OfflineChart`).

    Assign a new chart to ``.chart`` to redraw it; read selections from ``.selections``.

    >>> c = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    >>> w = chart_widget(c)
    >>> w.spec["mark"]["type"]
    'point'
    """
    return OfflineChart(chart, embed_options={**EMBED_OPTIONS, **embed_options})


def chart_spec(chart: alt.TopLevelMixin | dict) -> dict:
    """The vega-lite spec (a JSON-ready dict) of an altair chart; dicts pass through.

    >>> chart_spec(alt.Chart(alt.Data(values=[])).mark_bar())["mark"]["type"]
    'bar'
    """
    return chart if isinstance(chart, dict) else chart.to_dict()


def chart_to_png(chart: alt.TopLevelMixin | dict, scale: float = 1.0) -> bytes:
    """Render a chart to PNG bytes with vl-convert (no browser, no network).

    >>> c = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    >>> chart_to_png(c)[:4]
    b'\\x89PNG'
    """
    import vl_convert as vlc

    return vlc.vegalite_to_png(chart_spec(chart), vl_version=_vl_version(), scale=scale)


def chart_to_svg(chart: alt.TopLevelMixin | dict) -> str:
    """Render a chart to an SVG string with vl-convert.

    >>> c = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    >>> chart_to_svg(c).startswith("<svg")
    True
    """
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart_spec(chart), vl_version=_vl_version())


def _script_json(obj) -> str:
    """JSON safe to put inside a <script> element (no '</', no HTML comment openers)."""
    s = json.dumps(obj, allow_nan=False, default=str)
    return s.replace("</", "<\\/").replace("<!--", "<\\!--")


def chart_html(chart: alt.TopLevelMixin | dict, *, title: str | None = None,
               element_id: str | None = None) -> str:
    """An HTML fragment that draws ``chart`` with the inlined vega bundle of :func:`html_page`.

    The fragment is a ``<figure data-wb-chart>`` holding a div, the spec as JSON and a
    one-line ``vegaEmbed`` call; errors are shown in the figure and logged to the console.
    The vega view is kept in ``window.wbViews[element_id]`` (for scripts and tests).

    >>> c = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    >>> "vegaEmbed" in chart_html(c, element_id="c0")
    True
    """
    cid = element_id or f"wb-chart-{next(_ids)}"
    spec = chart_spec(chart)
    cap = f"<figcaption>{html.escape(title)}</figcaption>" if title else ""
    opts = _script_json(EMBED_OPTIONS)
    return (
        f'<figure class="wb-chart" data-wb-chart="{cid}">{cap}<div id="{cid}"></div>\n'
        f'<script type="application/json" id="{cid}-spec">{_script_json(spec)}</script>\n'
        "<script>(function(){"
        f'var el=document.getElementById("{cid}");'
        f'var spec=JSON.parse(document.getElementById("{cid}-spec").textContent);'
        f"vegaEmbed(el,spec,{opts}).then(function(r){{"
        f'(window.wbViews=window.wbViews||{{}})["{cid}"]=r.view;}}).catch(function(e){{'
        'console.error("workbench chart failed:",e);'
        'el.textContent="chart failed to render: "+e;});'
        "})();</script></figure>\n"
    )


PAGE_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 72rem; padding: 0 1rem; color: #222; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3rem; }
h2 { margin-top: 2.5rem; border-bottom: 1px solid #eee; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: .2rem .5rem; text-align: right; }
th { background: #f6f6f6; }
td.text, th.text { text-align: left; }
pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; font-size: .8rem; }
figure.wb-chart { margin: 1rem 0; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
.wb-note { color: #666; font-size: .85rem; }
"""


def html_page(body: str | Iterable[str], *, title: str = "workbench") -> str:
    """A complete self-contained HTML page: the vega bundle and CSS inlined, then ``body``.

    ``body`` is HTML (a string or fragments, e.g. from :func:`chart_html`). The page loads
    nothing from the network.

    >>> page = html_page("<p>hi</p>", title="t")
    >>> page.startswith("<!DOCTYPE html>") and "<script src=" not in page
    True
    """
    if not isinstance(body, str):
        body = "\n".join(body)
    bundle = vega_bundle().replace("</script", "<\\/script")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<style>{PAGE_CSS}</style>\n"
        f"<script>\n{bundle}\n</script>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


class Explorer:
    """Base class of the workbench's explorers (controls + altair chart, live and static).

    A subclass implements :meth:`chart` (the altair chart for the current control state) and
    :meth:`controls` (a list of ipywidgets), and calls :meth:`_chart_changed` when a control
    changes. The base class builds the live widget lazily, keeps the ``JupyterChart`` in sync,
    runs callbacks registered with :meth:`on_change`, and renders statically.

    >>> class One(Explorer):
    ...     title = "one point"
    ...     def chart(self):
    ...         return alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    >>> "vegaEmbed" in One().to_html()
    True
    """

    title: str = "explorer"

    def __init__(self) -> None:
        self._widget = None
        self._jchart: alt.JupyterChart | None = None
        self._callbacks: list[Callable] = []

    # -- to implement -------------------------------------------------------------------------
    def chart(self) -> alt.TopLevelMixin:
        """The altair chart for the current state of the controls.

        >>> EngineExplorer(ds).chart().save("engine.json")       # doctest: +SKIP
        """
        raise NotImplementedError

    def controls(self) -> list:
        """The ipywidgets controls shown above the chart (none by default)."""
        return []

    def describe(self) -> str:
        """One line saying what the chart shows now (shown under the chart)."""
        return ""

    # -- live ---------------------------------------------------------------------------------
    @property
    def jupyter_chart(self) -> alt.JupyterChart:
        """The live ``alt.JupyterChart`` (created on first use).

        >>> class One(Explorer):
        ...     def chart(self):
        ...         return alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
        >>> One().jupyter_chart.spec["mark"]["type"]
        'point'
        """
        if self._jchart is None:
            self._jchart = chart_widget(self.chart())
            self._jchart.observe(self._selection_changed, names="_vl_selections")
        return self._jchart

    def _selection_changed(self, _change=None) -> None:
        if self._widget is not None:
            self._status.value = self._status_html()

    @property
    def widget(self):
        """The ipywidgets box (controls, chart, status line) that Jupyter displays.

        >>> class One(Explorer):
        ...     def chart(self):
        ...         return alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
        >>> type(One().widget).__name__
        'VBox'
        """
        if self._widget is None:
            import ipywidgets as W

            self._status = W.HTML(self._status_html())
            controls = self.controls()
            top = [W.HBox(controls)] if controls else []
            self._widget = W.VBox(top + [self.jupyter_chart, self._status])
            self._widget.add_class("wb-explorer")
        return self._widget

    def on_change(self, callback: Callable) -> Callable:
        """Call ``callback(explorer)`` after every redraw caused by a control; returns it.

        >>> class One(Explorer):
        ...     def chart(self):
        ...         return alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
        >>> seen = []
        >>> e = One(); _ = e.on_change(seen.append); e._chart_changed()
        >>> seen == [e]
        True
        """
        self._callbacks.append(callback)
        return callback

    def _chart_changed(self, _change=None) -> None:
        """Redraw after a control changed: new chart into the JupyterChart, status, callbacks."""
        if self._jchart is not None:
            self._jchart.chart = self.chart()
        if self._widget is not None:
            self._status.value = self._status_html()
        for cb in list(self._callbacks):
            cb(self)

    def _status_html(self) -> str:
        d = self.describe()
        return f'<span class="wb-note">{html.escape(d)}</span>' if d else ""

    # -- static -------------------------------------------------------------------------------
    def to_png(self, scale: float = 1.0) -> bytes:
        """The current chart as PNG bytes (vl-convert).

        >>> open("engine.png", "wb").write(EngineExplorer(ds).to_png(scale=2))  # doctest: +SKIP
        """
        return chart_to_png(self.chart(), scale=scale)

    def to_svg(self) -> str:
        """The current chart as an SVG string (vl-convert).

        >>> EngineExplorer(ds).to_svg()[:4]                      # doctest: +SKIP
        '<svg'
        """
        return chart_to_svg(self.chart())

    def to_html(self) -> str:
        """A self-contained HTML page of the current chart (JS inlined, works offline).

        >>> "<script src" in EngineExplorer(ds).to_html()        # doctest: +SKIP
        False
        """
        parts = [f"<h1>{html.escape(self.title)}</h1>"]
        d = self.describe()
        if d:
            parts.append(f'<p class="wb-note">{html.escape(d)}</p>')
        parts.append(chart_html(self.chart()))
        return html_page(parts, title=self.title)

    def save_html(self, path: str | Path) -> Path:
        """Write :meth:`to_html` to ``path``; returns the path.

        >>> EngineExplorer(ds).save_html("engine.html")          # doctest: +SKIP
        PosixPath('engine.html')
        """
        path = Path(path)
        path.write_text(self.to_html(), encoding="utf-8")
        return path

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Live widget in Jupyter, plus a PNG for viewers that cannot run widgets (GitHub)."""
        data = with_static(self.widget._repr_mimebundle_(include=include, exclude=exclude),
                           self.chart())
        data["text/plain"] = f"<{type(self).__name__}: {self.describe() or self.title}>"
        return data
