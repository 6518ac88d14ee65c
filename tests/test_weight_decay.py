import keras
import numpy as np
import pytest

from keras_prelu.layers import PReLU
from keras_prelu.weight_decay import KernelDecay, decay_kernels_only, decayed_kernels

RATE, LR, MOMENTUM, STEPS = 5e-4, 0.1, 0.9, 4


def zero_gradient_loss(y_true, y_pred):
    """A loss whose data gradient is exactly zero: only weight decay moves the weights."""
    return 0.0 * keras.ops.sum(y_pred)


def small_model(kernel_regularizer=None):
    inputs = keras.Input((6, 6, 2))
    x = keras.layers.Conv2D(3, 3, kernel_regularizer=kernel_regularizer, name="conv")(inputs)
    x = PReLU(name="conv_act")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(4, kernel_regularizer=kernel_regularizer, name="fc",
                           bias_initializer="ones")(x)
    return keras.Model(inputs, PReLU(mode="channel_shared", name="fc_act")(x))


def fit(model, optimizer):
    model.compile(optimizer=optimizer, loss=zero_gradient_loss)
    data = np.random.default_rng(0).standard_normal((8, 6, 6, 2)).astype("float32")
    model.fit(data, np.zeros((8, 4), "float32"), batch_size=8, epochs=STEPS, verbose=0)


def snapshot(model):
    return {v.path: np.array(v) for v in model.trainable_variables}


def test_kernel_decay_is_caffes_half_lambda_w_squared():
    w = np.random.default_rng(1).standard_normal((3, 3, 4, 5)).astype("float32")
    assert np.isclose(float(KernelDecay(RATE)(w)), 0.5 * RATE * np.sum(w**2), rtol=1e-6)
    assert KernelDecay.from_config(KernelDecay(RATE).get_config()).rate == RATE
    with pytest.raises(ValueError, match="rate must be >= 0"):
        KernelDecay(-1.0)


def test_coupled_decay_shrinks_kernels_and_never_touches_slopes():
    model = small_model(KernelDecay(RATE))
    before = snapshot(model)
    fit(model, keras.optimizers.SGD(LR, momentum=MOMENTUM))
    after = snapshot(model)
    kernels = {v.path for v in decayed_kernels(model)}
    assert kernels == {"conv/kernel", "fc/kernel"}
    for path, w in before.items():
        if path in kernels:
            # Caffe SGD: v <- mu v - lr * rate * W; W <- W + v.
            want, velocity = w.copy(), np.zeros_like(w)
            for _ in range(STEPS):
                velocity = MOMENTUM * velocity - LR * RATE * want
                want = want + velocity
            np.testing.assert_allclose(after[path], want, rtol=1e-5)
            assert np.linalg.norm(after[path]) < np.linalg.norm(w)
        else:  # slopes and biases
            np.testing.assert_array_equal(after[path], w)


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_decoupled_decay_is_restricted_to_kernels(optimizer):
    make = {
        "sgd": lambda: keras.optimizers.SGD(LR, weight_decay=RATE),
        "adamw": lambda: keras.optimizers.AdamW(LR, weight_decay=RATE),
    }[optimizer]
    model = small_model()
    before = snapshot(model)
    fit(model, decay_kernels_only(make(), model))
    after = snapshot(model)
    for path, w in before.items():
        if path.endswith("kernel"):
            # Zero gradients: each step multiplies W by (1 - lr * rate).
            np.testing.assert_allclose(after[path], w * (1 - LR * RATE) ** STEPS, rtol=1e-5)
        else:
            np.testing.assert_array_equal(after[path], w)

    # Without the exclusion the optimizer would decay the slopes: the check above can fail.
    model = small_model()
    slope = np.array(model.get_layer("conv_act").alpha)
    fit(model, make())
    assert (np.array(model.get_layer("conv_act").alpha) < slope).all()
