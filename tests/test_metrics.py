import keras
import numpy as np
import pytest

from keras_prelu.metrics import TopKError, top_k_hits

RNG = np.random.default_rng(0)


def reference_hits(scores, labels, k):
    """Rank of the label = classes scoring at least as much, itself excluded (Caffe)."""
    return np.array([np.sum(row >= row[label]) - 1 < k
                     for row, label in zip(scores, labels, strict=True)])


def test_hits_are_labels_among_the_k_highest_scores():
    scores = RNG.standard_normal((50, 12)).astype("float32")
    labels = RNG.integers(0, 12, 50)
    order = np.argsort(-scores, axis=1)  # no ties among random floats
    for k in (1, 5, 12):
        expected = [label in row[:k] for row, label in zip(order, labels, strict=True)]
        np.testing.assert_array_equal(np.asarray(top_k_hits(scores, labels, k)), expected)


def test_ties_count_against_the_label():
    # A saturated softmax: one class at 1, the rest exactly 0. in_top_k would call every
    # label a top-5 hit; only the top class is one.
    scores = np.array([[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]] * 3, "float32")
    np.testing.assert_array_equal(np.asarray(top_k_hits(scores, [1, 0, 6], 5)),
                                  [True, False, False])
    tied = np.array([[0.5, 0.5, 0.0]], "float32")
    np.testing.assert_array_equal(np.asarray(top_k_hits(tied, [0], 1)), [False])
    np.testing.assert_array_equal(np.asarray(top_k_hits(tied, [0], 2)), [True])


def test_nan_scores_are_errors_not_hits():
    # A diverged network scores NaN everywhere: every example is a miss, even top-5.
    diverged = np.full((4, 10), np.nan, "float32")
    for k in (1, 5):
        np.testing.assert_array_equal(np.asarray(top_k_hits(diverged, [0, 3, 5, 9], k)),
                                      [False] * 4)
    # One NaN among finite scores ranks above the label.
    scores = np.array([[0.1, 0.7, np.nan, 0.2]], "float32")
    np.testing.assert_array_equal(np.asarray(top_k_hits(scores, [1], 1)), [False])
    np.testing.assert_array_equal(np.asarray(top_k_hits(scores, [1], 2)), [True])


@pytest.mark.parametrize("k", [1, 5])
def test_metric_in_evaluate_matches_numpy_with_saturated_scores(k):
    # Scores quantised to a few values, so ties are everywhere.
    scores = np.round(RNG.random((64, 10)) * 3).astype("float32") / 3
    labels = RNG.integers(0, 10, 64)
    inputs = keras.Input((10,))
    model = keras.Model(inputs, keras.layers.Identity()(inputs))
    model.compile(loss="sparse_categorical_crossentropy", metrics=[TopKError(k)])
    result = model.evaluate(scores, labels, batch_size=16, verbose=0, return_dict=True)
    want = 1 - reference_hits(scores, labels, k).mean()
    assert result[f"top{k}_error"] == pytest.approx(want, abs=1e-6)


def test_metric_config_round_trip():
    metric = TopKError(5, name="err5")
    clone = TopKError.from_config(metric.get_config())
    assert (clone.k, clone.name) == (5, "err5")
    assert keras.saving.get_registered_name(TopKError) == "keras_prelu>TopKError"
