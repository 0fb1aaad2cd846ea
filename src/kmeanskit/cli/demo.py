"""``kmeanskit demo``: cluster a bundled sample and print the result."""

from __future__ import annotations

from importlib import resources

import click
import numpy as np

from ._common import friendly_errors


def load_iris():
    """The bundled iris measurements: (X float64 (150, 4), column names, species)."""
    path = resources.files("kmeanskit") / "data" / "iris.csv"
    with path.open() as fh:
        header = fh.readline().strip().split(",")
        rows = [line.strip().split(",") for line in fh if line.strip()]
    X = np.array([[float(v) for v in r[:4]] for r in rows])
    return X, header[:4], [r[4] for r in rows]


@click.command("demo")
@click.option("-k", "n_clusters", default=3, show_default=True, help="Number of clusters.")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@friendly_errors
def demo(n_clusters: int, seed: int) -> None:
    """Cluster the bundled iris measurements and print centres, sizes and inertia.

    \b
    Example:
        kmeanskit demo -k 3
    """
    from .. import fit

    X, names, species = load_iris()
    res = fit(X, n_clusters, n_init=10, random_state=seed)
    click.echo(f"iris: {X.shape[0]} flowers x {X.shape[1]} measurements (cm), k={n_clusters}")
    click.echo(f"inertia {res.inertia:.4f} after {res.n_iter} iterations "
               f"({'converged' if res.converged else 'not converged'})")
    click.echo("cluster  size  " + "  ".join(f"{n:>16}" for n in names) + "  majority species")
    for j in range(res.n_clusters):
        members = np.flatnonzero(res.labels == j)
        sp = [species[i] for i in members]
        major = max(set(sp), key=sp.count) if sp else "-"
        click.echo(f"{j:>7}  {members.size:>4}  " + "  ".join(f"{v:>16.3f}" for v in res.centers[j])
                   + f"  {major}")


def register(group: click.Group) -> None:
    group.add_command(demo)
