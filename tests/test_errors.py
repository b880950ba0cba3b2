"""Every exception class the workbench defines is a WorkbenchError (one ``except`` catches
them all), and keeps the builtin base older code catches it by."""
from __future__ import annotations

import importlib
import pkgutil

import pytest

import workbench
from workbench import WorkbenchError


def _exception_classes() -> dict[str, type]:
    """Every exception class defined in a workbench module (``__main__`` modules not run)."""
    found = {}
    for info in pkgutil.walk_packages(workbench.__path__, "workbench."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__.startswith("workbench"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_exception_is_a_workbench_error():
    classes = _exception_classes()
    assert {"workbench.studies.UnknownStudyError", "workbench.guests._errors.GuestBuildError",
            "workbench.errors.ConfigError"} <= set(classes)
    assert [n for n, c in classes.items() if not issubclass(c, WorkbenchError)] == []


def test_the_builtin_bases_still_catch_them():
    from workbench import guests, studies

    assert issubclass(studies.UnknownStudyError, KeyError)
    assert issubclass(guests.GuestBuildError, RuntimeError)
    assert issubclass(guests.ToolchainNotFound, RuntimeError)
    assert issubclass(guests.UnknownGuestError, ValueError)
    with pytest.raises(KeyError, match="unknown study 'nope'") as e:  # what callers wrote before
        studies.get("nope")
    assert isinstance(e.value, WorkbenchError)
