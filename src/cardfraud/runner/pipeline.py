"""run_all's engine: run the chosen steps' notebooks in one kernel, then publish the run.

The steps and their parameters come from :mod:`.steps`; staging, the lock and the swap into
place are :mod:`.publishing`.

A run executes into ``<output>/runs/<run id>/`` and, only when every step and the render
succeed, swaps ``executed/``, ``artifacts/``, ``site/`` and ``run.json`` into place. A failed
or interrupted (Ctrl-C) run leaves what was published before untouched and keeps its executed
notebooks for reading. A run writes only into an output dir it may own (see
:mod:`cardfraud.runner.output_dir`) and keeps the files there that no run wrote. Relative paths given
to a run (``--output``, ``load.path``, ``monitoring.current_path``, an ``sqlite:///`` tracking
URI) are taken from the caller's working directory, before any notebook starts.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
import warnings
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ..engines.spark_session import JVM_LOG_VARIABLE, out_of_memory_advice
from ..serving.promotion import PromotionFailed
from .artifacts import (
    collect_results,
    path_from_caller,
    resolve_output_dir,
    write_json_atomic,
)
from .config import (
    COMMON_SECTION,
    REPORT_SECTION,
    ConfigError,
    step_parameters,
)
from .contract import REGISTRY_STEP
from .kernel import NotebookFailed, StepKernel
from .output_dir import (
    RUN_RECORD,
    claim_output_dir,
)
from .project import ProjectNotFound, default_params_file, project_dir
from .publishing import (
    OutputLock,
    RunFailed,
    interrupts_ignored,
    prepare_staging,
    publish_with_promotion,
    say,
)
from .step_inputs import StepInputsMissing, check_chosen_steps, check_step
from .steps import (
    check_extract_headers,
    discover_steps,
    paths_from_caller,
    resolve_params,
    select_steps,
    with_summary,
)
from .store_warmup import StoreWarmup

SPARK_LOG = "spark.log"  # in the run's folder: what a Spark run's JVM wrote to stderr
SPARK_LOG_TAIL = 1 << 20  # bytes of it read for an out-of-memory error
INTERRUPTED = "interrupted: nothing published"
INTERRUPTED_EXIT = 130


def new_run_id() -> str:
    """Return a sortable, unique run id such as ``20261121T101500Z-3f9a``."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:4]


