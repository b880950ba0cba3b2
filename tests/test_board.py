"""System mode's board (native/src/system: board.c and its devices) through its C test,
native/tests/test_board.c, and its device tree against qemu's.

test_board is built here from the board's own sources only (they need nothing else of the
engine), with AddressSanitizer/UBSan and at -O2; ctest builds it linked with the whole engine
(native/CMakeLists.txt). The device tree it writes is decompiled by dtc (an independent
parser) and compared node by node with qemu's virt machine of the same size
(`qemu-system-riscv64 -M virt,dumpdtb=`): every node of ours must be one of qemu's, with the
same compatible, reg and interrupt wiring (phandles compared by what they point at); the
nodes and properties of qemu's that this board leaves out, and the values it states
differently, are listed below with the reason.
"""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

CC = shutil.which("cc") or shutil.which("gcc")
DTC = shutil.which("dtc")
QEMU_SYSTEM = shutil.which("qemu-system-riscv64")
SYSTEM = REPO / "native" / "src" / "system"
SOURCES = ["board.c", "clint.c", "plic.c", "uart.c", "test.c", "virtio_blk.c", "fdt.c"]
RAM_MIB = 256

pytestmark = pytest.mark.skipif(CC is None, reason="needs a host C compiler")
needs_tools = pytest.mark.skipif(DTC is None or QEMU_SYSTEM is None,
                                 reason="needs dtc and qemu-system-riscv64 (Debian: device-tree-compiler, "
                                        "qemu-system-misc)")

# qemu's nodes this board does not have, and why
KNOWN_OMISSIONS = {
    "/pmu": "no SBI PMU counters to describe (the harts have no hpm events)",
    "/fw-cfg@10100000": "no fw_cfg: images are loaded by the machine, not read by firmware",
    "/flash@20000000": "no pflash: the firmware is loaded into RAM",
    "/platform-bus@4000000": "no dynamic sysbus devices",
    "/soc/rtc@101000": "no goldfish RTC: the guest's wall clock starts at the epoch",
    "/soc/pci@30000000": "no PCIe: virtio-mmio only",
}
# qemu's properties this board leaves out: (node path pattern, property) -> why
KNOWN_MISSING_PROPS = {
    ("/chosen", "rng-seed"): "boots are reproducible: no random seed",
    # newer qemu (8.2+) also describes the ISA with the new bindings; Linux falls back to riscv,isa
    (r"/cpus/cpu@\d+", "riscv,isa-base"): "riscv,isa (the deprecated string) is what Linux 6.1 reads",
    (r"/cpus/cpu@\d+", "riscv,isa-extensions"): "as riscv,isa-base",
    (r"/cpus/cpu@\d+", "riscv,cbom-block-size"): "no Zicbom",
    (r"/cpus/cpu@\d+", "riscv,cboz-block-size"): "no Zicboz",
    (r"/cpus/cpu@\d+", "riscv,cbop-block-size"): "no Zicbop",
}
# properties of ours that qemu's dump (no -kernel, no -append) does not have
EXTRA_PROPS = {("/chosen", "bootargs"), ("/chosen", "linux,initrd-start"), ("/chosen", "linux,initrd-end")}
# values stated differently on purpose: (node path pattern, property) -> why
KNOWN_DIFFERENT = {
    ("/", "model"): "names this machine, not qemu",
    (r"/cpus/cpu@\d+", "riscv,isa"): "the engine's RV64GC, not qemu's extensions (H, Zb*, Sstc...)",
    (r"/cpus/cpu@\d+", "mmu-type"): "the MMU does Sv39 only",
    ("/soc/plic@c000000", "riscv,ndev"): "96 as Debian's qemu 7.2 (the oracle) says; qemu 8+ says 95",
}
PHANDLE_PROPS = {"interrupt-parent", "regmap", "cpu"}


# ------------------------------------------------------------------ building and running

def _compile(out: Path, flags: list[str]) -> Path:
    cmd = [CC, "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Wno-unused-parameter",
           "-Wno-sign-compare", "-Werror", *flags, "-I", str(REPO / "native" / "src"),
           str(REPO / "native" / "tests" / "test_board.c"), *(str(SYSTEM / s) for s in SOURCES),
           "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-4000:]
    return out


def _sanitizers_work() -> bool:
    probe = subprocess.run([CC, "-fsanitize=address,undefined", "-x", "c", "-", "-o", "/dev/null"],
                           input="int main(void){return 0;}", capture_output=True, text=True)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def test_board(tmp_path_factory) -> Path:
    return _compile(tmp_path_factory.mktemp("board") / "test_board", ["-O2", "-fno-strict-aliasing"])


def _run(exe: Path, *args: str) -> None:
    r = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout[-2000:] + r.stderr[-4000:]


def test_devices_pass_their_c_tests(test_board):
    _run(test_board)


def test_devices_pass_their_c_tests_under_asan_and_ubsan(tmp_path):
    if not _sanitizers_work():
        pytest.skip("the host compiler has no AddressSanitizer/UBSan")
    exe = _compile(tmp_path / "test_board_asan",
                   ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
                    "-fno-sanitize-recover=undefined"])
    _run(exe)


