"""Single-file HTML reports: one page per job, opened in any browser.

Each function renders one job's result to a complete HTML document (a
string) from the jinja2 templates in ``templates/``: the style sheet and a
small dependency-free script (sortable and filterable tables, copy buttons)
are inline, every figure is a PNG ``data:`` URI, and a Content-Security-Policy
of ``default-src 'none'`` makes sure the page fetches nothing, so a report can
be mailed, archived or opened offline. The pages reflow to one column on a
phone and print without their controls.

* :func:`segmentation_html` -- a :class:`kmeanskit.tables.Segmentation`
  (``kmeanskit cluster --html``): the data, the choice of k, each segment's
  size, share and profile, a 2-D projection, per-column distributions and the
  rows with their segment.
* :func:`sweep_html` -- a :class:`kmeanskit.KSweep` (``kmeanskit elbow
  --html``): the curve, the knee, every criterion and the recommendation.
* :func:`palette_html` -- a :class:`kmeanskit.image.Palette` (``kmeanskit
  colors``/``quantize --html``): the photo, the palette with hex, RGB and
  share, and the quantized image beside the original.
* :func:`outliers_html` -- a :class:`kmeanskit.anomaly.Outliers`
  (``kmeanskit outliers --html``): the top rows and the score distribution
  with the threshold.

The result objects' ``to_html(path)`` methods call these and
:func:`write_html`. Needs jinja2 and matplotlib (both dependencies of
kmeanskit).
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .._version import __version__

__all__ = ["segmentation_html", "sweep_html", "palette_html", "outliers_html", "write_html", "MAX_ROWS"]

#: Rows of the table listed in a segmentation report (the rest are counted).
MAX_ROWS = 1000
#: Longest side, in pixels, of a photo embedded in a palette report (larger
#: photos are shrunk so the page stays a few hundred kB).
MAX_PHOTO_SIDE = 900


# --- page parts ------------------------------------------------------------------------------------

@dataclass
class Figure:
    """A figure of the page: a PNG data URI with its size and captions."""

    id: str
    uri: str
    width: int
    height: int
    alt: str
    caption: str = ""


@dataclass
class Cell:
    """A table cell: the text shown and, for numeric columns, the number
    sorted on (``data-value``; empty for a missing value)."""

    text: str
    value: str = ""
    color: str = ""


@dataclass
class Row:
    """A table row; ``picked`` rows are highlighted."""

    cells: list
    picked: bool = False


@dataclass
class Column:
    """A table column: its header and whether it holds numbers (right
    aligned, sorted numerically)."""

    name: str
    numeric: bool = False


@dataclass
class Table:
    """A table of the page; ``sortable`` by clicking a header, and with
    ``filter`` a search box above it."""

    id: str
    columns: list
    rows: list = field(default_factory=list)
    sortable: bool = True
    filter: bool = False
    caption: str = ""


def _env():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("kmeanskit.report", "templates"),
                       autoescape=select_autoescape(["html", "j2"], default_for_string=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _asset(name: str) -> str:
    return (resources.files("kmeanskit.report") / "templates" / name).read_text(encoding="utf-8")


def _render(template: str, **context) -> str:
    """The page ``template`` with the inline style sheet and script."""
    from markupsafe import Markup

    page = _env().get_template(template)
    # our own style sheet and script, inlined as they are (everything else is escaped)
    return page.render(version=__version__, css=Markup(_asset("report.css")), js=Markup(_asset("report.js")),
                       **context)


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _figure(fid: str, draw, size, alt: str, caption: str = "", dpi: int = 100) -> Figure:
    """Draw with ``draw(fig)`` on a new matplotlib figure of ``size``
    inches and embed it as a PNG (no pyplot: no GUI backend, no global
    state)."""
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=size)
    draw(fig)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    w, h = (int(round(s * dpi)) for s in size)
    return Figure(fid, _data_uri(buf.getvalue(), "image/png"), w, h, alt, caption)


def _image_figure(fid: str, img, alt: str, caption: str, fmt: str = "PNG") -> Figure:
    """Embed a PIL image (shrunk to :data:`MAX_PHOTO_SIDE`)."""
    from PIL import Image

    img = img.copy()
    # nearest neighbour keeps a quantized image's exact palette colours
    img.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE),
                  Image.Resampling.NEAREST if fmt == "PNG" else Image.Resampling.LANCZOS)
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 88} if fmt == "JPEG" else {"optimize": True}))
    return Figure(fid, _data_uri(buf.getvalue(), f"image/{fmt.lower()}"), img.width, img.height, alt, caption)


def fmt_num(v, digits: int = 4) -> str:
    """A number as the reports show it: thousands separated from 100 up,
    else ``digits`` significant digits; "-" when missing.

    Examples
    --------
    >>> fmt_num(12345.678), fmt_num(0.123456), fmt_num(float("nan"))
    ('12,346', '0.1235', '-')
    """
    if v is None:
        return "-"
    v = float(v)
    if not math.isfinite(v):
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def _num_cell(v, digits: int = 4) -> Cell:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return Cell(str(v))
    return Cell(fmt_num(f, digits), repr(f) if math.isfinite(f) else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# --- choice of k ------------------------------------------------------------------------------------

_SHORT = {"calinski_harabasz": "Calinski-Harabasz", "davies_bouldin": "Davies-Bouldin",
          "silhouette_se": "silhouette se", "gap_se": "gap se", "fit_time": "fit time (s)",
          "n_iter": "iterations"}


def _sweep_parts(sweep) -> dict:
    """Figure, criteria table, verdicts and explanation of a KSweep."""
    from ..plotting import _LABELS, criterion_plot, elbow_plot

    others = [c for c in sweep.criteria if c != "elbow"]
    n = 1 + len(others)
    ncol = min(2, n)
    nrow = math.ceil(n / ncol)
    votes = sweep.votes()

    def draw(fig):
        axes = np.asarray(fig.subplots(nrow, ncol, squeeze=False)).ravel()
        ylabel = _LABELS["scipy" if sweep.distortion_kind == "scipy" else "inertia"]
        if getattr(sweep, "metric", "euclidean") == "cosine":  # 1 - cos per row, not a squared distance
            ylabel = ("mean cosine distance (1 - cos)" if sweep.distortion_kind == "scipy"
                      else "inertia (sum of 1 - cos)")
        elbow_plot(sweep.k, sweep.distortion, sweep.knee, ax=axes[0], ylabel=ylabel,
                   log=sweep.elbow_scale == "log")
        axes[0].set_title("elbow" + (f": knee at k = {sweep.knee}" if sweep.knee is not None else ": no knee"))
        for a, c in zip(axes[1:], others):
            se = {"silhouette": sweep.silhouette_se, "gap": sweep.gap_se}.get(c)
            criterion_plot(sweep.k, getattr(sweep, c), best=votes.get(c), se=se, ax=a, label=_LABELS[c])
        for a in axes[n:]:
            a.set_visible(False)

    figure = _figure("fig-sweep", draw, (5.0 * ncol, 3.4 * nrow),
                     "elbow curve and the criteria per k",
                     "Left: the elbow (inertia per k) with its knee; the other panels: each criterion per k, "
                     "its choice marked.")
    cols = sweep._columns()
    table = Table("sweep-table", [Column(_SHORT.get(c, c), True) for c in cols])
    for i, k in enumerate(sweep.k):
        cells = []
        for c, vals in cols.items():
            cell = Cell(str(int(vals[i])), str(int(vals[i]))) if c in ("k", "n_iter") else _num_cell(vals[i])
            if votes.get(c) == k or (c in ("inertia", "distortion") and votes.get("elbow") == k):
                cell.text += " *"
            cells.append(cell)
        table.rows.append(Row(cells, picked=int(k) == sweep.best_k))
    verdicts = [(_SHORT.get(c, c), "no answer" if v is None else f"k = {v}") for c, v in votes.items()]
    verdicts.append(("recommended", "none" if sweep.best_k is None else f"k = {sweep.best_k}"))
    return {"figure": figure, "table": table, "verdicts": verdicts, "explain": sweep.explain(),
            "ks": ", ".join(str(int(k)) for k in sweep.k)}


def sweep_html(sweep, *, source=None, facts=None, title=None) -> str:
    """The report of a sweep over k (:func:`kmeanskit.choose_k`).

    Parameters
    ----------
    sweep : KSweep
    source : str, optional
        Where the data came from (a file name), shown in the title.
    facts : list of (str, str), optional
        Lines of the "Data" section (e.g. rows, columns, scaling).
    title : str, optional
        The page title (default: "Choosing k" and ``source``).

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> from kmeanskit.report import sweep_html
    >>> X = np.r_[np.zeros((6, 2)), np.full((6, 2), 9.0)] + np.arange(12)[:, None] * 0.05
    >>> page = sweep_html(kmeanskit.choose_k(X, range(1, 5), random_state=0), source="toy")
    >>> page.startswith("<!DOCTYPE html>"), "Recommended k = 2" in page
    (True, True)
    """
    parts = _sweep_parts(sweep)
    title = title or ("Choosing k" + (f": {source}" if source else ""))
    best = sweep.best_k
    subtitle = (f"Recommended k = {best}" if best is not None else "No recommendation") + \
        f" from k = {parts['ks']}"
    return _render("sweep.html.j2", title=title, subtitle=subtitle, sweep=parts, data_facts=list(facts or []))


# --- segmentation -----------------------------------------------------------------------------------

def _cluster_color(k: int, c: int) -> str:
    import matplotlib
    from matplotlib.colors import to_hex

    return to_hex(matplotlib.colormaps["tab10" if k <= 10 else "tab20"](c))


def segmentation_html(seg, *, source=None, title=None, max_rows: int = MAX_ROWS) -> str:
    """The report of a table's segmentation (:func:`kmeanskit.segment`).

    Parameters
    ----------
    seg : Segmentation
    source : str, optional
        Where the table came from (a file name), shown in the "Data" section.
    title : str, optional
        The page title (default: "Segments of" ``source``).
    max_rows : int
        Rows listed in the rows table (the others are counted).

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> import pandas as pd, kmeanskit
    >>> from kmeanskit.report import segmentation_html
    >>> df = pd.DataFrame({"spend": [10.0, 12.0, 11.0, 90.0, 95.0, 92.0], "visits": [1, 2, 1, 9, 8, 9]})
    >>> page = segmentation_html(kmeanskit.segment(df, k=2), source="shop.csv")
    >>> "shop.csv" in page and "50.0%" in page
    True
    """
    k = int(seg.k)
    n = int(seg.labels.size)
    dropped = int(seg.dropped.size)
    display = list(seg._display)
    name = source or "the table"
    scaling = seg.scaling.kind
    data_facts = [
        ("file", name),
        ("rows", f"{n:,} ({n - dropped:,} clustered)"),
        ("columns used", ", ".join(seg.columns)),
        ("features", ", ".join(seg.features)),
        ("scaling", {"zscore": "z-score (each feature to mean 0, sd 1)",
                     "whiten": "whiten (each feature divided by its sd)",
                     "none": "none"}.get(scaling, scaling) + (", after log(1 + x)" if seg.log else "")),
        ("columns not used", ", ".join(seg.skipped) if seg.skipped else "none"),
        ("rows left out", f"{dropped:,} with missing values (no segment)" if dropped else "none"),
        ("values filled", ", ".join(f"{c}: {m:,} filled with the column mean" for c, m in seg.imputed.items())
         if seg.imputed else "none"),
    ]
    # the segments
    p = seg.profile
    # categorical columns (k-prototypes): the most common level and its share of the segment
    cats = [c[:-5] for c in p.columns if c.endswith(" mode")]
    missing = "missing values" in p.columns
    profile = Table("profile-table", [Column("segment", True), Column("size", True), Column("share", True)]
                    + [Column(f"{d} mean", True) for d in display]
                    + [Column(f"{c} (most common)") for c in cats]
                    + ([Column("missing values", True)] if missing else []) + [Column("stands out by")])
    for c, row in p.iterrows():
        size = int(row["size"])
        cells = [Cell(str(int(c)), str(int(c)), _cluster_color(k, int(c))), Cell(f"{size:,}", str(size)),
                 Cell(f"{row['share']:.1%}", repr(float(row["share"])))]
        cells += [_num_cell(row[f"{d} mean"]) for d in display]
        cells += [Cell(f"{row[f'{n} mode']} ({row[f'{n} share']:.0%})") for n in cats]
        if missing:
            cells.append(_num_cell(int(row["missing values"])))
        cells.append(Cell(str(row["distinguishing"])))
        profile.rows.append(Row(cells))
    pca = _figure("fig-pca", lambda fig: seg.plot(ax=fig.add_subplot()), (6.4, 4.6),
                  "scatter of the rows in their first two principal components, coloured by segment",
                  "Each row in the first two principal components of the scaled features, coloured by segment; "
                  "crosses mark the centres.")
    ncol = min(3, len(display))
    nrow = math.ceil(len(display) / ncol)
    features = _figure("fig-features", lambda fig: seg.plot_features(fig=fig), (3.6 * ncol, 2.8 * nrow),
                       "box plots of each column by segment",
                       "Each column's values per segment, in the table's own units"
                       + (" (symmetric log axis)" if seg.log else "") + ".")
    # the rows
    frame = seg.to_frame(name="segment" if "segment" not in seg._frame.columns else "cluster")
    shown = min(n, int(max_rows))
    head = frame.iloc[:shown]
    lab_col = frame.columns[-1]
    numeric = {c: head[c].dtype.kind in "iufb" for c in head.columns}
    rows = Table("rows-table", [Column("row", True)] + [Column(str(c), numeric[c] or c == lab_col)
                                                        for c in head.columns], filter=True)
    values = {c: head[c].tolist() for c in head.columns}
    for i in range(shown):
        cells = [Cell(str(i), str(i))]
        for c in head.columns:
            v = values[c][i]
            missing = v is None or (isinstance(v, float) and math.isnan(v)) or str(v) in ("<NA>", "nan")
            if c == lab_col:
                cells.append(Cell("" if missing else str(int(v)), "" if missing else str(int(v)),
                                  "" if missing else _cluster_color(k, int(v))))
            elif numeric[c]:
                cells.append(Cell("" if missing else f"{v:g}" if isinstance(v, float) else str(v),
                                  "" if missing else repr(float(v))))
            else:
                cells.append(Cell("" if missing else str(v)))
        rows.rows.append(Row(cells))
    sweep = _sweep_parts(seg.sweep) if seg.sweep is not None else None
    title = title or f"Segments of {name}"
    subtitle = (f"{k} segments of {n - dropped:,} rows on {_plural(len(seg.features), 'feature')}; "
                + ("k chosen automatically" if sweep else "k given"))
    return _render("segmentation.html.j2", title=title, subtitle=subtitle, data_facts=data_facts, k=k,
                   sweep=sweep, profile=profile, pca=pca, features=features, rows=rows, log=seg.log,
                   shown=shown, n_rows=n, rest=n - shown)


# --- palettes ---------------------------------------------------------------------------------------

def _open_image(image):
    from PIL import Image, ImageOps

    if isinstance(image, Image.Image):
        return image
    with Image.open(image) as im:
        frame = ImageOps.exif_transpose(im)
        frame.load()
        return frame


def palette_html(palette, image=None, *, quantized=None, name=None, title=None) -> str:
    """The report of an image's dominant colours (:func:`kmeanskit.image.dominant_colors`).

    Parameters
    ----------
    palette : Palette
    image : path or PIL.Image.Image, optional
        The photo the palette is of, shown.
    quantized : PIL.Image.Image, optional
        The photo repainted with the palette (``kmeanskit.quantize(image,
        palette)``), shown beside it. The report does not compute it: this
        module sits beside the image package, not above it (docs/engine.md,
        "Layers").
    name : str, optional
        The photo's name (default: the file name of ``image``).
    title : str, optional
        The page title.

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> from kmeanskit.image import Palette
    >>> from kmeanskit.report import palette_html
    >>> page = palette_html(Palette.from_colors(["#ff0000", "#0000ff"]), name="flag")
    >>> "#ff0000" in page and "rgb(0, 0, 255)" in page
    True
    """
    if name is None:
        name = Path(image).name if isinstance(image, (str, Path)) else "image"
    facts = [("image", name), ("colours", f"{palette.k}"
                                + (f" (chosen at the elbow of k = 1..{int(palette.sweep.ks[-1])})"
                                   if palette.sweep is not None else "")),
             ("colour space", palette.color_space.upper()
              + (", colours matched by CIEDE2000" if palette.metric == "ciede2000" else ""))]
    photo = quant = None
    if image is not None:
        img = _open_image(image)
        facts.insert(1, ("size", f"{img.width} x {img.height} pixels"))
        photo = _image_figure("fig-photo", img, f"the photo {name}", "The photo.", fmt="JPEG")
    if quantized is not None:
        quant = _image_figure("fig-quantized", quantized, f"{name} repainted with the palette",
                              f"Repainted with the {palette.k} colours.")
    colors = [{"hex": h, "rgb": ", ".join(str(int(v)) for v in c), "share": f"{p:.1%}"}
              for h, c, p in zip(palette.hex, palette.colors, palette.proportions)]
    swatch = _figure("fig-swatch", lambda fig: palette.plot(ax=fig.add_subplot()), (8, 1.4),
                     "swatch of the palette", "Each colour's width is its share of the pixels.")
    elbow = None
    if palette.sweep is not None:
        elbow = _figure("fig-elbow", lambda fig: palette.sweep.plot(ax=fig.add_subplot()), (5.2, 3.4),
                        "inertia per number of colours with the knee",
                        f"k = {palette.k} at the knee of the inertia curve.")
    img_ctx = {"name": name, "facts": facts, "colors": colors, "swatch": swatch, "photo": photo,
               "quantized": quant, "elbow": elbow}
    title = title or f"Colours of {name}"
    subtitle = f"{palette.k} dominant colours: {' '.join(palette.hex)}"
    return _render("palette.html.j2", title=title, subtitle=subtitle, images=[img_ctx])


# --- outliers ---------------------------------------------------------------------------------------

def outliers_html(found, *, frame=None, labels=None, top: int = 20, source=None, model=None,
                  unit: str = "distance to the nearest centre", title=None) -> str:
    """The report of an outlier search (:func:`kmeanskit.anomaly.detect_outliers`).

    Parameters
    ----------
    found : Outliers
    frame : DataFrame, optional
        The rows scored (their values are listed beside the top scores).
    labels : array-like of int, optional
        Each row's nearest cluster.
    top : int
        Rows listed, highest scores first.
    source, model : str, optional
        Names of the data and of the model, shown in the summary.
    unit : str
        What a score measures.
    title : str, optional
        The page title.

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> from kmeanskit.anomaly import detect_outliers
    >>> from kmeanskit.report import outliers_html
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0], [30.0]])
    >>> km = kmeanskit.KMeans(2, init=[[1.0], [11.0]]).fit(X[:6])
    >>> page = outliers_html(detect_outliers(km, X, threshold=5.0))
    >>> "1 of 7" in page and ">19<" in page
    True
    """
    scores = np.asarray(found.scores, dtype=np.float64)
    n = scores.size
    order = np.lexsort((np.arange(n), -scores))[:max(0, int(top))]
    summary = [("rows scored", f"{n:,}" + (f" from {source}" if source else ""))]
    if model:
        summary.append(("model", str(model)))
    summary += [("score", unit), ("threshold", f"{fmt_num(found.threshold)} (flagged at or above)"),
                ("flagged", f"{found.n_outliers:,} of {n:,} rows ({found.n_outliers / max(n, 1):.1%})")]

    def draw(fig):
        ax = fig.add_subplot()
        finite = scores[np.isfinite(scores)]
        ax.hist(finite, bins=min(50, max(10, int(np.sqrt(finite.size)))), color="#3b6ea8")
        ax.axvline(found.threshold, color="#c0392b", ls="--", lw=1.5)
        ax.annotate(f"threshold {fmt_num(found.threshold)}", (found.threshold, 0.95),
                    xycoords=("data", "axes fraction"), xytext=(4, 0), textcoords="offset points",
                    color="#c0392b", va="top")
        ax.set_xlabel(f"score ({unit})")
        ax.set_ylabel("rows")

    histogram = _figure("fig-scores", draw, (6.4, 3.4), "histogram of the outlier scores with the threshold",
                        f"Scores of all {n:,} rows; the dashed line is the threshold.")
    cols = [Column("row", True), Column("score", True), Column("flagged")]
    if labels is not None:
        cols.append(Column("cluster", True))
        labels = np.asarray(labels)
    extra = []
    if frame is not None:
        extra = [c for c in frame.columns]
        cols += [Column(str(c), frame[c].dtype.kind in "iufb") for c in extra]
    table = Table("top-table", cols)
    for i in order:
        cells = [Cell(str(int(i)), str(int(i))), _num_cell(scores[i]), Cell("yes" if found.mask[i] else "")]
        if labels is not None:  # no cluster (-1) for a row that could not be scored
            cells.append(Cell(str(int(labels[i])), str(int(labels[i]))) if not np.isnan(scores[i])
                         else Cell("-"))
        for c in extra:
            v = frame[c].iloc[int(i)]
            missing = v is None or (isinstance(v, float) and math.isnan(v))  # an empty text cell
            cells.append(_num_cell(v) if frame[c].dtype.kind in "iufb" else Cell("-" if missing else str(v)))
        table.rows.append(Row(cells, picked=bool(found.mask[i])))
    title = title or "Outliers" + (f" in {source}" if source else "")
    subtitle = f"{found.n_outliers:,} of {n:,} rows flagged at score >= {fmt_num(found.threshold)}"
    return _render("outliers.html.j2", title=title, subtitle=subtitle, summary=summary, histogram=histogram,
                   top=table)


# --- writing ----------------------------------------------------------------------------------------

def write_html(html: str, path, *, overwrite: bool = False) -> Path:
    """Write the page ``html`` to ``path`` atomically (a temporary file,
    then a rename). Refuses an existing file unless ``overwrite``.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.html"
    >>> write_html("<!DOCTYPE html><title>x</title>", p).read_text()[:15]
    '<!DOCTYPE html>'
    """
    from .._fileutil import atomic_write_bytes

    return atomic_write_bytes(Path(path), html.encode("utf-8"), overwrite=overwrite)