def git_commit() -> str | None:
    """Return the project's git commit (with ``-dirty`` when changed), or None."""
    try:
        project = project_dir()
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=project, capture_output=True, text=True, timeout=5).stdout
        return sha + ("-dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError, ProjectNotFound):
        return None


def run_pipeline(
    params_path: str | Path | None = None,
    overrides: list[str] | None = None,
    only: list[str] | None = None,
    from_step: str | None = None,
    output_dir: str | Path | None = None,
    renderer: str = "auto",
    render: bool = True,
    fresh_kernels: bool = False,
) -> int:
    """Run the chosen steps and publish; return the process exit code.

    0 ok, 1 failed, 2 usage (bad params, an output dir the run may not write in, a step
    whose input file is missing or made from other data: :mod:`.step_inputs`), 130
    interrupted (Ctrl-C). Relative paths are taken from the current working directory;
    without ``params_path`` the project's ``params/default.yaml`` is read, without
    ``output_dir`` the run publishes into the project's ``reports/`` (:mod:`.project`).
    """
    from ..report import site

    try:
        cwd = Path.cwd()
        params_path = params_path or default_params_file()
        steps = discover_steps()
        requested = select_steps(steps, only, from_step)
        chosen = with_summary(steps, requested)
        params, declared = resolve_params(params_path, overrides or [], steps)
        params = paths_from_caller(params, cwd)
        check_extract_headers(params)
        site.check_renderer(renderer)
        output = resolve_output_dir(None if output_dir in (None, "")
                                    else path_from_caller(output_dir, cwd))
        claim_output_dir(output)
        lock = OutputLock(output).__enter__()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return INTERRUPTED_EXIT
    try:
        check_chosen_steps(output, [s.name for s in steps], [s.name for s in chosen],
                           [s.name for s in requested])
        return _run_locked(params, declared, params_path, steps, chosen, requested, output,
                           renderer, render, fresh_kernels)
    except StepInputsMissing as exc:
        return refused(exc, output)
    finally:
        lock.__exit__(None, None, None)


def refused(exc: StepInputsMissing, output: Path) -> int:
    """Print why a step may not run (its inputs) and return the usage exit code, 2."""
    print(f"error: {exc}", file=sys.stderr)
    print(f"  nothing published: {output} still holds the previous run", file=sys.stderr)
    return 2


def _run_locked(params, declared, params_path, steps, chosen, requested, output, renderer,
                render, fresh_kernels) -> int:
    """Run the steps with the output dir locked; see :func:`run_pipeline`."""
    from ..report import site

    order, asked = [s.name for s in steps], [s.name for s in requested]

    run_id = new_run_id()
    partial = len(chosen) < len(steps)
    staging = prepare_staging(output, run_id, partial)
    record = {"run_id": run_id, "status": "running", "started_at": _now(), "finished_at": None,
              "git_commit": git_commit(), "params_file": str(params_path), "params": params,
              "output_dir": str(output), "steps": [], "renderer": None}
    progress = sys.stdout.isatty()
    started = time.perf_counter()
    spark_log = staging / SPARK_LOG
    kernel = StepKernel(fresh=fresh_kernels)
    warmup = StoreWarmup()  # the MLflow store made ready beside the kernel, after the first step
    # held for the run: where its Spark session logs; and the promotion lock, from the
    # registry step until the run has published
    held = ExitStack()
    held.enter_context(environment_variable(JVM_LOG_VARIABLE, str(spark_log)))
    try:
        for index, step in enumerate(chosen, start=1):
            check_step(step.name, staging, [s.name for s in chosen[:index - 1]], output, order,
                       asked)
            if step.name == REGISTRY_STEP:
                held.enter_context(run_promotion_lock(params))
            say(f"[{index}/{len(chosen)}] {step.name}: running {step.notebook.name}")
            parameters = step_parameters(params, step.section, declared[step.section])
            parameters.update(output_dir=str(staging), run_id=run_id)
            entry = {"name": step.name, "notebook": step.notebook.name, "status": "running"}
            record["steps"].append(entry)
            try:
                seconds = kernel.execute(notebook_in_language(step, params),
                                         staging / "executed" / step.executed_name,
                                         parameters, step.notebook.parent, progress)
            except NotebookFailed as exc:
                entry["status"] = "failed"
                raise RunFailed(f"step '{step.name}' failed {exc}") from None
            entry["seconds"] = round(seconds, 2)
            entry["status"] = "ok"
            say(f"[{index}/{len(chosen)}] {step.name}: done in {entry['seconds']:.1f} s")
            warmup.start(params.get(COMMON_SECTION, {}).get("tracking_uri"),
                         [s.name for s in chosen[index:]])
        record.update(collect_results(staging))
        record["data"] = record.get("load", {}).get("data")
        if render:
            render_started = time.perf_counter()
            record["renderer"] = site.build_site(staging, record, steps, renderer)
            record["render_seconds"] = round(time.perf_counter() - render_started, 2)
            say(f"site: rendered with {record['renderer']} in {record['render_seconds']:.1f} s")
            pdf = record["report"]["pdf"]
            say(f"site: {pdf['file']} made with {pdf['engine']}" if pdf.get("engine")
                else f"site: no summary PDF: {pdf['reason']}")
        record.update(status="ok", finished_at=_now(),
                      seconds=round(time.perf_counter() - started, 2))
        write_json_atomic(staging / RUN_RECORD, record)
        with interrupts_ignored():
            keep_spark_log(spark_log, output)  # publishing removes the staging folder
            publish_with_promotion(staging, output, record)
    except (RunFailed, site.RenderError, PromotionFailed) as exc:
        record.update(status="failed", finished_at=_now(), error=str(exc).splitlines()[0])
        write_json_atomic(staging / RUN_RECORD, record)
        print(f"FAILED: {exc}", file=sys.stderr)
        for line in spark_log_lines(spark_log, str(exc)):
            print(f"  {line}", file=sys.stderr)
        print(f"  nothing published: {output} still holds the previous run", file=sys.stderr)
        return 1
    except StepInputsMissing as exc:  # this run's load step changed the data under a step
        record.update(status="refused", finished_at=_now(), error=str(exc))
        write_json_atomic(staging / RUN_RECORD, record)
        return refused(exc, output)
    except KeyboardInterrupt:
        forget_interrupted_cell()
        with interrupts_ignored():  # a second Ctrl-C must not cut the clean-up short
            record.update(status="interrupted", finished_at=_now(), error="interrupted (Ctrl-C)")
            for entry in record["steps"]:
                if entry["status"] == "running":
                    entry["status"] = "interrupted"
            write_json_atomic(staging / RUN_RECORD, record)
            kernel.shutdown()
        print(INTERRUPTED, file=sys.stderr)
        return INTERRUPTED_EXIT
    finally:
        kernel.shutdown()
        warmup.wait()
        held.close()
    say(f"run {run_id} ok in {record['seconds']:.1f} s")
    if render:
        say(f"site: {output / 'site' / 'index.html'}")
    return 0


@contextmanager
def environment_variable(name: str, value: str):
    """Set ``name`` to ``value`` in this process (and the kernels it starts) for the block,
    then put back what it was."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def spark_log_lines(spark_log: Path, failure: str) -> list[str]:
    """Lines for a failed run's message about its JVM's log: where it is and, when the log
    says the JVM ran out of memory and the failure did not, what to set (a JVM that dies of it
    leaves python only a lost connection). No lines for a pandas run."""
    if not spark_log.is_file() or not spark_log.stat().st_size:
        return []
    lines = []
    if out_of_memory_advice(failure) is None:
        with open(spark_log, "rb") as log:
            log.seek(max(0, spark_log.stat().st_size - SPARK_LOG_TAIL))
            advice = out_of_memory_advice(log.read().decode("utf-8", "replace"))
        lines += [advice] if advice else []
    return [*lines, f"Spark's own log: {spark_log}"]


def keep_spark_log(spark_log: Path, output: Path) -> None:
    """Keep the JVM log of a run about to publish as ``runs/spark.log`` (its staging folder
    goes; the JVM, still writing, writes on into the moved file)."""
    if spark_log.is_file():
        os.replace(spark_log, output / "runs" / SPARK_LOG)


def forget_interrupted_cell() -> None:
    """Silence Python's warning about the cell coroutine that Ctrl-C cut off before nbclient
    awaited it: the interruption is reported in one line, and the warning (emitted whenever
    the coroutine is garbage collected, up to the interpreter's exit) would only add noise."""
    warnings.filterwarnings("ignore", message=r"coroutine '.*' was never awaited",
                            category=RuntimeWarning)


def notebook_in_language(step, params: dict):
    """Return the step's notebook (its path) or, for another language than English, the
    notebook with its markdown translated (:mod:`cardfraud.report.notebook_translation`)."""
    language = params.get(REPORT_SECTION, {}).get("language") or "en"
    if language == "en":
        return step.notebook
    from ..report.notebook_translation import translated_notebook

    notebook, untranslated = translated_notebook(step.notebook, language)
    if untranslated:
        say(f"  {step.name}: {len(untranslated)} markdown cell(s) without a current {language} "
            f"translation, shown in English ({', '.join(untranslated[:5])}); see "
            f"python -m cardfraud translations --check")
    return notebook


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def run_promotion_lock(params: dict):
    """Return the promotion lock of the run's model and store (see ``promotion_lock``)."""
    from ..modeling.tracking import resolve_tracking_uri
    from ..serving.promotion import promotion_lock

    common = params.get(COMMON_SECTION, {})
    uri = resolve_tracking_uri(common.get("tracking_uri"))
    return promotion_lock(uri, common["model_name"], say=say)
