"""Reference results (datasets/, workbench/reference.py): each study's paper-scale Dataset is
in the repository with its provenance, opens instantly, and `compare` finds a fresh result's
departures beyond noise (and nothing when the result is the same)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from workbench import reference, studies

PROVENANCE = ("engine_version", "git_revision", "host_cpu", "config", "created", "Conventions",
              "measured_from", "measured_to")


@pytest.mark.parametrize("study", sorted(studies.STUDIES))
def test_every_study_has_a_reference_with_provenance(study):
    ds = reference.load(study)
    for key in PROVENANCE:
        assert ds.attrs.get(key), f"{study}: no {key!r} in the reference's attrs"
    assert "repeat" in ds.dims and ds.sizes["repeat"] >= 3
    assert reference.compare(ds, ds).empty                      # a result is its own reference


def test_datasets_readme_lists_every_reference():
    text = (reference.DATASETS_DIR / "README.md").read_text()
    for study in studies.STUDIES:
        assert reference.path(study).name in text
        assert f"wb reproduce {study} --scale paper --out datasets" in text


def _toy(times, insns):
    return xr.Dataset({"time_s": (("workload", "repeat"), times),
                       "instructions": (("workload", "repeat"), insns)},
                      coords={"workload": ["a", "b"], "repeat": [0, 1, 2]})


def test_compare_flags_only_what_is_beyond_noise():
    ref = _toy([[1.0, 1.1, 1.05], [2.0, 2.2, 2.1]], [[10, 10, 10], [20, 20, 20]])
    same = _toy([[1.12, 1.15, 1.2], [1.9, 2.0, 2.05]], [[10, 10, 10], [20, 20, 20]])
    assert reference.compare(same, ref).empty                   # within 10% of the intervals
    slower = _toy([[1.0, 1.1, 1.05], [3.0, 3.1, 3.2]], [[10, 10, 10], [20, 20, 21]])
    diff = reference.compare(slower, ref)
    assert sorted(zip(diff.variable, diff.workload)) == [("instructions", "b"), ("time_s", "b")]
    assert diff.set_index("variable").loc["time_s", "ratio"] == pytest.approx(3.1 / 2.1)


def test_wb_reproduce_compare_needs_a_directory(tmp_path):
    p = subprocess.run([sys.executable, "-m", "workbench.cli", "reproduce", "engine", "--compare",
                        str(tmp_path / "nope"), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "--compare" in p.stderr and "Traceback" not in p.stderr
