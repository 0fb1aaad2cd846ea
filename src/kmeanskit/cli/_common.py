"""Helpers shared by the CLI commands: one-line errors, the options every
command spells the same way, ``-`` for stdin/stdout, and :class:`Outputs`,
which checks every output path up front and writes them all or none."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path

import click

from .. import _fileutil

#: Exit status of a usage error (bad option, value or combination), as click's.
USAGE_EXIT = 2
#: Exit status of any other error (bad data, unreadable file, refused write).
ERROR_EXIT = 1


def one_line(text: str) -> str:
    """The first non-empty line of an error message."""
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()
    return ""


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
            raise click.ClickException(one_line(exc) or type(exc).__name__)
        except MemoryError:
            raise click.ClickException("not enough memory for this input; pass a smaller one.") from None

    return wrapper


class Group(click.Group):
    """The ``kmeanskit`` group: every error, click's own usage errors
    included, is one ``Error: ...`` line on stderr; usage errors exit with
    :data:`USAGE_EXIT`, the others with :data:`ERROR_EXIT`."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # plain `kmeanskit`: the help, not an error
            click.echo(exc.ctx.get_help())
            sys.exit(0)
        except click.UsageError as exc:
            msg = one_line(exc.format_message())
            if exc.ctx is not None:
                msg += f" (see `{exc.ctx.command_path} --help`)"
            click.echo(f"Error: {msg}", err=True)
            sys.exit(USAGE_EXIT)
        except click.ClickException as exc:
            click.echo(f"Error: {one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Error: aborted.", err=True)
            sys.exit(ERROR_EXIT)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except BrokenPipeError:  # `kmeanskit ... | head`: the reader left
            sys.exit(ERROR_EXIT)
        sys.exit(rv if isinstance(rv, int) else 0)


# --- the options every command spells the same way ------------------------------------------------

def k_or_auto(noun: str, flag: str = "-k"):
    """A click callback for ``-k``/``--k``: a whole number >= 1 or "auto"; the
    messages name the ``noun`` counted ("colours", "clusters") and the flag."""

    def parse(ctx, param, value):
        if value is None:
            return None
        if str(value).strip().lower() == "auto":
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


def k_option(default, help, callback=None):
    """``-k/--k``, the same spelling on every command."""
    return click.option("-k", "--k", "k", default=default, show_default=True, callback=callback, help=help)


def split_columns(columns) -> list[str] | None:
    """``--columns a,b --columns c`` -> ``["a", "b", "c"]`` (None if none)."""
    return [c.strip() for part in columns for c in part.split(",") if c.strip()] or None


columns_option = click.option(
    "--columns", "columns", multiple=True,
    help="Columns to use (repeat or comma-separate); default: every numeric column.")
json_option = click.option(
    "--json", "as_json", is_flag=True,
    help="Print one JSON document on stdout instead of tables (schema: docs/cli.md).")
force_option = click.option("--force", is_flag=True, help="Replace existing output files (never an input).")
quiet_option = click.option("-q", "--quiet", is_flag=True, help="Do not announce the files written.")
format_option = click.option(
    "--format", "fmt", type=click.Choice(["csv", "tsv", "parquet", "npy"]), default=None,
    help="Table format of INPUT (default: from the suffix; csv for - (stdin)).")
recursive_option = click.option(
    "--recursive/--no-recursive", default=True, show_default=True,
    help="Folders: also read images in their sub-folders.")


def seed_option(help="Random seed (same seed, same result)."):
    """``--seed``, default 0 on every command."""
    return click.option("--seed", default=0, show_default=True, type=int, help=help)


def announce(path, what: str = "", quiet: bool = False) -> None:
    """``wrote PATH (what)`` on stderr (stdout carries only results)."""
    if not quiet:
        click.echo(f"wrote {path}" + (f" ({what})" if what else ""), err=True)


# --- cold kernel cache -----------------------------------------------------------------------------

def compile_notice() -> None:
    """Say once on stderr that the kernels compile now, when numba's cache is
    cold (see :func:`kmeanskit.core.kernels_cold`)."""
    from ..core import compile_notice as notice

    notice()


# --- stdin ----------------------------------------------------------------------------------------

STDIN = "-"


@contextlib.contextmanager
def input_file(path, fmt: str | None):
    """A readable path for ``path``: itself, or for ``-`` the bytes of stdin
    spooled to a temporary ``stdin.<fmt>`` file (csv by default), removed
    afterwards. Yields ``(path, format)``."""
    if str(path) != STDIN:
        yield Path(path), fmt
        return
    import tempfile

    fmt = fmt or "csv"
    stdin = sys.stdin
    data = getattr(stdin, "buffer", stdin).read()
    data = data.encode() if isinstance(data, str) else data
    if not data:
        raise click.UsageError("INPUT is - but stdin is empty; pipe a table in, e.g. `cat t.csv | kmeanskit ...`.")
    with tempfile.TemporaryDirectory(prefix="kmeanskit-stdin-") as d:
        p = Path(d) / f"stdin.{fmt}"
        p.write_bytes(data)
        yield p, fmt


