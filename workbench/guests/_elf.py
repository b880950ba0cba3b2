"""A minimal ELF header / program header reader (no readelf needed)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

EM_X86_64 = 62
EM_RISCV = 243
ET_EXEC = 2
ET_DYN = 3
PT_DYNAMIC = 2
PT_INTERP = 3

_MACHINES = {EM_X86_64: "x86-64", EM_RISCV: "riscv", 183: "aarch64"}


@dataclass(frozen=True)
class ElfInfo:
    """What matters about a guest executable.

    ``static`` means there is no ``PT_INTERP`` (no dynamic loader needed);
    ``pie`` means the file is ``ET_DYN`` (a static-PIE when also ``static``).
    """

    elf_class: int  # 32 or 64
    little_endian: bool
    machine: int
    machine_name: str
    type: int
    entry: int
    has_interp: bool
    has_dynamic: bool
    rvc: bool  # RISC-V: compressed instructions allowed (EF_RISCV_RVC)
    float_abi: str  # RISC-V: soft/single/double/quad

    @property
    def static(self) -> bool:
        return not self.has_interp

    @property
    def pie(self) -> bool:
        return self.type == ET_DYN


def elf_info(path: str | Path) -> ElfInfo:
    """Parse the ELF header and program headers of ``path``.

    >>> info = elf_info(build("atomics"))    # doctest: +SKIP
    >>> info.machine_name, info.static, info.pie  # doctest: +SKIP
    ('riscv', True, False)
    """
    with open(path, "rb") as f:
        ident = f.read(64)
        if len(ident) < 52 or ident[:4] != b"\x7fELF":
            raise ValueError(f"{path} is not an ELF file")
        elf_class = {1: 32, 2: 64}.get(ident[4])
        if elf_class is None:
            raise ValueError(f"{path}: bad ELF class {ident[4]}")
        little = ident[5] == 1
        e = "<" if little else ">"
        if elf_class == 64:
            (e_type, e_machine, _ver, e_entry, e_phoff, _shoff, e_flags, _ehsize, e_phentsize, e_phnum) = struct.unpack(
                e + "HHIQQQIHHH", ident[16:58]
            )
        else:
            (e_type, e_machine, _ver, e_entry, e_phoff, _shoff, e_flags, _ehsize, e_phentsize, e_phnum) = struct.unpack(
                e + "HHIIIIIHHH", ident[16:46]
            )
        has_interp = has_dynamic = False
        for i in range(e_phnum):
            f.seek(e_phoff + i * e_phentsize)
            p_type = struct.unpack(e + "I", f.read(4))[0]
            has_interp |= p_type == PT_INTERP
            has_dynamic |= p_type == PT_DYNAMIC
    rvc = bool(e_flags & 0x1) if e_machine == EM_RISCV else False
    float_abi = ["soft", "single", "double", "quad"][(e_flags >> 1) & 3] if e_machine == EM_RISCV else ""
    return ElfInfo(
        elf_class=elf_class,
        little_endian=little,
        machine=e_machine,
        machine_name=_MACHINES.get(e_machine, str(e_machine)),
        type=e_type,
        entry=e_entry,
        has_interp=has_interp,
        has_dynamic=has_dynamic,
        rvc=rvc,
        float_abi=float_abi,
    )
