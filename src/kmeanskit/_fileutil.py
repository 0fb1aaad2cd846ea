"""Safe file output: every file the library or the CLI writes goes through
:func:`atomic_write_bytes`, so a reader never sees half a file and a failure
leaves the old file intact.

Temporary files are named ``.<name>.<pid>.<random>.kmk-tmp[<suffix>]`` in the
target's folder (the same file system, so the final rename is atomic). A
process killed between writing and renaming (SIGKILL, power loss) leaves one
behind; :func:`remove_stale_temporaries` removes those of processes that no
longer run (or older than a day, in case the process id was reused), and runs
on the first write of a process into each folder.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

#: Marks our temporary files (see the module docstring).
TMP_TAG = ".kmk-tmp"
#: ``.<name>.<pid>.<random>.kmk-tmp`` and an optional suffix kept for writers
#: that choose the format from it.
_TMP_RE = re.compile(r"^\..+\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.kmk-tmp(\.[A-Za-z0-9]+)?$")
#: A temporary older than this is stale even if its process id is in use.
STALE_AGE_S = 24 * 3600
#: Folders already swept by this process.
_swept: set[str] = set()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # another user's process: alive
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove our temporary files (and folders) in ``folder`` left by
    processes that no longer run, or older than :data:`STALE_AGE_S`.

    Parameters
    ----------
    folder : str or path
        The folder to sweep (not its sub-folders).

    Returns
    -------
    list of Path
        What was removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / ".out.csv.999999999.abc.kmk-tmp").write_bytes(b"half")
    >>> [p.name for p in remove_stale_temporaries(d)]
    ['.out.csv.999999999.abc.kmk-tmp']
    """
    import shutil

    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for e in entries:
        m = _TMP_RE.match(e.name)
        if m is None:
            continue
        try:
            old = now - e.stat(follow_symlinks=False).st_mtime > STALE_AGE_S
            if _pid_alive(int(m.group("pid"))) and not old:
                continue
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path)
            else:
                os.unlink(e.path)
            removed.append(Path(e.path))
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    return removed


def _sweep_once(folder: Path) -> None:
    key = os.path.realpath(folder)
    if key not in _swept:
        _swept.add(key)
        remove_stale_temporaries(folder)


def temporary_path(path: str | os.PathLike, *, directory: bool = False) -> Path:
    """Create and return a new empty temporary file (or folder) next to
    ``path``, named so that :func:`remove_stale_temporaries` recognises it
    and ending in ``path``'s suffix (for writers that pick the format from
    it). The caller renames it over ``path`` or removes it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(path.parent)
    prefix = f".{path.name}.{os.getpid()}."
    suffix = TMP_TAG + (path.suffix if re.fullmatch(r"\.[A-Za-z0-9]+", path.suffix) else "")
    if directory:
        return Path(tempfile.mkdtemp(dir=path.parent, prefix=prefix, suffix=suffix))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    os.close(fd)
    return Path(tmp)


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Give the temporary file ``tmp`` the usual permissions (0666 less the
    umask, not ``mkstemp``'s private 0600) and rename it atomically to
    ``path``."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder
    and an atomic rename.

    Parameters
    ----------
    path : str or path
        The file to write; its folder is created if needed.
    data : bytes
        The whole content.
    overwrite : bool, default=True
        If False, refuse (``FileExistsError``) when ``path`` exists.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write_bytes(p, b"hi").read_bytes()
    b'hi'
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    tmp = temporary_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        publish(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
