"""Signal propagation at initialisation against Sec. 2.2 (Eqns 8-16) and its numbers."""

import math

import keras
import numpy as np
import pytest

import keras_prelu.zoo as zoo
from keras_prelu import paper
from keras_prelu.initializers import KaimingNormal
from keras_prelu.zoo.signal import predicted_gains, signal_propagation

PLAIN_SIZE = (80, 80, 3)  # the 30-layer net's smallest comfortable input: stage 3 at 6x6


def orthogonal(n, seed):
    return np.asarray(keras.initializers.Orthogonal(seed=seed)((n, n)))


def dense_chain(scale, activation):
    """Dense(256) -> [activation] -> Dense(256, scale * orthogonal, softmax)."""
    inputs = keras.Input((256,))
    first = keras.layers.Dense(256, name="first")
    second = keras.layers.Dense(256, activation="softmax", name="second")
    model = keras.Model(inputs, second(keras.layers.Activation(activation)(first(inputs))))
    first.set_weights([orthogonal(256, 0), np.zeros(256, "float32")])
    second.set_weights([scale * orthogonal(256, 1), np.zeros(256, "float32")])
    return model


@pytest.mark.parametrize("activation, factor", [("linear", 3.0), ("relu", 3.0 / math.sqrt(2))])
def test_measurement_against_hand_derivation(activation, factor):
    # An orthogonal kernel times 3 scales every norm by 3; a ReLU in between halves the
    # second moment forward (Eqn 8) and the gradient's backward (Eqn 12). The response of
    # `second` is taken before its softmax.
    signals = signal_propagation(dense_chain(3.0, activation), batch_size=256)
    assert [s.name for s in signals] == ["first", "second"]
    first, second = signals
    assert second.forward_std / first.forward_std == pytest.approx(factor, rel=0.05)
    assert first.backward_std / second.backward_std == pytest.approx(factor, rel=0.05)
    assert second.backward_std == pytest.approx(1, rel=0.05)  # the injected N(0, 1)


def test_predicted_gains_by_hand():
    model = dense_chain(3.0, "relu")
    gains = predicted_gains(model)
    # Orthogonal 256 x 256: Var[w] = 1/256, n = n_hat = 256; (1/2) n Var[w] (3^2 for second).
    assert [g.name for g in gains] == ["first", "second"]
    assert gains[0].forward == pytest.approx(math.sqrt(0.5), rel=1e-4)
    assert gains[1].backward == pytest.approx(3 * math.sqrt(0.5), rel=1e-4)
    assert predicted_gains(model, negative_slope=1.0)[1].forward == pytest.approx(3, rel=1e-4)


@pytest.fixture(scope="module")
def plain30():
    """The 30-layer ReLU net at init, with each initialisation (independent draws) of
    every layer, fc layers included (not Sec. 2.2's small fc stds)."""
    models = {}
    for seed, init in enumerate(("he_fan_in", "he_fan_out", "xavier")):
        keras.utils.set_random_seed(seed)
        models[init] = zoo.plain(
            30, kernel_initializer=init, small_fc_init=False, input_shape=PLAIN_SIZE
        )
    return models


def products(gains):
    """Eqns 9 and 13 over layers 2..L: (forward std ratio, backward std ratio)."""
    return math.prod(g.forward for g in gains[1:]), math.prod(g.backward for g in gains[1:])


def test_eqns_10_and_14_make_every_factor_one(plain30):
    fan_in, fan_out = predicted_gains(plain30["he_fan_in"]), predicted_gains(plain30["he_fan_out"])
    assert len(fan_in) == 30
    np.testing.assert_allclose([g.forward for g in fan_in], 1, rtol=0.02)
    np.testing.assert_allclose([g.backward for g in fan_out], 1, rtol=0.02)


@pytest.mark.parametrize("init", ["he_fan_in", "he_fan_out"])
def test_he_keeps_the_30_layer_products_within_a_factor_2(plain30, init):
    # Sec. 2.2: with one condition met, the other product is prod n_l / n_hat_l, "not a
    # diminishing number": here 0.25 (convs, 64 -> 256 channels) * 12800/4096 (fc1 after
    # the pyramid) * 4096/1000 (fc3) = 3.2 in variance.
    forward, backward = products(predicted_gains(plain30[init]))
    assert 0.5 <= forward <= 2 and 0.5 <= backward <= 2
    expected = math.sqrt(0.25 * 12800 / 4096 * 4096 / 1000)
    if init == "he_fan_in":
        assert (forward, backward) == pytest.approx((1, 1 / expected), rel=0.03)
    else:
        assert (forward, backward) == pytest.approx((expected, 1), rel=0.03)


def test_xavier_products_shrink_as_2_to_the_minus_l_over_2(plain30):
    # Sec. 2.2: Xavier's std is 1/sqrt(2) of Eqn 10's at every layer, so over the
    # 29 factors of a 30-layer net the products are 2^(-29/2) of He's (fan_in).
    xavier, he = (
        products(predicted_gains(plain30["xavier"])),
        products(predicted_gains(plain30["he_fan_in"])),
    )
    assert xavier[0] / he[0] == pytest.approx(2**-14.5, rel=0.05)
    assert xavier[1] / he[1] == pytest.approx(2**-14.5, rel=0.05)


def log2_profiles(model):
    signals = signal_propagation(model, input_shape=PLAIN_SIZE, batch_size=4)
    forward = np.log2([s.forward_std / signals[0].forward_std for s in signals])
    backward = np.log2([s.backward_std / signals[-1].backward_std for s in signals])
    return forward, backward


