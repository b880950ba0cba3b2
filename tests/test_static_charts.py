"""Every chart the workbench displays carries a static copy (a PNG beside the live widget), and
an executed notebook becomes an HTML page that shows every chart without a kernel or a network
(workbench.widgets._base, workbench.report.notebook_html).

These build the display outputs in this process (no kernel); tests/test_notebooks.py checks
the same on the real notebooks executed by papermill, and tests/test_browser.py opens such a
page in chromium with the network refused.
"""
from __future__ import annotations

import base64
import re

import pytest

alt = pytest.importorskip("altair")
pytest.importorskip("vl_convert")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbconvert")

from workbench.report import WIDGET_STATE, WIDGET_VIEW, notebook_html, static_notebook  # noqa: E402
from workbench.widgets._base import (Explorer, Figure, OfflineChart, chart_widget,  # noqa: E402
                                     use_offline_charts, with_static)

PNG = b"\x89PNG\r\n\x1a\n"


def _bars(title="calls"):
    data = alt.Data(values=[{"k": "a", "n": 3}, {"k": "b", "n": 5}])
    return alt.Chart(data, title=title).mark_bar().encode(x="k:N", y="n:Q")


def _png(bundle) -> bytes:
    return base64.b64decode(bundle["image/png"])


def test_altair_charts_display_live_and_static():
    use_offline_charts()
    assert alt.renderers.active == "workbench"
    import pandas as pd

    base = alt.Chart(pd.DataFrame({"k": ["a", "b"], "n": [3, 5]})).encode(x="k:N", y="n:Q")
    layered = alt.layer(base.mark_bar(), base.mark_tick()).facet(column="k:N")
    for chart in (_bars(), layered):
        bundle = chart._repr_mimebundle_()
        assert WIDGET_VIEW in bundle            # JupyterLab: the live, offline widget
        assert _png(bundle).startswith(PNG)     # anywhere else: the picture


def test_chart_widgets_figures_and_explorers_carry_a_png():
    import ipywidgets as W

    w = chart_widget(_bars())
    assert isinstance(w, OfflineChart) and w._is_offline
    bundle = w._repr_mimebundle_()
    assert _png(bundle).startswith(PNG) and bundle["text/plain"] == "<chart: calls>"
    # the picture follows the chart: redraw, display again
    w.chart = _bars("other")
    assert w._repr_mimebundle_()["text/plain"] == "<chart: other>"

    box = W.VBox([W.Dropdown(options=["a"]), w])
    bundle = Figure(box, lambda: w.chart)._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and _png(bundle).startswith(PNG)

    class One(Explorer):
        def chart(self):
            return _bars()

    bundle = One()._repr_mimebundle_()
    assert isinstance(bundle, dict) and WIDGET_VIEW in bundle and _png(bundle).startswith(PNG)


def test_a_chart_that_cannot_render_keeps_its_live_display():
    bad = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "mark": "nosuchmark"}
    out = with_static(({WIDGET_VIEW: {"model_id": "m"}, "text/plain": "x"}, {}), bad)
    assert out == {WIDGET_VIEW: {"model_id": "m"}, "text/plain": "x"}


def _executed_like_papermill():
    """A notebook whose outputs are what a kernel would have sent: a chart (widget view +
    PNG), a box of widgets with a figure, a progress bar (widget view only), a table, and
    the widget state nbclient saves."""
    import ipywidgets as W

    use_offline_charts()

    def out(bundle):
        return nbformat.v4.new_output("execute_result", bundle, execution_count=1)

    chart = out(_bars()._repr_mimebundle_())
    fig = out(Figure(W.VBox([chart_widget(_bars("sweep"))]), _bars("sweep"))._repr_mimebundle_())
    progress = out({WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": "p"},
                    "text/plain": "sweep: 100%|##########| 4/4"})
    table = out({"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "1"})
    cells = [nbformat.v4.new_markdown_cell("# charts"),
             nbformat.v4.new_code_cell("chart", outputs=[chart]),
             nbformat.v4.new_code_cell("figure", outputs=[fig]),
             nbformat.v4.new_code_cell("run()", outputs=[progress, table])]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": {}, "version_major": 2, "version_minor": 0}}
    return nb


def _cell_html(page: str) -> list[str]:
    """The HTML of each cell of an nbconvert JupyterLab page, in order."""
    starts = [m.start() for m in re.finditer(r'<div\s+class="jp-Cell ', page)]
    return [page[a:b] for a, b in zip(starts, starts[1:] + [len(page)])]


def test_static_notebook_drops_widget_views_and_state():
    nb = _executed_like_papermill()
    st = static_notebook(nb)
    assert "widgets" not in st.metadata and "widgets" in nb.metadata        # a copy
    outs = [o for c in st.cells for o in c.get("outputs", [])]
    assert all(WIDGET_VIEW not in o["data"] for o in outs)
    assert [sorted(o["data"]) for o in outs][:2] == [["image/png", "text/plain"]] * 2


def test_notebook_html_shows_every_chart_and_loads_nothing(tmp_path):
    nb = _executed_like_papermill()
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    page = notebook_html(path, tmp_path / "nb.html")
    assert (tmp_path / "nb.html").read_text(encoding="utf-8") == page
    # no script from anywhere (CDNs: require.js, MathJax, the widget manager), no remote CSS
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']https?:", page, re.I)
    assert WIDGET_VIEW not in page and WIDGET_STATE not in page
    cells = _cell_html(page)
    assert len(cells) == 4
    for i in (1, 2):  # the chart and the figure: an inline picture each
        imgs = re.findall(r'<img\s+[^>]*src="data:image/png;base64,([^"]+)"', cells[i])
        assert len(imgs) == 1 and base64.b64decode(imgs[0]).startswith(PNG), i
    # the progress bar falls back to its text; the table stays a table
    assert "4/4" in cells[3] and "<table>" in cells[3] and "<img" not in cells[3]


def test_notebook_html_from_a_shell(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "nb.ipynb"
    nbformat.write(_executed_like_papermill(), str(path))
    p = subprocess.run([sys.executable, "-m", "workbench.report", str(path)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "nb.html").is_file() and p.stdout.strip() == str(tmp_path / "nb.html")
