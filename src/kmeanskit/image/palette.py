"""The :class:`Palette` of an image and :func:`dominant_colors`, which finds it."""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._fileutil import atomic_write_bytes
from .._validation import RANDOM_STATE, Interval, Kind, Options, check_random_state, validate_params
from .cluster import ElbowSweep, ciede2000_palette, cluster_histogram, histogram
from .colour import (
    REFINES,
    SPACES,
    codes_to_space,
    lab_to_space,
    lab_to_srgb,
    resolve_metric,
    space_to_lab_and_rgb,
    srgb_to_lab,
)
from .decode import LOAD_CONSTRAINTS, PILLOW_LIMIT, read_pixels

__all__ = ["Palette", "dominant_colors"]

#: Default alpha below which a pixel counts as transparent.
DEFAULT_MIN_ALPHA = 128

#: Parameter constraints shared by :func:`dominant_colors`, ``quantize`` and ``labels``.
CONSTRAINTS = {
    "k": [Interval(int, 1, None), Options(("auto",))],
    "color_space": [Options(SPACES)],
    "ignore_transparent": [Kind(lambda v: isinstance(v, bool), "True or False")],
    "min_alpha": [Interval(int, 1, 255)],
    "random_state": [RANDOM_STATE],
    "n_init": [Interval(int, 1, None)],
    "max_iter": [Interval(int, 1, None)],
    "tol": [Interval(float, 0, None)],
    "n_threads": [Options((None,)), Interval(int, 1, None)],
    "dither": [Kind(lambda v: isinstance(v, bool), "True or False")],
    "refine": [Options(REFINES)],
    **LOAD_CONSTRAINTS,
}


