"""`wb bench` at a tiny size: every configuration runs, outputs are checked, ratios computed."""
import json
import subprocess
import sys

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


def test_wb_bench_cli_writes_json(tmp_path):
    out = tmp_path / "b.json"
    p = subprocess.run([sys.executable, "-c",
                        "import sys; from workbench.cli import app; sys.argv=['wb','bench','--json',sys.argv[1],'-w','zstd','--repeat','1','--no-qemu','--size','zstd=128k']; app()",
                        str(out)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    rows = json.loads(out.read_text())
    assert {r["config"] for r in rows} >= {"native", *workbench.available_tiers()}
    assert "x native" in p.stdout