def test_xavier_measured_signal_shrinks_along_the_trend(plain30):
    # Measured: layer l's response std (and the gradient std l steps from the top)
    # relative to He's falls as 2^(-l/2); pools and the pyramid act the same on both.
    he_forward, he_backward = log2_profiles(plain30["he_fan_in"])
    xavier_forward, xavier_backward = log2_profiles(plain30["xavier"])
    steps = np.arange(30)
    forward, backward = xavier_forward - he_forward, (xavier_backward - he_backward)[::-1]
    for difference in (forward, backward):
        assert np.polyfit(steps, difference, 1)[0] == pytest.approx(-0.5, abs=0.1)
        assert difference[-1] == pytest.approx(-14.5, abs=2.5)
    # Xavier's gradient reaching conv1 is diminished beyond any use (Figure 3, right).
    assert 2 ** xavier_backward[0] < 1e-4


def test_he_measured_signal_stays_within_a_factor_2_over_the_deep_stack():
    # The 22 convs of stage 3 (Table 1's six and the sixteen added, Sec. 2.2) at 224 px
    # (18x18 maps, as in He & Sun), nothing but ReLUs between them: the last-to-first std
    # ratios forward (Eqn 9) and backward (Eqn 13). There n = n_hat (256 -> 256), so
    # Eqns 10 and 14 draw the same weights. One 256-channel net fluctuates by ~1.4x about
    # a typical ~0.7 (finite width, zero padding): geometric mean over four nets.
    ratios = []
    for seed in range(4):
        keras.utils.set_random_seed(seed)
        trunk = zoo.plain(30, include_top=False)
        signals = {s.name: s for s in signal_propagation(trunk, (224, 224, 3), 1, seed)}
        first, last = signals["conv3_1"], signals["conv3_22"]
        ratios.append(
            (last.forward_std / first.forward_std, first.backward_std / last.backward_std)
        )
    forward, backward = np.exp(np.mean(np.log(ratios), axis=0))
    assert 0.5 <= forward <= 2 and 0.5 <= backward <= 2


def vgg_model_b(initializer, size=32):
    """The VGG team's model B: 10 conv layers, 3x3, with 2x2 max pools between pairs."""
    x = inputs = keras.Input((size, size, 3))
    for index, filters in enumerate(paper.VGG_MODEL_B_FILTERS, start=1):
        x = keras.layers.Conv2D(
            filters, 3, padding="same", kernel_initializer=initializer(), name=f"conv{index}"
        )(x)
        x = keras.layers.ReLU()(x)
        if index in (2, 4, 6, 8):
            x = keras.layers.MaxPooling2D(2)(x)
    return keras.Model(inputs, x)


def gradient_ratio(model):
    """Std of the gradient propagated from conv10 down through conv2, relative."""
    signals = signal_propagation(model, batch_size=4)
    return signals[0].backward_std / signals[-1].backward_std


def test_vgg_model_b_he_stds():
    # Eqn 14's std sqrt(2 / n_hat) for 3x3 filters: 0.059, 0.042, 0.029, 0.021.
    for filters, std in paper.VGG_MODEL_B_HE_STD.items():
        assert math.sqrt(2 / (9 * filters)) == pytest.approx(std, abs=5e-4)


def test_vgg_model_b_gradient_at_std_001_analytically():
    keras.utils.set_random_seed(0)
    he = vgg_model_b(lambda: KaimingNormal(mode="fan_out"))
    fixed = vgg_model_b(lambda: keras.initializers.RandomNormal(stddev=0.01))
    ratio = products(predicted_gains(fixed))[1] / products(predicted_gains(he))[1]
    # By hand: prod over conv2..conv10 of 0.01 / sqrt(2 / (9 d_l)) = 1 / 16,730.
    by_hand = math.prod(0.01 / math.sqrt(2 / (9 * d)) for d in paper.VGG_MODEL_B_FILTERS[1:])
    assert ratio == pytest.approx(by_hand, rel=0.03)
    # The paper: 1 / (5.9 * 4.2^2 * 2.9^2 * 2.1^4) = 1 / (1.7e4).
    assert 1 / (5.9 * 4.2**2 * 2.9**2 * 2.1**4) == pytest.approx(
        paper.VGG_MODEL_B_GRADIENT_RATIO, rel=0.01
    )
    assert ratio == pytest.approx(paper.VGG_MODEL_B_GRADIENT_RATIO, rel=0.05)


def test_vgg_model_b_gradient_at_std_001_measured():
    ratios = []
    for seed in range(2):
        keras.utils.set_random_seed(seed)
        he = vgg_model_b(lambda: KaimingNormal(mode="fan_out"))
        keras.utils.set_random_seed(100 + seed)  # independent draws
        fixed = vgg_model_b(lambda: keras.initializers.RandomNormal(stddev=0.01))
        ratios.append(gradient_ratio(fixed) / gradient_ratio(he))
    measured = math.exp(np.mean(np.log(ratios)))
    assert measured == pytest.approx(paper.VGG_MODEL_B_GRADIENT_RATIO, rel=0.25)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"the batch's shape \(None, None, 3\) is not fully"):
        signal_propagation(zoo.small14(width=0.125, fc_units=8))
    inputs = keras.Input((8,))
    x = keras.layers.Dense(8)(inputs)
    branchy = keras.Model(inputs, keras.layers.Add()([x, keras.layers.Dense(8)(x)]))
    with pytest.raises(ValueError, match="not a chain of layers"):
        signal_propagation(branchy)
    with pytest.raises(ValueError, match="not a chain of layers"):
        predicted_gains(branchy)
