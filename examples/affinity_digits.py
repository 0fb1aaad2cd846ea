"""The cluster-affinity table of docs/models.md: scikit-learn's digits (1797
8x8 images), a logistic regression on the 64 raw pixels against one on k
cluster affinities, 5-fold stratified cross-validation (shuffled, seed 0),
one BLAS thread. Takes a minute or two on 2 cores. Run:

    python examples/affinity_digits.py            # the table
    python examples/affinity_digits.py --seeds 6  # k = 30 rbf over seeds 0..5 too

Needs scikit-learn and threadpoolctl (both in the test extra).
"""

import argparse
import warnings

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from kmeanskit import ClusterAffinity

#: (label, k, kind) of each row after the raw pixels.
ROWS = [("k = 20 rbf affinities", 20, "rbf"), ("k = 25 rbf affinities", 25, "rbf"),
        ("k = 30 rbf affinities", 30, "rbf"), ("k = 40 rbf affinities", 40, "rbf"),
        ("k = 30 soft assignments", 30, "soft")]


def accuracy(model, X, y) -> float:
    """Mean 5-fold stratified cross-validated accuracy (shuffled, seed 0)."""
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    return float(cross_val_score(model, X, y, cv=cv).mean())


def main(seeds: int = 1) -> None:
    """Print the Markdown table of docs/models.md."""
    X, y = load_digits(return_X_y=True)
    lr = dict(max_iter=1000)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs convergence chatter
        print("| features | accuracy |\n|---|---|")
        print(f"| the 64 raw pixels | {accuracy(make_pipeline(StandardScaler(), LogisticRegression(**lr)), X, y):.3f} |")
        for label, k, kind in ROWS:
            pipe = make_pipeline(ClusterAffinity(k, kind=kind, random_state=0), StandardScaler(),
                                 LogisticRegression(**lr))
            print(f"| {label} | {accuracy(pipe, X, y):.3f} |")
        if seeds > 1:
            accs = [accuracy(make_pipeline(ClusterAffinity(30, random_state=s), StandardScaler(),
                                           LogisticRegression(**lr)), X, y) for s in range(seeds)]
            print(f"k = 30 rbf, seeds 0-{seeds - 1}: {min(accs):.3f} to {max(accs):.3f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1, help="also run k = 30 rbf over this many seeds")
    main(ap.parse_args().seeds)
