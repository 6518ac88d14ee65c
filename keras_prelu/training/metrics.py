"""Top-k error, the paper's measure (Tables 2, 4-7)."""

import keras


@keras.saving.register_keras_serializable(package="keras_prelu")
class TopKError(keras.metrics.SparseTopKCategoricalAccuracy):
    """1 - top-k accuracy for integer labels: top-1 error (k=1), top-5 error (k=5)."""

    def __init__(self, k=1, name=None, **kwargs):
        super().__init__(k=k, name=name or f"top{k}_error", **kwargs)

    def result(self):
        return 1.0 - super().result()
