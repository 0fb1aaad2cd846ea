"""``kmeanskit search-images``: images with colours like a query image's."""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from pathlib import Path

import click

from ..image.decode import IMAGE_SUFFIXES, image_files
from ._common import friendly_errors, json_option, k_option, k_or_auto, recursive_option, seed_option
from .images import max_pixels_value

parse_k_clusters = k_or_auto("clusters", "-k")


def auto_k(n: int) -> int:
    """``--k auto``: round(sqrt(n / 2)), at least 1 (a rule of thumb that
    keeps clusters at about sqrt(2 n) images each)."""
    return max(1, int(round(math.sqrt(n / 2))))


def find_images(folder: Path, recursive: bool) -> list[Path]:
    """The image files in ``folder`` (and its subfolders with ``recursive``), sorted."""
    return image_files([folder], recursive=recursive)


def _reason_summary(skipped) -> str:
    kinds = Counter()
    for _, reason in skipped:
        if "is not an image file" in reason:
            kinds["not an image Pillow can read"] += 1
        elif "damaged" in reason or "truncated" in reason:
            kinds["damaged or truncated"] += 1
        elif "decompression-bomb" in reason:
            kinds["too large (--max-pixels)"] += 1
        else:
            kinds["other errors"] += 1
    return ", ".join(f"{n} {what}" for what, n in kinds.most_common())


@click.command("search-images")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("query", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-n", "n", type=click.IntRange(min=1), default=5, show_default=True,
              help="How many similar images to print.")
@k_option("auto", "Clusters of the index, or 'auto' = round(sqrt(images / 2)).", callback=parse_k_clusters)
@click.option("--probe", type=click.IntRange(min=1), default=2, show_default=True,
              help="Nearest clusters searched (capped at k); higher is slower and more exact.")
@recursive_option
@json_option
@seed_option("Random seed of the clustering.")
@click.option("--max-pixels", type=click.IntRange(min=0), default=None,
              help="Skip larger images (default: Pillow's decompression-bomb limit; 0: no limit).")
@friendly_errors
def search_images(folder, query, n, k, probe, recursive, as_json, seed, max_pixels):
    """Print the images in FOLDER whose colours look most like QUERY's.

    Each image becomes a colour histogram (joint CIELAB bins, square-rooted
    so that distances are Hellinger distances, 0 = same colours, 1.41 = no
    colour in common); the histograms are clustered with k-means and
    searched with a ClusterIndex. The query file itself is left out of the
    results when it lies in FOLDER. Unreadable files are skipped with a note.

    \b
    Examples:
        kmeanskit search-images photos/ holiday.jpg
        kmeanskit search-images photos/ holiday.jpg -n 10 --probe 4
        kmeanskit search-images photos/ holiday.jpg --k 20 --json > similar.json
    """
    import numpy as np
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    import kmeanskit

    from ..search import ClusterIndex, image_features

    mp = max_pixels_value(max_pixels)
    files = find_images(folder, recursive)
    qres = query.resolve()
    files = [f for f in files if f.resolve() != qres]
    if not files:
        where = "or its sub-folders " if recursive else ""
        raise click.ClickException(f"{folder} {where}holds no image files besides the query "
                                   f"({', '.join(sorted(IMAGE_SUFFIXES))}).")
    try:
        qf = image_features([query], max_pixels=mp)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"cannot read the query image {query}: "
                                   f"{str(exc).splitlines()[0]}")
    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("reading images", total=len(files))
        feats = image_features(files, errors="skip", max_pixels=mp,
                               on_image=lambda _: progress.advance(task))
    if not feats.items:
        raise click.ClickException(f"none of the {len(files)} image files in {folder} could be "
                                   f"read ({_reason_summary(feats.skipped)}); first: "
                                   f"{feats.skipped[0][0]}: {feats.skipped[0][1]}")
    if feats.skipped:
        click.echo(f"Note: skipped {len(feats.skipped)} of {len(files)} files that could not be "
                   f"read ({_reason_summary(feats.skipped)}); first: {feats.skipped[0][0]}: "
                   f"{feats.skipped[0][1]}", err=True)
    X = feats.X
    n_img = X.shape[0]
    distinct = np.unique(X, axis=0).shape[0]
    k_used = min(auto_k(n_img) if k == "auto" else k, distinct)
    probe_used = min(probe, k_used)
    model = kmeanskit.fit(X, k_used, random_state=seed)
    index = ClusterIndex(model)
    index.add(X, ids=np.array([str(p) for p in feats.items]))
    ids, dist = index.search(qf.X[0], n=n, probe=probe_used)
    if as_json:
        out = {"command": "search-images", "query": str(query), "folder": str(folder), "images": n_img,
               "skipped": len(feats.skipped), "k": k_used, "probe": probe_used,
               "results": [{"rank": r + 1, "path": str(i), "distance": float(d)}
                           for r, (i, d) in enumerate(zip(ids.tolist(), dist.tolist()))]}
        click.echo(json.dumps(out, indent=2))
        return
    console = Console(highlight=False, soft_wrap=True)
    table = Table(title=f"Images like {query.name} ({n_img} images, k={k_used}, probe={probe_used})")
    table.add_column("#", justify="right")
    table.add_column(f"image (in {folder})", overflow="fold")
    table.add_column("distance", justify="right")
    for r, (i, d) in enumerate(zip(ids.tolist(), dist.tolist())):
        table.add_row(str(r + 1), str(Path(i).relative_to(folder)), f"{d:.4f}")
    console.print(table)
    if ids.size < n:
        click.echo(f"Note: the {probe_used} cluster(s) searched hold only {ids.size} images; "
                   "pass a larger --probe for more.", err=True)


def register(group: click.Group) -> None:
    """Add this module's commands to the ``kmeanskit`` command group."""
    group.add_command(search_images)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(search_images())
