"""The import contracts in pyproject.toml's [tool.importlinter] hold (import-linter's `lint-imports`): xenbook's
layers import only downward, the product never imports the sample host, and the sample host uses none of the
product's readers. Imports inside functions are only for the heavy optional libraries, each with its reason."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent

# What may be imported inside a function, and why it is not imported at the top of its module.
LAZY = {
    "papermill": "xenbook run only: it imports nbclient, jsonschema and more, about a second, and cli/run.py holds "
                 "back the optional grammar package jsonschema would compile",
    "jupyter_client.manager": "xenbook run only, with papermill (which imports it anyway): the kernels' manager on "
                              "unix sockets",
    "matplotlib.figure": "the charts only: matplotlib takes about half a second to import",
    "matplotlib.backends.backend_agg": "the charts only (matplotlib)",
    "matplotlib.dates": "the charts' clock-time axes only (matplotlib)",
    "IPython.display": "in a notebook's kernel only: IPython is not loaded by the CLI",
    "xenbook.ui.widgets": "imports ipywidgets, for a person's form only (papermill and the CLI never need it)",
    "xenbook.ui.dashboard_widgets": "imports ipywidgets, for the live dashboard only",
}


def _type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def function_level_imports() -> list[tuple[str, int, str]]:
    """(file, line, module) for every import inside a function body in xenbook/."""
    found = []

    def visit(node: ast.AST, path: str, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                continue  # for annotations only: never runs
            if in_function and isinstance(child, ast.Import):
                found.extend((path, child.lineno, a.name) for a in child.names)
            elif in_function and isinstance(child, ast.ImportFrom):
                found.append((path, child.lineno, child.module or ""))
            visit(child, path, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    for file in sorted((ROOT / "xenbook").rglob("*.py")):
        visit(ast.parse(file.read_text()), str(file.relative_to(ROOT)), False)
    return found


def test_lint_imports_keeps_every_contract():
    lint = Path(sys.executable).parent / "lint-imports"
    assert lint.exists(), f"{lint} is missing: install the test extras (pip install -e '.[test]')"
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_layers_contract_names_every_top_level_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    packages = {f"xenbook.{p.name}" for p in (ROOT / "xenbook").iterdir() if (p / "__init__.py").exists()}
    assert packages == set(layers), "a package of xenbook/ outside the layers is not held to them"


def test_function_level_imports_are_only_the_documented_heavy_ones():
    found = function_level_imports()
    stray = [f"{path}:{line}: {module}" for path, line, module in found if module not in LAZY]
    assert stray == [], "import these at the top of the module (or add the library, with its reason, to LAZY)"
    unused = set(LAZY) - {module for _, _, module in found}
    assert unused == set(), f"LAZY lists imports no function makes any more: {unused}"
