"""Every zoo model saves to .keras and reloads with safe_mode=True, giving the same outputs."""

import keras
import numpy as np
import pytest

import keras_prelu.zoo as zoo
from keras_prelu.layers import PReLU

# Small variants of every model: the paper's layers, 1/16 of the width, 32 px grayscale.
SMALL = {
    "input_shape": (32, 32, 1),
    "stem": "small",
    "width": 1 / 16,
    "fc_units": 32,
    "classes": 5,
    "spp_levels": (2, 1),
}


@pytest.mark.parametrize("name", zoo.names())
@pytest.mark.parametrize("activation", ["prelu", "lrelu"])
def test_save_and_reload(tmp_path, name, activation):
    model = zoo.get(name, activation=activation, **SMALL)
    rng = np.random.default_rng(0)
    for layer in model.layers:  # slopes away from their initial 0.25, so they must be saved
        if isinstance(layer, PReLU):
            layer.alpha.assign(rng.uniform(0, 1, layer.alpha.shape).astype("float32"))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    images = rng.normal(size=(2, 32, 32, 1)).astype("float32")
    np.testing.assert_array_equal(
        np.asarray(model(images, training=False)), np.asarray(reloaded(images, training=False))
    )
    assert [layer.name for layer in reloaded.layers] == [layer.name for layer in model.layers]
    assert reloaded.losses and len(reloaded.losses) == len(model.losses)  # weight decay kept
