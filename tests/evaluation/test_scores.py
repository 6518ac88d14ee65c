import re

import numpy as np
import pytest

import keras_prelu.zoo as zoo
from keras_prelu.evaluation import METHODS, Scorer, dense_scores
from tests.evaluation.conftest import COMMUTING_CROP, commuting_model


def scores(model, views):
    return np.asarray(model(np.stack(views), training=False))


def test_center_is_the_model_on_the_centre_crop_minus_the_mean_image(tiny_model_a, rng):
    images = rng.uniform(0, 255, (3, 36, 41, 3)).astype("float32")
    mean = rng.uniform(100, 150, (32, 32, 3)).astype("float32")
    expected = scores(tiny_model_a, images[:, 2:34, 4:36] - mean)
    got = Scorer(tiny_model_a, "center", crop_size=32, mean=mean)(images)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_ten_view_averages_the_model_on_the_ten_crops(tiny_model_a, rng):
    images = rng.uniform(0, 255, (2, 36, 41, 3)).astype("float32")
    mean = np.array([120.0, 110.0, 100.0], "float32")
    corners = [(0, 0), (0, 9), (4, 0), (4, 9), (2, 4)]
    views = [images[:, y : y + 32, x : x + 32] for y, x in corners]
    views += [view[:, :, ::-1] for view in views]
    expected = np.mean([scores(tiny_model_a, view - mean) for view in views], axis=0)
    got = Scorer(tiny_model_a, "ten_view", crop_size=32, mean=mean)(images)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_dense_default_window_is_the_map_of_a_crop_and_a_mean_image_becomes_per_channel(
        tiny_model_a, rng):
    images = rng.uniform(0, 255, (1, 40, 52, 3)).astype("float32")
    mean = rng.uniform(100, 150, (32, 32, 3)).astype("float32")
    scorer = Scorer(tiny_model_a, "dense", crop_size=32, mean=mean)
    assert scorer.window == 8 and scorer.min_scale == 12  # model A / 4; pyramid {3, 2, 1}
    parts = zoo.split(tiny_model_a)
    expected = dense_scores(parts, images - mean.mean(axis=(0, 1)), 8)
    np.testing.assert_allclose(scorer(images), np.asarray(expected), rtol=1e-5, atol=1e-7)


def test_a_mean_image_of_the_whole_image_size_is_subtracted_pixel_by_pixel(tiny_model_a, rng):
    images = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    mean = rng.uniform(0, 255, (32, 32, 3)).astype("float32")
    parts = zoo.split(tiny_model_a)
    got = Scorer(tiny_model_a, "dense", crop_size=32, mean=mean)(images)
    np.testing.assert_allclose(
        got, np.asarray(dense_scores(parts, images - mean, 8)), rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("method", METHODS)
def test_logits_models_are_scored_with_softmax_probabilities(rng, method):
    images = rng.uniform(0, 255, (2, 24, 26, 3)).astype("float32")
    probabilities = Scorer(commuting_model(), method, crop_size=COMMUTING_CROP)(images)
    from_logits = Scorer(commuting_model(None), method, crop_size=COMMUTING_CROP)(images)
    np.testing.assert_allclose(from_logits, probabilities, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(from_logits.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"method": "multi_view", "crop_size": 32},
            "Unknown testing method 'multi_view'; use one of ('center', 'ten_view', 'dense').",
        ),
        (
            {"method": "center", "crop_size": 8},
            "crop_size=8 is smaller than 'model_a''s minimum input 12x12.",
        ),
        (
            {"method": "dense", "crop_size": 32, "window": 2},
            "window=2 is smaller than the pyramid's largest level 3.",
        ),
        (
            {"method": "ten_view", "crop_size": 32, "window": 8},
            "window is a parameter of method='dense', not 'ten_view'.",
        ),
        (
            {"method": "center", "crop_size": 32, "mean": np.zeros((32, 32))},
            "mean must be a scalar, a per-channel vector or an (H, W, 3) mean image, got shape "
            "(32, 32).",
        ),
        (
            # A mean image of other crops is refused, not silently averaged (issue 12).
            {"method": "ten_view", "crop_size": 32, "mean": np.zeros((28, 28, 3))},
            "The mean image is 28x28, but the 'ten_view' views are 32x32",
        ),
    ],
)
def test_bad_arguments_are_named(tiny_model_a, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Scorer(tiny_model_a, **kwargs)
