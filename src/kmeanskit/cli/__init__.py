"""The ``kmeanskit`` command: a click group with one module per command family.

Each module in ``COMMAND_MODULES`` defines click commands and a
``register(group)`` function. Commands only parse, call the library and
print or write; errors reach the user as one line and a non-zero exit.
"""

from __future__ import annotations

import importlib

import click

from .._version import __version__

#: Command families, one module each (kmeanskit.cli.<name>).
COMMAND_MODULES = ["demo", "images", "elbow", "tables", "search"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kmeanskit")
def main() -> None:
    """kmeanskit: fast, exact, reproducible k-means from the command line."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(main)
