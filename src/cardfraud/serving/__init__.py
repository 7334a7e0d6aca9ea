"""Serving: the model registry, the champion and scoring of new purchases.

Answers: which model version is the champion, should the new one replace it, and what does it
say about new purchases (their fraud probability, the decision, and why)? Reads the modeling step's results and MLflow runs. Writes registered
model versions and aliases (the champion moves at publish), the registry step's results and
scored files (``python -m cardfraud score``).
"""
