"""Exceptions raised by :mod:`workbench.guests`.

Every one is a :class:`workbench.WorkbenchError`; the builtin second bases (RuntimeError,
ValueError) keep older ``except`` clauses working.
"""

from __future__ import annotations

from typing import Sequence

from ..errors import WorkbenchError


class GuestBuildError(WorkbenchError, RuntimeError):
    """A guest program could not be built.

    ``cmd`` is the failing command line (if any) and ``stderr_tail`` the last
    lines the compiler printed; both are part of ``str(error)``.
    """

    def __init__(self, message: str, *, cmd: Sequence[str] | None = None, stderr_tail: str = ""):
        self.message = message
        self.cmd = list(cmd) if cmd is not None else None
        self.stderr_tail = stderr_tail
        text = message
        if self.cmd:
            text += "\n  command: " + " ".join(self.cmd)
        if stderr_tail:
            text += "\n  compiler output (last lines):\n" + "\n".join(
                "    " + line for line in stderr_tail.splitlines()
            )
        super().__init__(text)


class ToolchainNotFound(GuestBuildError):
    """The compiler needed for a build variant is not installed."""


class SourceIntegrityError(GuestBuildError):
    """A downloaded third-party source archive does not match its pinned sha256."""


class UnknownGuestError(GuestBuildError, ValueError):
    """The requested guest name is not one of :func:`workbench.guests.list_guests`."""
