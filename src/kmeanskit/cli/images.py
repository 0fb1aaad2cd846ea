"""``kmeanskit colors`` and ``kmeanskit quantize``: dominant colours and
colour quantization of images."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import warnings
from pathlib import Path

import click

from ._common import friendly_errors, k_or_auto

#: File suffixes picked up when a folder is given.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm", ".pbm", ".tga", ".ico", ".jfif"}


parse_k = k_or_auto("colours", "-k")


def max_pixels_value(value):
    """--max-pixels: None -> Pillow's limit, 0 -> no limit."""
    if value is None:
        return "pillow"
    return None if value == 0 else value


def expand_images(paths) -> list[Path]:
    """Files as given; folders replaced by their image files (sorted)."""
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise click.ClickException(f"{p} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))}).")
            out.extend(found)
        else:
            out.append(p)
    return out


@contextlib.contextmanager
def notes_on_stderr(name):
    """Library warnings (e.g. fewer distinct colours than k) as one-line notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        click.echo(f"Note: {name}: {w.message}", err=True)


def swatch_path(template: Path, image: Path, many: bool) -> Path:
    """The swatch file of ``image``: ``template`` itself for one image, else
    the template's name with the image's stem added."""
    if not many:
        return template
    suffix = template.suffix or ".png"
    return template.with_name(f"{template.stem}-{image.stem}{suffix}")


def print_palette(console, name: str, pal) -> None:
    """Print a palette as a table of colour swatches, hex codes and shares."""
    from rich.text import Text

    auto = f" (auto; elbow of k = 1..{int(pal.sweep.ks[-1])})" if pal.sweep is not None else ""
    console.print(Text(f"{name}: {pal.k} colours{auto}, {pal.color_space.upper()} space"))
    for h, c, p in zip(pal.hex, pal.colors, pal.proportions):
        line = Text("  ")
        line.append("      ", style=f"on {h}")
        line.append(f"  {h}  rgb({int(c[0]):>3}, {int(c[1]):>3}, {int(c[2]):>3})  {p * 100:6.2f}%")
        console.print(line)


@click.command("colors")
@click.argument("images", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("-k", "k", default="5", show_default=True, callback=parse_k,
              help="Number of colours, or 'auto' to pick k at the elbow of k = 1..10.")
@click.option("--space", type=click.Choice(["lab", "rgb", "din99o"]), default="lab", show_default=True,
              help="lab: palette minimising CIEDE2000 (perceptual); rgb: k-means on sRGB values; "
                   "din99o: k-means in DIN99o.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--swatch", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a swatch image (several images: SWATCH-<image name>.png each).")
@click.option("--force", is_flag=True, help="Overwrite existing swatch files.")
@click.option("--all-frames", is_flag=True, help="Animated images: pool all frames (default: first).")
@click.option("--keep-transparent", is_flag=True, help="Count transparent pixels too.")
@click.option("--seed", default=0, show_default=True, help="Random seed (same seed, same palette).")
@click.option("--max-pixels", type=click.IntRange(min=0), default=None,
              help="Refuse larger images (default: Pillow's decompression-bomb limit; 0: no limit).")
@friendly_errors
def colors(images, k, space, as_json, swatch, force, all_frames, keep_transparent, seed, max_pixels):
    """Print the dominant colours of IMAGE(s): hex, RGB and share of pixels.

    IMAGE may be a file or a folder (its image files are used).

    \b
    Examples:
        kmeanskit colors photo.jpg
        kmeanskit colors photo.jpg -k auto --swatch palette.png
        kmeanskit colors photos/ -k 8 --space rgb --json > palettes.json
    """
    from rich.console import Console
    from rich.progress import Progress

    from ..image import dominant_colors

    files = expand_images(images)
    many = len(files) > 1 or any(Path(p).is_dir() for p in images)
    if swatch is not None:
        for f in files:
            target = swatch_path(swatch, f, many)
            if target.exists() and not force:
                raise click.ClickException(f"{target} exists; pass --force to overwrite it.")
    console = Console(highlight=False, soft_wrap=True)
    err_console = Console(stderr=True)
    results, failed = [], 0
    with Progress(console=err_console, transient=True,
                  disable=not (many and err_console.is_terminal)) as progress:
        task = progress.add_task("colours", total=len(files))
        for f in files:
            try:
                with notes_on_stderr(f):
                    pal = dominant_colors(f, k, color_space=space, random_state=seed,
                                          ignore_transparent=not keep_transparent,
                                          frames="all" if all_frames else "first",
                                          max_pixels=max_pixels_value(max_pixels))
            except (ValueError, OSError) as exc:
                if not many:
                    raise
                failed += 1
                click.echo(f"Error: {f}: {str(exc).splitlines()[0]}", err=True)
                progress.advance(task)
                continue
            if swatch is not None:
                pal.save_swatch(swatch_path(swatch, f, many))
            if as_json:
                results.append({"image": str(f), **pal.to_dict()})
            else:
                print_palette(console, str(f), pal)
            progress.advance(task)
    if as_json:
        click.echo(json.dumps(results if many else results[0], indent=2))
    if failed:
        raise click.ClickException(f"{failed} of {len(files)} images could not be read.")


@click.command("quantize")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-k", "k", default="8", show_default=True, callback=parse_k,
              help="Number of colours, or 'auto'.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the quantized image (format from the suffix).")
@click.option("--space", type=click.Choice(["lab", "rgb", "din99o"]), default="lab", show_default=True,
              help="lab: palette and matching by CIEDE2000; rgb / din99o: k-means and nearest colour in that space.")
@click.option("--dither", is_flag=True, help="Floyd-Steinberg dithering.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@click.option("--max-pixels", type=click.IntRange(min=0), default=None,
              help="Refuse larger images (default: Pillow's decompression-bomb limit; 0: no limit).")
@friendly_errors
def quantize_cmd(image, k, output, space, dither, force, seed, max_pixels):
    """Repaint IMAGE with its k dominant colours and write it to OUTPUT.

    Never overwrites IMAGE; an existing OUTPUT only with --force. The file
    is written atomically (a temporary file, then a rename).

    \b
    Examples:
        kmeanskit quantize photo.jpg -k 8 -o poster.png
        kmeanskit quantize photo.jpg -k 4 --dither -o dithered.png --force
    """
    from PIL import Image

    from .._fileutil import atomic_write_bytes as _atomic_write
    from ..image import dominant_colors, quantize

    if output.resolve() == image.resolve():
        raise click.ClickException(f"refusing to overwrite the input image {image}; "
                                   "pass a different -o path.")
    if output.exists() and not force:
        raise click.ClickException(f"{output} exists; pass --force to overwrite it.")
    fmt = Image.registered_extensions().get(output.suffix.lower())
    if fmt is None:
        raise click.ClickException(f"cannot tell the image format from {output.name!r}; "
                                   "use a suffix such as .png, .jpg or .webp.")
    mp = max_pixels_value(max_pixels)
    with notes_on_stderr(image):
        pal = dominant_colors(image, k, color_space=space, random_state=seed, max_pixels=mp)
    out = quantize(image, pal, dither=dither, max_pixels=mp)
    if out.mode == "RGBA" and fmt in ("JPEG", "BMP", "PPM"):
        out = out.convert("RGB")
    buf = io.BytesIO()
    try:
        out.save(buf, format=fmt)
    except (OSError, KeyError, ValueError) as exc:
        raise click.ClickException(f"cannot write {fmt} for {output.name} ({exc}); try .png.")
    if output.exists() and not force:  # appeared while we worked
        raise click.ClickException(f"{output} exists; pass --force to overwrite it.")
    _atomic_write(output, buf.getvalue())  # temporary file + rename; usual permissions
    click.echo(f"wrote {output} ({out.width} x {out.height}, {pal.k} colours"
               f"{', dithered' if dither else ''}): {' '.join(pal.hex)}")


def register(group: click.Group) -> None:
    """Add this module's commands to the ``kmeanskit`` command group."""
    group.add_command(colors)
    group.add_command(quantize_cmd)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(colors())
