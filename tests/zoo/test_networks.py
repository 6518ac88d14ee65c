"""The builders against Tables 1 and 3, Sec. 2.2, and keras.applications conventions."""

import keras
import numpy as np
import pytest

import keras_prelu.zoo as zoo
from keras_prelu.initializers import KaimingNormal
from keras_prelu.layers import PReLU, SpatialPyramidPooling
from keras_prelu.weight_decay import KernelDecay

# Small variants: the paper's layers at a fraction of the width, for fast builds.
SMALL = {"width": 0.125, "fc_units": 16, "classes": 10}


def stage(index, count):
    return [f"conv{index}_{i}" for i in range(1, count + 1)]


HEAD = ["spp", "fc1", "fc2", "fc3"]
TABLE_LAYERS = {  # conv, pool, spp and fc layers, in order (Tables 1 and 3, Sec. 2.2)
    "small14": ["conv1", "pool1", *stage(2, 4), "pool2", *stage(3, 6), *HEAD],
    "plain30": ["conv1", "pool1", *stage(2, 4), "pool2", *stage(3, 22), *HEAD],
    "vgg19": [
        *stage(1, 2),
        "pool1",
        *stage(2, 2),
        "pool2",
        *stage(3, 4),
        "pool3",
        *stage(4, 4),
        "pool4",
        *stage(5, 4),
        *HEAD,
    ],
    "model_a": [
        "conv1",
        "pool1",
        *stage(2, 5),
        "pool2",
        *stage(3, 5),
        "pool3",
        *stage(4, 5),
        *HEAD,
    ],
    "model_b": [
        "conv1",
        "pool1",
        *stage(2, 6),
        "pool2",
        *stage(3, 6),
        "pool3",
        *stage(4, 6),
        *HEAD,
    ],
}
TABLE_LAYERS["model_c"] = TABLE_LAYERS["model_b"]
MAIN_LAYERS = (keras.layers.Conv2D, keras.layers.MaxPooling2D, SpatialPyramidPooling)


def main_layers(model):
    return [
        layer.name
        for layer in model.layers
        if isinstance(layer, (*MAIN_LAYERS, keras.layers.Dense))
    ]


@pytest.mark.parametrize("name", list(TABLE_LAYERS))
def test_layers_follow_the_paper(full_size, name):
    names = [
        n
        for n in full_size[name].layer_names
        if not n.startswith("input") and not n.endswith(("_act", "_pad", "_dropout"))
    ]
    assert names == TABLE_LAYERS[name]


TABLE_CONVS = {
    # Table 1: conv1 7x7/2 64, 2x2 convs of 128 then 256 filters.
    "small14": {"conv1": (7, 2, 64), "conv2_1": (2, 1, 128), "conv3_6": (2, 1, 256)},
    "plain30": {"conv1": (7, 2, 64), "conv2_4": (2, 1, 128), "conv3_22": (2, 1, 256)},
    # Table 3.
    "vgg19": {
        "conv1_1": (3, 1, 64),
        "conv2_2": (3, 1, 128),
        "conv3_4": (3, 1, 256),
        "conv4_1": (3, 1, 512),
        "conv5_4": (3, 1, 512),
    },
    "model_a": {
        "conv1": (7, 2, 96),
        "conv2_5": (3, 1, 256),
        "conv3_1": (3, 1, 512),
        "conv4_5": (3, 1, 512),
    },
    "model_b": {"conv1": (7, 2, 96), "conv2_6": (3, 1, 256), "conv4_6": (3, 1, 512)},
    "model_c": {
        "conv1": (7, 2, 96),
        "conv2_1": (3, 1, 384),
        "conv3_6": (3, 1, 768),
        "conv4_6": (3, 1, 896),
    },
}


@pytest.mark.parametrize("name", list(TABLE_CONVS))
def test_conv_filters_kernels_strides(full_size, name):
    convs = full_size[name].convs
    for conv, spec in TABLE_CONVS[name].items():
        assert convs[conv][:3] == spec, conv


