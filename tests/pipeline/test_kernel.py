"""The shared kernel: notebooks run one after another with nothing leaking between them."""

from __future__ import annotations

import nbformat
import pytest

from cardfraud.runner.kernel import NotebookFailed, StepKernel

pytestmark = pytest.mark.slow


def notebook(path, *sources):
    cells = [nbformat.v4.new_code_cell("x = None", metadata={"tags": ["parameters"]})]
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    metadata = {"kernelspec": {"name": "cardfraud", "language": "python",
                               "display_name": "Python (cardfraud)"}}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=metadata), path)
    return path


@pytest.mark.parametrize("fresh", [False, True])
def test_variables_do_not_leak_from_one_notebook_to_the_next(tmp_path, fresh):
    first = notebook(tmp_path / "a.ipynb", "secret = 41 + x", "import json")
    second = notebook(tmp_path / "b.ipynb", "print(secret)")
    kernel = StepKernel(fresh=fresh)
    try:
        kernel.execute(first, tmp_path / "a_out.ipynb", {"x": 1}, tmp_path, progress=False)
        assert "secret = 41 + x" in (tmp_path / "a_out.ipynb").read_text()
        with pytest.raises(NotebookFailed, match=r"at cell \d+: NameError: name 'secret' is not defined"):
            kernel.execute(second, tmp_path / "b_out.ipynb", {"x": 2}, tmp_path, progress=False)
    finally:
        kernel.shutdown()


def test_shared_kernel_keeps_one_process_across_notebooks(tmp_path):
    probe = notebook(tmp_path / "p.ipynb", "import os\nprint('PID', os.getpid())")
    kernel = StepKernel()
    try:
        pids = []
        for name in ("one", "two"):
            kernel.execute(probe, tmp_path / f"{name}.ipynb", {"x": 0}, tmp_path, progress=False)
            out = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
            pids.append(out.cells[-1].outputs[0]["text"].split()[1])
        assert pids[0] == pids[1]
    finally:
        kernel.shutdown()


@pytest.mark.parametrize("fresh", [False, True])
def test_failure_names_the_cell_of_the_failing_notebook(tmp_path, fresh):
    """Cell numbers restart at 1 in every notebook, even when one kernel runs them all."""
    first = notebook(tmp_path / "a.ipynb", "a = 1", "b = 2", "c = 3")
    second = notebook(tmp_path / "b.ipynb", "y = 1", "1 / 0")
    kernel = StepKernel(fresh=fresh)
    try:
        kernel.execute(first, tmp_path / "a_out.ipynb", {"x": 1}, tmp_path, progress=False)
        # cells of b: parameters [1], injected parameters [2], y = 1 [3], 1 / 0 [4]
        with pytest.raises(NotebookFailed, match=r"^at cell 4: ZeroDivisionError"):
            kernel.execute(second, tmp_path / "b_out.ipynb", {"x": 2}, tmp_path, progress=False)
    finally:
        kernel.shutdown()
    executed = nbformat.read(tmp_path / "b_out.ipynb", as_version=4)
    counts = [c.execution_count for c in executed.cells if c.cell_type == "code"]
    assert counts == [1, 2, 3, 4]
