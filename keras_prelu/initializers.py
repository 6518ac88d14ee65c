"""Rectifier-aware weight initialisation, Sec. 2.2 of "Delving Deep into Rectifiers"."""

import math

import keras
from keras import ops

MODES = ("fan_in", "fan_out")
DISTRIBUTIONS = ("normal", "truncated_normal")
# Std of a unit Gaussian cut at +-2, as Keras's truncated initializers divide by it.
TRUNCATED_STD = 0.87962566103423978


def fans(shape):
    """(fan_in, fan_out) of a kernel shape, as Keras counts them: a conv kernel
    (k, ..., k, c, d) has k*...*k*c inputs and k*...*k*d outputs per response."""
    if len(shape) < 2:
        return (shape[0],) * 2 if shape else (1, 1)
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


@keras.saving.register_keras_serializable(package="keras_prelu")
class KaimingNormal(keras.initializers.VarianceScaling):
    """Zero-mean Gaussian with std sqrt(2 / ((1 + a^2) * n)), the paper's initialisation.

    `n` is the number of connections of a response: k*k*c for a k x k conv with c input
    channels (`mode="fan_in"`, the forward condition, Eqn 10/12) or k*k*d with d filters
    (`mode="fan_out"`, the backward condition, Eqn 14/16, which the paper trained with).
    `a` is the initial negative slope of the rectifier that follows: 0 for ReLU, 0.25 for
    PReLU at the paper's initial slope, the fixed slope for leaky ReLU (Sec. 2.2, "the
    PReLU case": 1/2 (1 + a^2) n Var[w] = 1).

    `negative_slope=1` gives n Var[w] = 1, the linear case: the "Xavier" initialisation
    (Glorot & Bengio, in its Gaussian, one-sided form) the paper compares against.

    Named as PyTorch's `kaiming_normal_` (same `a` and modes), not `HeNormal`: Keras has
    its own `HeNormal` (ReLU only), and a saved model loaded without `import keras_prelu`
    would otherwise be handed to Keras's class and fail with a message about it.

    Args:
        negative_slope: initial slope `a` of the negative part, >= 0.
        mode: `"fan_in"` (Eqn 10) or `"fan_out"` (Eqn 14).
        distribution: `"normal"` (default): a plain, untruncated Gaussian, as in the
            paper; `"truncated_normal"`: a Gaussian cut at 2 std and rescaled so its std
            is still the target, as Keras's truncated initializers.
        seed: an int or `keras.random.SeedGenerator`, for reproducible weights.

    Example:

    >>> conv = keras.layers.Conv2D(256, 3, kernel_initializer=KaimingNormal(mode="fan_out"))
    >>> prelu_conv = keras.layers.Conv2D(256, 3, kernel_initializer=KaimingNormal(0.25))

    Reference:

    - [He et al., 2015](https://arxiv.org/abs/1502.01852)
    """

    def __init__(self, negative_slope=0.0, mode="fan_in", distribution="normal", seed=None):
        if not negative_slope >= 0:
            raise ValueError(f"KaimingNormal: negative_slope must be >= 0, got {negative_slope}.")
        if mode not in MODES:
            raise ValueError(f"KaimingNormal: unknown mode {mode!r}; use one of {MODES}.")
        if distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"KaimingNormal: unknown distribution {distribution!r}; use one of {DISTRIBUTIONS}."
            )
        self.negative_slope = float(negative_slope)
        super().__init__(
            scale=2.0 / (1.0 + self.negative_slope**2),
            mode=mode,
            distribution="untruncated_normal" if distribution == "normal" else distribution,
            seed=seed,
        )

    def __call__(self, shape, dtype=None):
        if self.distribution != "truncated_normal":
            return super().__call__(shape, dtype)
        # Keras's torch backend keeps a draw beyond 2 std when four tries in a row miss
        # (a few per million): invert the truncated Gaussian's CDF instead, exact on
        # every backend.
        fan_in, fan_out = fans(tuple(shape))
        stddev = math.sqrt(self.scale / max(1, fan_in if self.mode == "fan_in" else fan_out))
        edge = math.erf(math.sqrt(2))  # the CDF's range at +-2 std, mapped onto (-1, 1)
        u = keras.random.uniform(shape, -edge, edge, dtype=dtype, seed=self.seed)
        return ops.erfinv(u) * (math.sqrt(2) * stddev / TRUNCATED_STD)

    def get_config(self):
        return {
            "negative_slope": self.negative_slope,
            "mode": self.mode,
            "distribution": (
                "normal" if self.distribution == "untruncated_normal" else "truncated_normal"
            ),
            "seed": super().get_config()["seed"],
        }
