"""run_all's engine: discover the steps, run their notebooks with papermill, publish the site.

A run executes into ``<output>/runs/<run id>/`` and, only when every step and the render
succeed, swaps ``executed/``, ``artifacts/``, ``site/`` and ``run.json`` into place. A failed
or interrupted (Ctrl-C) run leaves what was published before untouched and keeps its executed
notebooks for reading. A run writes only into an output dir it may own (see
:mod:`cardfraud.output_dir`) and keeps the files there that no run wrote. Relative paths given
to a run (``--output``, ``load.path``, ``monitoring.current_path``, an ``sqlite:///`` tracking
URI) are taken from the caller's working directory, before any notebook starts.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .artifacts import (
    PROJECT_ROOT,
    path_from_caller,
    resolve_output_dir,
    tracking_uri_from_caller,
    write_json_atomic,
)
from .config import (
    COMMON_SECTION,
    ConfigError,
    apply_overrides,
    check_parameter_values,
    check_sections,
    read_params,
    step_parameters,
)
from .kernel import NotebookFailed, StepKernel
from .output_dir import (
    LOCK_FILE,
    PUBLISHED,
    claim_output_dir,
    files_under,
    foreign_files,
    published_files,
    record_published_files,
)
from .registry_promotion import PromotionFailed

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
# Files that outlive a run: carried into the next run's staging dir.
PERSISTENT_ARTIFACTS = ("monitoring_log.csv",)
RUNTIME_PARAMETERS = {"output_dir", "run_id"}
REGISTRY_STEP = "registry"  # decides a promotion: holds the promotion lock until publish
SUMMARY_STEP = "summary"  # reports on every other step: rerun whenever one of them runs
KEPT_FAILED_RUNS = 5
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{4}")
# parameters naming a file, per section; relative ones are taken from the caller's cwd
PATH_PARAMETERS = {"load": ("path",), "monitoring": ("current_path",)}
TRACKING_URI = "tracking_uri"
INTERRUPTED = "interrupted: nothing published"
INTERRUPTED_EXIT = 130


@dataclass(frozen=True)
class Step:
    """One notebook of the chain: ``notebooks/NN_<name>.ipynb``."""

    number: int
    name: str
    notebook: Path

    @property
    def executed_name(self) -> str:
        """File name of the executed notebook."""
        return self.notebook.name


class RunFailed(RuntimeError):
    """A step or the render failed; the message is the one line to print."""


def discover_steps(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Step]:
    """Return the steps in order: adding a step is adding a ``NN_<name>.ipynb`` notebook."""
    steps = []
    for path in sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb")):
        match = re.fullmatch(r"(\d\d)_(\w+)\.ipynb", path.name)
        if match:
            steps.append(Step(int(match.group(1)), match.group(2), path))
    return steps


def select_steps(steps: list[Step], only: list[str] | None, from_step: str | None) -> list[Step]:
    """Return the steps to run for ``--only`` / ``--from``; unknown names raise ConfigError."""
    names = [s.name for s in steps]
    for name in (only or []) + ([from_step] if from_step else []):
        if name not in names:
            raise ConfigError(f"unknown step {name!r} (steps: {', '.join(names)})")
    if only:
        return [s for s in steps if s.name in only]
    if from_step:
        return steps[names.index(from_step):]
    return list(steps)


def with_summary(steps: list[Step], chosen: list[Step]) -> list[Step]:
    """Add the summary step when another step runs, so the home page never shows stale figures."""
    summary = [s for s in steps if s.name == SUMMARY_STEP]
    if not summary or not chosen or any(s.name == SUMMARY_STEP for s in chosen):
        return chosen
    return [*chosen, *summary]


def declared_parameters(steps: list[Step]) -> dict[str, set[str]]:
    """Return, per step, the parameter names its notebook's ``parameters`` cell declares."""
    import papermill

    declared = {}
    for step in steps:
        names = set(papermill.inspect_notebook(str(step.notebook)))
        declared[step.name] = names - RUNTIME_PARAMETERS
    declared[COMMON_SECTION] = set().union(*declared.values()) if declared else set()
    return declared


def resolve_params(params_path: str | Path, overrides: list[str],
                   steps: list[Step]) -> tuple[dict, dict[str, set[str]]]:
    """Read, check and override the params; raise ConfigError before any notebook runs.

    Returns:
        The resolved params and, per step, the parameters its notebook declares.
    """
    params = read_params(params_path)
    declared = declared_parameters(steps)
    check_sections(params, declared, str(params_path))
    resolved = apply_overrides(params, overrides, declared)
    check_parameter_values(resolved, str(params_path) + (" with --set" if overrides else ""))
    return resolved, declared


def paths_from_caller(params: dict, cwd: Path) -> dict:
    """Return the params with every relative file path and SQLite URI made absolute from ``cwd``.

    papermill runs the notebooks in ``notebooks/``: a ``load.path=mydata.csv`` typed in the
    caller's folder must not be looked up there.
    """
    resolved = {section: dict(values) for section, values in params.items()}
    for section, values in resolved.items():
        for key in PATH_PARAMETERS.get(section, ()):
            if isinstance(values.get(key), str) and values[key].strip():
                values[key] = str(path_from_caller(values[key], cwd))
        if isinstance(values.get(TRACKING_URI), str):
            values[TRACKING_URI] = tracking_uri_from_caller(values[TRACKING_URI], cwd)
    return resolved


