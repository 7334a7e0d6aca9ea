"""Drift metrics: PSI, JS distance, KS and chi-square against hand-computed values, statuses."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cardfraud.monitoring import drift as d

# --------------------------------------------------------------------------- metrics by hand


def test_identical_samples_have_zero_psi_and_zero_js_distance():
    values = np.random.default_rng(0).lognormal(size=5000)
    binned = d.bin_values(values, values, bins=10)
    assert d.population_stability_index(binned.reference_counts, binned.current_counts) == 0.0
    assert d.js_distance(binned.reference_counts, binned.current_counts) == pytest.approx(0.0, abs=1e-7)
    assert binned.reference_counts.tolist() == [500] * 10


def test_psi_of_two_bins_matches_the_formula():
    # shares 0.5/0.5 -> 0.8/0.2: 0.3 ln(0.8/0.5) + (-0.3) ln(0.2/0.5) = 0.3 ln 4
    assert d.population_stability_index([50, 50], [80, 20]) == pytest.approx(0.3 * math.log(4))


def test_empty_bin_gets_epsilon_so_psi_stays_finite():
    # reference share 0 in bin 2 becomes 1e-4: (0.5 - 1) ln 0.5 + (0.5 - 1e-4) ln(0.5 / 1e-4)
    expected = -0.5 * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert d.population_stability_index([100, 0], [50, 50]) == pytest.approx(expected)


def test_quantile_bins_of_reference_and_a_sample_shifted_into_the_top_half():
    reference = np.linspace(0.0, 1.0, 10_001)
    current = np.linspace(0.5001, 1.0, 5_000)
    binned = d.bin_values(reference, current, bins=10)
    ref_share, cur_share = binned.shares()
    assert ref_share == pytest.approx([0.1] * 10, abs=2e-4)
    assert cur_share == pytest.approx([0] * 5 + [0.2] * 5, abs=5e-4)
    # 5 bins 0.1 -> 0.2 and 5 bins 0.1 -> 0 (1e-4)
    expected = 5 * 0.1 * math.log(2) + 5 * (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    psi = d.population_stability_index(binned.reference_counts, binned.current_counts)
    assert psi == pytest.approx(expected, rel=1e-2)
    assert binned.labels[0] == "< 0.1" and binned.labels[-1] == "≥ 0.9"


@pytest.mark.parametrize("shift, status", [(0.0, "ok"), (0.05, "ok"), (0.4, "watch"), (1.0, "alert")])
def test_a_shifted_sample_crosses_the_thresholds(shift, status):
    rng = np.random.default_rng(1)
    reference, current = rng.normal(size=100_000), rng.normal(shift, 1.0, 50_000)
    row, _ = d.compare_feature(reference, current, flag=False, bins=10, psi_watch=0.1, psi_alert=0.25)
    assert row["status"] == status
    assert row["test"] == "KS"
    if shift >= 0.4:
        assert row["p_value"] < 1e-10  # the test calls everything significant; the PSI decides


def test_flag_psi_uses_category_frequencies_not_collapsed_quantile_bins():
    reference = np.array([1] * 70 + [0] * 30)
    current = np.array([1] * 50 + [0] * 50)
    assert len(d.quantile_edges(reference, 10)) <= 3  # 10 quantile bins of a 0/1 flag collapse
    binned = d.bin_values(reference, current, flag=True)
    assert binned.reference_counts.tolist() == [30, 70]
    assert binned.current_counts.tolist() == [50, 50]
    expected = (0.5 - 0.7) * math.log(0.5 / 0.7) + (0.5 - 0.3) * math.log(0.5 / 0.3)
    row, _ = d.compare_feature(reference, current, True, 10, 0.1, 0.25)
    assert row["psi"] == pytest.approx(expected)  # 0.1695
    assert (row["status"], row["test"]) == ("watch", "chi-square")
    assert row["reference"] == pytest.approx(0.7) and row["current"] == pytest.approx(0.5)


def test_flag_that_only_takes_one_value_in_both_samples():
    row, binned = d.compare_feature(np.zeros(50), np.zeros(20), True, 10, 0.1, 0.25)
    assert row["psi"] == 0.0 and row["p_value"] == 1.0 and row["status"] == "ok"


def test_js_distance_by_hand():
    assert d.js_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    # p = (.5, .5), q = (1, 0), m = (.75, .25); JSD = (KL(p||m) + KL(q||m)) / 2 in bits
    kl_p = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    kl_q = math.log2(1 / 0.75)
    assert d.js_distance([5, 5], [10, 0]) == pytest.approx(math.sqrt((kl_p + kl_q) / 2))


def test_chi_square_on_equal_and_different_shares():
    assert d.chi_square_test([30, 70], [30, 70]) == pytest.approx((0.0, 1.0))
    statistic, p_value = d.chi_square_test([500, 500], [800, 200])
    # 2 x 2 table: N (ad - bc)^2 / (row and column totals) = 2000 * 300000^2 / (1000^2 * 1300 * 700)
    assert statistic == pytest.approx(2000 * 300_000**2 / (1000 * 1000 * 1300 * 700))
    assert p_value < 1e-30


@pytest.mark.parametrize("psi, status", [(0.0, "ok"), (0.0999, "ok"), (0.1, "watch"),
                                         (0.2499, "watch"), (0.25, "alert"), (3.0, "alert")])
def test_status_from_psi_thresholds(psi, status):
    assert d.drift_status(psi, 0.1, 0.25) == status


def test_worst_status():
    assert d.worst_status(["ok", None, "watch", "ok"]) == "watch"
    assert d.worst_status(["ok", "alert", "watch"]) == "alert"
    assert d.worst_status([None]) == "ok"


@pytest.mark.parametrize("kwargs, message", [
    ({"bins": 1, "psi_watch": 0.1, "psi_alert": 0.25}, "bins must be an integer >= 2"),
    ({"bins": 10, "psi_watch": 0.3, "psi_alert": 0.25}, "need 0 < psi_watch < psi_alert"),
    ({"bins": 10, "psi_watch": 0.1, "psi_alert": 0.25, "current_days": 0}, "current_days must be"),
])
def test_bad_monitoring_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        d.check_monitoring_params(**kwargs)
