"""The ``kmeanskit`` command: a click group with one module per command family.

Each module in ``COMMAND_MODULES`` defines click commands and a
``register(group)`` function. Commands only parse, call the library and
print or write. Conventions shared by every command (docs/cli.md):

* results go to stdout (a table, or one JSON document with ``--json``);
  notes and the ``wrote PATH`` lines go to stderr (``--quiet`` drops the
  latter);
* every error is one ``Error: ...`` line on stderr: exit status 2 for usage
  errors (unknown option, bad value), 1 for the others (bad data, unreadable
  or refused files); no traceback (``_common.Group``);
* outputs are checked before any work (never an input, never twice, an
  existing file only with ``--force``) and written all or none
  (``_common.Outputs``).
"""

from __future__ import annotations

import importlib

import click

from .._version import __version__
from ._common import Group, compile_notice

#: Command families, one module each (kmeanskit.cli.<name>).
COMMAND_MODULES = ["demo", "images", "elbow", "tables", "search"]


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kmeanskit")
def main() -> None:
    """kmeanskit: fast, exact, reproducible k-means from the command line.

    Results go to stdout, notes and "wrote PATH" lines to stderr; errors
    are one "Error: ..." line (exit 2 for usage errors, 1 otherwise).
    Shell completion: eval "$(_KMEANSKIT_COMPLETE=bash_source kmeanskit)"
    (zsh_source, fish_source for those shells).
    """
    compile_notice()  # a cold numba cache: say why the first run takes a while


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(main)
