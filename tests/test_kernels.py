"""The RISC-V Linux kernel, the initramfs of our guests, and QEMU as the oracle that boots them
(workbench.kernels).

The first run on a machine does the cold kernel build (a few minutes on two cores, see
kernels/README.md); after that the kernel, /init and the guests come from $WB_CACHE and this
file takes a few seconds, most of it two QEMU boots.
"""
from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench import guests, kernels

from conftest import REPO

# The cold build runs inside the first fixture that needs the kernel: give it more than the
# suite's per-test limit (it is a one-off per machine; everything after it is cached).
pytestmark = pytest.mark.timeout(3600)

needs_kernel_tools = pytest.mark.skipif(
    not kernels.LINUX_SOURCE_TARBALL.is_file() or shutil.which("riscv64-linux-gnu-gcc") is None,
    reason="linux-source-6.1 or gcc-riscv64-linux-gnu is not installed (make test installs them)")
needs_qemu_system = pytest.mark.skipif(
    shutil.which("qemu-system-riscv64") is None or not kernels.OPENSBI_FW_JUMP.is_file(),
    reason="qemu-system-misc or opensbi is not installed (make test installs them)")

#: what our /init runs (kernels/linux/init.c), in order
LUA_STEPS = ("strings", "tables", "coroutines")


@pytest.fixture(scope="module")
def kernel() -> kernels.KernelBuild:
    return kernels.build_linux()


@pytest.fixture(scope="module")
def initramfs(tmp_path_factory) -> Path:
    return kernels.build_initramfs(out=tmp_path_factory.mktemp("rd") / "initramfs.cpio")


@pytest.fixture(scope="module")
def boot(kernel, initramfs) -> kernels.BootResult:
    return kernels.boot_qemu(kernel, initramfs, timeout=300)


# ------------------------------------------------------------------ config and cpio, no build


def test_fragment_asks_for_what_the_boot_needs():
    frag = kernels._parse_config(kernels.CONFIG_FRAGMENT.read_text())
    for sym in ("64BIT", "MMU", "SMP", "RISCV_SBI", "RISCV_SBI_V01", "SERIAL_EARLYCON_RISCV_SBI",
                "SERIAL_8250", "SERIAL_8250_CONSOLE", "SERIAL_OF_PLATFORM", "SIFIVE_PLIC",
                "VIRTIO_MMIO", "VIRTIO_BLK", "BLK_DEV_INITRD", "PRINTK", "KALLSYMS", "KALLSYMS_ALL",
                "SLUB", "BINFMT_ELF", "TTY", "PROC_FS", "SYSFS", "DEVTMPFS", "DEVTMPFS_MOUNT",
                "FPU", "RISCV_ISA_C"):
        assert frag.get(f"CONFIG_{sym}") == "y", sym
    for sym in ("MODULES", "NET", "RISCV_ISA_SVPBMT", "RISCV_ISA_ZICBOM", "SLOB"):
        assert frag.get(f"CONFIG_{sym}") == "n", sym


def test_config_check_names_a_dropped_symbol():
    with pytest.raises(kernels.KernelBuildError, match=r"CONFIG_VIRTIO_BLK=y \(got n\)"):
        kernels._check_config("CONFIG_VIRTIO_BLK=y\n# CONFIG_NET is not set\n", "# CONFIG_VIRTIO_BLK is not set\n")
    kernels._check_config("CONFIG_NR_CPUS=4\n# CONFIG_NET is not set\n", "CONFIG_NR_CPUS=4\n")


def test_newc_round_trip_and_cpio_reads_it(tmp_path):
    entries = [kernels.CpioEntry("dev", stat.S_IFDIR | 0o755),
               kernels.CpioEntry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)),
               kernels.CpioEntry("a", stat.S_IFREG | 0o644, b"x"),          # every padding length
               kernels.CpioEntry("bb", stat.S_IFREG | 0o755, b"yz\n"),
               kernels.CpioEntry("ccc", stat.S_IFDIR | 0o755),
               kernels.CpioEntry("dddd", stat.S_IFREG | 0o600, b"four"),
               kernels.CpioEntry("empty", stat.S_IFREG | 0o644, b"")]
    data = kernels.write_newc(entries)
    assert len(data) % 4 == 0 and data.startswith(b"070701")
    assert kernels.parse_newc(data) == entries
    if shutil.which("cpio"):
        listing = subprocess.run(["cpio", "-it", "--quiet"], input=data, capture_output=True, check=True).stdout
        assert listing.decode().split() == [e.name for e in entries]


