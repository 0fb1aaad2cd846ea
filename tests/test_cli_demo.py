import runpy
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import kmeanskit
from kmeanskit.cli import main
from kmeanskit.cli.demo import load_iris


def test_bundled_iris_known_solution():
    # the well-known best k=3 solution of iris: inertia 78.8514, sizes 50, 62, 38
    X, names, species = load_iris()
    assert X.shape == (150, 4) and len(set(species)) == 3
    r = kmeanskit.fit(X, 3, n_init=10, random_state=0)
    assert r.inertia == pytest.approx(78.851441426146, rel=1e-12)
    assert sorted(np.bincount(r.labels).tolist()) == [38, 50, 62]


def test_bad_option_is_one_line_error():
    res = CliRunner().invoke(main, ["demo", "--seed", "x"])
    assert res.exit_code != 0
    assert "Traceback" not in res.output
    assert "Invalid value for '--seed'" in res.output


def test_example_tutorial_runs(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["x"])
    runpy.run_path("examples/scipy_tutorial_colors.py", run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("%") == 4
