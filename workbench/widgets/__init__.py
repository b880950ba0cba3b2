"""Interactive explorers for the workbench's Datasets (ipywidgets + altair), live and static.

This package owns the explorers shown in the notebooks and the shared machinery they use:
``EngineExplorer`` (the engine study), ``SamplingExplorer`` (the barrier profiler's
sampling interval, from the trace-driven model), ``WatchpointCacheExplorer`` (the watchpoint
unit's range-cache size, from the model of the unit and its cycle model), ``SharingExplorer``
and ``sharing_map_chart`` (which pages the threads of a run share; the aikido study's charts,
``overhead_chart`` and ``speedup_chart``, stay in ``workbench.widgets.aikido`` beside the
barrier study's in ``workbench.widgets.barrier``), the views of
objects, faults and events in ``views`` (``object_heatmap``, ``object_timeline``,
``event_timeline``, ``fault_cost_chart``, ``ObjectExplorer``), and from ``_base`` the
``Explorer`` base class, offline chart widgets (``chart_widget``, ``use_offline_charts``) and
static rendering (``html_page``, ``chart_html``, ``chart_to_png``, ``chart_to_svg``).
Explorers only read Datasets; nothing here knows about the engine.

>>> from workbench.widgets import EngineExplorer
>>> ex = EngineExplorer(ds)           # doctest: +SKIP
>>> ex                                # in Jupyter: controls and linked charts  # doctest: +SKIP
"""
from ._base import (EMBED_OPTIONS, Explorer, Figure, OfflineChart, chart_html, chart_spec,
                    chart_to_png, chart_to_svg, chart_widget, enable_offline, html_page,
                    use_offline_charts, vega_bundle, with_static)
from .aikido import SharingExplorer, sharing_frame, sharing_map_chart
from .engine import EngineExplorer, engine_chart, engine_frame, report_charts
from .sampling import SamplingExplorer, SamplingModel, bytes_axis, format_bytes, model_curve
from .views import (ObjectExplorer, event_timeline, fault_cost_chart, fault_cost_frame,
                    heatmap_frame, object_heatmap, object_timeline, object_timeline_frame,
                    timeline_frame)
from .watchpoints import WatchpointCacheExplorer, format_entries

__all__ = [
    "EMBED_OPTIONS", "EngineExplorer", "Explorer", "Figure", "ObjectExplorer", "OfflineChart",
    "SamplingExplorer", "SharingExplorer", "WatchpointCacheExplorer", "with_static",
    "SamplingModel", "bytes_axis", "chart_html", "chart_spec", "chart_to_png", "chart_to_svg",
    "chart_widget", "enable_offline", "engine_chart", "engine_frame", "event_timeline",
    "fault_cost_chart", "fault_cost_frame", "format_bytes", "format_entries", "heatmap_frame",
    "html_page", "sharing_frame", "sharing_map_chart",
    "model_curve", "object_heatmap", "object_timeline", "object_timeline_frame",
    "report_charts", "timeline_frame", "use_offline_charts", "vega_bundle",
]
