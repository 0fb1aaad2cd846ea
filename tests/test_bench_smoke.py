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

from benchmarks import common, data, default, grid_bench, lloyd, memory, peers, scipy_vq, shared  # noqa: E402,F401

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


def test_scipy_photo_workflow_rows_and_ratios():
    """The photo table of the scipy suite (issue 20) on its quick photo:
    one row per k, the speed-up is scipy's time over kmeanskit's, and the
    distortions are the float64 mean distances of the returned code books
    (kmeanskit's no worse than scipy's by more than the seed noise)."""
    md = scipy_vq.photos(quick=True, repeats=1)
    rows = [r for r in _rows(md) if r[0] != "photo"]
    assert [int(r[2]) for r in rows] == [3, 8]
    for r in rows:
        tk, ts, up = float(r[3]), float(r[4]), float(r[5])
        assert up == pytest.approx(ts / tk, rel=2e-3)
        dk, ds = float(r[6]), float(r[7])
        assert float(r[8]) == pytest.approx(dk / ds - 1, abs=2e-5)
        assert dk <= ds * (1 + 2e-2)  # one seed: a local optimum up to about 1 % either way


def _section(sections, title):
    return next(s for s in sections if title in s.splitlines()[0])


def test_grid_suite_quick_has_every_cell_and_consistent_ratios(tmp_path):
    """The quick shape grid with kmeanskit and scikit-learn (faiss may be
    missing here): a row for every cell, equal-work inertias that agree,
    ratios that follow from the raw numbers, JSON and PNG written and the
    tables regenerated from the JSON alone."""
    import json

    cfg = grid_bench.grid(quick=True)
    res = grid_bench.measure(quick=True, libraries={"kmeanskit", "sklearn"})
    assert res["libraries"] == ["kmeanskit", "sklearn"]
    expected = {(d, k, "float32") for d in cfg.ds for k in cfg.ks} | {(d, k, "float64") for d, k in cfg.diag}
    cells = {(c["d"], c["k"], c["dtype"]): c for c in res["cells"]}
    assert set(cells) == expected and len(res["cells"]) == len(expected)
    rates = res["rates"]
    for (d, k, dt), c in cells.items():
        assert c["status"] == "ok", c["reason"]
        # the bound from the measured rates
        item = np.dtype(dt).itemsize
        mem = c["n"] * d * item / (rates["stream_gbs"] * 1e9) * 1e3
        gemm = 2 * c["n"] * d * k / (rates["gemm_gflops"][dt] * 1e9) * 1e3
        assert c["mem_bound_ms"] == pytest.approx(mem) and c["gemm_bound_ms"] == pytest.approx(gemm)
        assert c["bound_ms"] == pytest.approx(max(mem, gemm))
        fx = c["fixed"]
        assert set(n for n, v in fx.items() if v.get("status") == "ok") == {"kmeanskit auto", "sklearn lloyd"}
        assert "faiss" not in fx
        auto, sk = fx["kmeanskit auto"], fx["sklearn lloyd"]
        # equal work: same start, same iterations, the same centres up to rounding
        assert auto["n_iter"] == sk["n_iter"]
        assert abs(auto["inertia"] / sk["inertia"] - 1) < 1e-5
        assert c["max_rel_inertia"] < 1e-5
        # ratios from the raw numbers
        for v in (auto, sk):
            assert v["pass_ms"] == pytest.approx(
                np.median([t / it for t, it in zip(v["times_s"], v["n_iter"])]) * 1e3)
        assert c["best_peer"] == "sklearn lloyd"
        assert c["ratio_peer"] == pytest.approx(auto["pass_ms"] / sk["pass_ms"])
        assert c["ratio_bound"] == pytest.approx(auto["pass_ms"] / c["bound_ms"])
        assert c["ratio_gemm"] == pytest.approx(auto["pass_ms"] / c["gemm_bound_ms"])
        cv = c["converge"]
        assert cv["kmeanskit auto"]["status"] == "ok" and cv["sklearn lloyd"]["status"] == "ok"
        assert c["conv_ratio_peer"] == pytest.approx(cv["kmeanskit auto"]["seconds"] / cv["sklearn lloyd"]["seconds"])

    js, png = grid_bench.save(res, str(tmp_path), "grid")
    assert os.path.getsize(png) > 1000
    sections = grid_bench.report(res)
    with open(js, encoding="utf-8") as f:
        assert grid_bench.report(json.load(f)) == sections
    # the raw table: one row per cell; the ratio table: the ratios as stored
    raw = _section(sections, "raw ms per pass")
    rows = [r for r in _rows(raw) if r[0] != "d"]
    assert sorted((int(r[0]), int(r[1]), r[2]) for r in rows) == sorted(expected)
    n = cfg.ns[0]
    ratio_md = _section(sections, f"n={n:,}, float32: kmeanskit auto / best peer")
    got = {r[0]: r[1:] for r in _rows(ratio_md) if r[0].startswith("d=")}
    for d in cfg.ds:
        assert got[f"d={d}"] == [common.fmt(cells[(d, k, "float32")]["ratio_peer"], 2) for k in cfg.ks]
    assert any("Shape grid: targets" in s for s in sections)


def test_grid_cliffs_interpolate_in_log_k():
    assert grid_bench.interp_log_k(4, 1.0, 16, 3.0, 8) == pytest.approx(2.0)
    cfg = {"ns": [1000], "ds": [8], "ks": [4, 8, 16, 64]}

    def cell(k, ms):
        return {"n": 1000, "d": 8, "k": k, "dtype": "float32", "auto_ms": ms}

    res = {"config": cfg, "cells": [cell(4, 1.0), cell(8, 4.1), cell(16, 3.0), cell(64, 2.0)]}
    found = grid_bench.cliffs(res)
    assert [(c["k"], round(c["interp_ms"], 6)) for c in found] == [(8, 2.0)]
    res["cells"][1]["auto_ms"] = 3.9
    assert grid_bench.cliffs(res) == []
    # a cell not measured: the next measured neighbour counts (k = 4 and 64 for k = 8)
    res["cells"][2]["auto_ms"] = None
    assert [(c["k"], round(c["interp_ms"], 6)) for c in grid_bench.cliffs(res)] == [(8, 1.25)]


def test_grid_budget_drops_the_most_expensive_rows_first():
    R = common.Runner
    runners = [R("kmeanskit auto", None, peer=False), R("sklearn lloyd", None), R("faiss", None)]
    kept, dropped = grid_bench.fit_rows({"kmeanskit auto": 5, "sklearn lloyd": 9, "faiss": 3}, runners, 10)
    assert kept == ["kmeanskit auto", "faiss"] and dropped == ["sklearn lloyd"]
    kept, dropped = grid_bench.fit_rows({"kmeanskit auto": 50, "sklearn lloyd": 9, "faiss": 3}, runners, 10)
    assert kept == ["kmeanskit auto"]
    # kmeanskit lloyd goes before any peer
    runners.insert(1, R("kmeanskit lloyd", None, peer=False))
    cost = {"kmeanskit auto": 2, "kmeanskit lloyd": 3, "sklearn lloyd": 4, "faiss": 3}
    assert grid_bench.fit_rows(cost, runners, 10) == (["kmeanskit auto", "sklearn lloyd", "faiss"],
                                                      ["kmeanskit lloyd"])


def test_grid_suite_is_registered():
    with open(os.path.join(ROOT, "benchmarks", "run.py"), encoding="utf-8") as f:
        text = f.read()
    assert '"grid": "grid_bench"' in text and '"grid"]' in text
