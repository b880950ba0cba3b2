"""In a real browser (Debian's chromium driven by the ``playwright`` package; Playwright's own
browsers are never downloaded):

(a) JupyterLab: open notebooks/00_tour.ipynb, run all cells, change the tour's dropdown and see
    its altair chart redraw; a screenshot goes to the test's tmp dir (and to $WB_SCREENSHOT_DIR).
(b) the HTML report: open it with every network request refused; the charts must render
    (vega-embed drew SVG marks), with no JavaScript errors, and clicking a bar must select it;
    the barrier study's section draws its overhead, accuracy and paper charts.
(c) an executed notebook read without a kernel: papermill runs the tour, workbench.report's
    notebook_html turns it into a page, and with the network refused every chart shows as an
    image that loaded.

Both skip with the reason when chromium or playwright is missing or cannot start.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("WB_CHROMIUM") or shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def browser():
    """A headless Debian chromium driven by playwright, or a skip saying why not."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make system-deps installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        pytest.skip(f"the playwright package is not installed: {e}")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
    except Exception as e:  # noqa: BLE001 - any launch failure is a reason to skip, stated
        pw.stop()
        pytest.skip(f"chromium at {CHROMIUM} could not be launched by playwright: {e}")
    yield b
    b.close()
    pw.stop()


