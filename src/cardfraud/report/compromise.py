"""The board summary's words on where cards were compromised (the georeferencing step).

Read from ``artifacts/results/georeferencing.json``: the top suspected points in plain words
(place, window, cards defrauded) and the number of cards at risk.
"""

from __future__ import annotations

from ..geo.step import point_in_words
from .locale_format import format_percent as pct
from .markup import code, join, sentence
from .translate import _


def compromise_text(results: dict) -> str:
    """Where cards were compromised: the top suspected points in plain words, the cards at risk."""
    geo = results.get("georeferencing")
    if not geo:
        return _("The georeferencing step did not run, so no point of compromise was looked for.")
    if not geo["cpp"]:
        missing = join(", ", (code(c) for c in geo["missing_columns"]["cpp"]))
        return sentence(_("The data has no {missing} column, so no common point of purchase "
                          "could be looked for."), missing=missing)
    points = geo["suspected_points"]
    if not points:
        return sentence(_("No merchant stands out as a common point of purchase of the defrauded "
                          "cards (false discovery rate {fdr})."), fdr=pct(geo["parameters"]["fdr"], 0))
    lines = [sentence(_("**{n:,} suspected points of compromise** (skimmed shops or leaking "
                        "online merchants); the first:"), n=geo["suspected_point_count"])]
    lines += [f"- {point_in_words(p)}" for p in points[:3]]
    lines.append(sentence(_("**{cards:,} cards** used a suspected point inside its window and "
                            "show no fraud yet: the list to reissue (cards_at_risk.csv)."),
                          cards=geo["cards_at_risk"]))
    return "\n".join(lines)


def compromise_actions(results: dict) -> list[str]:
    """The next action on compromised cards: reissue those at risk, inspect the points."""
    geo = results.get("georeferencing") or {}
    if not geo.get("cards_at_risk"):
        return []
    return [sentence(_("Reissue the {cards:,} cards at risk and have the cybersecurity team "
                       "inspect the {points:,} suspected points of compromise."),
                     cards=geo["cards_at_risk"], points=geo["suspected_point_count"])]
