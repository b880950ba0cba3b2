"""Random-instruction differential testing of the engine against qemu-riscv64.

* :mod:`.encode`  — our own RV64GC encoder (checked against GNU as by tests/test_difftest.py);
* :mod:`.gen`     — seeded generator of random, valid, well-defined instruction sequences;
* :mod:`.harness` — wraps a sequence into a static ELF that dumps registers and memory to
  stdout, runs it under qemu, decodes and diffs dumps.

``python -m difftest SEED [N]`` (from tests/) prints one program's listing, runs it under qemu
and, if the engine can be imported, under the engine, and shows the differences.
"""
