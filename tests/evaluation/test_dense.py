import re

import keras
import numpy as np
import pytest

import keras_prelu.zoo as zoo
from keras_prelu.evaluation import Scorer, dense_scores, window_features
from keras_prelu.layers import SpatialPyramidPooling
from tests.evaluation.conftest import (
    COMMUTING_CROP,
    COMMUTING_STRIDE,
    commuting_model,
    crop_average,
)


def pyramid_of_crops(maps, levels, window):
    """SpatialPyramidPooling of every window crop of the maps, one crop at a time."""
    spp = SpatialPyramidPooling(levels)
    height, width = maps.shape[1:3]
    h, w = min(window, height), min(window, width)
    return np.stack(
        [
            np.stack([np.asarray(spp(maps[:, i : i + h, j : j + w])) for j in range(width - w + 1)],
                     axis=1)
            for i in range(height - h + 1)
        ],
        axis=1,
    )


@pytest.mark.parametrize(
    "shape, levels, window",
    [
        ((2, 17, 20, 6), (7, 3, 2, 1), 14),  # Table 3's pyramid and window
        ((1, 14, 14, 3), (7, 3, 2, 1), 14),  # the map is one window
        ((1, 10, 19, 4), (7, 3, 2, 1), 14),  # shorter than the window: whole height
        ((1, 9, 8, 5), (6, 3, 2, 1), 18),  # Table 1's pyramid, map smaller than the window
        ((2, 13, 11, 3), (4, 3, 1), 7),  # bins of sizes 1 and 2 (7 / 4), 2 and 3 (7 / 3)
    ],
)
def test_every_window_is_pooled_exactly_as_the_pyramid_layer_pools_its_crop(
        rng, shape, levels, window):
    maps = rng.standard_normal(shape).astype("float32")
    np.testing.assert_array_equal(
        np.asarray(window_features(maps, levels, window)), pyramid_of_crops(maps, levels, window)
    )


def test_dense_scores_average_the_head_on_every_window_and_the_flip(tiny_model_a, rng):
    parts = zoo.split(tiny_model_a)
    images = rng.uniform(-100, 100, (2, 40, 52, 3)).astype("float32")
    window = 8  # the conv map of a 32 crop
    expected = []
    for view in (images, images[:, :, ::-1]):
        maps = np.asarray(parts.trunk(view))
        assert maps.shape[1:3] == (10, 13)
        pooled = pyramid_of_crops(maps, parts.spp.levels, window)  # (2, 3, 6, features)
        scores = np.asarray(parts.head(pooled.reshape(-1, pooled.shape[-1])))
        expected.append(scores.reshape(2, 18, -1))
    expected = np.concatenate(expected, axis=1).mean(axis=1)
    np.testing.assert_allclose(
        np.asarray(dense_scores(parts, images, window)), expected, rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("height, width", [(24, 30), (27, 25), (18, 18), (18, 23)])
def test_dense_testing_equals_the_network_on_every_crop(rng, height, width):
    """End to end on pixels: where cropping commutes with the trunk, dense testing of the
    image is the average of the whole network on each window's image crop and flip."""
    model = commuting_model()
    image = rng.uniform(0, 255, (height, width, 3)).astype("float32")
    scorer = Scorer(model, "dense", crop_size=COMMUTING_CROP)
    assert scorer.window == 8
    np.testing.assert_allclose(
        scorer(image[None])[0],
        crop_average(model, image, COMMUTING_CROP, COMMUTING_STRIDE),
        rtol=1e-5,
        atol=1e-7,
    )


def test_a_model_without_a_pyramid_cannot_be_densely_tested():
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, name="conv1")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="fc3")(x), name="flat")
    message = (
        "Model 'flat' has no SpatialPyramidPooling layer ('spp') to split at; build it with "
        "include_top=True (vgg19 with head='spp'). Dense testing pools every window with the "
        "pyramid; evaluate 'flat' with method='center' or 'ten_view' instead."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        Scorer(model, "dense", crop_size=16)
    Scorer(model, "center", crop_size=16)  # the other methods need no pyramid


def test_only_the_zoo_pyramid_is_supported():
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, name="conv1")(inputs)
    x = SpatialPyramidPooling((2, 1), bin_rule="sppnet", name="spp")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="fc3")(x), name="sppnet")
    message = (
        "split needs the zoo's pyramid (bin_rule='adaptive', channels_last); 'sppnet''s 'spp' "
        "has bin_rule='sppnet', data_format='channels_last'. Dense testing pools every window "
        "with the pyramid; evaluate 'sppnet' with method='center' or 'ten_view' instead."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        Scorer(model, "dense", crop_size=16)