@pytest.mark.parametrize("damage, message", [
    (lambda d: d[:-200], "truncated|runs past the end"),
    (lambda d: b"070707" + d[6:], "bad magic"),
    (lambda d: d[:6] + b"zzzzzzzz" + d[14:], "non-hex"),
])
def test_corrupt_cpio_is_rejected(damage, message):
    data = kernels.write_newc([kernels.CpioEntry("init", stat.S_IFREG | 0o755, b"\0" * 300)])
    with pytest.raises(kernels.InitramfsError, match=f"corrupt cpio archive: .*({message})"):
        kernels.parse_newc(damage(data))


def test_initramfs_rejects_a_missing_program(tmp_path):
    with pytest.raises(kernels.InitramfsError, match=r"program 'lua54': .*nope does not exist"):
        kernels.build_initramfs({"lua54": tmp_path / "nope"}, out=tmp_path / "rd.cpio")
    assert not (tmp_path / "rd.cpio").exists()


def test_initramfs_rejects_a_host_program(tmp_path):
    host = Path(shutil.which("true") or "/bin/true")
    with pytest.raises(kernels.InitramfsError, match="x86-64|aarch64|static riscv 64-bit"):
        kernels.build_initramfs({"true": host}, out=tmp_path / "rd.cpio")
    with pytest.raises(kernels.InitramfsError, match="plain file name"):
        kernels.build_initramfs({"../evil": host}, out=tmp_path / "rd.cpio")


def test_missing_firmware_is_a_clear_error(tmp_path):
    image, rd = tmp_path / "Image", tmp_path / "rd.cpio"
    image.write_bytes(b"\0")
    rd.write_bytes(b"\0")
    with pytest.raises(kernels.FirmwareNotFound, match="apt-get install opensbi"):
        kernels.boot_qemu(image, rd, firmware=tmp_path / "no-fw_jump.bin")


def test_missing_kernel_image_is_a_clear_error(tmp_path):
    if not kernels.OPENSBI_FW_JUMP.is_file():
        pytest.skip("opensbi is not installed")
    with pytest.raises(kernels.KernelError, match="kernel image .* does not exist"):
        kernels.boot_qemu(tmp_path / "Image", tmp_path / "rd.cpio")


def test_normalize_console_strips_timestamps_and_timings():
    text = ("[    0.000000] Linux version 6.1.192 (wb@workbench)\r\n"
            "[    0.004186] Calibrating delay loop (skipped)... 20.00 BogoMIPS (lpj=40000)\n"
            "[    0.000056] sched_clock: 64 bits at 10MHz, resolution 100ns\n"
            "[   12.527191] reboot: Power down\n")
    assert kernels.normalize_console(text) == "Linux version 6.1.192 (wb@workbench)\nreboot: Power down\n"


# ------------------------------------------------------------------ the initramfs


def test_initramfs_layout(initramfs):
    entries = {e.name: e for e in kernels.parse_newc(initramfs.read_bytes())}
    for d in ("bin", "dev", "lua", "proc", "sys"):
        assert stat.S_ISDIR(entries[d].mode), d
    console = entries["dev/console"]
    assert stat.S_ISCHR(console.mode) and console.rdev == (5, 1)
    for exe in ("init", "bin/lua54", "bin/zstd"):
        assert stat.S_ISREG(entries[exe].mode) and entries[exe].mode & 0o111, exe
        assert entries[exe].data[:4] == b"\x7fELF", exe
    for script in guests.LUA_SCRIPTS_DIR.glob("*.lua"):
        assert entries[f"lua/{script.name}"].data == script.read_bytes()
    # same inputs, same bytes: no timestamps or owners leak in
    again = kernels.build_initramfs(out=initramfs.with_name("again.cpio"), quiet=True)
    assert again.read_bytes() == initramfs.read_bytes()
    if shutil.which("cpio"):
        listing = subprocess.run(["cpio", "-it", "--quiet"], stdin=open(initramfs, "rb"),
                                 capture_output=True, check=True).stdout.decode().split()
        assert sorted(listing) == sorted(entries)


