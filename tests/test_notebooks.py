"""The notebooks in notebooks/: each .py/.ipynb pair is in sync, has a papermill parameters cell
defaulting to the small scale, and executes from top to bottom with papermill. Each executed
notebook is then read as a viewer without a kernel would: every chart's output carries a PNG,
and its offline HTML (workbench.report.notebook_html) shows each chart as an image and loads
no script from anywhere. Notebook 02 shows allocation sites by name and its study as charts.

The kernel is this interpreter (the venv's Python), registered as ``python3`` in a temporary
JUPYTER_PATH, so the tests work from a fresh venv without touching the user's kernelspecs.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import pytest

from conftest import kernel_dir

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
PAIRS = sorted(p.stem for p in NOTEBOOKS.glob("*.py"))

jupytext = pytest.importorskip("jupytext")


@pytest.fixture(scope="module")
def jupyter_path(tmp_path_factory):
    root = kernel_dir(tmp_path_factory.mktemp("jupyter"))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(root)] + ([old] if old else []))
    yield root
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


def _cells(nb):
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


def test_there_are_notebooks():
    assert {"00_tour", "01_engine"} <= set(PAIRS)


@pytest.mark.parametrize("name", PAIRS)
def test_pair_in_sync(name):
    """The .ipynb holds exactly the cells of the .py (regenerate: jupytext --sync notebooks/*.py)."""
    py, ipynb = NOTEBOOKS / f"{name}.py", NOTEBOOKS / f"{name}.ipynb"
    assert ipynb.exists(), f"{ipynb.name} is missing: run `jupytext --sync notebooks/{name}.py`"
    a, b = jupytext.read(py), jupytext.read(ipynb)
    assert _cells(a) == _cells(b), f"{name}.py and {name}.ipynb differ: run `jupytext --sync notebooks/{name}.py`"
    assert b.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    assert all(not c.get("outputs") for c in b.cells if c.cell_type == "code"), \
        f"{name}.ipynb is committed with outputs; clear them"


@pytest.mark.parametrize("name", PAIRS)
def test_parameters_cell_defaults_to_small(name):
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    scope: dict = {}
    exec(params[0].source, scope)
    assert scope.get("scale") == "small"
    if "store" in scope:  # a study's store: reuse is the default, fresh=True measures again
        assert scope.get("fresh") is False
        assert "in memory" not in params[0].source  # it is not: None is the cache or a temp dir


def _needs(name: str):
    """Skip a notebook whose study module has not landed yet (explicit reason)."""
    if name == "01_engine":
        try:
            found = importlib.util.find_spec("workbench.studies.engine") is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            pytest.skip("workbench.studies.engine is not importable yet; 01_engine needs it")


def test_a_bad_scale_is_a_clear_error(jupyter_path, tmp_path):
    """papermill -p scale medium: the parameters' check says which scales exist."""
    papermill = pytest.importorskip("papermill")
    with pytest.raises(papermill.PapermillExecutionError) as e:
        papermill.execute_notebook(
            str(NOTEBOOKS / "00_tour.ipynb"), str(tmp_path / "bad.ipynb"),
            parameters={"scale": "medium"}, kernel_name="python3", cwd=str(tmp_path),
            progress_bar=False, execution_timeout=300)
    assert e.value.ename == "UnknownScaleError"
    assert "choose one of small, paper" in e.value.evalue


@pytest.mark.parametrize("name", PAIRS)
def test_notebook_executes(name, jupyter_path, tmp_path, tmp_path_factory):
    papermill = pytest.importorskip("papermill")
    _needs(name)
    out = tmp_path / f"{name}.ipynb"
    params = {"scale": "small"}
    if name in ("01_engine", "02_barrier_profiler", "04_unlimited_watchpoints", "05_aikido"):
        params["rerun"] = True          # measure (the default shows datasets/: test below)
    if name in ("01_engine", "05_aikido"):  # the session's shared store (test_study_engine.shared_sweeps)
        from test_study_engine import shared_sweeps
        from workbench.studies import aikido, engine

        study = engine if name == "01_engine" else aikido
        params["store"] = str(study.default_store("small", base=shared_sweeps(tmp_path_factory)))
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"), str(out), parameters=params,
        kernel_name="python3", cwd=str(tmp_path), progress_bar=False, execution_timeout=600,
    )
    nb = json.loads(out.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    if name == "00_tour":
        # the last code cell displays the interactive sweep: a widget view
        last = [c for c in nb["cells"] if c["cell_type"] == "code"][-1]
        mimes = {k for o in last["outputs"] for k in o.get("data", {})}
        assert "application/vnd.jupyter.widget-view+json" in mimes
    charts = _check_static(nb, out)
    assert len(charts) >= MIN_CHARTS.get(name, 0), f"{name}: {len(charts)} charts"
    if name == "02_barrier_profiler":
        _check_barrier_notebook(nb, charts)


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
#: charts each notebook shows at least (00: 3 altair charts and the sweep; 01: the client
#: costs and the explorer; 02: the explorer, overhead, accuracy, optimizations, the paper;
#: 04: the watchpoint cache explorer; 05: three sharing explorers, the one with the study,
#: overhead, speedup beside the paper)
MIN_CHARTS = {"00_tour": 4, "01_engine": 2, "02_barrier_profiler": 5, "04_unlimited_watchpoints": 1,
              "05_aikido": 6}


def _chart_cells(nb) -> dict[str, dict]:
    """{cell id: code cell} of the cells with an output that draws a chart: a widget view
    whose widget is, or holds, an altair JupyterChart (an anywidget, ``AnyModel``, in the
    widget state nbclient saved). Progress bars and other widgets are not charts."""
    state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})

    def is_chart(model_id: str) -> bool:
        m = state.get(model_id)
        if m is None:
            return False
        kids = [k.removeprefix("IPY_MODEL_") for k in m["state"].get("children", [])]
        return m["model_name"] == "AnyModel" or any(is_chart(k) for k in kids)

    out = {}
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            view = o.get("data", {}).get(WIDGET_VIEW)
            if view is not None:
                assert state, "widget views but no saved widget state: cannot tell charts apart"
                if is_chart(view["model_id"]):
                    out[cell["id"]] = cell
    return out


def _check_static(nb, path: Path) -> dict[str, dict]:
    """Every chart output carries a PNG, and the notebook's offline HTML shows each chart
    cell with an inline image and loads no script; returns the chart cells."""
    from workbench.report import notebook_html

    charts = _chart_cells(nb)
    for cid, cell in charts.items():
        for o in cell["outputs"]:
            if WIDGET_VIEW in o.get("data", {}):
                assert "image/png" in o["data"], f"chart without a static copy: {cell['source'][:200]}"
    page = notebook_html(path, path.with_suffix(".html"))
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I), "the page loads a script"
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']https?:", page, re.I)
    assert WIDGET_VIEW not in page
    for cid, cell in charts.items():
        start = page.index(f'id="cell-id={cid}"')
        nxt = page.find('id="cell-id=', start + 1)
        html = page[start:nxt if nxt > 0 else len(page)]
        assert re.search(r'<img\s[^>]*src="data:image/png;base64,', html), \
            f"no image for the chart of: {cell['source'][:200]}"
    return charts


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _check_barrier_notebook(nb, charts) -> None:
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    # the ground truth's allocation sites are named (function+0xoffset), not raw addresses
    (truth,) = [c for c in cells if 'groupby("site_symbol")' in _source(c)]
    table = "".join(truth["outputs"][0]["data"]["text/html"])
    assert "allocation site" in table
    names = re.findall(r"<th>(\w+\+0x[0-9a-f]+)</th>", table)
    assert len(names) >= 2, table[:1000]
    # the study's results are charts too, and so is the comparison with the paper
    chart_sources = {_source(c).strip() for c in charts.values()}
    for call in ("overhead_chart(ds)", "accuracy_chart(ds)", "optimizations_chart(ds)", "paper_chart(paper)"):
        assert call in chart_sources, call


def test_engine_notebook_shows_the_reference_by_default(jupyter_path, tmp_path):
    """rerun = False (the default): notebook 01 opens datasets/engine-paper.nc, measures
    nothing, and says where its numbers come from."""
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "ref.ipynb"
    papermill.execute_notebook(str(NOTEBOOKS / "01_engine.ipynb"), str(out), kernel_name="python3",
                               cwd=str(tmp_path), progress_bar=False, execution_timeout=300)
    nb = json.loads(out.read_text())
    text = "".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                   for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert "the reference result: engine-paper.nc, measured" in text
    assert "sweep engine" not in text                     # no sweep ran
