"""Top-k error, the paper's measure (Tables 2, 4-7), with ties counted against the label."""

import keras
from keras import ops


def top_k_hits(scores, labels, k):
    """Whether each label is among the `k` highest scores.

    A class scoring the same as the label counts as ranked above it, as in Caffe's
    AccuracyLayer: saturated softmax scores (many exact zeros) and ties are never hits.
    So does a NaN score, and a NaN label score misses: a diverged network has error 1,
    not 0 (`scores >= label` is false for NaN and would rank the label first).
    (`tf.math.in_top_k`, and so Keras's top-k accuracy, counts every tied class as in the
    top k: a confident wrong prediction with 5+ zero scores would be a top-5 hit.)

    Args:
        scores: (N, classes) scores (a NumPy array or a tensor).
        labels: (N,) or (N, 1) integer labels.
        k: How many of the highest scores count.

    Returns:
        (N,) boolean tensor.
    """
    scores = ops.convert_to_tensor(scores)
    labels = ops.reshape(ops.cast(labels, "int32"), (-1, 1))
    label_scores = ops.take_along_axis(scores, labels, axis=1)
    # Classes not scoring strictly below the label (the label itself, ties and NaNs).
    return ops.sum(ops.cast(ops.logical_not(scores < label_scores), "int32"), axis=1) <= k


def top_k_error(y_true, y_pred, k=1):
    """Per-example top-k error: 0 for a hit, 1 for a miss (see `top_k_hits`)."""
    return 1.0 - ops.cast(top_k_hits(y_pred, y_true, k), "float32")


@keras.saving.register_keras_serializable(package="keras_prelu")
class TopKError(keras.metrics.MeanMetricWrapper):
    """Mean top-k error for integer labels: top-1 error (k=1), top-5 error (k=5).

    Args:
        k: How many of the highest scores count.
        name: Defaults to "top{k}_error".
        dtype: The metric's dtype.
    """

    def __init__(self, k=1, name=None, dtype=None):
        super().__init__(top_k_error, name=name or f"top{k}_error", dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"k": self.k, "name": self.name, "dtype": self.dtype}