# ------------------------------------------------------------------ the kernel


@needs_kernel_tools
def test_kernel_build_is_cached(kernel):
    for p in (kernel.image, kernel.vmlinux, kernel.system_map):
        assert p.is_file() and p.stat().st_size > 0, p
    assert kernel.release.startswith("6.1.")
    assert kernel.image.stat().st_size > 1_000_000
    assert kernel.vmlinux.read_bytes()[:4] == b"\x7fELF"
    assert " T start_kernel\n" in kernel.system_map.read_text()
    config = kernels._parse_config(kernel.config.read_text())
    assert config["CONFIG_SLUB"] == "y" and config.get("CONFIG_MODULES", "n") == "n"
    t0 = time.monotonic()
    again = kernels.build_linux()
    assert time.monotonic() - t0 < 10 and again.cached and again.image == kernel.image
    assert kernel.build_seconds > 0


# ------------------------------------------------------------------ booting it under QEMU


@needs_kernel_tools
@needs_qemu_system
def test_qemu_boots_to_our_init_and_powers_off(boot):
    text, rc = boot
    assert not boot.timed_out, text[-3000:]
    assert rc == 0 and boot.powered_off, text[-3000:]
    assert "Linux version 6.1" in text
    assert "SBI SRST extension detected" in text
    assert "Run /init as init process" in text
    for marker in ("wb-init: start", "wb-init: mounted /proc", "wb-init: kernel Linux 6.1.",
                   "wb-init: 4 of 4 steps ok", "wb-init: done"):
        assert marker in text, marker
    assert text.index("wb-init: done") < text.index("reboot: Power down")
    for name in LUA_STEPS:
        assert f"\n{name}: OK\n" in text, name
    assert "round-trip OK" in text and "decompressed: 262144 bytes" in text
    assert text.count("exited with status 0") == 4
    assert "Kernel panic" not in text


@needs_kernel_tools
@needs_qemu_system
@pytest.mark.parametrize("script", LUA_STEPS)
def test_lua_output_under_linux_matches_the_golden(boot, script):
    """The oracle agrees with qemu-user: each script's output between init's lines is its golden."""
    text = boot.console
    start = text.index(f"wb-init: run /bin/lua54 /lua/{script}.lua\n")
    start = text.index("\n", start) + 1
    end = text.index("wb-init: /bin/lua54 exited", start)
    got = guests.normalize_output(text[start:end])
    assert got.rstrip("\n") == guests.expected_output(f"{script}.lua").rstrip("\n")


@needs_kernel_tools
@needs_qemu_system
def test_two_boots_compare_equal_after_normalizing(kernel, initramfs, boot):
    second = kernels.boot_qemu(kernel, initramfs, timeout=300)
    assert second.powered_off, second.console[-3000:]
    a, b = kernels.normalize_console(boot.console), kernels.normalize_console(second.console)
    # user space runs alone: exactly the same; the kernel's own lines may interleave
    # differently with the initramfs unpacking (an async task), so as a multiset
    cut = "Run /init as init process\n"
    assert a[a.index(cut):] == b[b.index(cut):]
    assert sorted(a[:a.index(cut)].splitlines()) == sorted(b[:b.index(cut)].splitlines())
    assert "[    0." not in a


# ------------------------------------------------------------------ wb guest build linux|initramfs


@needs_kernel_tools
def test_wb_guest_build_linux_and_initramfs(kernel, tmp_path):
    def wb(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "workbench.cli", *args], capture_output=True,
                              text=True, timeout=600)

    res = wb("guest", "build", "linux")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [str(kernel.image), str(kernel.vmlinux), str(kernel.system_map)]
    res = wb("guest", "build", "initramfs")
    assert res.returncode == 0, res.stderr
    path = Path(res.stdout.strip())
    assert path.suffix == ".cpio" and kernels.parse_newc(path.read_bytes())


def test_readme_says_how_to_boot():
    readme = (REPO / "kernels" / "README.md").read_text()
    assert "qemu-system-riscv64" in readme and "config.fragment" in readme
