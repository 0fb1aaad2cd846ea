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

from ..image.decode import IMAGE_SUFFIXES, image_files  # one list for the API and the CLI
from ._common import (
    Outputs,
    announce,
    force_option,
    friendly_errors,
    json_option,
    k_option,
    k_or_auto,
    quiet_option,
    recursive_option,
    seed_option,
)

parse_k = k_or_auto("colours", "-k")


def max_pixels_value(value):
    """--max-pixels: None -> Pillow's limit, 0 -> no limit."""
    if value is None:
        return "pillow"
    return None if value == 0 else value


def expand_images(paths, recursive: bool = True) -> list[Path]:
    """Files as given; folders replaced by their image files (and those of
    their sub-folders with ``recursive``), sorted, as
    :func:`kmeanskit.search.image_features` reads them."""
    out = []
    for p in paths:
        found = image_files([Path(p)], recursive=recursive)
        if not found:
            raise click.ClickException(f"{p} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})"
                                       + ("" if recursive else "; --recursive reads its sub-folders") + ".")
        out.extend(found)
    return out


@contextlib.contextmanager
def notes_on_stderr(name):
    """Library warnings (e.g. fewer distinct colours than k) as one-line notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        click.echo(f"Note: {name}: {w.message}", err=True)


def swatch_path(template: Path, image: Path, many: bool, root: Path | None = None) -> Path:
    """The swatch file of ``image``: ``template`` itself for one image, else
    the template's name with the image's stem added (with its sub-folders
    under ``root``, joined by "-", for images found in a folder)."""
    if not many:
        return template
    suffix = template.suffix or ".png"
    rel = image.with_suffix("")
    tag = "-".join(rel.relative_to(root).parts) if root is not None else image.stem
    return template.with_name(f"{template.stem}-{tag}{suffix}")


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
@k_option("5", "Number of colours, or 'auto' to pick k at the elbow of k = 1..10.", callback=parse_k)
@click.option("--space", type=click.Choice(["lab", "rgb", "din99o"]), default="lab", show_default=True,
              help="lab: palette minimising CIEDE2000 (perceptual); rgb: k-means on sRGB values; "
                   "din99o: k-means in DIN99o.")
@json_option
@click.option("--swatch", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a swatch image (several images: SWATCH-<image name>.png each).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a single-file HTML report: the photo, the palette (hex, RGB, share) and the "
                   "quantized photo (several images: HTML-<image name>.html each).")
@force_option
@recursive_option
@click.option("--all-frames", is_flag=True, help="Animated images: pool all frames (default: first).")
@click.option("--keep-transparent", is_flag=True, help="Count transparent pixels too.")
@seed_option()
@click.option("--max-pixels", type=click.IntRange(min=0), default=None,
              help="Refuse larger images (default: Pillow's decompression-bomb limit; 0: no limit).")
@quiet_option
@friendly_errors
def colors(images, k, space, as_json, swatch, html_path, force, recursive, all_frames, keep_transparent,
           seed, max_pixels, quiet):
    """Print the dominant colours of IMAGE(s): hex, RGB and share of pixels.

    IMAGE may be a file or a folder (its image files, and with --recursive,
    the default, those of its sub-folders). With several images, one that
    cannot be read is reported and the others done; the command then exits
    with status 1 and writes no swatch.

    \b
    Examples:
        kmeanskit colors photo.jpg
        kmeanskit colors photo.jpg -k auto --swatch palette.png
        kmeanskit colors photos/ -k 8 --space rgb --json > palettes.json
        kmeanskit colors photo.jpg -k auto --html colours.html
    """
    from rich.console import Console
    from rich.progress import Progress

    from ..image import dominant_colors, quantize

    files, roots = [], []
    for p in images:
        found = expand_images([p], recursive)
        files.extend(found)
        roots.extend([Path(p) if Path(p).is_dir() else None] * len(found))
    many = len(files) > 1 or any(Path(p).is_dir() for p in images)
    outputs = Outputs(inputs=files, force=force)
    targets = {}
    if swatch is not None:
        for f, root in zip(files, roots):
            targets[f] = outputs.add(swatch_path(swatch, f, many, root), "--swatch")
    pages = {}
    if html_path is not None:
        for f, root in zip(files, roots):
            pages[f] = outputs.add(swatch_path(html_path, f, many, root), "--html")
    console = Console(highlight=False, soft_wrap=True)
    err_console = Console(stderr=True)
    results, failed = [], 0
    with outputs, Progress(console=err_console, transient=True,
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
                pal.save_swatch(outputs.stage(targets[f]), overwrite=True)
            if html_path is not None:
                outputs.write(pages[f], pal.to_html(image=f, quantized=quantize(f, pal))
                              .encode("utf-8"))
            if as_json:
                results.append({"image": str(f), **pal.to_dict()})
            else:
                print_palette(console, str(f), pal)
            progress.advance(task)
        if failed:
            if as_json:
                click.echo(json.dumps(results, indent=2))
            raise click.ClickException(f"{failed} of {len(files)} images could not be read"
                                       + ("; nothing written." if swatch or html_path else "."))
    if as_json:
        click.echo(json.dumps(results if many else results[0], indent=2))
    for f in targets.values():
        announce(f, "swatch", quiet)
    for f in pages.values():
        announce(f, "HTML report", quiet)


@click.command("quantize")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@k_option("8", "Number of colours, or 'auto'.", callback=parse_k)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the quantized image (format from the suffix).")
@click.option("--space", type=click.Choice(["lab", "rgb", "din99o"]), default="lab", show_default=True,
              help="lab: palette and matching by CIEDE2000; rgb / din99o: k-means and nearest colour in that space.")
@click.option("--dither", is_flag=True, help="Floyd-Steinberg dithering.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a single-file HTML report: the palette and the quantized image beside the "
                   "original.")
@force_option
@seed_option()
@click.option("--max-pixels", type=click.IntRange(min=0), default=None,
              help="Refuse larger images (default: Pillow's decompression-bomb limit; 0: no limit).")
@json_option
@quiet_option
@friendly_errors
def quantize_cmd(image, k, output, space, dither, html_path, force, seed, max_pixels, as_json, quiet):
    """Repaint IMAGE with its k dominant colours and write it to OUTPUT.

    Never overwrites IMAGE; an existing OUTPUT only with --force. The file
    is written atomically (a temporary file, then a rename).

    \b
    Examples:
        kmeanskit quantize photo.jpg -k 8 -o poster.png
        kmeanskit quantize photo.jpg -k 4 --dither -o dithered.png --force
        kmeanskit quantize photo.jpg -k 8 -o poster.png --html poster.html
    """
    from PIL import Image

    from ..image import dominant_colors, quantize

    outputs = Outputs(inputs=[image], force=force)
    outputs.add(output, "-o")
    outputs.add(html_path, "--html")
    fmt = Image.registered_extensions().get(output.suffix.lower())
    if fmt is None:
        raise click.UsageError(f"cannot tell the image format from {output.name!r}; "
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
    with outputs:
        outputs.write(output, buf.getvalue())
        if html_path is not None:
            outputs.write(html_path, pal.to_html(image=image, quantized=out).encode("utf-8"))
    if as_json:
        click.echo(json.dumps({"command": "quantize", "image": str(image), "output": str(output),
                               "width": out.width, "height": out.height, "dither": bool(dither),
                               **pal.to_dict(),
                               "written": [str(p) for p in (output, html_path) if p is not None]}, indent=2))
    else:
        click.echo(f"{output}: {out.width} x {out.height}, {pal.k} colours"
                   f"{', dithered' if dither else ''}: {' '.join(pal.hex)}")
    announce(output, "quantized image", quiet)
    if html_path is not None:
        announce(html_path, "HTML report", quiet)


def register(group: click.Group) -> None:
    """Add this module's commands to the ``kmeanskit`` command group."""
    group.add_command(colors)
    group.add_command(quantize_cmd)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(colors())
