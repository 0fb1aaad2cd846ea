"""Helpers shared by the CLI commands: one-line errors, atomic writes."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import click

from .._fileutil import atomic_write_bytes as _atomic_write


def friendly_errors(func):
    """Turn library errors (ValueError, OSError, ...) into a one-line
    ``Error: ...`` message and exit status 1, with no traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except (ValueError, TypeError, OSError, ImportError) as exc:
            raise click.ClickException(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    return wrapper


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see ``kmeanskit._fileutil``).
    Refuses to replace an existing file unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; pass --force to overwrite it.")
    return _atomic_write(path, data)


def k_or_auto(noun: str, flag: str):
    """A click callback for ``-k``/``--k``: a whole number >= 1 or "auto"; the
    messages name the ``noun`` counted ("colours", "clusters") and the flag."""

    def parse(ctx, param, value):
        if value is None:
            return None
        if str(value).lower() == "auto":
            return "auto"
        try:
            k = int(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a number of {noun}; "
                                     f"pass e.g. {flag} 5 or {flag} auto.") from None
        if k < 1:
            raise click.BadParameter(f"{k} {noun} asked; pass at least 1 (or auto).")
        return k

    return parse