# ------------------------------------------------------------------ device trees

def parse_dtb(blob: bytes) -> dict[str, dict[str, bytes]]:
    """The nodes of a flattened device tree: path -> {property: value} (Devicetree spec,
    "Flattened Devicetree (DTB) Format")."""
    magic, total, off_st, off_str, _rsv, version, _last, _boot, size_str, size_st = \
        struct.unpack(">10I", blob[:40])
    assert magic == 0xD00DFEED and total <= len(blob) and version == 17
    st, strings = blob[off_st:off_st + size_st], blob[off_str:off_str + size_str]
    nodes: dict[str, dict[str, bytes]] = {}
    path: list[str] = []
    pos = 0
    while True:
        (tok,) = struct.unpack(">I", st[pos:pos + 4])
        pos += 4
        if tok == 1:                       # FDT_BEGIN_NODE
            end = st.index(b"\0", pos)
            path.append(st[pos:end].decode())
            pos = (end + 1 + 3) & ~3
            nodes["/" + "/".join(p for p in path if p)] = {}
        elif tok == 2:                     # FDT_END_NODE
            path.pop()
        elif tok == 3:                     # FDT_PROP
            length, nameoff = struct.unpack(">II", st[pos:pos + 8])
            name = strings[nameoff:strings.index(b"\0", nameoff)].decode()
            nodes["/" + "/".join(p for p in path if p)][name] = st[pos + 8:pos + 8 + length]
            pos = (pos + 8 + length + 3) & ~3
        elif tok == 4:                     # FDT_NOP
            continue
        elif tok == 9:                     # FDT_END
            assert not path
            return nodes
        else:
            raise AssertionError(f"bad token {tok} at {pos - 4}")


def cells(v: bytes) -> list[int]:
    return list(struct.unpack(f">{len(v) // 4}I", v))


def resolved(nodes: dict[str, dict[str, bytes]]) -> dict[str, dict[str, object]]:
    """Each node's properties with phandles replaced by the path they point at, so two trees
    whose phandle numbers differ compare equal when they are wired the same."""
    by_phandle = {cells(p["phandle"])[0]: path for path, p in nodes.items() if "phandle" in p}
    out: dict[str, dict[str, object]] = {}
    for path, props in nodes.items():
        r: dict[str, object] = {}
        for name, v in props.items():
            if name == "phandle":
                continue
            if name in PHANDLE_PROPS:
                r[name] = by_phandle[cells(v)[0]]
            elif name == "interrupts-extended":
                c, items = cells(v), []
                while c:
                    parent = by_phandle[c[0]]
                    n = cells(nodes[parent]["#interrupt-cells"])[0]
                    items.append((parent, *c[1:1 + n]))
                    c = c[1 + n:]
                r[name] = items
            else:
                r[name] = v
        out[path] = r
    return out


def _matches(table, path: str, prop: str) -> bool:
    return any(p == prop and re.fullmatch(pat, path) for pat, p in table)


def _ours(exe: Path, out: Path, harts: int) -> bytes:
    _run(exe, str(out), str(harts), str(RAM_MIB), "console=ttyS0")
    return out.read_bytes()


