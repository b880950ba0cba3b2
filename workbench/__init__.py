"""workbench: dynamic program analysis on a RISC-V engine, from a notebook.

>>> import workbench
>>> run = workbench.Machine().run("lua54", ["-e", "print('hi')"], capture=True)  # doctest: +SKIP
>>> run.stdout
b'hi\\n'
"""
from .errors import ConfigError, LoadError, WorkbenchError
from .machine import Machine, Run, available_tiers, disassemble, engine_version, syscall_name

__version__ = "0.1.0"
__all__ = ["Machine", "Run", "available_tiers", "disassemble", "engine_version", "syscall_name",
           "ConfigError", "LoadError", "WorkbenchError"]
