"""Georeferencing: where cards are compromised and where fraud happens, for the cybersecurity team.

Answers: which departments and map cells carry a fraud rate significantly above the rest (hot
spots, with the false discovery rate controlled), which merchants are common points of purchase
of later-defrauded cards (suspected skimmers and leaking online merchants), and which cards
visited them and are not defrauded yet (the cards to reissue). Reads
``artifacts/transactions.parquet`` (``latitude``, ``longitude``, ``card_id``, ``merchant_id``,
``timestamp``, ``city``, ``fraud``; each analysis says which missing column turns it off) and
the country's boundaries (shipped Colombia files, or ``geo.boundaries``). Writes the step's
results (``artifacts/results/georeferencing.json``), its figures, and the exports for GIS tools
under ``artifacts/geo/``: ``hot_spots.geojson``, ``suspected_points.geojson``, the same tables as
CSV and ``cards_at_risk.csv``.

Modules: ``boundaries`` (GeoJSON, point-in-polygon, drawing), ``hot_spots`` (cells, tests,
departments), ``cpp`` (common point of purchase, cards at risk), ``exports``, ``maps``,
``step`` (what the data allows, the step's results and sentences, the ``geo`` command),
``page`` (``run_georeferencing``: the step's sequence of calls, written once).

A Spark run hands the step a Spark DataFrame: ``run_georeferencing`` then takes the counting
functions of ``cardfraud.engines.spark_geo`` and ``spark_cpp`` (same names, same results and
exports; only per-cell, per-merchant and exported rows reach the driver).
"""
