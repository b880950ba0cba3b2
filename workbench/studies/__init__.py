"""The studies: one module per question, each turning a parameter grid into one Dataset.

This package owns the registry of studies that ``wb reproduce`` knows. Every study module
offers ``run(scale="small", *, store=None, scheduler=None, progress=True, fresh=False) ->
xarray.Dataset`` (points finished in ``store`` are reused, and the reuse printed with when
they were measured, unless ``fresh``),
``default_store(scale, *, base=None) -> Path`` (where its sweep resumes from) and
``summary(ds) -> pandas.DataFrame`` (the table ``wb reproduce`` prints). Modules are
imported only when asked for.

>>> from workbench import studies
>>> sorted(studies.STUDIES)
['aikido', 'barrier', 'engine', 'watchpoints']
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
    "watchpoints": "workbench.studies.watchpoints",
    "aikido": "workbench.studies.aikido",
}

SCALES = ("small", "paper")


class UnknownStudyError(WorkbenchError, KeyError):
    """A study name that is not in :data:`STUDIES` (a KeyError too: it is a failed lookup)."""

    def __str__(self):
        return str(self.args[0]) if self.args else "unknown study"


class UnknownScaleError(WorkbenchError, ValueError):
    """A scale that is not in :data:`SCALES` (a ValueError too: a bad parameter value)."""


def check_scale(scale) -> str:
    """``scale`` if it is one of :data:`SCALES`, else UnknownScaleError saying which are
    (the studies' GRIDs, the notebooks' parameters cells and ``wb reproduce`` call it).

    >>> check_scale("medium")
    Traceback (most recent call last):
    ...
    workbench.studies.UnknownScaleError: unknown scale 'medium'; choose one of small, paper
    """
    if scale not in SCALES:
        raise UnknownScaleError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    return scale


def get(name: str) -> ModuleType:
    """The module of study ``name`` (imported on first use).

    >>> get("engine").run  # doctest: +ELLIPSIS
    <function run at ...>
    """
    if name not in STUDIES:
        raise UnknownStudyError(f"unknown study {name!r}; known studies: {', '.join(sorted(STUDIES))}")
    return importlib.import_module(STUDIES[name])


__all__ = ["STUDIES", "SCALES", "check_scale", "get", "UnknownScaleError", "UnknownStudyError"]
