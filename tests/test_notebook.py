"""The quick-start notebook runs top to bottom on the embedded default models, and is stored without outputs."""

import nbformat

from conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"


def test_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_executes_as_jupyter_nbconvert_runs_it(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "executed.ipynb"
    done = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                           "--ExecutePreprocessor.timeout=600", str(NOTEBOOK), "--output", str(target)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    notebook = nbformat.read(target, as_version=4)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o for o in outputs if "text/html" in o.get("data", {})]
    assert any('dir="rtl"' in o["data"]["text/html"] for o in html)
    assert any("image/png" in o.get("data", {}) for o in outputs), "the request-type plot is drawn"
