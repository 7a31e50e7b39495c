"""Scoring a detector as the SKAB benchmark does: outliers row by row, changepoints with NAB."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from maintenance.errors import MaintenanceError
from maintenance.evaluation.metrics import (
    LOW_FN,
    LOW_FP,
    STANDARD,
    Series,
    SeriesRejected,
    changepoints_from_labels,
    detection_windows,
    evaluate,
)


def outliers(name, anomaly, predicted):
    """A run scored only on its outlier labels (no changepoints anywhere)."""
    n = len(anomaly)
    return Series(name, np.arange(float(n)), anomaly, [0] * n, predicted, [0] * n)


def changes(changepoints, detections, n=400, name="run"):
    """A run of ``n`` one-second rows with true changepoints and detections at the given seconds."""
    t = np.arange(float(n))
    return Series(name, t, [0] * n, np.isin(t, changepoints), [0] * n, np.isin(t, detections))


def nab(*runs, window_s=60.0):
    scores = evaluate(runs, window_s=window_s)
    return scores.nab_standard, scores.nab_low_fp, scores.nab_low_fn


def test_outlier_counts_and_rates_are_pooled_over_every_row_of_every_run():
    first = outliers("a", [0, 0, 1, 1, 1, 0], [0, 1, 1, 0, 1, 0])  # TP 2, FP 1, FN 1, TN 2
    second = outliers("b", [0, 0, 0, 1], [0, 0, 0, 0])  # FN 1, TN 3
    scores = evaluate([first, second])
    assert (scores.tp, scores.fp, scores.fn, scores.tn) == (2, 1, 2, 5)
    assert scores.f1 == pytest.approx(2 / (2 + (1 + 2) / 2))  # 0.571..., not the mean of per-run F1s
    assert scores.far == pytest.approx(100 / 6)
    assert scores.mar == pytest.approx(50.0)


def test_a_perfect_outlier_detector():
    scores = evaluate([outliers("a", [0, 1, 1, 0], [0, 1, 1, 0])])
    assert (scores.f1, scores.far, scores.mar) == (1.0, 0.0, 0.0)


def test_rates_without_a_denominator_are_nan_and_none_in_the_dict():
    scores = evaluate([outliers("quiet", [0, 0, 0], [0, 0, 0])])
    assert math.isnan(scores.f1) and math.isnan(scores.mar)
    assert scores.far == 0.0
    assert math.isnan(scores.nab_standard) and math.isnan(scores.mean_delay_s)
    as_dict = scores.as_dict()
    assert as_dict["f1"] is None and as_dict["mar"] is None and as_dict["nab_low_fn"] is None
    assert as_dict["far"] == 0.0 and as_dict["tn"] == 3
    json.dumps(as_dict, allow_nan=False)
    faulty = evaluate([outliers("all faulty", [1, 1], [1, 0])])  # no normal row to raise a false alarm on
    assert math.isnan(faulty.far) and (faulty.f1, faulty.mar) == (pytest.approx(2 / 3), 50.0)


def test_scores_as_a_dict_are_plain_json_values():
    as_dict = evaluate([changes([100], [130])]).as_dict()
    assert set(as_dict) == {
        "f1",
        "far",
        "mar",
        "tp",
        "fp",
        "fn",
        "tn",
        "nab_standard",
        "nab_low_fp",
        "nab_low_fn",
        "changepoints",
        "missed",
        "false_positives",
        "mean_delay_s",
    }
    assert all(type(v) in (int, float) or v is None for v in as_dict.values())
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict


def test_a_detection_at_the_changepoint_scores_100_in_every_profile():
    assert nab(changes([100], [100]), changes([50, 300], [50, 300])) == (100.0, 100.0, 100.0)


def test_no_detection_scores_0_in_every_profile():
    scores = evaluate([changes([100], []), changes([50, 300], [])])
    assert (scores.nab_standard, scores.nab_low_fp, scores.nab_low_fn) == (0.0, 0.0, 0.0)
    assert (scores.changepoints, scores.missed, scores.false_positives) == (3, 3, 0)


def test_a_detection_at_the_end_of_its_window_earns_a_fp():
    # the window is [100, 160]; S = A_fp, null = A_fn, perfect = A_tp
    assert nab(changes([100], [160])) == (44.5, 39.0, 63.0)
    # at 161 it is a miss and a false positive: S = A_fn + A_fp
    assert nab(changes([100], [161])) == (-5.5, -11.0, -3.67)


@pytest.mark.parametrize("profile", [STANDARD, LOW_FP, LOW_FN])
def test_a_detection_inside_its_window_follows_the_tanh_curve(profile):
    # 20 s into a 60 s window: place int(20 / 60 * 1000) = 333 of 1000 points over [-pi/2, pi/2]
    x = -math.pi / 2 + 333 * math.pi / 999
    earned = profile.a_fp + (profile.a_tp - profile.a_fp) * (1 - math.tanh(x) / math.tanh(math.pi / 2)) / 2
    expected = round(100 * (earned - profile.a_fn) / (profile.a_tp - profile.a_fn), 2)
    got = dict(zip(("standard", "low_fp", "low_fn"), nab(changes([100], [120])), strict=True))
    assert got[profile.name] == pytest.approx(expected, abs=0.005)
    assert 0.0 < got[profile.name] < 100.0


def test_each_false_positive_costs_a_fp_relative_to_the_normalisation():
    # a perfect detection and two false alarms, one before the window and one after it
    run = changes([100], [40, 100, 161])
    scores = evaluate([run])
    assert scores.false_positives == 2
    # S = A_tp + 2 A_fp, null = A_fn, perfect = A_tp: 100 (1 + 2 A_fp - A_fn) / (1 - A_fn)
    assert (scores.nab_standard, scores.nab_low_fp, scores.nab_low_fn) == (89.0, 78.0, 92.67)


def test_only_the_first_detection_in_a_window_counts_and_none_inside_is_false():
    # detections at the start, in the middle and at the end of [100, 160]
    scores = evaluate([changes([100], [100, 130, 160])])
    assert scores.false_positives == 0
    assert (scores.nab_standard, scores.nab_low_fp, scores.nab_low_fn) == (100.0, 100.0, 100.0)
    assert scores.mean_delay_s == 0.0


def test_detections_between_windows_are_false_strictly_outside_both():
    # windows [100, 160] and [250, 310]; 99 and 311 are outside, 161 and 249 between
    scores = evaluate([changes([100, 250], [99, 100, 161, 249, 250, 311])])
    assert (scores.changepoints, scores.missed, scores.false_positives) == (2, 0, 4)


def test_a_run_without_changepoints_adds_false_positives_but_no_windows():
    perfect = changes([100], [100], name="valve1/0")
    quiet = changes([], [10, 20, 30], name="anomaly-free")
    scores = evaluate([perfect, quiet])
    assert (scores.changepoints, scores.missed, scores.false_positives) == (1, 0, 3)
    # pooled: S = 1 - 3 A_fp over one window
    assert (scores.nab_standard, scores.nab_low_fp, scores.nab_low_fn) == (83.5, 67.0, 89.0)
    assert math.isnan(evaluate([quiet]).nab_standard)


def test_runs_are_pooled_before_normalising():
    # one window found at once, two missed in another run: S, null and perfect are summed over
    # the runs, 100 (1 + 2 A_fn - 3 A_fn) / (3 - 3 A_fn), not the mean of the runs' 100 and 0
    scores = evaluate([changes([100], [100]), changes([100, 300], [])])
    assert (scores.nab_standard, scores.nab_low_fp, scores.nab_low_fn) == (33.33, 33.33, 33.33)


def test_a_window_that_reaches_the_next_cuts_the_next_windows_start():
    t = np.arange(400.0)
    windows = detection_windows(t, np.isin(t, [100, 130, 150, 160, 300]), window_s=60.0)
    assert windows.tolist() == [[100, 160], [160, 190], [190, 210], [210, 220], [300, 360]]
    # a window that ends exactly at the next changepoint leaves the next one as it is
    assert detection_windows(t, np.isin(t, [100, 160])).tolist() == [[100, 160], [160, 220]]
    assert detection_windows(t, np.zeros(400)).shape == (0, 2)


def test_a_detection_where_cut_windows_meet_is_in_both():
    # windows [100, 160] and [160, 190]: at 160 it ends the first (A_fp) and starts the second (A_tp)
    scores = evaluate([changes([100, 130], [160])])
    assert (scores.missed, scores.false_positives) == (0, 0)
    # S = A_fp + A_tp over two windows: 100 (S - 2 A_fn) / (2 A_tp - 2 A_fn)
    assert (scores.nab_standard, scores.nab_low_fp, scores.nab_low_fn) == (72.25, 69.5, 81.5)


def test_the_delay_is_measured_from_the_cut_windows_start():
    # windows [100, 160] and [160, 190]: the first missed, the second found 10 s after its start
    # (40 s after its changepoint)
    scores = evaluate([changes([100, 130], [170])])
    assert (scores.changepoints, scores.missed, scores.false_positives) == (2, 1, 0)
    assert scores.mean_delay_s == 10.0


def test_the_mean_delay_is_over_detected_changepoints_of_all_runs():
    scores = evaluate([changes([100, 300], [105]), changes([50], [65, 70])])
    assert (scores.changepoints, scores.missed) == (3, 1)
    assert scores.mean_delay_s == 10.0  # (5 + 15) / 2; the miss does not count


def test_window_length_is_a_parameter():
    assert evaluate([changes([100], [150])], window_s=30.0).missed == 1
    assert evaluate([changes([100], [150])], window_s=60.0).missed == 0
    with pytest.raises(ValueError, match="window_s"):
        evaluate([changes([100], [150])], window_s=0.0)


def test_irregular_times_are_scored_in_seconds():
    t = [0.0, 10.0, 100.0, 115.0, 400.0]
    run = Series("gappy", t, [0] * 5, [0, 0, 1, 0, 0], [0] * 5, [0, 0, 0, 1, 0])
    scores = evaluate([run])
    assert (scores.missed, scores.mean_delay_s) == (0, 15.0)


def test_changepoints_are_where_the_labels_change():
    assert changepoints_from_labels([0, 0, 1, 1, 0, 1]).tolist() == [0, 0, 1, 0, 1, 1]
    assert changepoints_from_labels([1, 1, 0]).tolist() == [1, 0, 1]
    assert changepoints_from_labels([0.0, 1.0, 1.0]).tolist() == [0, 1, 0]
    assert changepoints_from_labels([True, False]).tolist() == [1, 1]
    assert changepoints_from_labels([]).tolist() == []


def test_predicted_outliers_turned_into_changepoints_are_scored():
    t = np.arange(300.0)
    predicted = (t >= 100) & (t < 200)
    run = Series("valve2/1", t, predicted, t == 100, predicted, changepoints_from_labels(predicted))
    scores = evaluate([run])
    assert (scores.f1, scores.missed, scores.false_positives) == (1.0, 0, 1)  # the end of the outlier is false


def test_series_columns_are_read_only_arrays():
    run = Series("a", [0, 1, 2], [0, 1, 0], [0, 1, 0], [0.0, 1.0, 0.0], [False, True, False])
    assert run.t.dtype == float and run.predicted.dtype == bool
    assert run.predicted.tolist() == [False, True, False]
    with pytest.raises(ValueError):
        run.anomaly[0] = True


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (([0.0, 1.0, 2.0], [0, 1], [0, 0, 0], [0, 0, 0], [0, 0, 0]), "anomaly has 2 rows, t has 3"),
        (
            ([0.0, 1.0, 2.0], [0, 1, 0], [0, 0, 0], [0, 2, 0], [0, 0, 0]),
            r"predicted holds values other than 0 and 1 \(2\)",
        ),
        (([0.0, 1.0, 2.0], [0, 1, 0], [0, float("nan"), 0], [0, 0, 0], [0, 0, 0]), "changepoint holds values other"),
        (([0.0, 1.0, 2.0], [0, 1, 0], [0, 0, 0], [0, 0, 0], ["0", "1", "0"]), "must be 0/1 labels"),
        (([0.0, 2.0, 2.0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]), r"row 2 \(2.0\) follows 2.0"),
        (([0.0, 2.0, 1.0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]), "t must increase strictly"),
        (([0.0, float("nan"), 2.0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]), "not a finite number"),
        ((np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[ns]"), [0, 0], [0, 0], [0, 0], [0, 0]), "seconds"),
        (([[0.0, 1.0]], [0, 0], [0, 0], [0, 0], [0, 0]), r"one value per row, got shape \(1, 2\)"),
    ],
)
def test_a_series_that_cannot_be_scored_is_rejected_when_built(columns, message):
    with pytest.raises(SeriesRejected, match=message) as caught:
        Series("valve1/3", *columns)
    assert "'valve1/3'" in str(caught.value)
    assert isinstance(caught.value, MaintenanceError) and isinstance(caught.value, ValueError)