def test_model_c_full_size_parameter_count(full_size):
    # Convs: conv1 + six 3x3 convs per stage at 384, 768, 896 filters; fc1 takes
    # 63 SPP bins x 896 channels.
    def conv(k, c, d):
        return k * k * c * d + d

    convs = conv(7, 3, 96) + conv(3, 96, 384) + 5 * conv(3, 384, 384)
    convs += conv(3, 384, 768) + 5 * conv(3, 768, 768) + conv(3, 768, 896) + 5 * conv(3, 896, 896)
    fcs = (63 * 896 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    # Built as a user would, channel-wise PReLU: a slope per channel of every conv, fc1, fc2.
    slopes = 96 + 6 * 384 + 6 * 768 + 6 * 896 + 2 * 4096
    assert full_size["model_c"].complexity.params == convs + fcs == 330_603_368
    assert full_size["model_c"].slopes == slopes
    assert full_size["model_c"].params == convs + fcs + slopes == 330_623_944


# The rectifier each model was trained with in the paper: PReLU for Table 1's model
# (Table 2's best) and models A, B, C (Tables 4-6); ReLU for VGG-19 and the deep plain nets
# of Sec. 2.2 (Figures 2-3 compare initialisations with ReLU).
PAPER_ACTIVATIONS = {
    "small14": PReLU,
    "plain30": keras.layers.ReLU,
    "vgg19": keras.layers.ReLU,
    "model_a": PReLU,
    "model_b": PReLU,
    "model_c": PReLU,
}


@pytest.mark.parametrize("name", list(PAPER_ACTIVATIONS))
def test_default_rectifiers_are_the_papers(name):
    model = zoo.get(name, **SMALL)
    acts = [layer for layer in model.layers if layer.name.endswith("_act")]
    assert {type(layer) for layer in acts} == {PAPER_ACTIVATIONS[name]}
    if PAPER_ACTIVATIONS[name] is PReLU:
        assert {layer.mode for layer in acts} == {"channel_wise"}
    # `activation=None` is the model's own default, as the configs pass it.
    same = zoo.get(name, activation=None, **SMALL)
    assert [type(layer) for layer in same.layers] == [type(layer) for layer in model.layers]


def test_plain_nets_of_every_depth_default_to_relu():
    model = zoo.plain(22, **SMALL)
    assert {type(layer) for layer in model.layers if layer.name.endswith("_act")} == {
        keras.layers.ReLU
    }


def test_head_is_a_plain_chain_after_spp():
    model = zoo.model_a(**SMALL)
    names = [layer.name for layer in model.layers]
    after = names[names.index("spp") + 1 :]
    assert after == ["fc1", "fc1_act", "fc1_dropout", "fc2", "fc2_act", "fc2_dropout", "fc3"]
    assert names[names.index("spp") - 1] == "conv4_5_act"
    assert model.get_layer("fc3").activation is keras.activations.softmax
    assert model.output.shape == (None, 10)
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [
        0.5,
        0.5,
    ]


def test_plain_depths():
    assert zoo.plain(30, **SMALL).name == "plain30"
    for depth in (9, 14, 19, 30):
        model = zoo.plain(depth, **SMALL)
        weighted = [
            layer
            for layer in model.layers
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
        ]
        assert len(weighted) == depth
    # plain(14) is Table 1's model.
    assert main_layers(zoo.plain(14, **SMALL)) == main_layers(zoo.small14(**SMALL))


def test_2x2_convs_alternate_their_padding_side():
    model = zoo.small14(input_shape=(40, 40, 1), stem="small", **SMALL)
    names = [layer.name for layer in model.layers]
    assert [n for n in names if n.endswith("_pad")] == [
        "conv2_2_pad",
        "conv2_4_pad",
        "conv3_2_pad",
        "conv3_4_pad",
        "conv3_6_pad",
    ]
    # A one-pixel impulse through 2x2 all-ones convs stays centred: no net shift.
    trunk = zoo.small14(input_shape=(9, 9, 1), stem="small", include_top=False, width=1 / 64)
    for layer in trunk.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kernel = np.zeros(layer.kernel.shape, "float32")
            kernel[..., 0, 0] = 1.0
            layer.set_weights([kernel, np.zeros(layer.bias.shape, "float32")])
    image = np.zeros((1, 9, 9, 1), "float32")
    image[0, 4, 4, 0] = 1.0
    stage2 = keras.Model(trunk.input, trunk.get_layer("conv2_4_act").output)
    response = np.asarray(stage2(image))[0, :, :, 0]
    rows, cols = np.nonzero(response)
    # conv1 (3x3, centred) spreads it over rows/cols 3..5; each 2x2 conv widens it by one,
    # alternately up/left and down/right: 1..7, centred on 4 (all up/left would give 0..5).
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (1, 7, 1, 7)


@pytest.mark.parametrize(
    "activation, cls, slope",
    [
        ("relu", keras.layers.ReLU, 0.0),
        ("lrelu", keras.layers.LeakyReLU, 0.25),
        ("prelu", PReLU, 0.25),
        ("prelu_shared", PReLU, 0.25),
    ],
)
def test_activations_follow_every_conv_and_fc1_fc2(activation, cls, slope):
    model = zoo.small14(activation=activation, **SMALL)
    weighted = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    expected = [f"{name}_act" for name in weighted] + ["fc1_act", "fc2_act"]
    acts = [layer for layer in model.layers if layer.name.endswith("_act")]
    assert [layer.name for layer in acts] == expected
    assert all(type(layer) is cls for layer in acts)
    if cls is PReLU:
        mode = "channel_shared" if activation == "prelu_shared" else "channel_wise"
        assert {layer.mode for layer in acts} == {mode}
        assert all(np.all(np.asarray(layer.alpha) == slope) for layer in acts)
    if cls is keras.layers.LeakyReLU:
        assert {layer.negative_slope for layer in acts} == {slope}


def test_prelu_shared_adds_13_parameters_to_table1s_model():
    # Sec. 2.1: "PReLU only introduces 13 extra free parameters".
    relu = zoo.small14(activation="relu", **SMALL).count_params()
    assert zoo.small14(activation="prelu_shared", **SMALL).count_params() == relu + 13


def test_lrelu_slope_and_its_initialisation():
    model = zoo.small14(activation="lrelu", negative_slope=0.1, **SMALL)
    assert model.get_layer("conv1_act").negative_slope == pytest.approx(0.1)
    init = model.get_layer("conv3_1").kernel_initializer
    assert isinstance(init, KaimingNormal) and init.negative_slope == pytest.approx(0.1)


def kernel_std(model, name):
    return float(np.std(np.asarray(model.get_layer(name).kernel)))


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        # conv3_2: 2x2 kernel, 128 -> 128 channels at width 0.5: n = n_hat = 512.
        ({}, np.sqrt(2 / (1.0625 * 512))),  # PReLU: Eqn 15, a = 0.25
        ({"activation": "relu"}, np.sqrt(2 / 512)),
        ({"activation": "relu", "kernel_initializer": "he_fan_in"}, np.sqrt(2 / 512)),
        ({"activation": "lrelu", "negative_slope": 1.0}, np.sqrt(1 / 512)),  # linear
        ({"kernel_initializer": "xavier"}, np.sqrt(1 / 512)),
        ({"kernel_initializer": "gaussian"}, 0.01),
        ({"kernel_initializer": "gaussian", "gaussian_std": 0.05}, 0.05),
    ],
)
def test_kernel_initialisers(kwargs, expected):
    model = zoo.small14(width=0.5, fc_units=16, **kwargs)
    assert kernel_std(model, "conv3_2") == pytest.approx(expected, rel=0.03)
    assert not np.any(np.asarray(model.get_layer("conv3_2").bias))


