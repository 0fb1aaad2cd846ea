"""Smoke test of the benchmark harness (benchmarks/ is not part of the
package): a tiny lloyd-suite run with kmeanskit and scikit-learn only, plus
the harness's exact inertia and data generators. No timing assertions."""

import os
import sys

import numpy as np
import pytest

import naive

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

pytest.importorskip("sklearn")

from benchmarks import common, data, default, lloyd, memory, peers, scipy_vq, shared  # noqa: E402,F401

from kmeanskit import _solver  # noqa: E402


def _rows(md):
    """Data rows of every markdown table in ``md`` as lists of cells."""
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in md.splitlines()
            if line.startswith("| ") and not line.startswith("| library") and not line.startswith("| workload")]


def test_lloyd_suite_tiny_workload_has_every_row():
    w = data.Workload("tiny", 2_000, 3, 8, np.float32, "pixels", "tiny photo")
    sections = lloyd.run(quick=True, repeats=1, workloads=[w], libraries={"kmeanskit", "sklearn"})
    fixed, conv, summary = sections
    assert "10 iterations from the same start" in fixed and "to convergence" in conv
    expected = [f"kmeanskit {a}" for a in _solver.ALGORITHMS if a != "auto"] + ["kmeanskit auto",
                                                                               "sklearn lloyd",
                                                                               "sklearn elkan"]
    for md in (fixed, conv):
        rows = _rows(md)
        assert [r[0] for r in rows] == expected
        # same data, same start, same iterations: every exact Lloyd ends with
        # the same inertia, and kmeanskit's matches the NumPy reference
        inertias = [float(r[3]) for r in rows]
        assert max(inertias) / min(inertias) - 1 < 1e-5
        iters = {int(r[2]) for r in rows}
        assert len(iters) == 1
        X, C0 = data.load(w), data.initial_centres(w)
        max_iter, tol = (10, 0.0) if md is fixed else (300, 1e-4)
        _, _, ref_inertia, ref_iter = naive.lloyd(X, C0, max_iter=max_iter, tol=tol)
        assert iters == {ref_iter}
        assert inertias[0] == pytest.approx(ref_inertia, rel=1e-5)
        # the ratio column is relative to the best peer (scikit-learn here)
        ratios = [float(r[5]) for r in rows]
        assert min(ratios[-2:]) == 1.0 and all(x > 0 for x in ratios)
    assert "| tiny | kmeanskit auto |" in summary
    assert "faiss" not in fixed and "scipy" not in fixed


def test_initial_centres_are_rows_and_deterministic():
    w = data.Workload("tiny2", 1_500, 16, 12, np.float64, "tabular")
    C = data.initial_centres(w)
    X = data.load(w)
    assert C.shape == (12, 16) and C.dtype == np.float64
    assert all((X == c).all(axis=1).any() for c in C)
    data.initial_centres.cache_clear()
    data.load.cache_clear()
    np.testing.assert_array_equal(data.initial_centres(w), C)


def test_photo_pixels_look_like_an_8bit_image():
    X = data.photo_pixels(3_000)
    assert X.shape == (3_000, 3) and X.dtype == np.float32
    np.testing.assert_array_equal(X, np.rint(X))
    assert X.min() >= 0 and X.max() <= 255
    np.testing.assert_array_equal(X, data.photo_pixels(3_000))
    # several distinct colour regions, not one smooth blob
    assert len(np.unique(X // 32, axis=0)) >= 8


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_inertia_matches_naive(dtype):
    rng = np.random.default_rng(3)
    X = (rng.normal(size=(700, 5)) * 100 + 1e4).astype(dtype)
    C = X[:9].astype(np.float64) + 0.5
    _, d2, inertia = naive.assign(X, C)
    np.testing.assert_allclose(common.exact_sq_distances(X, C, chunk=128), d2, rtol=1e-12)
    assert common.exact_inertia(X, C) == pytest.approx(inertia, rel=1e-12)


def test_table_formatting():
    md = common.table(["a", "b", "c"], [["x", 1234567, 0.012345], ["y", None, 12.5]])
    assert md.splitlines() == ["| a | b | c |", "|---|---:|---:|", "| x | 1,234,567 | 0.01235 |",
                               "| y | – | 12.5 |"]


def test_kmeanskit_rows_follow_the_registry(monkeypatch):
    monkeypatch.setitem(_solver.ALGORITHMS, "fancy", _solver.ALGORITHMS["lloyd"])
    assert peers.kmeanskit_algorithms()[-2:] == ["fancy", "auto"]
