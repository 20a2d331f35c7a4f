"""Metrics and calibration on known inputs."""
import numpy as np
import pytest

from genre.training import evaluate


def test_metrics_on_a_known_confusion():
    genres = ["a", "b", "c"]
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 0])
    m = evaluate.metrics(labels, predicted, genres)
    assert m["n"] == 6 and m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["per_genre"] == {"a": 0.5, "b": 1.0, "c": 0.5}
    # F1: a = 0.5, b = 0.8, c = 2/3
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert m["predicted_share"] == {"a": pytest.approx(2 / 6, abs=1e-4), "b": 0.5, "c": pytest.approx(1 / 6, abs=1e-4)}


def test_ece_is_zero_when_confidence_matches_accuracy_and_large_when_overconfident():
    rng = np.random.default_rng(0)
    n = 4000
    labels = rng.integers(0, 2, n)
    # Confidence 0.75, right 75 % of the time: calibrated.
    right = rng.random(n) < 0.75
    predicted = np.where(right, labels, 1 - labels)
    probs = np.zeros((n, 2))
    probs[np.arange(n), predicted] = 0.75
    probs[np.arange(n), 1 - predicted] = 0.25
    assert evaluate.expected_calibration_error(probs, labels) < 0.03
    over = np.where(probs == 0.75, 0.99, 0.01)
    assert evaluate.expected_calibration_error(over, labels) == pytest.approx(0.24, abs=0.03)


def test_fit_temperature_undoes_overconfidence():
    rng = np.random.default_rng(1)
    n, k = 3000, 4
    logits = rng.normal(size=(n, k))
    true_probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(k, p=p) for p in true_probs])
    sharp = evaluate.temper(true_probs, 0.5)  # twice as confident as it should be
    t = evaluate.fit_prob_temperature(sharp, labels)
    assert 1.7 <= t <= 2.3
    assert evaluate.expected_calibration_error(evaluate.temper(sharp, t), labels) < \
        evaluate.expected_calibration_error(sharp, labels)


def test_unsure_threshold_sits_where_verdicts_turn_mostly_wrong():
    rng = np.random.default_rng(3)
    n = 200
    conf = np.concatenate([rng.uniform(0.26, 0.45, n // 2), rng.uniform(0.55, 0.95, n // 2)])
    right = np.concatenate([rng.random(n // 2) < 0.2, rng.random(n // 2) < 0.9])
    predicted = np.where(right, 0, 1)
    probs = np.tile(((1 - conf) / 3)[:, None], (1, 4))
    probs[np.arange(n), predicted] = conf
    t = evaluate.wrong_below(probs, np.zeros(n, int))
    assert 0.45 <= t <= 0.6
