"""The notebooks in notebooks/: each .py/.ipynb pair is in sync, has a papermill parameters cell
defaulting to the small scale, and executes from top to bottom with papermill.

The kernel is this interpreter (the venv's Python), registered as ``python3`` in a temporary
JUPYTER_PATH, so the tests work from a fresh venv without touching the user's kernelspecs.
"""
from __future__ import annotations

import importlib.util
import json
import os
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


def _needs(name: str):
    """Skip a notebook whose study module has not landed yet (explicit reason)."""
    if name == "01_engine":
        try:
            found = importlib.util.find_spec("workbench.studies.engine") is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            pytest.skip("workbench.studies.engine is not importable yet; 01_engine needs it")


@pytest.mark.parametrize("name", PAIRS)
def test_notebook_executes(name, jupyter_path, tmp_path):
    papermill = pytest.importorskip("papermill")
    _needs(name)
    out = tmp_path / f"{name}.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"), str(out), parameters={"scale": "small"},
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
