"""The package's import graph: no cycles, every import pointing down the layers, numba on demand.

The graph is read from the source with ``ast`` (nothing is imported to build it): every
``import`` and ``from ... import`` of a minigrad module, at module level or inside a function
(a deferred import is a dependency all the same), except those under ``if TYPE_CHECKING:``,
which never run.  ``from minigrad.nn import functional`` is an edge to ``minigrad.nn.functional``,
``from minigrad.tensor import Tensor`` one to ``minigrad.tensor``.  The insides of
``minigrad.tokenizers`` and ``minigrad.testing`` count as one node each.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import minigrad

ROOT = Path(minigrad.__file__).parent

#: Each group (the first name below ``minigrad``) and its layer, bottom first.  A module may
#: import modules of its own group, or of groups in lower layers; never of a group in its own
#: layer or above.  ``docs/ARCHITECTURE.md`` draws the same picture.
LAYERS: dict[str, int] = {
    # plain helpers: they import nothing of minigrad
    "validate": 0,
    "grad_mode": 0,
    "atomic": 0,
    "run_folder": 0,
    "terminal": 0,
    # compiled kernels and the backward engine: side by side, neither knows the other
    "kernels": 1,
    "autograd": 1,
    # the row-sparse gradient (made by an op, read by the optimizers, merged by a kernel)
    "sparse": 2,
    # the differentiable ops: numpy in, numpy out, a backward beside each forward
    "ops": 3,
    # Tensor: its math calls the ops; creation makes tensors
    "tensor_math": 4,
    "tensor_inplace": 4,
    "tensor": 5,
    "creation": 6,
    # layers and optimizers, which do not know each other
    "nn": 7,
    "optim": 7,
    # what is built from them (and the package's own __init__, the public surface)
    "__init__": 8,
    "models": 8,
    "data": 8,
    "metrics": 8,
    "io": 8,
    "viz": 8,
    "expression": 8,
    "tokenizers": 8,
    # the property-testing kit: written against the public surface, as a user's tests are
    "testing": 9,
    # files on disk and the printed walk-through
    "checkpoint": 9,
    "explain": 9,
    "newton": 9,
    # the command line
    "commands": 10,
    "cli": 11,
    "__main__": 12,
}

COLLAPSED = ("minigrad.tokenizers", "minigrad.testing")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def node_of(module: str) -> str:
    for prefix in COLLAPSED:
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    return module


def group_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement outside ``if TYPE_CHECKING:`` blocks."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the minigrad modules it imports (collapsed nodes merged, self-edges dropped)."""
    files = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for stmt in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(stmt, ast.Import):
                targets.update(a.name for a in stmt.names)
                continue
            if stmt.level:  # relative: resolved against the importing module's package
                base = package.split(".")[: len(package.split(".")) - stmt.level + 1]
                source = ".".join(base + ([stmt.module] if stmt.module else []))
            else:
                source = stmt.module or ""
            for alias in stmt.names:  # `from pkg import submodule` depends on the submodule
                sub = f"{source}.{alias.name}"
                targets.add(sub if sub in files else source)
        own = node_of(name)
        edges = {node_of(t) for t in targets if t in files or t in COLLAPSED}
        graph.setdefault(own, set()).update(edges - {own})
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, iters = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_the_graph_reader_sees_the_imports_it_should():
    graph = import_graph()
    assert "minigrad.autograd" in graph["minigrad.ops.elementwise"]
    assert "minigrad.nn.functional" in graph["minigrad.nn.layers"]  # `from minigrad.nn import F`
    assert "minigrad.validate" in graph["minigrad.kernels.scatter"]  # an absolute import
    assert "minigrad.kernels.prefetch" in graph["minigrad.kernels.gather"]  # a relative one
    assert "minigrad.tensor" not in graph["minigrad.tensor_math"]  # under TYPE_CHECKING only
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_every_import_points_down_the_layers():
    graph = import_graph()
    unknown = sorted({group_of(m) for m in graph} - set(LAYERS))
    assert not unknown, f"new top-level modules or packages {unknown}: give them a layer above"
    wrong = [
        f"{m} ({group_of(m)}, layer {LAYERS[group_of(m)]}) imports {t} "
        f"({group_of(t)}, layer {LAYERS[group_of(t)]})"
        for m, targets in sorted(graph.items())
        for t in sorted(targets)
        if group_of(t) != group_of(m) and LAYERS[group_of(t)] >= LAYERS[group_of(m)]
    ]
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_the_rules_the_layers_promise():
    """The same graph, asked the questions the architecture answers in words."""
    graph = import_graph()
    everything = {t for targets in graph.values() for t in targets}
    # the engine imports no kernels, and the kernels no autograd
    assert not {t for t in graph["minigrad.autograd"] if t.startswith("minigrad.kernels")}
    kernels = {m: ts for m, ts in graph.items() if m.startswith("minigrad.kernels")}
    assert all(
        t.startswith("minigrad.kernels") or t == "minigrad.validate"
        for ts in kernels.values()
        for t in ts
    )
    # every autograd op lives in ops/: no Function subclass is defined anywhere else
    for path in ROOT.rglob("*.py"):
        name = module_name(path)
        if name.startswith(("minigrad.ops", "minigrad.testing")) or name == "minigrad.autograd":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        subclasses = [
            c.name
            for c in ast.walk(tree)
            if isinstance(c, ast.ClassDef)
            and any(getattr(b, "id", getattr(b, "attr", None)) == "Function" for b in c.bases)
        ]
        assert not subclasses, f"{name} defines ops {subclasses}: they belong in minigrad/ops/"
    # nothing but the command line imports the commands
    importers = {m for m, ts in graph.items() if any(t.startswith("minigrad.commands") for t in ts)}
    assert importers <= {m for m in graph if m.startswith("minigrad.commands")} | {"minigrad.cli"}
    assert "minigrad.cli" in everything


