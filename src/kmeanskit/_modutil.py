"""Modules that are also callable.

``kmeanskit.vq`` and ``kmeanskit.choose_k`` are modules whose main function
has the same name and is exported at top level. Making the module callable
lets both ``from kmeanskit import vq; vq(obs, book)`` and
``import kmeanskit.vq as m; m.kmeans(...)`` work, with no shadowing.
"""

from __future__ import annotations

import functools
import sys
import types


def make_callable(module_name: str, func) -> None:
    """Make ``sys.modules[module_name]`` call ``func`` when called."""

    class CallableModule(types.ModuleType):
        @functools.wraps(func)
        def __call__(self, *args, **kwargs):
            return func(*args, **kwargs)

    sys.modules[module_name].__class__ = CallableModule
