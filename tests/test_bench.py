"""`wb bench` at a tiny size: every configuration runs, outputs are checked, ratios computed."""
import json
import subprocess
import sys

import pytest

import workbench

from conftest import needs_qemu

from workbench.bench import run_bench, table_markdown


@needs_qemu
def test_bench_table_small(tmp_path):
    rows = run_bench(workloads=["zstd", "lua54"], repeat=1, sizes={"zstd": "256k", "lua54": 5},
                     progress=False)
    configs = {(r["workload"], r["config"]) for r in rows}
    assert {("zstd", "native"), ("zstd", "qemu"), ("zstd", "interp"), ("lua54", "interp")} <= configs
    for r in rows:
        assert r["output_ok"], r
        assert r["seconds"] > 0
    interp = next(r for r in rows if r["workload"] == "zstd" and r["config"] == "interp")
    assert interp["instructions"] > 1_000_000 and interp["guest_mips"] > 0
    assert interp["ratio_qemu"] > 0 and interp["ratio_native"] > 0
    md = table_markdown(rows)
    assert "| zstd | interp |" in md
    assert "x jit" in md.splitlines()[0] and "events" in md.splitlines()[0]


@needs_qemu
def test_bench_client_rows(tmp_path):
    """jit+null and jit+memtrace run beside plain JIT; memtrace's records are counted, not kept."""
    if "jit" not in workbench.available_tiers():
        pytest.skip("no JIT tier on this host: the client rows run on the JIT")
    rows = run_bench(workloads=["zstd"], repeat=1, sizes={"zstd": "256k"}, progress=False)
    by = {r["config"]: r for r in rows}
    assert list(by) == ["native", "qemu", *workbench.available_tiers(), "jit+null", "jit+memtrace"]
    for r in rows:
        assert r["output_ok"], r
    jit, null, mt = by["jit"], by["jit+null"], by["jit+memtrace"]
    assert jit["vs_jit"] == 1.0 and by["native"]["vs_jit"] is None and by["interp"]["vs_jit"] is None
    for r in (null, mt):
        assert r["vs_jit"] == r["seconds"] / jit["seconds"] > 0
        assert r["instructions"] == jit["instructions"]
        assert r["wall_seconds"] >= r["seconds"] > 0
    assert null["events"] == 0 and jit["events"] is None
    # one record per guest memory access: a good fraction of the instructions
    assert jit["instructions"] // 10 < mt["events"] < jit["instructions"]
    assert (jit["goal"], null["goal"], mt["goal"]) == ("x native <= 2", "x jit <= 1.03", "x jit <= 3")
    assert isinstance(mt["goal_met"], bool) and by["interp"]["goal"] is None
    md = table_markdown(rows)
    assert "| zstd | jit+memtrace |" in md and f"{mt['events']:,}" in md


def test_wb_bench_cli_writes_json(tmp_path):
    out = tmp_path / "b.json"
    p = subprocess.run([sys.executable, "-c",
                        "import sys; from workbench.cli import app; sys.argv=['wb','bench','--json',sys.argv[1],'-w','zstd','--repeat','1','--no-qemu','--size','zstd=128k']; app()",
                        str(out)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    rows = json.loads(out.read_text())
    assert {r["config"] for r in rows} >= {"native", *workbench.available_tiers()}
    if "jit" in workbench.available_tiers():
        assert {"jit+null", "jit+memtrace"} <= {r["config"] for r in rows}
    assert "x native" in p.stdout and "x jit" in p.stdout and "events" in p.stdout


def test_bench_profiler_rows_and_tier_choice():
    """The profilers' overhead rows (`wb bench -t jit -c barrier -c bursty`): barrier at its
    production setting with the paper's goal, bursty beside it; only the chosen tier runs."""
    if "jit" not in workbench.available_tiers():
        pytest.skip("no JIT tier on this host: the client rows run on the JIT")
    rows = run_bench(workloads=["heads"], repeat=2, sizes={"heads": 300}, qemu=False, tiers=["jit"],
                     clients=["barrier", "bursty"], progress=False)
    by = {r["config"]: r for r in rows}
    assert list(by) == ["native", "jit", "jit+barrier", "jit+bursty"]
    assert all(r["output_ok"] for r in rows)
    assert by["jit+barrier"]["goal"] == "x jit <= 1.013" and by["jit+bursty"]["goal"] is None
    assert by["jit+bursty"]["events"] > 0 and by["jit"]["repeat"] == 2
