"""Rectifier-aware weight initialisation, Sec. 2.2 of "Delving Deep into Rectifiers"."""

import keras

MODES = ("fan_in", "fan_out")
DISTRIBUTIONS = ("normal", "truncated_normal")


@keras.saving.register_keras_serializable(package="keras_prelu")
class HeNormal(keras.initializers.VarianceScaling):
    """Zero-mean Gaussian with std sqrt(2 / ((1 + a^2) * n)), the paper's initialisation.

    `n` is the number of connections of a response: k*k*c for a k x k conv with c input
    channels (`mode="fan_in"`, the forward condition, Eqn 10/12) or k*k*d with d filters
    (`mode="fan_out"`, the backward condition, Eqn 14/16, which the paper trained with).
    `a` is the initial negative slope of the rectifier that follows: 0 for ReLU, 0.25 for
    PReLU at the paper's initial slope, the fixed slope for leaky ReLU (Sec. 2.2, "the
    PReLU case": 1/2 (1 + a^2) n Var[w] = 1).

    `negative_slope=1` gives n Var[w] = 1, the linear case: the "Xavier" initialisation
    (Glorot & Bengio, in its Gaussian, one-sided form) the paper compares against.

    Args:
        negative_slope: initial slope `a` of the negative part, >= 0.
        mode: `"fan_in"` (Eqn 10) or `"fan_out"` (Eqn 14).
        distribution: `"normal"` (default): a plain, untruncated Gaussian, as in the
            paper; `"truncated_normal"`: Keras's truncated Gaussian (cut at 2 std),
            rescaled so its std is still the target.
        seed: an int or `keras.random.SeedGenerator`, for reproducible weights.

    Example:

    >>> conv = keras.layers.Conv2D(256, 3, kernel_initializer=HeNormal(mode="fan_out"))
    >>> prelu_conv = keras.layers.Conv2D(256, 3, kernel_initializer=HeNormal(0.25))
    """

    def __init__(self, negative_slope=0.0, mode="fan_in", distribution="normal", seed=None):
        if not negative_slope >= 0:
            raise ValueError(f"HeNormal: negative_slope must be >= 0, got {negative_slope}.")
        if mode not in MODES:
            raise ValueError(f"HeNormal: unknown mode {mode!r}; use one of {MODES}.")
        if distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"HeNormal: unknown distribution {distribution!r}; use one of {DISTRIBUTIONS}."
            )
        self.negative_slope = float(negative_slope)
        super().__init__(
            scale=2.0 / (1.0 + self.negative_slope**2),
            mode=mode,
            distribution="untruncated_normal" if distribution == "normal" else distribution,
            seed=seed,
        )

    def get_config(self):
        return {
            "negative_slope": self.negative_slope,
            "mode": self.mode,
            "distribution": (
                "normal" if self.distribution == "untruncated_normal" else "truncated_normal"
            ),
            "seed": super().get_config()["seed"],
        }