def _qemus(out: Path, harts: int) -> bytes:
    r = subprocess.run([QEMU_SYSTEM, "-M", f"virt,dumpdtb={out}", "-m", f"{RAM_MIB}M", "-smp", str(harts),
                        "-nographic", "-bios", "none"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and out.exists(), r.stderr
    return out.read_bytes()


def isa_parts(isa: str) -> tuple[set[str], set[str]]:
    """riscv,isa "rv64imafdc_zicsr_zifencei" -> ({single-letter extensions}, {multi-letter})."""
    base, *multi = isa.split("_")
    assert base.startswith("rv64"), isa
    return set(base[4:]), set(multi)


@needs_tools
def test_dtc_reads_our_device_tree_back(test_board, tmp_path):
    """dtc decompiles the blob, and compiling its source again gives the same tree."""
    ours = _ours(test_board, tmp_path / "ours.dtb", 1)
    r = subprocess.run([DTC, "-I", "dtb", "-O", "dts", "-o", str(tmp_path / "ours.dts"), str(tmp_path / "ours.dtb")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # dtc's only remark is the one it makes about qemu's tree too (cpu-intc without #address-cells)
    assert all("interrupt_provider" in line for line in r.stderr.splitlines() if line.strip()), r.stderr
    dts = (tmp_path / "ours.dts").read_text()
    assert 'stdout-path = "/soc/serial@10000000"' in dts and 'bootargs = "console=ttyS0"' in dts
    r = subprocess.run([DTC, "-I", "dts", "-O", "dtb", "-o", str(tmp_path / "again.dtb"), str(tmp_path / "ours.dts")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert parse_dtb((tmp_path / "again.dtb").read_bytes()) == parse_dtb(ours)


@needs_tools
@pytest.mark.parametrize("harts", [1, 2])
def test_our_device_tree_matches_qemus_virt(test_board, tmp_path, harts):
    ours = resolved(parse_dtb(_ours(test_board, tmp_path / "ours.dtb", harts)))
    qemu = resolved(parse_dtb(_qemus(tmp_path / "qemu.dtb", harts)))

    # every node of ours is one of qemu's; qemu's that we lack are the known omissions
    assert set(ours) <= set(qemu), sorted(set(ours) - set(qemu))
    missing = set(qemu) - set(ours)
    unexplained = {n for n in missing if not any(n == o or n.startswith(o + "/") for o in KNOWN_OMISSIONS)}
    assert not unexplained, sorted(unexplained)

    for path, props in ours.items():
        theirs = qemu[path]
        for name in set(theirs) - set(props):
            assert _matches(KNOWN_MISSING_PROPS, path, name), f"{path}: qemu has {name}, we do not"
        for name, value in props.items():
            if (path, name) in EXTRA_PROPS:
                continue
            assert name in theirs, f"{path}: we have {name}, qemu does not"
            if _matches(KNOWN_DIFFERENT, path, name):
                continue
            assert value == theirs[name], f"{path} {name}: ours {value!r}, qemu's {theirs[name]!r}"

    # the values stated differently, stated sensibly
    for path in (p for p in ours if re.fullmatch(r"/cpus/cpu@\d+", p)):
        letters, multi = isa_parts(ours[path]["riscv,isa"].rstrip(b"\0").decode())
        q_letters, q_multi = isa_parts(qemu[path]["riscv,isa"].rstrip(b"\0").decode())
        assert letters == set("imafdc") and letters <= q_letters and multi <= q_multi, (letters, multi)
        assert ours[path]["mmu-type"] == b"riscv,sv39\0"
    assert cells(ours["/soc/plic@c000000"]["riscv,ndev"]) == [96]
    assert cells(qemu["/soc/plic@c000000"]["riscv,ndev"])[0] in (95, 96)
    # the wiring Linux and OpenSBI rely on, stated outright
    intc = [f"/cpus/cpu@{h}/interrupt-controller" for h in range(harts)]
    assert ours["/soc/plic@c000000"]["interrupts-extended"] == [x for i in intc for x in ((i, 11), (i, 9))]
    assert ours["/soc/clint@2000000"]["interrupts-extended"] == [x for i in intc for x in ((i, 3), (i, 7))]
    assert ours["/poweroff"]["regmap"] == ours["/reboot"]["regmap"] == "/soc/test@100000"
    assert cells(ours["/soc/serial@10000000"]["interrupts"]) == [10]
    assert [cells(ours[f"/soc/virtio_mmio@{0x10001000 + 0x1000 * i:x}"]["interrupts"])[0] for i in range(8)] \
        == list(range(1, 9))
    assert cells(ours["/memory@80000000"]["reg"]) == [0, 0x80000000, 0, RAM_MIB << 20]
    # the slots in qemu's order (the kernel probes them in tree order)
    assert [p for p in ours if "virtio_mmio" in p] == [p for p in qemu if "virtio_mmio" in p]


def test_initrd_and_bootargs_reach_chosen(test_board, tmp_path):
    out = tmp_path / "initrd.dtb"
    _run(test_board, str(out), "1", "64", "root=/dev/vda rw", "0x84000000", "0x84123456")
    chosen = parse_dtb(out.read_bytes())["/chosen"]
    assert chosen["bootargs"] == b"root=/dev/vda rw\0"
    assert struct.unpack(">Q", chosen["linux,initrd-start"]) == (0x84000000,)
    assert struct.unpack(">Q", chosen["linux,initrd-end"]) == (0x84123456,)
    assert chosen["stdout-path"] == b"/soc/serial@10000000\0"
