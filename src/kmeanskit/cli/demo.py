"""``kmeanskit demo``: the image job on a bundled photograph.

Finds the dominant colours of the bundled ``coffee.jpg`` (CC0, see
``kmeanskit/data/README.md``) with k chosen automatically at the elbow, prints
them, and writes the swatch, the elbow plot, the quantized image and the
single-file HTML report (report.html) to
``out/``.
"""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import click
import numpy as np

from ._common import Outputs, announce, friendly_errors, json_option, quiet_option, seed_option

#: Files the demo writes (and may overwrite) in its output folder.
DEMO_OUTPUTS = ("demo_swatch.png", "demo_elbow.png", "demo_quantized.png")
#: The demo's single-file HTML report (kmeanskit.report), also in its output folder.
DEMO_REPORT = "report.html"


def load_iris():
    """The bundled iris measurements: (X float64 (150, 4), column names, species)."""
    path = resources.files("kmeanskit") / "data" / "iris.csv"
    with path.open() as fh:
        header = fh.readline().strip().split(",")
        rows = [line.strip().split(",") for line in fh if line.strip()]
    X = np.array([[float(v) for v in r[:4]] for r in rows])
    return X, header[:4], [r[4] for r in rows]


def demo_photo_path():
    """Traversable of the bundled demo photograph (coffee.jpg, CC0)."""
    return resources.files("kmeanskit") / "data" / "coffee.jpg"


def _figure_png(draw, size) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    ax = fig.add_subplot()
    draw(ax)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


@click.command("demo")
@click.option("--out", "out_dir", default="out", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the swatch, elbow plot and quantized image.")
@seed_option()
@json_option
@quiet_option
@friendly_errors
def demo(out_dir: Path, seed: int, as_json: bool, quiet: bool) -> None:
    """Dominant colours of a bundled photo, k chosen at the elbow.

    Writes demo_swatch.png, demo_elbow.png, demo_quantized.png and
    report.html (the single-file HTML report) to the output folder
    (replacing only those files: they are the demo's own).

    \b
    Example:
        kmeanskit demo --out out
    """
    from rich.console import Console

    from ..image import dominant_colors, quantize
    from .images import print_palette

    with resources.as_file(demo_photo_path()) as photo:
        pal = dominant_colors(photo, k="auto", random_state=seed)
        quantized = quantize(photo, pal)
    out_dir.mkdir(parents=True, exist_ok=True)
    swatch, elbow, quant = (out_dir / name for name in DEMO_OUTPUTS)
    page = out_dir / DEMO_REPORT
    outputs = Outputs(inputs=[], force=True)  # the demo's own files, replaced on every run
    for p in (swatch, elbow, quant, page):
        outputs.add(p, "--out")
    buf = io.BytesIO()
    quantized.save(buf, format="PNG", optimize=True)
    with outputs:
        outputs.write(swatch, _figure_png(pal.plot, (8, 1.6)))
        outputs.write(elbow, _figure_png(pal.sweep.plot, (5, 3.2)))
        outputs.write(quant, buf.getvalue())
        with resources.as_file(demo_photo_path()) as photo:
            outputs.write(page, pal.to_html(image=photo, quantized=quantized).encode("utf-8"))
    if as_json:
        click.echo(json.dumps({"command": "demo", "image": "coffee.jpg", "width": quantized.width,
                               "height": quantized.height, **pal.to_dict(),
                               "written": [str(p) for p in (swatch, elbow, quant, page)]}, indent=2))
        return
    console = Console(highlight=False, soft_wrap=True)
    click.echo(f"coffee.jpg ({quantized.width} x {quantized.height}, CC0 photo by Rachel Michetti): "
               f"k = {pal.k} chosen at the elbow of the inertia curve for k = 1..{int(pal.sweep.ks[-1])}")
    print_palette(console, "dominant colours", pal)
    for p in (swatch, elbow, quant, page):
        announce(p, "HTML report" if p == page else "", quiet=quiet)


def register(group: click.Group) -> None:
    """Add this module's commands to the ``kmeanskit`` command group."""
    group.add_command(demo)