def test_private_names_stay_in_their_package():
    """``_name`` is a helper of its own package: another package imports public names only."""
    shared = []
    for path in sorted(ROOT.rglob("*.py")):
        name = module_name(path)
        for stmt in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(stmt, ast.ImportFrom) or stmt.level or not stmt.module:
                continue
            if not stmt.module.startswith("minigrad.") or group_of(stmt.module) == group_of(name):
                continue
            shared += [
                f"{name}: {a.name} from {stmt.module}" for a in stmt.names if a.name[0] == "_"
            ]
    assert not shared, "private helpers imported across packages:\n" + "\n".join(shared)


def test_import_minigrad_loads_no_numba():
    """numba loads on first kernel use: ``import minigrad`` (and its nn, optim) leaves it out."""
    code = (
        "import sys, minigrad, minigrad.nn, minigrad.optim, minigrad.kernels\n"
        "assert 'numba' not in sys.modules, 'numba imported by import minigrad'\n"
        "from minigrad.kernels import scatter_add\n"  # the first kernel asked for loads numba
        "assert 'numba' in sys.modules\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("name", ["erf", "scatter_add", "lazy_adam_rows", "merge_row_sparse"])
def test_lazy_kernel_names_resolve_to_their_module(name):
    from minigrad import kernels

    value = getattr(kernels, name)
    assert value.__module__.startswith("minigrad.kernels.")
    assert name in dir(kernels) and name in kernels.__all__
    with pytest.raises(AttributeError, match="no_such_kernel"):
        kernels.no_such_kernel  # noqa: B018


def test_dask_loads_only_when_asked():
    """The ``scale`` extra is optional: importing minigrad, its tokenizers, the command line and
    even ``tokenizers.dask`` leaves dask out until a function there runs."""
    code = (
        "import sys, minigrad, minigrad.tokenizers, minigrad.cli, minigrad.tokenizers.dask\n"
        "import minigrad.commands.tokenizer_cmd\n"
        "bad = [m for m in ('dask', 'distributed') if m in sys.modules]\n"
        "assert not bad, f'imported at import time: {bad}'\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