@dataclass(frozen=True, eq=False)
class Palette:
    """Dominant colours of an image, most frequent first.

    Made by :func:`dominant_colors` or :meth:`from_colors`.

    Attributes
    ----------
    colors : ndarray (k, 3) uint8
        sRGB colours.
    proportions : ndarray (k,) float64
        Share of the counted pixels nearest to each colour (sums to 1),
        descending.
    counts : ndarray (k,) int64
        Pixels per colour.
    lab : ndarray (k, 3) float64
        The colours in CIELAB (for plain k-means in Lab, ``refine=None``, the
        exact cluster means before rounding to sRGB; for a CIEDE2000-refined
        palette, the Lab values of the 8-bit sRGB ``colors`` themselves).
    centers : ndarray (k, 3) float64
        Cluster centres in the clustering space (Lab, RGB 0-255 or DIN99o),
        used to label pixels.
    color_space : {"lab", "rgb", "din99o"}
    inertia : float
        Pixel-weighted sum of squared distances to the centres, measured
        with ``metric``.
    sweep : ElbowSweep or None
        The k sweep when ``k="auto"`` chose k.
    metric : {"euclidean", "ciede2000"}
        How pixels are labelled: the centre at the smallest Euclidean
        distance in ``color_space``, or (Lab palettes only) the colour of
        smallest CIEDE2000.

    Examples
    --------
    >>> pal = Palette.from_colors(["#ff0000", "#0000ff"])
    >>> len(pal), pal.k, pal.color_space
    (2, 2, 'lab')
    """

    colors: np.ndarray
    proportions: np.ndarray
    counts: np.ndarray
    lab: np.ndarray
    centers: np.ndarray
    color_space: str = "lab"
    inertia: float = 0.0
    sweep: ElbowSweep | None = field(default=None, repr=False)
    metric: str = "euclidean"

    def __len__(self) -> int:
        """Return the number of colours."""
        return int(self.colors.shape[0])

    @property
    def k(self) -> int:
        """Number of colours."""
        return len(self)

    @property
    def hex(self) -> list[str]:
        """Colours as ``#rrggbb`` strings."""
        return ["#{:02x}{:02x}{:02x}".format(*map(int, c)) for c in self.colors]

    def __repr__(self) -> str:
        """Show the colours as hex codes with their shares."""
        parts = ", ".join(f"{h} {p:.1%}" for h, p in zip(self.hex, self.proportions))
        return f"Palette(k={self.k}, color_space={self.color_space!r}, [{parts}])"

    @classmethod
    def from_colors(cls, colors, *, color_space: str = "lab", metric: str = "euclidean"
                    ) -> "Palette":
        """Make a palette from given sRGB colours, e.g. to quantize with them.

        Proportions are unknown (zero).

        CIEDE2000 was fitted to small colour differences: with a sparse
        hand-picked palette it can send a mid grey to a saturated colour of
        the same lightness rather than to white.

        Parameters
        ----------
        colors : sequence
            uint8 triples or ``#rrggbb`` strings.
        color_space : {"lab", "rgb", "din99o"}
            The space whose Euclidean distance labels pixels.
        metric : {"euclidean", "ciede2000"}
            How pixels are labelled: "euclidean" (nearest in ``color_space``;
            the default) or, for Lab palettes, "ciede2000" (as the palettes of
            :func:`dominant_colors` in Lab mode do: pass it to reproduce
            their labels from their colours).

        Returns
        -------
        Palette

        Examples
        --------
        >>> Palette.from_colors(["#ff0000", (0, 0, 255)]).hex
        ['#ff0000', '#0000ff']
        >>> Palette.from_colors(["#ff0000"], metric="ciede2000").metric
        'ciede2000'
        """
        validate_params(dict(color_space=color_space, metric=metric),
                        {"color_space": [Options(SPACES)],
                         "metric": [Options(("euclidean", "ciede2000"))]},
                        "Palette.from_colors")
        metric = resolve_metric(color_space, metric, "metric")
        rows = []
        for c in colors:
            if isinstance(c, str):
                s = c.lstrip("#")
                if len(s) != 6:
                    raise ValueError(f"colour {c!r} is not #rrggbb; pass e.g. '#1f77b4'.")
                try:
                    rows.append([int(s[i:i + 2], 16) for i in (0, 2, 4)])
                except ValueError:
                    raise ValueError(f"colour {c!r} is not #rrggbb hex.") from None
            else:
                rows.append(list(c))
        arr = np.asarray(rows)
        if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] == 0 or arr.min() < 0 or arr.max() > 255:
            raise ValueError("colors must be a non-empty list of #rrggbb strings or 0-255 RGB triples.")
        rgb = arr.astype(np.uint8)
        lab = srgb_to_lab(rgb)
        centers = lab_to_space(lab, rgb, color_space)
        k = rgb.shape[0]
        return cls(rgb, np.zeros(k), np.zeros(k, dtype=np.int64), lab, centers, color_space, 0.0,
                   None, metric)

    def to_dict(self) -> dict:
        """Describe the palette in plain Python (what :meth:`to_json` writes).

        Returns
        -------
        dict
            ``color_space``, ``metric``, ``k``, ``n_pixels``, ``colors`` (hex,
            rgb, lab, proportion and pixels of each) and, after
            ``k="auto"``, ``auto_k`` (ks, inertia, knee).

        Examples
        --------
        >>> Palette.from_colors(["#102030"]).to_dict()["colors"][0]["hex"]
        '#102030'
        """
        d = {
            "color_space": self.color_space,
            "metric": self.metric,
            "k": self.k,
            "n_pixels": int(self.counts.sum()),
            "colors": [
                {"hex": h, "rgb": [int(v) for v in c], "lab": [round(float(v), 4) for v in lab],
                 "proportion": round(float(p), 6), "pixels": int(n)}
                for h, c, lab, p, n in zip(self.hex, self.colors, self.lab, self.proportions,
                                           self.counts)
            ],
        }
        if self.sweep is not None:
            d["auto_k"] = {"ks": [int(k) for k in self.sweep.ks],
                           "inertia": [float(v) for v in self.sweep.inertia],
                           "knee": int(self.sweep.knee)}
        return d

    def to_json(self, **kwargs) -> str:
        """Describe the palette as JSON.

        Hex, RGB, Lab, proportion and pixel count of each colour.

        Parameters
        ----------
        **kwargs
            Passed to :func:`json.dumps` (``indent=2`` unless given).

        Returns
        -------
        str

        Examples
        --------
        >>> import json
        >>> json.loads(Palette.from_colors(["#102030"]).to_json())["colors"][0]["rgb"]
        [16, 32, 48]
        """
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)

    def plot(self, ax=None):
        """Draw a swatch of the palette.

        One block per colour, width proportional to its share (equal widths
        when proportions are unknown), labelled with its hex code and
        percentage.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw (a new figure when None).

        Returns
        -------
        matplotlib Axes
        """
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(8, 1.8))
        k = self.k
        widths = self.proportions if self.proportions.sum() > 0 else np.full(k, 1.0 / k)
        left = 0.0
        for c, wdt, h, p, lab in zip(self.colors, widths, self.hex, self.proportions, self.lab):
            ax.add_patch(_rectangle((left, 0), wdt, 1, c / 255.0))
            txt = "#000000" if lab[0] > 55 else "#ffffff"
            label = f"{h}\n{p:.1%}" if self.proportions.sum() > 0 else h
            if wdt > 0.045:
                ax.text(left + wdt / 2, 0.5, label, ha="center", va="center", color=txt,
                        fontsize=8 if wdt > 0.09 else 6, family="monospace")
            left += wdt
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_axis_off()
        return ax

    def to_html(self, path=None, image=None, *, quantized=None, name=None, title=None,
                overwrite: bool = False):
        """A single-file HTML report of the palette: each colour with its
        hex code, RGB, share and a copy button, with ``image`` the photo, and
        with ``quantized`` its repainted version beside it
        (:func:`kmeanskit.report.palette_html`).

        Parameters
        ----------
        path : str or path, optional
            Where to write the page (atomically; an existing file only with
            ``overwrite``). None: return the HTML instead.
        image : path or PIL.Image.Image, optional
            The photo the palette is of.
        quantized : PIL.Image.Image, optional
            The photo repainted with the palette, shown beside it: pass
            ``kmeanskit.quantize(image, palette)``.
        name, title : str, optional
            The photo's name and the page title.
        overwrite : bool
            Replace an existing ``path``.

        Returns
        -------
        Path or str
            The file written, or the HTML when ``path`` is None.

        Examples
        --------
        >>> page = Palette.from_colors(["#ff0000", "#0000ff"]).to_html(name="flag")
        >>> 'data-copy="#0000ff"' in page
        True
        """
        from ..report import palette_html, write_html

        html = palette_html(self, image, quantized=quantized, name=name, title=title)
        return html if path is None else write_html(html, path, overwrite=overwrite)

    def save_swatch(self, path, *, dpi: int = 100, overwrite: bool = False) -> Path:
        """Write the :meth:`plot` swatch to ``path`` atomically.

        Parameters
        ----------
        path : str or Path
            Output file; the format follows the suffix (.png, .svg, .pdf...).
        dpi : int
            Resolution of raster formats.
        overwrite : bool, default=False
            Replace an existing file (refused otherwise, as every save).

        Returns
        -------
        Path
            The path written.

        Raises
        ------
        FileExistsError
            ``path`` exists and ``overwrite`` is False.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "swatch.png"
        >>> pal = Palette.from_colors(["#102030", "#e0c0a0"])
        >>> pal.save_swatch(p).stat().st_size > 0
        True
        >>> try:
        ...     pal.save_swatch(p)
        ... except FileExistsError:
        ...     print("refused")
        refused
        """
        from matplotlib.figure import Figure

        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
        fig = Figure(figsize=(8, 1.6))
        ax = fig.add_axes((0, 0, 1, 1))
        self.plot(ax=ax)
        buf = io.BytesIO()
        fmt = path.suffix.lstrip(".").lower() or "png"
        fig.savefig(buf, format=fmt, dpi=dpi)
        return atomic_write_bytes(path, buf.getvalue(), overwrite=overwrite)


