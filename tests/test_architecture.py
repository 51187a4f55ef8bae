"""The layers of issue #11: estimators under ``methods/`` never see the case.

The case file is read in :mod:`butfor.analyses`, which hands each estimator
typed inputs (arrays, frames, a Panel and a metric, settings); a method module
that imported the case (``butfor.case``, ``butfor.case_methods``, ...) or the
analyses layer, or took a ``case`` parameter, would put specification and fit
back together. Read from the source (the AST), so a lazy import inside a
function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import butfor

METHODS = Path(butfor.__file__).parent / "methods"
FORBIDDEN = ("butfor.case", "butfor.analyses")  # butfor.case covers case_methods, case_base, ...


def _modules() -> list[Path]:
    return sorted(METHODS.rglob("*.py"))


def _problems(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
            if node.module == "butfor":  # from butfor import case_methods
                names = [f"butfor.{a.name}" for a in node.names]
        else:
            names = []
        out += [f"line {node.lineno} imports {n}" for n in names if n.startswith(FORBIDDEN)]
        if isinstance(node, ast.arg) and node.arg == "case":
            out.append(f"line {node.lineno} takes a parameter named 'case'")
        if isinstance(node, ast.Name) and node.id == "case":
            out.append(f"line {node.lineno} reads a name 'case'")
    return out


def test_the_methods_package_is_found():
    assert len(_modules()) > 20  # every estimator module, kernels/ included


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(METHODS)))
def test_no_method_module_reads_the_case(path):
    problems = _problems(ast.parse(path.read_text(encoding="utf-8")))
    assert not problems, f"methods/{path.relative_to(METHODS)}: " + "; ".join(problems)


@pytest.mark.parametrize("source", [
    "from butfor.case import Case\n",
    "def f():\n    from butfor.case_methods import block_length\n",
    "import butfor.analyses.case_inputs\n",
    "from butfor import case_methods\n",
    "def analyses_for_case(case, panel):\n    return []\n",
    "x = case.outcome.metric\n",
])
def test_the_check_catches_each_way_of_reading_the_case(source):
    assert _problems(ast.parse(source))


def test_no_source_file_is_over_600_lines():
    # issue #11 and STYLE.md: a module a newcomer reads in one sitting; the tests, the
    # benchmarks and the package alike
    root = Path(__file__).resolve().parents[1]
    files = [p for folder in ("src", "tests", "benchmarks") for p in (root / folder).rglob("*.py")
             if ".venv" not in p.parts]
    assert len(files) > 100  # the walk found the project (a wrong root would pass vacuously)
    long = {str(p.relative_to(root)): n for p in files
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}
