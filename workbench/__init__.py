"""workbench: dynamic program analysis on a RISC-V engine, from a notebook.

The engine binding is imported lazily, so ``workbench.guests`` (building guest programs) works
before the native engine is built.

>>> import workbench
>>> run = workbench.Machine().run("lua54", ["-e", "print('hi')"], capture=True)  # doctest: +SKIP
>>> run.stdout                                                                      # doctest: +SKIP
b'hi\\n'
"""
from .errors import ConfigError, LoadError, WorkbenchError

__version__ = "0.1.0"
_LAZY = {"Machine", "Run", "available_tiers", "available_clients", "default_tier", "disassemble", "engine_version", "syscall_name"}
_LAZY_SYSTEM = {"System", "Boot"}
__all__ = sorted(_LAZY | _LAZY_SYSTEM) + ["ConfigError", "LoadError", "WorkbenchError"]


def __getattr__(name):
    if name in _LAZY:
        from . import machine
        return getattr(machine, name)
    if name in _LAZY_SYSTEM:
        from . import system
        return getattr(system, name)
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