def _rectangle(xy, w, h, color):
    from matplotlib.patches import Rectangle

    return Rectangle(xy, w, h, facecolor=color, edgecolor="none")


def palette_from(pix, k, *, color_space, ignore_transparent, min_alpha, random_state, n_init,
                 max_iter, tol, n_threads, with_labels=False, refine="auto"):
    """Find the palette of decoded pixels (parameters already validated).

    With ``with_labels=True`` returns ``(palette, (hist, labels, alpha_ch))``:
    the histogram that was clustered, the palette index of each of its
    colours and the alpha column used (-1 when every pixel was counted).
    """
    alpha_ch = pix.alpha_ch if ignore_transparent else -1
    hist = histogram(pix, alpha_ch, min_alpha)
    m = hist.codes.shape[0]
    if m == 0:
        raise ValueError(f"every pixel is transparent (alpha < {min_alpha}); pass "
                         "ignore_transparent=False to use their colours anyway.")
    if k != "auto" and k > m:
        warnings.warn(f"the image has only {m} distinct colour(s), fewer than k={k}; "
                      f"returning a palette of {m}.", UserWarning, stacklevel=3)
        k = m
    rng = check_random_state(random_state)
    metric = resolve_metric(color_space, refine, "refine")
    if metric == "ciede2000":
        centers, lab_d, dist, sweep = ciede2000_palette(hist, k, n_init=n_init, max_iter=max_iter,
                                                        tol=tol, rng=rng, n_threads=n_threads)
        inertia = float(hist.w @ (dist * dist))
    else:
        feat = codes_to_space(hist.codes, color_space)
        centers, lab_d, inertia, sweep = cluster_histogram(feat, hist.w, hist.codes, k,
                                                           space=color_space, n_init=n_init,
                                                           max_iter=max_iter, tol=tol, rng=rng,
                                                           n_threads=n_threads)
    kk = centers.shape[0]
    counts = np.bincount(lab_d, weights=hist.w, minlength=kk)
    order = np.argsort(-counts, kind="stable")
    centers = np.ascontiguousarray(centers[order], dtype=np.float64)
    counts = counts[order]
    if metric == "ciede2000":  # centres are the Lab values of 8-bit colours
        lab, rgb = centers.copy(), lab_to_srgb(centers, as_uint8=True)
    else:
        lab, rgb = space_to_lab_and_rgb(centers, color_space)
    total = counts.sum()
    pal = Palette(rgb, counts / total, np.rint(counts).astype(np.int64), lab, centers, color_space,
                  float(inertia), sweep, metric)
    if not with_labels:
        return pal
    rank = np.empty(kk, dtype=np.int32)
    rank[order] = np.arange(kk, dtype=np.int32)
    return pal, (hist, rank[lab_d], alpha_ch)
