"""The notebooks run top to bottom on small demo data, and are committed without outputs."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_three_notebooks() -> None:
    assert [p.name[:2] for p in PATHS] == ["01", "02", "03"]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: strip outputs before committing"
            assert cell["execution_count"] is None, f"{path.name}: strip execution counts"
    tagged = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs one cell tagged 'parameters'"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_imports_only_the_public_api(path: Path) -> None:
    """Notebooks import from ``kam_ml`` itself, never a module inside it, so moving a module
    never breaks a notebook; every name they import is in ``kam_ml.__all__``."""
    import kam_ml

    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kam_ml"):
                assert node.module == "kam_ml", f"{path.name} imports from {node.module}"
                missing = {a.name for a in node.names} - set(kam_ml.__all__)
                assert not missing, f"{path.name} imports {missing}, not in kam_ml.__all__"
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names if a.name.startswith("kam_ml.")]
                assert not modules, f"{path.name} imports {modules}"


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_runs_top_to_bottom(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("KAM_NB_ACCOUNTS", "500")
    monkeypatch.setenv("KAM_NB_FAST", "1")
    monkeypatch.setenv("KAM_NB_QUICK", "1")
    monkeypatch.setenv("KAM_NB_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("KAM_NB_OUT", str(tmp_path))
    monkeypatch.setenv("KAM_NB_CDNOW_CACHE", str(tmp_path / "no-cdnow"))  # the skip path
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    if path.name.startswith("03"):
        shown = json.dumps(outputs)
        assert "is not cached" in shown
