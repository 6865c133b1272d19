"""The layout of ../ARCHITECTURE: dependencies point one way, pure layers stay pure.

Read from the source (imports parsed, not executed), so a violation fails here before it
becomes a tangle.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("shop", "emotion", "recommender", "insights", "moodshop")


def _imports(path: Path) -> set[str]:
    """Absolute module names imported by ``path`` (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.add(f"{base}.{node.module}" if node.module else base)
            else:
                names.add(node.module or "")
    return names


def _modules(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]


def _offenders(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in paths
        for name in _imports(path)
        if any(name == f or name.startswith(f"{f}.") for f in forbidden)
    )


def test_shipped_code_never_imports_the_benchmarks():
    assert _offenders(_modules(*APPS), ("benchmarks",)) == []


@pytest.mark.parametrize("layer", ["emotion/ml", "recommender/ml"])
def test_the_ml_layers_import_no_django(layer):
    assert _offenders(_modules(layer), ("django", "rest_framework", "shop", "insights", "moodshop")) == []


def test_the_pure_recommender_reads_only_the_pure_emotion_layer():
    paths = _modules("recommender/ml")
    offenders = [o for o in _offenders(paths, ("emotion", "recommender")) if " imports emotion.ml" not in o]
    assert [o for o in offenders if " imports recommender.ml" not in o] == []


@pytest.mark.parametrize(
    ("app", "may_not_read"),
    [
        ("shop", ("emotion", "recommender", "insights")),
        ("emotion", ("recommender", "insights")),
        ("recommender", ("insights",)),
    ],
)
def test_dependencies_point_one_way(app, may_not_read):
    assert _offenders(_modules(app), may_not_read) == []


def _strings(path: Path) -> list[str]:
    """String literals of a module, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_the_staff_reports_read_no_benchmark_results_at_run_time():
    """The deployed image has no benchmarks/ folder: no path into it may appear in the reports."""
    assert [p.name for p in _modules("insights") if any("benchmarks" in s for s in _strings(p))] == []


def test_serving_does_not_import_the_evaluation_reports():
    """Test-time augmentation lives in emotion.ml.tta, so inference needs nothing from evaluate."""
    assert "emotion.ml.evaluate" not in _imports(ROOT / "emotion/ml/inference.py")