def dominant_colors(image, k: int | str = 5, *, color_space: str = "lab",
                    ignore_transparent: bool = True, min_alpha: int = DEFAULT_MIN_ALPHA,
                    frames: str = "first", random_state=0, n_init: int = 5, max_iter: int = 300,
                    tol: float = 1e-5, max_pixels=PILLOW_LIMIT, n_threads: int | None = None,
                    refine: str | None = "auto") -> Palette:
    """Find the ``k`` dominant colours of an image, by k-means on its pixels.

    Parameters
    ----------
    image : path, PIL.Image.Image or array
        Any Pillow mode: RGB, RGBA/LA (transparent pixels left out by
        default), L, 1, P (palette), CMYK, YCbCr, I;16 and other 16-bit modes
        (rounded to 8 bits). EXIF orientation is honoured. Arrays: (h, w),
        (h, w, 3) or (h, w, 4) of uint8, uint16 or floats in [0, 1].
    k : int or "auto"
        Number of colours. "auto" fits k = 1..10 and takes the elbow of the
        inertia curve (Kneedle); the sweep is kept in ``Palette.sweep``. An
        image with fewer distinct colours than ``k`` gives a shorter palette
        (with a warning).
    color_space : {"lab", "rgb", "din99o"}
        Where distances are measured: CIELAB (perceptual; by default the
        palette minimises the mean CIEDE2000, see ``refine``), sRGB values
        (k-means; minimises the RGB mean squared error), or DIN99o (k-means
        in a logarithmic compression of CIELAB whose Euclidean distance
        approximates CIEDE2000).
    ignore_transparent : bool
        Leave out pixels with alpha < ``min_alpha``.
    min_alpha : int
        Alpha (1-255) from which a pixel counts as visible.
    frames : {"first", "all"}
        Animated images: the first frame, or all frames pooled.
    random_state : None, int, Generator or RandomState
        Seed of k-means++; the same image and seed give the same palette on
        any thread count.
    n_init : int
        k-means++ restarts (on the colour histogram or its boxes, so they are
        cheap).
    max_iter, tol : int, float
        Lloyd iteration limit and tolerance (as in :func:`kmeanskit.fit`;
        tighter than its 1e-4 by default, which the histogram makes cheap).
    max_pixels : int, None or "pillow"
        Decompression-bomb guard for files: larger images are refused with
        a clear error ("pillow": Pillow's ``Image.MAX_IMAGE_PIXELS``, about
        89 million; None: no limit).
    n_threads : int, optional
        Threads for the kernels.
    refine : {"auto", "ciede2000", None}
        "ciede2000" (what "auto" means in Lab; Lab only): the palette
        minimises the pixel-weighted sum of CIEDE2000 differences of the
        pixels to their palette colours, and pixels are labelled by smallest
        CIEDE2000. It starts from k-means in DIN99o and alternates CIEDE2000
        assignment with Weiszfeld centre updates that are kept only when
        they lower the objective (so it never rises), on the distinct colours
        (or, above 4096 of them, their 32 x 32 x 32 RGB boxes), stopping when
        nothing changes, a round gains <= 0.01 %, or after 20 rounds; each
        colour is then rounded to the best nearby 8-bit sRGB value and every
        distinct colour of the image takes its nearest colour by CIEDE2000.
        None: plain k-means in ``color_space`` (in Lab: squared CIE76
        distances, centres are Lab means).

    Returns
    -------
    Palette

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((10, 10, 3), dtype=np.uint8)
    >>> img[:, :7] = (200, 30, 30)          # 70 % red
    >>> img[:, 7:] = (20, 40, 220)          # 30 % blue
    >>> pal = dominant_colors(img, k=2)
    >>> pal.hex, pal.proportions.tolist()
    (['#c81e1e', '#1428dc'], [0.7, 0.3])
    """
    validate_params(dict(k=k, color_space=color_space, ignore_transparent=ignore_transparent,
                         min_alpha=min_alpha, frames=frames, random_state=random_state,
                         n_init=n_init, max_iter=max_iter, tol=tol, max_pixels=max_pixels,
                         n_threads=n_threads, refine=refine), CONSTRAINTS, "dominant_colors")
    resolve_metric(color_space, refine, "refine")
    pix = read_pixels(image, frames=frames, max_pixels=max_pixels)
    return palette_from(pix, k if k == "auto" else int(k), color_space=color_space,
                        ignore_transparent=ignore_transparent, min_alpha=min_alpha,
                        random_state=random_state, n_init=n_init, max_iter=max_iter, tol=tol,
                        n_threads=n_threads, refine=refine)