def test_fan_in_and_fan_out_differ_where_the_channels_change():
    # conv3_1: 2x2, 128 -> 256 at width 1 (n = 512, n_hat = 1024).
    fan_out = zoo.small14(include_top=False, activation="relu")
    fan_in = zoo.small14(include_top=False, activation="relu", kernel_initializer="he_fan_in")
    assert kernel_std(fan_out, "conv3_1") == pytest.approx(np.sqrt(2 / 1024), rel=0.02)
    assert kernel_std(fan_in, "conv3_1") == pytest.approx(np.sqrt(2 / 512), rel=0.02)


def test_small_fc_init_is_the_default():
    # Sec. 2.2: std 0.01 for fc1 and fc2, 0.001 for fc3; the convs keep He's (PReLU, Eqn 15).
    model = zoo.small14(width=0.25, fc_units=512)
    assert kernel_std(model, "fc1") == pytest.approx(0.01, rel=0.03)
    assert kernel_std(model, "fc2") == pytest.approx(0.01, rel=0.03)
    assert kernel_std(model, "fc3") == pytest.approx(0.001, rel=0.03)
    assert kernel_std(model, "conv3_2") == pytest.approx(np.sqrt(2 / (1.0625 * 256)), rel=0.03)
    # Without it the fc layers are He-initialised too: fan_out = units (Eqn 14).
    he = zoo.small14(width=0.25, fc_units=512, small_fc_init=False)
    assert kernel_std(he, "fc2") == pytest.approx(np.sqrt(2 / (1.0625 * 512)), rel=0.03)
    assert kernel_std(he, "fc3") == pytest.approx(np.sqrt(2 / (1.0625 * 1000)), rel=0.03)


