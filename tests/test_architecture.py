"""The package's shape: no import cycles (imports inside functions included)."""

import grimp


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    g = grimp.build_graph("kmeanskit")
    # a package's __init__ re-exporting its modules is not a cycle of the code
    graph = {m: {i for i in g.find_modules_directly_imported_by(m)
                 if not m.startswith(i + ".")}
             for m in g.modules}
    assert _cycles(graph) == []


#: The public modules whose ``__all__`` names are the documented API.
PUBLIC_MODULES = ["kmeanskit", "kmeanskit.vq", "kmeanskit.core", "kmeanskit.estimator",
                  "kmeanskit.selection", "kmeanskit.image", "kmeanskit.tables", "kmeanskit.search",
                  "kmeanskit.anomaly", "kmeanskit.cluster_affinity", "kmeanskit.models",
                  "kmeanskit.io", "kmeanskit.metrics", "kmeanskit.plotting", "kmeanskit.datasets"]


def _public_objects():
    import importlib
    import inspect

    seen = {}
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        assert hasattr(module, "__all__"), f"{name} has no __all__"
        for attr in module.__all__:
            obj = getattr(module, attr)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and id(obj) not in seen \
                    and not (inspect.isclass(obj) and issubclass(obj, BaseException)):
                seen[id(obj)] = (f"{name}.{attr}", obj)
    return list(seen.values())


def _missing_sections(obj):
    import inspect

    doc = inspect.getdoc(obj) or ""
    need = ["Examples"]
    if inspect.isfunction(obj):
        if inspect.signature(obj).parameters:
            need.append("Parameters")
        need.append("Returns")
    elif "Parameters" not in doc:
        need.append("Attributes")
    return [s for s in need if f"{s}\n---" not in doc]


def test_public_functions_and_classes_have_numpydoc_sections():
    """Every public function has Parameters (if it takes any), Returns and
    Examples sections; every public class Examples and Parameters or
    Attributes."""
    missing = {name: m for name, obj in _public_objects() if (m := _missing_sections(obj))}
    assert missing == {}


def test_section_check_notices_a_missing_section():
    def f(x):
        """Do.

        Parameters
        ----------
        x : int
        """

    assert _missing_sections(f) == ["Examples", "Returns"]
