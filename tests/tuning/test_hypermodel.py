"""`LReLUSlopeHyperModel()` with default arguments: the demo's small network on Fashion-MNIST
(the local default data), LReLU at the trial's slope, compiled by the training recipe."""

import keras
import keras_tuner
import numpy as np
import pytest

from keras_prelu.data import load_fashion_mnist
from keras_prelu.training import TrainConfig
from keras_prelu.tuning import LReLUSlopeHyperModel
from tests.tuning.conftest import ROOT


def leaky_relu(x, slope):
    return np.where(x >= 0, x, slope * x)


def test_the_default_hypermodel_builds_the_demo_network_with_lrelu_at_the_trial_slope():
    hypermodel = LReLUSlopeHyperModel()
    config = hypermodel.config
    assert config == TrainConfig.load(ROOT / "recipes" / "configs" / "fashion_mnist.toml")
    assert (config.dataset, config.model) == ("fashion_mnist", "plain9")

    hp = keras_tuner.HyperParameters()
    hp.values["slope"] = 0.37
    model = hypermodel.build(hp)
    slope = hp.space[0]
    assert (slope.name, slope.min_value, slope.max_value) == ("slope", 0.0, 1.0)

    (x, y), _ = load_fashion_mnist()
    assert model.input_shape[1:] == (None, None, 1)
    assert model.output_shape[-1] == 10
    rectifiers = [layer for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert len(rectifiers) == 8  # conv1, four 2x2 convs, conv3_1, fc1, fc2
    # Each rectifier computes LReLU at 0.37, checked against numpy on real activations.
    first = rectifiers[0]
    before = keras.Model(model.input, first.input)(x[:4].astype("float32"))
    after = keras.ops.convert_to_numpy(first(before))
    assert after == pytest.approx(leaky_relu(keras.ops.convert_to_numpy(before), 0.37),
                                  rel=1e-6, abs=1e-6)
    assert [float(layer.negative_slope) for layer in rectifiers] == pytest.approx([0.37] * 8)

    # Compiled as the training recipe compiles: SGD with momentum at the first rate,
    # cross-entropy, top-1 and top-5 error.
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(
        config.learning_rates[0])
    assert model.optimizer.momentum == pytest.approx(0.9)
    assert model.loss == "sparse_categorical_crossentropy"
    images, labels = x[:64].astype("float32") - x.mean(axis=0), y[:64]
    scores = model.predict(images, verbose=0)
    logs = model.evaluate(images, labels, batch_size=64, verbose=0, return_dict=True)
    assert sorted(logs) == ["loss", "top1_error", "top5_error"]
    truth = scores[np.arange(64), labels]
    # Cross-entropy plus the recipe's weight decay on the kernels (5e-4 / 2 * |W|^2).
    decay = sum(5e-4 / 2 * np.sum(keras.ops.convert_to_numpy(layer.kernel) ** 2)
                for layer in model.layers if hasattr(layer, "kernel"))
    assert logs["loss"] == pytest.approx(-np.mean(np.log(truth)) + decay, rel=1e-4)
    assert logs["top1_error"] == pytest.approx(np.mean(np.argmax(scores, axis=1) != labels))
