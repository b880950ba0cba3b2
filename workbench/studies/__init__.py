"""The studies: one module per question, each turning a parameter grid into one Dataset.

This package owns the registry of studies that ``wb reproduce`` knows. Every study module
offers ``run(scale="small", *, store=None, scheduler=None, progress=True) -> xarray.Dataset``,
``default_store(scale, *, base=None) -> Path`` (where its sweep resumes from) and
``summary(ds) -> pandas.DataFrame`` (the table ``wb reproduce`` prints). Modules are
imported only when asked for.

>>> from workbench import studies
>>> sorted(studies.STUDIES)
['barrier', 'engine']
>>> studies.get("engine").__name__
'workbench.studies.engine'
"""
from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import WorkbenchError

#: study name -> module that implements it
STUDIES: dict[str, str] = {
    "engine": "workbench.studies.engine",
    "barrier": "workbench.studies.barrier",
}

SCALES = ("small", "paper")


class UnknownStudyError(WorkbenchError, KeyError):
    """A study name that is not in :data:`STUDIES` (a KeyError too: it is a failed lookup)."""

    def __str__(self):
        return str(self.args[0]) if self.args else "unknown study"


def get(name: str) -> ModuleType:
    """The module of study ``name`` (imported on first use).

    >>> get("engine").run  # doctest: +ELLIPSIS
    <function run at ...>
    """
    if name not in STUDIES:
        raise UnknownStudyError(f"unknown study {name!r}; known studies: {', '.join(sorted(STUDIES))}")
    return importlib.import_module(STUDIES[name])


__all__ = ["STUDIES", "SCALES", "get", "UnknownStudyError"]
