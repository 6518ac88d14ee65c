"""InitialGradients records what the first optimizer step will apply, and `train` passes
its callbacks to the fit."""

import json

import keras
import numpy as np
import pytest

from keras_prelu import zoo
from keras_prelu.experiments.initialisation import InitialGradients
from keras_prelu.training import TrainConfig, train
from tests.training.conftest import TINY


def test_gradient_norms_are_the_first_sgd_steps_divided_by_the_rate(tmp_path):
    keras.utils.set_random_seed(3)
    model = zoo.get("plain9", input_shape=(8, 8, 1), classes=10, stem="small", width=1 / 16,
                    fc_units=8, spp_levels=(2, 1), dropout=0.0, weight_decay=5e-4,
                    kernel_initializer="he_fan_in", small_fc_init=False)
    rng = np.random.default_rng(0)
    images = rng.normal(0, 1, (16, 8, 8, 1)).astype("float32")
    labels = rng.integers(0, 10, 16)
    rate = 1.0  # plain SGD: the step is -rate * gradient
    model.compile(optimizer=keras.optimizers.SGD(rate), loss="sparse_categorical_crossentropy")
    layers = [layer for layer in model.layers
              if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    before = [np.array(layer.kernel) for layer in layers]
    probabilities = model.predict(images, verbose=0)
    path = tmp_path / "initial_gradients.json"
    model.fit(images, labels, batch_size=16, epochs=1, shuffle=False, verbose=0,
              callbacks=[InitialGradients(path, lambda: (images, labels))])
    written = json.loads(path.read_text())
    assert written["layers"] == [layer.name for layer in layers]
    steps = [np.linalg.norm(b - np.array(layer.kernel)) / rate
             for b, layer in zip(before, layers, strict=True)]
    np.testing.assert_allclose(written["gradient_norms"], steps, rtol=2e-3)
    cross_entropy = -np.mean(np.log(probabilities[np.arange(16), labels]))
    assert written["cross_entropy"] == pytest.approx(cross_entropy, rel=1e-5)

    # After the first step (a resumed run), the file is left as it was.
    path.write_text("{}")
    model.fit(images, labels, batch_size=16, epochs=1, verbose=0,
              callbacks=[InitialGradients(path, lambda: (images, labels))])
    assert path.read_text() == "{}"


class EpochCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_train_passes_its_callbacks_to_the_fit(tmp_path):
    counter = EpochCounter()
    config = TrainConfig.from_dict({**TINY, "deterministic": False, "epochs": 2,
                                    "steps_per_epoch": 2, "output_dir": str(tmp_path / "run")})
    train(config, callbacks=[counter])
    assert counter.epochs == [0, 1]