def test_weight_decay_reaches_conv_and_fc_kernels_only():
    model = zoo.small14(activation="prelu", weight_decay=1e-3, **SMALL)
    kernels = [
        layer.kernel
        for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
    ]
    for layer in model.layers:
        if isinstance(layer, PReLU):
            assert layer.alpha_regularizer is None
        if hasattr(layer, "kernel_regularizer") and hasattr(layer, "kernel"):
            assert isinstance(layer.kernel_regularizer, KernelDecay)
            assert layer.bias_regularizer is None
    expected = sum(0.5e-3 * np.sum(np.square(np.asarray(k, np.float64))) for k in kernels)
    assert len(model.losses) == len(kernels) == 14
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)
    assert zoo.small14(weight_decay=0, **SMALL).losses == []


def test_dropout_rate():
    model = zoo.small14(dropout=0.3, **SMALL)
    assert model.get_layer("fc1_dropout").rate == model.get_layer("fc2_dropout").rate == 0.3


def test_spp_takes_any_size_from_the_minimum():
    model = zoo.model_a(input_shape=(None, None, 1), stem="small", **SMALL)
    for size in (28, 45):
        out = model(np.random.default_rng(0).normal(size=(2, size, size + 3, 1)))
        assert out.shape == (2, 10)
        np.testing.assert_allclose(np.sum(np.asarray(out), axis=1), 1, rtol=1e-5)


def test_small_stem_and_grayscale():
    model = zoo.small14(input_shape=(28, 28, 1), stem="small", **SMALL)
    conv1 = model.get_layer("conv1")
    assert conv1.kernel.shape == (3, 3, 1, 8)
    assert conv1.strides == (1, 1)
    assert "pool1" not in [layer.name for layer in model.layers]
    vgg = zoo.vgg19(stem="small", **SMALL)
    assert [layer.name for layer in vgg.layers[1:5]] == [
        "conv1_1",
        "conv1_1_act",
        "conv1_2",
        "conv1_2_act",
    ]
    assert "pool1" not in [layer.name for layer in vgg.layers]


