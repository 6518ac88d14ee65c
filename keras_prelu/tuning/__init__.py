"""A keras-tuner search over LReLU's slope, beside PReLU learning it (Sec. 2.1, Table 2).

The paper: a fixed LReLU slope chosen by cross-validation can match ReLU "but needs
tedious, repeated training"; PReLU learns the slope in one run. `search(TuneConfig)` does
that repeated training with keras-tuner (random, Bayesian or Hyperband search), each trial
a run of the run machinery (`keras_prelu.training`: checkpoints and exact resume,
learning-rate stages, divergence stop), trains ReLU and PReLU (channel-wise and
channel-shared) on the same budget, and reports the validation error against the slope as
a table and a plot. `recipes/tune_lrelu.py` is its command line.

>>> from keras_prelu.tuning import TuneConfig, search
>>> result = search(TuneConfig.load("recipes/configs/tune_lrelu.toml"))
>>> result.best.slope, result.best.metrics["val_top1_error"]
"""

from keras_prelu.tuning.hypermodel import LReLUSlopeHyperModel, default_config
from keras_prelu.tuning.search import SearchResult, distributed_role, make_tuner, search
from keras_prelu.tuning.settings import OBJECTIVES, TUNERS, SearchSettings, TuneConfig
from keras_prelu.tuning.tuners import BayesianOptimization, Hyperband, RandomSearch

__all__ = [
    "OBJECTIVES",
    "TUNERS",
    "BayesianOptimization",
    "Hyperband",
    "LReLUSlopeHyperModel",
    "RandomSearch",
    "SearchResult",
    "SearchSettings",
    "TuneConfig",
    "default_config",
    "distributed_role",
    "make_tuner",
    "search",
]