def _screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    out = os.environ.get("WB_SCREENSHOT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(out) / name)
    return path


# --------------------------------------------------------------------------------------------
# (b) the report, offline
# --------------------------------------------------------------------------------------------

def test_report_renders_offline(browser, tmp_path):
    from conftest import ENGINE_CLIENTS, synthetic_engine_dataset
    from workbench.report import write_report

    path = write_report({"engine": synthetic_engine_dataset()}, tmp_path)
    page = browser.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def refuse(route):
        requests.append(route.request.url)
        route.abort()

    page.route("http://**", refuse)
    page.route("https://**", refuse)
    try:
        page.goto(path.as_uri())
        figures = page.locator("[data-wb-chart]")
        n = figures.count()
        assert n == len(ENGINE_CLIENTS) + 1  # one per client vs native, one vs qemu
        page.wait_for_function(f"window.wbViews && Object.keys(window.wbViews).length === {n}",
                               timeout=30_000)
        for i in range(n):
            fig = figures.nth(i)
            assert fig.locator("svg").count() >= 1
            assert fig.locator(".mark-rect path").count() > 0, f"chart {i} drew no bars"
            assert "chart failed" not in fig.inner_text()
        # the selection works in the static page too: click one bar, the other tiers fade
        bars = figures.first.locator(".mark-rect path")
        bars.nth(0).click()
        page.wait_for_function(
            "sel => Array.from(document.querySelectorAll(sel)).some("
            "p => (p.getAttribute('opacity') || p.getAttribute('fill-opacity')) === '0.3')",
            arg="[data-wb-chart] .mark-rect path", timeout=10_000)
        cid = figures.first.get_attribute("data-wb-chart")
        signal = page.evaluate(f"window.wbViews[{json.dumps(cid)}].signal('tier_pick')")
        assert signal["vlPoint"]["or"] == [{"tier": "native"}]
        _screenshot(page, tmp_path, "report.png")
    finally:
        page.close()
    assert not requests, f"the report tried to load {requests}"
    assert not errors, f"JavaScript errors: {errors}"


def _offline_page(browser):
    """A new page with every network request refused and recorded, and its errors recorded."""
    page = browser.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("http://**", lambda r: (requests.append(r.request.url), r.abort()))
    page.route("https://**", lambda r: (requests.append(r.request.url), r.abort()))
    return page, errors, requests


#: every kind of mark the report's charts draw (bars, points, lines, rules, areas, text)
MARKS = ".mark-rect path, .mark-symbol path, .mark-line path, .mark-rule line, .mark-text text"


def test_barrier_report_renders_offline(browser, tmp_path):
    from test_report import synthetic_barrier_dataset
    from workbench.report import write_report

    path = write_report({"barrier": synthetic_barrier_dataset()}, tmp_path)
    page, errors, requests = _offline_page(browser)
    try:
        page.goto(path.as_uri())
        figures = page.locator("[data-wb-chart]")
        n = figures.count()
        assert n == 4
        page.wait_for_function(f"window.wbViews && Object.keys(window.wbViews).length === {n}",
                               timeout=30_000)
        for i in range(n):
            fig = figures.nth(i)
            assert "chart failed" not in fig.inner_text()
            assert fig.locator(MARKS).count() > 0, f"chart {i} drew nothing"
        # the overhead chart: error bars (rules) and points; the paper chart labels noise
        overhead, paper = figures.nth(0), figures.nth(2)
        assert overhead.locator(".mark-rule line").count() >= 6
        assert overhead.locator(".mark-symbol path").count() >= 6
        assert "noise" in paper.locator(".mark-text").all_text_contents()
        _screenshot(page, tmp_path, "barrier-report.png")
    finally:
        page.close()
    assert not requests, f"the report tried to load {requests}"
    assert not errors, f"JavaScript errors: {errors}"


@pytest.mark.parametrize("name, min_charts", [("00_tour", 4), ("04_unlimited_watchpoints", 1),
                                              ("05_aikido", 6)])
def test_executed_notebook_as_offline_html(browser, tmp_path, tmp_path_factory, name, min_charts):
    """A notebook executed by papermill (the tour; the watchpoints notebook with its
    WatchpointCacheExplorer; the aikido notebook with its SharingExplorers), turned into HTML
    by notebook_html: with the network refused, every chart cell shows a PNG that loaded, and
    the page asks for nothing."""
    papermill = pytest.importorskip("papermill")
    import nbformat

    from conftest import kernel_dir
    from workbench import reference
    from workbench.report import notebook_html

    parameters = {"scale": "small"}
    if name == "05_aikido" and not reference.path("aikido").exists():
        # until the reference result (datasets/aikido-paper.nc) is in the repository, the
        # notebook measures its study at small scale, in the session's shared store (the points
        # test_notebooks.py measured are reused); then it shows the reference, as 04 does
        from test_study_engine import shared_sweeps
        from workbench.studies import aikido

        store = aikido.default_store("small", base=shared_sweeps(tmp_path_factory))
        parameters.update(rerun=True, store=str(store))
    env_old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(kernel_dir(tmp_path / "jupyter"))
    try:
        executed = tmp_path / f"{name}.ipynb"
        papermill.execute_notebook(str(REPO / "notebooks" / f"{name}.ipynb"), str(executed),
                                   parameters=parameters, kernel_name="python3",
                                   cwd=str(tmp_path), progress_bar=False, execution_timeout=600)
    finally:
        if env_old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = env_old
    nb = nbformat.read(str(executed), as_version=4)
    charts = [c.id for c in nb.cells for o in c.get("outputs", [])
              if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(charts) >= min_charts
    html = notebook_html(executed, tmp_path / f"{name}.html")
    page, errors, requests = _offline_page(browser)
    try:
        page.set_viewport_size({"width": 1200, "height": 900})
        page.goto((tmp_path / f"{name}.html").as_uri())
        page.wait_for_load_state("load")
        for cid in charts:
            imgs = page.locator(f'[id="cell-id={cid}"] img')
            assert imgs.count() == 1, f"cell {cid}: {imgs.count()} images"
            size = imgs.first.evaluate("i => [i.complete, i.naturalWidth, i.naturalHeight]")
            assert size[0] and size[1] > 100 and size[2] > 50, (cid, size)
        _screenshot(page, tmp_path, f"{name}-offline-html.png")
    finally:
        page.close()
    assert "<script src" not in html
    assert not requests, f"the page tried to load {requests}"
    assert not errors, f"JavaScript errors: {errors}"


def test_reproduce_report_renders_offline(browser, tmp_path, tmp_path_factory):
    """The report `wb reproduce` writes for the real engine study (small scale, as `make
    reproduce` runs it): every chart draws with the network refused and no JavaScript errors."""
    from test_study_engine import shared_sweeps

    out = tmp_path / "out"
    env = dict(os.environ, COLUMNS="200")
    p = subprocess.run([sys.executable, "-m", "workbench.cli", "reproduce", "--scale", "small",
                        "--out", str(out), "--sweeps", str(shared_sweeps(tmp_path_factory)), "--no-progress"],
                       capture_output=True, text=True, timeout=900, env=env)
    assert p.returncode == 0, p.stderr
    assert "x native" in p.stdout                      # the summary table was printed
    page, errors, requests = _offline_page(browser)
    try:
        page.goto((out / "report.html").as_uri())
        figures = page.locator("[data-wb-chart]")
        n = figures.count()
        assert n >= 2
        page.wait_for_function(f"window.wbViews && Object.keys(window.wbViews).length === {n}",
                               timeout=60_000)
        for i in range(n):
            assert figures.nth(i).locator(MARKS).count() > 0, f"chart {i} drew nothing"
        # the barrier section has its charts (overhead, accuracy, the paper, optimizations)
        assert page.locator('[data-wb-study="barrier"] [data-wb-chart]').count() == 4
        _screenshot(page, tmp_path, "reproduce-report.png")
    finally:
        page.close()
    assert not requests, f"the report tried to load {requests}"
    assert not errors, f"JavaScript errors: {errors}"


# --------------------------------------------------------------------------------------------
# (a) JupyterLab, the tour notebook
# --------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, token: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{base}{path}", method=method,
                                 headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        body = r.read()
        return json.loads(body) if body else None


def _explorer_notebook(path: Path) -> None:
    """A two-cell notebook: an EngineExplorer on the synthetic dataset, then its selection."""
    import nbformat

    setup = (f"import sys; sys.path.insert(0, {str(REPO / 'tests')!r})\n"
             "from conftest import synthetic_engine_dataset\n"
             "from workbench.widgets import EngineExplorer\n"
             "ex = EngineExplorer(synthetic_engine_dataset())\n"
             "ex")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup),
                                         nbformat.v4.new_code_cell("print('selected', ex.selected_tiers)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving a copy of the tour (and an explorer notebook), with this
    Python as its kernel and every Jupyter directory in tmp (the user's settings and kernels
    are not touched)."""
    pytest.importorskip("jupyterlab")
    from conftest import kernel_dir

    tmp_path = tmp_path_factory.mktemp("jupyterlab")
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(REPO / "notebooks" / "00_tour.ipynb", root)
    _explorer_notebook(root / "explorer.ipynb")
    jdir = tmp_path / "jupyter"
    env = dict(os.environ)
    env.update(
        JUPYTER_PATH=str(kernel_dir(jdir / "path")), JUPYTER_CONFIG_DIR=str(jdir / "config"),
        JUPYTER_DATA_DIR=str(jdir / "data"), JUPYTER_RUNTIME_DIR=str(jdir / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(jdir / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(jdir / "workspaces"),
    )
    # no "official Jupyter news?" toast over the notebook
    news = jdir / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false"}))
    port, token = _free_port(), os.urandom(16).hex()
    log = open(tmp_path / "jupyterlab.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.allow_root=True", "--ServerApp.terminals_enabled=False",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
         "--LabApp.extension_manager=readonly",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyterlab exited ({proc.returncode}); see {tmp_path / 'jupyterlab.log'}:\n"
                            + (tmp_path / "jupyterlab.log").read_text(errors="replace")[-3000:])
            try:
                _api(base, token, "/api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail("jupyterlab did not answer within 90 s")
                time.sleep(0.5)
        yield base, token
    finally:
        try:  # shut the kernels down through the server, then stop the server
            for k in _api(base, token, "/api/kernels") or []:
                _api(base, token, f"/api/kernels/{k['id']}", method="DELETE")
        except Exception:  # noqa: BLE001 - best effort; the server's own shutdown follows
            pass
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


SWEEP = ".wb-tour-sweep"


def _open_and_run_all(page, base: str, token: str, notebook: str) -> None:
    """Open ``notebook`` in JupyterLab, wait for its kernel, then Run > Run All Cells."""
    # a fresh workspace per notebook, so no other notebook is restored beside it
    workspace = Path(notebook).stem
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
    page.wait_for_function(
        """(path) => { const app = window.jupyterapp; if (!app) return false;
                   const w = app.shell.currentWidget;
                   const k = w && w.sessionContext && w.sessionContext.session
                             && w.sessionContext.session.kernel;
                   return !!k && k.status === 'idle' && w.context.path === path; }""",
        arg=notebook, timeout=90_000)
    # the command behind the menu item Run > Run All Cells
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def test_tour_in_jupyterlab(browser, jupyterlab, tmp_path):
    base, token = jupyterlab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _open_and_run_all(page, base, token, "00_tour.ipynb")
        sweep = page.locator(SWEEP)
        svg_sel = f"{SWEEP} .vega-embed svg"
        page.wait_for_selector(f"{svg_sel} .mark-symbol path", timeout=180_000)
        title = page.locator(f"{svg_sel} .role-title-text").first
        assert title.text_content().strip() == "instructions vs n"
        before = page.locator(svg_sel).first.inner_html()

        # change the dropdown: the kernel builds a new chart, the widget redraws it
        sweep.locator("select").select_option(label="system calls")
        page.wait_for_function(
            """([sel, old]) => { const s = document.querySelector(sel);
                                 return s && s.innerHTML !== old
                                     && s.textContent.includes('system calls vs n'); }""",
            arg=[svg_sel, before], timeout=60_000)
        after = page.locator(svg_sel).first.inner_html()
        assert after != before
        assert "system calls" in page.locator(f"{svg_sel} .role-axis-title").all_text_contents()[-1]
        # every chart of the notebook rendered (offline: the JS comes from vl-convert)
        embeds = page.locator(".jp-Notebook .vega-embed")
        assert embeds.count() >= 3  # system calls, events (or their stand-in), the sweep
        for i in range(embeds.count()):
            assert embeds.nth(i).locator("svg").count() == 1, embeds.nth(i).inner_text()[:500]
        # no cell failed (an error output renders as a traceback)
        tracebacks = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        texts = [t for t in tracebacks.all_text_contents() if "Traceback" in t or "Error" in t]
        assert not texts, f"a cell failed: {texts[0][:2000]}"
        sweep.scroll_into_view_if_needed()
        shot = _screenshot(page, tmp_path, "tour.png")
        assert shot.stat().st_size > 0
    except Exception:
        _screenshot(page, tmp_path, "tour-failed.png")
        raise
    finally:
        page.close()
    assert not errors, f"JavaScript errors in JupyterLab: {errors}"


def test_engine_explorer_in_jupyterlab(browser, jupyterlab, tmp_path):
    """Click a bar in the browser: Python sees the selection (the status line, written by the
    kernel, says so; the next cell prints it). Click a control: the chart redraws."""
    base, token = jupyterlab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _open_and_run_all(page, base, token, "explorer.ipynb")
        ex = page.locator(".wb-explorer")
        bar = ex.locator('.mark-rect path[aria-label*="tier: qemu"]').first
        bar.wait_for(timeout=60_000)
        page.wait_for_selector("text=selected []", timeout=60_000)  # second cell ran
        bar.click()
        # the selection went browser -> kernel, and the kernel rewrote the status line
        ex.locator(".wb-note", has_text="selected: qemu").wait_for(timeout=30_000)
        # re-run the second cell: Python reads the selection back
        page.locator(".jp-Cell").nth(1).click()
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
        page.wait_for_selector("text=selected ['qemu']", timeout=30_000)
        # a control: the client toggle redraws the chart with the memtrace runs
        ex.locator("button", has_text="memtrace").click()
        ex.locator('.mark-rect path[aria-label*="client: memtrace"]').first.wait_for(timeout=30_000)
        ex.locator(".wb-note", has_text="client memtrace").wait_for(timeout=30_000)
        _screenshot(page, tmp_path, "explorer.png")
    except Exception:
        _screenshot(page, tmp_path, "explorer-failed.png")
        raise
    finally:
        page.close()
    assert not errors, f"JavaScript errors in JupyterLab: {errors}"
