"""ModelOptions: the builders' common options, defined once, validated strictly."""

import dataclasses
import math
import re

import pytest

import keras_prelu.zoo as zoo
from keras_prelu import paper
from keras_prelu.zoo import ModelOptions

SIMPLE_TYPES = (str, int, float, bool, str | None, float | None, tuple[int, ...] | None)
FIELDS = {field.name: field for field in dataclasses.fields(ModelOptions)}


def test_the_fields_and_their_defaults():
    assert list(FIELDS) == [
        "activation",
        "negative_slope",
        "kernel_initializer",
        "gaussian_std",
        "small_fc_init",
        "dropout",
        "weight_decay",
        "width",
        "stem",
        "spp_levels",
        "fc_units",
    ]
    defaults = ModelOptions()
    # Sec. 2.2 (fc stds for un-normalised input) and Sec. 3 (dropout, weight decay).
    assert defaults.small_fc_init is True
    assert (defaults.dropout, defaults.weight_decay) == (paper.DROPOUT, paper.WEIGHT_DECAY)
    assert (defaults.activation, defaults.kernel_initializer) == (None, "he_fan_out")
    assert (defaults.width, defaults.stem, defaults.spp_levels, defaults.fc_units) == (
        1.0,
        "imagenet",
        None,
        4096,
    )


def test_every_field_is_described_for_a_config_system():
    choices = {}
    for name, field in FIELDS.items():
        assert field.type in SIMPLE_TYPES, name
        help_text = field.metadata["help"]
        assert help_text and "\n" not in help_text, name
        if "choices" in field.metadata:
            choices[name] = field.metadata["choices"]
            assert field.default is None or field.default in choices[name]
    assert choices == {
        "activation": ("relu", "prelu", "prelu_shared", "lrelu"),
        "kernel_initializer": ("he_fan_out", "he_fan_in", "xavier", "gaussian"),
        "stem": ("imagenet", "small", "small_pooled"),
    }


def test_options_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ModelOptions().width = 0.5


def test_ints_become_floats_and_lists_tuples():
    options = ModelOptions(width=1, dropout=0, weight_decay=0, spp_levels=[3, 1])
    assert options.width == 1.0 and isinstance(options.width, float)
    assert isinstance(options.dropout, float) and isinstance(options.weight_decay, float)
    assert options.spp_levels == (3, 1)
    assert options == ModelOptions(width=1.0, dropout=0.0, weight_decay=0.0, spp_levels=(3, 1))
    lrelu = ModelOptions(activation="lrelu", negative_slope=0)
    assert lrelu.negative_slope == 0.0
    assert ModelOptions(kernel_initializer="gaussian", gaussian_std=0.02).gaussian_std == 0.02


@pytest.mark.parametrize(
    "kwargs, message",
    [
        # Types (keras_prelu.settings): a bool is not a number; a float is not an int.
        (
            {"width": True},
            "Setting width must be a number, got True: multiplier of every conv layer's "
            "filter count, > 0.",
        ),
        ({"width": "0.5"}, "Setting width must be a number, got '0.5'"),
        ({"width": math.nan}, "Setting width must be a finite number, got nan"),
        ({"dropout": math.inf}, "Setting dropout must be a finite number, got inf"),
        ({"fc_units": 4096.0}, "Setting fc_units must be an integer, got 4096.0: units of fc1"),
        ({"fc_units": False}, "Setting fc_units must be an integer, got False"),
        ({"small_fc_init": 1},
         "Setting small_fc_init must be true or false, got 1: draw fc1, fc2 with std 0.01"),
        ({"activation": 3}, "Setting activation must be a string, got 3: rectifier after"),
        ({"negative_slope": True}, "Setting negative_slope must be a number, got True"),
        ({"spp_levels": (3.0, 1)}, "Setting spp_levels must be a list of integers, got (3.0, 1)"),
        ({"spp_levels": (True,)}, "Setting spp_levels must be a list of integers, got (True,)"),
        ({"spp_levels": "7321"}, "Setting spp_levels must be a list of integers, got '7321'"),
        # Choices.
        (
            {"activation": "elu"},
            "Setting activation must be one of ('relu', 'prelu', 'prelu_shared', 'lrelu'), "
            "got 'elu'.",
        ),
        ({"kernel_initializer": "glorot"}, "Setting kernel_initializer must be one of"),
        ({"stem": "cifar"},
         "Setting stem must be one of ('imagenet', 'small', 'small_pooled'), got 'cifar'."),
        # Ranges.
        ({"width": 0}, "width=0.0 must be a positive multiplier, e.g. 0.25."),
        ({"width": -1.0}, "width=-1.0 must be a positive multiplier"),
        ({"dropout": 1}, "dropout=1.0 must be a rate in [0, 1); 0 for none."),
        ({"dropout": -0.1}, "dropout=-0.1 must be a rate in [0, 1)"),
        ({"weight_decay": -1e-4}, "weight_decay=-0.0001 must be >= 0; 0 for none."),
        ({"fc_units": 0}, "fc_units=0 must be at least 1."),
        ({"spp_levels": []}, "spp_levels=() must be one or more positive bins per side"),
        ({"spp_levels": (3, 0)}, "spp_levels=(3, 0) must be one or more positive bins per side"),
        # Options that need another.
        (
            {"negative_slope": 0.1},
            "negative_slope is LReLU's fixed slope; it needs activation='lrelu', not None.",
        ),
        ({"activation": "prelu", "negative_slope": 0.1}, "needs activation='lrelu', not 'prelu'"),
        ({"activation": "lrelu", "negative_slope": -0.1}, "negative_slope=-0.1 must be >= 0."),
        (
            {"gaussian_std": 0.02},
            "gaussian_std is the fixed std of kernel_initializer='gaussian', not of "
            "'he_fan_out'.",
        ),
        ({"kernel_initializer": "gaussian", "gaussian_std": 0}, "gaussian_std=0.0 must be > 0."),
    ],
)
def test_bad_options_are_one_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        ModelOptions(**kwargs)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name", zoo.names())
def test_every_builder_takes_the_options_and_checks_them(name):
    options = ModelOptions(
        activation="lrelu",
        negative_slope=0.1,
        kernel_initializer="gaussian",
        gaussian_std=0.02,
        small_fc_init=False,
        dropout=0.25,
        weight_decay=0.0,
        width=1 / 16,
        stem="small",
        spp_levels=(2, 1),
        fc_units=8,
    )
    model = zoo.get(name, classes=3, **dataclasses.asdict(options))
    assert model.get_layer("fc1").units == model.get_layer("fc2").units == 8
    assert model.get_layer("spp").levels == (2, 1)
    assert model.get_layer("fc1_dropout").rate == 0.25
    assert model.get_layer("fc2_act").negative_slope == pytest.approx(0.1)
    assert model.losses == []  # no weight decay
    with pytest.raises(ValueError, match=re.escape("dropout=1.5 must be a rate in [0, 1)")):
        zoo.get(name, dropout=1.5)
