"""`ModelOptions`: the architecture and initialisation options every zoo builder takes.

Each field is defined once, here, with its default (the paper's, from `keras_prelu.paper`),
a one-line help and, where there is a fixed set, its choices; the builders take the fields
as keyword arguments and validate them by constructing `ModelOptions(**options)`. It is a
`keras_prelu.settings.Settings` section, checked as strictly as every setting, so a
recipe's configuration takes its fields as its model section (`ModelSettings`).

>>> import dataclasses
>>> from keras_prelu.zoo import ModelOptions, model_a
>>> options = ModelOptions(width=0.25, stem="small", fc_units=512)
>>> model = model_a(input_shape=(32, 32, 3), classes=10, **dataclasses.asdict(options))
"""

import dataclasses

from keras_prelu import paper
from keras_prelu.settings import Settings, setting

ACTIVATIONS = ("relu", "prelu", "prelu_shared", "lrelu")
INITIALIZERS = ("he_fan_out", "he_fan_in", "xavier", "gaussian")
STEMS = ("imagenet", "small", "small_pooled")


@dataclasses.dataclass(frozen=True)
class ModelOptions(Settings):
    """The common architecture and initialisation options of the zoo's builders.

    The defaults are the paper's; `width`, `stem`, `spp_levels` and `fc_units` shrink a
    network for small inputs and CPU-scale runs. `help` in each field's metadata says
    what it does and which values it takes.

    Raises:
        ValueError: in `__post_init__`, one error per problem: a value of the wrong type
            (a bool is not a number, and a float is not an int; an int is a float and a
            list of levels a tuple), a value outside its choices or range, or an option
            that needs another (`negative_slope` needs `activation="lrelu"`,
            `gaussian_std` needs `kernel_initializer="gaussian"`).

    Example:

    >>> ModelOptions(activation="lrelu", negative_slope=0.1).negative_slope
    0.1
    >>> ModelOptions(width=True)
    Traceback (most recent call last):
    ValueError: Setting width must be a number, got True: ...
    """

    activation: str | None = setting(
        None,
        "rectifier after every conv and fc1, fc2 (Sec. 2.1): relu, prelu (channel-wise "
        f"slopes from {paper.PRELU_INITIAL_SLOPE}), prelu_shared (one slope per layer) or "
        "lrelu; default: the model's own (keras_prelu.zoo.record(name).activation)",
        choices=ACTIVATIONS,
    )
    negative_slope: float | None = setting(
        None,
        f"LReLU's fixed slope for x < 0, >= 0, only with activation lrelu (default "
        f"{paper.LRELU_SLOPE}, Table 2)",
    )
    kernel_initializer: str = setting(
        "he_fan_out",
        "conv and fc kernels: he_fan_out (Eqn 14, what the paper trained with), he_fan_in "
        "(Eqn 10), xavier (std sqrt(1/n)) or gaussian (fixed std gaussian_std); He's std "
        "counts the rectifier's initial slope (Eqn 15)",
        choices=INITIALIZERS,
    )
    gaussian_std: float | None = setting(
        None,
        f"std of kernel_initializer gaussian, > 0, only with it (default {paper.GAUSSIAN_STD}, "
        "the VGG team's)",
    )
    small_fc_init: bool = setting(
        True,
        f"draw fc1, fc2 with std {paper.SMALL_FC_STDS['fc1']} and fc3 with "
        f"{paper.SMALL_FC_STDS['fc3']}, the paper's choice for un-normalised input in "
        "[-128, 128] (Sec. 2.2); otherwise kernel_initializer's",
    )
    dropout: float = setting(paper.DROPOUT, "dropout rate after fc1 and fc2, in [0, 1) (Sec. 3)")
    weight_decay: float = setting(
        paper.WEIGHT_DECAY,
        "Caffe weight decay on conv and fc kernels, never on slopes or biases (Sec. 2.1, 3), "
        ">= 0; 0 for none",
    )
    width: float = setting(1.0, "multiplier of every conv layer's filter count, > 0")
    stem: str = setting(
        "imagenet",
        "first layers: imagenet (the paper's), small (one 3x3 stride-1 conv and no pool; "
        "VGG-19: its two 3x3 convs without pool1) for 28-64 px inputs, or small_pooled "
        "(small, then a 2x2 max pool as pool1: the next stage on half the map, as the "
        "paper's stem halves it again after conv1)",
        choices=STEMS,
    )
    spp_levels: tuple[int, ...] | None = setting(
        None,
        "bins per side of each pyramid level, positive ints, e.g. 7 3 2 1; default the "
        "model's (Tables 1 and 3)",
    )
    fc_units: int = setting(4096, "units of fc1 and fc2, >= 1")

    def __post_init__(self):
        super().__post_init__()  # types and choices, strictly (keras_prelu.settings)
        if not self.width > 0:
            raise ValueError(f"width={self.width} must be a positive multiplier, e.g. 0.25.")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout={self.dropout} must be a rate in [0, 1); 0 for none.")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay={self.weight_decay} must be >= 0; 0 for none.")
        if self.fc_units < 1:
            raise ValueError(f"fc_units={self.fc_units} must be at least 1.")
        if self.spp_levels is not None and (not self.spp_levels or min(self.spp_levels) < 1):
            raise ValueError(
                f"spp_levels={self.spp_levels} must be one or more positive bins per side, "
                "e.g. (7, 3, 2, 1)."
            )
        if self.negative_slope is not None:
            if self.activation != "lrelu":
                raise ValueError(
                    "negative_slope is LReLU's fixed slope; it needs activation='lrelu', "
                    f"not {self.activation!r}."
                )
            if self.negative_slope < 0:
                raise ValueError(f"negative_slope={self.negative_slope} must be >= 0.")
        if self.gaussian_std is not None:
            if self.kernel_initializer != "gaussian":
                raise ValueError(
                    "gaussian_std is the fixed std of kernel_initializer='gaussian', "
                    f"not of {self.kernel_initializer!r}."
                )
            if not self.gaussian_std > 0:
                raise ValueError(f"gaussian_std={self.gaussian_std} must be > 0.")