def new_run_id() -> str:
    """Return a sortable, unique run id such as ``20261121T101500Z-3f9a``."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:4]


def git_commit() -> str | None:
    """Return the project's git commit (with ``-dirty`` when changed), or None."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5).stdout
        return sha + ("-dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


class OutputLock:
    """An exclusive lock on an output dir, so two runs never write into the same place."""

    def __init__(self, output: Path):
        self.path = output / LOCK_FILE
        self.handle = None

    def __enter__(self) -> OutputLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a+")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another process"
            self.handle.close()
            raise ConfigError(
                f"another run is already writing to {self.path.parent} ({holder}); "
                f"wait for it to finish or pass --output DIR"
            ) from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"pid {os.getpid()}, started {dt.datetime.now():%Y-%m-%d %H:%M:%S}")
        self.handle.flush()
        return self

    def __exit__(self, *exc) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def prune_failed_runs(output: Path, keep: int = KEPT_FAILED_RUNS) -> None:
    """Delete all but the newest ``keep`` failed or interrupted runs kept for their tracebacks."""
    runs = sorted(p for p in (output / "runs").glob("2*") if p.is_dir() and RUN_ID.fullmatch(p.name))
    for old in runs[:-keep] if keep else runs:
        shutil.rmtree(old, ignore_errors=True)


def prepare_staging(output: Path, run_id: str, partial: bool) -> Path:
    """Create the run's staging dir; a partial run starts from the published outputs.

    Only files a published run wrote are carried over; the user's stay where they are.
    """
    prune_failed_runs(output)
    staging = output / "runs" / run_id
    (staging / "executed").mkdir(parents=True)
    (staging / "artifacts").mkdir()
    ours = published_files(output)
    if partial:
        carried = {f for f in ours if f.split("/")[0] in ("executed", "artifacts")}
    else:
        carried = {f"artifacts/{name}" for name in PERSISTENT_ARTIFACTS} & ours
    for name in sorted(carried):
        if (output / name).is_file():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(output / name, staging / name)
    return staging


