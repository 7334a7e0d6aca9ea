"""The report: the summary of a run and the published site.

Answers: what did this run find, on one page, and how does a reader browse every step? Reads each
step's results, figures and executed notebooks. Writes the summary step's results and the static
site (``reports/``); ``figures`` and ``markup`` are the shared figure and HTML helpers.
"""
