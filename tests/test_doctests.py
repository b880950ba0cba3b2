"""Every docstring example in the workbench package runs and shows what it says (examples
that need a built guest or a long run are marked ``# doctest: +SKIP`` where they stand)."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import workbench

MODULES = sorted(m.name for m in pkgutil.walk_packages(workbench.__path__, "workbench."))


@pytest.mark.parametrize("name", ["workbench", *MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (run pytest --doctest-modules {module.__file__})"
