"""The run machinery every task trains with, and the paper's classification recipe on it.

A task prepares a run (`prepare_run`: strategy, seed, precision, its output directory),
builds and compiles its model in `run.strategy.scope()`, claims the directory
(`run.claim()`) once its setup is valid, and trains with `fit_epochs` (checkpoints and
exact resume, learning-rate stages, divergence stop, logs). Its settings derive from
`RunSettings`, the section every task shares.

>>> from keras_prelu.training import TrainConfig, train
>>> result = train(TrainConfig.load("recipes/configs/fashion_mnist.toml"))
>>> result.errors["top1_error"], result.evaluated_on
"""

from keras_prelu.training.classifier import (
    ClassificationData,
    TrainConfig,
    TrainResult,
    build_model,
    train,
)
from keras_prelu.training.fit import fit_epochs
from keras_prelu.training.model_settings import ModelSettings
from keras_prelu.training.run import Run, default_output_dir, prepare_run
from keras_prelu.training.run_directory import RunDirectoryError
from keras_prelu.training.run_settings import RESUMABLE, RunSettings
from keras_prelu.training.slopes import format_slope_table, learned_slopes
from keras_prelu.training.strategy import choose_strategy

__all__ = [
    "RESUMABLE",
    "ClassificationData",
    "ModelSettings",
    "Run",
    "RunDirectoryError",
    "RunSettings",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "choose_strategy",
    "default_output_dir",
    "fit_epochs",
    "format_slope_table",
    "learned_slopes",
    "prepare_run",
    "train",
]
