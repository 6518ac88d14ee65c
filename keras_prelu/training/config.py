"""The training recipe's settings: the paper's ImageNet hyper-parameters by default (Sec. 3).

Every field can be set from a TOML or JSON file (`TrainConfig.load`) and overridden by a
command-line flag of the same name (`recipes/train.py --help`).
"""

import dataclasses
import json
import types
import typing
from pathlib import Path

import tomllib

from keras_prelu.data.image_folder import ON_CORRUPT

DATASETS = ("imagenet2012", "image_folder", "fashion_mnist", "digits")


@dataclasses.dataclass
class TrainConfig:
    """What to train, on what, and how; defaults are the paper's ImageNet recipe."""

    # Data.
    dataset: str = "imagenet2012"
    data_dir: str | None = None  # ImageNet's manual_dir, an image folder, or IDX files
    validation_size: int = 5000  # held out of the training set when there is no val split
    on_corrupt: str = "raise"  # image_folder: undecodable files are fatal, or "skip"ped
    crop_size: int = 224  # ImageNet-style data: training crops and centre-crop testing
    pad: int | None = None  # small images: zero padding of the random crop (None: 4, digits 1)
    scale_min: int = 256  # Sec. 3: shorter side jittered in [256, 512]
    scale_max: int = 512
    # Model (a keras_prelu.zoo builder and its arguments).
    model: str = "model_a"
    activation: str = "prelu"
    width: float = 1.0
    stem: str = "imagenet"
    fc_units: int = 4096
    spp_levels: tuple[int, ...] | None = None
    small_fc_init: bool = True  # Sec. 2.2: fc stds 0.01, 0.01, 0.001 for input in [-128, 128]
    dropout: float = 0.5
    weight_decay: float = 5e-4
    # Optimisation (Sec. 3).
    global_batch_size: int = 128
    learning_rates: tuple[float, ...] = (1e-2, 1e-3, 1e-4)
    momentum: float = 0.9
    epochs: int = 80
    plateau_patience: int = 3  # epochs without a better validation top-1 error
    plateau_min_delta: float = 0.002  # an improvement smaller than this is a plateau
    switch_epochs: tuple[int, ...] | None = None  # fixed epochs where the next rate starts
    steps_per_epoch: int | None = None  # None: one pass over the training set
    # Run.
    output_dir: str = "runs/train"
    checkpoint_every: int = 500  # optimizer steps between checkpoints (and at epoch ends)
    seed: int | None = None  # initial weights and data order (None: drawn once per run)
    deterministic: bool = False  # same seed, same weights, bit for bit (slower)
    mixed_precision: bool = False
    xla: bool = False
    verbose: int = 1  # Keras: 0 silent, 1 progress bar, 2 a line per epoch

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"Unknown dataset {self.dataset!r}; use one of {DATASETS}.")
        if self.on_corrupt not in ON_CORRUPT:
            raise ValueError(f"on_corrupt must be one of {ON_CORRUPT}, got {self.on_corrupt!r}.")
        if self.global_batch_size < 1 or self.epochs < 1:
            raise ValueError("global_batch_size and epochs must be at least 1.")
        if not self.learning_rates or any(rate <= 0 for rate in self.learning_rates):
            raise ValueError(f"learning_rates must be positive, got {self.learning_rates}.")
        if self.switch_epochs is not None and (
                len(self.switch_epochs) != len(self.learning_rates) - 1
                or list(self.switch_epochs) != sorted(set(self.switch_epochs))
                or self.switch_epochs[0] < 1):
            raise ValueError(
                f"switch_epochs must be {len(self.learning_rates) - 1} increasing epochs "
                f"(>= 1), one per switch between learning_rates, got {self.switch_epochs}."
            )
        if self.deterministic and self.seed is None:
            raise ValueError("deterministic=True needs a seed (--seed N).")
        if not self.crop_size <= self.scale_min <= self.scale_max:
            raise ValueError(
                f"Need crop_size <= scale_min <= scale_max, got {self.crop_size}, "
                f"{self.scale_min}, {self.scale_max}."
            )

    @classmethod
    def load(cls, path, **overrides):
        """Reads a TOML (.toml) or JSON file of fields; `overrides` win over the file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise FileNotFoundError(f"Cannot read the config file {path}: {error}") from None
        try:
            values = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path} is not valid {path.suffix[1:].upper()}: {error}") from None
        return cls.from_dict({**values, **overrides}, source=str(path))

    @classmethod
    def from_dict(cls, values, source="the settings"):
        known = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(
                f"Unknown setting(s) {unknown} in {source}; known: {sorted(known)}."
            )
        return cls(**{name: _coerce(known[name], value) for name, value in values.items()})

    def to_dict(self):
        return dataclasses.asdict(self)


def _coerce(field, value):
    """TOML/JSON/command-line values to the field's type (lists to tuples, "none" to None)."""
    if value is None or (isinstance(value, str) and value.lower() == "none"):
        return None
    kind = field.type
    if typing.get_origin(kind) is types.UnionType:  # `X | None`
        kind = typing.get_args(kind)[0]
    try:
        if typing.get_origin(kind) is tuple:
            if isinstance(value, str):
                value = value.replace(",", " ").split()
            return tuple(typing.get_args(kind)[0](v) for v in value)
        if kind is bool and isinstance(value, str):
            return {"true": True, "false": False}[value.lower()]
        return kind(value)
    except (TypeError, ValueError, KeyError):
        expected = str(field.type).replace("<class '", "").replace("'>", "")
        raise ValueError(f"Setting {field.name} must be {expected}, got {value!r}.") from None
