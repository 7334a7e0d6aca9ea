"""A step that runs Spark out of memory says so, and what to set, in its one-line failure."""

from __future__ import annotations

import papermill
import pytest
from papermill.exceptions import PapermillExecutionError

from cardfraud.engines.spark_session import out_of_memory_advice
from cardfraud.runner.kernel import NotebookFailed, StepKernel

# what a Py4JJavaError's text looks like when an executor ran out of heap (30M purchases on a
# 4 GB driver heap, modeling step): the call first, the reason deep in the Java trace
JAVA_HEAP = (
    "An error occurred while calling o5063.collectToPython.\n"
    ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 4 in stage 235.0 "
    "failed 1 times, most recent failure: Lost task 4.0 in stage 235.0 (TID 1897) "
    "(localhost executor driver): java.lang.OutOfMemoryError: Java heap space\n"
    "\tat java.base/java.lang.invoke.DirectMethodHandle.allocateInstance(DirectMethodHandle.java:520)\n")


def test_the_advice_names_the_reason_and_the_setting():
    advice = out_of_memory_advice(JAVA_HEAP)
    assert advice.startswith("Spark ran out of memory (Java heap space)")
    assert "common.spark.conf={spark.driver.memory: 8g}" in advice
    assert "keeping your other common.spark.conf keys" in advice  # --set replaces the map


@pytest.mark.parametrize("text, reason, setting", [
    ("Caused by: java.lang.OutOfMemoryError: GC overhead limit exceeded\n",
     "GC overhead limit exceeded", "spark.driver.memory"),
    ("java.lang.OutOfMemoryError: Direct buffer memory\r\n\tat java.nio.Bits", "Direct buffer memory",
     "MaxDirectMemorySize"),
    ("io.netty.util.internal.OutOfDirectMemoryError: failed to allocate 16777216 byte(s)",
     "failed to allocate 16777216 byte(s)", "MaxDirectMemorySize"),
    ("org.apache.spark.memory.SparkOutOfMemoryError: [UNABLE_TO_ACQUIRE_MEMORY] Unable to "
     "acquire 65536 bytes of memory, got 0.", "[UNABLE_TO_ACQUIRE_MEMORY] Unable to acquire "
     "65536 bytes of memory, got 0.", "spark.driver.memory"),
    ("at java.io.ByteArrayOutputStream.hugeCapacity\njava.lang.OutOfMemoryError\n",
     "java.lang.OutOfMemoryError", "spark.driver.memory"),
])
def test_every_way_the_jvm_says_it_ran_out_gets_the_setting_of_its_kind(text, reason, setting):
    advice = out_of_memory_advice(text)
    assert advice.startswith(f"Spark ran out of memory ({reason})")
    assert setting in advice


def test_other_spark_errors_get_no_advice():
    assert out_of_memory_advice("An error occurred while calling o12.count.\n: "
                                "org.apache.spark.SparkFileNotFoundException: x.parquet") is None
    assert out_of_memory_advice("") is None


def test_a_failed_step_carries_the_advice_beside_the_failed_call(monkeypatch, tmp_path):
    def fail(*args, **kwargs):
        raise PapermillExecutionError(4, 5, "run_modeling(...)", "Py4JJavaError", JAVA_HEAP, [])

    monkeypatch.setattr(papermill, "execute_notebook", fail)
    with pytest.raises(NotebookFailed) as failed:
        StepKernel(fresh=True).execute(tmp_path / "05_modeling.ipynb", tmp_path / "out.ipynb",
                                       {}, tmp_path, progress=False)
    lines = str(failed.value).splitlines()
    assert lines[0] == ("at cell 5: Py4JJavaError: An error occurred while calling "
                        "o5063.collectToPython.")
    assert lines[1].strip().startswith("Spark ran out of memory (Java heap space)")
    assert lines[2].strip() == f"traceback in {tmp_path / 'out.ipynb'}"


def test_a_process_started_in_the_block_writes_its_stderr_into_the_log(tmp_path, capfd):
    import subprocess
    import sys

    from cardfraud.engines.spark_session import stderr_into

    log = tmp_path / "run" / "spark.log"
    with stderr_into(str(log)):
        subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('WARN Utils: noise\\n')"],
                       check=True)
    sys.stderr.write("ours again\n")
    assert log.read_text() == "WARN Utils: noise\n"
    assert capfd.readouterr().err == "ours again\n"


def test_a_jvm_that_died_of_it_is_told_from_its_log(tmp_path):
    from cardfraud.runner.pipeline import spark_log_lines

    log = tmp_path / "spark.log"
    assert spark_log_lines(log, "at cell 5: Py4JError: Answer from Java side is empty") == []
    log.write_text("26/12/06 21:25:02 ERROR Executor: Exception in task 4.0\n"
                   "java.lang.OutOfMemoryError: Java heap space\n")
    lost = spark_log_lines(log, "at cell 5: ConnectionRefusedError: [Errno 111]")
    assert lost[0].startswith("Spark ran out of memory (Java heap space)")
    assert lost[1] == f"Spark's own log: {log}"
    # said already in the failure: only where the log is
    assert spark_log_lines(log, JAVA_HEAP) == [f"Spark's own log: {log}"]


def test_a_log_that_cannot_be_opened_leaves_stderr_as_it_is(tmp_path, capfd):
    import subprocess
    import sys

    from cardfraud.engines.spark_session import stderr_into

    (tmp_path / "file").write_text("")
    with stderr_into(str(tmp_path / "file" / "spark.log")):  # a file where a folder must be
        subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('seen\\n')"],
                       check=True)
    assert capfd.readouterr().err == "seen\n"
