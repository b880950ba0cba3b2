"""workbench.report.write_report: one self-contained HTML file with a section per study
(summary table, charts as embedded vega-lite specs, provenance, when the data was measured);
the barrier study's section (summary, paper comparison, overhead and P(wrong) charts)."""
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


# ------------------------------------------------------------------ the barrier study's section

def synthetic_barrier_dataset(repeats: int = 3):
    """A barrier-study Dataset with made-up numbers in the real layout (``studies.barrier``):
    heads with a clear overhead that falls with the interval, zstd whose ratios are noise
    (below 1 at the paper's interval), the bursty baseline at the first interval, per-site
    accuracy, the optimizations, and the sweep's measurement attrs."""
    from workbench.studies import barrier

    rng = np.random.default_rng(0)
    w, p, sb = ["heads", "zstd"], ["none", "barrier", "bursty"], [16 << 10, 256 << 10, 8 << 20]
    dims = ("workload", "profiler", "sample_bytes", "repeat")
    shape = (len(w), len(p), len(sb), repeats)
    nan = np.full(shape, np.nan)
    ratio = nan.copy()
    ratio[:, 0, 0, :] = 1.0
    ratio[0, 1] = np.array([2.4, 1.6, 1.2])[:, None] + rng.uniform(-0.05, 0.05, (3, repeats))
    ratio[1, 1] = np.array([1.1, 0.9, 0.4])[:, None] + rng.uniform(-0.2, 0.2, (3, repeats))
    ratio[:, 2, 0, :] = 1.9 + rng.uniform(-0.1, 0.1, (2, repeats))
    noise = np.where(np.isfinite(ratio), 0.05, np.nan)
    noise[:, 0] = np.nan
    data = {"paired_ratio": ratio, "baseline_noise": noise, "time_s": ratio * 0.01,
            "output_ok": np.where(np.isfinite(ratio), 1.0, np.nan)}
    for name, per_sb in (("samples", [40, 3, 0]), ("faults_per_s", [4e5, 5e4, 0]),
                         ("coverage", [0.8, 0.5, 0.0])):
        a = nan.copy()
        a[:, 1] = np.array(per_sb, float)[:, None]
        a[:, 2, 0] = per_sb[0] * 1.1
        data[name] = a
    for c in barrier.CONCLUSIONS:
        a = nan.copy()
        a[:, 1, :2] = np.array([[0.0, 0.0], [0.6, 0.4]])[:, :, None]   # nothing sampled at 8 MiB
        a[:, 2, 0] = 0.1
        data[f"error_prob_{c}"] = a
    ds = xr.Dataset({k: (dims, v) for k, v in data.items()},
                    coords={"workload": w, "profiler": p, "sample_bytes": sb, "repeat": list(range(repeats))})
    for var in ("opt_bytes", "opt_shrinkable_bytes", "shrink_mem_saved_bytes", "opt_write_only_bytes",
                "opt_write_only_compressed_bytes", "shrink_fixups", "shrink_time_ratio", "shrink_output_ok"):
        ds[var] = ("workload", [5e6, 1.4e6] if "bytes" in var else [1.0, 1.0])
    ds = barrier.add_overhead_stats(ds)
    ds.attrs.update(study="barrier", engine_version="0.1.0", config=json.dumps({"synthetic": True}),
                    created="2025-01-02T00:00:00+00:00", measured_from="2025-01-01 10:00:03 UTC",
                    measured_to="2025-01-01 10:04:10 UTC", points_reused=12, points_total=54)
    return ds


@pytest.fixture
def barrier_page(tmp_path):
    page = write_report({"barrier": synthetic_barrier_dataset()}, tmp_path).read_text(encoding="utf-8")
    return page[page.index('data-wb-study="barrier"'):]


def test_barrier_section_tables(barrier_page):
    sec = barrier_page
    for title in ("summary", "beside the paper", "the optimizations", "charts", "provenance"):
        assert f"<h3>{title}</h3>" in sec, title
    summary = sec[sec.index("<h3>summary</h3>"):sec.index("<h3>beside the paper</h3>")]
    for col in ("overhead min", "overhead max", "noise ±", "verdict", "P(wrong untouched)", "coverage"):
        assert f"<th>{col}</th>" in summary, col
    assert "<td>noise</td>" in summary and "<td>overhead</td>" in summary
    assert "<td>16 KiB</td>" in summary and "<td>8 MiB</td>" in summary   # readable intervals
    paper = sec[sec.index("<h3>beside the paper</h3>"):sec.index("<h3>the optimizations</h3>")]
    assert "<td>paper</td>" in paper and "<td>reported</td>" in paper and "<td>noise</td>" in paper
    assert "is not compared with the paper as one" in sec                  # the noise rule, said


def test_barrier_section_charts(barrier_page):
    specs = _specs(barrier_page)
    titles = re.findall(r"<figcaption>(.*?)</figcaption>", barrier_page)
    assert titles == ["overhead vs sample_bytes", "P(wrong) and coverage vs sample_bytes",
                      "beside the paper", "the optimizations"]
    assert len(specs) == 4 and all("vega-lite" in s["$schema"] for s in specs)

    def marks(spec):
        layers = spec.get("spec", spec).get("layer", [spec.get("spec", spec)])
        return [(m["mark"]["type"] if isinstance(m["mark"], dict) else m["mark"], m.get("encoding", {}))
                for m in layers]

    overhead, accuracy, paper, _ = specs
    assert overhead["facet"]["column"]["field"] == "workload"
    # error bars: a rule from each cell's min to its max; the verdict decides the point's fill
    assert any(t == "rule" and enc.get("y", {}).get("field") == "low" and enc.get("y2", {}).get("field") == "high"
               for t, enc in marks(overhead))
    assert any(enc.get("fill", {}).get("field") == "verdict" for _, enc in marks(overhead))
    assert any(t == "rule" and "y2" in enc for t, enc in marks(accuracy))
    # the paper chart: one row per source and workload, intervals as rules, noise labelled
    rows = [r for d in paper["datasets"].values() for r in d]
    assert {r["source"] for r in rows} == {"paper", "here"}
    assert any(t == "rule" and enc.get("x2", {}).get("field") == "high %" for t, enc in marks(paper))
    assert any(t == "text" for t, _ in marks(paper))


def test_section_says_when_the_data_was_measured(barrier_page, report):
    assert "Measured 2025-01-01 10:00:03 UTC to 2025-01-01 10:04:10 UTC; 12 of 54 points were reused" in barrier_page
    _, page = report
    assert "wb-measured" not in page   # the synthetic engine Dataset carries no measurement attrs


def test_barrier_charts_render_without_a_browser():
    """vl-convert compiles and draws every barrier chart (a spec error would raise)."""
    from workbench.widgets._base import chart_to_png
    from workbench.widgets.barrier import report_charts

    for title, chart in report_charts(synthetic_barrier_dataset()):
        assert chart_to_png(chart)[:4] == b"\x89PNG", title
