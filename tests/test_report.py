"""workbench.report.write_report: one self-contained HTML file with a section per study
(summary table, charts as embedded vega-lite specs, provenance)."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("altair")
pytest.importorskip("vl_convert")

from conftest import ENGINE_CLIENTS, synthetic_engine_dataset  # noqa: E402
from workbench.report import Section, SECTIONS, register_section, write_report  # noqa: E402


def other_study():
    ds = xr.Dataset({"latency_insns": (("strategy", "repeat"), np.arange(6.0).reshape(3, 2),
                                       {"units": "1"})},
                    coords={"strategy": ["poll", "signal", "chain"], "repeat": [0, 1]},
                    attrs={"engine_version": "0.1.0", "config": json.dumps({"x": 1}),
                           "created": "2025-01-01T00:00:00+00:00"})
    return ds


def _specs(page: str) -> list[dict]:
    return [json.loads(m) for m in
            re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', page, re.S)]


@pytest.fixture
def report(tmp_path):
    path = write_report({"engine": synthetic_engine_dataset(), "interrupts": other_study()},
                        tmp_path / "out")
    return path, path.read_text(encoding="utf-8")


def test_written_where_asked(report, tmp_path):
    path, page = report
    assert path == tmp_path / "out" / "report.html"
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not list(path.parent.glob("*.tmp"))


def test_self_contained(report):
    _, page = report
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)  # no external scripts at all
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']https?:", page, re.I)
    assert not re.search(r"<img[^>]*\bsrc\s*=\s*[\"']https?:", page, re.I)
    assert page.count("window.vegaEmbed") >= 1 or "vegaEmbed" in page
    # the JavaScript bundle is inlined exactly once, however many charts there are
    assert page.count("</script>") == 1 + 2 * page.count("data-wb-chart=")


def test_a_section_per_study(report):
    _, page = report
    for name in ("engine", "interrupts"):
        assert f'data-wb-study="{name}"' in page
        assert f'href="#study-{name}"' in page
    engine = page[page.index('data-wb-study="engine"'):page.index('data-wb-study="interrupts"')]
    assert "<h3>summary</h3>" in engine and "<h3>charts</h3>" in engine
    # one chart per client relative to native, one relative to qemu
    assert engine.count("data-wb-chart=") == len(ENGINE_CLIENTS) + 1
    other = page[page.index('data-wb-study="interrupts"'):]
    assert "latency_insns" in other and "data-wb-chart=" not in other


def test_charts_are_vega_lite_specs_of_the_data(report):
    _, page = report
    specs = _specs(page)
    assert len(specs) == len(ENGINE_CLIENTS) + 1
    for spec in specs:
        assert "vega-lite" in spec["$schema"]
        assert spec["params"][0]["name"] == "tier_pick"
    clients = [{r["client"] for rows in s["datasets"].values() for r in rows if r["tier"] == "interp"}
               for s in specs]
    assert clients == [{c} for c in ENGINE_CLIENTS] + [{"none"}]


def test_summary_and_provenance(report):
    _, page = report
    engine = page[page.index('data-wb-study="engine"'):page.index('data-wb-study="interrupts"')]
    for attr in ("engine_version", "git_revision", "workload_sha256", "config", "host_cpu",
                 "created", "Conventions"):
        assert f">{attr}</th>" in engine
    assert "&quot;synthetic&quot;: true" in engine  # config JSON pretty-printed
    assert "memtrace" in engine and "lua54" in engine and "zstd" in engine


def test_registered_sections(tmp_path):
    @register_section("interrupts")
    def _irq(ds):
        return Section(description="latency per strategy, registered", tables=[])

    try:
        page = write_report({"interrupts": other_study()}, tmp_path).read_text()
        assert "latency per strategy, registered" in page
    finally:
        SECTIONS.pop("interrupts")


def test_study_attr_wins_over_key(tmp_path):
    page = write_report({"first run": synthetic_engine_dataset()}, tmp_path).read_text()
    assert page.count("data-wb-chart=") == len(ENGINE_CLIENTS) + 1  # presented as the engine study


def test_real_engine_summary_used_when_available(report):
    _, page = report
    try:
        from workbench.studies.engine import summary  # noqa: F401
    except ImportError:
        assert "is not available" in page
    else:
        assert "x native" in page and "x plain" in page
