"""matplotlib figures. Every function takes ``ax=`` (a new figure when None)
and returns what it drew on; matplotlib is imported only when a plot is
made."""

from __future__ import annotations

import numpy as np

__all__ = ["elbow_plot", "criterion_plot", "plot_sweep"]

_LABELS = {
    "inertia": "inertia (sum of squared distances)",
    "scipy": "distortion (mean distance)",
    "silhouette": "mean silhouette (higher is better)",
    "calinski_harabasz": "Calinski-Harabasz (higher is better)",
    "davies_bouldin": "Davies-Bouldin (lower is better)",
    "gap": "gap statistic",
}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib; install it with `pip install matplotlib`.") from None
    return plt


def _new_ax(ax):
    if ax is None:
        plt = _pyplot()
        _, ax = plt.subplots(figsize=(5, 3.5))
    return ax


def elbow_plot(k, distortion, knee=None, *, ax=None, ylabel="inertia (sum of squared distances)",
               log=False):
    """Distortion against k, with the knee marked (when there is one); a
    log y axis with ``log=True``.

    Parameters
    ----------
    k : sequence of int
        The values of k, increasing.
    distortion : sequence of float
        The distortion (or inertia) at each k.
    knee : int, optional
        The k to mark (one of ``k``); None writes "no knee found" in the
        title.
    ax : matplotlib Axes, optional
        Where to draw; by default on a new figure.
    ylabel : str
        Label of the y axis.
    log : bool, default=False
        Use a logarithmic y axis.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from kmeanskit.plotting import elbow_plot
    >>> ax = elbow_plot([1, 2, 3, 4], [10.0, 3.0, 2.0, 1.5], knee=2)
    >>> ax.get_xlabel()
    'number of clusters k'
    """
    ax = _new_ax(ax)
    k = np.asarray(k)
    y = np.asarray(distortion, dtype=float)
    ax.plot(k, y, "o-", color="C0", label="distortion")
    if knee is not None:
        yk = y[np.flatnonzero(k == knee)[0]]
        ax.axvline(knee, color="C3", ls="--", lw=1)
        ax.plot([knee], [yk], "o", ms=12, mfc="none", mec="C3", mew=2, label=f"knee: k = {knee}")
        ax.legend(loc="upper right")
    else:
        ax.set_title("elbow (no knee found)")
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel(ylabel)
    ax.set_xticks(k)
    if log:
        ax.set_yscale("log")
    return ax


def criterion_plot(k, values, *, best=None, se=None, ax=None, label="criterion"):
    """One criterion against k, with error bars ``se`` (when given) and the k
    it picks marked.

    Parameters
    ----------
    k : sequence of int
        The values of k, increasing.
    values : sequence of float
        The criterion at each k; NaN points are left out.
    best : int, optional
        The k the criterion picks, marked when it is one of the plotted k.
    se : sequence of float, optional
        Standard errors, drawn as error bars when any is positive.
    ax : matplotlib Axes, optional
        Where to draw; by default on a new figure.
    label : str
        Label of the y axis.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from kmeanskit.plotting import criterion_plot
    >>> criterion_plot([2, 3, 4], [0.5, 0.7, 0.6], best=3, label="silhouette").get_ylabel()
    'silhouette'
    """
    ax = _new_ax(ax)
    k = np.asarray(k)
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    if se is not None and np.any(np.asarray(se)[ok] > 0):
        ax.errorbar(k[ok], v[ok], yerr=np.asarray(se)[ok], fmt="o-", color="C1", capsize=3)
    else:
        ax.plot(k[ok], v[ok], "o-", color="C1")
    if best is not None and best in k[ok]:
        ax.axvline(best, color="C3", ls="--", lw=1)
        ax.plot([best], [v[np.flatnonzero(k == best)[0]]], "o", ms=12, mfc="none", mec="C3", mew=2)
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel(label)
    ax.set_xticks(k)
    return ax


def plot_sweep(sweep, ax=None):
    """Plot a :class:`~kmeanskit.KSweep`: the elbow with its knee and, when
    ``ax`` is None, one panel per other criterion (its choice marked).

    Parameters
    ----------
    sweep : KSweep
        The outcome of :func:`kmeanskit.choose_k`.
    ax : matplotlib Axes, optional
        Draw only the elbow, on these axes.

    Returns
    -------
    matplotlib Axes or ndarray of Axes
        ``ax`` (elbow only) when given, else the new figure's axes as an
        array: the elbow first, then one per other criterion computed.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, kmeanskit
    >>> X = np.r_[np.zeros((5, 2)), np.ones((5, 2)) * 10] + np.arange(10)[:, None] * 0.01
    >>> axes = kmeanskit.choose_k(X, range(1, 5), random_state=0).plot()
    >>> len(axes)
    4
    """
    ylabel = _LABELS["scipy" if sweep.distortion_kind == "scipy" else "inertia"]
    log = sweep.elbow_scale == "log"
    if ax is not None:
        return elbow_plot(sweep.k, sweep.distortion, sweep.knee, ax=ax, ylabel=ylabel, log=log)
    plt = _pyplot()
    others = [c for c in sweep.criteria if c != "elbow"]
    n = 1 + len(others)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.6), squeeze=False)
    axes = axes[0]
    elbow_plot(sweep.k, sweep.distortion, sweep.knee, ax=axes[0], ylabel=ylabel, log=log)
    votes = sweep.votes()
    for a, c in zip(axes[1:], others):
        se = {"silhouette": sweep.silhouette_se, "gap": sweep.gap_se}.get(c)
        criterion_plot(sweep.k, getattr(sweep, c), best=votes.get(c), se=se, ax=a, label=_LABELS[c])
    best = sweep.best_k
    fig.suptitle(f"choosing k: recommended k = {best}" if best is not None else
                 "choosing k: no recommendation")
    fig.tight_layout()
    return axes
