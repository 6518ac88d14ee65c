"""Top-1/top-5 error of trained classifiers by the paper's testing methods (Sec. 3, Sec. 4).

`evaluate(model, data, method)` with method "center" (centre 224 crop), "ten_view" (four
corners, centre and their flips; Tables 2, 5) or "dense" (every 14x14 window of the conv map
of the whole image, its flip and several scales; Tables 4, 6).

>>> from keras_prelu.evaluation import evaluate, load_test_set
>>> result = evaluate(model, load_test_set("imagenet2012"), "dense", scales=(256, 384, 480))
>>> result.top1_error, result.top5_error, result.images
"""

from keras_prelu.evaluation.datasets import DATASETS, load_test_set
from keras_prelu.evaluation.dense import dense_scores, window_features
from keras_prelu.evaluation.run import (
    CROP_SIZE,
    PAPER_SCALES,
    Evaluation,
    dataset_scores,
    evaluate,
)
from keras_prelu.evaluation.scores import METHODS, Scorer
from keras_prelu.evaluation.views import center_view, ten_views

__all__ = [
    "CROP_SIZE",
    "DATASETS",
    "METHODS",
    "PAPER_SCALES",
    "Evaluation",
    "Scorer",
    "center_view",
    "dataset_scores",
    "dense_scores",
    "evaluate",
    "load_test_set",
    "ten_views",
    "window_features",
]
