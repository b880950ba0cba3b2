"""``wb bench``: the engine's speed, measured side by side with native code and qemu-riscv64.

For each workload, in one process and one sitting: the program built natively for the host,
the RISC-V build under ``qemu-riscv64`` (user mode, TCG), and the same RISC-V build on each
engine tier. Every cell is the median of ``repeat`` runs; every run's output is checked
against the native run's (a benchmark of a wrong answer is worthless). Native and qemu are
timed as whole processes (their start-up is a few ms, negligible at these sizes); engine runs
are timed inside ``wb_machine_run`` (load and set-up excluded, also a few ms).

>>> rows = run_bench(workloads=["zstd"], repeat=1)  # doctest: +SKIP
>>> rows[0]["workload"], rows[0]["config"]
('zstd', 'native')
"""
from __future__ import annotations

import platform
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from . import guests
from .machine import Machine, available_tiers

DEFAULT_WORKLOADS = ["lua54", "zstd"]
# sizes chosen so that the native run takes a few tenths of a second on a current x86-64 core:
# long enough that process start-up (native, qemu) and load time (engine) do not matter
BENCH_SIZES = {"lua54": 300, "zstd": "32m"}


def _spec(name: str, size=None) -> tuple[list[str], Path]:
    """(arguments, directory the program runs in) for a benchmark workload. Files the workload
    reads are passed relative to that directory, which is also the engine's root."""
    import tempfile

    args = list(guests.workload_args(name, size=size if size is not None else BENCH_SIZES.get(name)))
    root = None
    for i, a in enumerate(args):
        p = Path(a)
        if p.is_absolute() and p.is_file():
            root = root or p.parent
            args[i] = str(p.relative_to(root)) if p.is_relative_to(root) else a
    return args, Path(root or tempfile.gettempdir())


def _time_process(cmd: list[str], cwd: Path) -> tuple[float, bytes, int]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return time.perf_counter() - t0, p.stdout, p.returncode


def run_bench(workloads: list[str] | None = None, repeat: int = 3, qemu: bool = True,
              tiers: list[str] | None = None, progress: bool = True,
              sizes: dict | None = None) -> list[dict]:
    """Measure every workload under every configuration; one dict per (workload, config).

    Columns: ``workload``, ``config`` (native, qemu, interp, ...), ``seconds`` (median),
    ``ratio_native`` (time / native time), ``ratio_qemu`` (time / qemu time),
    ``guest_mips`` (RISC-V instructions per µs; for qemu, the engine's count of the same run),
    ``instructions``, ``output_ok``.
    """
    workloads = workloads or DEFAULT_WORKLOADS
    tiers = tiers or available_tiers()
    qemu_bin = shutil.which("qemu-riscv64") if qemu else None
    rows = []
    for w in workloads:
        args, root = _spec(w, (sizes or {}).get(w))
        native = guests.build_native(w)
        elf = guests.build(w)
        cells: dict[str, dict] = {}

        def say(msg):
            if progress:
                print(f"[bench] {w}: {msg}", flush=True)

        say("native")
        runs = [_time_process([str(native)] + args, root) for _ in range(repeat)]
        ref_out = runs[0][1]
        cells["native"] = {"seconds": statistics.median(r[0] for r in runs),
                           "output_ok": all(r[1] == ref_out and r[2] == 0 for r in runs)}
        if qemu_bin:
            say("qemu-riscv64")
            runs = [_time_process([qemu_bin, str(elf)] + args, root) for _ in range(repeat)]
            cells["qemu"] = {"seconds": statistics.median(r[0] for r in runs),
                             "output_ok": all(r[1] == ref_out and r[2] == 0 for r in runs)}
        insns = None
        for t in tiers:
            say(f"engine {t}")
            m = Machine(tier=t, root=root)
            rs = [m.run(elf, args, capture=True, argv0=w) for _ in range(repeat)]
            insns = rs[0].instructions
            cells[t] = {"seconds": statistics.median(r.seconds for r in rs),
                        "output_ok": all(r.ok and r.stdout == ref_out for r in rs),
                        "instructions": insns}
        nat = cells["native"]["seconds"]
        q = cells.get("qemu", {}).get("seconds")
        for cfg, c in cells.items():
            rows.append({
                "workload": w, "config": cfg, "seconds": c["seconds"],
                "ratio_native": c["seconds"] / nat if nat else None,
                "ratio_qemu": c["seconds"] / q if q else None,
                "instructions": insns if cfg != "native" else None,
                "guest_mips": (insns / c["seconds"] / 1e6) if (insns and cfg != "native") else None,
                "output_ok": c["output_ok"], "repeat": repeat,
                "host": platform.processor() or platform.machine(),
            })
    return rows


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table_markdown(rows: list[dict]) -> str:
    """The bench table as Markdown (what goes into issue notes and reports)."""
    lines = ["| workload | config | seconds | x native | x qemu | guest MIPS | output ok |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['workload']} | {r['config']} | {r['seconds']:.3f} | "
                     f"{_fmt(r['ratio_native'], '.2f')} | {_fmt(r['ratio_qemu'], '.2f')} | "
                     f"{_fmt(r['guest_mips'], '.0f')} | {'yes' if r['output_ok'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def print_table(rows: list[dict]) -> None:
    """Print the bench table with rich."""
    from rich.console import Console
    from rich.table import Table

    t = Table("workload", "config", "seconds", "x native", "x qemu", "guest MIPS", "output ok",
              title="wb bench (median of runs; ratios measured in this run)")
    for r in rows:
        t.add_row(r["workload"], r["config"], f"{r['seconds']:.3f}", _fmt(r["ratio_native"], ".2f"),
                  _fmt(r["ratio_qemu"], ".2f"), _fmt(r["guest_mips"], ".0f"),
                  "yes" if r["output_ok"] else "[red]NO[/red]")
    Console().print(t)
