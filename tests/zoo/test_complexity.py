"""Complexity, depth and minimum size against Table 3 and hand-computed formulas."""

import keras
import pytest

import keras_prelu.zoo as zoo
from keras_prelu import paper
from keras_prelu.zoo.shapes import chain, min_input_size


@pytest.mark.parametrize("name", ["vgg19", "model_a", "model_b", "model_c"])
def test_table3_complexity_and_depth(full_size, name):
    cost = full_size[name].complexity
    reported = paper.TABLE3_COMPLEXITY[name]
    assert cost.macs == pytest.approx(reported, rel=0.01)
    # The convs alone are within 1% too: the fc layers are < 1% of the total.
    assert cost.conv_macs == pytest.approx(reported, rel=0.01)
    assert cost.depth == paper.TABLE3_DEPTH[name]


def test_table3_ordering_as_the_paper_states(full_size):
    macs = {name: full_size[name].complexity.macs for name in paper.TABLE3_COMPLEXITY}
    # Sec. 3: A's complexity "roughly unchanged" from VGG-19; C "about 2.3x of B".
    assert macs["model_a"] / macs["vgg19"] == pytest.approx(1, abs=0.05)
    assert macs["model_c"] / macs["model_b"] == pytest.approx(2.3, abs=0.05)


@pytest.mark.parametrize("name, depth", [("small14", 14), ("plain30", 30)])
def test_depth_of_the_small_models(full_size, name, depth):
    assert full_size[name].complexity.depth == depth == paper.DEPTH[name]


def test_complexity_matches_a_hand_count_of_model_a(full_size):
    def conv(size, k, c, d):
        return size * size * k * k * c * d

    expected = {"conv1": conv(112, 7, 3, 96), "conv2_1": conv(56, 3, 96, 256)}
    expected.update({f"conv2_{i}": conv(56, 3, 256, 256) for i in range(2, 6)})
    expected["conv3_1"] = conv(28, 3, 256, 512)
    expected.update({f"conv3_{i}": conv(28, 3, 512, 512) for i in range(2, 6)})
    expected.update({f"conv4_{i}": conv(14, 3, 512, 512) for i in range(1, 6)})
    # SPP: 7*7 + 3*3 + 2*2 + 1*1 = 63 bins of 512 channels.
    expected.update(fc1=63 * 512 * 4096, fc2=4096 * 4096, fc3=4096 * 1000)
    layers = full_size["model_a"].complexity.layers
    assert {layer.name: layer.macs for layer in layers} == expected
    params = {layer.name: layer.params for layer in layers}
    assert params["conv2_1"] == 3 * 3 * 96 * 256 + 256
    assert params["fc1"] == 63 * 512 * 4096 + 4096


def test_small14_maps_are_he_and_suns_36_and_18(full_size):
    shapes = {layer.name: layer.output_shape for layer in full_size["small14"].complexity.layers}
    # He & Sun (CVPR 2015), Table 1's caption: stage 2 at 36x36, stage 3 at 18x18.
    assert shapes["conv1"] == (1, 109, 109, 64)
    assert shapes["conv2_4"] == (1, 36, 36, 128)
    assert shapes["conv3_6"] == (1, 18, 18, 256)
    assert shapes["fc1"] == (1, 4096)


def test_params_count_the_conv_and_fc_layers(full_size):
    # Every weight is a conv or fc weight, or a PReLU slope (channel-wise: one per output
    # channel of each conv and of fc1, fc2); ReLU nets have no slopes.
    for name, built in full_size.items():
        assert built.complexity.params + built.slopes == built.params
        if zoo.record(name).activation == "prelu":
            filters = [spec[2] for spec in built.convs.values()]
            assert built.slopes == sum(filters) + 2 * 4096
        else:
            assert built.slopes == 0


def test_convs_scale_with_the_area_and_fc_layers_do_not():
    model = zoo.model_a(width=0.25, fc_units=64)
    small, large = zoo.complexity(model), zoo.complexity(model, (448, 448, 3))
    assert large.conv_macs == 4 * small.conv_macs
    assert large.macs - large.conv_macs == small.macs - small.conv_macs


def test_vgg19_flatten_head_is_vggs_own():
    model = zoo.vgg19(head="flatten", fc_units=64)
    fc1 = {layer.name: layer for layer in zoo.complexity(model).layers}["fc1"]
    assert fc1.macs == 7 * 7 * 512 * 64
    with pytest.raises(ValueError, match=r"takes inputs of shape \(224, 224, 3\)"):
        zoo.complexity(model, (256, 256, 3))


@pytest.mark.parametrize(
    "builder, kwargs, size",
    [
        # conv1 7x7/2 unpadded, pool1 3x3/3, pool2 2x2/2, then spp needs 6:
        # (77 - 7) // 2 + 1 = 36 -> 12 -> 6, while 76 gives 35 -> 11 -> 5.
        (zoo.small14, {}, 77),
        (zoo.plain, {"depth": 30}, 77),
        # 3x3/1 conv, pool2 /2, spp 6: 12 -> 6.
        (zoo.small14, {"stem": "small"}, 12),
        # conv1 /2 (padded), three pools /2, spp 7: ceil(111 / 2) = 56 -> 28 -> 14 -> 7.
        (zoo.model_a, {}, 111),
        (zoo.model_c, {"width": 0.125, "fc_units": 8}, 111),
        (zoo.model_a, {"stem": "small"}, 28),
        (zoo.model_a, {"spp_levels": (4, 2, 1)}, 63),
        # four pools /2, spp 7: 112 / 16 = 7.
        (zoo.vgg19, {}, 112),
        (zoo.vgg19, {"stem": "small"}, 56),
        # Without the pyramid, each pool needs a map at least its size:
        # ceil(15 / 2) = 8 -> 4 -> 2 -> 1, while 14 gives 7 -> 3 -> 1 -> 0.
        (zoo.model_a, {"include_top": False}, 15),
        # (17 - 7) // 2 + 1 = 6 -> 2 -> 1, while 16 gives 5 -> 1 -> 0.
        (zoo.small14, {"include_top": False}, 17),
    ],
)
def test_min_input_size(builder, kwargs, size):
    if builder is zoo.plain:
        kwargs = dict(kwargs)
        model = zoo.plain(kwargs.pop("depth"), width=0.125, fc_units=8, **kwargs)
    else:
        model = builder(**{"width": 0.125, "fc_units": 8, **kwargs})
    assert min_input_size(chain(model)) == size


def test_full_size_min_sizes(full_size):
    assert {name: built.min_size for name, built in full_size.items()} == {
        "small14": 77,
        "plain30": 77,
        "vgg19": 112,
        "model_a": 111,
        "model_b": 111,
        "model_c": 111,
    }


def test_complexity_needs_a_chain():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    y = keras.layers.Conv2D(4, 3, padding="same")(x)
    model = keras.Model(inputs, keras.layers.Add()([x, y]))
    with pytest.raises(ValueError, match="not a chain of layers"):
        zoo.complexity(model, (8, 8, 3))


def test_complexity_rejects_too_small_an_input():
    model = zoo.model_a(width=0.125, fc_units=8)
    with pytest.raises(ValueError, match="layer 'spp' gets a 6x6 map"):
        zoo.complexity(model, (110, 110, 3))