@pytest.mark.parametrize("name, size", [("plain9", 28), ("model_a", 112), ("vgg19", 112)])
def test_small_pooled_stem_is_the_small_stem_then_a_2x2_pool(name, size):
    small = zoo.get(name, input_shape=(size, size, 1), stem="small", **SMALL)
    pooled = zoo.get(name, input_shape=(size, size, 1), stem="small_pooled", **SMALL)
    names = [layer.name for layer in small.layers[1:]]  # after the input layer
    pooled_names = [layer.name for layer in pooled.layers[1:]]
    # The same layers, with pool1 after the small stem's last conv and its rectifier.
    stem_end = names.index("conv1_act" if "conv1_act" in names else "conv1_2_act") + 1
    assert pooled_names == names[:stem_end] + ["pool1"] + names[stem_end:]
    pool1 = pooled.get_layer("pool1")
    assert pool1.pool_size == pool1.strides == (2, 2)
    assert pool1.output.shape[1:3] == (size // 2, size // 2)
    assert small.count_params() == pooled.count_params()  # SPP makes fc1 size-independent


def test_width_spp_levels_fc_units_classes():
    model = zoo.model_c(
        width=0.25, spp_levels=(3, 1), fc_units=32, classes=7, classifier_activation=None
    )
    assert model.get_layer("conv2_1").filters == 96
    assert model.get_layer("conv4_6").filters == 224
    assert model.get_layer("spp").levels == (3, 1)
    assert model.get_layer("spp").output.shape == (None, 224 * 10)
    assert model.get_layer("fc1").units == model.get_layer("fc2").units == 32
    assert model.get_layer("fc3").units == 7
    assert model.get_layer("fc3").activation is keras.activations.linear


@pytest.mark.parametrize(
    "pooling, shape", [(None, (None, None, None, 64)), ("avg", (None, 64)), ("max", (None, 64))]
)
def test_include_top_false(pooling, shape):
    model = zoo.model_b(include_top=False, pooling=pooling, width=0.125)
    assert model.output.shape == shape
    names = [layer.name for layer in model.layers]
    assert "spp" not in names and "fc1" not in names
    assert names[-1] == {None: "conv4_6_act", "avg": "avg_pool", "max": "max_pool"}[pooling]


def test_input_tensor():
    image = keras.Input((64, 64, 3))
    x = keras.layers.Rescaling(1 / 128, name="scale")(image)
    model = zoo.model_a(input_tensor=x, stem="small", **SMALL)
    assert model.inputs[0] is image
    assert model.layers[1].name == "scale"
    assert model.output.shape == (None, 10)


def test_vgg19_flatten_head():
    model = zoo.vgg19(head="flatten", **SMALL)
    assert model.input.shape == (None, 224, 224, 3)
    names = [layer.name for layer in model.layers]
    assert names[names.index("conv5_4_act") + 1 :][:3] == ["pool5", "flatten", "fc1"]
    assert model.get_layer("fc1").kernel.shape == (7 * 7 * 64, 16)


def test_vgg19_flatten_head_at_full_size_is_vgg19():
    # The parameter count of VGG-19 (keras.applications.VGG19(weights=None)).
    model = zoo.vgg19(head="flatten", width=1.0, fc_units=4096)
    assert model.count_params() == 143_667_240


def test_channels_first_config_does_not_change_the_models(channels_first):
    model = zoo.small14(input_shape=(28, 28, 1), stem="small", **SMALL)
    assert model.get_layer("conv1").data_format == "channels_last"
    assert model(np.zeros((1, 28, 28, 1), "float32")).shape == (1, 10)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"activation": "tanh"},
         r"Setting activation must be one of \('relu', 'prelu', 'prelu_shared', 'lrelu'\), "
         r"got 'tanh'\."),
        (
            {"kernel_initializer": "glorot"},
            r"Setting kernel_initializer must be one of "
            r"\('he_fan_out', 'he_fan_in', 'xavier', 'gaussian'\), got 'glorot'\.",
        ),
        ({"stem": "cifar"},
         r"Setting stem must be one of \('imagenet', 'small', 'small_pooled'\), got 'cifar'\."),
        ({"include_top": False, "pooling": "sum"}, r"Unknown pooling 'sum'; use one of \(None, "),
        ({"negative_slope": 0.1}, r"needs activation='lrelu', not None"),
        ({"activation": "prelu", "negative_slope": 0.1}, r"needs activation='lrelu', not 'prelu'"),
        ({"gaussian_std": 0.02}, r"gaussian_std is the fixed std of kernel_initializer="),
        ({"width": 0}, r"width=0.0 must be a positive multiplier, e.g. 0.25"),
        (
            {"input_shape": (76, 100, 3)},
            r"small14: a 76x100 input is too small; with "
            r"stem='imagenet', spp_levels=\(6, 3, 2, 1\) it needs "
            r"at least 77x77 pixels",
        ),
        ({"input_shape": (11, 11, 3), "stem": "small"}, r"needs at least 12x12 pixels"),
        ({"input_shape": (16, 16, 3), "include_top": False}, r"needs at least 17x17 pixels"),
        (
            {"input_shape": (80, 80, 3), "input_tensor": keras.Input((80, 80, 3))},
            r"Give input_shape or input_tensor, not both",
        ),
        ({"input_tensor": np.zeros((1, 80, 80, 3))}, r"input_tensor must be a Keras tensor"),
        (
            {"input_shape": (28, 28)},
            r"small14: input_shape=\(28, 28\) must be \(height, width, channels\) of positive "
            r"ints, height and width possibly None: e.g. \(28, 28, 1\) for grayscale\.",
        ),
        ({"input_shape": (None, None, None)}, r"input_shape=\(None, None, None\) must be"),
        ({"input_shape": (0, 28, 1)}, r"input_shape=\(0, 28, 1\) must be"),
        ({"input_shape": "28x28x1"}, r"input_shape='28x28x1' must be"),
        ({"classes": 0}, r"small14: classes=0 must be a positive int, fc3's units\."),
        ({"classes": 10.0}, r"small14: classes=10.0 must be a positive int"),
        ({"classes": True}, r"small14: classes=True must be a positive int"),
        ({"include_top": 1}, r"small14: include_top must be True or False, got 1\."),
        (
            {"classifier_activation": "softmx"},
            r"small14: classifier_activation='softmx' is not a Keras activation name; use e.g. "
            r"'softmax', or None for logits\.",
        ),
        (
            {"width": True},
            r"Setting width must be a number, got True: multiplier of every conv layer's "
            r"filter count, > 0\.",
        ),
        (
            {"fc_unit": 8},
            r"small14: unknown argument fc_unit; it takes include_top, weights, input_tensor, "
            r"input_shape, pooling, classes, classifier_activation and the ModelOptions "
            r"activation, negative_slope, kernel_initializer, ",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        zoo.small14(**{**SMALL, **kwargs})


def test_bad_builder_arguments():
    with pytest.raises(ValueError, match=r"depth counts conv \+ fc layers and must be >= 9, got 8"):
        zoo.plain(8)
    message = (
        r"plain: depth must be an int, the number of conv \+ fc layers \(>= 9\), got 30.0 "
        r"\(float\); e.g. plain\(30\)."
    )
    with pytest.raises(ValueError, match=message):
        zoo.plain(30.0)
    with pytest.raises(ValueError, match=r"Unknown head 'avg'; use one of \('spp', 'flatten'\)"):
        zoo.vgg19(head="avg", **SMALL)
    with pytest.raises(ValueError, match=r"vgg19: unknown arguments bar, foo; it takes head, "):
        zoo.vgg19(foo=1, bar=2, **SMALL)
    with pytest.raises(ValueError, match=r"head='flatten' needs a fixed input size"):
        zoo.vgg19(head="flatten", input_shape=(None, None, 3), **SMALL)
    with pytest.raises(ValueError, match=r"vgg19: a 16x16 input is too small.* 32x32 pixels"):
        zoo.vgg19(head="flatten", input_shape=(16, 16, 3), **SMALL)
