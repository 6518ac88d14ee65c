"""The paper's training recipe (Sec. 3) as library functions; `recipes/train.py` drives it.

>>> from keras_prelu.training import TrainConfig, train
>>> result = train(TrainConfig.load("recipes/configs/fashion_mnist.toml"))
>>> result.errors["top1_error"]
"""

from keras_prelu.training.config import DATASETS, TrainConfig
from keras_prelu.training.loop import TrainResult, build_model, train
from keras_prelu.training.slopes import format_slope_table, learned_slopes
from keras_prelu.training.strategy import choose_strategy

__all__ = [
    "DATASETS",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "choose_strategy",
    "format_slope_table",
    "learned_slopes",
    "train",
]