def collect_results(staging: Path) -> dict:
    """Return every step's saved results, keyed by step name."""
    import json

    results = {}
    for path in sorted((staging / "artifacts" / "results").glob("*.json")):
        results[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return results


def publish(staging: Path, output: Path) -> None:
    """Swap the staging outputs into the output dir; old ones are removed only after.

    Files under the old executed/, artifacts/ and site/ that no published run wrote (the
    user's) move into the new folders, so none is lost; the marker then lists what this run
    wrote. If the process dies half way, the old folders wait in ``runs/.replaced-<run id>``.

    Raises:
        RunFailed: before anything changes, when a file of the user's has the name of one
            this run wrote.
    """
    replaced = [name for name in PUBLISHED if (staging / name).exists()]
    written = files_under(staging, tuple(replaced))
    kept = foreign_files(output)
    clash = sorted(f for f in kept if f in written
                   or any(str(folder) in written for folder in Path(f).parents))
    if clash:
        raise RunFailed(f"{output / clash[0]} was not written by a cardfraud run and this run "
                        f"writes a file of that name: move it away and run again")
    untouched = {f for f in published_files(output) if f.split("/")[0] not in replaced}
    # listed before the swap, so that a run killed half way never takes ours for the user's
    record_published_files(output, published_files(output) | written)
    trash = output / "runs" / f".replaced-{staging.name}"
    trash.mkdir(parents=True, exist_ok=True)
    for name in replaced:
        if (output / name).exists():
            os.replace(output / name, trash / name)
        os.replace(staging / name, output / name)
        for user_file in sorted(f for f in kept if f.split("/")[0] == name):
            (output / user_file).parent.mkdir(parents=True, exist_ok=True)
            os.replace(trash / user_file, output / user_file)
    os.replace(staging / "run.json", output / "run.json")
    record_published_files(output, written | untouched)
    shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def interrupts_ignored():
    """Ignore Ctrl-C inside the block (publishing, cleaning up), then restore the handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def publish_with_promotion(staging: Path, output: Path, record: dict) -> None:
    """Move ``champion`` to the version this run's registry step promoted, then publish.

    The alias moves last, just before the swap (a registry failure then publishes nothing),
    and moves back when the swap fails, so site, registry and monitoring log stay in step.

    Raises:
        PromotionFailed: the registry could not be updated; nothing was published.
    """
    registry = record.get("registry") or {}
    if not registry.get("promotion_pending"):
        publish(staging, output)
        return
    from .registry_promotion import (
        pending_promotion,
        promote_pending_champion,
        record_promotion,
        restore_champion,
    )

    pending = pending_promotion(registry, record["run_id"])
    if pending is None:
        publish(staging, output)
        return
    since = promote_pending_champion(pending)
    try:
        record["registry"] = record_promotion(registry, since)
        write_json_atomic(staging / "artifacts" / "results" / "registry.json", record["registry"])
        write_json_atomic(staging / "run.json", record)
        publish(staging, output)
    except BaseException:
        restore_champion(pending)
        raise
    _say(f"registry: version {pending.version} of {pending.model_name} is now champion")


def _say(text: str) -> None:
    print(text, flush=True)


def run_pipeline(
    params_path: str | Path = PROJECT_ROOT / "params" / "default.yaml",
    overrides: list[str] | None = None,
    only: list[str] | None = None,
    from_step: str | None = None,
    output_dir: str | Path | None = None,
    renderer: str = "auto",
    render: bool = True,
    fresh_kernels: bool = False,
) -> int:
    """Run the chosen steps and publish; return the process exit code.

    0 ok, 1 failed, 2 usage (bad params, an output dir the run may not write in), 130
    interrupted (Ctrl-C). Relative paths are taken from the current working directory;
    without ``output_dir`` the run publishes into the project's ``reports/``.
    """
    from . import site

    try:
        cwd = Path.cwd()
        steps = discover_steps()
        chosen = with_summary(steps, select_steps(steps, only, from_step))
        params, declared = resolve_params(params_path, overrides or [], steps)
        params = paths_from_caller(params, cwd)
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
        return _run_locked(params, declared, params_path, steps, chosen, output, renderer,
                           render, fresh_kernels)
    finally:
        lock.__exit__(None, None, None)


def _run_locked(params, declared, params_path, steps, chosen, output, renderer, render,
                fresh_kernels) -> int:
    """Run the steps with the output dir locked; see :func:`run_pipeline`."""
    from . import site

    run_id = new_run_id()
    partial = len(chosen) < len(steps)
    staging = prepare_staging(output, run_id, partial)
    record = {"run_id": run_id, "status": "running", "started_at": _now(), "finished_at": None,
              "git_commit": git_commit(), "params_file": str(params_path), "params": params,
              "output_dir": str(output), "steps": [], "renderer": None}
    progress = sys.stdout.isatty()
    started = time.perf_counter()
    kernel = StepKernel(fresh=fresh_kernels)
    held = ExitStack()  # the promotion lock, from the registry step until the run has published
    try:
        for index, step in enumerate(chosen, start=1):
            if step.name == REGISTRY_STEP:
                held.enter_context(run_promotion_lock(params))
            _say(f"[{index}/{len(chosen)}] {step.name}: running {step.notebook.name}")
            parameters = step_parameters(params, step.name, declared[step.name])
            parameters.update(output_dir=str(staging), run_id=run_id)
            entry = {"name": step.name, "notebook": step.notebook.name, "status": "running"}
            record["steps"].append(entry)
            try:
                seconds = kernel.execute(step.notebook, staging / "executed" / step.executed_name,
                                         parameters, NOTEBOOKS_DIR, progress)
            except NotebookFailed as exc:
                entry["status"] = "failed"
                raise RunFailed(f"step '{step.name}' failed {exc}") from None
            entry["seconds"] = round(seconds, 2)
            entry["status"] = "ok"
            _say(f"[{index}/{len(chosen)}] {step.name}: done in {entry['seconds']:.1f} s")
        record.update(collect_results(staging))
        record["data"] = record.get("load", {}).get("data")
        if render:
            render_started = time.perf_counter()
            record["renderer"] = site.build_site(staging, record, steps, renderer)
            record["render_seconds"] = round(time.perf_counter() - render_started, 2)
            _say(f"site: rendered with {record['renderer']} in {record['render_seconds']:.1f} s")
        record.update(status="ok", finished_at=_now(),
                      seconds=round(time.perf_counter() - started, 2))
        write_json_atomic(staging / "run.json", record)
        with interrupts_ignored():
            publish_with_promotion(staging, output, record)
    except (RunFailed, site.RenderError, PromotionFailed) as exc:
        record.update(status="failed", finished_at=_now(), error=str(exc).splitlines()[0])
        write_json_atomic(staging / "run.json", record)
        print(f"FAILED: {exc}", file=sys.stderr)
        print(f"  nothing published: {output} still holds the previous run", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        with interrupts_ignored():  # a second Ctrl-C must not cut the clean-up short
            record.update(status="interrupted", finished_at=_now(), error="interrupted (Ctrl-C)")
            for entry in record["steps"]:
                if entry["status"] == "running":
                    entry["status"] = "interrupted"
            write_json_atomic(staging / "run.json", record)
            kernel.shutdown()
        print(INTERRUPTED, file=sys.stderr)
        return INTERRUPTED_EXIT
    finally:
        kernel.shutdown()
        held.close()
    _say(f"run {run_id} ok in {record['seconds']:.1f} s")
    if render:
        _say(f"site: {output / 'site' / 'index.html'}")
    return 0


def run_promotion_lock(params: dict):
    """Return the promotion lock of the run's model and store (see ``promotion_lock``)."""
    from .registry_promotion import promotion_lock
    from .tracking import resolve_tracking_uri

    common = params.get(COMMON_SECTION, {})
    uri = resolve_tracking_uri(common.get("tracking_uri"))
    return promotion_lock(uri, common["model_name"], say=_say)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
