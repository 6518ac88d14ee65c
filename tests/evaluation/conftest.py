"""Fixtures: tiny trained-shape models (random weights) and the cropping reference."""

import keras
import numpy as np
import pytest

import keras_prelu.zoo as zoo
from keras_prelu.layers import SpatialPyramidPooling

CLASSES = 7


@pytest.fixture(scope="session")
def tiny_model_a():
    """Model A's layers at 1/16 width for 32-px crops: conv map = image / 4 (small stem),
    so a 32 crop gives an 8x8 map; pyramid {3, 2, 1}; 7 classes. He-initialised fc layers,
    whose scores differ more between images than the paper's small fc stds give."""
    keras.utils.set_random_seed(1)
    return zoo.model_a(
        activation="prelu", width=1 / 16, stem="small", spp_levels=(3, 2, 1), fc_units=24,
        classes=CLASSES, small_fc_init=False,
    )


def commuting_model(classifier_activation="softmax"):
    """A zoo-like chain whose trunk commutes with cropping: 3x3 'valid' conv, 2x2 pool,
    1x1 conv. An 18-px crop at image offset (2i, 2j) has exactly the map cells
    [i, i + 8) x [j, j + 8) of the whole image's map (conv 16 -> pool 8)."""
    keras.utils.set_random_seed(2)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(6, 3, name="conv1")(inputs)
    x = keras.layers.ReLU(name="conv1_act")(x)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(5, 1, name="conv2")(x)
    x = keras.layers.LeakyReLU(0.25, name="conv2_act")(x)
    x = SpatialPyramidPooling((3, 2, 1), name="spp")(x)
    x = keras.layers.Dense(16, name="fc1")(x)
    x = keras.layers.ReLU(name="fc1_act")(x)
    x = keras.layers.Dropout(0.5, name="fc1_dropout")(x)
    x = keras.layers.Dense(CLASSES, activation=classifier_activation, name="fc3")(x)
    return keras.Model(inputs, x, name="commuting")


COMMUTING_CROP, COMMUTING_STRIDE = 18, 2


def crop_average(model, image, crop, stride):
    """The reference for dense testing: the whole network run on every `crop` x `crop`
    crop of the image and of its horizontal flip at offsets that are multiples of
    `stride`, and the softmax scores averaged."""
    height, width = image.shape[:2]
    crops = [
        view[top : top + crop, left : left + crop]
        for view in (image, image[:, ::-1])
        for top in range(0, height - crop + 1, stride)
        for left in range(0, width - crop + 1, stride)
    ]
    return np.asarray(model(np.stack(crops), training=False)).mean(axis=0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
