"""Execute the step notebooks, by default all in one Jupyter kernel.

Starting a kernel and importing pandas, scikit-learn and MLflow costs seconds per notebook.
A run therefore keeps one kernel for all its notebooks and clears the kernel's namespace
(a new IPython session: variables gone, execution count back to 1; figures closed, garbage
collected) before each one, so no variable leaks from one step to the next: steps still hand
data on through files only. Only the imported modules stay loaded. Cell numbers (``[n]`` in the
executed notebook and "at cell n" when a step fails) count from the notebook's first cell, as
in a fresh kernel. ``fresh=True`` gives every notebook its own kernel instead.
"""

from __future__ import annotations

import time
from pathlib import Path

from cardfraud.engines.spark_session import out_of_memory_advice

KERNEL_NAME = "cardfraud"
# the kernel warns about plain-TCP transport on loopback at every start: silence it
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
# reset(new_session=True) is %reset -f plus a new history session whose count restarts at 1
RESET_CODE = """\
get_ipython().reset(new_session=True)
import gc as _gc, sys as _sys
if "matplotlib.pyplot" in _sys.modules:
    _sys.modules["matplotlib.pyplot"].close("all")
_ = _gc.collect()
"""


class NotebookFailed(RuntimeError):
    """A notebook raised or its kernel died; the message is one line plus the notebook path."""


class StepKernel:
    """The kernel the run's notebooks execute in: shared (default) or fresh per notebook."""

    def __init__(self, fresh: bool = False):
        self.fresh = fresh
        self.manager = None
        if not fresh:
            from jupyter_client.manager import AsyncKernelManager

            self.manager = AsyncKernelManager(kernel_name=KERNEL_NAME)

    def execute(self, notebook, target: Path, parameters: dict, cwd: Path,
                progress: bool) -> float:
        """Execute ``notebook`` (a path, or a notebook already read) into ``target`` with
        papermill; return the seconds taken."""
        import papermill
        from papermill.exceptions import PapermillExecutionError

        started = time.perf_counter()
        self._clear_namespace()
        try:
            papermill.execute_notebook(
                str(notebook) if isinstance(notebook, Path) else notebook, str(target),
                parameters=parameters, kernel_name=KERNEL_NAME,
                progress_bar=progress, cwd=str(cwd), log_output=False,
                extra_arguments=KERNEL_ARGUMENTS, km=self.manager)
        except PapermillExecutionError as exc:
            message = str(exc.evalue).strip().splitlines()[0] if exc.evalue else ""
            advice = out_of_memory_advice(str(exc.evalue))
            raise NotebookFailed(f"at cell {exc.exec_count or exc.cell_index}: {exc.ename}: "
                                 f"{message}" + (f"\n  {advice}" if advice else "")
                                 + f"\n  traceback in {target}") from None
        except Exception as exc:  # the kernel died (out of memory) or timed out
            raise NotebookFailed(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}\n"
                                 f"  partial notebook in {target}") from None
        return time.perf_counter() - started

    def _clear_namespace(self) -> None:
        """Empty the shared kernel's namespace before the next notebook (no-op if fresh)."""
        if self.manager is None or not self.manager.has_kernel:
            return
        from jupyter_core.utils import run_sync

        run_sync(self._async_clear)()

    async def _async_clear(self) -> None:
        client = self.manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            reply = await client.execute_interactive(RESET_CODE, store_history=False, timeout=60,
                                                     output_hook=lambda message: None)
            if reply["content"]["status"] != "ok":
                raise NotebookFailed(f"could not clear the kernel: {reply['content']}")
        finally:
            client.stop_channels()

    def shutdown(self) -> None:
        """Stop the shared kernel, if one was started."""
        if self.manager is not None and self.manager.has_kernel:
            from jupyter_core.utils import run_sync

            run_sync(self.manager.shutdown_kernel)(now=True)
