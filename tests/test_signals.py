"""Guest signal handlers (native/src/user/signal.c), against qemu-riscv64.

workloads/threads/signals.c installs handlers and checks what Linux guarantees: a SIGSEGV
handler recovers with siglongjmp or by fixing the page (the store runs again), SIGILL and
SIGTRAP handlers skip the instruction by editing the pc in the ucontext, si_code/si_addr
are right, SA_ONSTACK runs on the alternate stack, a blocked signal stays pending until
unblocked, SA_RESETHAND resets the action, a periodic SIGALRM wakes sigsuspend, and
pthread_kill runs the handler on the target thread (also one blocked in a condvar wait).
Its output must equal qemu's on both tiers, both libcs and both schedules (under the
parallel one the signal to another thread arrives while that thread runs on its own host
thread: in translated code, or just entering a wait); "abort" must end the run the way the
default action of SIGABRT does.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from workbench import Machine, available_tiers, guests

from conftest import QEMU, asan_wbrun, needs_qemu

VARIANTS = [v for v in ("musl", "glibc") if v in guests.available_variants()]
TIERS = available_tiers()


def _name(variant: str) -> str:
    return "signals" if variant == "musl" else f"signals-{variant}"


@needs_qemu
@pytest.mark.parametrize("quantum", [20000, 101, "parallel"])
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_handlers_match_qemu(variant, tier, quantum):
    elf = guests.build(_name(variant))
    q = subprocess.run([QEMU, str(elf)], capture_output=True, timeout=120)
    kw = {"jit_hot": 1, "jit_profile_insns": 100_000} if tier == "jit" else {}
    kw.update({"schedule": "parallel"} if quantum == "parallel"
              else {"schedule": "deterministic", "quantum": quantum})
    r = Machine(tier=tier, wall_limit=120, **kw).run(elf, capture=True, argv0=str(elf))
    assert r.reason == "exit", r.message
    assert (r.exit_code, r.stdout, r.stderr) == (q.returncode, q.stdout, q.stderr)
    assert b"blocked thread handled 1" in r.stdout and b"segv jump: addr ok 1" in r.stdout


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_abort_is_the_default_action_of_sigabrt(variant, tier):
    r = Machine(tier=tier).run(_name(variant), ["abort"], capture=True)
    assert r.reason == "signal" and r.exit_code == 6, r.message
    assert "SIGABRT" in r.message and r.stdout == b"aborting\n"


def test_wb_run_exits_like_a_shell_after_a_fatal_signal():
    p = subprocess.run([sys.executable, "-m", "workbench.cli", "run", "signals", "abort"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 128 + 6, p.stderr
    assert "SIGABRT" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.skipif(asan_wbrun() is None, reason="build/asan/wbrun not built (make asan)")
@pytest.mark.parametrize("tier", TIERS)
def test_signal_delivery_under_asan_and_ubsan(tier):
    elf = guests.build("signals")
    p = subprocess.run([str(asan_wbrun()), "-T", tier, str(elf)], capture_output=True, timeout=300)  # parallel
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    assert b"runtime error" not in p.stderr and b"AddressSanitizer" not in p.stderr
    assert b"blocked thread handled 1, then released" in p.stdout
