"""Where fraud concentrates, for the executive summary: channel, authentication, distance, places.

Reads the EDA results; an input the extract lacks (``inputs_unknown``: e.g. no chip or PIN in
a raw extract) gets a sentence saying it is unknown and no bar, never a rate from zeros.
"""

from __future__ import annotations

from .markup import join, sentence
from .summary import pct, times
from .translate import N_, _, translate


def concentration_text(results: dict) -> str:
    """Where fraud concentrates: channel, authentication, distance, places."""
    eda = results.get("eda")
    if not eda:
        return _("The exploratory step did not run, so where fraud concentrates is not known.")
    channel, unknown = eda["fraud_rate_by_channel"], _unknown(eda)
    known = {
        "online_order": sentence(_("- **Online purchases** are {times} as likely to be fraudulent "
                                   "as onsite ones ({online} against {onsite})."),
                                 times=times(channel["online"], channel["onsite"]),
                                 online=pct(channel["online"]), onsite=pct(channel["onsite"])),
        "used_pin_number": sentence(_("- **Verified purchases** (PIN onsite, one-time code "
                                      "online) are rarely fraudulent: {with_pin} against "
                                      "{without_pin} without."),
                                    with_pin=pct(eda["fraud_rate_with_pin"]),
                                    without_pin=pct(eda["fraud_rate_without_pin"])),
        "used_chip": sentence(_("- **Chip or token** present: {with_chip} against {without_chip} "
                                "without."), with_chip=pct(eda["fraud_rate_with_chip"]),
                              without_chip=pct(eda["fraud_rate_without_chip"])),
    }
    lines = [f"- **{translate(_WORDS[name])}**: {unknown[name]}." if name in unknown else line
             for name, line in known.items()]
    bands = eda.get("fraud_rate_by_distance_band") or []
    if bands:
        near, far = bands[0], max(bands, key=lambda b: b["rate"] or 0)  # empty band: None
        lines.append(sentence(_("- **Distance from home**: {near_rate} of purchases within "
                                "{near} are fraudulent, {far_rate} at {far}."),
                              near_rate=pct(near["rate"]), near=near["band"],
                              far_rate=pct(far["rate"]), far=translate(far["band"])))
        if gap := (eda.get("inputs_partly_unknown") or {}).get("distance_from_home"):
            lines[-1] = sentence(_("{line} Distance from home is unknown on {n:,} purchases "
                                   "(cards with no home), left out of these rates."),
                                 line=lines[-1], n=gap)
    spots = (results.get("georeferencing") or {}).get("hot_spots") or []
    if spots:
        top = join(", ", (sentence("{city} ({department}, {rate})", city=s["city"] or _("an area"),
                                   department=s["department"], rate=pct(s["fraud_rate"]))
                          for s in spots[:3]))
        lines.append(sentence(_("- **Hot spots**, places with a fraud rate significantly above "
                                "the rest: {top}."), top=top))
    return "\n".join(lines)


_WORDS = {"online_order": N_("Channel"), "used_pin_number": N_("PIN or one-time code"),
          "used_chip": N_("Chip or token")}


def _unknown(eda: dict) -> dict[str, str]:
    """The inputs the extract lacks (EDA results), each with its 'unknown: ...' wording."""
    from ..data.schema import unknown_input_text

    return {name: unknown_input_text(name) for name in eda.get("inputs_unknown", [])}


def concentration_figure(results: dict):
    """Bar chart of the fraud rate by channel and by authentication, from the EDA results."""
    import matplotlib.pyplot as plt

    eda = results.get("eda")
    if not eda:  # e.g. --only load on a new output dir: the summary still runs
        fig, ax = plt.subplots(figsize=(8, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, _("The exploratory step has not run: no fraud rates by channel yet."),
                ha="center", va="center")
        return fig
    pairs = {"online_order": ((_("onsite"), eda["fraud_rate_by_channel"]["onsite"]),
                              (_("online"), eda["fraud_rate_by_channel"]["online"])),
             "used_pin_number": ((_("verified\n(PIN / code)"), eda["fraud_rate_with_pin"]),
                                 (_("not verified"), eda["fraud_rate_without_pin"])),
             "used_chip": ((_("chip / token"), eda["fraud_rate_with_chip"]),
                           (_("no chip"), eda["fraud_rate_without_chip"]))}
    unknown = _unknown(eda)  # no bar for an input the extract lacks: a note says so
    shown = [bar for name, two in pairs.items() if name not in unknown for bar in two]
    labels, rates = [label for label, _rate in shown], [rate for _label, rate in shown]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    bars = ax.bar(labels, [100 * r for r in rates], color=["#9fb3c8", "#c8423b"] * len(pairs))
    ax.bar_label(bars, labels=[pct(r) for r in rates], padding=2)
    ax.set_title(_("Share of purchases that were fraudulent"))
    ax.set_ylabel(_("fraud rate (%)"))
    ax.set_ylim(0, 100 * max(rates, default=0.01) * 1.2)
    ax.spines[["top", "right"]].set_visible(False)
    if unknown:
        fig.text(0.01, 0.01, "; ".join(unknown.values()), fontsize=8, color="#555555")
    fig.tight_layout(rect=(0, 0.05 if unknown else 0, 1, 1))
    return fig
