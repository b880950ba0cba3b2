"""SamplingExplorer (workbench/widgets/sampling.py), headless: the slider redraws from the
model, the button measures for real in the background and adds the point, and the explorer
renders statically."""
from __future__ import annotations

import pytest

from workbench.widgets import SamplingExplorer


@pytest.fixture(scope="module")
def ex():
    return SamplingExplorer.from_program("heads", ["200"])


def test_slider_moves_the_chart_from_the_model(ex):
    seen = []
    ex.on_change(seen.append)
    ex.interval = 1 << 12
    d1 = ex.describe()
    ex.interval = 1 << 24
    d2 = ex.describe()
    assert len(seen) == 2 and d1 != d2
    curve = ex.data()
    assert (curve["samples"].diff().dropna() <= 0).all()      # fewer samples as the interval grows
    assert curve["samples"].iloc[0] > curve["samples"].iloc[-1]
    assert set(curve.columns) >= {"overhead", "coverage", "error_untouched"}


def test_measure_adds_a_real_point(ex):
    ex.measure(1 << 14, wait=True)
    assert len(ex.measured) == 1
    row = ex.measured.iloc[0]
    assert row["interval"] == 1 << 14 and row["faults"] > 0 and row["overhead"] > 0
    assert "measured" in ex.progress.value
    spec = ex.chart().to_dict()
    assert len(spec["hconcat"][0]["layer"]) == 3                # model, rule, measured points


def test_static_rendering(ex):
    html = ex.to_html()
    assert "vegaEmbed" in html and "<script src" not in html
    assert ex.to_png()[:4] == b"\x89PNG"
    assert type(ex.widget).__name__ == "VBox"
