import runpy
import sys

import pytest
from click.testing import CliRunner

from kmeanskit.cli import main


def test_demo_prints_iris_clusters():
    res = CliRunner().invoke(main, ["demo", "-k", "3"])
    assert res.exit_code == 0, res.output
    assert "iris: 150 flowers x 4 measurements" in res.output
    # the well-known k=3 solution of iris: inertia 78.85 (sizes 50, 62, 38)
    assert "inertia 78.8514" in res.output
    sizes = sorted(int(line.split()[1]) for line in res.output.splitlines()[3:6])
    assert sizes == [38, 50, 62]


def test_bad_k_is_one_line_error():
    res = CliRunner().invoke(main, ["demo", "-k", "0"])
    assert res.exit_code != 0
    assert "Error: n_clusters must be >= 1" in res.output
    assert "Traceback" not in res.output


def test_example_tutorial_runs(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["x"])
    runpy.run_path("examples/scipy_tutorial_colors.py", run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("%") == 4
