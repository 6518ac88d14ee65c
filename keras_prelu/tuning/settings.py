"""The settings of a slope search: the search section, composed with the training config.

`TuneConfig` is `SearchSettings` (which tuner, how many trials, the slope range, the
objective, ...) and `TrainConfig`'s three sections (data, model, run: what every trial
trains and for how long), so every setting is a flag of `recipes/tune_lrelu.py` and a key
of its TOML file. Everything is checked before any trial runs.
"""

import dataclasses

from keras_prelu.settings import Settings, setting
from keras_prelu.training import TrainConfig

TUNERS = ("random", "bayesian", "hyperband")
# What a trial logs at each epoch end (fit_epochs' history): all errors or losses, so the
# search minimises them.
OBJECTIVES = ("val_top1_error", "val_top5_error", "val_loss", "top1_error", "top5_error", "loss")
# Search settings that may change when a search is resumed: how many trials it runs in all
# and how many failures in a row stop it; neither changes what a trial trains.
SEARCH_RESUMABLE = ("max_trials", "max_consecutive_failed_trials")


def check_slope_range(slope_min, slope_max):
    """(slope_min, slope_max) as floats, checked: a non-empty range inside [0, 1].

    Raises:
        ValueError: a bound outside [0, 1], or an empty or inverted range.
    """
    for name, value in (("slope_min", slope_min), ("slope_max", slope_max)):
        if not 0 <= value <= 1:
            raise ValueError(
                f"{name}={value} is outside [0, 1]: LReLU's slope for x < 0 runs from 0 "
                "(ReLU) to 1 (the identity).")
    if slope_min >= slope_max:
        raise ValueError(
            f"The slope range [{slope_min}, {slope_max}] is "
            f"{'empty' if slope_min == slope_max else 'inverted'}: give slope_min < slope_max.")
    return float(slope_min), float(slope_max)


def check_learning_rate_range(learning_rate_range):
    """None, or (lowest, highest) first learning rate as floats, checked.

    Raises:
        ValueError: not two numbers, a rate that is not positive, or an empty or inverted
            range.
    """
    if learning_rate_range is None:
        return None
    if len(learning_rate_range) != 2:
        raise ValueError(
            f"learning_rate_range takes two numbers, the lowest and the highest first "
            f"learning rate, got {list(learning_rate_range)}.")
    low, high = learning_rate_range
    if not 0 < low < high:
        raise ValueError(
            f"learning_rate_range must be two positive rates, lowest first, got "
            f"{list(learning_rate_range)}.")
    return float(low), float(high)


@dataclasses.dataclass(frozen=True)
class SearchSettings(Settings):
    """What keras-tuner searches and how."""

    tuner: str = setting(
        "random", "keras-tuner's search: random (RandomSearch), bayesian (BayesianOptimization, "
        "a Gaussian process) or hyperband (Hyperband: short trials, the best ones continued up "
        "to --epochs)", choices=TUNERS)
    max_trials: int = setting(
        8, "slopes tried in all by random and bayesian (hyperband sizes its brackets from "
        "--epochs); may grow when a search is resumed")
    slope_min: float = setting(0.0, "smallest LReLU slope tried, in [0, 1] (0 is ReLU)")
    slope_max: float = setting(1.0, "largest LReLU slope tried, in [0, 1] (1 is the identity)")
    learning_rate_range: tuple[float, ...] | None = setting(
        None, "two numbers: also search the first learning rate, log-uniformly between them "
        "(the later stages keep their ratios to it); none: --learning-rates as given")
    objective: str = setting(
        "val_top1_error", "the logged error the search minimises, at a trial's last epoch",
        choices=OBJECTIVES)
    executions_per_trial: int = setting(
        1, "runs per trial (and per reference), with seeds seed, seed + 1, ...; their errors "
        "are averaged")
    max_consecutive_failed_trials: int = setting(
        3, "diverged trials in a row that stop a search on one machine (a distributed search "
        "goes on, see README)")

    def __post_init__(self):
        super().__post_init__()
        check_slope_range(self.slope_min, self.slope_max)
        check_learning_rate_range(self.learning_rate_range)
        for name in ("max_trials", "executions_per_trial", "max_consecutive_failed_trials"):
            if getattr(self, name) < 1:
                raise ValueError(f"Setting {name} must be at least 1, got {getattr(self, name)}.")


@dataclasses.dataclass(frozen=True)
class TuneConfig(SearchSettings, TrainConfig):
    """A slope search's settings: the search section and the training config of its trials.

    The training config's activation and negative_slope are the search's to set (LReLU at
    each trial's slope; ReLU, PReLU and channel-shared PReLU for the references), so they
    must be left out.

    Example:

    >>> config = TuneConfig.load("recipes/configs/tune_lrelu.toml", max_trials=4)
    >>> config.tuner, config.model
    ('random', 'plain9')
    """

    def __post_init__(self):
        super().__post_init__()
        if self.activation not in (None, "lrelu") or self.negative_slope is not None:
            raise ValueError(
                "activation and negative_slope are set by the search (LReLU at each trial's "
                "slope, ReLU and PReLU for the references): leave them out of a search's "
                f"settings (got activation={self.activation!r}, "
                f"negative_slope={self.negative_slope!r}).")

    def identity(self):
        """The settings that define the search: the trials' identity, without
        `SEARCH_RESUMABLE`."""
        return {name: value for name, value in super().identity().items()
                if name not in SEARCH_RESUMABLE}
