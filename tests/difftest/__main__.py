"""python -m difftest SEED [N] [--cover] [--tier interp]: show, run and compare one program."""
from __future__ import annotations

import argparse
import sys

from . import harness


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m difftest", description=__doc__)
    ap.add_argument("seed", type=int)
    ap.add_argument("n", type=int, nargs="?", default=None,
                    help="instructions (default: as the tests choose for this seed)")
    ap.add_argument("--cover", action="store_true", help="the every-op program for this seed")
    ap.add_argument("--tier", default="interp")
    ap.add_argument("--out", default=None, help="build directory (default: the test cache)")
    args = ap.parse_args(argv)
    n = args.n if args.n is not None else (60 if args.cover else harness.default_n(args.seed))
    prog = harness.program_for(args.seed, n, args.cover)
    out = args.out or harness.default_cache_dir()
    elf = harness.build(args.seed, n, out, cover=args.cover)
    print(harness.listing(prog))
    print(f"\nELF: {elf}")
    want = harness.run_qemu(elf)
    d = harness.decode_dump(want)
    print(f"qemu: {len(want)} bytes of dump, fcsr {d['fcsr']:#x}")
    try:
        import workbench
        run = workbench.Machine(tier=args.tier, max_insns=10_000_000).run(str(elf), capture=True)
    except Exception as e:  # engine not built
        print(f"engine not run: {type(e).__name__}: {e}")
        return 0
    got = run.stdout or b""
    print(f"engine ({args.tier}): reason={run.reason} exit_code={run.exit_code} {run.message}")
    diff = harness.diff_dumps(want, got)
    print(diff or "identical dumps")
    return 1 if diff or run.exit_code != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
