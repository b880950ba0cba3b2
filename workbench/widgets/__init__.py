"""Interactive explorers for the workbench's Datasets (ipywidgets + altair), live and static.

This package owns the explorers shown in the notebooks and the shared machinery they use:
``EngineExplorer`` (the engine study), ``SamplingExplorer`` (the barrier profiler's
sampling interval, from the trace-driven model), and from ``_base`` the ``Explorer`` base class, offline
chart widgets (``chart_widget``, ``use_offline_charts``) and static rendering (``html_page``,
``chart_html``, ``chart_to_png``, ``chart_to_svg``). Explorers only read Datasets; nothing here
knows about the engine.

>>> from workbench.widgets import EngineExplorer
>>> ex = EngineExplorer(ds)           # doctest: +SKIP
>>> ex                                # in Jupyter: controls and linked charts  # doctest: +SKIP
"""
from ._base import (EMBED_OPTIONS, Explorer, chart_html, chart_spec, chart_to_png, chart_to_svg,
                    chart_widget, enable_offline, html_page, use_offline_charts, vega_bundle)
from .engine import EngineExplorer, engine_chart, engine_frame, report_charts
from .sampling import SamplingExplorer, model_curve

__all__ = [
    "EMBED_OPTIONS", "EngineExplorer", "Explorer", "chart_html", "chart_spec", "chart_to_png",
    "chart_to_svg", "chart_widget", "enable_offline", "engine_chart", "engine_frame",
    "html_page", "model_curve", "report_charts", "SamplingExplorer", "use_offline_charts",
    "vega_bundle",
]
