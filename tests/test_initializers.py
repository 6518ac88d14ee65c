import math

import keras
import numpy as np
import pytest

from keras_prelu.initializers import KaimingNormal


def he_std(negative_slope, n):
    """Eqn 12/16 with the PReLU factor: 1/2 (1 + a^2) n Var[w] = 1."""
    return math.sqrt(2.0 / ((1.0 + negative_slope**2) * n))


KERNELS = [
    # (shape, fan_in = k*k*c, fan_out = k*k*d)
    ((3, 3, 256, 512), 9 * 256, 9 * 512),
    ((7, 7, 3, 96), 49 * 3, 49 * 96),
    ((2048, 1024), 2048, 1024),
    ((3, 3, 3, 64, 96), 27 * 64, 27 * 96),
]


@pytest.mark.parametrize("shape, fan_in, fan_out", KERNELS)
@pytest.mark.parametrize("negative_slope", [0.0, 0.25, 1.0])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_std_is_within_one_percent_of_the_papers(shape, fan_in, fan_out, negative_slope, mode):
    w = np.asarray(KaimingNormal(negative_slope, mode=mode, seed=3)(shape), "float64")
    if w.size < 500_000:  # small kernels: draw more to measure the std to 1%
        w = np.concatenate([
            np.asarray(KaimingNormal(negative_slope, mode=mode, seed=s)(shape)).ravel()
            for s in range(8)])
    want = he_std(negative_slope, fan_in if mode == "fan_in" else fan_out)
    assert abs(w.std() / want - 1) < 0.01
    assert abs(w.mean()) < 0.01 * want


def test_negative_slope_one_is_the_xavier_linear_case():
    # n Var[w] = 1, std sqrt(1/n): the "Xavier" baseline of Sec. 2.2.
    w = np.asarray(KaimingNormal(1.0, seed=0)((3, 3, 512, 512)))
    assert abs(w.std() * math.sqrt(9 * 512) - 1) < 0.01


def test_normal_is_untruncated_and_truncated_normal_is_cut_at_two_sigma():
    shape = (4096, 1024)
    sigma = he_std(0.0, 4096)
    plain = np.asarray(KaimingNormal(seed=1)(shape)) / sigma
    # A Gaussian puts 4.55% of its mass beyond 2 sigma and 0.27% beyond 3.
    assert abs(np.mean(np.abs(plain) > 2) - 0.0455) < 0.002
    assert abs(np.mean(np.abs(plain) > 3) - 0.0027) < 0.0005
    assert np.abs(plain).max() > 4.5
    cut = np.asarray(KaimingNormal(distribution="truncated_normal", seed=1)(shape)) / sigma
    assert abs(cut.std() - 1) < 0.01  # variance-corrected, like Keras's
    # In units of the Gaussian before the cut: nothing beyond 2, the Gaussian's shape within.
    cut *= 0.87962566103423978
    assert np.abs(cut).max() <= 2 + 1e-4
    within_one = math.erf(1 / math.sqrt(2)) / math.erf(math.sqrt(2))
    assert abs(np.mean(np.abs(cut) < 1) - within_one) < 0.002


def test_seed_makes_it_reproducible():
    a = np.asarray(KaimingNormal(seed=7)((64, 32)))
    np.testing.assert_array_equal(a, np.asarray(KaimingNormal(seed=7)((64, 32))))
    assert not np.array_equal(a, np.asarray(KaimingNormal(seed=8)((64, 32))))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"negative_slope": -0.1}, "negative_slope must be >= 0"),
        ({"mode": "fan_avg"}, "unknown mode 'fan_avg'"),
        ({"distribution": "uniform"}, "unknown distribution 'uniform'"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KaimingNormal(**kwargs)


def test_config_round_trip_and_keras_file(tmp_path):
    init = KaimingNormal(0.25, mode="fan_out", distribution="truncated_normal", seed=5)
    config = init.get_config()
    assert config == {"negative_slope": 0.25, "mode": "fan_out",
                      "distribution": "truncated_normal", "seed": 5}
    np.testing.assert_array_equal(np.asarray(KaimingNormal.from_config(config)((6, 5))),
                                  np.asarray(init((6, 5))))
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(3, kernel_initializer=KaimingNormal(seed=1))
    model = keras.Model(inputs, dense(inputs))
    model.save(tmp_path / "he.keras")
    reloaded = keras.models.load_model(tmp_path / "he.keras", safe_mode=True)
    assert isinstance(reloaded.layers[-1].kernel_initializer, KaimingNormal)
    np.testing.assert_array_equal(
        reloaded.layers[-1].get_weights()[0], model.layers[-1].get_weights()[0]
    )