# --- outputs: checked up front, written all or none ---------------------------------------------

def _real(p) -> str:
    return os.path.realpath(os.fspath(p))


class Outputs:
    """Every file a command writes, checked before any work and written all
    or none.

    ``add`` (once per output, before the work) refuses an output that is one
    of the command's inputs (same real path, or the same file through a
    hard link), one given twice, and an existing file without ``force``.
    The work then writes each output to a temporary file next to it
    (``stage`` gives its path, ``write`` stages bytes); ``commit`` renames
    them all at the end, and if the command fails before, the temporaries
    are removed and no output is touched. ``-`` (stdout) is not a file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with Outputs(inputs=[], force=False) as out:
    ...     _ = out.add(d / "a.txt", "-o")
    ...     out.write(d / "a.txt", b"hello")
    >>> (d / "a.txt").read_bytes()
    b'hello'
    """

    def __init__(self, inputs=(), force: bool = False):
        self.force = force
        self.inputs = [Path(p) for p in inputs if p is not None and str(p) != STDIN]
        self._in_real = {_real(p): p for p in self.inputs}
        self._targets: dict[str, tuple[Path, str]] = {}
        self._staged: dict[str, Path] = {}
        self._folders: list[Path] = []

    def add(self, path, option: str) -> Path | None:
        """Register ``path`` (given with ``option``) as an output; refuses
        inputs, duplicates, and existing files without ``force``."""
        if path is None or str(path) == STDIN:
            return None
        path = Path(path)
        real = _real(path)
        if real in self._in_real or any(self._same_file(path, i) for i in self.inputs):
            raise click.ClickException(f"refusing to overwrite the input {path} ({option}), even with "
                                       "--force; pass a different path.")
        if real in self._targets:
            other = self._targets[real][1]
            raise click.ClickException(f"{path} is given twice as an output ({other} and {option}); "
                                       "pass different paths.")
        if path.is_dir():
            raise click.ClickException(f"{path} ({option}) is a folder; pass a file name.")
        if path.exists() and not self.force:
            raise click.ClickException(f"{path} exists; pass --force to overwrite it.")
        self._targets[real] = (path, option)
        return path

    @staticmethod
    def _same_file(a: Path, b: Path) -> bool:
        try:
            return os.path.samefile(a, b)
        except OSError:
            return False

    def stage(self, path) -> Path:
        """A fresh temporary path (same folder and suffix) to write the
        registered output ``path`` to; renamed over it by :meth:`commit`."""
        real = _real(path)
        if real not in self._targets:
            raise RuntimeError(f"{path} was not registered with Outputs.add")
        tmp = _fileutil.temporary_path(path)
        self._staged[real] = tmp
        return tmp

    def folder(self, near) -> Path:
        """A fresh temporary folder next to ``near`` for a writer that
        writes several files into a folder (they are then :meth:`adopt`-ed);
        removed at the end."""
        tmp = _fileutil.temporary_path(Path(near), directory=True)
        self._folders.append(tmp)
        return tmp

    def adopt(self, path, tmp) -> None:
        """Take the already written temporary file ``tmp`` as the content of
        the registered output ``path``."""
        real = _real(path)
        if real not in self._targets:
            raise RuntimeError(f"{path} was not registered with Outputs.add")
        self._staged[real] = Path(tmp)

    def write(self, path, data: bytes) -> None:
        """Stage ``data`` as the content of the registered output ``path``."""
        tmp = self.stage(path)
        with open(tmp, "wb") as fh:
            fh.write(data)

    def commit(self) -> list[Path]:
        """Rename every staged temporary over its output; returns the outputs."""
        for real, (path, option) in self._targets.items():  # a file that appeared meanwhile
            if real in self._staged and path.exists() and not self.force:
                raise click.ClickException(f"{path} appeared while the command ran; pass --force "
                                           "to overwrite it.")
        done = []
        for real, tmp in list(self._staged.items()):
            path = self._targets[real][0]
            path.parent.mkdir(parents=True, exist_ok=True)
            _fileutil.publish(tmp, path)
            del self._staged[real]
            done.append(path)
        return done

    def discard(self) -> None:
        """Remove every staged temporary (the outputs stay as they were)."""
        for tmp in self._staged.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self._staged.clear()
        import shutil

        for d in self._folders:
            shutil.rmtree(d, ignore_errors=True)
        self._folders.clear()

    def __enter__(self) -> "Outputs":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.commit()
            finally:
                self.discard()
        else:
            self.discard()
