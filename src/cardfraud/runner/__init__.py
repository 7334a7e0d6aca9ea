"""The runner: runs the notebooks in order and publishes their outputs (``run_all.py``).

Answers: which steps run, with which parameters, into which output dir? Reads ``params/*.yaml``,
``--set`` overrides and the notebooks. Writes the executed notebooks, ``run.json`` and the
artifacts every step hands on (their names live in ``artifacts``), staged then published.
"""
