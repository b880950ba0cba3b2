"""Exceptions the workbench raises. A guest's own failure is not an exception: it is a
:class:`~workbench.machine.Run` with a ``reason`` other than ``"exit"``."""


class WorkbenchError(Exception):
    """Base class of every workbench error."""


class LoadError(WorkbenchError):
    """The program could not be loaded: not an ELF, wrong architecture, dynamically linked,
    truncated, missing, ... The message names the problem."""


class ConfigError(WorkbenchError, ValueError):
    """A bad parameter (unknown tier, negative limit, ...)."""
